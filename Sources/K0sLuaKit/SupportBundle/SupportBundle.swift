import Foundation

/// What `k0slua support` collects and where it writes the bundle.
public struct SupportRequest: Sendable {
    /// k0slua's version, written first.
    public var version: String
    /// cluster.lua's path as given.
    public var clusterFile: String
    /// The cluster cluster.lua describes; nil when it did not load (`loadProblems` says why).
    public var cluster: Cluster?
    public var warnings: [Diagnostic]
    /// cluster.lua's errors when it did not load.
    public var loadProblems: String?
    /// The state directory; nil when it is not known (cluster.lua did not load and no --state-dir).
    public var layout: StateLayout?
    /// The directory the bundle goes into.
    public var outputDirectory: String
    /// How far back each node's k0s journal goes.
    public var sinceSeconds: Int = 7200
    /// At most the last this many journal lines per node.
    public var journalLines: Int = 5000
    /// A node that has not answered everything within this long is noted and skipped.
    public var nodeTimeoutSeconds: Double = 60
    /// Nodes asked at once (`--parallel N`; the one SSH fan-out bound every command shares).
    public var parallelism: Int = FanOut.defaultLimit
    public var now: Date = Date()

    public init(version: String, clusterFile: String, cluster: Cluster?, warnings: [Diagnostic] = [], loadProblems: String? = nil,
                layout: StateLayout?, outputDirectory: String) {
        self.version = version
        self.clusterFile = clusterFile
        self.cluster = cluster
        self.warnings = warnings
        self.loadProblems = loadProblems
        self.layout = layout
        self.outputDirectory = outputDirectory
    }

    /// The cluster's name for the file name: cluster.lua's, else the state directory's.
    var name: String {
        let raw = cluster?.name ?? layout.map { ($0.directory as NSString).lastPathComponent } ?? "unknown"
        let safe = String(raw.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "-" })
        return safe.isEmpty || safe.hasPrefix(".") ? "cluster" : safe
    }
}

/// A written bundle.
public struct SupportResult: Sendable {
    public var path: String
    public var bytes: Int64
    /// What could not be collected, one line each.
    public var missing: [String]
    /// How many values were redacted, over all files.
    public var redactions: Int
}

/// The bundle could not be written (exit 1).
public struct SupportBundleError: Error, CustomStringConvertible {
    public var description: String
}

/// Collects what a maintainer needs into `k0slua-support-<name>-<time>.tar.gz` (docs/support.md):
/// k0slua's own files and checks, every node's k0s diagnostics over SSH (best effort, a deadline
/// per node, a few nodes at once) and, when the API answers, the cluster's objects. Everything
/// passes through the Redactor; the archive is made with the system tar in a private directory
/// and renamed into place (mode 0600).
public struct SupportBundle: Sendable {
    public let request: SupportRequest
    public let runner: any ProcessRunning
    public var hostFacts: HostFacts = .current
    /// One line per step or node as it finishes.
    public var progress: @Sendable (String) -> Void

    public init(request: SupportRequest, runner: any ProcessRunning, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.request = request
        self.runner = runner
        self.progress = progress
    }

    /// What each node is asked, in order: file name and remote command.
    public static func nodeCommands(sinceSeconds: Int, journalLines: Int) -> [(file: String, command: String)] {
        [
            ("k0s-status.txt", "sudo k0s status"),
            ("k0s-sysinfo.txt", "sudo k0s sysinfo"),
            ("journal.txt", "sudo journalctl -u k0scontroller -u k0sworker --since=-\(sinceSeconds)s -n \(journalLines) --no-pager"),
            ("ip-addr.txt", "ip -4 addr"),
            ("ip-route.txt", "ip route"),
            ("df.txt", "df -h"),
            ("free.txt", "free -m"),
            ("images.txt", "sudo k0s ctr -n k8s.io images ls"),
            ("hosts.txt", "cat /etc/hosts"),
        ]
    }

    /// What is asked of the API: file name and kubectl arguments.
    static let clusterCommands: [(file: String, arguments: [String])] = [
        ("nodes-pods.txt", ["get", "nodes,pods", "-A", "-o", "wide"]),
        ("events.txt", ["get", "events", "-A"]),
        ("describe-nodes.txt", ["describe", "nodes"]),
        ("clusterconfig.yaml", ["-n", "kube-system", "get", "clusterconfig", "k0s", "-o", "yaml"]),
    ]

