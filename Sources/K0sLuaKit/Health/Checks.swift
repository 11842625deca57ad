import Foundation

/// Checks that the running cluster matches cluster.lua and works, check by check.
public struct HealthChecker: Sendable {
    public let cluster: Cluster
    public let layout: StateLayout
    public let runner: any ProcessRunning
    let tools: Tools
    let ssh: NodeSSH
    /// How many SSH sessions to nodes run at once (`--parallel N`).
    public var concurrency: Int = FanOut.defaultLimit

    /// Every check's name, in the order they run.
    public static let checkNames = ["machines", "reachability", "k0s-status", "api", "nodes-ready", "taints", "system-pods", "load-balancers", "smoke", "vip"]

    public init(cluster: Cluster, layout: StateLayout, runner: any ProcessRunning) {
        self.cluster = cluster
        self.layout = layout
        self.runner = runner
        self.tools = Tools(layout: layout)
        self.ssh = NodeSSH(layout: layout)
    }

    /// Runs the checks; with `waitSeconds`, again with growing pauses until they pass or time is up.
    public func run(_ options: HealthOptions) async -> HealthReport {
        let deadline = options.waitSeconds.map { Date().addingTimeInterval($0) }
        var pause = 2.0
        while true {
            let report = await runOnce(options)
            guard !report.passed, let deadline, Date().addingTimeInterval(pause) < deadline, !Task.isCancelled else { return report }
            try? await Task.sleep(for: .seconds(pause))
            pause = min(pause * 2, 30)
        }
    }

    func runOnce(_ options: HealthOptions) async -> HealthReport {
        var results: [HealthCheckResult] = []
        func skipped(_ name: String) -> HealthCheckResult? {
            options.skip.contains(name) ? HealthCheckResult(name: name, status: .skipped, evidence: ["skipped (--skip)"]) : nil
        }
        func after(_ name: String, requires prerequisites: [String]) -> HealthCheckResult? {
            if let result = skipped(name) { return result }
            for prerequisite in prerequisites {
                if let earlier = results.first(where: { $0.name == prerequisite }), earlier.status != .ok {
                    return HealthCheckResult(name: name, status: .skipped, evidence: ["skipped: \(prerequisite) is \(earlier.status.rawValue)"])
                }
            }
            return nil
        }
        let steps: [(name: String, requires: [String], check: @Sendable () async -> HealthCheckResult)] = [
            ("machines", [], machines),
            ("reachability", ["machines"], reachability),
            ("k0s-status", ["reachability"], k0sStatus),
            ("api", [], api),
            ("nodes-ready", ["api"], nodesReady),
            ("taints", ["api"], taints),
            ("system-pods", ["api"], systemPods),
            ("load-balancers", ["api"], loadBalancers),
        ] + (options.smoke ? [("smoke", ["api", "nodes-ready"], smoke)] : [])
          + (cluster.k0s.vip != nil ? [("vip", ["reachability"], vip)] : [])
        for step in steps {
            if let decided = after(step.name, requires: step.requires) {
                results.append(decided)
            } else {
                results.append(await step.check())
            }
        }
        return HealthReport(checks: results)
    }

    // MARK: - Helpers

    func run(_ command: Command) async -> CommandResult {
        do { return try await runner.run(command) } catch {
            return CommandResult(exitCode: 127, standardError: "cannot run \(command.executable): \(error)")
        }
    }

    static func lastLine(_ result: CommandResult) -> String {
        (result.standardError.isEmpty ? result.standardOutput : result.standardError)
            .split(separator: "\n").last.map(String.init) ?? "exit \(result.exitCode)"
    }

