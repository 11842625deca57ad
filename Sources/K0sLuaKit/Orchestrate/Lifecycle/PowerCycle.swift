import Foundation

/// `k0slua stop` and `k0slua start`: the recorded machines halted (workers first) and booted
/// again (controllers first) without rebuilding; after `start`, addresses are checked against the
/// record, connectivity runs and health waits. A host reboot is the same as stop → start.
extension Bootstrap {
    /// The record, or a failure saying there is nothing applied to act on.
    func requireRecord(_ phase: BootstrapPhase) throws -> ClusterRecord {
        guard let record else {
            throw BootstrapFailure(phase: phase, tool: nil, message: "no cluster has been applied from \(layout.directory) (no state.json)",
                                   outputTail: [], logFile: nil, hint: "run `k0slua up` first")
        }
        guard record.provider != .hosts else {
            throw BootstrapFailure(phase: phase, tool: nil, message: "the hosts provider's machines are yours to stop and start",
                                   outputTail: [], logFile: nil)
        }
        return record
    }

    /// Makes the Vagrantfile name every recorded machine (Vagrant acts only on those it names),
    /// whatever cluster.lua or `k0slua render` wrote since.
    func renderRecordedMachines(_ applied: Cluster) throws {
        loadPublicKey()
        if let vagrantfile = VagrantfileRenderer.render(applied, publicKey: publicKey, layout: layout, provisioned: VagrantfileRenderer.provisioned(record)) {
            try FileWriter.write(vagrantfile, to: layout.vagrantfile)
        }
    }

    /// Halts workers, then controllers (the machines of a group at once, at most
    /// `options.concurrency`), and records the cluster as stopped. A failed halt fails the phase
    /// after its group's other halts ended, naming what halted and what did not.
    public func stop() async throws -> String {
        var record = try requireRecord(.machines)
        let applied = record.cluster(declared: loaded.cluster)
        try FileManager.default.createDirectory(atPath: layout.logs, withIntermediateDirectories: true)
        try renderRecordedMachines(applied)
        let groups = [applied.workers, applied.controllers].filter { !$0.isEmpty }
        var halted: [String] = []
        for (index, group) in groups.enumerated() {
            progress.info("halting \(group.map(\.name).joined(separator: ", "))" + (group.count > 1 ? " (\(min(group.count, options.concurrency)) at a time)" : ""))
            let failed = try await haltEach(group, log: "vagrant-halt")
            halted += group.map(\.name).filter { name in !failed.contains { $0.node == name } }
            guard failed.isEmpty else {
                let later = groups.dropFirst(index + 1).joined().map { "\($0.name) (controllers halt after every worker)" }
                throw haltFailure(failed, halted: halted, notStarted: later, log: "\(layout.logs)/vagrant-halt.log",
                                  hint: "run `k0slua stop` again: it halts what still runs (halted machines stay halted)")
            }
        }
        record.stoppedAt = Date()
        try record.save(layout)
        self.record = record
        return "cluster \(record.name) stopped (\(applied.nodes.count) machines halted); `k0slua start` brings it back"
    }

    /// Boots controllers, then workers; checks each boot-assigned address against the record
    /// (a controller k0s installed whose address moved stops `start` before anything changes; a
    /// worker's changed one is recorded, k0sctl.yaml and /etc/hosts are rewritten and k0sctl apply
    /// reconfigures k0s), then connectivity and health.
    public func start() async throws -> (notes: [String], health: HealthReport?) {
        let record = try requireRecord(.machines)
        cluster = record.cluster(declared: loaded.cluster)
        try FileManager.default.createDirectory(atPath: layout.logs, withIntermediateDirectories: true)
        try renderRecordedMachines(cluster)
        try await bootMachines(cluster.nodes)
        return try await machinesRun()
    }

