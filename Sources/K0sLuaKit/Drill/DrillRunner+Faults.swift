import Foundation
import Logging

/// The drill's faults, their write-ahead journal and their undo (docs/drills.md).
extension DrillRunner {
    // MARK: - Faults

    func saveJournal() throws {
        try FileManager.default.createDirectory(atPath: layout.directory, withIntermediateDirectories: true)
        try journal.save(layout)
    }

    func fault(_ kind: String, _ request: LuaTable, line: Int?, file: String) async throws -> Reply {
        func string(_ key: String) -> String { if case .string(let s)? = request[key] { s } else { "" } }
        func integer(_ key: String) -> Int { if case .integer(let i)? = request[key] { Int(i) } else { 0 } }
        func nodes(_ key: String) -> [Node] {
            guard case .table(let t)? = request[key] else { return [] }
            return t.entries.compactMap { if case .string(let s) = $0.value { cluster.node(named: s) } else { nil } }
        }
        let node = cluster.node(named: string("node"))
        let step: String
        var undo: [DrillUndo] = []
        var work: [(node: Node?, command: Command)] = []
        var finishes: DrillUndo?
        switch kind {
        case "stop":
            guard let node else { return .value(Self.error("drill.stop: no such node")) }
            step = "stop \(node.name)"
            undo = [.boot(node: node.name)]
            work = [(nil, tools.vagrant(DrillCommands.halt(node.name)))]
        case "start":
            guard let node else { return .value(Self.error("drill.start: no such node")) }
            step = "start \(node.name)"
            if journal.entries.contains(.boot(node: node.name)) { finishes = .boot(node: node.name) } else { undo = [.halt(node: node.name)] }
            work = [(nil, tools.vagrant(DrillCommands.boot(node.name, provider: cluster.provider)))]
        case "kill_k0s":
            guard let node else { return .value(Self.error("drill.kill_k0s: no such node")) }
            let service = DrillCommands.service(for: node)
            step = "kill k0s on \(node.name)"
            undo = [.startService(node: node.name, service: service)]
            work = [(node, ssh.command(node, run: DrillCommands.stopService(service)))]
        case "delay":
            guard let node, let address = node.ip else { return .value(Self.error("drill.delay: the node has no known address")) }
            step = "delay \(node.name) by \(integer("ms")) ms"
            undo = [.clearDelay(node: node.name, address: address.description)]
            work = [(node, ssh.command(node, run: DrillCommands.delay(address: address, milliseconds: integer("ms"))))]
        case "fill_disk":
            guard let node else { return .value(Self.error("drill.fill_disk: no such node")) }
            step = "fill the disk of \(node.name) to \(integer("percent")) %"
            undo = [.removeFill(node: node.name)]
            work = [(node, ssh.command(node, run: DrillCommands.fillDisk(percent: integer("percent"))))]
        default:
            let (left, right) = (nodes("a"), nodes("b"))
            partitions += 1
            let table = "k0slua_drill_\(partitions)"
            step = "partition \(left.map(\.name).joined(separator: ",")) | \(right.map(\.name).joined(separator: ","))"
            for (group, peers) in [(left, right), (right, left)] {
                let addresses = peers.compactMap(\.ip)
                for member in group {
                    undo.append(.dropTable(node: member.name, table: table))
                    work.append((member, ssh.command(member, run: DrillCommands.partition(table: table, peers: addresses))))
                }
            }
        }
        // Write-ahead: the undo is on disk before the fault exists.
        journal.entries += undo
        do { try saveJournal() } catch {
            record(line, step, "cannot write the undo journal: \(error)", ok: false)
            return .end(.result(.failed, "cannot write \(DrillJournal.path(layout)): \(error)"))
        }
        let (runner, limit, commands) = (self.runner, options.concurrency, work)
        let results = try await bounded {
            try await FanOut.map(commands, limit: limit) { item in (item.node?.name, try await runner.run(item.command)) }
        }
        let failures = results.filter { !$0.1.succeeded }.map { name, result in
            (name.map { "\($0): " } ?? "") + "exit \(result.exitCode): " + HealthChecker.lastLine(result)
        }
        for (name, result) in results {
            log?.write("[\(name ?? "host")] \(step)\n\(result.standardOutput)\(result.standardError)exit \(result.exitCode)")
        }
        guard failures.isEmpty else {
            record(line, step, "failed: " + failures.joined(separator: "; "), ok: false)
            return .end(.result(.failed, "\(step) failed: " + failures.joined(separator: "; ") + (line.map { " (\(file):\($0))" } ?? "")))
        }
        if let finishes, let index = journal.entries.lastIndex(of: finishes) {
            journal.entries.remove(at: index)
            try? saveJournal()
        }
        record(line, step, "ok")
        return .value(Self.value(.nil_))
    }

