import Foundation
import K0sLuaKit
import Testing

/// Issue 24, item 3 for hooks: the nodes' `pre_join`/`post_join` hooks of a stage run side by side
/// on the one Lua state (each hook a coroutine that yields at ctx.run, ctx.run_on and ctx.kubectl),
/// at most `--parallel N` at once; the cluster's hooks run alone, before and after them. The ssh
/// stand-in runs `sleep S # comment` for S seconds, as a node would.
@Suite struct HookStageTests {
    /// 1 controller and 3 workers; every node hook sleeps (`hook_seconds`, 3 s unless set: enough
    /// to overlap on a loaded machine), then echoes; the cluster's hooks bracket them.
    static let cluster = """
    local k0s = require "k0s"
    local nodes = require "k0slua.nodes"
    local seconds = k0s.env.integer("hook_seconds", 3, { min = 1 })
    local function hook(node, ctx)
      ctx.run("sleep " .. seconds .. " # " .. ctx.phase .. " " .. node.name)
      ctx.run("echo " .. ctx.phase .. " " .. node.name)
    end
    return {
      nodes = nodes.concat(
        nodes.class { prefix = "control-plane", role = "controller", count = 1, first_ip = "dhcp", cpus = 2, memory = 2048, disk = 32,
                      workloads = function() return true end, hooks = { pre_join = hook, post_join = hook } },
        nodes.class { prefix = "worker", role = "worker", count = 3, first_ip = "dhcp", cpus = 2, memory = 4096, disk = 32,
                      hooks = { pre_join = hook, post_join = hook } }),
      hooks = {
        pre_join = function(ctx) ctx.run_on("control-plane-1", "sleep 0.5 # cluster pre_join"); ctx.run_on("control-plane-1", "echo cluster pre_join") end,
        post_join = function(ctx) ctx.run_on("control-plane-1", "echo cluster post_join") end,
      },
    }
    """

    static let nodeNames = ["control-plane-1", "worker-1", "worker-2", "worker-3"]

    /// A node hook's sleep in `cluster`.
    static func sleep(_ phase: String, _ node: String, seconds: Int = 3) -> String { "sleep \(seconds) # \(phase) \(node)" }

    /// One controller (running workloads) and `workers` workers whose `pre_join` hook is
    /// `function(node, ctx)` with `body`, whose first line is cluster.lua:3; the controller runs the
    /// hook too with `controllerHook`.
    static func hooked(_ body: String, workers: Int, controllerHook: Bool = false) -> String {
        """
        local nodes = require "k0slua.nodes"
        local function hook(node, ctx)
        \(body)
        end
        return {
          nodes = nodes.concat(
            nodes.class { prefix = "control-plane", role = "controller", count = 1, first_ip = "dhcp", cpus = 2, memory = 2048, disk = 32,
                          workloads = function() return true end\(controllerHook ? ", hooks = { pre_join = hook }" : "") },
            nodes.class { prefix = "worker", role = "worker", count = \(workers), first_ip = "dhcp", cpus = 2, memory = 4096, disk = 32,
                          hooks = { pre_join = hook } }),
        }
        """
    }

    /// One stand-in process: its command line, when it ran (`started`, then its `end` line) and
    /// the signal it got.
    struct Run {
        let tool: String
        let argv: [String]
        /// The last argument: ssh's remote command, the domain of `virsh destroy`.
        var remote: String { argv.last ?? "" }
        let start: Double
        var end: Double?
        var signal: String?
    }

