import Foundation

/// `k0slua snapshot save|restore|delete`: the whole cluster saved while every machine is stopped
/// (workers halt first, controllers last, as `stop` does), so that etcd has one history on every
/// controller; restore puts the files and machine images back and boots it as `start` does
/// (controllers first, addresses, connectivity, health). The caller holds the cluster lock.
extension Bootstrap {
    /// Refuses the hosts provider: k0slua does not own those machines.
    func requireSnapshotProvider() throws {
        guard (record?.provider ?? cluster.provider) != .hosts else {
            throw ClusterSnapshot.Failure("the hosts provider has no snapshots: k0slua does not own those machines",
                                          hint: "snapshot the hosts with their own tools (a hypervisor's snapshots, or `k0s backup`)")
        }
    }

    /// Saves the applied cluster as `name`; machines that were running run again afterwards.
    public func saveSnapshot(_ name: String) async throws -> String {
        if let problem = ClusterSnapshot.nameProblem(name) { throw problem }
        try requireSnapshotProvider()
        let snapshot = ClusterSnapshot(layout: layout, name: name)
        guard !snapshot.exists else {
            throw ClusterSnapshot.Failure("snapshot \"\(name)\" exists already", hint: "delete it first: `k0slua snapshot delete \(name)`, or choose another name")
        }
        let started = Date()
        var saved = try requireRecord(.machines)
        let wasRunning = !saved.isStopped
        // A running libvirt cluster is saved with its memory: paused, never halted or booted.
        let frozen = wasRunning && saved.provider == .libvirt ? FrozenDomains() : nil
        if wasRunning, frozen == nil { _ = try await stop() }
        cluster = saved.cluster(declared: loaded.cluster)
        ClusterSnapshot.removeAbandoned(layout)
        let temporary = snapshot.temporaryDirectory
        var machines: [ClusterSnapshot.Machine] = []
        var paused: TimeInterval = 0
        do {
            try FileManager.default.createDirectory(atPath: layout.logs, withIntermediateDirectories: true)
            let files = FileManager.default
            try? files.removeItem(atPath: temporary)
            try files.createDirectory(atPath: temporary, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for file in ClusterSnapshot.stateFiles where files.fileExists(atPath: "\(layout.directory)/\(file)") {
                try files.copyItem(atPath: "\(layout.directory)/\(file)", toPath: "\(temporary)/\(file)")
            }
            // The snapshot is of the running cluster: restore boots it, or resumes it from memory.
            saved.stoppedAt = nil
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            _ = try FileWriter.write(String(decoding: try encoder.encode(saved), as: UTF8.self) + "\n", to: "\(temporary)/state.json")
            for node in cluster.nodes where files.fileExists(atPath: "\(layout.directory)/.vagrant/machines/\(node.name)") {
                try files.createDirectory(atPath: "\(temporary)/vagrant", withIntermediateDirectories: true)
                try files.copyItem(atPath: "\(layout.directory)/.vagrant/machines/\(node.name)", toPath: "\(temporary)/vagrant/\(node.name)")
            }
            if let frozen { try await suspendDomains(cluster.nodes, frozen: frozen) }
            let pausedAt = Date()
            machines = try await saveMachineImages(cluster.nodes, into: temporary, snapshot: name, frozen: frozen)
            if let frozen {
                try await resumeDomains(cluster.nodes, frozen: frozen)
                paused = Date().timeIntervalSince(pausedAt)
            }
            let meta = ClusterSnapshot.Meta(name: name, clusterID: saved.id, provider: saved.provider, createdAt: Date(),
                                            k0sVersion: saved.k0sVersion ?? RecordedK0sVersion.read(layout), nodes: cluster.nodes.map(\.name),
                                            clusterLuaHash: ClusterSnapshot.fingerprint(loaded.file), machines: machines)
            _ = try FileWriter.write(try ClusterSnapshot.encode(meta), to: "\(temporary)/meta.json")
            try Task.checkCancellation()
            guard rename(temporary, snapshot.directory) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            // Nothing half-written keeps the name; the cluster itself was only halted or paused
            // (then resumed here, from the memory images still in the temporary directory).
            if let frozen { await thaw(frozen) }
            try? FileManager.default.removeItem(atPath: temporary)
            await deleteTartClones(machines)
            if cluster.provider == .tart, machines.isEmpty {
                await deleteTartClones(cluster.nodes.map { ClusterSnapshot.Machine(node: $0.name, tartClone: ClusterSnapshot.tartCloneName(clusterID: id, snapshot: name, node: $0.name)) })
            }
            if wasRunning, frozen == nil, !(error is CancellationError), !Task.isCancelled {
                progress.info("the snapshot failed: starting the cluster again")
                _ = try? await start()
            }
            throw error
        }
        let seconds = Date().timeIntervalSince(started)
        let size = ByteCount.text(ClusterSnapshot.diskUse(snapshot.directory))
        var note = "saved snapshot \"\(name)\" of \(cluster.nodes.count) machine(s) in \(String(format: "%.1f", seconds))s (\(size))"
        if frozen != nil {
            // The guests' clocks stood still while they were paused.
            try await setGuestClocks(cluster.nodes)
            note += "; the cluster runs on (paused \(String(format: "%.1f", paused))s, memory saved, never halted)"
        } else if wasRunning {
            _ = try await start()
            note += "; the cluster runs again"
        } else {
            note += "; the cluster stays stopped"
        }
        return note
    }

    /// Brings back the cluster as snapshot `name` saved it: machines added since are destroyed,
    /// removed ones re-created, every saved machine gets its saved disk back, then the machines boot
    /// (controllers first), addresses are read again, connectivity and health run. Running it
    /// again after an interruption finishes the job.
    public func restoreSnapshot(_ name: String) async throws -> (notes: [String], health: HealthReport?) {
        if let problem = ClusterSnapshot.nameProblem(name) { throw problem }
        try requireSnapshotProvider()
        let snapshot = ClusterSnapshot(layout: layout, name: name)
        let meta = try snapshot.meta()
        guard meta.clusterID == id else {
            throw ClusterSnapshot.Failure("snapshot \"\(name)\" was taken of cluster \(meta.clusterID), this is \(id)",
                                          hint: "restore it from the state directory of \(meta.clusterID); nothing was changed")
        }
        let started = Date()
        guard let data = FileManager.default.contents(atPath: "\(snapshot.directory)/state.json"),
              var saved = try? ClusterSnapshot.decoder.decode(ClusterRecord.self, from: data) else {
            throw ClusterSnapshot.Failure("snapshot \"\(name)\" has no readable state.json", hint: "delete it: `k0slua snapshot delete \(name)`")
        }
        let files = FileManager.default
        try files.createDirectory(atPath: layout.logs, withIntermediateDirectories: true)
        // Saved with their memory (libvirt, running): resumed rather than booted. Not after
        // `destroy`: the networks the images name went with it, and only `vagrant up` makes them.
        let withMemory = record != nil && meta.provider == .libvirt && !meta.machines.isEmpty && meta.machines.allSatisfy { $0.memoryImage != nil }
        // 1. The machines of today: powered off (their disks are replaced, so nothing of theirs
        // needs a clean shutdown), and those the snapshot does not have destroyed.
        if let current = record {
            let today = current.cluster(declared: loaded.cluster)
            cluster = today
            try renderRecordedMachines(today)
            let extra = today.nodes.filter { !meta.nodes.contains($0.name) }
            if withMemory {
                // Machines added since go first, while the saved ones still run: vagrant-libvirt
                // removes a network it made once no running domain uses it
                // (action/destroy_networks.rb), and `virsh restore` needs the networks the
                // images name. Then `virsh destroy` (power off) is all a replaced disk needs.
                try await destroyExtraMachines(extra)
                progress.info("powering off \(today.nodes.filter { meta.nodes.contains($0.name) }.map(\.name).joined(separator: ", "))")
                let active = try await activeDomains()
                let running = today.nodes.filter { meta.nodes.contains($0.name) }.map { domainName($0.name) }.filter(active.contains)
                // All at once: each `virsh destroy` waits for its QEMU to end.
                try await stepEach(.machines, running.map { virsh(["destroy", "--", $0]) }, log: "snapshot")
            } else {
                // All at once: vagrant-libvirt's `halt --force` still waits for an ACPI shutdown
                // (action/shutdown_domain.rb).
                progress.info("powering off \(today.nodes.map(\.name).joined(separator: ", "))")
                let failed = try await haltEach(today.nodes, force: true, log: "vagrant-halt")
                guard failed.isEmpty else {
                    throw haltFailure(failed, halted: today.nodes.map(\.name).filter { name in !failed.contains { $0.node == name } }, notStarted: [],
                                      log: "\(layout.logs)/vagrant-halt.log",
                                      hint: "nothing of the snapshot is restored yet; `k0slua snapshot restore \(name)` again starts over")
                }
                try await destroyExtraMachines(extra)
            }
        }
        // 2. The snapshot's files, its record marked stopped until the machines run again.
        saved.stoppedAt = Date()
        for file in ClusterSnapshot.stateFiles where file != "state.json" {
            let source = "\(snapshot.directory)/\(file)", target = "\(layout.directory)/\(file)"
            try? files.removeItem(atPath: target)
            if files.fileExists(atPath: source) { try files.copyItem(atPath: source, toPath: target) }
        }
        try saved.save(layout)
        record = saved
        cluster = saved.cluster(declared: loaded.cluster)
        // 3. Each machine's image, and Vagrant's data of it; with memory, each domain back paused.
        let frozen = FrozenDomains()
        let result: (notes: [String], health: HealthReport?)
        do {
            for machine in meta.machines {
                try Task.checkCancellation()
                switch meta.provider {
                case .libvirt: try await restoreLibvirtMachine(machine, from: snapshot.directory)
                case .tart: try await restoreTartMachine(machine)
                case .hosts: break
                }
                let target = "\(layout.directory)/.vagrant/machines/\(machine.node)"
                try? files.removeItem(atPath: target)
                if files.fileExists(atPath: "\(snapshot.directory)/vagrant/\(machine.node)") {
                    try files.createDirectory(atPath: "\(layout.directory)/.vagrant/machines", withIntermediateDirectories: true)
                    try files.copyItem(atPath: "\(snapshot.directory)/vagrant/\(machine.node)", toPath: target)
                }
                if withMemory, let domain = machine.domain, let image = machine.memoryImage {
                    try await restorePaused(domain: domain, image: "\(snapshot.directory)/\(image)", frozen: frozen)
                }
            }
            if withMemory {
                // 4. Resumed (controllers first), each guest's clock set, then as `start` does
                // once its machines run: addresses, connectivity, health.
                try renderRecordedMachines(cluster)
                try await resumeDomains(cluster.nodes, frozen: frozen)
            }
        } catch {
            // The record says stopped: whatever this restore brought back, paused or resumed
            // already, is powered off.
            frozen.paused = meta.machines.compactMap(\.domain).filter { domain in
                frozen.paused.contains(domain) || frozen.resumed.contains(domain)
            }
            await powerOffPaused(frozen)
            throw error
        }
        if withMemory {
            result = try await machinesRun(setClocks: true)
        } else {
            // 4. Boot as `start` does.
            result = try await start()
        }
        let notes = ["restored snapshot \"\(name)\" (\(meta.nodes.count) machine(s)) in \(String(format: "%.1f", Date().timeIntervalSince(started)))s"]
        return (result.notes + notes, result.health)
    }

    /// `vagrant destroy -f` of the machines a snapshot does not have, and Vagrant's data of them.
    func destroyExtraMachines(_ extra: [Node]) async throws {
        guard !extra.isEmpty else { return }
        progress.info("destroying \(extra.map(\.name).joined(separator: ", ")) (added since the snapshot)")
        try await step(.machines, tools.vagrant(["destroy", "-f"] + extra.map(\.name)), log: "snapshot")
        for node in extra { try? FileManager.default.removeItem(atPath: "\(layout.directory)/.vagrant/machines/\(node.name)") }
    }

    /// Deletes snapshot `name` (its directory and, on Tart, its clones).
    public func deleteSnapshot(_ name: String) async throws -> String {
        if let problem = ClusterSnapshot.nameProblem(name) { throw problem }
        let snapshot = ClusterSnapshot(layout: layout, name: name)
        let meta = try snapshot.meta()
        let bytes = ClusterSnapshot.diskUse(snapshot.directory)
        await deleteTartClones(meta.machines)
        // Renamed away first: a half-deleted snapshot never keeps its name.
        let doomed = ClusterSnapshot.root(layout) + "/.deleting-\(name)-\(getpid())"
        guard rename(snapshot.directory, doomed) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        try FileManager.default.removeItem(atPath: doomed)
        return "deleted snapshot \"\(name)\" (\(ByteCount.text(bytes)))"
    }
}
