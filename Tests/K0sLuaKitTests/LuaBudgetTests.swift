import Foundation
import K0sLuaKit
import Testing

/// Runs `body` on a thread of its own and gives up after `seconds`: a budget that does not hold
/// would otherwise hang the whole suite (the abandoned thread keeps running until the process ends).
private final class Outcome<T>: @unchecked Sendable { var value: T? }

func finishes<T: Sendable>(within seconds: Double, _ body: @escaping @Sendable () -> T) -> T? {
    let box = Outcome<T>()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        box.value = body()
        done.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
    guard done.wait(timeout: .now() + seconds) == .success else { return nil }
    return box.value
}

/// The budgets hold inside long C calls, and the memory budget counts only what is really live.
@Suite struct LuaBudgetTests {
    static func problem(_ source: String, budget: LuaBudget) -> Diagnostic? {
        do {
            _ = try loadSource(source, budget: budget)
            return nil
        } catch {
            return error.diagnostics.first
        }
    }

    @Test(arguments: [
        // Exponential backtracking inside string.match: one C call that would run for hours.
        "local s = ('a'):rep(40)\nlocal m = s:match(('a?'):rep(40) .. ('a'):rep(40))\nreturn {}",
        "local s = ('a'):rep(40)\nlocal i = string.find(s, ('a?'):rep(40) .. ('a'):rep(40))\nreturn {}",
        "local s = ('a'):rep(40)\nlocal r = s:gsub(('a?'):rep(40) .. ('a'):rep(40), 'x')\nreturn {}",
        "local s = ('a'):rep(40)\nfor w in s:gmatch(('a?'):rep(40) .. ('a'):rep(40)) do end\nreturn {}",
        // Caught by pcall: the budget is sticky all the same.
        "local s = ('a'):rep(40)\nlocal ok = pcall(string.match, s, ('a?'):rep(40) .. ('a'):rep(40)) while true do end\nreturn {}",
        // A plain find of a long needle in a long haystack is quadratic.
        "local h = ('a'):rep(1 << 22)\nlocal n = string.find(h, ('a'):rep(1 << 21) .. 'b', 1, true)\nreturn {}",
    ])
    func theWallClockLimitInterruptsLongCCalls(source: String) throws {
        let budget = LuaBudget(instructions: 4_000_000_000, memoryBytes: 256 << 20, seconds: 1)
        let started = Date()
        let result = finishes(within: 30) { Self.problem(source, budget: budget) }
        let outcome = try #require(result, "evaluation did not stop within 30 s")
        let problem = try #require(outcome)
        #expect(problem.code == .timeBudgetExhausted, "\(problem)")
        #expect(problem.line == 2, "\(problem)")
        #expect(problem.hint?.contains("--max-seconds") == true)
        #expect(Date().timeIntervalSince(started) < 10)
    }

    /// A table of 2^19 small integers, made by C functions (a few Lua instructions, little time).
    static let bigTable = #"local t = {("\7\3\9\1\5\2\8\4\6\0"):rep(52429):byte(1, 524288)}"#

    @Test func itemD_tableSortWithoutAComparatorIsChargedToTheInstructionBudget() throws {
        // liblua's sort compares in C, where the count hook never runs: the comparisons must count.
        let budget = LuaBudget(instructions: 5_000_000, memoryBytes: 256 << 20, seconds: 120)
        let outcome = try #require(finishes(within: 60) { Self.problem(Self.bigTable + "\ntable.sort(t)\nreturn {}", budget: budget) })
        let problem = try #require(outcome)
        #expect(problem.code == .instructionBudgetExhausted, "\(problem)")
        #expect(problem.line == 2, "\(problem)")
    }

