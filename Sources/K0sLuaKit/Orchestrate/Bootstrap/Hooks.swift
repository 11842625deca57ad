import Foundation
import Logging

extension Bootstrap {
    /// Runs the Lua hooks of one stage: the cluster's `pre_join` before the nodes', the cluster's
    /// `post_join` after them. The nodes' hooks run side by side, at most `--parallel N` at once,
    /// started in plan order (docs/bootstrap.md).
    func hooks(_ phase: BootstrapPhase) async throws -> String? {
        let stage = phase == .preJoin ? "pre_join" : "post_join"
        let clusterHook = phase == .preJoin ? cluster.hooks.preJoin : cluster.hooks.postJoin
        // Node hooks run once, for nodes joining now (docs/bootstrap.md, "Lifecycle").
        let nodeCalls = cluster.nodes.filter { joining.contains($0.name) }.compactMap { node -> HookCall? in
            (phase == .preJoin ? node.hooks.preJoin : node.hooks.postJoin).map { HookCall(node: node, function: $0, stage: stage) }
        }
        var waves = [nodeCalls]
        if let clusterHook, !joining.isEmpty {
            let call = HookCall(node: nil, function: clusterHook, stage: stage)
            if phase == .preJoin { waves.insert([call], at: 0) } else { waves.append([call]) }
        }
        waves.removeAll { $0.isEmpty }
        guard !waves.isEmpty else { return "none" }
        let log = LogFile(path: "\(layout.logs)/hooks-\(stage).log")
        let hookStage = HookStage(runtime: loaded.runtime, runner: runner, limit: options.concurrency, progress: progress) { [self] node in
            HookHost(runner: runner, ssh: ssh, tools: tools, cluster: cluster, node: node, log: log, logger: loaded.runtime.logger)
        }
        let ran = waves.reduce(0) { $0 + $1.count }
        // ctx.nodes, built once per stage (a fleet's hooks would each build it again).
        let nodes = LuaValue.table(LuaTable(entries: cluster.nodes.enumerated().map { (key: .integer(Int64($0.offset + 1)), value: Self.luaNode($0.element)) }))
        for wave in waves {
            let failures = try await hookStage.run(wave, context: { [self] call, host in
                hookContext(stage: stage, node: call.node, host: host, nodes: nodes)
            })
            guard failures.isEmpty else {
                var lines = failures.flatMap { d in
                    (d.message + (d.traceback.map { "\n" + $0 } ?? "")).split(separator: "\n").map(String.init)
                }
                log.write(lines.joined(separator: "\n"))
                let message = failures.count == 1 ? lines.removeFirst() : "\(failures.count) \(stage) hooks failed"
                throw BootstrapFailure(phase: phase, tool: nil, message: message, outputTail: lines, logFile: log.path,
                                       hint: failures.compactMap(\.hint).first)
            }
        }
        return "\(ran) hook\(ran == 1 ? "" : "s") ran"
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

    /// The host's half of a hook's `ctx` (the hook module adds run, run_on and kubectl from
    /// `deferred` over `perform`). Runs on the Lua thread.
    func hookContext(stage: String, node: Node?, host: HookHost, nodes: LuaValue) -> LuaValue {
        let functions: [String: LuaHostFunction] = [
            "log": { arguments throws(LuaHostError) in try host.log(arguments) },
            "perform": { arguments throws(LuaHostError) in try host.perform(arguments) },
        ]
        var deferred = ["run_on"]
        if node != nil { deferred.append("run") }
        if stage == "post_join" { deferred.append("kubectl") }
        var values: [String: LuaValue] = ["phase": .string(stage), "cluster": .string(cluster.name)]
        values["nodes"] = nodes
        values["deferred"] = .table(LuaTable(entries: deferred.enumerated().map { (key: .integer(Int64($0.offset + 1)), value: .string($0.element)) }))
        return loaded.runtime.makeTable(values: values, functions: functions)
    }
}

/// A program a hook asked for (ctx.run, ctx.run_on, ctx.kubectl), ready to run.
struct HookCommand: Sendable {
    let command: Command
    /// The node it runs on; nil for kubectl on the host.
    let target: Node?
    /// The command as the hook wrote it: `apt-get install …`, or kubectl's words.
    let text: String
    /// A non-zero exit raises in the hook (ctx.run's `check`, always for kubectl).
    let check: Bool
}

/// The functions behind a hook's `ctx`: what a request asks for, and the answer the hook gets.
struct HookHost: Sendable {
    let runner: any ProcessRunning
    let ssh: NodeSSH
    let tools: Tools
    let cluster: Cluster
    /// The hook's node; nil for cluster-level hooks (no `ctx.run`).
    let node: Node?
    let log: LogFile
    let logger: Logger

    static func result(_ r: CommandResult) -> LuaValue {
        .table(LuaTable(entries: [
            (key: .string("code"), value: .integer(Int64(r.exitCode))),
            (key: .string("stdout"), value: .string(r.standardOutput)),
            (key: .string("stderr"), value: .string(r.standardError)),
        ]))
    }

