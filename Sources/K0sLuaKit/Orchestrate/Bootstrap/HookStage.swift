import Foundation

/// One hook to run: a node's (`node` set) or the cluster's.
struct HookCall: Sendable {
    let node: Node?
    let function: LuaFunctionRef
    /// `pre_join` or `post_join`.
    let stage: String

    /// How messages name it: `hook "post_join" for worker-1 (cluster.lua:52)`.
    var context: String {
        "hook \"\(stage)\"\(node.map { " for \($0.name)" } ?? "") (\(function.source):\(function.line))"
    }
}

/// Runs hooks side by side on the one Lua state: each hook is a coroutine that runs until it asks
/// for a program (ctx.run, ctx.run_on, ctx.kubectl), and the programs of at most `limit` hooks run
/// at once while Lua goes on with the others. Only Lua code runs one piece at a time; a hook's own
/// steps keep their order. Hooks start in the order given; once one has failed no other starts,
/// and those already started run to their end. A budget exhausted ends the stage at once (the Lua
/// state is spent) and stops the programs still running; so does cancellation (Ctrl-C).
struct HookStage: Sendable {
    let runtime: LuaRuntime
    let runner: any ProcessRunning
    let limit: Int
    let progress: any ProgressReporting
    /// The host functions for a hook of this node (nil: the cluster's hook).
    let host: @Sendable (Node?) -> HookHost

    /// A hook's program ended: its result, or why it could not run.
    struct ProgramOutcome: Sendable {
        let hook: Int
        let result: Result<CommandResult, any Error>
    }

    /// Runs `calls`; returns why hooks failed, one diagnostic each (empty: every hook ran to its end).
    /// - Parameter context: the host's ctx for a hook; called on the Lua thread.
    func run(_ calls: [HookCall], context: @escaping @Sendable (HookCall, HookHost) -> LuaValue) async throws -> [Diagnostic] {
        guard !calls.isEmpty else { return [] }
        let runtime = self.runtime
        let prepared = await onLuaThread { () -> Result<LuaFunctionRef, DiagnosticList> in
            do throws(DiagnosticList) { return .success(try runtime.prepareHookStage()) } catch { return .failure(error) }
        }
        let step: LuaFunctionRef
        switch prepared {
        case .success(let function): step = function
        case .failure(let error): return [Self.first(error, calls[0])]
        }
        // Every Lua step below was awaited: nothing else uses the state when this runs.
        defer { runtime.release(step) }

        let hosts = calls.map { host($0.node) }
        var secondsLeft = [Double](repeating: runtime.budget.hookSeconds, count: calls.count)
        var running: [Int: HookCommand] = [:]
        var failures: [Diagnostic] = []
        try await withThrowingTaskGroup(of: ProgramOutcome.self) { group in
            var next = 0, active = 0
            // Hooks to step now: a new one (reply nil) or one whose request has its answer.
            var ready: [(index: Int, reply: LuaValue?)] = []
            while true {
                try Task.checkCancellation()
                while active < max(1, limit), next < calls.count, failures.isEmpty {
                    ready.append((next, nil))
                    next += 1
                    active += 1
                }
                if ready.isEmpty {
                    guard active > 0, let finished = try await group.next() else { break }
                    try Task.checkCancellation()
                    guard let command = running.removeValue(forKey: finished.hook) else { continue }
                    ready.append((finished.hook, hosts[finished.hook].answer(command, finished.result)))
                    continue
                }
                let (index, reply) = ready.removeFirst()
                let call = calls[index], host = hosts[index], left = secondsLeft[index]
                if reply == nil { progress.info("\(call.stage)\(call.node.map { " for \($0.name)" } ?? "")") }
                let stepped = await onLuaThread { () -> (Result<HookStep, DiagnosticList>, Double) in
                    var seconds = left
                    do throws(DiagnosticList) {
                        let start = reply == nil
                            ? (function: call.function, arguments: (call.node.map { [Bootstrap.luaNode($0)] } ?? []) + [context(call, host)]) : nil
                        let state = try runtime.stepHook(step, id: index, start: start, reply: reply ?? .nil_, seconds: &seconds,
                                                         context: call.context)
                        return (.success(state), seconds)
                    } catch {
                        return (.failure(error), seconds)
                    }
                }
                secondsLeft[index] = stepped.1
                switch stepped.0 {
                case .failure(let error):
                    failures.append(Self.first(error, call))
                    group.cancelAll()
                    return
                case .success(.finished):
                    active -= 1
                case .success(.failed(let diagnostic)):
                    active -= 1
                    failures.append(diagnostic)
                case .success(.unreadableRequest(let message)):
                    ready.append((index, HookHost.answer(.failure(LuaHostError(message)))))
                case .success(.request(let kind, let arguments)):
                    // Not inside a `do throws(LuaHostError)`: there Swift 6.3.1's optimizer corrupted the
                    // child task's result (release builds only; Benchmarks/fleet-bench.sh counts the hooks).
                    switch host.prepare(kind, arguments) {
                    case .failure(let error):
                        ready.append((index, HookHost.answer(.failure(error))))
                    case .success(let command):
                        host.started(command)
                        running[index] = command
                        group.addTask { [runner] in ProgramOutcome(hook: index, result: await runner.outcome(of: command.command)) }
                    }
                }
            }
        }
        return failures
    }

    private static func first(_ error: DiagnosticList, _ call: HookCall) -> Diagnostic {
        error.diagnostics.first ?? Diagnostic(.internalError, file: call.function.source, line: call.function.line, path: "",
                                              message: "\(call.context) failed")
    }
}

extension HookStep {
    /// The arguments of a `table.pack` result, nils in place.
    static func unpacked(_ packed: LuaValue) -> [LuaValue] {
        guard case .table(let table) = packed, case .integer(let count)? = table["n"], count > 0 else { return [] }
        var byPosition: [Int64: LuaValue] = [:]
        for entry in table.entries { if case .integer(let position) = entry.key { byPosition[position] = entry.value } }
        return (1...count).map { byPosition[$0] ?? .nil_ }
    }
}