    /// A single file in the bundle keeps at most its last this many bytes.
    static let maxFileBytes = 8 << 20

    public func write() async throws(SupportBundleError) -> SupportResult {
        let output = StateLayout.absolutePath(request.outputDirectory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SupportBundleError(description: "cannot write the support bundle: \"\(output)\" is not a directory")
        }
        // A private directory next to the bundle: the archive is never readable by others, and the
        // rename into place is atomic (same file system).
        let pending = output + "/.k0slua-support-\(UUID().uuidString.prefix(8))"
        do {
            try FileManager.default.createDirectory(atPath: pending, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SupportBundleError(description: "cannot write the support bundle into \"\(output)\": \((error as NSError).localizedDescription)")
        }
        let staging = NSTemporaryDirectory() + "k0slua-support-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: staging)
            try? FileManager.default.removeItem(atPath: pending)
        }
        let root = "k0slua-support-\(request.name)-\(Self.stamp(request.now))"
        let files = BundleFiles(directory: staging + "/" + root, redactor: redactor)
        do {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SupportBundleError(description: "cannot create a staging directory in \"\(NSTemporaryDirectory())\": \((error as NSError).localizedDescription)")
        }

        let applied = await collectK0slua(files)
        if let applied, let layout = request.layout {
            await collectNodes(applied.everyMachine.nodes, layout: layout, files)
            await collectCluster(layout, files)
        } else {
            await files.note("nodes and cluster: skipped, \(request.layout.map { "no state directory at \($0.directory) (has `k0slua up` run?)" } ?? "the state directory is not known (cluster.lua did not load; pass --state-dir)")")
        }
        let redactions = await files.finish(header: header)
        if let failure = await files.writeError {
            throw SupportBundleError(description: "cannot write the support bundle's files in \"\(staging)\": \(failure)")
        }

        let archive = pending + "/" + root + ".tar.gz"
        let tar = await run(Command("tar", ["-czf", archive, "-C", staging, "--", root]), timeout: 600)
        guard tar.succeeded, FileManager.default.fileExists(atPath: archive) else {
            throw SupportBundleError(description: "tar could not write \"\(archive)\": " + Self.lastLine(tar))
        }
        let final = output + "/" + root + ".tar.gz"
        guard chmod(archive, 0o600) == 0, rename(archive, final) == 0 else {
            throw SupportBundleError(description: "cannot move the support bundle to \"\(final)\": \(String(cString: strerror(errno)))")
        }
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: final))?[.size] as? NSNumber)?.int64Value ?? 0
        return SupportResult(path: final, bytes: bytes, missing: await files.notes.map { redactor.redact($0).text }, redactions: redactions)
    }

    // MARK: - k0slua and the host

    /// k0slua's files and checks; the applied cluster when the state directory exists.
    func collectK0slua(_ files: BundleFiles) async -> AppliedCluster? {
        await files.add("k0slua/version.txt", "k0slua \(request.version)\n")
        if let text = Self.read(request.clusterFile) {
            await files.add("k0slua/cluster.lua", text)
        } else {
            await files.note("k0slua/cluster.lua: cannot read \(request.clusterFile)")
        }
        if let problems = request.loadProblems { await files.add("k0slua/cluster-lua-errors.txt", problems) }

        var applied: AppliedCluster?
        if let cluster = request.cluster, let layout = request.layout {
            do {
                applied = try AppliedCluster.load(cluster, layout: layout)
            } catch {
                await files.note("k0slua/state.json: cannot read it: \(error)")
                applied = AppliedCluster(cluster: cluster, record: nil, disagreement: nil)
            }
            await files.add("k0slua/plan.json", PlanRenderer.json(cluster, warnings: request.warnings,
                                                                   diff: ClusterDiff(declared: cluster, record: applied?.record)))
        } else if request.cluster == nil {
            await files.note("k0slua/plan.json and doctor.txt: cluster.lua did not load (its errors: k0slua/cluster-lua-errors.txt)")
        }

        let stateExists = request.layout.map { FileManager.default.fileExists(atPath: $0.directory) } ?? false
        if let layout = request.layout, stateExists {
            for (name, path) in [("state.json", layout.record), ("Vagrantfile", layout.vagrantfile), ("k0sctl.yaml", layout.k0sctlConfig),
                                 ("kubeconfig", layout.kubeconfig)] {
                if let text = Self.read(path) {
                    await files.add("k0slua/\(name)", text)
                } else {
                    await files.note("k0slua/\(name): not in \(layout.directory)")
                }
            }
            let logs = (FileManager.default.subpaths(atPath: layout.logs) ?? []).sorted()
            var count = 0
            for log in logs {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: layout.logs + "/" + log, isDirectory: &isDirectory), !isDirectory.boolValue,
                      let text = Self.read(layout.logs + "/" + log) else { continue }
                await files.add("k0slua/logs/\(log)", text)
                count += 1
            }
            if count == 0 { await files.note("k0slua/logs: no phase logs in \(layout.logs)") }
        } else if let layout = request.layout {
            await files.note("k0slua/state.json, Vagrantfile, k0sctl.yaml, kubeconfig, logs: no state directory at \(layout.directory)")
        }

        var checks: [PreflightCheck] = []
        if let cluster = request.cluster, let layout = request.layout {
            let preflight = Preflight(cluster: cluster, layout: layout, runner: runner, hostFacts: hostFacts)
            if let found = await withDeadline(120, { await preflight.run() }) {
                checks = found
                await files.add("k0slua/doctor.txt", DoctorReport.text(found, hostOS: hostFacts.os))
            } else {
                await files.note("k0slua/doctor.txt: doctor's checks did not finish within 120s")
            }
        }
        await files.add("k0slua/host.txt", await hostText(checks))
        if let applied, stateExists, let layout = request.layout {
            let status = ClusterStatus(cluster: applied.everyMachine, layout: layout, runner: runner)
            if let report = await withDeadline(120, { await status.read() }) {
                await files.add("k0slua/status.txt", report.text)
            } else {
                await files.note("k0slua/status.txt: `k0slua status` did not finish within 120s")
            }
        }
        report("k0slua: files, logs and checks collected")
        return stateExists ? applied : nil
    }

    /// OS, CPUs, memory, and the versions doctor found (provider, plugin, k0sctl, kubectl, ssh).
    func hostText(_ checks: [PreflightCheck]) async -> String {
        var text = "os: \(hostFacts.os) \(hostFacts.arch)\ncpus: \(hostFacts.cpus)\nmemory: \(hostFacts.memoryMiB) MiB\n"
        let uname = await run(Command("uname", ["-srvm"]), timeout: 10)
        if uname.succeeded { text += "uname: \(uname.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))\n" }
        if hostFacts.os == "macos" {
            let version = await run(Command("sw_vers", ["-productVersion"]), timeout: 10)
            if version.succeeded { text += "macOS: \(version.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))\n" }
        }
        if let cluster = request.cluster { text += "provider: \(cluster.provider.rawValue)\n" }
        if !checks.isEmpty {
            text += "tools:\n"
            for check in checks { text += "  \(check.name): \(check.detail)\n" }
        }
        return text
    }

    // MARK: - Helpers

    /// A progress line, unless the run was interrupted (what follows then is no finding).
    func report(_ line: String) {
        if !Task.isCancelled { progress(line) }
    }

    var redactor: Redactor {
        guard let cluster = request.cluster, cluster.k0s.vip != nil else { return Redactor() }
        let pass = cluster.k0s.vipAuthPass
        // A short or default password would also match ordinary words; keys still catch it.
        return pass.count >= 6 && pass != K0sSettings().vipAuthPass ? Redactor(literals: [(pass, "VIP auth pass (k0s.vip_auth_pass)")]) : Redactor()
    }

    var header: String {
        var text = "k0slua support bundle\nk0slua \(request.version), written \(ISO8601DateFormatter().string(from: request.now))\n"
        text += "cluster.lua: \(request.clusterFile)\n"
        if let cluster = request.cluster { text += "cluster: \(cluster.name) (\(cluster.provider.rawValue), \(cluster.nodes.count) nodes)\n" }
        text += "state: \(request.layout?.directory ?? "not known")\n"
        text += "journal: the last \(Self.seconds(Double(request.sinceSeconds))), at most \(request.journalLines) lines per node\n"
        return text
    }

    func run(_ command: Command, timeout: Double) async -> CommandResult {
        let runner = self.runner
        let result = await withDeadline(timeout) { () async -> CommandResult in
            do { return try await runner.run(command) } catch {
                return CommandResult(exitCode: 127, standardError: "cannot run \(command.executable): \(error)")
            }
        }
        return result ?? CommandResult(exitCode: 124, standardError: "no answer within \(Self.seconds(timeout))")
    }

    /// `body`'s value, or nil when it has not finished after `seconds` (it is then cancelled).
    func withDeadline<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async -> T) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await body() }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// A command's output as a file: the command first, its stderr and exit code after (as `#`
    /// lines, so YAML stays YAML).
    static func transcript(_ command: String, _ result: CommandResult) -> String {
        var text = "# $ \(command)\n" + tail(result.standardOutput)
        if !text.hasSuffix("\n") { text += "\n" }
        if !result.standardError.isEmpty {
            text += "# stderr:\n" + tail(result.standardError).split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" }.joined(separator: "\n")
            if !text.hasSuffix("\n") { text += "\n" }
        }
        if !result.succeeded { text += "# exit \(result.exitCode)\n" }
        return text
    }

    static func tail(_ text: String) -> String {
        guard text.utf8.count > maxFileBytes else { return text }
        return "[k0slua: cut to the last \(maxFileBytes >> 20) MiB]\n" + String(decoding: text.utf8.suffix(maxFileBytes), as: UTF8.self)
    }

    static func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return tail(String(decoding: data, as: UTF8.self))
    }

    static func lastLine(_ result: CommandResult) -> String {
        (result.standardError.isEmpty ? result.standardOutput : result.standardError)
            .split(separator: "\n").last.map(String.init) ?? "exit \(result.exitCode)"
    }

    static func safe(_ name: String) -> String {
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "-" })
        return safe.isEmpty || safe.hasPrefix(".") ? "node" : safe
    }

    static func seconds(_ value: Double) -> String {
        let whole = Int(value)
        if Double(whole) != value { return String(format: "%.1fs", value) }
        if whole >= 3600, whole % 3600 == 0 { return "\(whole / 3600)h" }
        if whole >= 60, whole % 60 == 0 { return "\(whole / 60)m" }
        return "\(whole)s"
    }

    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}

