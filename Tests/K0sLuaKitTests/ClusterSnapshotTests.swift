import Foundation
import K0sLuaKit
import Testing

/// `k0slua snapshot save|restore|list|delete` (issue 21) with the stand-ins: libvirt's virsh
/// commands, Tart's clone and MAC, the refusals, and `destroy` keeping snapshots.
@Suite(.serialized) struct ClusterSnapshotTests {
    static let libvirt = ["vagrant_provider": "libvirt"]

    static func json(_ world: StandInWorld, _ file: String) throws -> [String: Any] {
        let path = world.directory + "/standin/" + file
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    static func volumes(_ world: StandInWorld) throws -> [String: String] {
        try json(world, "volumes.json").mapValues { ($0 as! [String: Any])["content"] as? String ?? "" }
    }

    static func snapshotEntries(_ world: StandInWorld) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: world.layout.directory + "/snapshots")) ?? []).sorted()
    }

    /// A stopped libvirt cluster is saved as disks only (a running one with its memory:
    /// ClusterSnapshotMemoryTests); its restore boots the machines as `start` does.
    @Test func item21_libvirtSaveStopsWorkersFirstAndRestoreBringsBackExactlyThatCluster() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: Self.libvirt).exitCode == 0)
        let id = world.layout.clusterID(name: "k0slua")
        let stop = try await world.run(["stop"], environment: Self.libvirt)
        #expect(stop.exitCode == 0, "\(stop.standardError)")
        #expect(world.calls.filter { $0.tool == "vagrant" && $0.argv.first == "halt" }.map(\.description) == ["vagrant halt worker-1", "vagrant halt control-plane-1"],
                "workers halt first, controllers last")
        world.clearTranscript()
        let save = try await world.run(["snapshot", "save", "base", "--health-wait", "0"], environment: Self.libvirt)
        #expect(save.exitCode == 0, "\(save.standardError)")
        #expect(save.standardOutput.contains("saved snapshot \"base\" of 2 machine(s)") && save.standardOutput.contains("the cluster stays stopped"))
        let calls = world.calls.map(\.description)
        #expect(!calls.contains { $0.hasPrefix("vagrant ") || $0.hasPrefix("virsh suspend") || $0.hasPrefix("virsh save") }, "stopped: disks only")
        #expect(try ClusterSnapshot(layout: world.layout, name: "base").meta().machines.allSatisfy { $0.memoryImage == nil })
        #expect(calls.contains("virsh dumpxml --inactive --security-info -- \(id)-control-plane-1"))
        #expect(calls.contains("virsh vol-pool -- /var/lib/libvirt/images/\(id)-worker-1.img"))
        #expect(calls.contains("virsh vol-info --bytes --pool default -- \(id)-worker-1.img"))
        let snapshot = world.layout.directory + "/snapshots/base"
        #expect(calls.contains { $0.hasPrefix("virsh vol-download --pool default --sparse -- \(id)-worker-1.img \(world.layout.directory)/snapshots/.saving-base-")
                                 && $0.hasSuffix("/disks/\(id)-worker-1.img") }, "into the snapshot being written")
        #expect(calls.filter { $0.hasPrefix("virsh vol-download") }.count == 2)
        let start = try await world.run(["start", "--health-wait", "0"], environment: Self.libvirt)
        #expect(start.exitCode == 0, "\(start.standardError)")
        for file in ["meta.json", "state.json", "k0sctl.yaml", "id_ed25519", "vagrant/worker-1/libvirt/id", "domains/control-plane-1.xml", "domains/worker-1.xml"] {
            #expect(FileManager.default.fileExists(atPath: "\(snapshot)/\(file)"), "\(file)")
        }
        #expect(try #require(try ClusterRecord.load(world.layout)).isStopped == false)

        // A change inside the cluster, and a worker more.
        var volumes = try Self.volumes(world)
        let saved = volumes["\(id)-worker-1.img"]
        volumes["\(id)-worker-1.img"] = "a file written after the snapshot"
        try JSONSerialization.data(withJSONObject: try Self.json(world, "volumes.json").merging(["\(id)-worker-1.img": ["domain": "\(id)-worker-1", "content": "a file written after the snapshot"]]) { $1 })
            .write(to: URL(fileURLWithPath: world.directory + "/standin/volumes.json"))
        let grow = ["vagrant_provider": "libvirt", "worker_count": "2"]
        #expect(try await world.run(["up", "--skip", "health"], environment: grow).exitCode == 0)
        #expect(try Self.json(world, "virsh.json").keys.contains("\(id)-worker-2"))
        world.clearTranscript()
        let restore = try await world.run(["snapshot", "restore", "base", "--skip-health"], environment: grow)
        #expect(restore.exitCode == 0, "\(restore.standardError)")
        let restoreCalls = world.calls.map(\.description)
        #expect(Set(restoreCalls.prefix(3)) == ["vagrant halt --force control-plane-1", "vagrant halt --force worker-1", "vagrant halt --force worker-2"]
                && restoreCalls.dropFirst(3).first == "vagrant destroy -f worker-2",
                "today's disks are replaced: powered off, not shut down")
        #expect(restoreCalls.contains("virsh undefine --remove-all-storage -- \(id)-worker-1"))
        #expect(restoreCalls.contains("virsh vol-create-as --format raw -- default \(id)-worker-1.img 0"))
        #expect(restoreCalls.contains("virsh vol-upload --pool default --sparse -- \(id)-worker-1.img \(snapshot)/disks/\(id)-worker-1.img"))
        #expect(restoreCalls.contains("virsh define -- \(snapshot)/domains/worker-1.xml"))
        #expect(restoreCalls.filter { $0.hasPrefix("vagrant up") } == ["vagrant up --provider libvirt --no-provision control-plane-1",
                                                                       "vagrant up --provider libvirt --no-provision worker-1"],
                "controllers boot first, then workers; the extra worker stays gone")
        #expect(try Self.volumes(world)["\(id)-worker-1.img"] == saved, "the disk is the saved one")
        #expect(try Self.volumes(world)["\(id)-worker-2.img"] == nil)
        let record = try #require(try ClusterRecord.load(world.layout))
        #expect(record.nodes.map(\.name) == ["control-plane-1", "worker-1"] && !record.isStopped)
        #expect(restore.standardOutput.contains("restored snapshot \"base\" (2 machine(s))"))

        // Destroy keeps the snapshot; restore re-creates every machine from it.
        let destroyed = try await world.run(["destroy"], environment: Self.libvirt)
        #expect(destroyed.exitCode == 0)
        #expect(destroyed.standardError.contains("kept 1 snapshot(s)"), "\(destroyed.standardError)")
        #expect(try Self.json(world, "virsh.json").isEmpty)
        world.clearTranscript()
        let again = try await world.run(["snapshot", "restore", "base", "--skip-health"], environment: Self.libvirt)
        #expect(again.exitCode == 0, "\(again.standardError)")
        #expect(Set(try Self.json(world, "virsh.json").keys) == ["\(id)-control-plane-1", "\(id)-worker-1"])
        #expect(try Self.volumes(world)["\(id)-worker-1.img"] == saved)
        #expect(!world.calls.contains { $0.tool == "virsh" && $0.argv.first == "undefine" }, "no domain was left to undefine")
        #expect(FileManager.default.fileExists(atPath: world.layout.directory + "/.vagrant/machines/worker-1"), "Vagrant's data of the machine is back")

        let list = try await world.run(["snapshot", "list", "--json"], environment: Self.libvirt)
        let listed = try JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as! [String: Any]
        let rows = listed["snapshots"] as! [[String: Any]]
        #expect(rows.map { $0["name"] as? String } == ["base"])
        #expect(rows.first?["nodes"] as? [String] == ["control-plane-1", "worker-1"])
        #expect(rows.first?["cluster_lua_changed"] as? Bool == false)
        #expect((listed["total_bytes"] as? Int ?? 0) > 0)
        let removed = try await world.run(["destroy", "--snapshots"], environment: Self.libvirt)
        #expect(removed.standardError.contains("deleted 1 snapshot(s)"), "\(removed.standardError)")
        #expect(!FileManager.default.fileExists(atPath: world.layout.directory))
    }

    @Test func item21_tartRestoreGivesEachNodeItsOwnMACBack() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let id = world.layout.clusterID(name: "k0slua")
        let config = { (vm: String) throws -> String in
            let data = try Data(contentsOf: URL(fileURLWithPath: world.directory + "/home/.tart/vms/\(vm)/config.json"))
            return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["macAddress"] as! String
        }
        let mac = try config("\(id)-worker-1")
        world.clearTranscript()
        let save = try await world.run(["snapshot", "save", "base", "--health-wait", "0"])
        #expect(save.exitCode == 0, "\(save.standardError)")
        let clone = "k0slua-snapshot.\(id).base.worker-1"
        #expect(world.calls.map(\.description).contains("tart clone \(id)-worker-1 \(clone)"))
        #expect(try config(clone) != mac, "Tart gives a clone of a local VM a new MAC")
        world.clearTranscript()
        let restore = try await world.run(["snapshot", "restore", "base", "--skip-health"])
        #expect(restore.exitCode == 0, "\(restore.standardError)")
        let calls = world.calls.map(\.description)
        let deleted = try #require(calls.firstIndex(of: "tart delete \(id)-worker-1"))
        let cloned = try #require(calls.firstIndex(of: "tart clone \(clone) \(id)-worker-1"))
        #expect(deleted < cloned)
        #expect(try config("\(id)-worker-1") == mac, "the node's own MAC, so bootpd gives it its lease back")
        #expect(try #require(try ClusterRecord.load(world.layout)).node(named: "worker-1")?.address == "192.168.64.3")
        // Deleting the snapshot deletes its clones; destroy then keeps nothing.
        let delete = try await world.run(["snapshot", "delete", "base"])
        #expect(delete.exitCode == 0 && delete.standardOutput.contains("deleted snapshot \"base\""), "\(delete.standardError)")
        #expect(world.calls.map(\.description).contains("tart delete \(clone)"))
        #expect(try !Self.json(world, "tart.json").keys.contains(clone))
    }

    @Test func item21_namesUnknownSnapshotsAndOtherClustersAreRefused() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: Self.libvirt).exitCode == 0)
        for bad in ["Base", "-x", "a_b", "a.b", String(repeating: "a", count: 41)] {
            let refused = try await world.run(["snapshot", "save", "--", bad], environment: Self.libvirt)
            #expect(refused.exitCode == 64, "\(bad): \(refused.standardError)")
            #expect(refused.standardError.contains("is not a host-name-like word"), "\(refused.standardError)")
        }
        world.clearTranscript()
        let unknown = try await world.run(["snapshot", "restore", "nope"], environment: Self.libvirt)
        #expect(unknown.exitCode == 1)
        #expect(unknown.standardError.contains("error: no snapshot \"nope\" of this cluster"), "\(unknown.standardError)")
        #expect(world.calls.isEmpty, "nothing was touched")
        #expect(try await world.run(["snapshot", "save", "base", "--health-wait", "0"], environment: Self.libvirt).exitCode == 0)
        let exists = try await world.run(["snapshot", "save", "base"], environment: Self.libvirt)
        #expect(exists.exitCode == 1 && exists.standardError.contains("snapshot \"base\" exists already"))
        // Another cluster's snapshot (copied into this state directory).
        let meta = world.layout.directory + "/snapshots/base/meta.json"
        let text = try String(contentsOfFile: meta, encoding: .utf8)
            .replacingOccurrences(of: world.layout.clusterID(name: "k0slua"), with: "k0slua-0badc0de")
        try text.write(toFile: meta, atomically: true, encoding: .utf8)
        world.clearTranscript()
        let other = try await world.run(["snapshot", "restore", "base"], environment: Self.libvirt)
        #expect(other.exitCode == 1)
        #expect(other.standardError.contains("snapshot \"base\" was taken of cluster k0slua-0badc0de"), "\(other.standardError)")
        #expect(world.calls.isEmpty)
    }

    @Test func item21_aLockedClusterIsRefused() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: Self.libvirt).exitCode == 0)
        let lock = ClusterLock(path: world.layout.lockFile)
        try lock.acquire(command: "k0slua up")
        defer { lock.release() }
        world.clearTranscript()
        for command in [["snapshot", "save", "base"], ["snapshot", "restore", "base"]] {
            let refused = try await world.run(command, environment: Self.libvirt)
            #expect(refused.exitCode == 1)
            #expect(refused.standardError.contains("another k0slua is changing this cluster"), "\(refused.standardError)")
        }
        #expect(world.calls.isEmpty)
    }

    @Test func item21_aFailureMidwayRemovesTheHalfWrittenSnapshotAndRestartsTheCluster() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: Self.libvirt).exitCode == 0)
        world.clearTranscript()
        let full = try await world.run(["snapshot", "save", "base", "--health-wait", "0"],
                                       environment: Self.libvirt.merging(["K0SLUA_STANDIN_FAIL": "virsh:vol-download"]) { $1 })
        #expect(full.exitCode == 1)
        #expect(full.standardError.contains("No space left on device"), "\(full.standardError)")
        #expect(Self.snapshotEntries(world).isEmpty, "no half-written snapshot is left: \(Self.snapshotEntries(world))")
        #expect(try Self.json(world, "virsh.json").values.allSatisfy { $0 as? String == "running" }, "the cluster runs again (resumed)")
        #expect(try Self.json(world, "virsh.json").count == 2)
        #expect(try #require(try ClusterRecord.load(world.layout)).isStopped == false)
        // Tart: the clones made before the failure are deleted too.
        let tart = try StandInWorld()
        #expect(try await tart.run(["up", "--skip", "health"]).exitCode == 0)
        let failed = try await tart.run(["snapshot", "save", "base", "--health-wait", "0"], environment: ["K0SLUA_STANDIN_FAIL": "tart:clone"])
        #expect(failed.exitCode == 1)
        #expect(Self.snapshotEntries(tart).isEmpty)
        #expect(try Self.json(tart, "tart.json").keys.allSatisfy { !$0.hasPrefix("k0slua-snapshot.") })
    }

    @Test func item21_theHostsProviderIsRefused() async throws {
        let source = try String(contentsOfFile: Repo.fixtures + "/render-hosts/cluster.lua", encoding: .utf8)
            .replacingOccurrences(of: "key_path = \"~/.ssh/id_ed25519\"", with: "key_path = \"id_test\"")
        let world = try StandInWorld(cluster: source)
        _ = FileManager.default.createFile(atPath: world.directory + "/id_test", contents: Data("not a real key\n".utf8))
        let hosts = ["K0SLUA_STANDIN_HOSTS": "1"]
        #expect(try await world.run(["up", "--state-dir", ".k0slua/k0slua", "--skip", "health"], environment: hosts).exitCode == 0)
        world.clearTranscript()
        for command in ["save", "restore"] {
            let refused = try await world.run(["snapshot", command, "base", "--state-dir", ".k0slua/k0slua"], environment: hosts)
            #expect(refused.exitCode == 1)
            #expect(refused.standardError.contains("the hosts provider has no snapshots: k0slua does not own those machines"), "\(refused.standardError)")
        }
        #expect(world.calls.isEmpty)
    }

    @Test func item21_diskFilesAreReadFromTheDomainXML() {
        let xml = """
        <domain type='kvm'><devices>
          <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/k0slua-1-w.img' index='1'/></disk>
          <disk type="file" device="disk"><source file="/p/o&apos;b.qcow2"/></disk>
          <disk type='file' device='cdrom'><source file='/tmp/seed.iso'/></disk>
        </devices></domain>
        """
        #expect(Bootstrap.diskFiles(inDomainXML: xml) == ["/var/lib/libvirt/images/k0slua-1-w.img", "/p/o'b.qcow2"])
    }
}
