import Foundation
import K0sLuaKit
import Testing

/// Issue 22: fault drills in Lua. The runner against a scripted runner (every fault's command and
/// its undo, exactly), and `k0slua drill` end to end with the stand-ins.
@Suite struct DrillTests {
    /// 3 controllers (192.168.64.10-12) and 2 workers (192.168.64.20-21) on libvirt.
    static func cluster(provider: String = "libvirt") throws -> Cluster {
        try loadCluster(Repo.defaultClusterFile, environment: ["vagrant_provider": provider, "control_plane_count": "3", "worker_count": "2"]).cluster
    }

    /// A scratch state directory with a drill file in it.
    final class Scratch: @unchecked Sendable {
        let directory = NSTemporaryDirectory() + "k0slua-drill-\(UUID().uuidString)"
        var layout: StateLayout { StateLayout(directory: directory + "/state") }
        init() { try? FileManager.default.createDirectory(atPath: directory + "/state", withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: directory) }

        func write(_ source: String, as name: String = "drill.lua") -> String {
            let path = directory + "/" + name
            _ = FileManager.default.createFile(atPath: path, contents: Data(source.utf8))
            return path
        }
    }

    static let allOK = ScriptedRunner.Rule(matches: { _ in true }, result: CommandResult(exitCode: 0))

    static func run(_ source: String, cluster: Cluster? = nil, rules: [ScriptedRunner.Rule] = [], timeout: Double = 60,
                    budget: LuaBudget = .default) async throws -> (DrillReport, ScriptedRunner, Scratch) {
        let scratch = Scratch()
        let path = scratch.write(source)
        let runner = ScriptedRunner(rules + [allOK])
        let drill = DrillRunner(cluster: try cluster ?? Self.cluster(), layout: scratch.layout, runner: runner,
                                options: DrillOptions(timeoutSeconds: timeout, budget: budget, libraryDirectory: Repo.lib, environment: [:]))
        let report = await drill.run(file: path, displayName: "drill.lua")
        return (report, runner, scratch)
    }

    /// The remote command of an ssh call (after `--` and the address), or the vagrant arguments.
    static func summary(_ command: Command) -> String {
        if command.executable == "ssh", let separator = command.arguments.firstIndex(of: "--") {
            let rest = command.arguments[command.arguments.index(after: separator)...]
            return "ssh \(rest.first ?? "") \(rest.dropFirst().joined(separator: " "))"
        }
        return ([command.executable] + command.arguments).joined(separator: " ")
    }

    // MARK: - Faults and their undo, exactly

