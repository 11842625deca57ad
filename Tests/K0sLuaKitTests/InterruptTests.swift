import Foundation
import K0sLuaKit
import Testing

/// Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group. k0slua runs under
/// setsid so that it leads a group of its own, as a shell's job would.
@Suite struct InterruptTests {
    /// `up` started as a terminal's job would be, once vagrant runs: k0slua leads its own process
    /// group. `setsid -w` forks when its caller already leads a group (Foundation's Process makes the
    /// child one), so k0slua runs as its only child, leading a new session and process group.
    static func upUntilVagrantRuns(_ world: StandInWorld, _ environment: [String: String]) async throws -> (Process, String, pid_t) {
        let (process, errors) = try world.start(["up"], environment: environment, launcher: ["/usr/bin/setsid", "-w"])
        try await waitFor { world.vagrantUpStarted }
        try await Task.sleep(for: .milliseconds(300))
        return (process, errors, try k0slua(under: process))
    }

    /// The pid of k0slua under `setsid -w` (setsid's one child).
    static func k0slua(under setsid: Process) throws -> pid_t {
        let children = try String(contentsOfFile: "/proc/\(setsid.processIdentifier)/task/\(setsid.processIdentifier)/children", encoding: .utf8)
        return try #require(children.split(separator: " ").compactMap { pid_t($0) }.first)
    }

    static func vagrantSignals(_ world: StandInWorld) -> [String] {
        world.calls.filter { $0.tool == "vagrant" && $0.argv.first == "up" }.compactMap(\.signal)
    }

    @Test func oneCtrlCLetsVagrantCleanUpAndExits130() async throws {
        let world = try StandInWorld()
        let (process, errors, group) = try await Self.upUntilVagrantRuns(world, ["K0SLUA_STANDIN_DELAY": "vagrant:up=600",
                                                                                   "K0SLUA_STANDIN_CLEANUP": "2"])
        #expect(getpgid(group) == group, "k0slua leads its own process group")
        #expect(getpgid(group) != getpgid(0))
        let started = Date()
        kill(-group, SIGINT)
        try await exited(process)
        #expect(process.terminationStatus == 130)
        // Exactly one SIGINT reached vagrant (from k0slua: the terminal's went to k0slua's group only),
        // and vagrant had the time to clean up.
        #expect(Self.vagrantSignals(world) == ["INT"])
        #expect(world.events == ["vagrant cleanup-done"])
        #expect(Date().timeIntervalSince(started) >= 2)
        let stderr = try String(contentsOfFile: errors, encoding: .utf8)
        #expect(stderr.contains("waiting up to 60 s for vagrant to clean up"), "\(stderr)")
        #expect(stderr.contains("interrupted; state and logs are kept"))
        #expect(!world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
        #expect(FileManager.default.fileExists(atPath: world.layout.vagrantfile))
        #expect(FileManager.default.fileExists(atPath: world.layout.logs + "/vagrant-up.log") || FileManager.default.fileExists(atPath: world.layout.logs))
    }

    @Test func aSecondCtrlCTerminatesWithoutWaitingForTheCleanup() async throws {
        let world = try StandInWorld()
        let (process, errors, group) = try await Self.upUntilVagrantRuns(world, ["K0SLUA_STANDIN_DELAY": "vagrant:up=600",
                                                                                   "K0SLUA_STANDIN_CLEANUP": "600"])
        let started = Date()
        kill(-group, SIGINT)
        try await waitFor { Self.vagrantSignals(world) == ["INT"] }
        kill(-group, SIGINT)
        try await exited(process)
        #expect(process.terminationStatus == 130)
        #expect(Self.vagrantSignals(world) == ["INT", "TERM"])
        #expect(Date().timeIntervalSince(started) < 300, "the second Ctrl-C did not wait for the ten-minute cleanup")
        let stderr = try String(contentsOfFile: errors, encoding: .utf8)
        #expect(stderr.contains("second Ctrl-C: terminating vagrant (SIGTERM)"), "\(stderr)")
    }

    @Test func sigtermExits143() async throws {
        let world = try StandInWorld()
        let (process, _, k0slua) = try await Self.upUntilVagrantRuns(world, ["K0SLUA_STANDIN_DELAY": "vagrant:up=600"])
        kill(k0slua, SIGTERM)
        try await exited(process)
        #expect(process.terminationStatus == 143)
        #expect(Self.vagrantSignals(world) == ["TERM"])
    }
}