    /// The half of `start` after the recorded machines run again (booted, or resumed from a
    /// snapshot's memory images): addresses checked against the record, then connectivity and
    /// health. `setClocks`: the guests were resumed and their clocks stand at the save time.
    func machinesRun(setClocks: Bool = false) async throws -> (notes: [String], health: HealthReport?) {
        var record = try requireRecord(.machines)
        var notes: [String] = []
        let changed = try await rediscoverAddresses()
        try refuseMovedControllers(changed.map { (name: $0.name, to: $0.to) })
        if setClocks {
            progress.info("setting the clocks of \(cluster.nodes.map(\.name).joined(separator: ", ")) (they stood still while paused)")
            try await setGuestClocks(cluster.nodes)
        }
        if let note = try await wakeSoftnetNodes() { notes.append(note) }
        if !changed.isEmpty {
            notes += changed.map { "\($0.name): address changed from \($0.from) to \($0.to)" }
            for change in changed {
                if let index = record.nodes.firstIndex(where: { $0.name == change.name }) { record.nodes[index].address = change.to.description }
            }
            try record.save(layout)
            self.record = record
            // The same k0sctl.yaml `up` wrote: with the cached k0s when the cache holds it.
            artifacts = await K0sCache(fetcher: fetcher).cachedArtifacts(for: cluster, layout: layout, host: options.hostFacts)
            try writeK0sctlConfig(cluster)
            try await writeHostsFiles()
            notes.append("rewrote k0sctl.yaml and every node's /etc/hosts")
            try await applyK0sctl(cluster, phase: .k0sctl)
            notes.append("k0sctl apply reconfigured k0s for the new address(es)")
        }
        progress.info("checking connectivity between the machines")
        if let note = try await connectivity() { notes.append("connectivity: \(note)") }
        record.stoppedAt = nil
        record.updatedAt = Date()
        try record.save(layout)
        self.record = record
        var health: HealthReport?
        if !options.skip.contains(.health) {
            progress.info("health checks")
            _ = try await runPhase(.health, health: &health)
        }
        return (notes, health)
    }

    /// One `vagrant halt [--force] <node>` per machine, at most `options.concurrency` at once: one
    /// `vagrant halt a b c` halts its machines one after another (hashicorp/vagrant
    /// plugins/commands/halt/command.rb, `with_target_vms(argv, reverse: true)`), while Vagrant
    /// locks each machine, not the project (lib/vagrant/machine.rb `action`: `@env.lock("machine-action-#{id}")`,
    /// the id from the machine's name), so processes naming different machines run side by side.
    /// Every halt runs to its end, also when another fails; each one's lines go into `log` as one
    /// block when it ends, so the log reads machine by machine. The failed halts, in `nodes`' order.
    func haltEach(_ nodes: [Node], force: Bool = false, log name: String) async throws -> [MachineHaltFailure] {
        let log = logFile(name)
        let outcomes = try await FanOut.map(nodes, limit: options.concurrency) { [tools, runner] node -> MachineHaltFailure? in
            let command = tools.vagrant(["halt"] + (force ? ["--force"] : []) + [node.name])
            let block = LogBlock("$ \(command)")
            defer { log.write(block.text) }
            let result: CommandResult
            do {
                result = try await runner.run(command) { line in
                    switch line {
                    case .standardOutput(let text), .standardError(let text): block.append(text)
                    }
                }
            } catch is CancellationError {
                block.append("interrupted")
                throw CancellationError()
            } catch {
                block.append("could not run: \(error)")
                return MachineHaltFailure(node: node.name, problem: "could not run `\(command.executable)`: \(error)", output: [])
            }
            block.append("exit \(result.exitCode)")
            if Task.isCancelled { throw CancellationError() }
            guard !result.succeeded else { return nil }
            return MachineHaltFailure(node: node.name, problem: "`\(command)` exited with \(result.exitCode)",
                                      output: OutputExcerpt.lines(result.standardOutput + "\n" + result.standardError, limit: 15))
        }
        return outcomes.compactMap { $0 }
    }

    /// The phase's failure after `failed` halts: each one's output, then which machines halted and
    /// which did not (`notStarted`: those whose halt never began, with why).
    func haltFailure(_ failed: [MachineHaltFailure], halted: [String], notStarted: [String], log: String, hint: String) -> BootstrapFailure {
        var lines: [String] = []
        for failure in failed {
            if failed.count > 1 { lines.append("\(failure.node): \(failure.problem)") }
            lines += failure.output
        }
        lines.append("halted: " + (halted.isEmpty ? "none" : halted.joined(separator: ", ")))
        lines.append("not halted: " + (failed.map { "\($0.node) (its halt failed)" } + notStarted).joined(separator: ", "))
        let message = failed.count == 1 ? "could not halt \(failed[0].node): \(failed[0].problem)"
            : "could not halt \(failed.map(\.node).joined(separator: ", "))"
        return BootstrapFailure(phase: .machines, tool: "vagrant", message: message, outputTail: lines, logFile: log, hint: hint)
    }

    /// `vagrant up --no-provision` of existing machines: controllers first, then workers.
    func bootMachines(_ nodes: [Node]) async throws {
        for group in [nodes.filter { $0.role == .controller }, nodes.filter { $0.role == .worker }] where !group.isEmpty {
            progress.info("starting \(group.map(\.name).joined(separator: ", "))")
            try await step(.machines, tools.vagrant(["up", "--provider", cluster.provider.rawValue, "--no-provision"] + group.map(\.name)),
                           log: "vagrant-up")
        }
    }

