import Foundation
import Logging

extension Bootstrap {
    /// Runs the Lua hooks of one stage: the cluster's `pre_join` before the nodes', the cluster's
    /// `post_join` after them; nodes in plan order.
    func hooks(_ phase: BootstrapPhase) async throws -> String? {
        let stage = phase == .preJoin ? "pre_join" : "post_join"
        var calls: [(node: Node?, function: LuaFunctionRef)] = []
        let clusterHook = phase == .preJoin ? cluster.hooks.preJoin : cluster.hooks.postJoin
        for node in cluster.nodes {
            // Node hooks run once, for nodes joining now (docs/bootstrap.md, "Lifecycle").
            guard joining.contains(node.name) else { continue }
            if let function = phase == .preJoin ? node.hooks.preJoin : node.hooks.postJoin { calls.append((node, function)) }
        }
        if let clusterHook, !joining.isEmpty {
            if phase == .preJoin { calls.insert((nil, clusterHook), at: 0) } else { calls.append((nil, clusterHook)) }
        }
        guard !calls.isEmpty else { return "none" }
        let log = LogFile(path: "\(layout.logs)/hooks-\(stage).log")
        for call in calls {
            try Task.checkCancellation()
            let target = call.node.map { " for \($0.name)" } ?? ""
            let context = "hook \"\(stage)\"\(target) (\(call.function.source):\(call.function.line))"
            progress.info("\(stage)\(target)")
            let failure: String? = await onLuaThread { [self] () -> String? in
                let runtime = loaded.runtime
                let ctx = hookContext(stage: stage, node: call.node, log: log)
                do throws(DiagnosticList) {
                    let arguments: [LuaValue] = call.node.map { [Self.luaNode($0), ctx] } ?? [ctx]
                    try runtime.call(call.function, arguments: arguments, context: context)
                    return String?.none
                } catch {
                    return error.diagnostics.map { d in
                        d.message + (d.traceback.map { "\n" + $0 } ?? "")
                    }.joined(separator: "\n")
                }
            }
            if let failure {
                let lines = failure.split(separator: "\n").map(String.init)
                log.write(failure)
                throw BootstrapFailure(phase: phase, tool: nil, message: lines.first ?? context, outputTail: Array(lines.dropFirst()),
                                       logFile: log.path)
            }
        }
        return "\(calls.count) hook\(calls.count == 1 ? "" : "s") ran"
    }

    /// The node as hooks see it.
    static func luaNode(_ node: Node) -> LuaValue {
        .table(LuaTable(entries: [
            (key: .string("name"), value: .string(node.name)),
            (key: .string("role"), value: .string(node.role.rawValue)),
            (key: .string("k0s_role"), value: .string(node.k0sRole.rawValue)),
            (key: .string("ip"), value: node.ip.map { .string($0.description) } ?? .nil_),
            (key: .string("cpus"), value: .integer(Int64(node.cpus))),
            (key: .string("memory"), value: .integer(Int64(node.memoryMiB))),
            (key: .string("disk"), value: .integer(Int64(node.diskGB))),
            (key: .string("labels"), value: .table(LuaTable(entries: node.labels.map { (key: .string($0.key), value: .string($0.value)) }))),
            (key: .string("taints"), value: .table(LuaTable(entries: node.taints.enumerated().map { (key: .integer(Int64($0.offset + 1)), value: .string($0.element.description)) }))),
        ]))
    }

    /// `ctx` for a hook: run/run_on over SSH, kubectl after the join, log. Runs on the Lua thread.
    func hookContext(stage: String, node: Node?, log: LogFile) -> LuaValue {
        let host = HookHost(runner: runner, ssh: ssh, tools: tools, cluster: cluster, node: node, log: log, logger: loaded.runtime.logger)
        var functions: [String: LuaHostFunction] = [
            "log": { arguments throws(LuaHostError) in try host.log(arguments) },
            "run_on": { arguments throws(LuaHostError) in try host.runOn(arguments) },
        ]
        // Typed-throws closures are given their type before going into the dictionary (Swift 6.3
        // crashes in SILGen on the subscript-assignment form).
        let run: LuaHostFunction = { arguments throws(LuaHostError) in try host.run(arguments) }
        let kubectl: LuaHostFunction = { arguments throws(LuaHostError) in try host.kubectl(arguments) }
        if node != nil { functions["run"] = run }
        if stage == "post_join" { functions["kubectl"] = kubectl }
        var values: [String: LuaValue] = ["phase": .string(stage), "cluster": .string(cluster.name)]
        values["nodes"] = .table(LuaTable(entries: cluster.nodes.enumerated().map { (key: .integer(Int64($0.offset + 1)), value: Self.luaNode($0.element)) }))
        return loaded.runtime.makeTable(values: values, functions: functions)
    }
}

