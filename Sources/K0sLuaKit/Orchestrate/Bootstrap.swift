import Foundation

/// What `k0slua up` does differently from the defaults.
public struct BootstrapOptions: Sendable {
    /// Phases reported as skipped by name (never as passed).
    public var skip: Set<BootstrapPhase>
    /// Merge the kubeconfig into the user's under the context `k0slua-<name>`.
    public var mergeKubeconfig: Bool
    /// `vagrant up --parallel`; false forces machines up one at a time (benchmarks).
    public var parallel: Bool
    /// Health checks to skip in the last phase.
    public var skipHealthChecks: Set<String>
    /// How long the health phase retries before it fails: a new cluster's system pods take a
    /// minute or two to settle after k0sctl returns.
    public var healthWaitSeconds: Double
    /// Use only the cache: fail before any machine starts when something is missing.
    public var offline: Bool
    /// The shared download cache (k0s, its images, k0sctl, kubectl).
    public var cache: CacheLayout

    /// The machine `up` runs on (macOS-only diagnoses depend on it).
    public var hostFacts: HostFacts
    /// How long draining a leaving worker may take.
    public var drainTimeoutSeconds: Int = 300
    /// Drain with `--force --disable-eviction`: pods that block the drain (no controller, a
    /// PodDisruptionBudget) are deleted instead of stopping `up`.
    public var forceDrain: Bool = false
    /// Remove controllers even when the leader leaves or fewer than etcd's quorum stay, and skip
    /// the quorum check before each `k0s etcd leave` (`up --force-controller-removal`).
    public var forceControllerRemoval: Bool = false
    /// How long a resized node may take to come back (Node Ready, or k0s answering).
    public var resizeWaitSeconds: Double = 300
    /// How many SSH sessions to nodes run at once (`--parallel N`), in every phase that fans out.
    public var concurrency: Int = FanOut.defaultLimit

    public init(skip: Set<BootstrapPhase> = [], mergeKubeconfig: Bool = false, parallel: Bool = true, skipHealthChecks: Set<String> = [],
                healthWaitSeconds: Double = 300, offline: Bool = false, cache: CacheLayout = .default(), hostFacts: HostFacts = .current) {
        self.hostFacts = hostFacts
        self.offline = offline
        self.cache = cache
        self.skip = skip
        self.mergeKubeconfig = mergeKubeconfig
        self.parallel = parallel
        self.skipHealthChecks = skipHealthChecks
        self.healthWaitSeconds = healthWaitSeconds
    }
}

/// Why `up` stopped: the phase, the tool, the last lines it printed and where the full log is.
public struct BootstrapFailure: Error, Sendable, CustomStringConvertible {
    public var phase: BootstrapPhase
    public var tool: String?
    public var message: String
    public var outputTail: [String]
    public var logFile: String?
    /// Set for problems in cluster.lua hooks (exit 65 is not used: the cluster is half built).
    public var hint: String?

    public var description: String {
        "\(phase.rawValue) failed" + (tool.map { " (\($0))" } ?? "") + ": \(message)"
    }
}

/// How long each phase took, and what the cluster looks like.
public struct BootstrapSummary: Sendable {
    /// The cluster with every address known.
    public var cluster: Cluster
    public var timings: [(phase: BootstrapPhase, seconds: Double, skipped: Bool)]
    public var totalSeconds: Double
    public var kubeconfig: String?
    public var health: HealthReport?
}

