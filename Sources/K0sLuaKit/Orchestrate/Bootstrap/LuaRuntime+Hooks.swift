import CLua
import CLuaShim
import Foundation

/// The hook host module (Resources/hooks.lua), compiled into the binary like the k0s module.
enum HookModule {
    static let source = String(decoding: PackageResources.hooks_lua, as: UTF8.self)
}

/// Where a hook stands after k0slua resumed it.
enum HookStep: Equatable {
    /// It asks for `ctx.<kind>(arguments…)` (run, run_on, kubectl) and waits for the answer.
    case request(kind: String, arguments: [LuaValue])
    /// Its arguments could not be read (too deep, say): answer with this error.
    case unreadableRequest(String)
    case finished
    case failed(Diagnostic)
}

/// Running a stage's hooks as coroutines of the sandbox: each yields at ctx.run and friends.
extension LuaRuntime {
    /// Loads the hook module; returns its step function. One per stage.
    func prepareHookStage() throws(DiagnosticList) -> LuaFunctionRef {
        let top = lua_gettop(state)
        defer { lua_settop(state, top) }
        // stack: → module coroutine-library traceback-handler
        try pushHostModule(HookModule.source, chunk: "hooks", title: "hook")
        try pushCoroutineLibrary(for: "hooks")
        k0s_push_traceback_handler(state)
        k0s_set_deadline(accounting, budget.seconds)
        defer { k0s_set_deadline(accounting, 0) }
        try protectedCall(arguments: 2, results: 1, context: nil)
        guard lua_type(state, -1) == LUA_TFUNCTION else {
            throw DiagnosticList([Diagnostic(.internalError, file: "hooks", line: nil, path: "",
                                             message: "the hook module returned no step function")])
        }
        return LuaFunctionRef(reference: k0s_ref(state), source: "=hooks", line: 0)
    }

    /// Starts hook `id` (`start`: the hook and its arguments, the host's ctx last) or resumes it
    /// with `reply`, and runs its Lua until it asks for a program or ends.
    /// - Parameter seconds: the hook's time left (`--max-hook-seconds` over all its steps; time
    ///   waiting for programs does not count); updated to what is left after this step.
    /// - Throws: a budget exhausted (the state is spent: no hook of it may run on).
    func stepHook(_ step: LuaFunctionRef, id: Int, start: (function: LuaFunctionRef, arguments: [LuaValue])?, reply: LuaValue,
                  seconds: inout Double, context: String) throws(DiagnosticList) -> HookStep {
        let top = lua_gettop(state)
        defer { lua_settop(state, top) }
        k0s_getref(state, step.reference)
        lua_pushinteger(state, lua_Integer(id))
        push(reply)
        var count: Int32 = 2
        if let start {
            k0s_getref(state, start.function.reference)
            guard lua_type(state, -1) == LUA_TFUNCTION else {
                throw DiagnosticList([Diagnostic(.internalError, file: start.function.source, line: start.function.line, path: "",
                                                 message: "\(context) is not a live Lua function")])
            }
            for argument in start.arguments { push(argument) }
            count += 1 + Int32(start.arguments.count)
        }
        k0s_set_deadline(accounting, max(seconds, 1e-6))
        defer {
            seconds = k0s_seconds_left(accounting)
            k0s_set_deadline(accounting, 0)
        }
        try protectedCall(arguments: count, results: 3, context: context)
        // stack: … kind first second
        switch string(at: -3) {
        case "done":
            return .finished
        case "failed":
            return .failed(runtimeError(string(at: -2) ?? "(error object is not a string)", context: context))
        default:
            let kind = string(at: -2) ?? ""
            do throws(DiagnosticList) {
                return .request(kind: kind, arguments: HookStep.unpacked(try snapshot(at: -1, path: "ctx.\(kind)", depth: 0, seen: [])))
            } catch {
                let problem = error.diagnostics.first
                return .unreadableRequest(problem.map { $0.path.isEmpty ? $0.message : "\($0.path): \($0.message)" } ?? "ctx.\(kind): unreadable arguments")
            }
        }
    }

    /// Drops a registry reference (a stage's step function once the stage is over).
    func release(_ function: LuaFunctionRef) {
        k0s_unref(state, function.reference)
    }
}
