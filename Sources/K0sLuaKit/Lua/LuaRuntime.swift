import CLua
import CLuaShim
import Foundation
import Logging

/// Limits a script cannot evade with pcall or coroutines.
public struct LuaBudget: Sendable, Equatable {
    /// Lua VM instructions, counted in steps of 1,000.
    public var instructions: Int64
    /// Bytes the Lua allocator may hold at once.
    public var memoryBytes: Int
    /// Wall-clock seconds cluster.lua may run, inside C functions such as string.match too.
    public var seconds: Double
    /// Wall-clock seconds each hook call may run Lua; time waiting for programs it starts
    /// (`ctx.run`, `ctx.kubectl`) does not count.
    public var hookSeconds: Double

    /// 200 million instructions (about a second of pure Lua), 256 MiB, 5 s for cluster.lua and
    /// 30 s of Lua per hook call.
    public static let `default` = LuaBudget(instructions: 200_000_000, memoryBytes: 256 << 20)
    public static let defaultSeconds: Double = 5
    public static let defaultHookSeconds: Double = 30

    public init(instructions: Int64, memoryBytes: Int, seconds: Double = LuaBudget.defaultSeconds,
                hookSeconds: Double = LuaBudget.defaultHookSeconds) {
        self.instructions = instructions
        self.memoryBytes = memoryBytes
        self.seconds = seconds
        self.hookSeconds = hookSeconds
    }
}

/// Read-only facts about the machine k0slua runs on, offered to cluster.lua as `k0s.host`.
public struct HostFacts: Sendable, Equatable {
    public var cpus: Int
    public var memoryMiB: Int
    /// `linux` or `macos`.
    public var os: String
    /// `arm64` or `x86_64`.
    public var arch: String

    public init(cpus: Int, memoryMiB: Int, os: String, arch: String) {
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.os = os
        self.arch = arch
    }

