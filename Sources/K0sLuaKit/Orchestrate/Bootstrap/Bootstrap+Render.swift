import Foundation

/// render: the Vagrantfile and k0sctl.yaml from cluster.lua and the record, and the record itself
/// (state.json) as each phase changes the world.
extension Bootstrap {
    /// Renders k0sctl.yaml for `cluster` and writes it; nil, and nothing written, while an address
    /// is not known.
    @discardableResult
    func writeK0sctlConfig(_ cluster: Cluster, resetting: Set<String> = []) throws -> String? {
        k0sctlConfig = K0sctlRenderer.render(cluster, layout: layout, artifacts: artifacts, resetting: resetting)
        if let config = k0sctlConfig { try FileWriter.write(config, to: layout.k0sctlConfig) }
        return k0sctlConfig
    }

    /// `k0sctl apply` of the k0sctl.yaml this run wrote.
    func applyK0sctl(_ cluster: Cluster, phase: BootstrapPhase) async throws {
        try requireWrittenK0sctlConfig(cluster, phase: phase)
        try await step(phase, tools.k0sctl(["apply", "--config", layout.k0sctlConfig]), log: "k0sctl-apply")
    }

    /// Fails naming the nodes whose address is not known when this run wrote no k0sctl.yaml (or
    /// the file changed since it wrote it).
    func requireWrittenK0sctlConfig(_ cluster: Cluster, phase: BootstrapPhase) throws {
        guard let config = k0sctlConfig, FileManager.default.contents(atPath: layout.k0sctlConfig) == Data(config.utf8) else {
            let unknown = cluster.unresolvedNodes.map(\.name)
            let why = unknown.isEmpty ? "\(layout.k0sctlConfig) changed after this run wrote it"
                : "the address of \(unknown.joined(separator: ", ")) is not known"
            throw BootstrapFailure(phase: phase, tool: nil, message: "k0sctl.yaml was not written by this run (\(why)); nothing was applied",
                                   outputTail: [], logFile: nil,
                                   hint: unknown.isEmpty ? "run `k0slua up` again" : "run the addresses phase (do not --skip addresses)")
        }
    }

    func render() throws -> String? {
        loadPublicKey()
        var files = ClusterRenderer.render(renderedCluster, publicKey: publicKey, layout: layout, artifacts: artifacts,
                                          provisioned: VagrantfileRenderer.provisioned(record))
        files.k0sctlConfig = K0sctlRenderer.render(k0sctlCluster, layout: layout, artifacts: artifacts, resetting: Set(resetting.map(\.name)))
        k0sctlConfig = files.k0sctlConfig
        let changed = try ClusterRenderer.write(files, to: layout)
        var note = changed.isEmpty ? "unchanged" : "wrote " + changed.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
        if files.k0sctlConfig == nil { note += "; k0sctl.yaml once the addresses are known" }
        return note
    }

    /// Records the cluster as it stands after `phase` changed the world.
    func saveRecord(finished phase: BootstrapPhase) throws {
        guard phase != .preflight else { return }
        var updated = ClusterRecord(renderedCluster, id: id, previous: record)
        for index in updated.nodes.indices {
            let name = updated.nodes[index].name
            let before = record?.node(named: name)
            // Joined = k0sctl applied it and its post_join hooks ran: until then the next `up` runs its hooks again.
            updated.nodes[index].joined = before?.joined == true || phase == .postJoin
            // A node waiting for its resize keeps its applied size (an interrupted `up` resizes it next time).
            if let before, pendingResize.contains(name) {
                updated.nodes[index].cpus = before.cpus
                updated.nodes[index].memoryMiB = before.memoryMiB
            }
            // A leaving node keeps what was applied to it; once k0sctl reset it, it has left
            // Kubernetes (an interrupted `up` then does not drain it again).
            if let before, cluster.node(named: name) == nil {
                updated.nodes[index] = before
                if phase == .k0sctl { updated.nodes[index].joined = false }
            }
        }
        // Stopped until the machines run again.
        if phase == .sshKey || phase == .render { updated.stoppedAt = record?.stoppedAt }
        // The k0s version k0sctl installed: a new one once k0sctl applied it (an interrupted
        // upgrade is no downgrade when cluster.lua goes back).
        if let record, !k0sApplied { updated.k0sVersion = record.k0sVersion }
        if let resolvedK0sVersion { updated.resolvedK0sVersion = resolvedK0sVersion }
        updated.phases[phase.rawValue] = updated.updatedAt
        try updated.save(layout)
        record = updated
    }

    /// Every node's one address, or a failure naming the nodes whose address is not known.
    func requireAddresses(_ phase: BootstrapPhase) throws -> [IPv4Address] {
        let unknown = cluster.unresolvedNodes
        guard unknown.isEmpty else {
            throw BootstrapFailure(phase: phase, tool: nil,
                                   message: "the address of \(unknown.map(\.name).joined(separator: ", ")) is not known yet",
                                   outputTail: [], logFile: nil, hint: "run the addresses phase (do not --skip addresses)")
        }
        return cluster.nodes.compactMap(\.ip)
    }
}
