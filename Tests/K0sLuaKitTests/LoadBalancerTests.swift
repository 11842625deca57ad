import Foundation
#if canImport(Glibc)
import Glibc
#endif
import K0sLuaKit
import Testing

/// Issue 25: the LoadBalancer controller's decision, fed JSON fixtures and run as the real program
/// (`python3 lb_controller.py --decide DIR`), as the embedded copy k0slua installs.
@Suite struct LoadBalancerDecisionTests {
    // MARK: fixtures (the shapes of `kubectl get … -o json`)

    static func node(_ name: String, _ ip: String, ready: Bool = true, labels: [String: String] = [:]) -> [String: Any] {
        ["metadata": ["name": name, "labels": labels],
         "status": ["conditions": [["type": "Ready", "status": ready ? "True" : "False"]],
                    "addresses": [["type": "InternalIP", "address": ip], ["type": "Hostname", "address": name]]]]
    }

    static func kubeProxy(on node: String, ready: Bool = true) -> [String: Any] {
        ["metadata": ["name": "kube-proxy-\(node)", "namespace": "kube-system", "labels": ["k8s-app": "kube-proxy"]],
         "spec": ["nodeName": node], "status": ["conditions": [["type": "Ready", "status": ready ? "True" : "False"]]]]
    }

    static func service(_ name: String, namespace: String = "default", created: String = "2026-01-01T00:00:00Z",
                        type: String = "LoadBalancer", ports: [(Int, String)] = [(80, "TCP")], policy: String? = nil,
                        className: String? = nil, families: [String]? = nil, ingress: [String] = []) -> [String: Any] {
        var spec: [String: Any] = ["type": type, "ports": ports.map { ["port": $0.0, "protocol": $0.1] }]
        if let policy { spec["externalTrafficPolicy"] = policy }
        if let className { spec["loadBalancerClass"] = className }
        if let families { spec["ipFamilies"] = families }
        var object: [String: Any] = ["metadata": ["name": name, "namespace": namespace, "uid": "uid-\(name)", "creationTimestamp": created],
                                     "spec": spec]
        if !ingress.isEmpty { object["status"] = ["loadBalancer": ["ingress": ingress.map { ["ip": $0] }]] }
        return object
    }

    static func slice(of service: String, namespace: String = "default", endpoints: [(node: String, ready: Bool?)]) -> [String: Any] {
        ["metadata": ["name": "\(service)-abc", "namespace": namespace, "labels": ["kubernetes.io/service-name": service]],
         "endpoints": endpoints.map { endpoint -> [String: Any] in
             var conditions: [String: Any] = [:]
             if let ready = endpoint.ready { conditions["ready"] = ready }
             return ["addresses": ["10.244.0.5"], "nodeName": endpoint.node, "conditions": conditions]
         }]
    }

    /// Three workers with kube-proxy, and a pure controller has no Node object (k0s runs no kubelet there).
    static var workers: [[String: Any]] { [node("worker-1", "192.168.64.11"), node("worker-2", "192.168.64.12"), node("worker-3", "192.168.64.13")] }
    static var proxies: [[String: Any]] { ["worker-1", "worker-2", "worker-3"].map { kubeProxy(on: $0) } }

    struct Decision {
        var patches: [String: [String]]  // "ns/name" → ingress IPs
        var events: [String: String]  // "ns/name" → reason
        var messages: [String]
    }

