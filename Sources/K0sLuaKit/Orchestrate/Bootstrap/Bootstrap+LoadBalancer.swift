import Foundation

/// k0slua's LoadBalancer controller on the controllers (docs/services.md): checked before k0sctl
/// changes anything, installed (or removed) over SSH once `k0sctl apply` succeeded.
extension Bootstrap {
    /// Existing hosts may lack python3, which runs the controller: refused before anything is
    /// drained or applied. Tart and libvirt images are Ubuntu/Debian cloud images that ship it.
    func checkLoadBalancerInterpreter() async throws {
        guard cluster.loadBalancer == .nodeIP, cluster.provider == .hosts else { return }
        let log = logFile("load-balancer")
        let answers = try await FanOut.map(cluster.controllers, limit: options.concurrency) { [ssh, runner] node -> (Node, CommandResult?) in
            (node, try? await runner.run(ssh.command(node, run: LoadBalancerController.interpreterProbe)))
        }
        var missing: [String] = []
        for (node, result) in answers {
            log.write("\(node.name): $ \(LoadBalancerController.interpreterProbe): " + (result.map { "exit \($0.exitCode) \($0.standardOutput)" } ?? "did not run"))
            if result?.succeeded != true { missing.append("\"\(node.name)\"") }
        }
        guard missing.isEmpty else {
            throw BootstrapFailure(phase: .k0sctl, tool: "ssh", message: "python3 is missing on controller \(missing.joined(separator: ", ")); k0slua's load balancer runs on it",
                                   outputTail: [], logFile: log.path,
                                   hint: "install python3 there (e.g. `sudo apt-get install -y python3`), or set load_balancer = \"off\" in cluster.lua")
        }
    }

    /// `load_balancer = "node-ip"`: the controller's program and unit written, enabled and restarted
    /// on every controller; `"off"` on an applied cluster: stopped and removed. A note for the phase line.
    func applyLoadBalancer() async throws -> String {
        let controllers = cluster.controllers
        let script: String
        switch cluster.loadBalancer {
        case .nodeIP:
            script = LoadBalancerController.installScript(extraReservedPorts: LoadBalancerController.extraReservedPorts(of: cluster))
        case .off:
            // A new cluster never had it; an applied one may have.
            guard applied != nil else { return "" }
            script = LoadBalancerController.uninstallScript
        }
        // Every controller at once, under the bound the other SSH fan-outs share.
        let results = try await FanOut.map(controllers, limit: options.concurrency) { [ssh, runner] node -> (Node, Command, CommandResult?, String?) in
            var command = ssh.command(node, run: "sudo sh -s")
            command.standardInput = script
            do {
                return (node, command, try await runner.run(command), nil)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                return (node, command, nil, "\(error)")
            }
        }
        let log = logFile("load-balancer")
        var failures: [String] = []
        for (node, command, result, error) in results {
            log.write("$ \(command)")
            if let result {
                for text in [result.standardOutput, result.standardError] where !text.isEmpty { log.write(text.hasSuffix("\n") ? String(text.dropLast()) : text) }
                log.write("exit \(result.exitCode)")
                if !result.succeeded {
                    let last = OutputExcerpt.lines(result.standardOutput + "\n" + result.standardError, limit: 3).joined(separator: " / ")
                    failures.append("\(node.name): exit \(result.exitCode)" + (last.isEmpty ? "" : ": \(last)"))
                }
            } else {
                log.write("could not run: \(error ?? "?")")
                failures.append("\(node.name): could not run ssh: \(error ?? "?")")
            }
        }
        if Task.isCancelled { throw CancellationError() }
        guard failures.isEmpty else {
            let done = controllers.count - failures.count
            throw BootstrapFailure(phase: .k0sctl, tool: "ssh",
                                   message: "the load balancer could not be \(cluster.loadBalancer == .nodeIP ? "installed" : "removed") on \(failures.count) controller(s) (\(done) of \(controllers.count) done)",
                                   outputTail: failures, logFile: log.path, hint: "`k0slua up` again retries it on every controller")
        }
        // Existing hosts k0sctl just reset as controllers stay on: the controller leaves with k0s
        // (best effort; VMs are destroyed anyway).
        for node in resetting where node.role == .controller && cluster.provider == .hosts {
            var command = ssh.command(node, run: "sudo sh -s")
            command.standardInput = LoadBalancerController.uninstallScript
            let result = try? await runner.run(command)
            logFile("load-balancer").write("\(node.name) (reset): removed, exit \(result.map { String($0.exitCode) } ?? "did not run")")
        }
        return cluster.loadBalancer == .nodeIP ? "; load balancer on \(controllers.count) controller\(controllers.count == 1 ? "" : "s")" : ""
    }
}
