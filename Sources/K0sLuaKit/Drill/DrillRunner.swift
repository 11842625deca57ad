import Foundation
import Logging

/// Limits and inputs of one drill run.
public struct DrillOptions: Sendable {
    /// Wall-clock seconds for the whole drill, faults and waits included (`--timeout`); when they
    /// run out the drill stops and its faults are undone.
    public var timeoutSeconds: Double
    /// Lua instructions and memory for the whole drill; `seconds` is the Lua time between two
    /// drill steps.
    public var budget: LuaBudget
    public var libraryDirectory: String?
    /// What `k0s.env.*` reads.
    public var environment: [String: String]
    /// How many SSH sessions run at once (partition, health).
    public var concurrency: Int = FanOut.defaultLimit

    public static let defaultTimeoutSeconds: Double = 600

    public init(timeoutSeconds: Double = DrillOptions.defaultTimeoutSeconds, budget: LuaBudget = .default,
                libraryDirectory: String?, environment: [String: String]) {
        self.timeoutSeconds = timeoutSeconds
        self.budget = budget
        self.libraryDirectory = libraryDirectory
        self.environment = environment
    }
}

/// Runs a drill file against the applied cluster: the file runs in the sandbox as a coroutine
/// whose `drill.*` calls come here as requests; faults are journaled before they are made and
/// undone, newest first, when the drill ends however it ends (docs/drills.md).
public final class DrillRunner: @unchecked Sendable {
    public let cluster: Cluster
    public let layout: StateLayout
    let runner: any ProcessRunning
    /// Runs the undo commands: after Ctrl-C the shared supervisor starts no program, so the CLI
    /// gives one with a supervisor of its own here.
    let undoRunner: any ProcessRunning
    let options: DrillOptions
    let ssh: NodeSSH
    let tools: Tools
    let logger: Logger
    /// Called with each timeline step as it happens.
    public var onStep: @Sendable (DrillStep) -> Void = { _ in }

    let clock = ContinuousClock()
    var started = ContinuousClock.now
    var steps: [DrillStep] = []
    var journal: DrillJournal
    var partitions = 0
    var waits: [(label: String?, line: Int?, started: Double)] = []
    var log: LogFile?

    public init(cluster: Cluster, layout: StateLayout, runner: any ProcessRunning, undoRunner: (any ProcessRunning)? = nil,
                options: DrillOptions, logger: Logger = Logger(label: "k0slua.drill")) {
        self.cluster = cluster
        self.layout = layout
        self.runner = runner
        self.undoRunner = undoRunner ?? runner
        self.options = options
        self.ssh = NodeSSH(layout: layout)
        self.tools = Tools(layout: layout)
        self.logger = logger
        self.journal = DrillJournal(drill: "")
    }