    /// What the hook module makes of an answer: `{ value = … }` is returned, `{ error = … }` raised
    /// at the hook's line.
    static func answer(_ outcome: Result<LuaValue, LuaHostError>) -> LuaValue {
        switch outcome {
        case .success(let value): .table(LuaTable(entries: [(key: .string("value"), value: value)]))
        case .failure(let error): .table(LuaTable(entries: [(key: .string("error"), value: .string(error.message))]))
        }
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
        log.write(node.map { "[\($0.name)] " + text } ?? text)
        logger.info("\(text)")
        return []
    }

    /// The program behind `ctx.<kind>(arguments…)`; a usage error is raised in the hook.
    func command(_ kind: String, _ arguments: [LuaValue]) throws(LuaHostError) -> HookCommand {
        switch kind {
        case "run":
            guard let target = node else { throw LuaHostError("ctx.run: cluster-level hooks use ctx.run_on(node_name, command)") }
            guard case .string(let command)? = arguments.first else {
                throw LuaHostError("ctx.run(command [, { check = false }]): expected a command string")
            }
            return HookCommand(command: ssh.command(target, run: command), target: target, text: command,
                               check: Self.check(arguments.count > 1 ? arguments[1] : nil))
        case "run_on":
            guard arguments.count >= 2, case .string(let name) = arguments[0], case .string(let command) = arguments[1] else {
                throw LuaHostError("ctx.run_on(node_name, command [, { check = false }]): expected two strings")
            }
            guard let target = cluster.node(named: name) else { throw LuaHostError("ctx.run_on: no node named \"\(name)\"") }
            return HookCommand(command: ssh.command(target, run: command), target: target, text: command,
                               check: Self.check(arguments.count > 2 ? arguments[2] : nil))
        case "kubectl":
            let words = arguments.compactMap { value -> String? in if case .string(let s) = value { s } else { nil } }
            return HookCommand(command: tools.kubectl(words), target: nil, text: words.joined(separator: " "), check: true)
        default:
            throw LuaHostError("ctx.\(kind): not a hook function")
        }
    }

    /// `command(kind, arguments)` as a value.
    func prepare(_ kind: String, _ arguments: [LuaValue]) -> Result<HookCommand, LuaHostError> {
        do throws(LuaHostError) { return .success(try command(kind, arguments)) } catch { return .failure(error) }
    }

    /// How the log names a request: hooks run side by side, so every line says whose it is.
    func tag(_ command: HookCommand) -> String {
        switch (node, command.target) {
        case (let hook?, let target?) where hook.name != target.name: "[\(hook.name) → \(target.name)] "
        case (_, let target?): "[\(target.name)] "
        case (let hook?, nil): "[\(hook.name)] "
        case (nil, nil): ""
        }
    }

    func started(_ command: HookCommand) {
        log.write(tag(command) + (command.target == nil ? "$ kubectl " : "$ ") + command.text)
    }

    /// The answer for the hook once `command` ran.
    func answer(_ command: HookCommand, _ outcome: Result<CommandResult, any Error>) -> LuaValue {
        let who = tag(command)
        switch outcome {
        case .failure(let error):
            let what = command.target.map { "cannot run `\(command.text)` on \($0.name)" } ?? "cannot run kubectl"
            log.write("\(who)\(what): \(error)")
            return Self.answer(.failure(LuaHostError("\(what): \(error)")))
        case .success(let r):
            let lines = (r.standardOutput + r.standardError).split(separator: "\n").map { who + $0 } + ["\(who)exit \(r.exitCode)"]
            log.write(lines.joined(separator: "\n"))
            guard command.check, r.exitCode != 0 else { return Self.answer(.success(Self.result(r))) }
            guard let target = command.target else {
                return Self.answer(.failure(LuaHostError(
                    "`kubectl \(command.text)` exited with \(r.exitCode): \(r.standardError.trimmingCharacters(in: .whitespacesAndNewlines))")))
            }
            let detail = (r.standardError.isEmpty ? r.standardOutput : r.standardError).trimmingCharacters(in: .whitespacesAndNewlines)
            return Self.answer(.failure(LuaHostError("`\(command.text)` on \(target.name) exited with \(r.exitCode)" + (detail.isEmpty ? "" : ": \(detail)"))))
        }
    }

    /// `perform(kind, arguments)`: a request the hook could not yield (it was inside a sort
    /// comparison, say); runs it while the Lua thread waits.
    func perform(_ arguments: [LuaValue]) throws(LuaHostError) -> [LuaValue] {
        guard case .string(let kind)? = arguments.first, arguments.count == 2 else { throw LuaHostError("perform(kind, arguments)") }
        let request: HookCommand
        switch prepare(kind, HookStep.unpacked(arguments[1])) {
        case .failure(let error): return [Self.answer(.failure(error))]
        case .success(let command): request = command
        }
        started(request)
        let runner = self.runner, invocation = request.command
        return [answer(request, blocking { try await runner.run(invocation) })]
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