/// Runs the bootstrap of one cluster. Lua hooks run on a dedicated thread; everything else is async.
public final class Bootstrap: @unchecked Sendable {
    public let loaded: LoadedCluster
    public let layout: StateLayout
    public let runner: any ProcessRunning
    public let options: BootstrapOptions
    public let progress: any ProgressReporting
    let tools: Tools
    let ssh: NodeSSH
    /// cluster.lua's cluster with every address known so far: static ones, then boot-assigned
    /// ones from the record, then those the addresses phase discovers.
    var cluster: Cluster
    /// The record of what this cluster applied (state.json), rewritten as phases change the world.
    var record: ClusterRecord?
    /// The record as it was when `up` started (nil for a new cluster).
    let applied: ClusterRecord?
    /// cluster.lua against the record when `up` started.
    public let diff: ClusterDiff
    /// Recorded nodes cluster.lua no longer has: drained, reset and destroyed by `up`, kept in the
    /// record (and the Vagrantfile) until their machine is gone.
    var leaving: [Node]
    /// Nodes that have not joined yet: only they get machines started and node hooks run.
    let joining: Set<String>
    /// Nodes whose new CPUs or memory are not applied yet: the record keeps their old size.
    var pendingResize: Set<String>
    /// k0sctl applied cluster.lua's k0s version in this run: the record takes it.
    var k0sApplied = false
    /// The cluster's identity.
    public var id: String { layout.clusterID(name: loaded.cluster.name) }
    /// Logs this run has written: a phase that runs several commands (one `vagrant halt` per
    /// group, cordon then drain) keeps all of them in its log.
    private var logsStarted: Set<String> = []
    private let logsLock = NSLock()

    public init(loaded: LoadedCluster, layout: StateLayout, runner: any ProcessRunning, options: BootstrapOptions = BootstrapOptions(),
                progress: any ProgressReporting) {
        let record = (try? ClusterRecord.load(layout)) ?? nil
        // Nodes that join later clone the image the record names when cluster.lua sets none.
        let loaded = LoadedCluster(cluster: loaded.cluster.pinningImage(to: record), warnings: loaded.warnings, runtime: loaded.runtime, file: loaded.file)
        self.loaded = loaded
        self.layout = layout
        self.runner = runner
        self.options = options
        self.progress = progress
        self.tools = Tools(layout: layout)
        self.ssh = NodeSSH(layout: layout)
        self.record = record
        self.applied = record
        self.cluster = loaded.cluster.resolving(record?.discoveredAddresses ?? [:])
        self.diff = ClusterDiff(declared: loaded.cluster, record: record, runningK0sVersion: RecordedK0sVersion.read(layout))
        let applied = record?.cluster(declared: loaded.cluster)
        self.leaving = applied?.nodes.filter { loaded.cluster.node(named: $0.name) == nil } ?? []
        self.joining = Set(loaded.cluster.nodes.filter { record?.node(named: $0.name)?.joined != true }.map(\.name))
        self.pendingResize = Set(diff.resizing)
    }

    /// The nodes the Vagrantfile names: cluster.lua's, then those leaving (Vagrant forgets
    /// machines its Vagrantfile no longer names, so they stay until destroyed).
    var renderedCluster: Cluster {
        var copy = cluster
        copy.nodes += leaving
        return copy
    }

    /// Leaving nodes k0sctl resets (`reset: true`): those that joined, at a known address. k0sctl
    /// connects to every host its file names, so a node that never joined (its machine may not
    /// exist) is left out and only has its machine destroyed.
    var resetting: [Node] {
        leaving.filter { record?.node(named: $0.name)?.joined == true && $0.ip != nil }
    }

    /// The nodes k0sctl.yaml names: cluster.lua's, then the leaving ones k0sctl resets.
    var k0sctlCluster: Cluster {
        var copy = cluster
        copy.nodes += resetting
        return copy
    }

    /// k0sctl.yaml as this run rendered and wrote it (nil until every address is known): `k0sctl
    /// apply` runs only on this content, never on a file an earlier run left.
    var k0sctlConfig: String?

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

    /// The phases this cluster goes through. `hosts`: no machines, so no addresses to learn, and
    /// the cluster key before download, which asks each host its architecture over SSH.
    public var phases: [BootstrapPhase] {
        guard cluster.provider == .hosts else { return BootstrapPhase.allCases }
        return [.preflight, .sshKey, .download] + BootstrapPhase.allCases.filter { ![.preflight, .sshKey, .download, .machines, .addresses].contains($0) }
    }