    @Test func item22_everyFaultAndItsUndoRunTheExactCommands() async throws {
        let (report, runner, scratch) = try await Self.run("""
        drill.kill_k0s("control-plane-2")
        drill.kill_k0s("worker-1")
        drill.partition({ "control-plane-1" }, { "control-plane-2", "worker-1" })
        drill.delay("worker-2", 200)
        drill.fill_disk("worker-2", 95)
        drill.stop("worker-1")
        drill.start("worker-1")
        """)
        #expect(report.result == .passed, "\(report.text)")
        let partition1 = "sudo nft 'add table inet k0slua_drill_1; "
            + "add chain inet k0slua_drill_1 input { type filter hook input priority -10; policy accept; }; "
            + "add chain inet k0slua_drill_1 output { type filter hook output priority -10; policy accept; }; "
            + "add rule inet k0slua_drill_1 input ip saddr { 192.168.64.11, 192.168.64.20 } drop; "
            + "add rule inet k0slua_drill_1 output ip daddr { 192.168.64.11, 192.168.64.20 } drop'"
        let partitionOthers = partition1.replacingOccurrences(of: "{ 192.168.64.11, 192.168.64.20 }", with: "{ 192.168.64.10 }")
        let interface = "dev=$(ip -o -4 addr show to 192.168.64.21 | awk '{print $2; exit}'); "
            + "if [ -z \"$dev\" ]; then echo \"no interface carries 192.168.64.21\" >&2; exit 1; fi; "
        let expected = [
            "ssh 192.168.64.11 sudo systemctl stop 'k0scontroller'",
            "ssh 192.168.64.20 sudo systemctl stop 'k0sworker'",
            "ssh 192.168.64.10 \(partition1)",
            "ssh 192.168.64.11 \(partitionOthers)",
            "ssh 192.168.64.20 \(partitionOthers)",
            "ssh 192.168.64.21 \(interface)sudo tc qdisc replace dev \"$dev\" root netem delay 200ms",
            "ssh 192.168.64.21 bytes=$(df -B1 --output=size,used /var/lib | awk 'NR==2 {n=int($1*95/100)-$2; print (n>0?n:0)}'); "
                + "if [ \"$bytes\" -gt 0 ]; then sudo fallocate -l \"$bytes\" /var/lib/k0slua-drill.fill; fi",
            "vagrant halt worker-1",
            "vagrant up --provider libvirt --no-provision worker-1",
            // Undo, newest first; the stop was undone by the drill's own start.
            "ssh 192.168.64.21 sudo rm -f /var/lib/k0slua-drill.fill",
            "ssh 192.168.64.21 \(interface)if tc qdisc show dev \"$dev\" root | grep -q netem; then sudo tc qdisc del dev \"$dev\" root; fi",
            "ssh 192.168.64.20 if sudo nft list table inet k0slua_drill_1 >/dev/null 2>&1; then sudo nft delete table inet k0slua_drill_1; fi",
            "ssh 192.168.64.11 if sudo nft list table inet k0slua_drill_1 >/dev/null 2>&1; then sudo nft delete table inet k0slua_drill_1; fi",
            "ssh 192.168.64.10 if sudo nft list table inet k0slua_drill_1 >/dev/null 2>&1; then sudo nft delete table inet k0slua_drill_1; fi",
            "ssh 192.168.64.20 sudo systemctl start 'k0sworker'",
            "ssh 192.168.64.11 sudo systemctl start 'k0scontroller'",
        ]
        // The partition's three nodes are set up at once, in any order.
        var calls = runner.calls.map(Self.summary)
        if calls.count == expected.count { calls[2..<5].sort() }
        #expect(calls == expected)
        // ssh gets its options, then `--`: nothing from the drill can be read as an option.
        for call in runner.calls where call.executable == "ssh" {
            #expect(call.arguments.contains("--") && call.arguments.contains("BatchMode=yes"))
        }
        let vagrant = try #require(runner.calls.first { $0.executable == "vagrant" })
        #expect(vagrant.environment["VAGRANT_CHECKPOINT_DISABLE"] == "1" && vagrant.workingDirectory == scratch.layout.directory)
        #expect(report.steps.map(\.step) == [
            "kill k0s on control-plane-2", "kill k0s on worker-1", "partition control-plane-1 | control-plane-2,worker-1",
            "delay worker-2 by 200 ms", "fill the disk of worker-2 to 95 %", "stop worker-1", "start worker-1",
            "undo: remove disk fill on worker-2", "undo: remove delay on worker-2", "undo: remove partition k0slua_drill_1 on worker-1",
            "undo: remove partition k0slua_drill_1 on control-plane-2", "undo: remove partition k0slua_drill_1 on control-plane-1",
            "undo: start k0sworker on worker-1", "undo: start k0scontroller on control-plane-2",
        ])
        try #require(report.steps.count > 6)
        #expect(report.steps[0].line == 1 && report.steps[6].line == 7)
        #expect(!FileManager.default.fileExists(atPath: DrillJournal.path(scratch.layout)), "nothing left to undo")
    }

    @Test func item22_aStopLeftStandingIsUndoneByBootingTheMachine() async throws {
        let (report, runner, _) = try await Self.run(#"drill.stop("worker-2")"#)
        #expect(report.result == .passed)
        #expect(runner.calls.map(Self.summary) == ["vagrant halt worker-2", "vagrant up --provider libvirt --no-provision worker-2"])
    }

    // MARK: - Observations and assertions

    @Test func item22_observationsReachLuaAndAFailedExpectationFailsTheDrill() async throws {
        let nodes = #"{"items":[{"metadata":{"name":"worker-1"},"status":{"conditions":[{"type":"Ready","status":"Unknown"}]}}]}"#
        let (report, runner, _) = try await Self.run("""
        local code, out = drill.ssh("worker-1", "hostname")
        drill.expect(code == 0 and out == "worker-1\\n", "hostname answers")
        local list = drill.kubectl { "get", "nodes" }
        local ready = list.items[1].status.conditions[1].status
        drill.wait(function() return ready == "Unknown" end, { timeout = "5s", every = "1s", label = "worker-1 NotReady" })
        drill.expect(ready == "True", "worker-1 is Ready")
        drill.note("not reached")
        """, rules: [ScriptedRunner.when("ssh", "hostname", then: CommandResult(exitCode: 0, standardOutput: "worker-1\n")),
                     ScriptedRunner.when("kubectl", "get", "nodes", "-o", "json", then: CommandResult(exitCode: 0, standardOutput: nodes))])
        #expect(report.result == .failed)
        #expect(report.message == "expectation failed: worker-1 is Ready (drill.lua:6)")
        #expect(report.exitCode == 1)
        #expect(report.steps.map(\.step) == ["ssh worker-1 `hostname`", "expect hostname answers", "kubectl get nodes",
                                             "wait worker-1 NotReady", "expect worker-1 is Ready"])
        #expect(report.steps.map(\.line) == [1, 2, 3, 5, 6])
        try #require(report.steps.count > 3)
        #expect(report.steps[3].result.hasPrefix("met after"))
        #expect(runner.calls.contains { $0.executable == "kubectl" && $0.arguments.suffix(4) == ["get", "nodes", "-o", "json"] })
    }

    @Test func item22_aWaitThatIsNeverMetFailsAfterItsTimeout() async throws {
        let (report, runner, _) = try await Self.run("""
        drill.kill_k0s("worker-1")
        drill.wait(function()
          local code = drill.ssh("worker-1", "sudo k0s status")
          return code == 0
        end, { timeout = "4s", every = "200ms", label = "k0s back" })
        """, rules: [ScriptedRunner.when("ssh", "sudo k0s status", then: CommandResult(exitCode: 1))])
        #expect(report.result == .failed)
        #expect(report.message?.hasPrefix("wait k0s back: not met within ") == true, "\(report.message ?? "")")
        #expect(report.message?.hasSuffix("(drill.lua:2)") == true, "\(report.message ?? "")")
        // The predicate's own steps go to the log, not the timeline.
        #expect(report.steps.map(\.step) == ["kill k0s on worker-1", "wait k0s back", "undo: start k0sworker on worker-1"])
        #expect(!runner.calls.filter { $0.arguments.last == "sudo k0s status" }.isEmpty)
    }

    @Test func item22_theSandboxOfClusterLuaWorksInsideTheDrill() async throws {
        // Host functions (print, k0s.env, require of lib/) called from the drill's coroutine read
        // their arguments from its stack, not the main thread's.
        let (report, _, _) = try await Self.run("""
        local k0s = require "k0s"
        local nodes = require "k0slua.nodes"
        print("drill", #drill.nodes)
        drill.note(k0s.env.string("missing", "default"), type(nodes.class), drill.cluster.provider, drill.cluster.controllers)
        drill.note(k0s.ipv4.add(drill.nodes[1].ip, 1), drill.nodes[1].role, drill.nodes[1].k0s_role)
        """)
        #expect(report.result == .passed, "\(report.text)\(report.diagnostics)")
        #expect(report.steps.map(\.result) == ["default function libvirt 3", "192.168.64.11 controller controller+worker"])
    }

    // MARK: - Bad input

    @Test func item22_aSyntaxErrorIsLinePreciseAndNothingRuns() async throws {
        let (report, runner, _) = try await Self.run("""
        drill.kill_k0s("worker-1")
        local x = = 2
        """)
        #expect(report.result == .error && report.exitCode == 65)
        #expect(report.diagnostics.map(\.code) == [.syntaxError])
        #expect(report.diagnostics.first?.line == 2 && report.diagnostics.first?.file == "drill.lua")
        #expect(runner.calls.isEmpty)
    }

    @Test func item22_anUnknownNodeIsAnErrorAtItsLineAndEarlierFaultsAreUndone() async throws {
        let (report, runner, _) = try await Self.run("""
        drill.kill_k0s("worker-1")

        drill.partition({ "worker-1" }, { "wrker-2" })
        """)
        #expect(report.result == .error && report.exitCode == 65)
        let diagnostic = try #require(report.diagnostics.first)
        #expect(diagnostic.code == .runtimeError && diagnostic.line == 3)
        #expect(diagnostic.message.hasPrefix("drill.partition: no node named \"wrker-2\" in the applied cluster (nodes: \"control-plane-1\""),
                "\(diagnostic.message)")
        #expect(runner.calls.map(Self.summary) == ["ssh 192.168.64.20 sudo systemctl stop 'k0sworker'",
                                                   "ssh 192.168.64.20 sudo systemctl start 'k0sworker'"])
    }

    @Test func item22_stopOnHostsIsRefusedAtItsLine() async throws {
        var cluster = try Self.cluster()
        cluster.provider = .hosts
        let (report, runner, _) = try await Self.run("""
        local k0s = require "k0s"
        drill.stop("worker-1")
        """, cluster: cluster)
        #expect(report.result == .error)
        #expect(report.diagnostics.first?.line == 2)
        #expect(report.diagnostics.first?.message.hasPrefix("drill.stop: the hosts provider cannot power machines off") == true)
        #expect(runner.calls.isEmpty)
    }

    @Test func item22_theDrillFunctionsRefuseBadArguments() async throws {
        let cases: [(String, String)] = [
            (#"drill.delay("worker-1", "fast")"#, "drill.delay: expected milliseconds as an integer from 1 to 60000, got fast"),
            (#"drill.fill_disk("worker-1", 100)"#, "drill.fill_disk: expected a percentage as an integer from 1 to 99, got 100"),
            (#"drill.partition({ "worker-1" }, { "worker-1" })"#, "drill.partition: node \"worker-1\" is in both groups"),
            (#"drill.wait(function() return true end, { timeout = "soon" })"#, "drill.wait: timeout: expected a duration such as \"90s\", \"2m\" or a number of seconds, got \"soon\""),
            (#"drill.health { checks = { "apii" } }"#, "drill.health: unknown check \"apii\"; checks: machines, reachability, k0s-status, api, nodes-ready, taints, system-pods, load-balancers, smoke, vip"),
            ("drill.stop = nil", "drill is read-only"),
        ]
        for (source, message) in cases {
            let (report, runner, _) = try await Self.run("\n" + source)
            #expect(report.result == .error, "\(source)")
            #expect(report.diagnostics.first?.line == 2, "\(source): \(report.diagnostics)")
            #expect(report.diagnostics.first?.message == message, "\(source)")
            #expect(runner.calls.isEmpty, "\(source)")
        }
    }

    // MARK: - Budgets

    @Test func item22_aDrillPastItsTimeLimitIsStoppedAndItsFaultsUndone() async throws {
        let (report, runner, scratch) = try await Self.run("""
        drill.kill_k0s("worker-1")
        drill.sleep("10m")
        drill.note("not reached")
        """, timeout: 8)
        #expect(report.result == .timedOut && report.exitCode == 1)
        #expect(report.message == "the drill's time limit of 8.0 s ran out (--timeout)")
        #expect(report.seconds < 60, "stopped at the limit, not after the 10 minutes")
        // On a loaded 2-core machine the whole limit can pass before the first fault runs (the
        // suites share the cooperative thread pool); then nothing ran and nothing needs undoing.
        let calls = runner.calls.map(Self.summary)
        #expect(calls == ["ssh 192.168.64.20 sudo systemctl stop 'k0sworker'", "ssh 192.168.64.20 sudo systemctl start 'k0sworker'"] || calls.isEmpty,
                "a fault that ran is undone: \(calls)")
        #expect(!FileManager.default.fileExists(atPath: DrillJournal.path(scratch.layout)))
    }

    @Test func item22_anEndlessLoopExhaustsTheInstructionBudgetAndFaultsAreUndone() async throws {
        let (report, runner, _) = try await Self.run("""
        drill.kill_k0s("worker-1")
        while true do end
        """, budget: LuaBudget(instructions: 1_000_000, memoryBytes: 64 << 20))
        #expect(report.result == .error && report.exitCode == 65)
        #expect(report.diagnostics.first?.code == .instructionBudgetExhausted && report.diagnostics.first?.line == 2, "\(report.diagnostics)")
        #expect(runner.calls.map(Self.summary).last == "ssh 192.168.64.20 sudo systemctl start 'k0sworker'")
    }

    // MARK: - The journal

    @Test func item22_theJournalIsWrittenBeforeTheFaultAndReplayedByUndo() async throws {
        let scratch = Scratch()
        let path = scratch.write(#"drill.partition({ "worker-1" }, { "worker-2" })"#)
        // The partition's own ssh sees the journal already naming its undo.
        let layout = scratch.layout
        let seen = ScriptedRunner.Rule(matches: { command in
            command.arguments.last?.hasPrefix("sudo nft 'add table") == true && (try? DrillJournal.load(layout))??.entries.count == 2
        }, result: CommandResult(exitCode: 0))
        let failing = ScriptedRunner.Rule(matches: { $0.arguments.last?.hasPrefix("sudo nft 'add table") == true },
                                          result: CommandResult(exitCode: 9, standardError: "journal missing"))
        let undoFails = ScriptedRunner.Rule(matches: { $0.arguments.last?.contains("nft delete table") == true },
                                            result: CommandResult(exitCode: 255, standardError: "ssh: connect to host 192.168.64.21 port 22: Connection refused"))
        let drill = DrillRunner(cluster: try Self.cluster(), layout: layout, runner: ScriptedRunner([seen, failing, undoFails]),
                                options: DrillOptions(libraryDirectory: Repo.lib, environment: [:]))
        let report = await drill.run(file: path, displayName: "drill.lua")
        #expect(report.result == .failed && report.exitCode == 1, "\(report.text)")
        #expect(report.undoFailures.count == 2)
        #expect(report.summary.contains("k0slua drill --undo"))
        let left = try #require(try DrillJournal.load(layout))
        #expect(left.drill == "drill.lua")
        #expect(left.entries == [.dropTable(node: "worker-1", table: "k0slua_drill_1"), .dropTable(node: "worker-2", table: "k0slua_drill_1")])
        // A later k0slua replays it: newest first, and the file is gone.
        let replayer = ScriptedRunner([Self.allOK])
        let replay = try await DrillRunner(cluster: try Self.cluster(), layout: layout, runner: replayer,
                                           options: DrillOptions(libraryDirectory: nil, environment: [:])).replayJournal()
        #expect(replay.result == .passed)
        #expect(replayer.calls.map(Self.summary) == [
            "ssh 192.168.64.21 if sudo nft list table inet k0slua_drill_1 >/dev/null 2>&1; then sudo nft delete table inet k0slua_drill_1; fi",
            "ssh 192.168.64.20 if sudo nft list table inet k0slua_drill_1 >/dev/null 2>&1; then sudo nft delete table inet k0slua_drill_1; fi",
        ])
        #expect(try DrillJournal.load(layout) == nil)
    }
}

/// `k0slua drill` end to end: the built binary, the stand-ins, a cluster `up` made.
@Suite(.serialized) struct DrillCommandTests {
    static let libvirt = ["vagrant_provider": "libvirt"]

    static func upWorld() async throws -> StandInWorld {
        let world = try StandInWorld()
        let up = try await world.run(["up", "--skip", "health"], environment: libvirt)
        try #require(up.exitCode == 0, "\(up.standardError)")
        world.clearTranscript()
        return world
    }

    static func remote(_ world: StandInWorld) -> [String] {
        world.calls.compactMap { call in
            if call.tool == "vagrant" { return "vagrant " + call.argv.joined(separator: " ") }
            guard call.tool == "ssh", let separator = call.argv.firstIndex(of: "--"), call.argv.count > separator + 2 else { return nil }
            return "ssh " + call.argv[(separator + 2)...].joined(separator: " ")
        }
    }

    @Test func item22_theShippedWorkerStopDrillPassesOnTheStandIns() async throws {
        let world = try await Self.upWorld()
        let result = try await world.run(["drill", Repo.root + "/drills/worker-stop.lua"], environment: Self.libvirt)
        #expect(result.exitCode == 0, "\(result.standardOutput)\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains(":34 ") && $0.contains("stop worker-1") && $0.hasSuffix("ok") }, "\(result.standardOutput)")
        #expect(lines.contains { $0.contains("wait worker-1 NotReady") && $0.contains("met after") }, "\(result.standardOutput)")
        #expect(lines.contains { $0.contains("wait worker-1 Ready again") && $0.contains("met after") }, "\(result.standardOutput)")
        #expect(lines.last?.hasPrefix("drill passed in ") == true, "\(result.standardOutput)")
        #expect(Self.remote(world).filter { $0.hasPrefix("vagrant") } == ["vagrant halt worker-1",
                                                                           "vagrant up --provider libvirt --no-provision worker-1"])
        #expect(!FileManager.default.fileExists(atPath: DrillJournal.path(world.layout)))
    }

    @Test func item22_jsonOutputAndExitOneForAFailedExpectation() async throws {
        let world = try await Self.upWorld()
        let file = world.directory + "/fails.lua"
        _ = FileManager.default.createFile(atPath: file, contents: Data("""
        drill.kill_k0s("worker-1")
        drill.expect(false, "a drill that fails")
        """.utf8))
        let result = try await world.run(["drill", "fails.lua", "--json"], environment: Self.libvirt)
        #expect(result.exitCode == 1, "\(result.standardError)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(document["result"] as? String == "failed")
        #expect(document["message"] as? String == "expectation failed: a drill that fails (fails.lua:2)")
        let steps = try #require(document["steps"] as? [[String: Any]])
        #expect(steps.map { $0["step"] as? String } == ["kill k0s on worker-1", "expect a drill that fails", "undo: start k0sworker on worker-1"])
        #expect(steps.first?["line"] as? Int == 1)
        #expect(Self.remote(world) == ["ssh sudo systemctl stop 'k0sworker'", "ssh sudo systemctl start 'k0sworker'"])
    }

    @Test func item22_aDrillFileErrorExits65WithItsLine() async throws {
        let world = try await Self.upWorld()
        _ = FileManager.default.createFile(atPath: world.directory + "/typo.lua", contents: Data("\n\ndrill.stop(\"wrker-1\")\n".utf8))
        let result = try await world.run(["drill", "typo.lua"], environment: Self.libvirt)
        #expect(result.exitCode == 65)
        #expect(result.standardError.contains("error: typo.lua:3: drill.stop: no node named \"wrker-1\" in the applied cluster"), "\(result.standardError)")
        #expect(Self.remote(world).isEmpty)
    }

    @Test func item22_undoReplaysTheJournalOfAKilledK0sluaAndANewDrillWaitsForIt() async throws {
        let world = try await Self.upWorld()
        _ = FileManager.default.createFile(atPath: world.directory + "/long.lua", contents: Data("""
        drill.kill_k0s("control-plane-1")
        drill.partition({ "control-plane-1" }, { "worker-1" })
        drill.sleep("10m")
        """.utf8))
        let (process, _) = try world.start(["drill", "long.lua"], environment: Self.libvirt)
        let journal = DrillJournal.path(world.layout)
        try await waitFor { (try? DrillJournal.load(world.layout))??.entries.count == 3 && Self.remote(world).count == 3 }
        kill(process.processIdentifier, SIGKILL)
        try await exited(process)
        #expect(FileManager.default.fileExists(atPath: journal))
        world.clearTranscript()
        let refused = try await world.run(["drill", "long.lua"], environment: Self.libvirt)
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains("the drill long.lua left faults in place"), "\(refused.standardError)")
        #expect(refused.standardError.contains("hint: undo them first: `k0slua drill --undo`"))
        #expect(Self.remote(world).isEmpty)
        let undo = try await world.run(["drill", "--undo"], environment: Self.libvirt)
        #expect(undo.exitCode == 0, "\(undo.standardOutput)\(undo.standardError)")
        #expect(Self.remote(world) == [
            "ssh if sudo nft list table inet k0slua_drill_1 >/dev/null 2>&1; then sudo nft delete table inet k0slua_drill_1; fi",
            "ssh if sudo nft list table inet k0slua_drill_1 >/dev/null 2>&1; then sudo nft delete table inet k0slua_drill_1; fi",
            "ssh sudo systemctl start 'k0scontroller'",
        ])
        #expect(!FileManager.default.fileExists(atPath: journal))
    }

    @Test func item22_ctrlCUndoesTheFaultsAndExits130() async throws {
        let world = try await Self.upWorld()
        _ = FileManager.default.createFile(atPath: world.directory + "/long.lua", contents: Data("""
        drill.kill_k0s("worker-1")
        drill.sleep("10m")
        """.utf8))
        let (process, errors) = try world.start(["drill", "long.lua"], environment: Self.libvirt, launcher: ["/usr/bin/setsid", "-w"])
        try await waitFor { (try? DrillJournal.load(world.layout))??.entries.count == 1 && !Self.remote(world).isEmpty }
        try await Task.sleep(for: .milliseconds(300))
        let k0slua = try InterruptTests.k0slua(under: process)
        kill(-k0slua, SIGINT)
        try await exited(process)
        let stderr = try String(contentsOfFile: errors, encoding: .utf8)
        #expect(process.terminationStatus == 130, "\(stderr)")
        #expect(Self.remote(world) == ["ssh sudo systemctl stop 'k0sworker'", "ssh sudo systemctl start 'k0sworker'"])
        #expect(!FileManager.default.fileExists(atPath: DrillJournal.path(world.layout)))
    }

    @Test func item22_theShippedControllerDrillsRunOnThreeControllers() async throws {
        let world = try StandInWorld()
        let three = Self.libvirt.merging(["control_plane_count": "3"]) { $1 }
        try #require(try await world.run(["up", "--skip", "health"], environment: three).exitCode == 0)
        world.clearTranscript()
        let partition = try await world.run(["drill", Repo.root + "/drills/controller-partition.lua"], environment: three.merging(["drill_hold": "0s"]) { $1 })
        #expect(partition.exitCode == 0, "\(partition.standardOutput)\(partition.standardError)")
        #expect(partition.standardOutput.contains("partition control-plane-3 | control-plane-1,control-plane-2"), "\(partition.standardOutput)")
        #expect(partition.standardOutput.contains("undo: remove partition k0slua_drill_1 on control-plane-3"))
        let lines = partition.standardOutput.split(separator: "\n")
        let undone = try #require(lines.firstIndex { $0.contains("undo: remove partition k0slua_drill_1 on control-plane-1") })
        let healed = try #require(lines.firstIndex { $0.contains("wait control-plane-3's etcd back in the cluster") })
        #expect(undone < healed, "drill.undo() lifted the partition before the wait")
        world.clearTranscript()
        let leader = try await world.run(["drill", Repo.root + "/drills/leader-kill.lua"], environment: three.merging(["drill_hold": "0s"]) { $1 })
        #expect(leader.exitCode == 0, "\(leader.standardOutput)\(leader.standardError)")
        #expect(Self.remote(world).contains("ssh sudo systemctl stop 'k0scontroller'"))
        #expect(Self.remote(world).last == "ssh sudo systemctl start 'k0scontroller'")
    }

    @Test func item22_theControllerDrillsSayWhyTheyCannotRunOnOneController() async throws {
        let world = try await Self.upWorld()
        let partition = try await world.run(["drill", Repo.root + "/drills/controller-partition.lua"], environment: Self.libvirt)
        #expect(partition.exitCode == 0)
        #expect(partition.standardOutput.contains("drill skipped: 1 controller(s): etcd needs 3 to lose one and keep its quorum"), "\(partition.standardOutput)")
        let leader = try await world.run(["drill", Repo.root + "/drills/leader-kill.lua", "--json"], environment: Self.libvirt)
        #expect(leader.exitCode == 0)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(leader.standardOutput.utf8)) as? [String: Any])
        #expect(document["result"] as? String == "skipped")
        #expect((document["message"] as? String)?.hasPrefix("one controller: killing its k0s takes the API down") == true)
        #expect(Self.remote(world).isEmpty, "a skipped drill makes no fault")
    }
}