    static func runs(_ world: StandInWorld) throws -> [Run] {
        let text = (try? String(contentsOfFile: world.directory + "/transcript.jsonl", encoding: .utf8)) ?? ""
        var order: [Int] = [], byPid: [Int: Run] = [:]
        for line in text.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let pid = object["pid"] as? Int, let tool = object["tool"] as? String, let argv = object["argv"] as? [String] else { continue }
            if object["end"] != nil {
                byPid[pid]?.end = object["time"] as? Double
            } else if let signal = object["signal"] as? String {
                byPid[pid]?.signal = signal
            } else if object["event"] == nil, let started = object["started"] as? Double {
                order.append(pid)
                byPid[pid] = Run(tool: tool, argv: argv, start: started)
            }
        }
        return order.compactMap { byPid[$0] }
    }

    static func run(_ runs: [Run], _ remote: String) throws -> Run {
        try #require(runs.first { $0.tool == "ssh" && $0.remote == remote }, "no ssh ran `\(remote)`")
    }

    /// The most hook commands (`sleep … # <phase> <node>`) running at one moment.
    static func mostAtOnce(_ runs: [Run], phase: String) -> Int {
        let sleeps = runs.filter { $0.remote.hasPrefix("sleep ") && $0.remote.contains("# \(phase) ") && !$0.remote.contains("cluster") }
        return sleeps.map { run in sleeps.filter { $0.start <= run.start && ($0.end ?? .infinity) > run.start }.count }.max() ?? 0
    }

    @Test func item24_hooks_1_nodeHooksOfAStageRunSideBySideBetweenTheClustersHooks() async throws {
        let world = try StandInWorld(cluster: Self.cluster)
        let up = try await world.run(["up", "--skip", "health"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        let runs = try Self.runs(world)
        for phase in ["pre_join", "post_join"] {
            let sleeps = try Self.nodeNames.map { try Self.run(runs, Self.sleep(phase, $0)) }
            let ends = try sleeps.map { try #require($0.end) }
            #expect(sleeps.map(\.start).max()! < ends.min()!, "\(phase): every node's hook was waiting for its command at once")
            // A hook's own steps keep their order: its echo after its sleep.
            for (name, sleep) in zip(Self.nodeNames, sleeps) {
                #expect(try Self.run(runs, "echo \(phase) \(name)").start >= sleep.end!, "\(phase) \(name): echo after its sleep")
            }
        }
        // The cluster's pre_join ran alone before the nodes', its post_join after them.
        let clusterPre = try Self.run(runs, "echo cluster pre_join")
        let firstNodeStep = try Self.nodeNames.map { try Self.run(runs, Self.sleep("pre_join", $0)).start }.min()!
        #expect(try #require(clusterPre.end) <= firstNodeStep)
        let lastNodeStep = try Self.nodeNames.map { try #require(try Self.run(runs, "echo post_join \($0)").end) }.max()!
        #expect(try Self.run(runs, "echo cluster post_join").start >= lastNodeStep)
        // pre_join before k0sctl apply, post_join after.
        let apply = try #require(runs.first { $0.tool == "k0sctl" && $0.argv.first == "apply" })
        #expect(try Self.nodeNames.allSatisfy { try #require(try Self.run(runs, "echo pre_join \($0)").end) <= apply.start })
        #expect(try Self.nodeNames.allSatisfy { try Self.run(runs, Self.sleep("post_join", $0)).start >= apply.start })
        // The log names whose every line is.
        let log = try String(contentsOfFile: world.layout.logs + "/hooks-pre_join.log", encoding: .utf8)
        #expect(log.contains("[worker-2] $ \(Self.sleep("pre_join", "worker-2"))") && log.contains("[worker-2] exit 0"), "\(log)")
    }

    @Test func item24_hooks_2_parallelBoundsHowManyHooksWaitAtOnce() async throws {
        let world = try StandInWorld(cluster: Self.cluster)
        let up = try await world.run(["up", "--skip", "health", "--parallel", "2"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        let runs = try Self.runs(world)
        #expect(Self.mostAtOnce(runs, phase: "pre_join") == 2)
        #expect(Self.mostAtOnce(runs, phase: "post_join") == 2)
        // Hooks start in plan order: control-plane-1 and worker-1 first.
        let starts = try Self.nodeNames.map { try Self.run(runs, Self.sleep("pre_join", $0)).start }
        #expect(max(starts[0], starts[1]) < min(starts[2], starts[3]), "\(starts)")
    }

    @Test func item24_hooks_3_parallelOneRunsThemOneAfterAnotherInPlanOrder() async throws {
        let world = try StandInWorld(cluster: Self.cluster)
        let up = try await world.run(["up", "--skip", "health", "--parallel", "1"], environment: ["hook_seconds": "1"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        let runs = try Self.runs(world)
        #expect(Self.mostAtOnce(runs, phase: "pre_join") == 1)
        let hookCommands = runs.filter { $0.tool == "ssh" && ($0.remote.hasPrefix("echo ") || $0.remote.hasPrefix("sleep ")) }.map(\.remote)
        let expected = ["sleep 0.5 # cluster pre_join", "echo cluster pre_join"]
            + Self.nodeNames.flatMap { [Self.sleep("pre_join", $0, seconds: 1), "echo pre_join \($0)"] }
            + Self.nodeNames.flatMap { [Self.sleep("post_join", $0, seconds: 1), "echo post_join \($0)"] }
            + ["echo cluster post_join"]
        #expect(hookCommands == expected)
    }

    /// worker-1's hook fails while worker-2's waits for its command: worker-2's runs to its end,
    /// worker-3's (third, with --parallel 2) never starts, k0sctl never runs.
    @Test func item24_hooks_4_aFailureLetsStartedHooksFinishAndStartsNoOther() async throws {
        let source = Self.hooked("""
              if node.name == "worker-1" then
                ctx.run("sleep 0.2 # " .. node.name)
                error("no widget on " .. node.name)
              end
              ctx.run("sleep 4 # " .. node.name)
              ctx.run("echo after " .. node.name)
              """, workers: 3)
        let world = try StandInWorld(cluster: source)
        let up = try await world.run(["up", "--parallel", "2"])
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains(
            "error: up failed in phase pre-join: hook \"pre_join\" for worker-1 (cluster.lua:2) failed: cluster.lua:5: no widget on worker-1"),
            "\(up.standardError)")
        let runs = try Self.runs(world)
        #expect(runs.contains { $0.remote == "echo after worker-2" }, "the hook already started ran to its end")
        #expect(!runs.contains { $0.remote == "sleep 4 # worker-3" }, "no hook started after the failure")
        #expect(!runs.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
    }

    @Test func item24_hooks_4_everyFailedHookIsNamed() async throws {
        let source = Self.hooked("""
              ctx.run("sleep 0.5 # " .. node.name)
              ctx.run("false # " .. node.name)
              """, workers: 2)
        let world = try StandInWorld(cluster: source)
        let up = try await world.run(["up"], environment: ["K0SLUA_STANDIN_FAIL": "ssh:hook"])
        #expect(up.exitCode == 1)
        // ssh:hook fails every hook command at once, the sleeps included.
        #expect(up.standardError.contains("error: up failed in phase pre-join: 2 pre_join hooks failed"), "\(up.standardError)")
        for name in ["worker-1", "worker-2"] {
            #expect(up.standardError.contains(
                "hook \"pre_join\" for \(name) (cluster.lua:2) failed: cluster.lua:3: `sleep 0.5 # \(name)` on \(name) exited with 1: stand-in: hook command failed"),
                "\(up.standardError)")
        }
    }

    /// A hook that computes past --max-hook-seconds ends the stage at once: the Lua state is spent,
    /// so the other hook's program is stopped rather than waited for.
    @Test func item24_hooks_5_aHookOverItsTimeLimitStopsTheOthers() async throws {
        let source = Self.hooked("""
              if node.name == "worker-1" then
                ctx.run("sleep 0.2 # " .. node.name)
                while true do end
              end
              ctx.run("sleep 60 # " .. node.name)
              """, workers: 2)
        let world = try StandInWorld(cluster: source)
        let up = try await world.run(["up", "--max-hook-seconds", "1"])
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains("hook \"pre_join\" for worker-1 (cluster.lua:2): time limit of 1 s exceeded"), "\(up.standardError)")
        #expect(up.standardError.contains("--max-hook-seconds"))
        let sleeper = try Self.run(try Self.runs(world), "sleep 60 # worker-2")
        // Stopped by a signal, not waited for (a finished sleep ends without one).
        #expect(sleeper.signal != nil && sleeper.end != nil, "worker-2's command was stopped")
    }

    /// Waiting for programs is not the hook's time, summed over its steps: two 1.5 s commands
    /// under a 1 s limit.
    @Test func item24_hooks_5_waitingDoesNotCountAgainstTheLimit() async throws {
        let source = Self.hooked("""
              ctx.run("sleep 1.5 # a " .. node.name)
              ctx.run("sleep 1.5 # b " .. node.name)
              """, workers: 2)
        let world = try StandInWorld(cluster: source)
        let up = try await world.run(["up", "--skip", "health", "--max-hook-seconds", "1"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        #expect(try Self.runs(world).filter { $0.remote.hasPrefix("sleep 1.5") }.count == 4)
    }

    /// Where a hook cannot yield (a gsub replacement runs inside C), ctx.run still works and its
    /// error still points at the hook's line; `ctx:run(…)` works too.
    @Test func item24_hooks_6_ctxRunWorksWhereAHookCannotYield() async throws {
        let source = Self.hooked("""
              ctx:run("echo method " .. node.name)
              assert(pcall(ctx.run, "echo in-pcall " .. node.name))
              local out = ("x"):gsub("x", function()
                return ctx.run("echo inside-gsub " .. node.name).code == 0 and "y" or "n"
              end)
              ctx.log("gsub gave " .. out)
              """, workers: 2)
        let world = try StandInWorld(cluster: source)
        let up = try await world.run(["up", "--skip", "health"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        let remotes = try Self.runs(world).map(\.remote)
        for name in ["worker-1", "worker-2"] {
            #expect(remotes.contains("echo method \(name)") && remotes.contains("echo in-pcall \(name)") && remotes.contains("echo inside-gsub \(name)"))
        }
        let log = try String(contentsOfFile: world.layout.logs + "/hooks-pre_join.log", encoding: .utf8)
        #expect(log.contains("[worker-1] gsub gave y"), "\(log)")

    }

    @Test func item24_hooks_6_aFailureWhereAHookCannotYieldPointsAtItsLine() async throws {
        let source = Self.hooked("""
              return (("x"):gsub("x", function()
                return ctx.run("echo inside-gsub " .. node.name).stdout
              end))
              """, workers: 1)
        let world = try StandInWorld(cluster: source)
        let up = try await world.run(["up"], environment: ["K0SLUA_STANDIN_FAIL": "ssh:hook"])
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains(
            "hook \"pre_join\" for worker-1 (cluster.lua:2) failed: cluster.lua:4: `echo inside-gsub worker-1` on worker-1 exited with 1: stand-in: hook command failed"),
            "\(up.standardError)")
    }

    /// Ctrl-C while hooks wait for their commands: every command is stopped, k0slua exits 130 and
    /// k0sctl never runs.
    @Test func item24_hooks_7_ctrlCStopsEveryHooksCommand() async throws {
        let source = Self.hooked("""
              ctx.run("sleep 120 # " .. node.name)
              """, workers: 2, controllerHook: true)
        let world = try StandInWorld(cluster: source)
        let (process, errors) = try world.start(["up"], launcher: ["/usr/bin/setsid", "-w"])
        try await waitFor { (try? Self.runs(world).filter { $0.remote.hasPrefix("sleep 120") }.count) == 3 }
        try await Task.sleep(for: .milliseconds(300))
        let group = try InterruptTests.k0slua(under: process)
        kill(-group, SIGINT)
        try await exited(process)
        #expect(process.terminationStatus == 130)
        let sleeps = try Self.runs(world).filter { $0.remote.hasPrefix("sleep 120") }
        #expect(sleeps.count == 3 && sleeps.allSatisfy { $0.signal != nil && $0.end != nil }, "every hook's command was stopped")
        let stderr = try String(contentsOfFile: errors, encoding: .utf8)
        #expect(stderr.contains("interrupted; state and logs are kept"), "\(stderr)")
        #expect(stderr.components(separatedBy: "interrupted: waiting up to").count == 2, "one line for the three ssh: \(stderr)")
        #expect(stderr.contains("interrupted: waiting up to 10 s for 3 ssh processes to clean up"))
        #expect(!world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
    }
}