    static func decide(services: [[String: Any]], nodes: [[String: Any]] = workers, slices: [[String: Any]] = [],
                       pods: [[String: Any]] = proxies, reserve: [Int] = []) async throws -> Decision {
        let directory = NSTemporaryDirectory() + "k0slua-lb-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (name, list) in [("services", services), ("nodes", nodes), ("endpointslices", slices), ("pods", pods)] {
            let data = try JSONSerialization.data(withJSONObject: ["apiVersion": "v1", "kind": "List", "items": list])
            _ = FileManager.default.createFile(atPath: "\(directory)/\(name).json", contents: data)
        }
        let program = directory + "/lb_controller.py"
        _ = FileManager.default.createFile(atPath: program, contents: Data(LoadBalancerController.program.utf8))
        let result = try await SubprocessRunner().run(Command("/usr/bin/python3", [program, "--decide", directory] + reserve.flatMap { ["--reserve-port", String($0)] }))
        #expect(result.exitCode == 0, "\(result.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        var decision = Decision(patches: [:], events: [:], messages: [])
        for patch in object["patches"] as? [[String: Any]] ?? [] {
            decision.patches["\(patch["namespace"]!)/\(patch["name"]!)"] = patch["ingress"] as? [String]
        }
        for event in object["events"] as? [[String: Any]] ?? [] {
            decision.events["\(event["namespace"]!)/\(event["name"]!)"] = event["reason"] as? String
            decision.messages.append(event["message"] as? String ?? "")
        }
        return decision
    }

    @Test func issue25_clusterPolicyGetsEveryReadyProxiedNode() async throws {
        let d = try await Self.decide(services: [Self.service("web")])
        #expect(d.patches == ["default/web": ["192.168.64.11", "192.168.64.12", "192.168.64.13"]])
        #expect(d.events.isEmpty)
    }

    @Test func issue25_localPolicyGetsOnlyNodesWithAReadyEndpoint() async throws {
        let slices = [Self.slice(of: "web", endpoints: [("worker-2", true), ("worker-3", false), ("worker-1", nil)])]
        let d = try await Self.decide(services: [Self.service("web", policy: "Local")], slices: slices)
        // worker-1's endpoint has no `ready` condition: the API says that counts as ready.
        #expect(d.patches == ["default/web": ["192.168.64.11", "192.168.64.12"]])
        let none = try await Self.decide(services: [Self.service("web", policy: "Local")])
        #expect(none.patches.isEmpty, "no endpoint anywhere: empty status, and it is empty already")
    }

    @Test func issue25_notReadyNodesAndNodesWithoutKubeProxyAreLeftOut() async throws {
        let nodes = [Self.node("worker-1", "192.168.64.11", ready: false), Self.node("worker-2", "192.168.64.12"),
                     Self.node("worker-3", "192.168.64.13"),
                     Self.node("worker-4", "192.168.64.14", labels: ["node.kubernetes.io/exclude-from-external-load-balancers": ""])]
        // worker-3's kube-proxy is not ready (it programs nothing); worker-4 opted out.
        let pods = [Self.kubeProxy(on: "worker-1"), Self.kubeProxy(on: "worker-2"), Self.kubeProxy(on: "worker-3", ready: false),
                    Self.kubeProxy(on: "worker-4")]
        let d = try await Self.decide(services: [Self.service("web")], nodes: nodes, pods: pods)
        #expect(d.patches == ["default/web": ["192.168.64.12"]])
    }

    @Test func issue25_reservedPortsAreRefusedWithAnEvent() async throws {
        let services = [Self.service("ssh", ports: [(22, "TCP")]), Self.service("api", ports: [(443, "TCP"), (6443, "TCP")]),
                        Self.service("kubelet", ports: [(10250, "TCP")]), Self.service("vxlan", ports: [(4789, "UDP")]),
                        Self.service("vxlan-tcp", ports: [(4789, "TCP")]), Self.service("alt-ssh", ports: [(2222, "TCP")]),
                        Self.service("was-open", ports: [(2379, "TCP")], ingress: ["192.168.64.11"])]
        let d = try await Self.decide(services: services, reserve: [2222])
        #expect(d.events == ["default/ssh": "ReservedPort", "default/api": "ReservedPort", "default/kubelet": "ReservedPort",
                             "default/vxlan": "ReservedPort", "default/alt-ssh": "ReservedPort", "default/was-open": "ReservedPort"])
        // Refused services keep an empty status (one that had addresses loses them); 4789/TCP is fine.
        #expect(d.patches == ["default/vxlan-tcp": ["192.168.64.11", "192.168.64.12", "192.168.64.13"], "default/was-open": []])
        #expect(d.messages.contains { $0.contains("6443/TCP") && $0.hasPrefix("port ") })
    }

    @Test func issue25_theOlderServiceKeepsAPortTwoServicesWant() async throws {
        let older = Self.service("first", namespace: "b", created: "2026-01-01T00:00:00Z", ports: [(8080, "TCP")])
        let newer = Self.service("second", namespace: "a", created: "2026-02-01T00:00:00Z", ports: [(8080, "TCP"), (53, "UDP")])
        let udp = Self.service("dns", created: "2026-03-01T00:00:00Z", ports: [(8080, "UDP")])
        let d = try await Self.decide(services: [newer, udp, older])
        #expect(d.patches == ["b/first": ["192.168.64.11", "192.168.64.12", "192.168.64.13"],
                              "default/dns": ["192.168.64.11", "192.168.64.12", "192.168.64.13"]])
        #expect(d.events == ["a/second": "PortInUse"])
        #expect(d.messages == ["port 8080/TCP already belongs to the older service b/first; use another port"])
    }

    @Test func issue25_otherLoadBalancerClassesAndIPv6OnlyServices() async throws {
        let services = [Self.service("metallb", ports: [(80, "TCP")], className: "metallb.io/metallb"),
                        Self.service("own", ports: [(81, "TCP")], className: LoadBalancerController.loadBalancerClass),
                        Self.service("v6", ports: [(82, "TCP")], families: ["IPv6"]), Self.service("dual", ports: [(83, "TCP")], families: ["IPv6", "IPv4"])]
        let nodes = Self.workers + [["metadata": ["name": "v6-only"], "status": ["conditions": [["type": "Ready", "status": "True"]],
                                                                                 "addresses": [["type": "InternalIP", "address": "fd00::5"]]]]]
        let d = try await Self.decide(services: services, nodes: nodes, pods: Self.proxies + [Self.kubeProxy(on: "v6-only")])
        let all = ["192.168.64.11", "192.168.64.12", "192.168.64.13"]
        #expect(d.patches == ["default/own": all, "default/dual": all])
        #expect(d.events == ["default/v6": "IPv6Only"])
    }

    @Test func issue25_noPatchWhenNothingChangedAndAClearedStatusWhenNoLongerALoadBalancer() async throws {
        let all = ["192.168.64.11", "192.168.64.12", "192.168.64.13"]
        let d = try await Self.decide(services: [Self.service("web", ingress: all), Self.service("was-lb", type: "ClusterIP", ingress: all),
                                                 Self.service("plain", type: "NodePort")])
        #expect(d.patches == ["default/was-lb": []])
        #expect(d.events.isEmpty)
        // A node went away: only the changed service is patched, to the remaining addresses.
        let fewer = try await Self.decide(services: [Self.service("web", ingress: all)], nodes: Array(Self.workers.prefix(2)))
        #expect(fewer.patches == ["default/web": ["192.168.64.11", "192.168.64.12"]])
    }
}

