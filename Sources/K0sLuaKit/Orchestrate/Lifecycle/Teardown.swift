import Foundation

public struct TeardownFailure: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// `k0slua destroy`: this cluster's machines — every machine the record names, whatever
/// cluster.lua says today, and any machine of this cluster's identity left by an interrupted `up`
/// (vagrant destroy -f in its own state directory, so no other Vagrant machine is touched), then
/// the generated state and the kubeconfig context this cluster merged.
public struct Teardown: Sendable {
    public let cluster: Cluster
    public let layout: StateLayout
    public let runner: any ProcessRunning
    /// Also delete the cluster's snapshots (`destroy --snapshots`); else they are kept and counted.
    public var deleteSnapshots = false

    /// - Parameter cluster: the machines to destroy (`AppliedCluster.everyMachine`).
    public init(cluster: Cluster, layout: StateLayout, runner: any ProcessRunning) {
        self.cluster = cluster
        self.layout = layout
        self.runner = runner
    }

    /// - Parameter lock: the state directory's lock this destroy holds: released after every other
    ///   file is gone, so that no `up` starts on half-removed state.
    public func run(lock: ClusterLock? = nil, report: (String) -> Void) async throws {
        let files = FileManager.default
        guard files.fileExists(atPath: layout.directory) else {
            report("nothing to destroy: \(layout.directory) does not exist")
            return
        }
        let tools = Tools(layout: layout)
        if cluster.provider != .hosts, files.fileExists(atPath: layout.vagrantfile) {
            // Vagrant acts only on machines its Vagrantfile names: name every one that may exist.
            let publicKey = files.contents(atPath: layout.publicKey).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if let vagrantfile = VagrantfileRenderer.render(cluster, publicKey: publicKey.trimmingCharacters(in: .whitespacesAndNewlines), layout: layout) {
                try FileWriter.write(vagrantfile, to: layout.vagrantfile)
            }
            let command = tools.vagrant(["destroy", "-f"])
            let log = LogFile(path: "\(layout.logs)/vagrant-destroy.log")
            log.write("$ \(command)")
            let result = try await runner.run(command) { line in
                switch line {
                case .standardOutput(let text), .standardError(let text): log.write(text)
                }
            }
            log.write("exit \(result.exitCode)")
            guard result.succeeded else {
                throw TeardownFailure(message: "`vagrant destroy -f` exited with \(result.exitCode); the state in \(layout.directory) is kept\n"
                    + OutputExcerpt.lines(result.standardOutput + "\n" + result.standardError, limit: 10).map { "  | \($0)" }.joined(separator: "\n")
                    + "\n  log: \(log.path)")
            }
            report("destroyed \(cluster.nodes.count) machine(s)")
        } else if cluster.provider == .hosts {
            report("hosts provider: the machines are yours; k0s is left installed (use `k0sctl reset --config \(layout.k0sctlConfig) --force` to remove it)")
        }
        switch cluster.provider {
        case .tart: try await deleteStrayTartVMs(report: report)
        case .libvirt: try await deleteStrayLibvirtDomains(report: report)
        case .hosts: break
        }
        if try await KubeconfigMerge(runner: runner, layout: layout, clusterName: cluster.name).remove() == false {
            report("the context \(KubeconfigMerge.entryName(cluster: cluster.name)) in your kubeconfig belongs to another cluster: left alone")
        }
        for path in [layout.vagrantfile, layout.k0sctlConfig, layout.kubeconfig, layout.privateKey, layout.publicKey, layout.knownHosts,
                     layout.record, layout.directory + "/.vagrant", layout.logs, ClusterRecord.legacyK0sVersionPath(layout),
                     NodeArchitectures.path(layout)] where files.fileExists(atPath: path) {
            try files.removeItem(atPath: path)
        }
        try await settleSnapshots(report: report)
        report("removed \(layout.directory)")
        // The lock file last (release unlinks it): until now a concurrent `up` is refused.
        if let lock { lock.release() } else if files.fileExists(atPath: layout.lockFile) { try files.removeItem(atPath: layout.lockFile) }
        if (try? files.contentsOfDirectory(atPath: layout.directory))?.isEmpty == true {
            try files.removeItem(atPath: layout.directory)
        }
    }

    /// Deletes the snapshots (their Tart clones too) or says how many remain and their size.
    func settleSnapshots(report: (String) -> Void) async throws {
        let snapshots = ClusterSnapshot.list(layout)
        let root = ClusterSnapshot.root(layout)
        guard FileManager.default.fileExists(atPath: root) else { return }
        let bytes = ClusterSnapshot.diskUse(root)
        if deleteSnapshots {
            for clone in snapshots.flatMap(\.meta.machines).compactMap(\.tartClone) {
                _ = try? await runner.run(Tools(layout: layout).tart(["delete", clone]))
            }
            try FileManager.default.removeItem(atPath: root)
            report("deleted \(snapshots.count) snapshot(s) (\(ByteCount.text(bytes)))")
        } else if snapshots.isEmpty {
            try FileManager.default.removeItem(atPath: root)
        } else {
            report("kept \(snapshots.count) snapshot(s) (\(ByteCount.text(bytes))) in \(root): `k0slua snapshot restore NAME` brings the cluster back, "
                   + "`k0slua destroy --snapshots` deletes them")
        }
    }

    /// Tart VMs named `<id>-…` that Vagrant did not know (an `up` interrupted before Vagrant
    /// recorded them): Tart names are global, but the identity is this state directory's alone.
    func deleteStrayTartVMs(report: (String) -> Void) async throws {
        let tools = Tools(layout: layout)
        guard let listed = try? await runner.run(tools.tart(["list", "--format", "json"])), listed.succeeded,
              let entries = try? JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]] else { return }
        let prefix = layout.clusterID(name: cluster.name) + "-"
        for name in entries.compactMap({ $0["Name"] as? String }) where name.hasPrefix(prefix) {
            _ = try? await runner.run(tools.tart(["stop", name]))
            let deleted = try await runner.run(tools.tart(["delete", name]))
            report(deleted.succeeded ? "deleted stray Tart VM \(name)" : "could not delete Tart VM \(name): \(deleted.standardError)")
        }
    }

    /// libvirt domains named `<id>-…` (vagrant-libvirt's `default_prefix`) that Vagrant did not
    /// destroy: stopped, then undefined with their volumes. virsh uses LIBVIRT_DEFAULT_URI, else
    /// qemu:///system as root, like vagrant-libvirt.
    func deleteStrayLibvirtDomains(report: (String) -> Void) async throws {
        guard let listed = try? await runner.run(Command("virsh", ["list", "--all", "--name"])), listed.succeeded else { return }
        let prefix = VagrantfileRenderer.libvirtDomainPrefix(cluster, layout: layout)
        for name in Bootstrap.domainNames(listedBy: listed.standardOutput) where name.hasPrefix(prefix) {
            _ = try? await runner.run(Command("virsh", ["destroy", name]))
            let undefined = try await runner.run(Command("virsh", ["undefine", name, "--remove-all-storage"]))
            report(undefined.succeeded ? "deleted stray libvirt domain \(name)" : "could not delete libvirt domain \(name): \(undefined.standardError)")
        }
    }
}
