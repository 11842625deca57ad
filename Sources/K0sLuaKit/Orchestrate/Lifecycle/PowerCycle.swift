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
        if let vagrantfile = VagrantfileRenderer.render(applied, publicKey: publicKey, layout: layout) {
            try FileWriter.write(vagrantfile, to: layout.vagrantfile)
        }
    }

    /// Halts workers, then controllers, and records the cluster as stopped.
    public func stop() async throws -> String {
        var record = try requireRecord(.machines)
        let applied = record.cluster(declared: loaded.cluster)
        try FileManager.default.createDirectory(atPath: layout.logs, withIntermediateDirectories: true)
        try renderRecordedMachines(applied)
        for group in [applied.workers, applied.controllers] where !group.isEmpty {
            progress.info("halting \(group.map(\.name).joined(separator: ", "))")
            try await step(.machines, tools.vagrant(["halt"] + group.map(\.name)), log: "vagrant-halt")
        }
        record.stoppedAt = Date()
        try record.save(layout)
        self.record = record
        return "cluster \(record.name) stopped (\(applied.nodes.count) machines halted); `k0slua start` brings it back"
    }

    /// Boots controllers, then workers; checks each boot-assigned address against the record
    /// (a changed one is recorded, k0sctl.yaml and /etc/hosts are rewritten and k0sctl apply
    /// reconfigures k0s), then connectivity and health.
    public func start() async throws -> (notes: [String], health: HealthReport?) {
        var record = try requireRecord(.machines)
        var notes: [String] = []
        cluster = record.cluster(declared: loaded.cluster)
        try FileManager.default.createDirectory(atPath: layout.logs, withIntermediateDirectories: true)
        try renderRecordedMachines(cluster)
        try await bootMachines(cluster.nodes)
        let changed = try await rediscoverAddresses()
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
        if let note = try await connectivity() { notes.append("connectivity: \(note)") }
        record.stoppedAt = nil
        record.updatedAt = Date()
        try record.save(layout)
        self.record = record
        var health: HealthReport?
        if !options.skip.contains(.health) {
            _ = try await runPhase(.health, health: &health)
        }
        return (notes, health)
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
}
