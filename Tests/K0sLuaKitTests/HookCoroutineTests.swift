import Foundation
@testable import K0sLuaKit
import Testing

/// The hook module's coroutines on one Lua state, in process (so `task test:asan` runs them across
/// the C boundary): hooks interleave at their requests, answers come back as values or as errors
/// at the hook's line, where a hook cannot yield the host performs the request, and the time limit
/// is the hook's own Lua time summed over its steps.
@Suite struct HookCoroutineTests {
    static let source = """
    local kept -- a ctx one hook keeps and another calls
    return {
      two_steps = function(node, ctx)
        local first = ctx.run("first " .. node)
        ctx.log("got " .. first.stdout)
        local second = ctx:run_on("worker-2", "second " .. node, { check = false })
        return second.code
      end,
      failing = function(node, ctx)
        ctx.run("doomed " .. node)
      end,
      unyielding = function(node, ctx)
        local out = ("x"):gsub("x", function() return ctx.run("inside " .. node).stdout end)
        ctx.log(out)
      end,
      deep = function(node, ctx)
        local t = "leaf"
        for _ = 1, 100 do t = { a = t } end
        local ok, message = pcall(ctx.run, t)
        ctx.log(not ok and message:find("nested deeper than 64", 1, true) and "caught" or message)
      end,
      spin = function(node, ctx)
        ctx.run("before")
        while true do end
      end,
      keep = function(node, ctx)
        kept = ctx
        ctx.run("own " .. node)
      end,
      borrow = function(node, ctx)
        ctx.log("borrowed gave " .. kept.run("borrowed by " .. node).stdout)
      end,
    }
    """

    final class Log: @unchecked Sendable {
        var lines: [String] = []
        var performed: [[LuaValue]] = []
    }

    static func hooks(_ runtime: LuaRuntime) throws -> [String: LuaFunctionRef] {
        guard case .table(let table) = try runtime.evaluate(source: Data(source.utf8), displayName: "cluster.lua") else {
            throw DiagnosticList([])
        }
        var functions: [String: LuaFunctionRef] = [:]
        for entry in table.entries {
            if case .string(let name) = entry.key, case .function(let function) = entry.value { functions[name] = function }
        }
        return functions
    }

    /// A runtime that ran `source`, its hooks by name, and a hook stage's step function.
    static func stage(_ budget: LuaBudget = .default) throws -> (LuaRuntime, [String: LuaFunctionRef], LuaFunctionRef) {
        let runtime = try LuaRuntime(budget: budget, environment: [:], libraryDirectory: nil)
        return (runtime, try hooks(runtime), try runtime.prepareHookStage())
    }

    /// A ctx as Bootstrap.hookContext builds it; `perform` answers with stdout "performed".
    static func ctx(_ runtime: LuaRuntime, _ log: Log) -> LuaValue {
        runtime.makeTable(values: ["deferred": .table(LuaTable(entries: [(key: .integer(1), value: .string("run")),
                                                                          (key: .integer(2), value: .string("run_on"))]))],
                          functions: [
                              "log": { arguments throws(LuaHostError) in
                                  log.lines.append(arguments.map(\.shortDescription).joined(separator: " "))
                                  return []
                              },
                              "perform": { arguments throws(LuaHostError) in
                                  log.performed.append(arguments)
                                  return [HookHost.answer(.success(Self.result(code: 0, stdout: "performed")))]
                              },
                          ])
    }

    static func result(code: Int64, stdout: String) -> LuaValue {
        .table(LuaTable(entries: [(key: .string("code"), value: .integer(code)), (key: .string("stdout"), value: .string(stdout))]))
    }

