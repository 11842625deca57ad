import CLua
import CLuaShim
import Foundation

/// Lua values in and out: snapshots of the stack as LuaValue trees, and LuaValues pushed back.
extension LuaRuntime {
    func string(at index: Int32) -> String? {
        var length = 0
        guard let bytes = k0s_tolstring_raw(state, index, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    func snapshotResult() throws(DiagnosticList) -> LuaValue {
        try snapshot(at: -1, path: "", depth: 0, seen: [])
    }

    private static let maximumDepth = 64

    /// stack: unchanged
    func snapshot(at index: Int32, path: String, depth: Int, seen: Set<UnsafeRawPointer>) throws(DiagnosticList) -> LuaValue {
        var keys: [LuaValue] = []
        keys.reserveCapacity(8)
        var seen = seen
        return try snapshot(at: index, root: path, keys: &keys, depth: depth, seen: &seen)
    }

    /// The path of the value under `keys` below `root`, built only for a diagnostic (building one
    /// per value cost ~5 % of a large plan).
    private static func path(_ root: String, _ keys: [LuaValue]) -> String {
        keys.reduce(root) { childPath($0, $1) }
    }

    /// `keys` leads from `root` to this value; `seen` holds the tables being read above it. Both
    /// are as given when this returns or throws.
    /// stack: unchanged
    private func snapshot(at index: Int32, root: String, keys: inout [LuaValue], depth: Int,
                          seen: inout Set<UnsafeRawPointer>) throws(DiagnosticList) -> LuaValue {
        let absolute = lua_absindex(state, index)
        switch lua_type(state, absolute) {
        case LUA_TNIL, LUA_TNONE: return .nil_
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(state, absolute) != 0)
        case LUA_TNUMBER:
            if k0s_isinteger(state, absolute) != 0 { return .integer(lua_tointegerx(state, absolute, nil)) }
            return .number(lua_tonumberx(state, absolute, nil))
        case LUA_TSTRING: return .string(string(at: absolute) ?? "")
        case LUA_TFUNCTION:
            try reserveStack(2, path: Self.path(root, keys), line: nil)
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
                                                 path: Self.path(root, keys), message: "a table that contains itself cannot be a cluster value")])
            }
            if depth >= Self.maximumDepth {
                throw DiagnosticList([Diagnostic(.invalidValue, file: trackedFile, line: line > 0 ? line : nil,
                                                 path: Self.path(root, keys), message: "tables nested deeper than \(Self.maximumDepth) levels",
                                                 hint: "no cluster value nests tables this deep; flatten this one")])
            }
            // Every level holds a key and a value on the Lua stack, which does not grow by itself.
            try reserveStack(4, path: Self.path(root, keys), line: line > 0 ? line : nil)
            seen.insert(pointer)
            defer { seen.remove(pointer) }
            var sequence: [(key: LuaValue, value: LuaValue)] = []
            var others: [(key: LuaValue, value: LuaValue)] = []
            lua_pushnil(state)
            while lua_next(state, absolute) != 0 {
                // stack: key value
                let key = try snapshotKey(at: -2, path: Self.path(root, keys), line: line)
                keys.append(key)
                let value: LuaValue
                do {
                    value = try snapshot(at: -1, root: root, keys: &keys, depth: depth + 1, seen: &seen)
                } catch {
                    keys.removeLast()
                    throw error
                }
                keys.removeLast()
                k0s_pop(state, 1)
                if case .integer = key { sequence.append((key, value)) } else { others.append((key, value)) }
            }
            sequence.sort { if case .integer(let a) = $0.0, case .integer(let b) = $1.0 { a < b } else { false } }
            others.sort { Self.keyPrecedes($0.0, $1.0) }
            // Only tables the tracked chunk constructed itself have their fields in its source.
            let fields = correctedLines[pointer] != nil ? fieldLines(tableLine: line) : [:]
            sequence.append(contentsOf: others)
            return .table(LuaTable(entries: sequence, line: line > 0 ? line : nil, fieldLines: fields))
        default:
            let typeName = String(cString: lua_typename(state, lua_type(state, absolute)))
            throw DiagnosticList([Diagnostic(.typeMismatch, file: trackedFile, line: nil, path: Self.path(root, keys),
                                             message: "a \(typeName) cannot be a cluster value")])
        }
    }

    /// Makes room for `slots` more values on the Lua stack (lua_checkstack never raises).
    private func reserveStack(_ slots: Int32, path: @autoclosure () -> String, line: Int?) throws(DiagnosticList) {
        guard lua_checkstack(state, slots) == 0 else { return }
        throw DiagnosticList([Diagnostic(.memoryBudgetExhausted, file: trackedFile, line: line, path: path(),
                                         message: "out of memory for the Lua stack while reading this value")])
    }

    func snapshotKey(at index: Int32, path: @autoclosure () -> String, line: Int) throws(DiagnosticList) -> LuaValue {
        switch lua_type(state, index) {
        case LUA_TSTRING: return .string(string(at: index) ?? "")
        case LUA_TNUMBER where k0s_isinteger(state, index) != 0: return .integer(lua_tointegerx(state, index, nil))
        case LUA_TNUMBER: return .number(lua_tonumberx(state, index, nil))
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(state, index) != 0)
        default:
            let typeName = String(cString: lua_typename(state, lua_type(state, index)))
            throw DiagnosticList([Diagnostic(.typeMismatch, file: trackedFile, line: line > 0 ? line : nil, path: path(),
                                             message: "table keys must be strings or numbers, got a \(typeName)")])
        }
    }

    /// The order of non-integer keys: numbers, then strings, then booleans, each kind by its text.
    private static func keyPrecedes(_ a: LuaValue, _ b: LuaValue) -> Bool {
        func kind(_ key: LuaValue) -> Int {
            switch key {
            case .number: 0
            case .string: 1
            case .boolean: 2
            default: 3
            }
        }
        switch (a, b) {
        case (.string(let x), .string(let y)): return x < y
        case (.number(let x), .number(let y)): return String(x) < String(y)
        case (.boolean(let x), .boolean(let y)): return String(x) < String(y)
        default: return kind(a) < kind(b)
        }
    }

    static func childPath(_ path: String, _ key: LuaValue) -> String {
        switch key {
        case .integer(let i): "\(path)[\(i)]"
        // An ASCII identifier, checked byte by byte (Character properties cost ~12 % of a 1,000-node plan).
        case .string(let s) where Syntax.all(s, first: { Syntax.isLetter($0) || $0 == UInt8(ascii: "_") },
                                             rest: { Syntax.isAlphanumeric($0) || $0 == UInt8(ascii: "_") }):
            path.isEmpty ? s : "\(path).\(s)"
        case .string(let s): "\(path)[\"\(s)\"]"
        default: "\(path)[\(key.shortDescription)]"
        }
    }

    /// stack: → value
    func push(_ value: LuaValue) {
        // A table needs its own slot, a key's and a value's; lua_checkstack fails only when malloc does.
        precondition(lua_checkstack(state, 3) != 0, "out of memory for the Lua stack")
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

}