    @Test func itemD_tableSortWithoutAComparatorStopsAtTheWallClockLimit() throws {
        // 2^23 elements: many seconds of comparisons in one C call.
        let source = Self.bigTable + " for _ = 1, 4 do table.move(t, 1, #t, #t + 1) end\ntable.sort(t)\nreturn {}"
        let budget = LuaBudget(instructions: .max, memoryBytes: 256 << 20, seconds: 1)
        let started = Date()
        let outcome = try #require(finishes(within: 60) { Self.problem(source, budget: budget) })
        let problem = try #require(outcome)
        #expect(problem.code == .timeBudgetExhausted, "\(problem)")
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func itemD_tableSortKeepsItsResultsAndErrors() throws {
        let source = """
        local t = { 5, 3, 9, 1, 7 }
        table.sort(t)
        local s = { "pear", "apple", "fig" }
        table.sort(s)
        local d = { 1, 4, 2 }
        table.sort(d, function(a, b) return a > b end)
        local ok1, e1 = pcall(table.sort, { 1, "x" })
        local ok2, e2 = pcall(table.sort, nil)
        local ok3, e3 = pcall(table.sort, { 2, 1 }, 3)
        local ok0, e0 = pcall(table.sort, { 1 }, 3)
        local big = {}
        for i = 1, 100 do big[i] = i % 7 end
        local ok4, e4 = pcall(table.sort, big, function() return true end)
        local ok5 = pcall(function() table.sort({ 2, 1 }) end)
        error(table.concat(t, ",") .. ";" .. table.concat(s, ",") .. ";" .. table.concat(d, ",") .. ";"
          .. tostring(e1) .. ";" .. tostring(e2) .. ";" .. tostring(e3) .. ";" .. tostring(e4) .. ";" .. tostring(ok5) .. ";" .. tostring(ok0))
        """
        let problem = try #require(Self.problem(source, budget: .default))
        let fields = problem.message.components(separatedBy: ";")
        #expect(fields.count == 9 && fields[0].hasSuffix("1,3,5,7,9") && fields[1] == "apple,fig,pear" && fields[2] == "4,2,1", "\(problem.message)")
        #expect(fields[3] == "attempt to compare number with string" || fields[3] == "attempt to compare string with number", "\(problem.message)")
        #expect(fields[4] == "bad argument #1 to 'table.sort' (table expected, got nil)", "\(problem.message)")
        #expect(fields[5] == "bad argument #2 to 'table.sort' (function expected, got number)", "\(problem.message)")
        #expect(fields[6] == "invalid order function for sorting", "\(problem.message)")
        #expect(fields[7] == "true", "\(problem.message)")
        #expect(fields[8] == "true", "one element needs no order function: \(problem.message)")
    }

    @Test func pureLuaLoopsStopAtTheWallClockLimitToo() throws {
        let budget = LuaBudget(instructions: .max, memoryBytes: 256 << 20, seconds: 0.5)
        let outcome = try #require(finishes(within: 30) { Self.problem("local x = 0\nwhile true do x = x + 1 end", budget: budget) })
        let problem = try #require(outcome)
        #expect(problem.code == .timeBudgetExhausted, "\(problem)")
        #expect(problem.line == 2)
    }

    @Test func hooksHaveTheirOwnLimitThatExcludesTimeInHostFunctions() throws {
        let runtime = try LuaRuntime(budget: LuaBudget(instructions: .max, memoryBytes: 64 << 20, seconds: 5, hookSeconds: 0.5),
                                     environment: [:], libraryDirectory: nil, hostFacts: fixedHost)
        let value = try runtime.evaluate(source: Data("""
            return {
              spin = function() local s = ('a'):rep(40); return s:match(('a?'):rep(40) .. ('a'):rep(40)) end,
              wait = function(ctx) ctx.sleep() ctx.sleep() return 'ok' end,
            }
            """.utf8), displayName: "cluster.lua")
        guard case .table(let table) = value, case .function(let spin)? = table["spin"], case .function(let wait)? = table["wait"] else {
            Issue.record("unexpected value \(value)")
            return
        }
        // Time spent waiting in the host (ctx.run and friends) does not count against the hook.
        let ctx = runtime.makeTable(functions: ["sleep": { _ throws(LuaHostError) in Thread.sleep(forTimeInterval: 0.4); return [] }])
        #expect(try runtime.call(wait, arguments: [ctx], context: "hook \"post_join\"") == .string("ok"))
        let outcome = finishes(within: 30) { () -> Diagnostic? in
            do throws(DiagnosticList) {
                try runtime.call(spin, arguments: [], context: "hook \"post_join\"")
                return nil
            } catch {
                return error.diagnostics.first
            }
        }
        let finished = try #require(outcome, "the hook did not stop within 30 s")
        let problem = try #require(finished)
        #expect(problem.code == .timeBudgetExhausted, "\(problem)")
        #expect(problem.message.hasPrefix("hook \"post_join\": "), "\(problem.message)")
        #expect(problem.hint?.contains("--max-hook-seconds") == true)
    }

    @Test(arguments: [
        // 300 MiB and more in all, never more than about 130 MiB live: collections free the rest.
        // (string.rep holds its buffer and the finished copy at once, so a string needs twice its size.)
        "for i = 1, 5 do local s = string.rep('x', 64 << 20) .. i end return {}",
        "local keep for i = 1, 7 do keep = string.rep('x', 50 << 20) .. i end return {}",
        "for i = 1, 300 do local s = string.rep('x', 1 << 20) .. i end return {}",
    ])
    func shortLivedGarbageFitsTheMemoryBudget(source: String) throws {
        let problem = Self.problem(source, budget: LuaBudget(instructions: 2_000_000_000, memoryBytes: 256 << 20, seconds: 120))
        // Loading stops at the shape check (an empty table is no cluster), not at the budget.
        #expect(problem?.code != .memoryBudgetExhausted, "\(String(describing: problem))")
    }

    @Test(arguments: [
        "local t = {} for i = 1, 3 do t[i] = string.rep('x', 100 << 20) .. i end return {}",
        "local t = {} for i = 1, 300 do t[i] = string.rep('x', 1 << 20) .. i end return {}",
        "local t = {} pcall(function() for i = 1, 300 do t[i] = string.rep('x', 1 << 20) .. i end end) return {}",
    ])
    func liveDataOverTheBudgetFails(source: String) throws {
        let problem = try #require(Self.problem(source, budget: LuaBudget(instructions: 2_000_000_000, memoryBytes: 256 << 20, seconds: 120)))
        #expect(problem.code == .memoryBudgetExhausted, "\(problem)")
    }
}

/// The budgeted matcher gives exactly liblua's results: the same script runs in the sandbox and in
/// the system's `lua5.4`, whose string library is the original.
@Suite struct BudgetedPatternTests {
    static let script = #"""
    local subjects = { "", "hello world", "key=value; other = 2", "  trim me  ", "(a(b)c)", "THE (quick) fox",
      "aaa", "abcabc", "x.y.z", "a,b,,c", "[[x]]", "%d%%", "line1\nline2", "\0a\0", "192.168.64.10", "f(a(b)c) g(d)",
      string.rep("abc-Q_9]", 8) .. "\200\255" }
    local patterns = { "", "a", "^a", "a$", "^$", ".", "%a+", "%d+", "%s*(.-)%s*$", "(%w+)=(%w+)", "(%w+)%s*=%s*(%w+)",
      "%b()", "%f[%a]%a+", "()a()", "[^,]*", "[%]x]+", "[a-c]+", "b*", "b-", "a?b", "(a)%1", "((a)(b))", "%.", "[.]",
      "[^%s]+", "%u+", "%p", "%x+", "(.)(.)", "^(%d+)%.(%d+)%.(%d+)%.(%d+)$", "%z", "\0", "[%z]", "l%w-%d", ".-$",
      "[]]", "[^]]+", "[a-]+", "%W+", "%S", "^(.*)$", "(x*)", "a-b",
      -- sets: classes and ranges mixed, '-' and ']' at the edges, empty ranges, high bytes, and more
      -- sets than the matcher's cache holds
      "[%a-z]+", "[a-%d]+", "[-a]+", "[^-]+", "%f[^%w]", "%f[%z]", "[%]]", "[^]a]+", "[%A]+", "[%Q]", "[z-a]",
      "[%w_]+", "[\128-\255]+", "[^%c%s]+", "%f[a-c][ab]+", string.rep("[abc]", 40), string.rep("[abc%-Q_9%]][^x]", 20) }
    local out = {}
    local function add(...) local t = table.pack(...) for i = 1, t.n do t[i] = tostring(t[i]) end out[#out + 1] = table.concat(t, ",", 1, t.n) end
    for _, s in ipairs(subjects) do
      for _, p in ipairs(patterns) do
        add("find", pcall(string.find, s, p))
        add("find3", pcall(string.find, s, p, 3))
        add("findneg", pcall(string.find, s, p, -4))
        add("plain", pcall(string.find, s, p, 1, true))
        add("match", pcall(string.match, s, p))
        add("match2", pcall(string.match, s, p, 2))
        local ok, it = pcall(string.gmatch, s, p)
        if ok then
          local parts, n = {}, 0
          local ok2, err = pcall(function() for a, b in it do n = n + 1; parts[#parts + 1] = tostring(a) .. "|" .. tostring(b); if n > 50 then break end end end)
          add("gmatch", ok2, err, table.concat(parts, ";"))
        end
        add("gsub", pcall(string.gsub, s, p, "<%0>"))
        add("gsub1", pcall(string.gsub, s, p, "%1", 2))
        add("gsubf", pcall(string.gsub, s, p, function(a, b) if a == "a" then return false end return "[" .. tostring(a) .. tostring(b) .. "]" end))
        add("gsubt", pcall(string.gsub, s, p, { a = "A", hello = 1, [""] = "E" }))
      end
    end
    for _, bad in ipairs({ "%", "[a", "(()", "%1", "a)", "%b", "%f", "%fa", "(%1)", "(", ")" }) do
      local ok, err = pcall(string.find, "abc", bad)
      add("bad", ok, (tostring(err):gsub("^.-:%d+: ", "")))
    end
    add("badrepl", pcall(string.gsub, "abc", "b", "%x"))
    add("badval", pcall(string.gsub, "abc", "b", function() return {} end))
    add("deep", pcall(string.match, string.rep("a", 300), string.rep("(", 33) .. "a" .. string.rep(")", 33)))
    add("complex", pcall(string.match, string.rep("a", 1000), string.rep("a?", 250)))
    add("init", string.find("abc", "", 10), string.find("abc", "", 4), string.match("abc", "()", 4))
    add("gmatchinit", (function() local r = {} for a in string.gmatch("abcabc", "a", 2) do r[#r + 1] = a end return #r end)())
    return table.concat(out, "\n")
    """#

    @Test func resultsAreLiblua() throws {
        let runtime = try LuaRuntime(environment: [:], libraryDirectory: nil, hostFacts: fixedHost)
        guard case .string(let sandboxed) = try runtime.evaluate(source: Data(Self.script.utf8), displayName: "patterns.lua") else {
            Issue.record("the script returned no string")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("k0slua-patterns-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("patterns.lua")
        try Data(("local r = (function()\n" + Self.script + "\nend)()\nio.write(r)").utf8).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["lua5.4", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let original = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let ours = sandboxed.split(separator: "\n", omittingEmptySubsequences: false)
        let theirs = original.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(ours.count == theirs.count)
        #expect(ours.count > 5000)
        for (index, (a, b)) in zip(ours, theirs).enumerated() where a != b {
            Issue.record("line \(index + 1): sandbox \(a.debugDescription) ≠ lua5.4 \(b.debugDescription)")
        }
    }

    @Test func finalizersAreRefusedBecauseHooksDoNotRunInThem() throws {
        let problem = try #require(LuaBudgetTests.problem("local t = setmetatable({}, { __gc = function() while true do end end })\nreturn {}",
                                                          budget: .default))
        #expect(problem.code == .runtimeError)
        #expect(problem.message.contains("__gc"), "\(problem.message)")
        #expect(problem.line == 1)
    }
}