    // MARK: - Undo

    /// Undoes every journaled fault, newest first, with a runner no interrupt stops from starting
    /// programs. Returns what could not be undone (it stays in the journal).
    func undoAll() async -> [String] {
        guard !journal.entries.isEmpty else { return [] }
        let task = Task.detached { [self] in await replay() }
        return await task.value
    }

    func replay() async -> [String] {
        var failures: [String] = []
        var kept: [DrillUndo] = []  // what could not be undone, in the journal's order
        while let entry = journal.entries.popLast() {
            if let problem = await undo(entry) {
                failures.append("\(entry.summary): \(problem)")
                kept.insert(entry, at: 0)
                record(nil, "undo: \(entry.summary)", "failed: \(problem)", ok: false)
            } else {
                record(nil, "undo: \(entry.summary)", "ok")
            }
            // On disk: what is still to undo, and what could not be.
            let pending = journal.entries
            journal.entries = pending + kept
            try? saveJournal()
            journal.entries = pending
        }
        journal.entries = kept
        try? saveJournal()
        return failures
    }

    /// Replays the journal a killed k0slua left in the state directory (`k0slua drill --undo`).
    public func replayJournal() async throws -> DrillReport {
        started = clock.now
        log = LogFile(path: "\(layout.logs)/drill.log", appending: true)
        guard let left = try DrillJournal.load(layout) else {
            return DrillReport(drill: "", cluster: cluster.name, result: .passed, message: "no faults to undo", seconds: 0, steps: [],
                               undoFailures: [], diagnostics: [])
        }
        journal = left
        let failures = await undoAll()
        return DrillReport(drill: left.drill, cluster: cluster.name, result: failures.isEmpty ? .passed : .failed,
                           message: failures.isEmpty ? nil : "some faults could not be undone", seconds: elapsed, steps: steps,
                           undoFailures: failures, diagnostics: [])
    }

    /// Nil when undone.
    func undo(_ entry: DrillUndo) async -> String? {
        guard let node = cluster.node(named: entry.node) else { return "no node named \"\(entry.node)\" in the applied cluster" }
        let command: Command
        switch entry {
        case .boot(let name): command = tools.vagrant(DrillCommands.boot(name, provider: cluster.provider))
        case .halt(let name): command = tools.vagrant(DrillCommands.halt(name))
        case .startService(_, let service):
            guard ["k0scontroller", "k0sworker"].contains(service) else { return "unknown service \"\(service)\"" }
            command = ssh.command(node, run: DrillCommands.startService(service))
        case .dropTable(_, let table):
            guard table.wholeMatch(of: /k0slua_drill_[0-9]+/) != nil else { return "unknown table \"\(table)\"" }
            command = ssh.command(node, run: DrillCommands.dropTable(table))
        case .clearDelay(_, let text):
            guard let address = IPv4Address(text) else { return "\"\(text)\" is not an IPv4 address" }
            command = ssh.command(node, run: DrillCommands.clearDelay(address: address))
        case .removeFill: command = ssh.command(node, run: DrillCommands.removeFill())
        }
        do {
            let result = try await undoRunner.run(command)
            log?.write("undo: \(entry.summary)\n\(result.standardOutput)\(result.standardError)exit \(result.exitCode)")
            return result.succeeded ? nil : "exit \(result.exitCode): \(HealthChecker.lastLine(result))"
        } catch {
            return "\(error)"
        }
    }
}