/// How many outputs a node gave before its deadline.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}

/// The bundle's files as they are written: redacted, mode 0600 in 0700 directories; what was
/// redacted and what is missing.
actor BundleFiles {
    let directory: String
    let redactor: Redactor
    private(set) var notes: [String] = []
    private(set) var writeError: String?
    private var redacted: [(file: String, kind: String, count: Int)] = []
    private var written: [String] = []

    init(directory: String, redactor: Redactor) {
        self.directory = directory
        self.redactor = redactor
    }

    func note(_ line: String) { notes.append(line) }

    func add(_ path: String, _ text: String) {
        let (clean, found) = redactor.redact(text)
        for (kind, count) in found.sorted(by: { $0.key < $1.key }) { redacted.append((path, kind, count)) }
        store(path, clean)
    }

    private func store(_ path: String, _ text: String) {
        let full = directory + "/" + path
        do {
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            guard FileManager.default.createFile(atPath: full, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            written.append(path)
        } catch {
            writeError = writeError ?? "\(path): \((error as NSError).localizedDescription)"
        }
    }

    /// Writes SUMMARY.txt and REDACTED.txt; returns how many values were redacted.
    func finish(header: String) -> Int {
        var summary = header + "\nfiles:\n" + written.sorted().map { "  \($0)\n" }.joined()
        summary += notes.isEmpty ? "\nnothing missing\n" : "\nmissing:\n" + notes.map { "  \($0)\n" }.joined()
        var list = "# What k0slua removed from this bundle: file, kind of secret, how many. Values are never listed.\n"
        list += "# Replaced values read \(Redactor.mark).\n\n"
        list += "never included: the cluster's private key (id_ed25519) and known_hosts\n\n"
        list += redacted.isEmpty ? "nothing else was redacted\n" : redacted.map { "\($0.file): \($0.kind) ×\($0.count)\n" }.joined()
        let total = redacted.reduce(0) { $0 + $1.count }
        summary += "\nredacted: \(total) value\(total == 1 ? "" : "s") (REDACTED.txt)\n"
        // The notes quote tools' error lines.
        store("SUMMARY.txt", redactor.redact(summary).text)
        store("REDACTED.txt", list)
        return total
    }
}
