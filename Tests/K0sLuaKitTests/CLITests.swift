import ArgumentParser
import Foundation
import K0sLuaKit
@testable import K0sLuaCLI
import Testing

/// The built `k0slua` binary: exit codes, where output goes, and the README's promises.
@Suite struct CLITests {
    static let binary = StandInWorld.binary

    func run(_ arguments: [String], environment: [String: String] = [:], in directory: String = Repo.root) async throws -> CommandResult {
        var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "NO_COLOR": "1"]
        env.merge(environment) { $1 }
        // env -i keeps the test's own variables (e.g. worker_count) out of cluster.lua.
        return try await SubprocessRunner().run(Command("/usr/bin/env", ["-i"] + env.map { "\($0)=\($1)" } + [Self.binary] + arguments,
                                                        workingDirectory: directory))
    }

    /// A command without `commandName` makes ArgumentParser derive it from the type's name at every
    /// start (`String(describing:)`, protocol-conformance scans: ~3 ms of a 20 ms `--version`).
    @Test func everyCommandNamesItselfAndTheNameIsTheTypesOwn() {
        func walk(_ command: any ParsableCommand.Type) -> [(String, String?)] {
            [(String(describing: command), command.configuration.commandName)] + command.configuration.subcommands.flatMap(walk)
        }
        let commands = walk(K0sLuaCommand.self)
        #expect(commands.count > 20)
        for (type, name) in commands {
            let derived = type == "K0sLuaCommand" ? "k0slua"
                : zip([" "] + type, type).map { previous, character in
                    (character.isUppercase && previous.isLowercase ? "-" : "") + character.lowercased()
                }.joined()
            #expect(name == derived, "\(type)")
        }
    }

    @Test func planOnTheDefaultClusterIsTheProductDefault() async throws {
        let result = try await run(["plan", "--json"])
        #expect(result.exitCode == 0)
        let json = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any]
        let nodes = json["nodes"] as! [[String: Any]]
        #expect(nodes.map { $0["name"] as! String } == ["control-plane-1", "worker-1"])
        #expect(nodes.map { $0["k0s_role"] as! String } == ["controller+worker", "worker"])
        #expect(nodes.map { $0["runs_workloads"] as! Bool } == [true, true])
    }

    @Test func threePlusTwoThroughEnvironmentVariables() async throws {
        let result = try await run(["plan", "--json"], environment: ["control_plane_count": "3", "worker_count": "2", "vagrant_provider": "libvirt"])
        #expect(result.exitCode == 0)
        let json = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any]
        let nodes = json["nodes"] as! [[String: Any]]
        #expect(nodes.map { $0["ip"] as! String } == ["192.168.64.10", "192.168.64.11", "192.168.64.12", "192.168.64.20", "192.168.64.21"])
        #expect(nodes.filter { $0["role"] as! String == "controller" && $0["runs_workloads"] as! Bool }.map { $0["name"] as! String } == ["control-plane-1"])
    }

    @Test func badEnvironmentValuesExit65WithTheVariableAndLine() async throws {
        let result = try await run(["plan"], environment: ["worker_count": "two"])
        #expect(result.exitCode == 65)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.hasPrefix("error: cluster.lua:10: environment variable worker_count: expected an integer, got \"two\"\n"))
    }

    @Test func collisionsExit65NamingBothNodes() async throws {
        let result = try await run(["plan"], environment: ["control_plane_count": "11", "vagrant_provider": "libvirt"])
        #expect(result.exitCode == 65)
        #expect(result.standardError.contains("nodes[12].ip: 192.168.64.20 is taken by both control-plane-11 and worker-1"))
    }

    @Test func syntaxErrorsExit65() async throws {
        let directory = NSTemporaryDirectory() + "k0slua-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/cluster.lua", contents: Data("return {\n  name = = 1\n}\n".utf8))
        let result = try await run(["plan"], in: directory)
        #expect(result.exitCode == 65)
        #expect(result.standardError.hasPrefix("error: cluster.lua:2: unexpected symbol near '='"))
    }

    @Test func missingFileAndUsageErrors() async throws {
        let missing = try await run(["plan", "--file", "/nonexistent/cluster.lua"])
        #expect(missing.exitCode == 65)
        #expect(missing.standardError.contains("cannot read /nonexistent/cluster.lua"))
        let usage = try await run(["plan", "--no-such-flag"])
        #expect(usage.exitCode == 64)
        let budget = try await run(["plan", "--max-memory", "0"])
        #expect(budget.exitCode == 64)
    }

    @Test func printGoesToStderrNotStdout() async throws {
        let directory = NSTemporaryDirectory() + "k0slua-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = "print('from lua')\nreturn { nodes = { { name = 'c', role = 'controller', workloads = true, ip = 'dhcp', cpus = 1, memory = 1024, disk = 20 } } }\n"
        _ = FileManager.default.createFile(atPath: directory + "/cluster.lua", contents: Data(source.utf8))
        let result = try await run(["plan", "--json"], in: directory)
        #expect(result.exitCode == 0)
        #expect(result.standardError.contains("cluster.lua: from lua"))
        #expect(!result.standardOutput.contains("from lua"))
        let quiet = try await run(["plan", "--json", "--quiet"], in: directory)
        #expect(!quiet.standardError.contains("from lua"))
    }
}