/// The functions behind a hook's `ctx`. They block the Lua thread while a program runs.
struct HookHost {
    let runner: any ProcessRunning
    let ssh: NodeSSH
    let tools: Tools
    let cluster: Cluster
    /// The hook's node; nil for cluster-level hooks (no `ctx.run`).
    let node: Node?
    let log: LogFile
    let logger: Logger

    static func result(_ r: CommandResult) -> [LuaValue] {
        [.table(LuaTable(entries: [
            (key: .string("code"), value: .integer(Int64(r.exitCode))),
            (key: .string("stdout"), value: .string(r.standardOutput)),
            (key: .string("stderr"), value: .string(r.standardError)),
        ]))]
    }

    /// Arguments after an optional leading table (the `ctx:run(...)` call style).
    static func plain(_ arguments: [LuaValue]) -> [LuaValue] {
        if case .table? = arguments.first, arguments.count > 1 { return Array(arguments.dropFirst()) }
        return arguments
    }

    static func check(_ options: LuaValue?) -> Bool {
        if case .table(let table)? = options, case .boolean(let value)? = table["check"] { return value }
        return true
    }

    func log(_ arguments: [LuaValue]) throws(LuaHostError) -> [LuaValue] {
        let text = Self.plain(arguments).map { value -> String in if case .string(let s) = value { s } else { value.shortDescription } }
            .joined(separator: "\t")
        log.write(text)
        logger.info("\(text)")
        return []
    }

    func run(_ arguments: [LuaValue]) throws(LuaHostError) -> [LuaValue] {
        guard let target = node else { throw LuaHostError("ctx.run: cluster-level hooks use ctx.run_on(node_name, command)") }
        let args = Self.plain(arguments)
        guard case .string(let command)? = args.first else {
            throw LuaHostError("ctx.run(command [, { check = false }]): expected a command string")
        }
        return try execute(on: target, command, check: Self.check(args.count > 1 ? args[1] : nil))
    }

    func runOn(_ arguments: [LuaValue]) throws(LuaHostError) -> [LuaValue] {
        let args = Self.plain(arguments)
        guard args.count >= 2, case .string(let name) = args[0], case .string(let command) = args[1] else {
            throw LuaHostError("ctx.run_on(node_name, command [, { check = false }]): expected two strings")
        }
        guard let target = cluster.node(named: name) else { throw LuaHostError("ctx.run_on: no node named \"\(name)\"") }
        return try execute(on: target, command, check: Self.check(args.count > 2 ? args[2] : nil))
    }

    func execute(on target: Node, _ command: String, check: Bool) throws(LuaHostError) -> [LuaValue] {
        log.write("[\(target.name)] $ \(command)")
        let runner = self.runner
        let invocation = ssh.command(target, run: command)
        switch blocking({ try await runner.run(invocation) }) {
        case .failure(let error):
            throw LuaHostError("cannot run `\(command)` on \(target.name): \(error)")
        case .success(let r):
            log.write(r.standardOutput + r.standardError + "exit \(r.exitCode)")
            if check, r.exitCode != 0 {
                let detail = (r.standardError.isEmpty ? r.standardOutput : r.standardError).trimmingCharacters(in: .whitespacesAndNewlines)
                throw LuaHostError("`\(command)` on \(target.name) exited with \(r.exitCode)" + (detail.isEmpty ? "" : ": \(detail)"))
            }
            return Self.result(r)
        }
    }

    func kubectl(_ arguments: [LuaValue]) throws(LuaHostError) -> [LuaValue] {
        let words = Self.plain(arguments).compactMap { value -> String? in if case .string(let s) = value { s } else { nil } }
        log.write("$ kubectl \(words.joined(separator: " "))")
        let runner = self.runner
        let invocation = tools.kubectl(words)
        switch blocking({ try await runner.run(invocation) }) {
        case .failure(let error):
            throw LuaHostError("cannot run kubectl: \(error)")
        case .success(let r):
            if r.exitCode != 0 {
                throw LuaHostError("`kubectl \(words.joined(separator: " "))` exited with \(r.exitCode): \(r.standardError.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            return Self.result(r)
        }
    }
}

/// Runs `body` on a thread of its own (Lua is not thread-safe and its host functions block).
func onLuaThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// Waits for async work from a thread that is not part of Swift's cooperative pool.
private final class ResultBox<T>: @unchecked Sendable {
    var value: Result<T, any Error>?
}

func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.value = .success(try await work()) } catch { box.value = .failure(error) }
        done.signal()
    }
    done.wait()
    return box.value!
}
