import Foundation
import K0sLuaKit
import Testing

/// One command that changes the cluster at a time, with real processes of the built binary.
@Suite struct ClusterLockTests {
    /// Starts k0slua in the world without waiting for it; stderr goes to a file.
    static func start(_ world: StandInWorld, _ arguments: [String], environment extra: [String: String] = [:]) throws -> (Process, String) {
        var env = world.environment
        env.merge(extra) { $1 }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["-i"] + env.map { "\($0.key)=\($0.value)" } + [StandInWorld.binary] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: world.directory)
        let errors = world.directory + "/stderr-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: errors, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errors)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, errors)
    }

    static func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(50)) }
    }

    static func vagrantUpStarted(_ world: StandInWorld) -> Bool {
        world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "up" }
    }

    @Test func twoRacingUpsOneRunsTheOtherNamesIt() async throws {
        let world = try StandInWorld()
        let slow = ["K0SLUA_STANDIN_DELAY": "vagrant:up=3"]
        let (first, firstErrors) = try Self.start(world, ["up", "--skip", "health"], environment: slow)
        let (second, secondErrors) = try Self.start(world, ["up", "--skip", "health"], environment: slow)
        first.waitUntilExit()
        second.waitUntilExit()
        let statuses = [first.terminationStatus, second.terminationStatus]
        #expect(statuses.sorted() == [0, 1], "\(statuses)")
        let (winner, loserErrors) = first.terminationStatus == 0 ? (first, secondErrors) : (second, firstErrors)
        _ = firstErrors
        let message = try String(contentsOfFile: loserErrors, encoding: .utf8)
        #expect(message.contains("error: another k0slua is changing this cluster (pid \(winner.processIdentifier), `k0slua up --skip health`)"),
                "\(message)")
        #expect(world.calls.filter { $0.tool == "vagrant" && $0.argv.first == "up" }.count == 1)
        #expect(!FileManager.default.fileExists(atPath: world.layout.lockFile), "released")
    }

    @Test func aLockHolderKilledWithSIGKILLLeavesNoLockBehind() async throws {
        let world = try StandInWorld()
        let (up, _) = try Self.start(world, ["up"], environment: ["K0SLUA_STANDIN_DELAY": "vagrant:up=2"])
        try await Self.waitFor { Self.vagrantUpStarted(world) }
        #expect(FileManager.default.fileExists(atPath: world.layout.lockFile))
        kill(up.processIdentifier, SIGKILL)
        up.waitUntilExit()
        // The file is still there, with the dead holder's pid in it; the lock is not.
        let left = try String(contentsOfFile: world.layout.lockFile, encoding: .utf8)
        #expect(left.hasPrefix("\(up.processIdentifier)\n"))
        let again = try await world.run(["up", "--skip", "health"])
        #expect(again.exitCode == 0, "\(again.standardError)")
    }

    @Test func destroyIsRefusedWhileUpHoldsTheLock() async throws {
        let world = try StandInWorld()
        let (up, _) = try Self.start(world, ["up", "--skip", "health"], environment: ["K0SLUA_STANDIN_DELAY": "vagrant:up=3"])
        try await Self.waitFor { Self.vagrantUpStarted(world) }
        let destroy = try await world.run(["destroy"])
        #expect(destroy.exitCode == 1)
        #expect(destroy.standardError.contains("another k0slua is changing this cluster (pid \(up.processIdentifier), `k0slua up --skip health`)"),
                "\(destroy.standardError)")
        #expect(!world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "destroy" })
        up.waitUntilExit()
        #expect(up.terminationStatus == 0, "up finished undisturbed")
        #expect(FileManager.default.fileExists(atPath: world.layout.k0sctlConfig))
        let after = try await world.run(["destroy"])
        #expect(after.exitCode == 0, "\(after.standardError)")
        #expect(world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "destroy" })
    }
}