    var elapsed: Double {
        let duration = clock.now - started
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    struct TimedOut: Error {}

    enum Ending {
        case result(DrillResult, String?)
        case diagnostics([Diagnostic])
    }

    /// Where the drill is after a request: resume Lua with a value, or stop.
    enum Reply {
        case value(LuaValue)
        case end(Ending)
    }

    // MARK: - Running

    /// Runs the drill in `path` (named `displayName` in messages and the timeline). Never throws:
    /// every ending, Ctrl-C included, comes back as the report, after the faults were undone.
    public func run(file path: String, displayName: String) async -> DrillReport {
        started = clock.now
        journal = DrillJournal(drill: displayName)
        log = LogFile(path: "\(layout.logs)/drill.log")
        log?.write("drill \(displayName) on cluster \(cluster.name)")
        var ending: Ending
        do {
            ending = try await drive(file: path, displayName: displayName)
        } catch is TimedOut {
            ending = .result(.timedOut, "the drill's time limit of \(DrillReport.duration(options.timeoutSeconds)) ran out (--timeout)")
        } catch {
            ending = .result(.interrupted, nil)
        }
        let failures = await undoAll()
        var report = DrillReport(drill: displayName, cluster: cluster.name, result: .passed, message: nil, seconds: elapsed, steps: steps,
                                 undoFailures: failures, diagnostics: [])
        switch ending {
        case .result(let result, let message):
            report.result = result
            report.message = message
        case .diagnostics(let diagnostics):
            report.result = .error
            report.diagnostics = diagnostics
        }
        if report.result == .passed, !failures.isEmpty {
            report.result = .failed
            report.message = "some faults could not be undone"
        }
        log?.write(report.summary)
        return report
    }

    func drive(file path: String, displayName: String) async throws -> Ending {
        guard let source = FileManager.default.contents(atPath: path) else {
            return .diagnostics([Diagnostic(.fileNotFound, file: displayName, line: nil, path: "", message: "cannot read \(path)",
                                            hint: "pass the drill file as the first argument, e.g. `k0slua drill drills/worker-stop.lua`")])
        }
        let options = self.options
        let host = hostValue
        let prepared = await onLuaThread { () -> Result<(LuaRuntime, LuaFunctionRef), DiagnosticList> in
            do throws(DiagnosticList) {
                let runtime = try LuaRuntime(budget: options.budget, environment: options.environment,
                                             libraryDirectory: options.libraryDirectory, logger: Logger(label: "k0slua.lua"))
                return .success((runtime, try runtime.prepareDrill(source: source, displayName: displayName, host: host)))
            } catch {
                return .failure(error)
            }
        }
        let runtime: LuaRuntime, step: LuaFunctionRef
        switch prepared {
        case .failure(let error): return .diagnostics(error.diagnostics)
        case .success(let value): (runtime, step) = value
        }
        started = clock.now  // the time limit counts from the drill's first line
        var reply = LuaValue.nil_
        while true {
            try Task.checkCancellation()
            if elapsed >= options.timeoutSeconds { throw TimedOut() }
            let answer = reply
            let next = await onLuaThread { () -> Result<(request: LuaValue, line: Int?), DiagnosticList> in
                do throws(DiagnosticList) { return .success(try runtime.stepDrill(step, reply: answer)) } catch { return .failure(error) }
            }
            let request: LuaTable, line: Int?
            switch next {
            case .failure(let error): return .diagnostics(error.diagnostics)
            case .success(let value):
                guard case .table(let table) = value.request else {
                    return .diagnostics([Diagnostic(.internalError, file: "drill", line: nil, path: "", message: "a request that is not a table")])
                }
                (request, line) = (table, value.line)
            }
            if elapsed >= options.timeoutSeconds { throw TimedOut() }
            switch try await perform(request, line: line, file: displayName) {
            case .value(let value): reply = value
            case .end(let ending): return ending
            }
        }
    }

    /// The nodes and the cluster as `drill.nodes` and `drill.cluster` show them.
    var hostValue: LuaValue {
        func table(_ pairs: [(String, LuaValue)]) -> LuaValue {
            .table(LuaTable(entries: pairs.map { (key: .string($0.0), value: $0.1) }))
        }
        let nodes = cluster.nodes.enumerated().map { index, node in
            (key: LuaValue.integer(Int64(index + 1)), value: table([
                ("name", .string(node.name)), ("role", .string(node.role.rawValue)), ("k0s_role", .string(node.k0sRole.rawValue)),
                ("ip", node.ip.map { .string($0.description) } ?? .nil_),
            ]))
        }
        return table([
            ("nodes", .table(LuaTable(entries: nodes))),
            ("cluster", table([
                ("name", .string(cluster.name)), ("provider", .string(cluster.provider.rawValue)),
                ("vip", cluster.k0s.vip.map { .string($0.description) } ?? .nil_),
                ("nllb", .boolean(cluster.nodeLocalLoadBalancingEnabled)),
                ("controllers", .integer(Int64(cluster.controllers.count))),
                ("workers", .integer(Int64(cluster.workers.count))),
            ])),
        ])
    }

    // MARK: - Requests

    func record(_ line: Int?, _ step: String, _ result: String, ok: Bool = true, quiet: Bool = false) {
        let entry = DrillStep(seconds: elapsed, line: line, step: step, result: result, ok: ok)
        log?.write(entry.text)
        guard !quiet else { return }
        steps.append(entry)
        onStep(entry)
    }

    func perform(_ request: LuaTable, line: Int?, file: String) async throws -> Reply {
        func string(_ key: String) -> String { if case .string(let s)? = request[key] { s } else { "" } }
        func integer(_ key: String) -> Int { if case .integer(let i)? = request[key] { Int(i) } else { 0 } }
        func strings(_ key: String) -> [String] {
            guard case .table(let t)? = request[key] else { return [] }
            return t.entries.compactMap { if case .string(let s) = $0.value { s } else { nil } }
        }
        let quiet = request["quiet"] == .boolean(true)
        let kind = string("kind")
        switch kind {
        case "done":
            return .end(.result(.passed, nil))
        case "forged":
            return .end(.diagnostics([Diagnostic(.runtimeError, file: file, line: line, path: "",
                                                 message: "the drill yielded without a drill.* call (coroutine.yield is not for drills)")]))
        case "skip":
            record(line, "skip", string("reason"))
            return .end(.result(.skipped, string("reason")))
        case "fail":
            record(line, "fail", string("message"), ok: false)
            return .end(.result(.failed, string("message") + (line.map { " (\(file):\($0))" } ?? "")))
        case "note":
            record(line, "note", string("text"), quiet: quiet)
            return .value(Self.value(.nil_))
        case "expect":
            let message = string("message")
            if request["ok"] == .boolean(true) {
                record(line, "expect \(message)", "ok", quiet: quiet)
                return .value(Self.value(.nil_))
            }
            record(line, "expect \(message)", "failed", ok: false)
            return .end(.result(.failed, "expectation failed: \(message)" + (line.map { " (\(file):\($0))" } ?? "")))
        case "clock":
            return .value(Self.value(.number(elapsed)))
        case "sleep":
            let seconds = request["seconds"].flatMap { value -> Double? in
                switch value { case .integer(let i): Double(i); case .number(let d): d; default: nil }
            } ?? 0
            let remaining = options.timeoutSeconds - elapsed
            try await Task.sleep(for: .seconds(max(0, min(seconds, remaining))))
            if seconds > remaining { throw TimedOut() }
            record(line, "sleep \(DrillReport.duration(seconds))", "ok", quiet: quiet)
            return .value(Self.value(.nil_))
        case "wait":
            let label: String? = if case .string(let s)? = request["label"] { s } else { nil }
            if string("phase") == "begin" {
                waits.append((label, line, elapsed))
                return .value(Self.value(.number(elapsed)))
            }
            let begun = waits.popLast() ?? (label, line, elapsed)
            let what = "wait " + (begun.label ?? "for the condition")
            let took = DrillReport.duration(elapsed - begun.started)
            let tries = integer("tries")
            if request["met"] == .boolean(true) {
                record(begun.line, what, "met after \(took) (\(tries) \(tries == 1 ? "try" : "tries"))", quiet: quiet)
                return .value(Self.value(.nil_))
            }
            record(begun.line, what, "not met within \(took) (\(tries) tries)", ok: false)
            return .end(.result(.failed, "\(what): not met within \(took)" + (begun.line.map { " (\(file):\($0))" } ?? "")))
        case "ssh":
            guard let node = cluster.node(named: string("node")) else { return .value(Self.error("drill.ssh: no such node")) }
            let command = string("command")
            let result = try await bounded { [runner, ssh] in try await runner.run(ssh.command(node, run: command)) }
            log?.write("[\(node.name)] $ \(command)\n\(result.standardOutput)\(result.standardError)exit \(result.exitCode)")
            record(line, "ssh \(node.name) \(Self.excerpt(command))", "exit \(result.exitCode)", quiet: quiet)
            return .value(.table(LuaTable(entries: [
                (key: .string("value"), value: .table(LuaTable(entries: [
                    (key: .string("code"), value: .integer(Int64(result.exitCode))),
                    (key: .string("stdout"), value: .string(result.standardOutput)),
                    (key: .string("stderr"), value: .string(result.standardError)),
                ]))),
            ])))
        case "kubectl":
            return try await kubectl(strings("words"), line: line, quiet: quiet)
        case "health":
            return try await health(request["checks"] == nil ? nil : strings("checks"), line: line, quiet: quiet)
        case "undo":
            let failures = await undoAll()
            guard failures.isEmpty else {
                return .end(.result(.failed, "undoing the faults failed: " + failures.joined(separator: "; ") + (line.map { " (\(file):\($0))" } ?? "")))
            }
            return .value(Self.value(.nil_))
        case "stop", "start", "kill_k0s", "delay", "fill_disk", "partition":
            return try await fault(kind, request, line: line, file: file)
        default:
            return .end(.diagnostics([Diagnostic(.internalError, file: "drill", line: line, path: "", message: "unknown drill request \"\(kind)\"")]))
        }
    }

    static func error(_ message: String) -> LuaValue {
        .table(LuaTable(entries: [(key: .string("error"), value: .string(message))]))
    }

    static func value(_ value: LuaValue, detail: String? = nil) -> LuaValue {
        var entries: [(key: LuaValue, value: LuaValue)] = [(key: .string("value"), value: value)]
        if let detail { entries.append((key: .string("detail"), value: .string(detail))) }
        return .table(LuaTable(entries: entries))
    }

    static func excerpt(_ text: String) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return "`" + (line.count > 40 ? String(line.prefix(40)) + "…" : line) + "`"
    }