    public func run() async throws -> BootstrapSummary {
        let started = Date()
        try LogFile.makeDirectory(layout.logs)
        var timings: [(phase: BootstrapPhase, seconds: Double, skipped: Bool)] = []
        var healthReport: HealthReport?
        let phases = self.phases
        for (index, phase) in phases.enumerated() {
            try Task.checkCancellation()
            if options.skip.contains(phase) {
                progress.phaseSkipped(phase, reason: "--skip")
                timings.append((phase, 0, true))
                continue
            }
            progress.phaseStarted(phase, index: index + 1, of: phases.count)
            let phaseStart = Date()
            let note: String?
            do {
                note = try await runPhase(phase, health: &healthReport)
            } catch {
                progress.phaseFailed(phase, seconds: Date().timeIntervalSince(phaseStart))
                throw error
            }
            let seconds = Date().timeIntervalSince(phaseStart)
            try saveRecord(finished: phase)
            progress.phaseFinished(phase, seconds: seconds, note: note)
            timings.append((phase, seconds, false))
        }
        let kubeconfig = FileManager.default.fileExists(atPath: layout.kubeconfig) ? layout.kubeconfig : nil
        return BootstrapSummary(cluster: cluster, timings: timings, totalSeconds: Date().timeIntervalSince(started), kubeconfig: kubeconfig, health: healthReport)
    }

    /// Runs one phase; returns a short note for the progress line.
    func runPhase(_ phase: BootstrapPhase, health healthReport: inout HealthReport?) async throws -> String? {
        let note: String?
        switch phase {
        case .preflight: note = try await preflight()
        case .download: note = try await download()
        case .sshKey: note = try await sshKey()
        case .render: note = try render()
        case .machines: note = try await machines()
        case .addresses: note = try await addresses()
        case .connectivity: note = try await connectivity()
        case .preJoin: note = try await hooks(.preJoin)
        case .k0sctl: note = try await k0sctlApply()
        case .leave: note = try await leave()
        case .kubeconfig: note = try await kubeconfig()
        case .postJoin: note = try await hooks(.postJoin)
        case .health:
            var checker = HealthChecker(cluster: cluster, layout: layout, runner: runner)
            checker.concurrency = options.concurrency
            let report = await checker
                .run(HealthOptions(skip: options.skipHealthChecks, waitSeconds: options.healthWaitSeconds))
            healthReport = report
            let failed = report.checks.filter { $0.status == .failed }
            guard failed.isEmpty else {
                throw BootstrapFailure(phase: .health, tool: nil, message: "failed checks: " + failed.map(\.name).joined(separator: ", "),
                                       outputTail: failed.flatMap { [$0.name + ": " + ($0.evidence.last ?? "")] + ($0.hint.map { ["  " + $0] } ?? []) },
                                       logFile: nil)
            }
            note = "\(report.checks.filter { $0.status == .ok }.count) ok, \(report.checks.filter { $0.status == .skipped }.count) skipped"
        }
        return note
    }

    // MARK: - Running tools

    /// `<state>/logs/<name>.log`: the previous run's replaced the first time this run writes it.
    func logFile(_ name: String) -> LogFile {
        let continuing = logsLock.withLock { !logsStarted.insert(name).inserted }
        return LogFile(path: "\(layout.logs)/\(name).log", appending: continuing)
    }

