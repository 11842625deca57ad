import Foundation
import K0sLuaKit
import Testing

/// `k0slua plan` output, text and JSON, against golden files (RECORD_SNAPSHOTS=1 re-records).
@Suite struct PlanSnapshotTests {
    static let cases: [(name: String, file: String, environment: [String: String])] = [
        ("plan-1+1", Repo.defaultClusterFile, [:]),
        ("plan-3+2", Repo.defaultClusterFile, ["control_plane_count": "3", "worker_count": "2"]),
        ("plan-custom", Repo.fixtures + "/plan-custom/cluster.lua", [:]),
        ("plan-bridged", Repo.fixtures + "/render-bridged/cluster.lua", [:]),
    ]

    /// Issue 18.7: bridged mode is experimental, and the plan says so (no other mode does).
    @Test func item18_7_planMarksBridgedModeExperimental() throws {
        let bridged = try loadCluster(Repo.fixtures + "/render-bridged/cluster.lua")
        let text = PlanRenderer.text(bridged.cluster, warnings: bridged.warnings, hostFacts: fixedHost)
        #expect(text.contains("Tart network: bridged\nnote: bridged mode is experimental: "), "\(text)")
        #expect(text.contains("ARP cache"))
        let softnet = try loadCluster(Repo.defaultClusterFile)
        #expect(!PlanRenderer.text(softnet.cluster, warnings: softnet.warnings, hostFacts: fixedHost).contains("experimental"))
    }

    @Test(arguments: cases.map(\.name))
    func planMatchesItsSnapshot(name: String) throws {
        let entry = try #require(Self.cases.first { $0.name == name })
        let loaded = try loadCluster(entry.file, environment: entry.environment)
        assertSnapshot(PlanRenderer.text(loaded.cluster, warnings: loaded.warnings, hostFacts: fixedHost), named: "\(name)/plan.txt")
        assertSnapshot(PlanRenderer.json(loaded.cluster, warnings: loaded.warnings), named: "\(name)/plan.json")
    }

    @Test func threePlusTwoJSONHasTheProductLayout() throws {
        let loaded = try loadCluster(Repo.defaultClusterFile, environment: ["control_plane_count": "3", "worker_count": "2"])
        let json = try JSONSerialization.jsonObject(with: Data(PlanRenderer.json(loaded.cluster, warnings: loaded.warnings).utf8)) as! [String: Any]
        let nodes = json["nodes"] as! [[String: Any]]
        #expect(nodes.map { $0["name"] as! String } == ["control-plane-1", "control-plane-2", "control-plane-3", "worker-1", "worker-2"])
        // Tart (the default): addresses assigned at boot, so no "ip" yet.
        #expect(nodes.allSatisfy { $0["ip"] == nil && $0["addressing"] as? String == "dhcp" })
        let libvirt = try loadCluster(Repo.defaultClusterFile, environment: ["control_plane_count": "3", "worker_count": "2", "vagrant_provider": "libvirt"])
        let libvirtNodes = (try JSONSerialization.jsonObject(with: Data(PlanRenderer.json(libvirt.cluster, warnings: []).utf8)) as! [String: Any])["nodes"] as! [[String: Any]]
        #expect(libvirtNodes.map { $0["ip"] as? String } == ["192.168.64.10", "192.168.64.11", "192.168.64.12", "192.168.64.20", "192.168.64.21"])
        #expect(libvirtNodes.allSatisfy { $0["addressing"] as? String == "static" })
        #expect(nodes.map { $0["k0s_role"] as! String } == ["controller+worker", "controller", "controller", "worker", "worker"])
        #expect(nodes.map { $0["role"] as! String } == ["controller", "controller", "controller", "worker", "worker"])
        #expect(nodes.map { $0["memory_mb"] as! Int } == [2048, 2048, 2048, 4096, 4096])
        #expect(nodes.allSatisfy { $0["cpus"] as! Int == 2 && $0["disk_gb"] as! Int == 32 })
        #expect(nodes.filter { $0["role"] as! String == "controller" && $0["runs_workloads"] as! Bool }.count == 1)
    }
}
