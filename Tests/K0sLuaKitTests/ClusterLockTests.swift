import Foundation
import K0sLuaKit
import Testing

/// One command that changes the cluster at a time, with real processes of the built binary.
/// `vagrant up` is made to take ten minutes, so that nothing here depends on how fast a loaded
/// machine is; the holder is stopped by the test.
@Suite struct ClusterLockTests {
    static let forever = ["K0SLUA_STANDIN_DELAY": "vagrant:up=600"]

    @Test func twoRacingUpsOneRunsTheOtherNamesIt() async throws {
        let world = try StandInWorld()
        let (first, firstErrors) = try world.start(["up", "--skip", "health"], environment: Self.forever)
        let (second, secondErrors) = try world.start(["up", "--skip", "health"], environment: Self.forever)
        try await waitFor { !first.isRunning || !second.isRunning }
        let (loser, loserErrors, winner) = first.isRunning ? (second, secondErrors, first) : (first, firstErrors, second)
        #expect(loser.terminationStatus == 1)
        let message = try String(contentsOfFile: loserErrors, encoding: .utf8)
        #expect(message.contains("error: another k0slua is changing this cluster (pid \(winner.processIdentifier), `k0slua up --skip health`)"),
                "\(message)")
        try await waitFor { world.vagrantUpStarted }
        kill(winner.processIdentifier, SIGINT)
        try await exited(winner)
        #expect(winner.terminationStatus == 130)
        #expect(world.calls.filter { $0.tool == "vagrant" && $0.argv.first == "up" && $0.signal == nil }.count == 1)
        #expect(!FileManager.default.fileExists(atPath: world.layout.lockFile), "released")
    }

    @Test func aLockHolderKilledWithSIGKILLLeavesNoLockBehind() async throws {
        let world = try StandInWorld()
        let (up, _) = try world.start(["up"], environment: Self.forever)
        try await waitFor { world.vagrantUpStarted }
        #expect(FileManager.default.fileExists(atPath: world.layout.lockFile))
        kill(up.processIdentifier, SIGKILL)
        try await exited(up)
        // Its vagrant (in a process group of its own) is an orphan now: stop it as well.
        for pid in world.calls.filter({ $0.tool == "vagrant" && $0.argv.first == "up" }).compactMap(\.pid) { kill(-pid, SIGKILL) }
        // The file is still there, with the dead holder's pid in it; the lock is not.
        let left = try String(contentsOfFile: world.layout.lockFile, encoding: .utf8)
        #expect(left.hasPrefix("\(up.processIdentifier)\n"))
        let again = try await world.run(["up", "--skip", "health"])
        #expect(again.exitCode == 0, "\(again.standardError)")
    }

    @Test func destroyIsRefusedWhileUpHoldsTheLock() async throws {
        let world = try StandInWorld()
        let (up, _) = try world.start(["up", "--skip", "health"], environment: Self.forever)
        try await waitFor { world.vagrantUpStarted }
        let destroy = try await world.run(["destroy"])
        #expect(destroy.exitCode == 1)
        #expect(destroy.standardError.contains("another k0slua is changing this cluster (pid \(up.processIdentifier), `k0slua up --skip health`)"),
                "\(destroy.standardError)")
        #expect(!world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "destroy" })
        #expect(up.isRunning, "up goes on undisturbed")
        kill(up.processIdentifier, SIGINT)
        try await exited(up)
        #expect(up.terminationStatus == 130)
        let after = try await world.run(["destroy"])
        #expect(after.exitCode == 0, "\(after.standardError)")
        #expect(world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "destroy" })
    }
}