    /// Runs a tool, streaming its output into `<state>/logs/<name>.log`; fails the phase on a
    /// non-zero exit with the last lines. `secretOutput`: standard output holds credentials (a
    /// kubeconfig with its client key) and is neither logged nor shown.
    @discardableResult
    func step(_ phase: BootstrapPhase, _ command: Command, log name: String, tool: String? = nil,
              secretOutput: Bool = false) async throws -> CommandResult {
        let log = logFile(name)
        log.write("$ \(command)")
        if secretOutput { log.write("(standard output not logged: it holds credentials)") }
        let result: CommandResult
        do {
            result = try await runner.run(command) { line in
                switch line {
                case .standardOutput(let text): if !secretOutput { log.write(text) }
                case .standardError(let text): log.write(text)
                }
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw BootstrapFailure(phase: phase, tool: tool ?? command.executable, message: "could not run `\(command.executable)`: \(error)",
                                   outputTail: [], logFile: log.path, hint: "run `k0slua doctor` to see what is missing")
        }
        log.write("exit \(result.exitCode)")
        if Task.isCancelled { throw CancellationError() }
        guard result.succeeded else {
            // A failed command printed no credentials worth keeping, but a line that looks like
            // key material is still left out.
            let output = secretOutput ? Self.withoutKeyMaterial(result.standardOutput) : result.standardOutput
            if secretOutput, !output.isEmpty { log.write(output) }
            let lines = (output + result.standardError).split(separator: "\n").map(String.init)
            throw BootstrapFailure(phase: phase, tool: tool ?? command.executable,
                                   message: "`\(command)` exited with \(result.exitCode)",
                                   outputTail: Array(lines.suffix(15)), logFile: log.path)
        }
        return result
    }

    /// `text` without the lines of a kubeconfig that carry keys, certificates or tokens.
    static func withoutKeyMaterial(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { line in !["-data:", "token:", "password:", "-----BEGIN"].contains { line.contains($0) } }
            .joined(separator: "\n")
    }

    // MARK: - Phases

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

    /// The cached k0s binary and image bundle k0sctl uploads (nil when `download` was skipped).
    var artifacts: K0sArtifacts?

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
            var lastError = "no attempt ran"
            for attempt in 0..<3 {
                if attempt > 0 { try await Task.sleep(for: .seconds(2 * attempt)) }
                do {
                    let result = try await runner.run(ssh.command(node, run: NodeArchitectures.probe))
                    if result.succeeded { return (node, result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines), nil) }
                    lastError = "ssh exited with \(result.exitCode): \(result.standardError.trimmingCharacters(in: .whitespacesAndNewlines))"
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    lastError = "\(error)"
                }
            }
            return (node, nil, lastError)
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

    var publicKey: String = ""

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

    func machines() async throws -> String? {
        var notes: [String] = []
        let booted = try await bootHaltedMachines()
        if !booted.isEmpty { notes.append("booted \(booted.joined(separator: ", ")) (not running)") }
        if let started = try await startMachines() { notes.append(started) }
        // Machines booted from halted here (a host reboot, or after `stop`) already have their new size.
        let bootedWithNewSize = Set(booted).union(applied?.isStopped == true ? cluster.nodes.map(\.name) : [])
        let resized = try await resize(skipping: bootedWithNewSize)
        if !resized.isEmpty { notes.append("resized \(resized.joined(separator: ", "))") }
        return notes.joined(separator: "; ")
    }

    /// `vagrant up` of the machines that do not exist yet (every machine for a new or stopped cluster).
    func startMachines() async throws -> String? {
        var arguments = ["up", "--provider", cluster.provider.rawValue, options.parallel ? "--parallel" : "--no-parallel"]
        // A recorded cluster: only the machines of joining nodes start (all of them after `stop`).
        let starting = applied == nil || applied?.isStopped == true ? cluster.nodes : cluster.nodes.filter { joining.contains($0.name) }
        guard !starting.isEmpty else { return "\(cluster.nodes.count) machines already running" }
        let pulled = try await pullImageIfNeeded(for: starting)
        if !options.parallel || starting.count < cluster.nodes.count { arguments += starting.map(\.name) }
        do {
            try await step(.machines, tools.vagrant(arguments), log: "vagrant-up")
        } catch var failure as BootstrapFailure {
            if let diagnosis = await bootTimeoutDiagnosis(failure, starting: starting) {
                failure.hint = "\(diagnosis.name): \(diagnosis.detail). Fix: \(diagnosis.fix)"
            }
            throw failure
        }
        let note = starting.count < cluster.nodes.count ? "started \(starting.map(\.name).joined(separator: ", "))" : "\(cluster.nodes.count) machines running"
        return pulled.map { "pulled \($0); " + note } ?? note
    }

