import CLua
import CLuaShim
import Foundation
import Logging

/// An error a host function reports to the calling Lua code (blamed on the caller's line).
public struct LuaHostError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// A Lua function implemented in Swift. Arguments arrive as snapshots; results are pushed back.
public typealias LuaHostFunction = ([LuaValue]) throws(LuaHostError) -> [LuaValue]

/// One sandboxed Lua 5.4 state. Not thread-safe: use it from one thread at a time.
public final class LuaRuntime: @unchecked Sendable {
    public let budget: LuaBudget
    public let logger: Logger
    /// The main thread; while a host function runs, the thread that called it (a drill's coroutine).
    var state: OpaquePointer
    let accounting: UnsafeMutablePointer<k0s_budget>
    var hostFunctions: [LuaHostFunction] = []
    /// The file whose lines are tracked and reported (the chunk name without `@`).
    var trackedFile: String = "cluster.lua"
    var trackedSourceName: UnsafeMutablePointer<CChar>?
    let environment: [String: String]
    let libraryDirectory: String?
    let hostFacts: HostFacts

    /// - Parameters:
    ///   - environment: what `k0s.env.*` reads (usually the process environment).
    ///   - libraryDirectory: the project's `lib/`, where `require` finds `.lua` modules.
    public init(budget: LuaBudget = .default, environment: [String: String], libraryDirectory: String?,
                hostFacts: HostFacts = .current, logger: Logger = Logger(label: "k0slua.lua")) throws(DiagnosticList) {
        self.budget = budget
        self.logger = logger
        self.environment = environment
        self.libraryDirectory = libraryDirectory
        self.hostFacts = hostFacts
        accounting = .allocate(capacity: 1)
        accounting.initialize(to: k0s_budget())
        accounting.pointee.memory_limit = budget.memoryBytes
        accounting.pointee.instruction_limit = budget.instructions
        accounting.pointee.collect_at = budget.memoryBytes / 2
        guard let state = k0s_newstate(accounting) else {
            accounting.deallocate()
            throw DiagnosticList([Diagnostic(.runtimeError, file: "k0slua", line: nil, path: "",
                                             message: "could not create a Lua state (out of memory)")])
        }
        self.state = state
        guard k0s_open_sandbox(state) == LUA_OK else {
            throw DiagnosticList([Diagnostic(.internalError, file: "k0slua", line: nil, path: "",
                                             message: "could not open the Lua sandbox")])
        }
        try installPrelude()
        k0s_install_hook(state, accounting)
    }

    deinit {
        k0s_close(state, accounting)
        free(trackedSourceName)
        accounting.deallocate()
    }

    /// Peak bytes held by the Lua allocator so far.
    public var peakMemoryBytes: Int { accounting.pointee.memory_peak }
    /// Instructions executed so far (to the nearest 1,000).
    public var instructionsUsed: Int64 { accounting.pointee.instructions_used }

    // MARK: - Running chunks

    /// Runs a cluster.lua file and returns the value it returns.
    /// - Parameter displayName: how the file is named in messages (e.g. `cluster.lua`).
    public func evaluate(file path: String, displayName: String) throws(DiagnosticList) -> LuaValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DiagnosticList([Diagnostic(.fileNotFound, file: displayName, line: nil, path: "",
                                             message: "cannot read \(path)",
                                             hint: "pass the cluster file with --file PATH")])
        }
        return try evaluate(source: data, displayName: displayName)
    }

    /// Makes `displayName` the tracked chunk: the one whose lines errors and budgets report.
    func track(_ displayName: String) {
        trackedFile = displayName
        free(trackedSourceName)
        trackedSourceName = strdup("@" + displayName)
        accounting.pointee.tracked_source = UnsafePointer(trackedSourceName)
        accounting.pointee.tracked_source_ptr = nil
    }

    /// Runs Lua source text (never bytecode) as the tracked chunk and returns its value.
    public func evaluate(source: Data, displayName: String) throws(DiagnosticList) -> LuaValue {
        track(displayName)
        let top = lua_gettop(state)
        defer { lua_settop(state, top) }
        let status = source.withUnsafeBytes { bytes in
            k0s_load_text(state, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, "@" + displayName)
        }
        if status != LUA_OK {
            throw DiagnosticList([loadError(status: status)])
        }
        k0s_set_deadline(accounting, budget.seconds)
        defer { k0s_set_deadline(accounting, 0) }
        try protectedCall(arguments: 0, results: 1, context: nil)
        correctedLines = correctTableLines(source: source)
        if !correctedLines.isEmpty { sourceIndex = LuaSourceScanner.Index([UInt8](source)) }
        defer {
            correctedLines = [:]
            sourceIndex = nil
            fieldLineCache = [:]
        }
        return try snapshotResult()
    }

    var correctedLines: [UnsafeRawPointer: Int] = [:]
    var sourceIndex: LuaSourceScanner.Index?
    var fieldLineCache: [Int: [String: Int]] = [:]

    /// Calls a Lua function kept by reference (a hook) with the given arguments.
    /// - Parameter context: how to name the call in errors, e.g. `hook "post_join" for worker-1`.
    @discardableResult
    public func call(_ function: LuaFunctionRef, arguments: [LuaValue], context: String) throws(DiagnosticList) -> LuaValue {
        let top = lua_gettop(state)
        defer { lua_settop(state, top) }
        k0s_getref(state, function.reference)
        guard lua_type(state, -1) == LUA_TFUNCTION else {
            throw DiagnosticList([Diagnostic(.internalError, file: function.source, line: function.line, path: "",
                                             message: "\(context) is not a live Lua function")])
        }
        for argument in arguments { push(argument) }
        k0s_set_deadline(accounting, budget.hookSeconds)
        defer { k0s_set_deadline(accounting, 0) }
        try protectedCall(arguments: Int32(arguments.count), results: 1, context: context)
        return try snapshot(at: -1, path: "result", depth: 0, seen: [])
    }

    /// Builds a Lua table whose fields are Swift functions (and plain values), e.g. a hook context.
    public func makeTable(values: [String: LuaValue] = [:], functions: [String: LuaHostFunction]) -> LuaValue {
        // A table of host functions cannot be snapshotted; keep it in the registry and pass a reference.
        lua_createtable(state, 0, Int32(values.count + functions.count))
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            push(value)
            lua_setfield(state, -2, key)
        }
        for (key, body) in functions.sorted(by: { $0.key < $1.key }) {
            pushHostFunction(body)
            lua_setfield(state, -2, key)
        }
        let reference = k0s_ref(state)
        return .function(LuaFunctionRef(reference: reference, source: "=host-table", line: 0))
    }

}