/// Issue 25: `up` installs the controller on every controller (tart, libvirt, hosts), `"off"`
/// installs nothing (and removes it from an applied cluster), hosts without python3 are refused.
@Suite struct LoadBalancerInstallTests {
    static func programDigest() async throws -> String {
        let file = NSTemporaryDirectory() + "k0slua-lb-\(UUID().uuidString).py"
        _ = FileManager.default.createFile(atPath: file, contents: Data(LoadBalancerController.program.utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try await SubprocessRunner().run(Command("/usr/bin/sha256sum", [file]))
        return String(result.standardOutput.prefix(64))
    }

    /// What reached each node (the ssh stand-in's `load-balancer.json`).
    static func installed(_ world: StandInWorld) -> [String: [String: String]] {
        guard let data = FileManager.default.contents(atPath: world.directory + "/standin/load-balancer.json") else { return [:] }
        return (try? JSONSerialization.jsonObject(with: data) as? [String: [String: String]]) ?? [:]
    }

    static func installCalls(_ world: StandInWorld) -> [StandInWorld.Call] {
        world.calls.filter { $0.tool == "ssh" && $0.argv.last == "sudo sh -s" }
    }

    static var hostsSource: String {
        get throws {
            try String(contentsOfFile: Repo.fixtures + "/render-hosts/cluster.lua", encoding: .utf8)
                .replacingOccurrences(of: "key_path = \"~/.ssh/id_ed25519\"", with: "key_path = \"id_test\"")
        }
    }

    static func world(_ provider: String, off: Bool = false) throws -> (StandInWorld, [String: String]) {
        if provider == "hosts" {
            var source = try hostsSource
            if off { source = source.replacingOccurrences(of: "provider = \"hosts\",", with: "provider = \"hosts\", load_balancer = \"off\",") }
            let world = try StandInWorld(cluster: source)
            _ = FileManager.default.createFile(atPath: world.directory + "/id_test", contents: Data("not a real key\n".utf8))
            return (world, ["K0SLUA_STANDIN_HOSTS": "1"])
        }
        var source = try String(contentsOfFile: Repo.defaultClusterFile, encoding: .utf8)
        if off { source = source.replacingOccurrences(of: "  nodes = nodes.concat(controllers, workers),", with: "  load_balancer = \"off\",\n  nodes = nodes.concat(controllers, workers),") }
        return (try StandInWorld(cluster: source), ["vagrant_provider": provider, "control_plane_count": "3", "worker_count": "1"])
    }

    @Test(arguments: ["tart", "libvirt", "hosts"])
    func issue25_upInstallsTheControllerOnEveryController(provider: String) async throws {
        let (world, environment) = try Self.world(provider)
        let up = try await world.run(["up", "--skip", "health"], environment: environment)
        #expect(up.exitCode == 0, "\(up.standardError)")
        let installed = Self.installed(world)
        let controllers: Set<String> = provider == "hosts" ? ["10.0.10.11", "10.0.10.12", "10.0.10.13"]
            : ["control-plane-1", "control-plane-2", "control-plane-3"]
        #expect(Set(installed.keys) == controllers, "every controller and no worker")
        let digest = try await Self.programDigest()
        for (node, entry) in installed {
            #expect(entry["state"] == "installed", "\(node)")
            #expect(entry["program_sha256"] == digest, "\(node) runs the embedded program")
        }
        // The hosts cluster's worker takes SSH on 2222: no service may have that port.
        let execStart = "/usr/bin/env python3 \(LoadBalancerController.programPath)" + (provider == "hosts" ? " --reserve-port 2222" : "")
        #expect(installed.values.allSatisfy { $0["exec_start"] == execStart })
        // After k0sctl apply, never before it.
        let calls = world.calls
        let apply = try #require(calls.firstIndex { $0.tool == "k0sctl" && $0.argv.first == "apply" })
        let first = try #require(calls.firstIndex { $0.tool == "ssh" && $0.argv.last == "sudo sh -s" })
        #expect(first > apply)
        #expect(Self.installCalls(world).count == 3)
        #expect(up.standardError.contains("load balancer on 3 controllers"))
    }

    /// Installing on the controllers is an SSH fan-out like the others (issue 24: one shared bound).
    /// Each call takes 1.5 s, so two installs overlap however slowly the stand-ins start on a loaded machine.
    @Test func issue25_theControllersGetTheirInstallAtOnceUnderTheParallelBound() async throws {
        let (world, environment) = try Self.world("libvirt")
        let up = try await world.run(["up", "--skip", "health", "--parallel", "2"], environment: environment.merging(["K0SLUA_STANDIN_DELAY": "ssh:call=1.5"]) { $1 })
        #expect(up.exitCode == 0, "\(up.standardError)")
        #expect(Self.installCalls(world).count == 3)
        let peak = try ScaleTests.peakSSH(world) { $0.last == "sudo sh -s" }
        #expect(peak == 2, "\(peak) installs at once with --parallel 2")
    }

    /// One controller's install fails: the others still get theirs, and `up` fails naming it.
    @Test func issue25_aFailedInstallNamesItsControllerAndTheOthersAreDone() async throws {
        let (world, environment) = try Self.world("libvirt")
        let up = try await world.run(["up", "--skip", "health"], environment: environment.merging(["K0SLUA_STANDIN_FAULTS": "no-python:control-plane-2"]) { $1 })
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains("the load balancer could not be installed on 1 controller(s) (2 of 3 done)"), "\(up.standardError)")
        #expect(up.standardError.contains("control-plane-2: exit 3: python3 is missing"), "\(up.standardError)")
        #expect(Set(Self.installed(world).keys) == ["control-plane-1", "control-plane-3"])
        #expect(Self.installCalls(world).count == 3)
    }

    @Test func issue25_theInstallAndRemoveScriptsAreValidShellAndWriteEveryFileThroughARename() async throws {
        let install = LoadBalancerController.installScript(extraReservedPorts: [2222])
        for script in [install, LoadBalancerController.uninstallScript] {
            let result = try await SubprocessRunner().run(Command("/bin/sh", ["-n"], standardInput: script))
            #expect(result.exitCode == 0, "\(result.standardError)")
        }
        #expect(install.contains("cat > \(LoadBalancerController.programPath).new <<'K0SLUA_LB_EOF'\n\(LoadBalancerController.program)K0SLUA_LB_EOF\n"))
        #expect(install.contains("mv -f \(LoadBalancerController.unitPath).new \(LoadBalancerController.unitPath)\n"))
        #expect(install.contains("ExecStart=/usr/bin/env python3 \(LoadBalancerController.programPath) --reserve-port 2222\n"))
    }

    @Test func issue25_offInstallsNothingAndRemovesItFromAnAppliedCluster() async throws {
        let (world, environment) = try Self.world("libvirt", off: true)
        let up = try await world.run(["up", "--skip", "health"], environment: environment)
        #expect(up.exitCode == 0, "\(up.standardError)")
        #expect(Self.installCalls(world).isEmpty)
        #expect(Self.installed(world).isEmpty)
        // Switched on, then off again: the applied cluster's controllers lose it.
        let on = try String(contentsOfFile: world.directory + "/cluster.lua", encoding: .utf8).replacingOccurrences(of: "load_balancer = \"off\",", with: "")
        _ = FileManager.default.createFile(atPath: world.directory + "/cluster.lua", contents: Data(on.utf8))
        #expect(try await world.run(["up", "--skip", "health"], environment: environment).exitCode == 0)
        #expect(Set(Self.installed(world).values.map { $0["state"] ?? "" }) == ["installed"])
        let off = on.replacingOccurrences(of: "  nodes = nodes.concat(controllers, workers),", with: "  load_balancer = \"off\",\n  nodes = nodes.concat(controllers, workers),")
        _ = FileManager.default.createFile(atPath: world.directory + "/cluster.lua", contents: Data(off.utf8))
        #expect(try await world.run(["up", "--skip", "health"], environment: environment).exitCode == 0)
        #expect(Self.installed(world).count == 3)
        #expect(Set(Self.installed(world).values.map { $0["state"] ?? "" }) == ["removed"])
    }

    @Test func issue25_aControllerHostThatLeavesLosesTheController() async throws {
        let (world, environment) = try Self.world("hosts")
        #expect(try await world.run(["up", "--skip", "health"], environment: environment).exitCode == 0)
        let source = try String(contentsOfFile: world.directory + "/cluster.lua", encoding: .utf8)
        let fewer = source.replacingOccurrences(of: "    { name = \"m3\", role = \"controller\", ip = \"10.0.10.13\", cpus = 4, memory = 8192, disk = 100 },\n", with: "")
        #expect(fewer != source)
        _ = FileManager.default.createFile(atPath: world.directory + "/cluster.lua", contents: Data(fewer.utf8))
        let up = try await world.run(["up", "--skip", "health"], environment: environment)
        #expect(up.exitCode == 0, "\(up.standardError)")
        let installed = Self.installed(world)
        #expect(installed["10.0.10.13"]?["state"] == "removed")
        #expect(installed["10.0.10.11"]?["state"] == "installed" && installed["10.0.10.12"]?["state"] == "installed")
    }

    @Test func issue25_hostsWithoutPython3AreRefusedBeforeK0sctlChangesAnything() async throws {
        let (world, environment) = try Self.world("hosts")
        var faulty = environment
        faulty["K0SLUA_STANDIN_FAULTS"] = "no-python:10.0.10.12"
        let up = try await world.run(["up", "--skip", "health"], environment: faulty)
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains("python3 is missing on controller \"m2\"; k0slua's load balancer runs on it"), "\(up.standardError)")
        #expect(up.standardError.contains("load_balancer = \"off\""))
        #expect(!world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
        // With it off, the same hosts are fine.
        let (offWorld, _) = try Self.world("hosts", off: true)
        let off = try await offWorld.run(["up", "--skip", "health"], environment: faulty)
        #expect(off.exitCode == 0, "\(off.standardError)")
    }
}

