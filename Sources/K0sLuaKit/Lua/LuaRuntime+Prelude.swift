import CLua
import CLuaShim
import Foundation
import Logging

/// The `k0s` host module and `require` of lib/ modules.
extension LuaRuntime {
    /// Loads one of k0slua's own Lua modules (k0s, drill, hooks: compiled in, chunk `=<chunk>`); one
    /// that does not load is k0slua's bug. stack: → module
    func pushHostModule(_ source: String, chunk: String, title: String) throws(DiagnosticList) {
        let status = source.withCString { k0s_load_text(state, $0, strlen($0), "=" + chunk) }
        guard status == LUA_OK else {
            throw DiagnosticList([Diagnostic(.internalError, file: chunk, line: nil, path: "",
                                             message: "the \(title) module does not load: \(string(at: -1) ?? "")")])
        }
    }

    /// A coroutine library of its own for a host module (cluster.lua and drill files have none).
    /// stack: → coroutine-library
    func pushCoroutineLibrary(for chunk: String) throws(DiagnosticList) {
        lua_pushcclosure(state, luaopen_coroutine, 0)
        guard k0s_pcall(state, 0, 1) == LUA_OK else {
            throw DiagnosticList([Diagnostic(.internalError, file: chunk, line: nil, path: "",
                                             message: "cannot open the coroutine library: \(string(at: -1) ?? "")")])
        }
    }

    func installPrelude() throws(DiagnosticList) {
        let top = lua_gettop(state)
        defer { lua_settop(state, top) }
        try pushHostModule(K0sModule.source, chunk: "k0s", title: "k0s")
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
            throw DiagnosticList([Diagnostic(.internalError, file: "k0s", line: nil, path: "",
                                             message: "the k0s module failed: \(string(at: -1) ?? "")")])
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
