// Orchestrate/Bootstrap: `k0slua up`, phase by phase (BootstrapPhase, in order): preparation
// (preflight, download, ssh key), render, machines, addresses, connectivity, hooks (pre/post
// join), k0sctl, kubeconfig, health; one file per group of phases (Bootstrap+*.swift). It calls
// Process/ to run tools, Preflight/ for checks, Render/ and State/ for files and the record, and
// Lifecycle/ for what converging an existing cluster needs (leaving nodes, resizes, boots).
// Adding a phase: a case in BootstrapPhase (BootstrapTypes.swift), a function here, a line in
// runPhase, and a row in docs/bootstrap.md.

import Foundation

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
    /// The k0s version this run's download resolved: the record keeps it (`k0s_resolved_version`).
    var resolvedK0sVersion: String?
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
        self.diff = ClusterDiff(declared: loaded.cluster, record: record)
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

    /// The cached k0s binary and image bundle k0sctl uploads (nil when `download` was skipped).
    var artifacts: K0sArtifacts?

    var publicKey: String = ""

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
            throw Self.notRun(phase, command, tool: tool, error, log: log.path)
        }
        log.write("exit \(result.exitCode)")
        if Task.isCancelled { throw CancellationError() }
        guard result.succeeded else {
            // A failed command printed no credentials worth keeping, but a line that looks like
            // key material is still left out.
            let output = secretOutput ? Self.withoutKeyMaterial(result.standardOutput) : result.standardOutput
            if secretOutput, !output.isEmpty { log.write(output) }
            throw Self.exited(phase, command, tool: tool, result, output: output, log: log.path)
        }
        return result
    }

    /// A step's failure when its command could not run.
    static func notRun(_ phase: BootstrapPhase, _ command: Command, tool: String?, _ error: any Error, log: String) -> BootstrapFailure {
        BootstrapFailure(phase: phase, tool: tool ?? command.executable, message: "could not run `\(command.executable)`: \(error)",
                         outputTail: [], logFile: log, hint: "run `k0slua doctor` to see what is missing")
    }

    /// A step's failure when its command exited non-zero; `output`: the standard output it may show.
    static func exited(_ phase: BootstrapPhase, _ command: Command, tool: String?, _ result: CommandResult, output: String, log: String) -> BootstrapFailure {
        BootstrapFailure(phase: phase, tool: tool ?? command.executable, message: "`\(command)` exited with \(result.exitCode)",
                         outputTail: OutputExcerpt.lines(output + "\n" + result.standardError, limit: 15), logFile: log)
    }

    /// `step` of independent commands side by side (the fan-out bound): each one's lines are
    /// logged together once all have ended, in the order given, and the first failure in that
    /// order is thrown, as `step` throws it.
    func stepEach(_ phase: BootstrapPhase, _ commands: [Command], log name: String) async throws {
        let outcomes = try await FanOut.map(commands, limit: options.concurrency) { [runner] command in await runner.outcome(of: command) }
        let log = logFile(name)
        for (command, outcome) in zip(commands, outcomes) {
            log.write("$ \(command)")
            switch outcome {
            case .failure(let error):
                if error is CancellationError { throw CancellationError() }
                throw Self.notRun(phase, command, tool: nil, error, log: log.path)
            case .success(let result):
                for text in [result.standardOutput, result.standardError] where !text.isEmpty { log.write(text) }
                log.write("exit \(result.exitCode)")
                guard result.succeeded else { throw Self.exited(phase, command, tool: nil, result, output: result.standardOutput, log: log.path) }
            }
        }
        if Task.isCancelled { throw CancellationError() }
    }

    /// `text` without the lines of a kubeconfig that carry keys, certificates or tokens.
    static func withoutKeyMaterial(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { line in !["-data:", "token:", "password:", "-----BEGIN"].contains { line.contains($0) } }
            .joined(separator: "\n")
    }
}
