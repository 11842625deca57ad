import Foundation
import K0sLuaKit
import Testing

/// Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group. k0slua runs under
/// setsid so that it leads a group of its own, as a shell's job would.
@Suite struct InterruptTests {
    static func startInOwnGroup(_ world: StandInWorld, _ arguments: [String], environment extra: [String: String]) throws -> (Process, String) {
        var env = world.environment
        env.merge(extra) { $1 }
        let process = Process()
        // `setsid -w` forks when its caller already leads a group (Foundation's Process makes the child
        // one), so k0slua runs as its only child, leading a new session and process group.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["-w", "/usr/bin/env", "-i"] + env.map { "\($0.key)=\($0.value)" } + [StandInWorld.binary] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: world.directory)
        let errors = world.directory + "/stderr.txt"
        FileManager.default.createFile(atPath: errors, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errors)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, errors)
    }

    /// The pid of k0slua under `setsid -w` (setsid's one child).
    static func k0slua(under setsid: Process) throws -> pid_t {
        let children = try String(contentsOfFile: "/proc/\(setsid.processIdentifier)/task/\(setsid.processIdentifier)/children", encoding: .utf8)
        return try #require(children.split(separator: " ").compactMap { pid_t($0) }.first)
    }

    /// Waits up to a minute (the suite runs many k0slua processes at once on a small machine).
    static func waitFor(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for _ in 0..<1200 where !condition() { try await Task.sleep(for: .milliseconds(50)) }
        try #require(condition(), "timed out waiting", sourceLocation: sourceLocation)
    }

    static func vagrantSignals(_ world: StandInWorld) -> [String] {
        world.calls.filter { $0.tool == "vagrant" && $0.argv.first == "up" }.compactMap(\.signal)
    }

    @Test func oneCtrlCLetsVagrantCleanUpAndExits130() async throws {
        let world = try StandInWorld()
        let (process, errors) = try Self.startInOwnGroup(world, ["up"], environment: ["K0SLUA_STANDIN_DELAY": "vagrant:up=30",
                                                                                   "K0SLUA_STANDIN_CLEANUP": "2"])
        try await Self.waitFor { world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "up" } }
        try await Task.sleep(for: .milliseconds(300))
        let group = try Self.k0slua(under: process)
        #expect(getpgid(group) == group, "k0slua leads its own process group")
        #expect(getpgid(group) != getpgid(0))
        let started = Date()
        kill(-group, SIGINT)
        process.waitUntilExit()
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
        let (process, errors) = try Self.startInOwnGroup(world, ["up"], environment: ["K0SLUA_STANDIN_DELAY": "vagrant:up=60",
                                                                                   "K0SLUA_STANDIN_CLEANUP": "60"])
        try await Self.waitFor { world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "up" } }
        try await Task.sleep(for: .milliseconds(300))
        let group = try Self.k0slua(under: process)
        let started = Date()
        kill(-group, SIGINT)
        try await Self.waitFor { Self.vagrantSignals(world) == ["INT"] }
        kill(-group, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(Self.vagrantSignals(world) == ["INT", "TERM"])
        #expect(Date().timeIntervalSince(started) < 30, "the second Ctrl-C did not wait for the cleanup")
        let stderr = try String(contentsOfFile: errors, encoding: .utf8)
        #expect(stderr.contains("second Ctrl-C: terminating vagrant (SIGTERM)"), "\(stderr)")
    }

    @Test func sigtermExits143() async throws {
        let world = try StandInWorld()
        let (process, _) = try Self.startInOwnGroup(world, ["up"], environment: ["K0SLUA_STANDIN_DELAY": "vagrant:up=30"])
        try await Self.waitFor { world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "up" } }
        try await Task.sleep(for: .milliseconds(300))
        kill(try Self.k0slua(under: process), SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 143)
        #expect(Self.vagrantSignals(world) == ["TERM"])
    }
}
