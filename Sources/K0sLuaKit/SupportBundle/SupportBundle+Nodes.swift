import Foundation

/// The nodes' and the cluster's part of the bundle: each node's k0s diagnostics over SSH (a deadline
/// per node, the shared --parallel bound) and, when the API answers, the cluster's objects.
extension SupportBundle {
    // MARK: - Nodes

    enum NodeOutcome: Sendable {
        case collected(Int, failed: [String])
        case unreachable(String)
        case timedOut(done: Int, of: Int)
        case noAddress
    }

    func collectNodes(_ nodes: [Node], layout: StateLayout, _ files: BundleFiles) async {
        guard !nodes.isEmpty else { return }
        report("nodes: asking \(nodes.count) node\(nodes.count == 1 ? "" : "s"), \(min(request.parallelism, nodes.count)) at a time")
        // Cancellation (Ctrl-C) is the only error: the nodes not asked yet are not started.
        _ = try? await FanOut.map(nodes, limit: request.parallelism) { node in
            let started = Date()
            let outcome = await collectNode(node, ssh: NodeSSH(layout: layout), files)
            let seconds = String(format: "%.1fs", Date().timeIntervalSince(started))
            switch outcome {
            case .collected(let count, let failed):
                report("\(node.name): \(count) outputs (\(seconds))" + (failed.isEmpty ? "" : "; failed: \(failed.joined(separator: ", "))"))
            case .unreachable(let why):
                await files.note("\(node.name): skipped, no answer over SSH: \(why)")
                report("\(node.name): skipped, no answer over SSH (\(seconds))")
            case .timedOut(let done, let total):
                await files.note("\(node.name): skipped after \(Self.seconds(request.nodeTimeoutSeconds)) without an answer (\(done) of \(total) outputs collected)")
                report("\(node.name): skipped, no answer within \(Self.seconds(request.nodeTimeoutSeconds)) (\(done) of \(total) outputs)")
            case .noAddress:
                await files.note("\(node.name): skipped, its address is not known (did its machine ever boot?)")
                report("\(node.name): skipped, address not known")
            }
        }
    }

    func collectNode(_ node: Node, ssh: NodeSSH, _ files: BundleFiles) async -> NodeOutcome {
        guard node.sshAddress != nil else { return .noAddress }
        let commands = Self.nodeCommands(sinceSeconds: request.sinceSeconds, journalLines: request.journalLines)
        let done = Counter()
        let outcome = await withDeadline(request.nodeTimeoutSeconds) { () async -> NodeOutcome in
            var failed: [String] = []
            for (index, item) in commands.enumerated() {
                guard !Task.isCancelled else { return .timedOut(done: done.value, of: commands.count) }
                let result: CommandResult
                do {
                    result = try await runner.run(ssh.command(node, run: item.command))
                } catch {
                    if Task.isCancelled { return .timedOut(done: done.value, of: commands.count) }
                    return .unreachable("cannot run ssh: \(error)")
                }
                if Task.isCancelled {
                    // Stopped at the deadline: what it printed until then, marked as cut off.
                    await files.add("nodes/\(Self.safe(node.name))/\(item.file)",
                                    Self.transcript(item.command, result) + "# cut off: no answer within \(Self.seconds(request.nodeTimeoutSeconds))\n")
                    return .timedOut(done: done.value, of: commands.count)
                }
                if index == 0, result.exitCode == 255 { return .unreachable(Self.lastLine(result)) }
                if !result.succeeded { failed.append(item.file) }
                await files.add("nodes/\(Self.safe(node.name))/\(item.file)", Self.transcript(item.command, result))
                done.increment()
            }
            return .collected(commands.count, failed: failed)
        }
        return outcome ?? .timedOut(done: done.value, of: commands.count)
    }

    // MARK: - Cluster

    func collectCluster(_ layout: StateLayout, _ files: BundleFiles) async {
        guard FileManager.default.fileExists(atPath: layout.kubeconfig) else {
            await files.note("cluster: skipped, no kubeconfig at \(layout.kubeconfig)")
            report("cluster: skipped, no kubeconfig")
            return
        }
        let tools = Tools(layout: layout)
        let readyz = await run(tools.kubectl(["get", "--raw", "/readyz", "--request-timeout", "15s"]), timeout: 30)
        guard readyz.succeeded else {
            await files.add("cluster/readyz.txt", Self.transcript("kubectl get --raw /readyz", readyz))
            await files.note("cluster: skipped, the API did not answer: \(Self.lastLine(readyz))")
            report("cluster: skipped, the API did not answer")
            return
        }
        for item in Self.clusterCommands {
            let command = tools.kubectl(item.arguments + ["--request-timeout", "30s"])
            let result = await run(command, timeout: 60)
            await files.add("cluster/\(item.file)", Self.transcript((["kubectl"] + item.arguments).joined(separator: " "), result))
        }
        report("cluster: nodes, pods, events and ClusterConfig collected")
    }
}