/// Issue 25: `status` lists the LoadBalancer services with their addresses; `health` fails one
/// without an address or whose TCP port does not answer from this host (listeners on loopback only).
@Suite struct LoadBalancerStatusHealthTests {
    /// A listening TCP socket on 127.0.0.1 (closed at deinit), or a port nothing listens on.
    final class Listener {
        let descriptor: Int32
        let port: Int

        init(listening: Bool = true) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            // A closed port's descriptor is never closed twice (the number may be another test's by then).
            descriptor = listening ? fd : -1
            port = Int(UInt16(bigEndian: address.sin_port))
            if listening { listen(fd, 8) } else { close(fd) }
        }

        deinit { if descriptor >= 0 { close(descriptor) } }
    }

    static func services(_ list: [[String: Any]], in world: StandInWorld) throws -> [String: String] {
        let file = world.directory + "/services.json"
        let data = try JSONSerialization.data(withJSONObject: ["apiVersion": "v1", "kind": "List", "items": list])
        _ = FileManager.default.createFile(atPath: file, contents: data)
        return ["K0SLUA_STANDIN_SERVICES": file]
    }

    @Test func issue25_statusListsLoadBalancerServicesAndHealthProbesThemFromTheHost() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let open = Listener()
        let closed = Listener(listening: false)
        let D = LoadBalancerDecisionTests.self
        let web = D.service("web", ports: [(open.port, "TCP"), (53, "UDP")], ingress: ["127.0.0.1"])
        let pending = D.service("pending", ports: [(8080, "TCP")])
        let silent = D.service("silent", namespace: "apps", ports: [(closed.port, "TCP")], ingress: ["127.0.0.1"])
        let plain = D.service("plain", type: "ClusterIP")
        let environment = try Self.services([web, pending, silent, plain], in: world)

        let status = try await world.run(["status"], environment: environment)
        #expect(status.exitCode == 0, "\(status.standardError)")
        let lines = status.standardOutput.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        #expect(lines.contains("LOADBALANCER SERVICE PORTS ADDRESSES"))
        #expect(lines.contains("apps/silent \(closed.port)/TCP 127.0.0.1"))
        #expect(lines.contains("default/pending 8080/TCP <pending>"))
        #expect(lines.contains("default/web \(open.port)/TCP,53/UDP 127.0.0.1"))
        #expect(!status.standardOutput.contains("plain"))
        let json = try await world.run(["status", "--json"], environment: environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let listed = try #require(object["load_balancers"] as? [[String: Any]])
        #expect(listed.map { "\($0["namespace"]!)/\($0["name"]!)" } == ["apps/silent", "default/pending", "default/web"])

        let health = try await world.run(["health"], environment: environment)
        #expect(health.exitCode == 1)
        let report = health.standardOutput
        #expect(report.contains("failed  load-balancers apps/silent: no TCP answer from 127.0.0.1:\(closed.port)"), "\(report)")
        #expect(report.contains("default/pending: no address (pending)"))
        #expect(report.contains("default/web: 127.0.0.1 answer (53/UDP not probed)"))
        #expect(report.contains("kubectl describe service"))

        let healthy = try await world.run(["health"], environment: try Self.services([web, plain], in: world))
        #expect(healthy.exitCode == 0, "\(healthy.standardOutput)")
        #expect(healthy.standardOutput.contains("ok      load-balancers default/web: 127.0.0.1 answer"))
    }
}