    /// `vagrant up` gave up waiting for SSH (Vagrant's boot timeout) while `tart ip` has addresses
    /// for the machines: on macOS 15+ the Local Network permission, which no answering node can
    /// point at here. Nil when the facts do not fit.
    func bootTimeoutDiagnosis(_ failure: BootstrapFailure, starting: [Node]) async -> ConnectivityDiagnosis? {
        guard cluster.provider == .tart, options.hostFacts.os == "macos",
              failure.outputTail.joined(separator: " ").contains("Timed out while waiting for the machine to boot") else { return nil }
        var addressed: [(name: String, address: String)] = []
        for node in starting {
            let name = VagrantfileRenderer.tartName(cluster: cluster, node: node, layout: layout)
            guard let result = try? await runner.run(tools.tart(["ip", name])), result.succeeded,
                  let address = Preflight.firstLine(result.standardOutput), IPv4Address(address) != nil else { continue }
            addressed.append((node.name, address))
        }
        return MacNetworkChecks.localNetworkNoNodeDiagnosis(addressed, context: "`vagrant up` waited for SSH until its boot timeout",
                                                            hostOS: "macos", macOSVersion: await MacNetworkChecks.macOSVersion(runner: runner))
    }

    /// One `tart pull` before the parallel clones (so the machines do not race for the image), only
    /// when one of `starting` has no Tart VM yet and Tart's store lacks the image: Tart's pull always
    /// asks the registry, so a needless one breaks `--offline` and may fetch a rebuilt image.
    /// Returns the image pulled, if any.
    func pullImageIfNeeded(for starting: [Node]) async throws -> String? {
        guard cluster.provider == .tart, let image = cluster.image else { return nil }
        if let store = await TartStore.read(runner: runner) {
            let cloned = store.needingClone(starting, of: cluster, layout: layout)
            guard !cloned.isEmpty, !store.has(image: image) else { return nil }
        }
        guard !options.offline else {
            throw BootstrapFailure(phase: .machines, tool: "tart", message: "\(image) is not in Tart's local store and --offline forbids pulling it",
                                   outputTail: [], logFile: nil, hint: TartStore.offlineFix(image))
        }
        try await step(.machines, tools.tart(["pull", image]), log: "tart-pull")
        return image
    }

