import Foundation

extension HealthChecker {
    /// Every `type: LoadBalancer` service has an address, and each of its TCP ports accepts a
    /// connection from this host at each address (docs/services.md). UDP and SCTP ports are listed,
    /// not probed.
    func loadBalancers() async -> HealthCheckResult {
        let result = await run(tools.kubectl(["get", "services", "-A", "-o", "json"]))
        guard result.succeeded else {
            return HealthCheckResult(name: "load-balancers", status: .failed, evidence: ["kubectl get services failed: \(Self.lastLine(result))"],
                                     hint: "k0slua kubeconfig, then kubectl get services -A")
        }
        let services = LoadBalancerService.parse(result.standardOutput)
        guard !services.isEmpty else {
            return HealthCheckResult(name: "load-balancers", status: .ok, evidence: ["no LoadBalancer services"])
        }
        var evidence: [String] = []
        var failed: [String] = []
        for service in services {
            guard !service.addresses.isEmpty else {
                evidence.append("\(service.qualifiedName): no address (pending)")
                failed.append(service.qualifiedName)
                continue
            }
            var silent: [String] = []
            for port in service.ports where port.proto == "TCP" {
                for address in service.addresses {
                    let answered = await Task.detached { TCPProbe.connects(to: address, port: port.port) }.value
                    if !answered { silent.append("\(address):\(port.port)") }
                }
            }
            let others = service.ports.filter { $0.proto != "TCP" }.map(\.description)
            let note = others.isEmpty ? "" : " (\(others.joined(separator: ", ")) not probed)"
            if silent.isEmpty {
                evidence.append("\(service.qualifiedName): \(service.addresses.joined(separator: ", ")) answer\(note)")
            } else {
                evidence.append("\(service.qualifiedName): no TCP answer from \(silent.joined(separator: ", "))\(note)")
                failed.append(service.qualifiedName)
            }
        }
        guard failed.isEmpty else {
            let hint = cluster.loadBalancer == .nodeIP
                ? "kubectl describe service -n NAMESPACE NAME shows why (k0slua's controller leaves an event when it refuses a port; docs/services.md)"
                : "load_balancer is \"off\": the load balancer you installed gives these addresses (docs/services.md)"
            return HealthCheckResult(name: "load-balancers", status: .failed, evidence: evidence, hint: hint)
        }
        return HealthCheckResult(name: "load-balancers", status: .ok, evidence: evidence)
    }
}