    /// `work`, or TimedOut when the drill's time runs out first (the work is cancelled: the
    /// runner stops its program).
    func bounded<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let remaining = options.timeoutSeconds - elapsed
        guard remaining > 0 else { throw TimedOut() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(for: .seconds(remaining))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw TimedOut() }
            return value
        }
    }

    func kubectl(_ words: [String], line: Int?, quiet: Bool) async throws -> Reply {
        var arguments = words
        if !words.contains(where: { $0 == "-o" || $0 == "--output" || $0.hasPrefix("-o=") || $0.hasPrefix("--output=") || $0.hasPrefix("-ojson") }) {
            arguments += ["-o", "json"]
        }
        let shown = "kubectl " + words.joined(separator: " ")
        let result = try await bounded { [runner, tools, arguments] in try await runner.run(tools.kubectl(arguments)) }
        log?.write("$ \(shown)\n\(result.standardError)exit \(result.exitCode)")
        guard result.succeeded else {
            let problem = HealthChecker.lastLine(result)
            record(line, shown, "exit \(result.exitCode): \(problem)", quiet: quiet)
            return .value(Self.value(.nil_, detail: problem))
        }
        guard let decoded = try? JSONDecoder().decode(JSONValue.self, from: Data(result.standardOutput.utf8)) else {
            record(line, shown, "no JSON", quiet: quiet)
            return .value(Self.value(.nil_, detail: "kubectl printed no JSON"))
        }
        record(line, shown, "ok", quiet: quiet)
        return .value(Self.value(decoded.lua))
    }

    func health(_ checks: [String]?, line: Int?, quiet: Bool) async throws -> Reply {
        let all = HealthChecker.checkNames
        var wanted = Set(checks ?? all.filter { $0 != "smoke" })
        for name in wanted where !all.contains(name) {
            return .value(Self.error("drill.health: unknown check \"\(name)\"; checks: \(all.joined(separator: ", "))"))
        }
        // A check runs only after the checks it needs passed.
        let needs: [String: [String]] = ["reachability": ["machines"], "k0s-status": ["reachability"], "nodes-ready": ["api"], "taints": ["api"],
                                         "system-pods": ["api"], "smoke": ["api", "nodes-ready"], "vip": ["reachability"]]
        var changed = true
        while changed {
            let before = wanted.count
            for name in wanted { wanted.formUnion(needs[name] ?? []) }
            changed = wanted.count != before
        }
        var checker = HealthChecker(cluster: cluster, layout: layout, runner: runner)
        checker.concurrency = options.concurrency
        let configured = checker
        let healthOptions = HealthOptions(skip: Set(all).subtracting(wanted), smoke: wanted.contains("smoke"))
        let report = try await bounded { await configured.run(healthOptions) }
        try Task.checkCancellation()
        log?.write(report.text)
        let failed = report.checks.filter { $0.status == .failed }.map(\.name)
        record(line, "health " + (checks?.joined(separator: ",") ?? "all"), failed.isEmpty ? "passed" : "failed: " + failed.joined(separator: ", "),
               quiet: quiet)
        let byName = report.checks.map { check in
            (key: LuaValue.string(check.name), value: LuaValue.table(LuaTable(entries: [
                (key: .string("status"), value: .string(check.status.rawValue)),
                (key: .string("evidence"), value: .table(LuaTable(entries: check.evidence.enumerated().map {
                    (key: .integer(Int64($0.offset + 1)), value: .string($0.element))
                }))),
                (key: .string("hint"), value: check.hint.map(LuaValue.string) ?? .nil_),
            ])))
        }
        return .value(Self.value(.table(LuaTable(entries: [
            (key: .string("passed"), value: .boolean(report.passed)),
            (key: .string("checks"), value: .table(LuaTable(entries: byName))),
        ]))))
    }
}

/// Any JSON document, for drill.kubectl's decoded output.
enum JSONValue: Decodable {
    case null, bool(Bool), integer(Int64), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    var lua: LuaValue {
        switch self {
        case .null: .nil_
        case .bool(let b): .boolean(b)
        case .integer(let i): .integer(i)
        case .number(let d): .number(d)
        case .string(let s): .string(s)
        case .array(let items): .table(LuaTable(entries: items.enumerated().map { (key: .integer(Int64($0.offset + 1)), value: $0.element.lua) }))
        case .object(let fields): .table(LuaTable(entries: fields.sorted { $0.key < $1.key }.map { (key: .string($0.key), value: $0.value.lua) }))
        }
    }
}