    /// From every node, every other node's address answers (ping, else TCP 22); above
    /// `ReachabilityProbe.fullMeshLimit` nodes, each node's sample of peers does. Every expected pair
    /// must be answered for: a probe that prints nothing about a peer fails that pair.
    func connectivity() async throws -> String? {
        let nodes = cluster.nodes
        _ = try requireAddresses(.connectivity)
        let targets = ReachabilityProbe.targets(of: nodes)
        let log = logFile("connectivity")
        var failures: [String] = []
        var unreachedByHost: [Node] = []
        var reachedBy: [String: [String]] = [:]  // address → the nodes that reach it
        var pairs = 0
        let outcomes = try await FanOut.map(nodes, limit: options.concurrency) { [ssh, runner] node -> (Node, CommandResult?, String?) in
            var command = ssh.command(node, run: ReachabilityProbe.script)
            command.standardInput = ReachabilityProbe.input(for: (targets[node.name] ?? []).compactMap(\.ip))
            var lastError: String?
            for attempt in 0..<3 {
                if attempt > 0 { try await Task.sleep(for: .seconds(2 * attempt)) }
                do {
                    let result = try await runner.run(command)
                    if result.exitCode == 0 { return (node, result, nil) }
                    lastError = "ssh exited with \(result.exitCode): \(result.standardError.trimmingCharacters(in: .whitespacesAndNewlines))"
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    lastError = "\(error)"
                }
            }
            return (node, nil, lastError)
        }
        for (node, result, error) in outcomes {
            guard let result else {
                failures.append("\(node.name): k0slua cannot reach it over SSH at \(node.sshAddress ?? "?"): \(error ?? "?")")
                unreachedByHost.append(node)
                log.write("\(node.name): \(error ?? "?")")
                continue
            }
            log.write("\(node.name):\n\(result.standardOutput)")
            let (reached, problems) = ReachabilityProbe.evaluate(node, peers: targets[node.name] ?? [], output: result.standardOutput)
            for peer in reached { reachedBy[peer.ip!.description, default: []].append(node.name) }
            pairs += reached.count
            failures += problems
        }
        guard failures.isEmpty else {
            var hint = "check every node's address (`k0slua ssh NODE -- ip -4 addr`) and the network between the VMs"
            if cluster.provider == .tart, cluster.network.tartMode == .shared {
                hint = "Tart's shared (NAT) network isolates VMs from each other on macOS 13 and later. "
                    + "Leave network.mode out (softnet, the default) in cluster.lua, "
                    + "then task vagrant:destroy && task vagrant:up"
            } else if let diagnosis = await localNetworkDiagnosis(unreachedByHost, reachedBy: reachedBy) {
                hint = "\(diagnosis.name): \(diagnosis.detail). Fix: \(diagnosis.fix)"
            } else if unreachedByHost.isEmpty {
                // k0slua reaches every node, but they do not reach each other.
                hint = "k0slua reaches every node but they cannot reach each other: the network isolates the VMs "
                    + "(as Tart's shared network does on macOS 13 and later). On Tart leave network.mode out (softnet, the default), "
                    + "then task vagrant:destroy && task vagrant:up"
            }
            throw BootstrapFailure(phase: .connectivity, tool: "ssh", message: "\(failures.count) node pair(s) cannot talk",
                                   outputTail: failures.sorted(), logFile: log.path, hint: hint)
        }
        return "\(pairs) pairs answer" + (ReachabilityProbe.isSampled(nodes) ? " (\(ReachabilityProbe.sampleDescription))" : "")
    }

    /// On a Mac, a node that answers its neighbours but not this host points at the Local Network
    /// privacy permission (macOS 15+), which has a documented fix.
    func localNetworkDiagnosis(_ unreached: [Node], reachedBy: [String: [String]]) async -> ConnectivityDiagnosis? {
        guard options.hostFacts.os == "macos", !unreached.isEmpty else { return nil }
        let version = await MacNetworkChecks.macOSVersion(runner: runner)
        if Set(unreached.map(\.name)) == Set(cluster.nodes.map(\.name)) {
            // No node answered at all, so none can vouch for the others: the permission still fits.
            return MacNetworkChecks.localNetworkNoNodeDiagnosis(unreached.compactMap { node in node.ip.map { (node.name, $0.description) } },
                                                                context: "k0slua's SSH reached no node", hostOS: "macos", macOSVersion: version)
        }
        for node in unreached {
            guard let address = node.ip?.description else { continue }
            if let diagnosis = MacNetworkChecks.localNetworkDiagnosis(node: node.name, address: address, hostReachesNode: false,
                                                                      neighboursReachingNode: (reachedBy[address] ?? []).sorted(),
                                                                      hostOS: "macos", macOSVersion: version) {
                return diagnosis
            }
        }
        return nil
    }

