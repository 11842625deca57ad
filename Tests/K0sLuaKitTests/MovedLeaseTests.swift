import Foundation
import K0sLuaKit
import Testing

/// Issue 18.4: a Tart (softnet, DHCP) node that comes back from `stop`/`start` or a host reboot
/// with another lease. A controller's etcd member still advertises the recorded peer URL, so
/// k0slua refuses before k0sctl runs; a worker is reconfigured by k0sctl as before.
@Suite(.serialized) struct MovedLeaseTests {
    static let threeControllers = ["control_plane_count": "3", "worker_count": "1"]

    static func address(_ world: StandInWorld, _ node: String) throws -> String? {
        try #require(try ClusterRecord.load(world.layout)).node(named: node)?.address
    }

    static func lease(_ world: StandInWorld, _ node: String) throws -> String? {
        let data = try Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/vagrant.json"))
        let environments = try JSONSerialization.jsonObject(with: data) as! [String: [String: [String: Any]]]
        return environments[world.layout.directory]?[node]?["ip"] as? String
    }

    static func setMachineStates(_ world: StandInWorld, _ state: String) throws {
        let path = world.directory + "/standin/vagrant.json"
        var environments = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: [String: [String: Any]]]
        for name in environments[world.layout.directory, default: [:]].keys { environments[world.layout.directory]![name]!["state"] = state }
        try JSONSerialization.data(withJSONObject: environments).write(to: URL(fileURLWithPath: path))
    }

    @Test func item18_4_startRefusesAControllerWhoseLeaseMoved() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: Self.threeControllers).exitCode == 0)
        #expect(try await world.run(["stop"], environment: Self.threeControllers).exitCode == 0)
        let old = try #require(try Self.address(world, "control-plane-2"))
        let config = try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8)
        world.clearTranscript()
        let start = try await world.run(["start", "--health-wait", "0"],
                                        environment: Self.threeControllers.merging(["K0SLUA_STANDIN_FAULTS": "new-lease:control-plane-2"]) { $1 })
        #expect(start.exitCode == 1, "\(start.standardError)")
        let new = try #require(try Self.lease(world, "control-plane-2"))
        #expect(new != old)
        #expect(start.standardError.contains("control-plane-2: recorded address \(old), DHCP gave it \(new) now"), "\(start.standardError)")
        #expect(start.standardError.contains("/etc/bootptab"), "\(start.standardError)")
        #expect(start.standardError.contains("k0slua destroy && k0slua up"), "\(start.standardError)")
        #expect(!start.standardError.contains("control-plane-1:"), "an unmoved controller is not named")
        // Nothing changed: no k0sctl, no /etc/hosts, the record and k0sctl.yaml keep the old address.
        #expect(!world.calls.contains { $0.tool == "k0sctl" }, "\(world.calls.map(\.description))")
        #expect(!world.calls.contains { $0.tool == "ssh" && ($0.argv.last ?? "").contains(" k0slua-hosts") })
        #expect(try Self.address(world, "control-plane-2") == old)
        #expect(try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8) == config)
        #expect(try #require(try ClusterRecord.load(world.layout)).isStopped, "the record still says stopped")
    }

    @Test func item18_4_startStillReconfiguresAWorkerWhoseLeaseMoved() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: Self.threeControllers).exitCode == 0)
        #expect(try await world.run(["stop"], environment: Self.threeControllers).exitCode == 0)
        let old = try #require(try Self.address(world, "worker-1"))
        world.clearTranscript()
        let start = try await world.run(["start", "--health-wait", "0"],
                                        environment: Self.threeControllers.merging(["K0SLUA_STANDIN_FAULTS": "new-lease:worker-1"]) { $1 })
        #expect(start.exitCode == 0, "\(start.standardError)")
        let new = try #require(try Self.lease(world, "worker-1"))
        #expect(start.standardError.contains("worker-1: address changed from \(old) to \(new)"), "\(start.standardError)")
        #expect(try Self.address(world, "worker-1") == new)
        #expect(world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
        #expect(try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8).contains("address: \"\(new)\""))
    }

    @Test func item18_4_upAfterAHostRebootRefusesAMovedController() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: Self.threeControllers).exitCode == 0)
        let old = try #require(try Self.address(world, "control-plane-3"))
        // The host rebooted: every VM is stopped, the record still says running.
        try Self.setMachineStates(world, "stopped")
        world.clearTranscript()
        let up = try await world.run(["up", "--health-wait", "0"],
                                     environment: Self.threeControllers.merging(["K0SLUA_STANDIN_FAULTS": "new-lease:control-plane-3"]) { $1 })
        #expect(up.exitCode == 1, "\(up.standardError)")
        let new = try #require(try Self.lease(world, "control-plane-3"))
        #expect(up.standardError.contains("phase addresses"), "\(up.standardError)")
        #expect(up.standardError.contains("control-plane-3: recorded address \(old), DHCP gave it \(new) now"), "\(up.standardError)")
        #expect(!world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
        #expect(try Self.address(world, "control-plane-3") == old)
    }
}
