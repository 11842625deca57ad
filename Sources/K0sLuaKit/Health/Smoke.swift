import Foundation

/// `health --smoke`: a small Deployment spread over every schedulable node, pod-to-pod traffic
/// across nodes and a Service found by DNS; everything it creates lives in one namespace that is
/// deleted afterwards, also on failure or cancellation.
public enum SmokeTest {
    public static let image = "busybox:1.36"

    /// The manifests for `kubectl apply -f -`.
    public static func manifests(namespace: String, replicas: Int) -> String {
        """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: \(namespace)
          labels:
            app.kubernetes.io/managed-by: k0slua
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: smoke
          namespace: \(namespace)
        spec:
          replicas: \(replicas)
          selector:
            matchLabels:
              app: k0slua-smoke
          template:
            metadata:
              labels:
                app: k0slua-smoke
            spec:
              topologySpreadConstraints:
              - maxSkew: 1
                topologyKey: kubernetes.io/hostname
                whenUnsatisfiable: DoNotSchedule
                labelSelector:
                  matchLabels:
                    app: k0slua-smoke
              tolerations:
              - operator: Exists
              containers:
              - name: web
                image: \(image)
                command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
                ports:
                - containerPort: 8080
                readinessProbe:
                  tcpSocket:
                    port: 8080
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: smoke
          namespace: \(namespace)
        spec:
          selector:
            app: k0slua-smoke
          ports:
          - port: 80
            targetPort: 8080

        """
    }
}

extension HealthChecker {
    func smoke() async -> HealthCheckResult {
        let namespace = "k0slua-smoke-\(UInt32.random(in: 0...UInt32.max) % 100_000)"
        let schedulable = cluster.nodes.filter(\.runsWorkloads)
        let result = await withTaskCancellationHandler {
            await smokeSteps(namespace: namespace, nodes: schedulable)
        } onCancel: { }
        // Always clean up, even when the steps failed or the task was cancelled.
        let cleanup = await Task.detached { [self] in
            await run(tools.kubectl(["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"]))
        }.value
        var final = result
        if !cleanup.succeeded {
            final.evidence.append("cleanup failed: kubectl delete namespace \(namespace): \(Self.lastLine(cleanup))")
        }
        return final
    }

    func smokeSteps(namespace: String, nodes: [Node]) async -> HealthCheckResult {
        func failed(_ evidence: String, hint: String? = nil) -> HealthCheckResult {
            HealthCheckResult(name: "smoke", status: .failed, evidence: [evidence], hint: hint)
        }
        var apply = tools.kubectl(["apply", "-f", "-"])
        apply.standardInput = SmokeTest.manifests(namespace: namespace, replicas: nodes.count)
        let applied = await run(apply)
        guard applied.succeeded else { return failed("kubectl apply: \(Self.lastLine(applied))") }
        let rollout = await run(tools.kubectl(["-n", namespace, "rollout", "status", "deployment/smoke", "--timeout=180s"]))
        guard rollout.succeeded else {
            return failed("the smoke Deployment did not become ready: \(Self.lastLine(rollout))",
                          hint: "kubectl -n \(namespace) describe pods (image \(SmokeTest.image) must be pullable)")
        }
        let (object, listed) = await kubectlJSON(["-n", namespace, "get", "pods", "-l", "app=k0slua-smoke"])
        guard let items = (object as? [String: Any])?["items"] as? [[String: Any]] else { return failed("kubectl get pods: \(Self.lastLine(listed))") }
        var podByNode: [String: (name: String, ip: String)] = [:]
        for item in items {
            let name = (item["metadata"] as? [String: Any])?["name"] as? String ?? ""
            let node = (item["spec"] as? [String: Any])?["nodeName"] as? String ?? ""
            let status = item["status"] as? [String: Any] ?? [:]
            if status["phase"] as? String == "Running", let ip = status["podIP"] as? String { podByNode[node] = (name, ip) }
        }
        let missing = nodes.map(\.name).filter { podByNode[$0] == nil }
        guard missing.isEmpty else { return failed("no running smoke pod on " + missing.joined(separator: ", ")) }
        var evidence = ["a smoke pod runs on each of \(nodes.count) nodes"]
        let ordered = nodes.map { (node: $0.name, pod: podByNode[$0.name]!) }
        for (index, source) in ordered.enumerated() where ordered.count > 1 {
            let target = ordered[(index + 1) % ordered.count]
            let fetch = await run(tools.kubectl(["-n", namespace, "exec", source.pod.name, "--", "wget", "-qO-", "-T", "5", "http://\(target.pod.ip):8080/"]))
            guard fetch.succeeded else {
                return failed("pod on \(source.node) cannot reach the pod on \(target.node) (\(target.pod.ip)): \(Self.lastLine(fetch))",
                              hint: "the CNI's traffic between nodes is blocked; check kube-router/calico pods and the nodes' firewall")
            }
        }
        if ordered.count > 1 { evidence.append("pods reach each other across \(ordered.count) nodes") }
        let dns = await run(tools.kubectl(["-n", namespace, "exec", ordered[0].pod.name, "--", "nslookup", "smoke.\(namespace).svc.cluster.local"]))
        guard dns.succeeded else {
            return failed("the Service smoke.\(namespace) does not resolve: \(Self.lastLine(dns))", hint: "check CoreDNS: kubectl -n kube-system logs -l k8s-app=kube-dns")
        }
        evidence.append("Service smoke.\(namespace).svc.cluster.local resolves")
        return HealthCheckResult(name: "smoke", status: .ok, evidence: evidence)
    }
}