    /// Each of `nodes`' DHCP lease from `vagrant ssh-config` (vagrant-tart asks `tart ip`,
    /// vagrant-libvirt the management network's DHCP); every one must lie in the cluster network
    /// and be unique, else the phase fails naming each problem.
    func discoverLeases(of nodes: [Node]) async throws -> [String: IPv4Address] {
        guard !nodes.isEmpty else { return [:] }
        let result = try await step(.addresses, tools.vagrant(["ssh-config"] + nodes.map(\.name)), log: "vagrant-ssh-config")
        let hosts = VagrantSSHConfig.hostNames(in: result.standardOutput)
        var discovered: [String: IPv4Address] = [:]
        var problems: [String] = []
        var byAddress: [IPv4Address: String] = [:]
        for node in nodes {
            guard let text = hosts[node.name], let address = IPv4Address(text) else {
                problems.append("\(node.name): Vagrant reports no IPv4 address (HostName \(hosts[node.name] ?? "missing"))")
                continue
            }
            if !cluster.network.cidr.contains(address) {
                problems.append("\(node.name): DHCP gave it \(address), outside the cluster network \(cluster.network.cidr)")
            } else if let other = byAddress[address] {
                problems.append("\(node.name): DHCP gave it \(address), which \(other) holds too")
            }
            byAddress[address] = node.name
            discovered[node.name] = address
        }
        guard problems.isEmpty else {
            var hint = "the VMs' network is not the cluster's: set network.cidr to the subnet the VMs get (on a Mac: Tart's shared network, see `k0slua doctor`)"
            if let subnet = await leaseSubnet(discovered.values.sorted().first { !cluster.network.cidr.contains($0) }) {
                hint = "the VMs' network is not the cluster's (on macOS 26 vmnet may ignore com.apple.vmnet.plist): set "
                    + "network = { cidr = \"\(subnet.cidr)\", gateway = \"\(subnet.gateway)\" } in cluster.lua, then `k0slua destroy && k0slua up`"
            }
            throw BootstrapFailure(phase: .addresses, tool: "vagrant", message: "node addresses are not usable", outputTail: problems,
                                   logFile: "\(layout.logs)/vagrant-ssh-config.log", hint: hint)
        }
        return discovered
    }

    /// The subnet a DHCP lease outside network.cidr came from: on a Mac running Tart, vmnet's live
    /// shared subnet (bridge100) when it holds the lease, else the /24 around the lease (vmnet's
    /// default mask). Nil without such a lease.
    func leaseSubnet(_ lease: IPv4Address?) async -> MacNetworkChecks.SharedSubnet? {
        guard let lease else { return nil }
        if cluster.provider == .tart, options.hostFacts.os == "macos" {
            let live = await MacNetworkChecks(cluster: cluster, layout: layout, runner: runner).sharedSubnet()
            if live.cidr.contains(lease) { return live }
        }
        let cidr = MacNetworkChecks.subnet(lease, 24)
        return cidr.network.adding(1).map { MacNetworkChecks.SharedSubnet(cidr: cidr, gateway: $0, source: "the first lease") }
    }

    /// Learns each boot-addressed node's address from Vagrant, records it, renders k0sctl.yaml with
    /// the addresses, and writes every node's /etc/hosts.
    func addresses() async throws -> String? {
        let discovered = try await discoverLeases(of: loaded.cluster.nodes.filter { $0.addressing == .dhcp })
        // After a host reboot (or `up` of a stopped cluster) a controller may come back elsewhere.
        try refuseMovedControllers(discovered.map { (name: $0.key, to: $0.value) })
        cluster = loaded.cluster.resolving(discovered)
        _ = try requireAddresses(.addresses)
        try writeK0sctlConfig(k0sctlCluster, resetting: Set(resetting.map(\.name)))
        try await writeHostsFiles()
        return cluster.nodes.map { "\($0.name) \($0.ip.map(\.description) ?? "?")" }.joined(separator: ", ")
    }

