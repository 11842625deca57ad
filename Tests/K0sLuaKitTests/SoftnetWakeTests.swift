import Foundation
import K0sLuaKit
import Testing

/// Issue 18.6: after the Mac slept past softnet's 600 s lease, softnet drops the VMs' frames until
/// each guest renews DHCP (stand-in fault `slept:NODE`). `health` says so; `start` renews every
/// lease through the Tart guest agent (`tart exec`) and asks again.
@Suite(.serialized) struct SoftnetWakeTests {
    static let slept = "slept:control-plane-1,slept:worker-1"

    static func tartName(_ world: StandInWorld, _ node: String) throws -> String {
        "\(try #require(try ClusterRecord.load(world.layout)).id)-\(node)"
    }

    static func execCalls(_ world: StandInWorld) -> [String] {
        world.calls.filter { $0.tool == "tart" && $0.argv.first == "exec" }.map(\.description)
    }

    @Test func item18_6_healthSaysTheMacSleptWhenNoNodeAnswersButTheVMsRun() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let health = try await world.run(["health"], environment: ["K0SLUA_STANDIN_FAULTS": Self.slept])
        #expect(health.exitCode != 0)
        #expect(health.standardOutput.contains("tart list: every node's VM is running, yet this host reaches none of them"), "\(health.standardOutput)")
        #expect(health.standardOutput.contains("softnet drops each VM's frames until its guest renews DHCP. Fix: `k0slua start` renews every lease"),
                "\(health.standardOutput)")
        #expect(Self.execCalls(world).isEmpty, "health only diagnoses")
        // One node still answering is not the sleep: the usual hint.
        let one = try await world.run(["health"], environment: ["K0SLUA_STANDIN_FAULTS": "slept:worker-1"])
        #expect(!one.standardOutput.contains("softnet drops"), "\(one.standardOutput)")
    }

    @Test func item18_6_startRenewsEveryLeaseThroughTheGuestAgentAndChecksAgain() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        world.clearTranscript()
        let start = try await world.run(["start", "--health-wait", "0"], environment: ["K0SLUA_STANDIN_FAULTS": Self.slept])
        #expect(start.exitCode == 0, "\(start.standardError)")
        let cp = try Self.tartName(world, "control-plane-1"), worker = try Self.tartName(world, "worker-1")
        #expect(Self.execCalls(world) == ["tart exec \(cp) ip -o -4 route show default", "tart exec \(cp) sudo networkctl renew enp0s1",
                                          "tart exec \(worker) ip -o -4 route show default", "tart exec \(worker) sudo networkctl renew enp0s1"])
        #expect(start.standardError.contains("renewed the DHCP leases of control-plane-1, worker-1 through `tart exec`"), "\(start.standardError)")
        #expect(!world.calls.contains { $0.tool == "k0sctl" }, "the addresses did not change: nothing to apply")
        #expect(start.standardOutput.contains("is running and healthy"), "\(start.standardOutput)")
    }

    @Test func item18_6_startWithNodesThatAnswerRunsNoTartExec() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        world.clearTranscript()
        #expect(try await world.run(["start", "--health-wait", "0"]).exitCode == 0)
        #expect(Self.execCalls(world).isEmpty)
    }

    @Test func item18_6_startWithoutTheGuestAgentSaysWhatFailed() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let start = try await world.run(["start", "--health-wait", "0"],
                                        environment: ["K0SLUA_STANDIN_FAULTS": Self.slept + ",no-guest-agent:control-plane-1,no-guest-agent:worker-1"])
        #expect(start.exitCode == 1, "\(start.standardError)")
        #expect(start.standardError.contains("no node answers, also after renewing their DHCP leases through `tart exec`"), "\(start.standardError)")
        #expect(start.standardError.contains("is the Tart Guest Agent running?"), "\(start.standardError)")
        #expect(start.standardError.contains("`tart exec` needs macOS 14+ and the Tart Guest Agent"), "\(start.standardError)")
    }
}
