import Foundation

/// The phases before any machine changes: preflight (refusals, tools, host checks), download
/// (k0s and its images into the shared cache, each host's architecture) and the cluster key.
extension Bootstrap {
    var fetcher: Fetcher {
        Fetcher(cache: options.cache, runner: runner) { [progress] in progress.download($0) }
    }

    func preflight() async throws -> String? {
        guard diff.refusals.isEmpty else {
            throw BootstrapFailure(phase: .preflight, tool: nil, message: "cluster.lua asks for changes that cannot be applied in place; nothing was changed",
                                   outputTail: diff.refusals.map(\.description), logFile: nil,
                                   hint: "put cluster.lua back as it was, or rebuild the cluster: \(ClusterDiff.rebuild)")
        }
        if !diff.guarded.isEmpty, !options.forceControllerRemoval {
            throw BootstrapFailure(phase: .preflight, tool: nil, message: "cluster.lua removes controllers in a way that can break the cluster; nothing was changed",
                                   outputTail: diff.guarded.map(\.description), logFile: nil,
                                   hint: "keep the leader and more than half of today's controllers in cluster.lua (remove controllers from the end of the list, a minority per `up`); knowing the risk: `k0slua up \(ClusterDiff.forceControllerRemovalFlag)`")
        }
        // k0sctl and kubectl from the cache when PATH has none or too old a one.
        var resolved: [ResolvedTool] = []
        for tool in [ProvisionedTool.k0sctl, .kubectl] {
            do {
                let found = try await ToolProvisioner(fetcher: fetcher).resolve(tool, fetch: !options.offline, verify: true)
                ToolProvisioner.activate(found)
                resolved.append(found)
            } catch {
                throw BootstrapFailure(phase: .preflight, tool: tool.name, message: "\(error)", outputTail: [], logFile: nil)
            }
        }
        let checks = await Preflight(cluster: cluster, layout: layout, runner: runner, cache: options.cache, offline: options.offline,
                                 resolved: resolved).run()
        let failed = checks.filter { !$0.ok && !$0.warningOnly }
        guard failed.isEmpty else {
            throw BootstrapFailure(phase: .preflight, tool: nil, message: "missing: " + failed.map(\.name).joined(separator: ", "),
                                   outputTail: failed.map { "\($0.name): \($0.detail)" + ($0.fix.map { " — \($0)" } ?? "") }, logFile: nil)
        }
        return "\(checks.filter { $0.ok && !$0.warningOnly }.count) checks passed"
    }

    /// k0s and its image bundle for each node's architecture into the shared cache (or checked
    /// there against the digest recorded when it was verified), so that the nodes download nothing.
    func download() async throws -> String? {
        let k0s = K0sCache(fetcher: fetcher)
        do {
            let version = try await k0s.version(for: cluster, layout: layout, offline: options.offline)
            let nodes = try await nodeArchitectures()
            let architectures = nodes.reduce(into: [String]()) { if !$0.contains($1.arch) { $0.append($1.arch) } }
            let hint = "k0slua cache fetch" + (cluster.provider == .hosts ? architectures.map { " --arch \($0)" }.joined() : "")
            try k0s.recordUse(version, by: layout, id: id)
            resolvedK0sVersion = version
            let (artifacts, outcomes) = try await k0s.ensure(version: version, nodes: nodes, offline: options.offline, fetchHint: hint)
            self.artifacts = artifacts
            let downloaded = outcomes.compactMap { outcome -> (Int64, Double)? in
                if case .downloaded(let bytes, let seconds) = outcome { return (bytes, seconds) }
                return nil
            }
            let what = "k0s \(version) " + architectures.map { "linux-\($0)" }.joined(separator: ", ")
            guard !downloaded.isEmpty else { return what + ": cached" }
            let bytes = downloaded.reduce(0) { $0 + $1.0 }
            return what + ": downloaded \(downloaded.count) file(s), \(ByteCount.text(bytes))"
        } catch let error as FetchError {
            throw BootstrapFailure(phase: .download, tool: nil, message: "\(error)", outputTail: [], logFile: nil)
        }
    }

    /// Each node k0sctl.yaml names, with its k0s architecture in k0sctl.yaml's order: the guests'
    /// for VMs (Tart: arm64; libvirt: this machine's), each host's own for `hosts`, asked with
    /// `uname -m` over SSH and recorded for `render`.
    func nodeArchitectures() async throws -> [(name: String, arch: String)] {
        let nodes = renderedCluster.controllers + renderedCluster.workers
        guard cluster.provider == .hosts else {
            return nodes.map { (name: $0.name, arch: K0sRelease.guestArch(cluster, host: options.hostFacts)) }
        }
        let log = logFile("architectures")
        var machines: [String: String] = [:]
        var failures: [String] = []
        let answers = try await FanOut.map(nodes, limit: options.concurrency) { [ssh, runner] node -> (Node, String?, String?) in
            let (result, failure) = try await runner.runRetrying(ssh.command(node, run: NodeArchitectures.probe))
            guard let result else { return (node, nil, failure) }
            return (node, result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines), nil)
        }
        for (node, machine, error) in answers {
            log.write("\(node.name): \(machine ?? error ?? "?")")
            guard let machine else {
                failures.append("\(node.name) (\(node.sshAddress ?? "?")): \(error ?? "?")")
                continue
            }
            machines[node.name] = machine
        }
        guard failures.isEmpty else {
            throw BootstrapFailure(phase: .download, tool: "ssh", message: "could not ask \(failures.count) host(s) for their architecture (`\(NodeArchitectures.probe)`)",
                                   outputTail: failures.sorted(), logFile: log.path,
                                   hint: "k0slua reaches each host at ssh.address with ssh.user and ssh.key_path (default: the cluster key \(layout.publicKey), authorize it on the hosts); `k0slua ssh NODE` shows what fails")
        }
        var unsupported: [String] = []
        var architectures: [(name: String, arch: String)] = []
        for node in nodes {
            let machine = machines[node.name] ?? ""
            guard let arch = K0sRelease.k0sArch(uname: machine) else {
                let shown = String(machine.prefix(40).map { $0.isLetter || $0.isNumber || "_-.".contains($0) ? $0 : "?" })
                unsupported.append("\(node.name) (\(node.sshAddress ?? "?")): `\(NodeArchitectures.probe)` says \"\(shown)\"")
                continue
            }
            architectures.append((name: node.name, arch: arch))
        }
        guard unsupported.isEmpty else {
            throw BootstrapFailure(phase: .download, tool: nil, message: "k0s has no build for the architecture of \(unsupported.count) host(s)",
                                   outputTail: unsupported, logFile: log.path,
                                   hint: "k0s runs on x86_64, aarch64 and armv7l machines: take the others out of cluster.lua")
        }
        try NodeArchitectures.write(Dictionary(architectures.map { ($0.name, $0.arch) }, uniquingKeysWith: { first, _ in first }), to: layout)
        return architectures
    }

    func sshKey() async throws -> String? {
        do {
            publicKey = try await ClusterKey.ensure(layout, clusterName: cluster.name, runner: runner)
        } catch {
            throw BootstrapFailure(phase: .sshKey, tool: "ssh-keygen", message: "\(error)", outputTail: [], logFile: nil)
        }
        return layout.privateKey
    }

    /// The cluster's public key line, read from the state directory when the ssh-key phase did
    /// not run in this process.
    func loadPublicKey() {
        if publicKey.isEmpty, let data = FileManager.default.contents(atPath: layout.publicKey) {
            publicKey = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
