import Foundation

/// How `up` gives a node new CPUs or memory, one node at a time: cordon and drain (when it runs
/// workloads), `vagrant halt`, `vagrant up --no-provision` (both providers apply the Vagrantfile's
/// size to an existing machine on start: vagrant-libvirt action/start_domain.rb redefines the
/// domain's vCPUs and memory, vagrant-tart action/start_instance.rb runs `tart set NAME --cpu N
/// --memory M`), wait until it is back, uncordon, health before the next node; the record takes
/// the new size after each node. Also: machines a host reboot left halted boot again, as `start`.
extension Bootstrap {
    /// Recorded machines that are not running although the record does not say `stopped` (a host
    /// reboot): booted like `k0slua start` does, controllers first.
    func bootHaltedMachines() async throws -> [String] {
        guard let applied, !applied.isStopped, cluster.provider != .hosts else { return [] }
        let recorded = renderedCluster.nodes.filter { applied.node(named: $0.name) != nil }
        guard !recorded.isEmpty else { return [] }
        let result = try await step(.machines, tools.vagrant(["status", "--machine-readable"]), log: "vagrant-status")
        let states = VagrantStatusParser.states(result.standardOutput)
        let halted = recorded.filter { node in
            guard let state = states[node.name] else { return false }
            return state != "running" && state != "not_created"
        }
        guard !halted.isEmpty else { return [] }
        progress.info("\(halted.map(\.name).joined(separator: ", ")) not running (a host reboot?): starting them as `k0slua start` does")
        try await bootMachines(halted)
        return halted.map(\.name)
    }

    /// Resizes the nodes whose CPUs or memory changed, one at a time.
    func resize(skipping booted: Set<String>) async throws -> [String] {
        var done: [String] = []
        // A machine that was just booted from halted already has its new size; an interrupted
        // resize may have left it cordoned.
        for name in diff.resizing where booted.contains(name) && pendingResize.contains(name) {
            if let node = cluster.node(named: name), applied?.isStopped != true {
                let workloads = node.runsWorkloads && record?.node(named: name)?.joined == true
                    && FileManager.default.fileExists(atPath: layout.kubeconfig)
                try await waitUntilBack(node, workloads: workloads)
                if workloads { try await step(.machines, tools.kubectl(["uncordon", name]), log: "resize-\(name)", tool: "kubectl") }
            }
            pendingResize.remove(name)
            try saveRecord(finished: .machines)
            done.append(name)
        }
        let order = diff.resizing.filter { pendingResize.contains($0) }
        for (index, name) in order.enumerated() {
            guard let node = cluster.node(named: name) else { continue }
            let drains = node.runsWorkloads && record?.node(named: name)?.joined == true
                && FileManager.default.fileExists(atPath: layout.kubeconfig)
            let fields = diff.nodes.first { $0.node == name }?.fields.filter { $0.field == "cpus" || $0.field == "memory" } ?? []
            progress.info("resizing \(name): " + fields.map { "\($0.field) \($0.from) → \($0.to)" }.joined(separator: ", "))
            if drains { try await drain(node, phase: .machines, log: "resize-\(name)") }
            try await step(.machines, tools.vagrant(["halt", name]), log: "resize-\(name)")
            try await step(.machines, tools.vagrant(["up", "--provider", cluster.provider.rawValue, "--no-provision", name]), log: "resize-\(name)")
            try await waitUntilBack(node, workloads: drains)
            if drains { try await step(.machines, tools.kubectl(["uncordon", name]), log: "resize-\(name)", tool: "kubectl") }
            pendingResize.remove(name)
            try saveRecord(finished: .machines)
            done.append(name)
            if index < order.count - 1, !options.skip.contains(.health) {
                try await healthBetweenResizes(after: name)
            }
        }
        return done
    }

    /// Cordons and drains `node` within the drain timeout (`--force-drain` deletes pods that block).
    func drain(_ node: Node, phase: BootstrapPhase, log: String) async throws {
        try await step(phase, tools.kubectl(["cordon", node.name]), log: log, tool: "kubectl")
        var arguments = ["drain", node.name, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=\(options.drainTimeoutSeconds)s"]
        if options.forceDrain { arguments += ["--force", "--disable-eviction"] }
        do {
            try await step(phase, tools.kubectl(arguments), log: log, tool: "kubectl")
        } catch var failure as BootstrapFailure {
            failure.message = "cannot drain \(node.name): " + failure.message
            failure.hint = options.forceDrain ? nil : "a pod blocks the drain (no controller, or a PodDisruptionBudget): `k0slua up --force-drain` deletes it"
            throw failure
        }
    }

    /// Until the node's Node is Ready (a node that runs workloads) or its k0s answers (a pure
    /// controller, which has no Node), within `resizeWaitSeconds`.
    func waitUntilBack(_ node: Node, workloads: Bool) async throws {
        let deadline = Date().addingTimeInterval(options.resizeWaitSeconds)
        var last = ""
        while true {
            try Task.checkCancellation()
            if workloads {
                if let result = try? await runner.run(tools.kubectl(["get", "nodes", "-o", "json"])), result.succeeded {
                    let ready = KubernetesNodes.readiness(result.standardOutput)[node.name]
                    if ready == "True" { return }
                    last = "its Node's Ready condition is \(ready ?? "missing")"
                } else {
                    last = "the API does not answer"
                }
            } else {
                if let result = try? await runner.run(ssh.command(node, run: "sudo k0s status")), result.succeeded { return }
                last = "`k0s status` does not answer"
            }
            guard Date() < deadline else {
                throw BootstrapFailure(phase: .machines, tool: nil, message: "\(node.name) did not come back after its restart: \(last)",
                                       outputTail: [], logFile: nil,
                                       hint: "`k0slua ssh \(node.name) -- sudo k0s status`; it stays cordoned until `k0slua up` finishes the resize")
            }
            try await Task.sleep(for: .seconds(2))
        }
    }

    /// The health checks over the nodes that have joined, before the next node is taken down.
    func healthBetweenResizes(after name: String) async throws {
        var joined = cluster
        joined.nodes = cluster.nodes.filter { record?.node(named: $0.name)?.joined == true && $0.ip != nil }
        let report = await HealthChecker(cluster: joined, layout: layout, runner: runner)
            .run(HealthOptions(skip: options.skipHealthChecks, waitSeconds: options.healthWaitSeconds))
        let failed = report.checks.filter { $0.status == .failed }
        guard failed.isEmpty else {
            throw BootstrapFailure(phase: .machines, tool: nil, message: "the cluster is not healthy after resizing \(name); no further node was taken down",
                                   outputTail: failed.map { $0.name + ": " + ($0.evidence.last ?? "") }, logFile: nil,
                                   hint: "`k0slua health` shows the checks; `k0slua up` resizes the remaining nodes once it passes")
        }
    }
}