    /// Every node's /etc/hosts names every node by its one address.
    func writeHostsFiles() async throws {
        let remote = "sudo sh -c \(Quote.shell(GuestProvisioning.hostsScript)) k0slua-hosts \(Quote.shell(GuestProvisioning.hostsLines(cluster)))"
        let log = logFile("hosts")
        let outcomes = try await FanOut.map(cluster.nodes, limit: options.concurrency) { [ssh, runner] node -> (Node, CommandResult?, String?) in
            for attempt in 0..<5 {
                if attempt > 0 { try await Task.sleep(for: .seconds(2 * attempt)) }
                do {
                    let result = try await runner.run(ssh.command(node, run: remote))
                    if result.succeeded || attempt == 4 { return (node, result, nil) }
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    if attempt == 4 { return (node, nil, "\(error)") }
                }
            }
            return (node, nil, "no attempt ran")
        }
        var failures: [String] = []
        for (node, result, error) in outcomes {
            log.write("\(node.name): exit \(result.map { String($0.exitCode) } ?? "-") \(result?.standardError ?? error ?? "")")
            if result?.succeeded != true {
                failures.append("\(node.name) (\(node.sshAddress ?? "?")): " + (error ?? result.map { "ssh exited with \($0.exitCode): \($0.standardError.trimmingCharacters(in: .whitespacesAndNewlines))" } ?? "?"))
            }
        }
        guard failures.isEmpty else {
            throw BootstrapFailure(phase: .addresses, tool: "ssh", message: "could not write /etc/hosts on \(failures.count) node(s)",
                                   outputTail: failures.sorted(), logFile: log.path,
                                   hint: "k0slua reaches the nodes with the cluster key at their addresses; `k0slua ssh NODE` shows what fails")
        }
    }

    func k0sctlApply() async throws -> String? {
        // Before anything is drained: k0sctl will apply what this run wrote, or nothing.
        try requireWrittenK0sctlConfig(k0sctlCluster, phase: .k0sctl)
        try await checkControllerRemoval()
        try await drainLeaving()
        try await leaveEtcd()
        try await applyK0sctl(k0sctlCluster, phase: .k0sctl)
        k0sApplied = true
        let upgrade = diff.isUpgrade ? " (k0s upgraded to \(cluster.k0s.version ?? "latest"))" : ""
        let reset = resetting.isEmpty ? "" : "; reset \(resetting.map(\.name).joined(separator: ", "))"
        return "k0sctl apply succeeded for \(cluster.nodes.count) hosts\(reset)\(upgrade)"
    }

    /// `k0sctl kubeconfig` printed to stdout and written whole (never `--kubeconfig-out`, which
    /// does not truncate an existing file).
    /// Fetches the kubeconfig into the state directory (and merges it when asked).
    @discardableResult
    public func kubeconfig() async throws -> String? {
        // Cluster and user entries unique to this cluster's identity, so the kubeconfig merges into
        // the user's cleanly; the context keeps the readable k0slua-<name>.
        let merge = KubeconfigMerge(runner: runner, layout: layout, clusterName: cluster.name)
        let name = merge.ownEntryName
        var arguments = ["kubeconfig", "--config", layout.k0sctlConfig, "--cluster", name, "--user", name]
        if let vip = cluster.k0s.vip { arguments += ["--address", "https://\(vip):6443"] }
        let result = try await step(.kubeconfig, tools.k0sctl(arguments), log: "k0sctl-kubeconfig", secretOutput: true)
        guard result.standardOutput.contains("apiVersion:") else {
            throw BootstrapFailure(phase: .kubeconfig, tool: "k0sctl", message: "`k0sctl kubeconfig` printed no kubeconfig",
                                   outputTail: Array(result.standardOutput.split(separator: "\n").suffix(5).map(String.init)), logFile: nil)
        }
        try FileWriter.write(KubeconfigMerge.renamingContext(result.standardOutput, to: merge.contextName), to: layout.kubeconfig, permissions: 0o600)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: layout.kubeconfig)
        if options.mergeKubeconfig {
            do {
                try await merge.merge()
            } catch let error as KubeconfigMergeError {
                throw BootstrapFailure(phase: .kubeconfig, tool: "kubectl", message: error.message, outputTail: [], logFile: nil)
            }
        }
        return layout.kubeconfig
    }
}