    /// The facts of this machine.
    public static var current: HostFacts {
        #if os(macOS)
        let os = "macos"
        #else
        let os = "linux"
        #endif
        #if arch(arm64)
        let arch = "arm64"
        #else
        let arch = "x86_64"
        #endif
        return HostFacts(cpus: ProcessInfo.processInfo.activeProcessorCount,
                         memoryMiB: Int(ProcessInfo.processInfo.physicalMemory >> 20), os: os, arch: arch)
    }
}

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
    private let state: OpaquePointer
    private let accounting: UnsafeMutablePointer<k0s_budget>
    private var hostFunctions: [LuaHostFunction] = []
    /// The file whose lines are tracked and reported (the chunk name without `@`).
    private var trackedFile: String = "cluster.lua"
    private var trackedSourceName: UnsafeMutablePointer<CChar>?
    private let environment: [String: String]
    private let libraryDirectory: String?
    private let hostFacts: HostFacts

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
            throw DiagnosticList([Diagnostic(.runtimeError, file: "k0slua", line: nil, path: "",
                                             message: "bug: could not open the Lua sandbox")])
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

    /// Runs Lua source text (never bytecode) as the tracked chunk and returns its value.
    public func evaluate(source: Data, displayName: String) throws(DiagnosticList) -> LuaValue {
        trackedFile = displayName
        free(trackedSourceName)
        trackedSourceName = strdup("@" + displayName)
        accounting.pointee.tracked_source = UnsafePointer(trackedSourceName)
        accounting.pointee.tracked_source_ptr = nil
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

    private var correctedLines: [UnsafeRawPointer: Int] = [:]
    private var sourceIndex: LuaSourceScanner.Index?
    private var fieldLineCache: [Int: [String: Int]] = [:]

    private func fieldLines(tableLine: Int) -> [String: Int] {
        guard tableLine > 0, let sourceIndex else { return [:] }
        if let cached = fieldLineCache[tableLine] { return cached }
        let lines = LuaSourceScanner.fieldLines(in: sourceIndex, tableLine: tableLine)
        fieldLineCache[tableLine] = lines
        return lines
    }

    /// The line a table really starts on. NEWTABLE carries the line of the token before `{`, which
    /// is the previous line when `{` opens a line. Tables built by the tracked chunk itself are
    /// matched, in creation order, to the `{` tokens of the source; the rest keep their line.
    private func correctTableLines(source: Data) -> [UnsafeRawPointer: Int] {
        let budget = accounting.pointee
        var constructed: [(pointer: UnsafeRawPointer, line: Int, sequence: Int64)] = []
        for slot in 0..<budget.table_capacity {
            guard let key = budget.table_keys[slot], budget.table_claimable[slot] != 0 else { continue }
            constructed.append((UnsafeRawPointer(key), Int(budget.table_lines[slot]), budget.table_sequences[slot]))
        }
        constructed.sort { $0.sequence < $1.sequence }
        let braces = LuaSourceScanner.openingBraceLines(in: source)
        var corrected: [UnsafeRawPointer: Int] = [:]
        var next = 0
        for table in constructed {
            while next < braces.count, braces[next] < table.line { next += 1 }
            // A `{` more than a few lines further on belongs to some later constructor.
            guard next < braces.count, braces[next] <= table.line + 3 else { continue }
            corrected[table.pointer] = braces[next]
            next += 1
        }
        return corrected
    }

    /// Calls a Lua function kept by reference (a hook) with the given arguments.
    /// - Parameter context: how to name the call in errors, e.g. `hook "post_join" for worker-1`.
    @discardableResult
    public func call(_ function: LuaFunctionRef, arguments: [LuaValue], context: String) throws(DiagnosticList) -> LuaValue {
        let top = lua_gettop(state)
        defer { lua_settop(state, top) }
        k0s_getref(state, function.reference)
        guard lua_type(state, -1) == LUA_TFUNCTION else {
            throw DiagnosticList([Diagnostic(.runtimeError, file: function.source, line: function.line, path: "",
                                             message: "bug: \(context) is not a live Lua function")])
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

    // MARK: - Protected calls and errors

    private func protectedCall(arguments: Int32, results: Int32, context: String?) throws(DiagnosticList) {
        let status = k0s_pcall(state, arguments, results)
        let exhausted = accounting.pointee.exhausted
        if exhausted != K0S_NOT_EXHAUSTED {
            let message = status == LUA_OK ? "" : (string(at: -1) ?? "")
            let (line, _) = locate(message)
            let code: DiagnosticCode, what: String, flag: String
            switch exhausted {
            case K0S_INSTRUCTIONS_EXHAUSTED:
                (code, what, flag) = (.instructionBudgetExhausted, "instruction budget of \(budget.instructions) exhausted (endless loop?)",
                                      "--max-instructions")
            case K0S_TIME_EXHAUSTED:
                let seconds = context == nil ? budget.seconds : budget.hookSeconds
                (code, what, flag) = (.timeBudgetExhausted, "time limit of \(Self.seconds(seconds)) exceeded (endless loop or runaway pattern?)",
                                      context == nil ? "--max-seconds" : "--max-hook-seconds")
            default:
                (code, what, flag) = (.memoryBudgetExhausted, "memory budget of \(budget.memoryBytes >> 20) MiB exhausted", "--max-memory")
            }
            throw DiagnosticList([Diagnostic(code, file: trackedFile, line: line ?? lineOfLastTrackedStatement, path: "",
                                             message: (context.map { "\($0): " } ?? "") + what,
                                             hint: "if the script is right, raise the limit with \(flag)")])
        }
        guard status == LUA_OK else {
            let full = string(at: -1) ?? "(error object is not a string)"
            let (message, traceback) = splitTraceback(full)
            let (line, file) = locate(message)
            var text = stripLocation(message)
            if let context {
                let location = line.map { "\(file ?? trackedFile):\($0): " } ?? ""
                text = "\(context) failed: \(location)\(text)"
            }
            throw DiagnosticList([Diagnostic(.runtimeError, file: file ?? trackedFile, line: line, path: "",
                                             message: text, traceback: traceback)])
        }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }

    private var lineOfLastTrackedStatement: Int? {
        let line = Int(accounting.pointee.current_line)
        return line > 0 ? line : nil
    }

    private func loadError(status: Int32) -> Diagnostic {
        let message = string(at: -1) ?? "cannot load chunk"
        if status == LUA_ERRMEM {
            return Diagnostic(.memoryBudgetExhausted, file: trackedFile, line: nil, path: "",
                              message: "memory budget of \(budget.memoryBytes >> 20) MiB exhausted while loading",
                              hint: "raise the limit with --max-memory")
        }
        let (line, file) = locate(message)
        return Diagnostic(.syntaxError, file: file ?? trackedFile, line: line, path: "", message: stripLocation(message))
    }

    private func splitTraceback(_ text: String) -> (String, String?) {
        guard let range = text.range(of: "\nstack traceback:\n") else { return (text, nil) }
        // The host's own frames (error(), the k0s prelude) say nothing to the user.
        let frames = text[range.upperBound...].split(separator: "\n").filter { frame in
            let trimmed = frame.trimmingCharacters(in: .whitespaces)
            return !trimmed.hasPrefix("[C]: in function 'error'") && !trimmed.hasPrefix("k0s:")
                && trimmed != "(...tail calls...)" && !trimmed.hasPrefix("[C]: in ?")
        }
        return (String(text[..<range.lowerBound]), (["stack traceback:"] + frames).joined(separator: "\n"))
    }

    /// Finds `file:LINE:` at the start of a Lua message.
    private func locate(_ message: String) -> (line: Int?, file: String?) {
        let parts = message.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let line = Int(parts[1]) else { return (nil, nil) }
        return (line, String(parts[0]))
    }

    private func stripLocation(_ message: String) -> String {
        let parts = message.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, Int(parts[1]) != nil else { return message }
        return parts[2].trimmingCharacters(in: .whitespaces)
    }

    // MARK: - Values in and out

    private func string(at index: Int32) -> String? {
        var length = 0
        guard let bytes = k0s_tolstring_raw(state, index, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    private func snapshotResult() throws(DiagnosticList) -> LuaValue {
        try snapshot(at: -1, path: "", depth: 0, seen: [])
    }

    private static let maximumDepth = 64

    /// stack: unchanged
    func snapshot(at index: Int32, path: String, depth: Int, seen: Set<UnsafeRawPointer>) throws(DiagnosticList) -> LuaValue {
        let absolute = lua_absindex(state, index)
        switch lua_type(state, absolute) {
        case LUA_TNIL, LUA_TNONE: return .nil_
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(state, absolute) != 0)
        case LUA_TNUMBER:
            if k0s_isinteger(state, absolute) != 0 { return .integer(lua_tointegerx(state, absolute, nil)) }
            return .number(lua_tonumberx(state, absolute, nil))
        case LUA_TSTRING: return .string(string(at: absolute) ?? "")
        case LUA_TFUNCTION:
            var debug = lua_Debug()
            lua_pushvalue(state, absolute)
            lua_getinfo(state, ">S", &debug)
            let source = debug.source.map { String(cString: $0) } ?? "?"
            lua_pushvalue(state, absolute)
            let reference = k0s_ref(state)
            let shown = source.hasPrefix("@") || source.hasPrefix("=") ? String(source.dropFirst()) : source
            return .function(LuaFunctionRef(reference: reference, source: shown, line: Int(debug.linedefined)))
        case LUA_TTABLE:
            guard let pointer = lua_topointer(state, absolute) else { return .nil_ }
            let line = correctedLines[pointer] ?? Int(k0s_table_line(state, accounting, absolute))
            if seen.contains(pointer) {
                throw DiagnosticList([Diagnostic(.invalidValue, file: trackedFile, line: line > 0 ? line : nil,
                                                 path: path, message: "a table that contains itself cannot be a cluster value")])
            }
            if depth >= Self.maximumDepth {
                throw DiagnosticList([Diagnostic(.invalidValue, file: trackedFile, line: line > 0 ? line : nil,
                                                 path: path, message: "tables nested deeper than \(Self.maximumDepth) levels")])
            }
            var seen = seen
            seen.insert(pointer)
            var sequence: [(LuaValue, LuaValue)] = []
            var others: [(LuaValue, LuaValue)] = []
            lua_pushnil(state)
            while lua_next(state, absolute) != 0 {
                // stack: key value
                let key = try snapshotKey(at: -2, path: path, line: line)
                let childPath = Self.childPath(path, key)
                let value = try snapshot(at: -1, path: childPath, depth: depth + 1, seen: seen)
                k0s_pop(state, 1)
                if case .integer = key { sequence.append((key, value)) } else { others.append((key, value)) }
            }
            sequence.sort { if case .integer(let a) = $0.0, case .integer(let b) = $1.0 { a < b } else { false } }
            others.sort { Self.keyOrder($0.0) < Self.keyOrder($1.0) }
            // Only tables the tracked chunk constructed itself have their fields in its source.
            let fields = correctedLines[pointer] != nil ? fieldLines(tableLine: line) : [:]
            return .table(LuaTable(entries: (sequence + others).map { (key: $0.0, value: $0.1) }, line: line > 0 ? line : nil,
                                   fieldLines: fields))
        default:
            let typeName = String(cString: lua_typename(state, lua_type(state, absolute)))
            throw DiagnosticList([Diagnostic(.typeMismatch, file: trackedFile, line: nil, path: path,
                                             message: "a \(typeName) cannot be a cluster value")])
        }
    }

    private func snapshotKey(at index: Int32, path: String, line: Int) throws(DiagnosticList) -> LuaValue {
        switch lua_type(state, index) {
        case LUA_TSTRING: return .string(string(at: index) ?? "")
        case LUA_TNUMBER where k0s_isinteger(state, index) != 0: return .integer(lua_tointegerx(state, index, nil))
        case LUA_TNUMBER: return .number(lua_tonumberx(state, index, nil))
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(state, index) != 0)
        default:
            let typeName = String(cString: lua_typename(state, lua_type(state, index)))
            throw DiagnosticList([Diagnostic(.typeMismatch, file: trackedFile, line: line > 0 ? line : nil, path: path,
                                             message: "table keys must be strings or numbers, got a \(typeName)")])
        }
    }

    private static func keyOrder(_ key: LuaValue) -> String {
        switch key {
        case .string(let s): "1" + s
        case .number(let d): "0" + String(d)
        case .boolean(let b): "2" + String(b)
        default: "3"
        }
    }

    static func childPath(_ path: String, _ key: LuaValue) -> String {
        switch key {
        case .integer(let i): "\(path)[\(i)]"
        case .string(let s) where s.first.map({ $0.isLetter || $0 == "_" }) ?? false
            && s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }):
            path.isEmpty ? s : "\(path).\(s)"
        case .string(let s): "\(path)[\"\(s)\"]"
        default: "\(path)[\(key.shortDescription)]"
        }
    }

    /// stack: → value
    func push(_ value: LuaValue) {
        switch value {
        case .nil_: lua_pushnil(state)
        case .boolean(let b): lua_pushboolean(state, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(state, i)
        case .number(let d): lua_pushnumber(state, d)
        case .string(let s):
            var copy = s
            copy.withUTF8 { bytes in
                _ = bytes.withMemoryRebound(to: CChar.self) { lua_pushlstring(state, $0.baseAddress, $0.count) }
            }
        case .table(let table):
            lua_createtable(state, 0, Int32(table.entries.count))
            for entry in table.entries {
                push(entry.key)
                push(entry.value)
                lua_rawset(state, -3)
            }
        case .function(let reference):
            k0s_getref(state, reference.reference)
        }
    }

    // MARK: - Host functions

    /// stack: → closure
    private func pushHostFunction(_ body: @escaping LuaHostFunction) {
        hostFunctions.append(body)
        lua_pushlightuserdata(state, Unmanaged.passUnretained(self).toOpaque())
        lua_pushinteger(state, lua_Integer(hostFunctions.count - 1))
        k0s_push_host_function(state, luaRuntimeDispatch, 2)
    }

    fileprivate func dispatch(_ L: OpaquePointer) -> Int32 {
        let index = Int(lua_tointegerx(L, k0s_upvalueindex(3), nil))
        let count = lua_gettop(L)
        var arguments: [LuaValue] = []
        for position in stride(from: 1, through: count, by: 1) {
            do {
                arguments.append(try snapshot(at: position, path: "argument #\(position)", depth: 0, seen: []))
            } catch {
                let message = error.diagnostics.first?.description ?? "bad argument #\(position)"
                return raise(L, message)
            }
        }
        do {
            let results = try hostFunctions[index](arguments)
            for result in results { push(result) }
            return Int32(results.count)
        } catch {
            return raise(L, error.message)
        }
    }

    private func raise(_ L: OpaquePointer, _ message: String) -> Int32 {
        push(.string(message))
        return K0S_RAISE
    }

    // MARK: - Prelude

    private func installPrelude() throws(DiagnosticList) {
        let top = lua_gettop(state)
        defer { lua_settop(state, top) }
        let status = K0sModule.source.withCString { k0s_load_text(state, $0, strlen($0), "=k0s") }
        guard status == LUA_OK else {
            throw DiagnosticList([Diagnostic(.runtimeError, file: "k0s", line: nil, path: "",
                                             message: "bug: the k0s module does not load: \(string(at: -1) ?? "")")])
        }
        let environment = self.environment
        let logger = self.logger
        let libraryDirectory = self.libraryDirectory
        let facts = hostFacts
        let host: [String: LuaHostFunction] = [
            "getenv": { arguments throws(LuaHostError) in
                guard case .string(let name)? = arguments.first else { throw LuaHostError("getenv: expected a name") }
                return [environment[name].map(LuaValue.string) ?? .nil_]
            },
            "log": { arguments throws(LuaHostError) in
                guard arguments.count == 2, case .string(let level) = arguments[0], case .string(let text) = arguments[1] else {
                    throw LuaHostError("log: expected a level and a message")
                }
                switch level {
                case "debug": logger.debug("\(text)")
                case "warn": logger.warning("\(text)")
                default: logger.info("\(text)")
                }
                return []
            },
            "read_module": { arguments throws(LuaHostError) in
                guard case .string(let name)? = arguments.first else { throw LuaHostError("require: expected a module name") }
                return Self.readModule(name, libraryDirectory: libraryDirectory)
            },
        ]
        lua_createtable(state, 0, 5)
        for (key, body) in host.sorted(by: { $0.key < $1.key }) {
            pushHostFunction(body)
            lua_setfield(state, -2, key)
        }
        push(.table(LuaTable(entries: [
            (key: .string("cpus"), value: .integer(Int64(facts.cpus))),
            (key: .string("memory_mb"), value: .integer(Int64(facts.memoryMiB))),
            (key: .string("os"), value: .string(facts.os)),
            (key: .string("arch"), value: .string(facts.arch)),
        ])))
        lua_setfield(state, -2, "facts")
        let callStatus = k0s_pcall(state, 1, 0)
        guard callStatus == LUA_OK else {
            throw DiagnosticList([Diagnostic(.runtimeError, file: "k0s", line: nil, path: "",
                                             message: "bug: the k0s module failed: \(string(at: -1) ?? "")")])
        }
        k0s_make_globals_strict(state)
    }

    /// Module names are dotted Lua identifiers; `a.b` is `lib/a/b.lua`. Returns source and chunk
    /// name, or nil and a message.
    static func readModule(_ name: String, libraryDirectory: String?) -> [LuaValue] {
        let valid = !name.isEmpty && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
        }
        guard valid else {
            return [.nil_, .string("module '\(name)' not found: names are dotted identifiers such as \"k0slua.nodes\"")]
        }
        guard let libraryDirectory else {
            return [.nil_, .string("module '\(name)' not found: no lib/ directory next to the cluster file")]
        }
        let relative = "lib/" + name.replacingOccurrences(of: ".", with: "/") + ".lua"
        let path = libraryDirectory + "/" + name.replacingOccurrences(of: ".", with: "/") + ".lua"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: path)
        else {
            return [.nil_, .string("module '\(name)' not found: no file \(relative) (only the host module \"k0s\" and .lua files under lib/ can be required)")]
        }
        return [.string(String(decoding: data, as: UTF8.self)), .string("@" + relative)]
    }
}

private func luaRuntimeDispatch(_ L: OpaquePointer?) -> Int32 {
    guard let L, let raw = lua_touserdata(L, k0s_upvalueindex(2)) else { return 0 }
    return Unmanaged<LuaRuntime>.fromOpaque(raw).takeUnretainedValue().dispatch(L)
}