    @Test func twoHooksInterleaveAtTheirRequestsAndEachGetsItsOwnAnswers() throws {
        let (runtime, hooks, step) = try Self.stage()
        let log = Log()
        var left1 = 30.0, left2 = 30.0
        let ctx = Self.ctx(runtime, log)
        let function = try #require(hooks["two_steps"])
        #expect(try runtime.stepHook(step, id: 1, start: (function, [.string("worker-1"), ctx]), reply: .nil_, seconds: &left1, context: "hook 1")
                == .request(kind: "run", arguments: [.string("first worker-1")]))
        #expect(try runtime.stepHook(step, id: 2, start: (function, [.string("worker-2"), Self.ctx(runtime, log)]), reply: .nil_, seconds: &left2,
                                     context: "hook 2")
                == .request(kind: "run", arguments: [.string("first worker-2")]))
        // Answers in the other order: each hook continues with its own.
        let second2 = try runtime.stepHook(step, id: 2, start: nil, reply: HookHost.answer(.success(Self.result(code: 0, stdout: "B"))),
                                           seconds: &left2, context: "hook 2")
        guard case .request(kind: "run_on", arguments: let arguments2) = second2 else { Issue.record("\(second2)"); return }
        #expect(arguments2.prefix(2) == [.string("worker-2"), .string("second worker-2")], "ctx:run_on dropped the ctx")
        let second1 = try runtime.stepHook(step, id: 1, start: nil, reply: HookHost.answer(.success(Self.result(code: 0, stdout: "A"))),
                                           seconds: &left1, context: "hook 1")
        guard case .request(kind: "run_on", arguments: let arguments1) = second1 else { Issue.record("\(second1)"); return }
        #expect(arguments1.prefix(2) == [.string("worker-2"), .string("second worker-1")])
        #expect(log.lines == ["\"got B\"", "\"got A\""])
        #expect(try runtime.stepHook(step, id: 1, start: nil, reply: HookHost.answer(.success(Self.result(code: 3, stdout: ""))),
                                     seconds: &left1, context: "hook 1") == .finished)
        #expect(try runtime.stepHook(step, id: 2, start: nil, reply: HookHost.answer(.success(Self.result(code: 0, stdout: ""))),
                                     seconds: &left2, context: "hook 2") == .finished)
        #expect(log.performed.isEmpty, "nothing ran through the blocking path")
        runtime.release(step)
    }

    @Test func anErrorAnswerIsRaisedAtTheHooksLineWithItsTraceback() throws {
        let (runtime, hooks, step) = try Self.stage()
        let log = Log()
        var left = 30.0
        let context = "hook \"pre_join\" for worker-1 (cluster.lua:8)"
        _ = try runtime.stepHook(step, id: 1, start: (try #require(hooks["failing"]), [.string("worker-1"), Self.ctx(runtime, log)]),
                                 reply: .nil_, seconds: &left, context: context)
        let state = try runtime.stepHook(step, id: 1, start: nil, reply: HookHost.answer(.failure(LuaHostError("`doomed worker-1` exited with 1"))),
                                         seconds: &left, context: context)
        guard case .failed(let problem) = state else { Issue.record("\(state)"); return }
        #expect(problem.message == "hook \"pre_join\" for worker-1 (cluster.lua:8) failed: cluster.lua:10: `doomed worker-1` exited with 1")
        #expect(problem.line == 10)
        let traceback = try #require(problem.traceback)
        #expect(traceback.contains("cluster.lua:10:"), "\(traceback)")
        #expect(!traceback.contains("hooks:") && !traceback.contains("xpcall"), "the host module's frames are left out: \(traceback)")
    }

    @Test func whereAHookCannotYieldTheHostPerformsTheRequest() throws {
        let (runtime, hooks, step) = try Self.stage()
        let log = Log()
        var left = 30.0
        let state = try runtime.stepHook(step, id: 1, start: (try #require(hooks["unyielding"]), [.string("worker-1"), Self.ctx(runtime, log)]),
                                         reply: .nil_, seconds: &left, context: "hook")
        #expect(state == .finished)
        #expect(log.performed.count == 1)
        #expect(log.performed.first?.first == .string("run"))
        #expect(HookStep.unpacked(try #require(log.performed.first?.last)) == [.string("inside worker-1")])
        #expect(log.lines == ["\"performed\""])
    }

    /// A ctx kept by one hook and called from another (of the same stage or a later one) runs its
    /// request through its own host, on its own hook's node, and waits: the yield would hand the
    /// request to the calling hook's host.
    @Test(arguments: [false, true])
    func aCtxCalledFromAnotherHookGoesToItsOwnHost(laterStage: Bool) throws {
        let (runtime, hooks, first) = try Self.stage()
        let keeper = Log(), borrower = Log()
        var left = 30.0
        #expect(try runtime.stepHook(first, id: 1, start: (try #require(hooks["keep"]), [.string("worker-1"), Self.ctx(runtime, keeper)]),
                                     reply: .nil_, seconds: &left, context: "keep") == .request(kind: "run", arguments: [.string("own worker-1")]))
        let second = laterStage ? try runtime.prepareHookStage() : first
        let state = try runtime.stepHook(second, id: 2, start: (try #require(hooks["borrow"]), [.string("worker-2"), Self.ctx(runtime, borrower)]),
                                         reply: .nil_, seconds: &left, context: "borrow")
        #expect(state == .finished)
        #expect(keeper.performed.count == 1 && borrower.performed.isEmpty, "the keeper's host ran it")
        #expect(HookStep.unpacked(try #require(keeper.performed.first?.last)) == [.string("borrowed by worker-2")])
        #expect(borrower.lines == ["\"borrowed gave performed\""])
        // The keeper's own request is still its own to answer.
        #expect(try runtime.stepHook(first, id: 1, start: nil, reply: HookHost.answer(.success(Self.result(code: 0, stdout: ""))),
                                     seconds: &left, context: "keep") == .finished)
    }

    @Test func unreadableArgumentsAreAnsweredAsAnErrorTheHookCanCatch() throws {
        let (runtime, hooks, step) = try Self.stage()
        let log = Log()
        var left = 30.0
        let state = try runtime.stepHook(step, id: 1, start: (try #require(hooks["deep"]), [.string("worker-1"), Self.ctx(runtime, log)]),
                                         reply: .nil_, seconds: &left, context: "hook")
        guard case .unreadableRequest(let message) = state else { Issue.record("\(state)"); return }
        #expect(message.contains("nested deeper than 64 levels"), "\(message)")
        #expect(try runtime.stepHook(step, id: 1, start: nil, reply: HookHost.answer(.failure(LuaHostError(message))), seconds: &left,
                                     context: "hook") == .finished)
        #expect(log.lines == ["\"caught\""])
    }

    @Test func theTimeLimitIsTheHooksOwnLuaTimeOverItsSteps() throws {
        let (runtime, hooks, step) = try Self.stage(LuaBudget(instructions: .max, memoryBytes: 64 << 20, seconds: 5, hookSeconds: 0.3))
        let log = Log()
        var left = runtime.budget.hookSeconds
        _ = try runtime.stepHook(step, id: 1, start: (try #require(hooks["spin"]), [.string("worker-1"), Self.ctx(runtime, log)]),
                                 reply: .nil_, seconds: &left, context: "hook \"pre_join\" for worker-1")
        #expect(left > 0 && left < 0.3, "the first step's Lua time came off the limit (\(left) s left)")
        // Time between steps (a program running) is not the hook's.
        Thread.sleep(forTimeInterval: 0.4)
        do throws(DiagnosticList) {
            _ = try runtime.stepHook(step, id: 1, start: nil, reply: HookHost.answer(.success(Self.result(code: 0, stdout: ""))),
                                     seconds: &left, context: "hook \"pre_join\" for worker-1")
            Issue.record("an endless loop ended")
        } catch {
            let problem = try #require(error.diagnostics.first)
            #expect(problem.code == .timeBudgetExhausted)
            #expect(problem.message == "hook \"pre_join\" for worker-1: time limit of 0.3 s exceeded (endless loop or runaway pattern?)")
            #expect(problem.hint?.contains("--max-hook-seconds") == true)
        }
    }
}