    func kubectlJSON(_ arguments: [String]) async -> (Any?, CommandResult) {
        let result = await run(tools.kubectl(arguments + ["-o", "json"]))
        guard result.succeeded else { return (nil, result) }
        return (try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)), result)
    }

    // MARK: - Checks

    func machines() async -> HealthCheckResult {
        if cluster.provider == .hosts {
            let answers = await sshFanOut(cluster.nodes) { node in ssh.command(node, run: "true") }
            let down = zip(cluster.nodes, answers).filter { !$0.1.succeeded }.map(\.0.name)
            return down.isEmpty
                ? HealthCheckResult(name: "machines", status: .ok, evidence: ["\(cluster.nodes.count) hosts answer on SSH"])
                : HealthCheckResult(name: "machines", status: .failed, evidence: ["no SSH answer from " + down.joined(separator: ", ")],
                                    hint: "check the hosts are up and the key in cluster.lua is authorized: k0slua ssh \(down[0])")
        }
        let result = await run(tools.vagrant(["status", "--machine-readable"]))
        guard result.succeeded else {
            return HealthCheckResult(name: "machines", status: .failed, evidence: ["vagrant status failed: \(Self.lastLine(result))"],
                                     hint: "run `k0slua status`; bring the cluster up with task vagrant:up")
        }
        let states = VagrantStatusParser.states(result.standardOutput)
        let wrong = cluster.nodes.filter { states[$0.name] != "running" }
        return wrong.isEmpty
            ? HealthCheckResult(name: "machines", status: .ok, evidence: ["\(cluster.nodes.count) machines running"])
            : HealthCheckResult(name: "machines", status: .failed,
                                evidence: wrong.map { "\($0.name): \(states[$0.name] ?? "not_created")" },
                                hint: "start them with task vagrant:up")
    }

    func reachability() async -> HealthCheckResult {
        var problems: [String] = cluster.unresolvedNodes.map { "\($0.name): address not known (assigned at boot; run k0slua up)" }
        let probed = cluster.nodes.filter { $0.ip != nil }
        let targets = ReachabilityProbe.targets(of: probed)
        let results = await sshFanOut(probed) { node in
            var command = ssh.command(node, run: ReachabilityProbe.script)
            command.standardInput = ReachabilityProbe.input(for: (targets[node.name] ?? []).compactMap(\.ip))
            return command
        }
        var pairs = 0
        for (node, result) in zip(probed, results) {
            guard result.succeeded else {
                problems.append("host → \(node.name) (\(node.sshAddress ?? "?")): \(Self.lastLine(result))")
                continue
            }
            // Every expected pair is answered for: a peer the output does not mention is a failure.
            let (reached, missing) = ReachabilityProbe.evaluate(node, peers: targets[node.name] ?? [], output: result.standardOutput)
            pairs += reached.count
            problems += missing
        }
        let sample = ReachabilityProbe.isSampled(probed) ? " (\(ReachabilityProbe.sampleDescription))" : ""
        let wake = SoftnetWake(cluster: cluster, layout: layout, runner: runner)
        if !probed.isEmpty, !results.contains(where: \.succeeded), wake.applies, await wake.allRunning(probed) {
            return HealthCheckResult(name: "reachability", status: .failed,
                                     evidence: problems + ["tart list: every node's VM is running, yet this host reaches none of them"],
                                     hint: SoftnetWake.hint)
        }
        return problems.isEmpty
            ? HealthCheckResult(name: "reachability", status: .ok, evidence: ["host reaches \(cluster.nodes.count) nodes; \(pairs) node pairs answer\(sample)"])
            : HealthCheckResult(name: "reachability", status: .failed, evidence: problems,
                                hint: cluster.provider == .tart && cluster.network.tartMode == .shared
                                    ? "Tart's shared network isolates VMs from each other on macOS 13 and later: leave network.mode out (softnet, the default), then k0slua destroy && k0slua up"
                                    : "check each node's address and the network between the nodes: k0slua ssh NODE -- ip -4 addr")
    }

    /// `command(node)` over SSH for every node, at most `concurrency` at once; results in order.
    func sshFanOut(_ nodes: [Node], _ command: @escaping @Sendable (Node) -> Command) async -> [CommandResult] {
        let checker = self
        return (try? await FanOut.map(nodes, limit: concurrency) { node in await checker.run(command(node)) })
            ?? nodes.map { _ in CommandResult(exitCode: 130, standardError: "interrupted") }
    }

    func k0sStatus() async -> HealthCheckResult {
        var problems: [String] = []
        var seen: [String] = []
        let results = await sshFanOut(cluster.nodes) { node in ssh.command(node, run: "sudo k0s status") }
        for (node, result) in zip(cluster.nodes, results) {
            guard result.succeeded else {
                problems.append("\(node.name): k0s is not running (\(Self.lastLine(result)))")
                continue
            }
            var fields: [String: String] = [:]
            for line in result.standardOutput.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
            // No check passes on missing evidence: k0s status must say which role it runs.
            guard let role = fields["Role"] else {
                problems.append("\(node.name): `k0s status` printed no Role (\(result.standardOutput.isEmpty ? "no output" : Self.lastLine(result)))")
                continue
            }
            if node.role == .controller, fields["Workloads"] == nil {
                problems.append("\(node.name): `k0s status` printed no Workloads line")
                continue
            }
            let workloads = fields["Workloads"] == "true"
            let expectedRole = node.role == .worker ? "worker" : "controller"
            if role != expectedRole || (node.role == .controller && workloads != node.runsWorkloadsOnController) {
                problems.append("\(node.name): k0s runs as \(role)\(workloads ? " with workloads" : ""); the plan says \(node.k0sRole.rawValue)")
            } else if let pinned = cluster.k0s.version, fields["Version"] != pinned {
                problems.append("\(node.name): k0s \(fields["Version"] ?? "?"); cluster.lua pins \(pinned)")
            } else {
                seen.append("\(node.name) \(node.k0sRole.rawValue) \(fields["Version"] ?? "")")
            }
        }
        return problems.isEmpty
            ? HealthCheckResult(name: "k0s-status", status: .ok, evidence: seen)
            : HealthCheckResult(name: "k0s-status", status: .failed, evidence: problems,
                                hint: "look at the service: k0slua ssh NODE -- sudo journalctl -u k0scontroller -u k0sworker -n 50")
    }

    func api() async -> HealthCheckResult {
        guard FileManager.default.fileExists(atPath: layout.kubeconfig) else {
            return HealthCheckResult(name: "api", status: .failed, evidence: ["no kubeconfig at \(layout.kubeconfig)"],
                                     hint: "fetch it with k0slua kubeconfig")
        }
        let result = await run(tools.kubectl(["get", "--raw", "/readyz"]))
        return result.succeeded && result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "ok"
            ? HealthCheckResult(name: "api", status: .ok, evidence: ["/readyz answered ok"])
            : HealthCheckResult(name: "api", status: .failed, evidence: ["/readyz: \(Self.lastLine(result))"],
                                hint: "is the leader up? k0slua ssh \(cluster.leader?.name ?? "control-plane-1") -- sudo k0s status")
    }

    /// The Node objects by name (workers and workload controllers have one). Output that is not a
    /// node list counts as a failed command: no check passes on it.
    func nodeObjects() async -> ([String: [String: Any]], CommandResult) {
        var (object, result) = await kubectlJSON(["get", "nodes"])
        if result.succeeded, (object as? [String: Any])?["items"] as? [[String: Any]] == nil {
            result = CommandResult(exitCode: 1, standardError: "printed no node list (\(result.standardOutput.isEmpty ? "no output" : "no items"))")
            object = nil
        }
        let items = (object as? [String: Any])?["items"] as? [[String: Any]] ?? []
        var byName: [String: [String: Any]] = [:]
        for item in items {
            if let name = (item["metadata"] as? [String: Any])?["name"] as? String { byName[name] = item }
        }
        return (byName, result)
    }

    func nodesReady() async -> HealthCheckResult {
        let (objects, result) = await nodeObjects()
        guard result.succeeded else {
            return HealthCheckResult(name: "nodes-ready", status: .failed, evidence: ["kubectl get nodes: \(Self.lastLine(result))"])
        }
        let expected = cluster.nodes.filter(\.runsWorkloads)
        var problems: [String] = []
        for node in expected {
            guard let object = objects[node.name] else {
                problems.append("\(node.name): not registered")
                continue
            }
            let status = object["status"] as? [String: Any] ?? [:]
            let ready = (status["conditions"] as? [[String: Any]] ?? []).first { $0["type"] as? String == "Ready" }
            if ready?["status"] as? String != "True" {
                problems.append("\(node.name): NotReady (\(ready?["reason"] as? String ?? "no Ready condition"): \(ready?["message"] as? String ?? ""))")
            }
            let internalIP = (status["addresses"] as? [[String: Any]] ?? []).first { $0["type"] as? String == "InternalIP" }?["address"] as? String
            if internalIP != node.ip?.description {
                problems.append("\(node.name): InternalIP \(internalIP ?? "none"), expected \(node.addressDescription)")
            }
        }
        let unexpected = Set(objects.keys).subtracting(expected.map(\.name))
        for name in unexpected.sorted() { problems.append("\(name): registered but not a workload node of the plan") }
        return problems.isEmpty
            ? HealthCheckResult(name: "nodes-ready", status: .ok, evidence: ["\(expected.count) nodes Ready: " + expected.map(\.name).joined(separator: ", ")])
            : HealthCheckResult(name: "nodes-ready", status: .failed, evidence: problems,
                                hint: problems.contains { $0.contains("InternalIP") }
                                    ? "the kubelet picked another interface: k0sctl.yaml must set privateAddress (k0slua render)"
                                    : "look at the kubelet: k0slua ssh NODE -- sudo journalctl -u k0sworker -n 50")
    }

    /// Labels k0s and Kubernetes put on nodes themselves.
    static func isSystemLabel(_ key: String) -> Bool {
        key.hasPrefix("kubernetes.io/") || key.hasPrefix("beta.kubernetes.io/") || key.hasPrefix("node.kubernetes.io/")
            || key == "node-role.kubernetes.io/control-plane" || key == "node.k0sproject.io/role"
            || key.hasPrefix("topology.kubernetes.io/")
    }

    func taints() async -> HealthCheckResult {
        let (objects, result) = await nodeObjects()
        guard result.succeeded else {
            return HealthCheckResult(name: "taints", status: .failed, evidence: ["kubectl get nodes: \(Self.lastLine(result))"])
        }
        var problems: [String] = []
        for node in cluster.nodes.filter(\.runsWorkloads) {
            guard let object = objects[node.name] else { continue }  // nodes-ready reports it
            let labels = ((object["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]).filter { !Self.isSystemLabel($0.key) }
            let expectedLabels = Dictionary(node.labels.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            if labels != expectedLabels {
                problems.append("\(node.name): labels \(Self.describe(labels)), expected \(Self.describe(expectedLabels))")
            }
            let taints = ((object["spec"] as? [String: Any])?["taints"] as? [[String: Any]] ?? []).map { taint in
                "\(taint["key"] as? String ?? "")" + ((taint["value"] as? String).map { "=\($0)" } ?? "") + ":\(taint["effect"] as? String ?? "")"
            }
            let expectedTaints = node.taints.map(\.description)
            if Set(taints) != Set(expectedTaints) {
                let controlPlane = taints.contains { $0.hasPrefix("node-role.kubernetes.io/control-plane") || $0.hasPrefix("node-role.kubernetes.io/master") }
                problems.append("\(node.name): taints [\(taints.sorted().joined(separator: ", "))], expected [\(expectedTaints.sorted().joined(separator: ", "))]"
                    + (controlPlane && node.role == .controller ? " — this workload controller carries the control-plane taint (noTaints missing)" : ""))
            }
        }
        return problems.isEmpty
            ? HealthCheckResult(name: "taints", status: .ok, evidence: ["labels and taints match cluster.lua on \(cluster.nodes.filter(\.runsWorkloads).count) nodes"])
            : HealthCheckResult(name: "taints", status: .failed, evidence: problems,
                                hint: "k0s applies labels and taints at first registration only: rebuild the node, or fix them with kubectl label/taint")
    }

    static func describe(_ labels: [String: String]) -> String {
        labels.isEmpty ? "{}" : "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "}"
    }

    func systemPods() async -> HealthCheckResult {
        let (object, result) = await kubectlJSON(["get", "pods", "-n", "kube-system"])
        guard let items = (object as? [String: Any])?["items"] as? [[String: Any]] else {
            return HealthCheckResult(name: "system-pods", status: .failed, evidence: ["kubectl get pods: \(Self.lastLine(result))"])
        }
        var problems: [String] = []
        var names: [String] = []
        for pod in items {
            let name = (pod["metadata"] as? [String: Any])?["name"] as? String ?? "?"
            names.append(name)
            let status = pod["status"] as? [String: Any] ?? [:]
            let phase = status["phase"] as? String ?? "?"
            if phase == "Succeeded" { continue }
            let ready = (status["conditions"] as? [[String: Any]] ?? []).first { $0["type"] as? String == "Ready" }?["status"] as? String == "True"
            let containers = status["containerStatuses"] as? [[String: Any]] ?? []
            let restarts = containers.reduce(0) { $0 + ($1["restartCount"] as? Int ?? 0) }
            let waiting = containers.compactMap { (($0["state"] as? [String: Any])?["waiting"] as? [String: Any])?["reason"] as? String }.first
            if phase != "Running" || !ready {
                problems.append("\(name): \(waiting ?? phase)\(ready ? "" : ", not ready")\(restarts > 0 ? ", \(restarts) restarts" : "")")
            }
        }
        for component in ["coredns", "kube-proxy", "metrics-server"] where !names.contains(where: { $0.hasPrefix(component) }) {
            problems.append("\(component): no pod")
        }
        if !names.contains(where: { $0.hasPrefix("kube-router") || $0.hasPrefix("calico") }) { problems.append("CNI (kube-router or calico): no pod") }
        return problems.isEmpty
            ? HealthCheckResult(name: "system-pods", status: .ok, evidence: ["\(items.count) kube-system pods Running and Ready"])
            : HealthCheckResult(name: "system-pods", status: .failed, evidence: problems,
                                hint: "kubectl --kubeconfig \(layout.kubeconfig) -n kube-system describe pod POD; kubectl logs POD --previous")
    }

    func vip() async -> HealthCheckResult {
        guard let vip = cluster.k0s.vip else { return HealthCheckResult(name: "vip", status: .skipped, evidence: ["no VIP"]) }
        let api = await run(tools.kubectl(["--server", "https://\(vip):6443", "get", "--raw", "/readyz"]))
        var holders: [String] = []
        for node in cluster.controllers {
            let result = await run(ssh.command(node, run: "ip -o -4 addr show"))
            if result.standardOutput.contains(" \(vip)/") { holders.append(node.name) }
        }
        var problems: [String] = []
        if !(api.succeeded && api.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "ok") {
            problems.append("https://\(vip):6443/readyz: \(Self.lastLine(api))")
        }
        if holders.count != 1 { problems.append("the VIP sits on \(holders.count) controllers\(holders.isEmpty ? "" : ": " + holders.joined(separator: ", "))") }
        return problems.isEmpty
            ? HealthCheckResult(name: "vip", status: .ok, evidence: ["\(vip) answers the API and sits on \(holders[0])"])
            : HealthCheckResult(name: "vip", status: .failed, evidence: problems,
                                hint: "keepalived needs VRRP (IP protocol 112) between controllers: k0slua ssh \(cluster.controllers[0].name) -- sudo journalctl -u k0scontroller | grep -i keepalived")
    }
}
