import Foundation
import InMemoryLogging
import Logging
import K0sLuaKit
import Testing

/// Every way out of the sandbox fails with the right error and leaves the host running.
@Suite struct LuaSandboxTests {
    let small = LuaBudget(instructions: 5_000_000, memoryBytes: 16 << 20, seconds: 120)

    func failure(_ source: String, budget: LuaBudget? = nil) -> Diagnostic? {
        do {
            _ = try loadSource(source, budget: budget ?? small)
            return nil
        } catch {
            return error.diagnostics.first
        }
    }

    @Test(arguments: [
        ("os.execute('touch /tmp/k0slua-pwned')", "undeclared global 'os'"),
        ("io.open('/etc/passwd')", "undeclared global 'io'"),
        ("debug.sethook()", "undeclared global 'debug'"),
        ("package.loadlib('libc.so.6', 'system')", "undeclared global 'package'"),
        ("dofile('/etc/passwd')", "undeclared global 'dofile'"),
        ("loadfile('/etc/passwd')", "undeclared global 'loadfile'"),
        ("collectgarbage('stop')", "undeclared global 'collectgarbage'"),
        ("require('os')", "module 'os' not found"),
        ("require('io')", "module 'io' not found"),
        ("require('../../etc/passwd')", "module '../../etc/passwd' not found"),
        ("require('nosuchmodule')", "no file lib/nosuchmodule.lua"),
        ("string.dump(function() end)", "attempt to call a nil value (field 'dump')"),
        ("(''):dump()", "attempt to call a nil value (method 'dump')"),
        ("load(string.char(27) .. 'Lua', 'x', 'b')", "only text chunks are allowed"),
        ("assert(load(string.char(27) .. 'LuaT'))()", "attempt to load a binary chunk"),
        ("k0s = require 'k0s'; k0s.host.cpus = 1", "k0s.host is read-only"),
        ("local function f() undeclared_global = 1 end f()", "assignment to undeclared global 'undeclared_global'"),
        ("return nosuchvariable", "undeclared global 'nosuchvariable'"),
        // The coroutine library is not part of the sandbox, so no loop can hide in a coroutine.
        ("local co = coroutine.wrap(function() while true do end end); co()", "undeclared global 'coroutine'"),
        ("return getmetatable('').__index.dump()", "attempt to call a nil value (field 'dump')"),
    ])
    func escapesAreRuntimeErrors(source: String, message: String) throws {
        let problem = try #require(failure(source))
        #expect(problem.code == .runtimeError || problem.code == .syntaxError)
        #expect(problem.message.contains(message), "\(problem.message)")
        #expect(problem.line == 1, "\(problem)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/k0slua-pwned"))
    }

    @Test(arguments: [
        "while true do end",
        "repeat until false",
        "local function spin() while true do end end; while true do pcall(spin) end",
        "while true do pcall(function() while true do end end) end",
        "local s = 0; for i = 1, math.maxinteger do s = s + i end",
        "while true do pcall(error, 'x') end",
    ])
    func endlessLoopsExhaustTheInstructionBudget(source: String) throws {
        let problem = try #require(failure(source))
        #expect(problem.code == .instructionBudgetExhausted, "\(problem)")
        #expect(problem.hint?.contains("--max-instructions") == true)
    }

    @Test(arguments: [
        "local s = string.rep('x', 1 << 30)",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
        "local t = {} while true do t[#t + 1] = string.rep('y', 4096) .. #t end",
        "while true do pcall(string.rep, 'x', 1 << 28) end",
        "local ok = pcall(function() local t = {} for i = 1, 1e9 do t[i] = tostring(i) end end); local u = {} for i = 1, 1e9 do u[i] = i end",
        "local parts = {} for i = 1, 40 do parts[i] = string.rep('z', 1 << 20) end; local s = table.concat(parts) .. table.concat(parts)",
    ])
    func memoryBombsExhaustTheMemoryBudget(source: String) throws {
        let problem = try #require(failure(source, budget: LuaBudget(instructions: 2_000_000_000, memoryBytes: 16 << 20, seconds: 120)))
        #expect(problem.code == .memoryBudgetExhausted, "\(problem)")
        #expect(problem.hint?.contains("--max-memory") == true)
    }

    @Test func deepRecursionIsAnErrorNotACrash() throws {
        let problem = try #require(failure("local function f(n) return 1 + f(n + 1) end return f(1)",
                                           budget: LuaBudget(instructions: 500_000_000, memoryBytes: 256 << 20, seconds: 120)))
        #expect([.runtimeError, .memoryBudgetExhausted].contains(problem.code))
        #expect(problem.message.contains("stack overflow") || problem.code == .memoryBudgetExhausted, "\(problem.message)")
    }

    @Test func deepCRecursionIsAnErrorNotACrash() throws {
        let problem = try #require(failure("local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x"))
        #expect(problem.code == .runtimeError || problem.code == .instructionBudgetExhausted)
    }

    @Test func syntaxErrorsCarryTheirLine() throws {
        let problem = try #require(failure("local a = 1\nlocal b = = 2\n"))
        #expect(problem.code == .syntaxError)
        #expect(problem.line == 2)
        #expect(problem.file == "cluster.lua")
    }

    @Test func runtimeErrorsCarryLineAndTraceback() throws {
        let problem = try #require(failure("local function boom()\n  error('kaboom')\nend\nboom()\n"))
        #expect(problem.code == .runtimeError)
        #expect(problem.line == 2)
        #expect(problem.message == "kaboom")
        let traceback = try #require(problem.traceback)
        #expect(traceback.contains("cluster.lua:4: in main chunk"))
    }

    @Test func printGoesToTheLog() throws {
        let logging = InMemoryLogHandler()
        let runtime = try LuaRuntime(environment: [:], libraryDirectory: nil, hostFacts: fixedHost,
                                     logger: Logger(label: "k0slua.lua", factory: { _ in logging }))
        _ = try runtime.evaluate(source: Data("print('hello', 42, nil)\nrequire('k0s').log.warn('careful')\nreturn 1".utf8),
                                 displayName: "cluster.lua")
        let entries = logging.entries.map { "\($0.level) \($0.message)" }
        #expect(entries == ["info hello\t42\tnil", "warning careful"])
    }

    @Test func theHostSurvivesManyFailingStates() throws {
        for _ in 0..<50 {
            #expect(failure("while true do end", budget: LuaBudget(instructions: 100_000, memoryBytes: 4 << 20, seconds: 120)) != nil)
            #expect(failure("local s = string.rep('x', 1 << 26)", budget: LuaBudget(instructions: 100_000, memoryBytes: 4 << 20, seconds: 120)) != nil)
        }
    }
}