/// docs/ and lib/k0s.lua describe what the code does.
@Suite struct DocumentationTests {
    static func read(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: Repo.root + "/" + path) ?? Data(), as: UTF8.self)
    }

    @Test func everyKeyIsDocumented() {
        let doc = Self.read("docs/cluster-lua.md")
        let keys = ClusterDecoder.documentedKeys
        for key in keys {
            #expect(doc.contains("`\(key)`"), "docs/cluster-lua.md does not document `\(key)`")
        }
    }

    @Test func everyK0sFunctionIsDocumentedAndAnnotated() throws {
        let runtime = try LuaRuntime(environment: [:], libraryDirectory: nil, hostFacts: fixedHost)
        let value = try runtime.evaluate(source: Data("""
            local k0s = require "k0s"
            local names = {}
            for group, t in pairs(k0s) do
              if type(t) == "table" and group ~= "host" then
                for name in pairs(t) do names[#names + 1] = group .. "." .. name end
              end
            end
            table.sort(names)
            return names
            """.utf8), displayName: "probe.lua")
        guard case .table(let list) = value else { Issue.record("no list"); return }
        let names = list.entries.compactMap { if case .string(let s) = $0.value { s } else { nil } }
        #expect(names.count >= 10)
        let doc = Self.read("docs/cluster-lua.md")
        let annotations = Self.read("lib/k0s.lua")
        for name in names {
            #expect(doc.contains("k0s.\(name)"), "docs/cluster-lua.md does not document k0s.\(name)")
            let parts = name.split(separator: ".")
            #expect(annotations.contains("function \(parts[0]).\(parts[1])(") || annotations.contains("---@field \(parts[1]) fun"),
                    "lib/k0s.lua does not annotate k0s.\(name)")
        }
    }
}

/// One printer for every error; a bug says so and exits 70, never 65.
@Suite struct ErrorPrinterTests {
    func run(_ arguments: [String]) async throws -> CommandResult {
        try await SubprocessRunner().run(Command("/usr/bin/env", ["-i", "PATH=/usr/bin:/bin", "NO_COLOR=1", CLITests.binary] + arguments,
                                                 workingDirectory: Repo.root))
    }

    @Test func aBugExits70AndSaysWhatToReport() async throws {
        let result = try await run(["internal-error-probe"])
        #expect(result.exitCode == 70)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.hasPrefix("error: internal error: Unexpected: an error no command handles\n"), "\(result.standardError)")
        #expect(result.standardError.contains("this is a bug in k0slua"))
        #expect(result.standardError.contains("please report it to the k0slua maintainers with the command you ran"))
        #expect(result.standardError.contains("k0slua --version"))
    }

    @Test func usageErrorsGoThroughTheSamePrinterAndExit64() async throws {
        let result = try await run(["plan", "--no-such-flag"])
        #expect(result.exitCode == 64)
        #expect(result.standardError.hasPrefix("error: unknown option '--no-such-flag'"), "\(result.standardError)")
        let help = try await run(["--help"])
        #expect(help.exitCode == 0)
        #expect(help.standardOutput.contains("USAGE: k0slua"))
        #expect(!help.standardOutput.contains("internal-error-probe"))
    }

    @Test func internalDiagnosticsAreBugsNotClusterProblems() {
        let bug = Diagnostic(.internalError, file: "k0s", line: nil, path: "", message: "the k0s module does not load")
        let user = Diagnostic(.runtimeError, file: "cluster.lua", line: 3, path: "", message: "boom")
        #expect(Console.exitCode(for: [user]) == 65)
        #expect(Console.exitCode(for: [user, bug]) == 70)
    }

    // MARK: - Shared option groups (one of each: the health wait, the fan-out bound, durations)

    @Test func anUnknownHealthCheckNameIsAUsageErrorOnEveryCommandThatWaitsForHealth() {
        for arguments in [["start"], ["snapshot", "save", "base"], ["snapshot", "restore", "base"]] {
            #expect(throws: (any Error).self, "\(arguments)") { try K0sLuaCommand.parseAsRoot(arguments + ["--skip-checks", "lod-balancers"]) }
            #expect(K0sLuaCommand.usageMessage(for: CLIProbe.error { _ = try K0sLuaCommand.parseAsRoot(arguments + ["--skip-checks", "lod-balancers"]) })
                .contains("unknown check \"lod-balancers\" for --skip-checks"))
        }
    }

    @Test func aBadDurationNamesTheOptionItCameFrom() {
        let cases: [([String], String)] = [(["start", "--health-wait", "soon"], "--health-wait"), (["up", "--drain-timeout", "5 min"], "--drain-timeout"),
                                            (["health", "--wait", "x"], "--wait"), (["drill", "d.lua", "--timeout", "1y"], "--timeout"),
                                            (["support", "--since", "2y"], "--since")]
        for (arguments, option) in cases {
            let message = K0sLuaCommand.usageMessage(for: CLIProbe.error { _ = try K0sLuaCommand.parseAsRoot(arguments) })
            #expect(message.contains("\(option) takes a duration"), "\(arguments): \(message)")
        }
    }

    @Test func snapshotSaveAndRestoreTakeTheSameHealthAndFanOutOptionsAsStart() throws {
        for arguments in [["start"], ["snapshot", "save", "base"], ["snapshot", "restore", "base"]] {
            _ = try K0sLuaCommand.parseAsRoot(arguments + ["--health-wait", "90s", "--skip-health", "--skip-checks", "vip,smoke", "--parallel", "4"])
            #expect(throws: (any Error).self) { try K0sLuaCommand.parseAsRoot(arguments + ["--parallel", "0"]) }
        }
    }
}

/// The error a throwing parse raised.
enum CLIProbe {
    static func error(_ body: () throws -> Void) -> Error? {
        do { try body() } catch { return error }
        return nil
    }
}

extension K0sLuaCommand {
    static func usageMessage(for error: Error?) -> String { error.map { message(for: $0) } ?? "no error" }
}
