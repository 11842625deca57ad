/// A value produced by cluster.lua, copied out of the Lua state. Nothing else leaves Lua.
public indirect enum LuaValue: Sendable, Equatable {
    case nil_
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case table(LuaTable)
    case function(LuaFunctionRef)

    /// The Lua type name, as `type()` would say it, with integer/float told apart.
    public var typeName: String {
        switch self {
        case .nil_: "nil"
        case .boolean: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .string: "string"
        case .table: "table"
        case .function: "function"
        }
    }

    /// A short rendering for error messages: strings quoted, tables summarised.
    public var shortDescription: String {
        switch self {
        case .nil_: "nil"
        case .boolean(let b): b ? "true" : "false"
        case .integer(let i): String(i)
        case .number(let d): d.rounded() == d && abs(d) < 1e15 ? String(format: "%.1f", d) : String(d)
        case .string(let s): "\"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
        case .table(let t): t.isSequence ? "a list of \(t.entries.count)" : "a table"
        case .function(let f): "function (\(f.source):\(f.line))"
        }
    }
}

/// A Lua table: entries in a stable order (array part by index, then other keys sorted), and the
/// cluster.lua line where it was created when known.
public struct LuaTable: Sendable, Equatable {
    public var entries: [(key: LuaValue, value: LuaValue)]
    public var line: Int?
    /// Lines of fields written in a multi-line constructor (`name = …` on its own line).
    public var fieldLines: [String: Int]

    public init(entries: [(key: LuaValue, value: LuaValue)], line: Int? = nil, fieldLines: [String: Int] = [:]) {
        self.entries = entries
        self.line = line
        self.fieldLines = fieldLines
    }

    /// The line of `key`'s field when known, else the table's line.
    public func line(of key: String) -> Int? { fieldLines[key] ?? line }

    public static func == (lhs: LuaTable, rhs: LuaTable) -> Bool {
        lhs.line == rhs.line && lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// True when the keys are exactly 1...n (an empty table counts as a sequence).
    public var isSequence: Bool {
        entries.enumerated().allSatisfy { index, entry in entry.key == .integer(Int64(index + 1)) }
    }

    /// The value stored under a string key.
    public subscript(key: String) -> LuaValue? {
        entries.first { $0.key == .string(key) }?.value
    }

    /// The string keys, in order.
    public var stringKeys: [String] {
        entries.compactMap { if case .string(let s) = $0.key { s } else { nil } }
    }
}

/// A reference to a Lua function kept alive in the runtime's registry.
public struct LuaFunctionRef: Sendable, Equatable, Hashable {
    public let reference: Int32
    /// The chunk the function was defined in (e.g. `cluster.lua`) and its first line.
    public let source: String
    public let line: Int

    public init(reference: Int32, source: String, line: Int) {
        self.reference = reference
        self.source = source
        self.line = line
    }
}
