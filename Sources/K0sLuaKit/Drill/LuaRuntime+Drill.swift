import CLua
import CLuaShim
import Foundation

/// The drill host module (Resources/drill.lua), compiled into the binary like the k0s module.
enum DrillModule {
    static let source = String(decoding: PackageResources.drill_lua, as: UTF8.self)
}

/// Running a drill file as a coroutine of the sandbox: it yields requests, k0slua answers them.
extension LuaRuntime {
    /// Loads `source` as the tracked chunk (a syntax error is reported with its line before
    /// anything runs) and the drill module around it. Returns the function that resumes the drill.
    /// - Parameter host: `{ nodes = {…}, cluster = {…} }`, what the drill module offers as
    ///   `drill.nodes` and `drill.cluster`.
    func prepareDrill(source: Data, displayName: String, host: LuaValue) throws(DiagnosticList) -> LuaFunctionRef {
        track(displayName)
        let top = lua_gettop(state)
        defer { lua_settop(state, top) }
        // stack: → module host coroutine-library
        try pushHostModule(DrillModule.source, chunk: "drill", title: "drill")
        push(host)
        try pushCoroutineLibrary(for: "drill")
        // stack: … → module host coroutine-library body
        let status = source.withUnsafeBytes { bytes in
            k0s_load_text(state, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, "@" + displayName)
        }
        if status != LUA_OK { throw DiagnosticList([loadError(status: status)]) }
        k0s_set_deadline(accounting, budget.seconds)
        defer { k0s_set_deadline(accounting, 0) }
        try protectedCall(arguments: 3, results: 1, context: nil)
        guard case .function(let step) = try snapshot(at: -1, path: "", depth: 0, seen: []) else {
            throw DiagnosticList([Diagnostic(.internalError, file: "drill", line: nil, path: "",
                                             message: "the drill module returned no step function")])
        }
        return step
    }

    /// Resumes the drill with `reply` and returns its next request. The Lua it runs until then
    /// has the cluster.lua time budget (`--max-seconds`); instructions and memory count for the
    /// whole drill. A Lua error in the drill is a diagnostic at its line.
    func stepDrill(_ step: LuaFunctionRef, reply: LuaValue) throws(DiagnosticList) -> (request: LuaValue, line: Int?) {
        let top = lua_gettop(state)
        defer { lua_settop(state, top) }
        k0s_getref(state, step.reference)
        push(reply)
        k0s_set_deadline(accounting, budget.seconds)
        defer { k0s_set_deadline(accounting, 0) }
        try protectedCall(arguments: 1, results: 1, context: nil)
        return (try snapshot(at: -1, path: "", depth: 0, seen: []), lineOfLastTrackedStatement)
    }
}
