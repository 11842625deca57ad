import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `type: LoadBalancer` service as `status` and `health` show it.
public struct LoadBalancerService: Sendable, Equatable, Encodable {
    public struct Port: Sendable, Equatable, Encodable, CustomStringConvertible {
        public var port: Int
        public var proto: String
        public var description: String { "\(port)/\(proto)" }

        enum CodingKeys: String, CodingKey {
            case port
            case proto = "protocol"
        }
    }

    public var namespace: String
    public var name: String
    /// `status.loadBalancer.ingress` IPs (and hostnames); empty while pending.
    public var addresses: [String]
    public var ports: [Port]
    /// `spec.loadBalancerClass`; nil when unset (k0slua's controller answers for it).
    public var loadBalancerClass: String?

    public var qualifiedName: String { "\(namespace)/\(name)" }

    /// The LoadBalancer services of `kubectl get services -A -o json`, in namespace/name order.
    public static func parse(_ json: String) -> [LoadBalancerService] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let items = object["items"] as? [[String: Any]] else { return [] }
        return items.compactMap { item -> LoadBalancerService? in
            let metadata = item["metadata"] as? [String: Any] ?? [:]
            let spec = item["spec"] as? [String: Any] ?? [:]
            guard spec["type"] as? String == "LoadBalancer", let name = metadata["name"] as? String else { return nil }
            let ingress = ((item["status"] as? [String: Any])?["loadBalancer"] as? [String: Any])?["ingress"] as? [[String: Any]] ?? []
            let ports = (spec["ports"] as? [[String: Any]] ?? []).compactMap { port -> Port? in
                guard let number = port["port"] as? Int else { return nil }
                return Port(port: number, proto: (port["protocol"] as? String) ?? "TCP")
            }
            return LoadBalancerService(namespace: metadata["namespace"] as? String ?? "default", name: name,
                                       addresses: ingress.compactMap { ($0["ip"] as? String) ?? ($0["hostname"] as? String) },
                                       ports: ports, loadBalancerClass: spec["loadBalancerClass"] as? String)
        }.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }
}

/// A TCP connection attempt from this host: what `health` uses to see that a service answers.
public enum TCPProbe {
    /// Whether `address:port` (IPv4) accepts a TCP connection within `timeout` seconds.
    public static func connects(to address: String, port: Int, timeout: Double = 3) -> Bool {
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        guard port > 0, port < 65536, inet_pton(AF_INET, address, &target.sin_addr) == 1 else { return false }
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL, 0) | O_NONBLOCK)
        let started = withUnsafePointer(to: &target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if started == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return false }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 else { return false }
        return failure == 0
    }
}