    /// Each boot-addressed node's address from Vagrant, against the recorded one.
    func rediscoverAddresses() async throws -> [(name: String, from: String, to: IPv4Address)] {
        let dhcpNodes = cluster.nodes.filter { $0.addressing == .dhcp }
        let discovered = try await discoverLeases(of: dhcpNodes)
        let changed = dhcpNodes.compactMap { node -> (name: String, from: String, to: IPv4Address)? in
            guard let address = discovered[node.name], node.ip != address else { return nil }
            return (node.name, node.ip?.description ?? "-", address)
        }
        cluster = cluster.resolving(discovered)
        return changed
    }

    /// Recorded controllers k0sctl installed whose boot-assigned address is not the recorded one.
    /// etcd keeps each member's peer URL (`https://<recorded address>:2380`) in its own data, and
    /// k0sctl apply does not change it: such a member cannot rejoin, and two of three lose quorum.
    /// So nothing is applied; the failure names each node and the ways back.
    func refuseMovedControllers(_ discovered: [(name: String, to: IPv4Address)]) throws {
        guard let record, record.phases[BootstrapPhase.k0sctl.rawValue] != nil else { return }
        let moved = discovered.compactMap { change -> (name: String, from: String, to: IPv4Address)? in
            guard let recorded = record.node(named: change.name), recorded.role == .controller,
                  let from = recorded.address, from != change.to.description else { return nil }
            return (change.name, from, change.to)
        }.sorted { $0.name < $1.name }
        guard !moved.isEmpty else { return }
        let names = moved.map(\.name).joined(separator: ", ")
        var lines = moved.map { "\($0.name): recorded address \($0.from), DHCP gave it \($0.to) now (etcd still lists its peer https://\($0.from):2380)" }
        lines.append("nothing was applied: k0sctl did not run, state.json and k0sctl.yaml keep the recorded addresses")
        lines.append("(a) give it its old lease back: a bootpd reservation in /etc/bootptab (docs/troubleshooting.md), then `k0slua stop` and `k0slua start`")
        lines.append("(b) rebuild the cluster: `k0slua destroy && k0slua up`")
        throw BootstrapFailure(phase: .addresses, tool: nil,
                               message: "the DHCP address of controller \(names) moved; etcd cannot follow a moved controller",
                               outputTail: lines, logFile: nil,
                               hint: "keep each VM's lease with a reservation in /etc/bootptab (`k0slua doctor` checks it)")
    }

    /// A running softnet cluster the host reaches not at all while `tart list` says its VMs run
    /// (the Mac slept past softnet's lease): renews every node's lease through the Tart guest
    /// agent, then asks again. Nil when some node answered at once or the mode does not apply.
    func wakeSoftnetNodes() async throws -> String? {
        let wake = SoftnetWake(cluster: cluster, layout: layout, runner: runner)
        let nodes = cluster.nodes.filter { $0.ip != nil }
        guard wake.applies, !nodes.isEmpty, try await answering(nodes).isEmpty, await wake.allRunning(nodes) else { return nil }
        progress.info("no node answers although their VMs run (the Mac slept?): renewing each DHCP lease through the Tart guest agent")
        let problems = await wake.renew(nodes)
        let answering = try await answering(nodes)
        guard !answering.isEmpty else {
            throw BootstrapFailure(phase: .connectivity, tool: "tart", message: "no node answers, also after renewing their DHCP leases through `tart exec`",
                                   outputTail: problems, logFile: nil,
                                   hint: "`tart exec` needs macOS 14+ and the Tart Guest Agent in the VM; else restart the VMs: `k0slua stop && k0slua start`")
        }
        return "renewed the DHCP leases of \(nodes.map(\.name).joined(separator: ", ")) through `tart exec` (softnet had dropped them, the Mac slept?)"
            + (problems.isEmpty ? "" : "; " + problems.joined(separator: "; "))
    }

    /// The nodes that answer `true` over SSH.
    func answering(_ nodes: [Node]) async throws -> [Node] {
        let results = try await FanOut.map(nodes, limit: options.concurrency) { [ssh, runner] node in
            (node, (try? await runner.run(ssh.command(node, run: "true")))?.succeeded == true)
        }
        return results.filter(\.1).map(\.0)
    }
}

/// A machine whose `vagrant halt` failed: the command's problem and its last output lines.
struct MachineHaltFailure: Sendable {
    let node: String
    let problem: String
    let output: [String]
}

/// The lines of one command, collected while it runs and written to its log as one block.
final class LogBlock: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String]

    init(_ first: String) { lines = [first] }

    func append(_ line: String) { lock.withLock { lines.append(line) } }

    var text: String { lock.withLock { lines.joined(separator: "\n") } }
}
