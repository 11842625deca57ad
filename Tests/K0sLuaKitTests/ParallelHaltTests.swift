import Foundation
import K0sLuaKit
import Testing

/// `k0slua stop` halts each group (workers, then controllers) with one `vagrant halt <node>` per
/// machine at once, under `--parallel`: one `vagrant halt a b c` halts them one after another
/// (Vagrant's plugins/commands/halt/command.rb), which the stand-in models with a delay per machine.
@Suite struct ParallelHaltTests {
    /// One `vagrant halt` process: what it named, and when it ran: from its spawn (the start line's
    /// `time`, from /proc, so a slow interpreter start-up under load does not count) to its `end` line.
    struct Halt {
        let argv: [String]
        let start: Double
        let end: Double?
        let signal: String?
        var machines: [String] { argv.dropFirst().filter { !$0.hasPrefix("-") } }
    }

    static func halts(_ world: StandInWorld) throws -> [Halt] {
        let text = (try? String(contentsOfFile: world.directory + "/transcript.jsonl", encoding: .utf8)) ?? ""
        var order: [Int] = []
        var argv: [Int: [String]] = [:], starts: [Int: Double] = [:], ends: [Int: Double] = [:], signals: [Int: String] = [:]
        for line in text.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard object["tool"] as? String == "vagrant", let arguments = object["argv"] as? [String], arguments.first == "halt",
                  let pid = object["pid"] as? Int else { continue }
            if object["end"] != nil {
                ends[pid] = object["time"] as? Double
            } else if let signal = object["signal"] as? String {
                signals[pid] = signal
            } else if object["event"] == nil, let started = object["time"] as? Double {
                order.append(pid)
                argv[pid] = arguments
                starts[pid] = started
            }
        }
        return order.map { Halt(argv: argv[$0]!, start: starts[$0]!, end: ends[$0], signal: signals[$0]) }
    }

    static func world(controllers: Int, workers: Int) async throws -> (StandInWorld, [String: String]) {
        let world = try StandInWorld()
        let environment = ["control_plane_count": "\(controllers)", "worker_count": "\(workers)"]
        let up = try await world.run(["up", "--skip", "health"], environment: environment)
        #expect(up.exitCode == 0, "\(up.standardError)")
        world.clearTranscript()
        return (world, environment)
    }

    @Test func itemHalt_1_haltsOfAGroupOverlapAndWorkersEndBeforeControllersStart() async throws {
        let (world, environment) = try await Self.world(controllers: 3, workers: 2)
        let stop = try await world.run(["stop"], environment: environment.merging(["K0SLUA_STANDIN_DELAY": "vagrant:halt=2"]) { $1 })
        #expect(stop.exitCode == 0, "\(stop.standardError)")
        let halts = try Self.halts(world)
        #expect(halts.map(\.machines).sorted { $0.joined() < $1.joined() }
                == [["control-plane-1"], ["control-plane-2"], ["control-plane-3"], ["worker-1"], ["worker-2"]], "one process per machine")
        let workers = halts.filter { $0.machines.allSatisfy { $0.hasPrefix("worker-") } }
        let controllers = halts.filter { $0.machines.allSatisfy { $0.hasPrefix("control-plane-") } }
        for group in [workers, controllers] {
            let ends = group.compactMap(\.end)
            try #require(ends.count == group.count && group.count > 1)
            #expect(group.map(\.start).max()! < ends.min()!, "every halt of the group started before the first one ended")
        }
        #expect(workers.compactMap(\.end).max()! <= controllers.map(\.start).min()!, "every worker is down before a controller halts")
        #expect(try LifecycleTests.vagrantState(world).values.allSatisfy { $0 == "stopped" })
        #expect(try #require(try ClusterRecord.load(world.layout)).isStopped)
        // One log, machine by machine: each command's lines follow it, up to its exit.
        let log = try String(contentsOfFile: world.layout.logs + "/vagrant-halt.log", encoding: .utf8)
        var current: String?
        var commands: [String] = []
        for line in log.split(separator: "\n").map(String.init) {
            if line.hasPrefix("$ ") {
                #expect(current == nil, "a command began inside another's block: \(log)")
                current = line.split(separator: " ").last.map(String.init)
                commands.append(current ?? "")
            } else if line.hasPrefix("exit ") {
                #expect(current != nil)
                current = nil
            } else if line.hasPrefix("==> ") {
                #expect(current.map { line.hasPrefix("==> \($0):") } == true, "\(line) outside its own block: \(log)")
            }
        }
        #expect(Set(commands.prefix(2)) == ["worker-1", "worker-2"] && Set(commands.dropFirst(2)) == ["control-plane-1", "control-plane-2", "control-plane-3"])
    }

    @Test func itemHalt_1_parallelOneHaltsOneMachineAtATime() async throws {
        let (world, environment) = try await Self.world(controllers: 1, workers: 2)
        let stop = try await world.run(["stop", "--parallel", "1"], environment: environment.merging(["K0SLUA_STANDIN_DELAY": "vagrant:halt=0.3"]) { $1 })
        #expect(stop.exitCode == 0, "\(stop.standardError)")
        let halts = try Self.halts(world)
        #expect(halts.map(\.machines) == [["worker-1"], ["worker-2"], ["control-plane-1"]])
        for (first, second) in zip(halts, halts.dropFirst()) {
            #expect(try #require(first.end) <= second.start, "\(first.machines) ended before \(second.machines) started")
        }
    }

    @Test func itemHalt_2_aFailingHaltNamesItsMachineTheOthersStillHaltAndStopAgainFinishes() async throws {
        let (world, environment) = try await Self.world(controllers: 1, workers: 3)
        let stop = try await world.run(["stop"], environment: environment.merging(["K0SLUA_STANDIN_FAIL": "vagrant:halt:worker-2",
                                                                                   "K0SLUA_STANDIN_DELAY": "vagrant:halt=0.5"]) { $1 })
        #expect(stop.exitCode == 1)
        #expect(stop.standardError.contains("error: stop failed in phase machines (vagrant): could not halt worker-2: `vagrant halt worker-2` exited with 1"),
                "\(stop.standardError)")
        #expect(stop.standardError.contains("An error occurred while halting worker-2"), "its output: \(stop.standardError)")
        #expect(stop.standardError.contains("halted: worker-1, worker-3"), "\(stop.standardError)")
        #expect(stop.standardError.contains("not halted: worker-2 (its halt failed), control-plane-1 (controllers halt after every worker)"),
                "\(stop.standardError)")
        #expect(stop.standardError.contains("hint: run `k0slua stop` again: it halts what still runs"), "\(stop.standardError)")
        #expect(stop.standardError.contains("full log: \(world.layout.logs)/vagrant-halt.log"))
        let halts = try Self.halts(world)
        #expect(Set(halts.map(\.machines)) == [["worker-1"], ["worker-2"], ["worker-3"]], "no controller halts after a worker failed")
        #expect(halts.allSatisfy { $0.end != nil })
        let state = try LifecycleTests.vagrantState(world)
        #expect(state == ["control-plane-1": "running", "worker-1": "stopped", "worker-2": "running", "worker-3": "stopped"])
        #expect(try #require(try ClusterRecord.load(world.layout)).isStopped == false)

        let again = try await world.run(["stop"], environment: environment)
        #expect(again.exitCode == 0, "\(again.standardError)")
        #expect(try LifecycleTests.vagrantState(world).values.allSatisfy { $0 == "stopped" })
        #expect(try #require(try ClusterRecord.load(world.layout)).isStopped)
    }

    @Test func itemHalt_3_ctrlCStopsEveryRunningHalt() async throws {
        let (world, environment) = try await Self.world(controllers: 1, workers: 2)
        let (process, errors) = try world.start(["stop"], environment: environment.merging(["K0SLUA_STANDIN_DELAY": "vagrant:halt=600"]) { $1 },
                                                launcher: ["/usr/bin/setsid", "-w"])
        // A failed expectation below must not leave k0slua and its ten-minute halts behind.
        defer { if process.isRunning, let k0slua = try? InterruptTests.k0slua(under: process) { kill(k0slua, SIGTERM) } }
        try await waitFor { (try? Self.halts(world).count) == 2 }
        try await Task.sleep(for: .milliseconds(300))
        let group = try InterruptTests.k0slua(under: process)
        let started = Date()
        kill(-group, SIGINT)
        try await exited(process)
        #expect(process.terminationStatus == 130)
        #expect(Date().timeIntervalSince(started) < 60)
        let halts = try Self.halts(world)
        #expect(halts.map(\.machines).sorted { $0.joined() < $1.joined() } == [["worker-1"], ["worker-2"]], "no controller halt started")
        #expect(halts.allSatisfy { $0.signal == "INT" && $0.end != nil }, "each halt got Ctrl-C once and ended")
        let stderr = try String(contentsOfFile: errors, encoding: .utf8)
        #expect(stderr.contains("interrupted; state and logs are kept"), "\(stderr)")
        // One line for both halts, not one per process.
        #expect(stderr.components(separatedBy: "interrupted: waiting up to").count == 2, "\(stderr)")
        #expect(stderr.contains("interrupted: waiting up to 60 s for 2 vagrant processes to clean up and stop (Ctrl-C again to terminate them now)"))
        #expect(try #require(try ClusterRecord.load(world.layout)).isStopped == false)
    }

    /// `snapshot restore` of a disks-only snapshot powers today's machines off with one `vagrant halt
    /// --force` each, at once: vagrant-libvirt's forced halt still waits for the guest's ACPI shutdown.
    @Test func itemHalt_2_restorePowersEveryMachineOffAtOnce() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: ParallelHaltTests.libvirt).exitCode == 0)
        // Saved while stopped: disks only, so restore powers machines off through Vagrant (a
        // running libvirt cluster's memory snapshot uses `virsh destroy`).
        #expect(try await world.run(["stop"], environment: ParallelHaltTests.libvirt).exitCode == 0)
        #expect(try await world.run(["snapshot", "save", "base", "--health-wait", "0"], environment: ParallelHaltTests.libvirt).exitCode == 0)
        let grown = ParallelHaltTests.libvirt.merging(["worker_count": "2"]) { $1 }
        #expect(try await world.run(["up", "--skip", "health"], environment: grown).exitCode == 0)
        world.clearTranscript()
        let restore = try await world.run(["snapshot", "restore", "base", "--skip-health"], environment: grown.merging(["K0SLUA_STANDIN_DELAY": "vagrant:halt=2"]) { $1 })
        #expect(restore.exitCode == 0, "\(restore.standardError)")
        let halts = try Self.halts(world)
        #expect(halts.map(\.machines).sorted { $0.joined() < $1.joined() } == [["control-plane-1"], ["worker-1"], ["worker-2"]])
        #expect(halts.allSatisfy { $0.argv.contains("--force") })
        let ends = halts.compactMap(\.end)
        try #require(ends.count == 3)
        #expect(halts.map(\.start).max()! < ends.min()!, "every machine's power-off started before the first one ended")
    }

    static let libvirt = ["vagrant_provider": "libvirt"]
}
