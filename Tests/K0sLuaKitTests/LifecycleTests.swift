import Foundation
import K0sLuaKit
import Testing

/// The cluster over its life: identity, the record, converging `up`, stop/start and destroy,
/// end to end with the stand-ins (which keep a Node after its VM is gone, forget machines the
/// Vagrantfile no longer names, and share Tart names across the host).
@Suite(.serialized) struct LifecycleTests {
    /// A cluster whose node hooks echo so the transcript shows which nodes ran them.
    static let hooked = """
    local k0s = require "k0s"
    local nodes = require "k0slua.nodes"
    local function record(node, ctx) ctx.run("echo " .. ctx.phase .. " " .. node.name) end
    return {
      nodes = nodes.concat(
        nodes.class { prefix = "control-plane", role = "controller", count = 1, first_ip = "dhcp", cpus = 2, memory = 2048, disk = 32,
                      workloads = function() return true end, hooks = { pre_join = record, post_join = record } },
        nodes.class { prefix = "worker", role = "worker", count = k0s.env.integer("worker_count", 1, { min = 0 }), first_ip = "dhcp",
                      cpus = 2, memory = k0s.env.integer("memory_worker", 4096, { min = 1 }), disk = 32,
                      hooks = { pre_join = record, post_join = record } }),
    }
    """

    static func hookCalls(_ world: StandInWorld) -> [String] {
        world.calls.compactMap { call in
            guard call.tool == "ssh", let remote = call.argv.last, remote.hasPrefix("echo ") else { return nil }
            return String(remote.dropFirst(5))
        }
    }

    static func vagrantState(_ world: StandInWorld) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/vagrant.json"))
        let environments = try JSONSerialization.jsonObject(with: data) as! [String: [String: [String: Any]]]
        return (environments[world.layout.directory] ?? [:]).mapValues { $0["state"] as? String ?? "?" }
    }

    static func kubernetesNodes(_ world: StandInWorld) throws -> [String] {
        let data = (try? Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/k0s.json"))) ?? Data("{}".utf8)
        let nodes = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        return nodes.values.compactMap { $0["hostname"] as? String }.sorted()
    }

    // MARK: - Identity and the record

    @Test func theIdIsStablePerStateDirectoryAndDiffersBetweenThem() {
        let a = ClusterIdentity.id(name: "k0slua", stateDirectory: "/home/a/src/.k0slua/k0slua")
        #expect(a == ClusterIdentity.id(name: "k0slua", stateDirectory: "/home/a/src/./.k0slua/k0slua/"))
        #expect(a != ClusterIdentity.id(name: "k0slua", stateDirectory: "/home/b/src/.k0slua/k0slua"))
        #expect(a.wholeMatch(of: #/k0slua-[0-9a-f]{8}/#) != nil)
    }

    @Test func versionOneRecordsAreReadAndNewerOnesRefused() throws {
        let directory = NSTemporaryDirectory() + "k0slua-record-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let layout = StateLayout(directory: directory)
        let v1 = """
        {"version": 1, "name": "k0slua", "provider": "tart", "network_mode": "softnet", "cidr": "192.168.64.0/24",
         "created_at": "2026-11-25T04:00:00Z", "updated_at": "2026-11-25T04:00:00Z", "phases": {"k0sctl": "2026-11-25T04:00:00Z"},
         "nodes": [{"name": "worker-1", "role": "worker", "k0s_role": "worker", "addressing": "dhcp", "address": "192.168.64.3",
                    "cpus": 2, "memory_mib": 4096, "disk_gb": 32, "labels": [], "taints": []}]}
        """
        _ = FileManager.default.createFile(atPath: layout.record, contents: Data(v1.utf8))
        let record = try #require(try ClusterRecord.load(layout))
        #expect(record.version == 1)
        #expect(record.id == layout.clusterID(name: "k0slua"))
        #expect(record.nodes.first?.joined == true, "a version 1 record whose k0sctl phase ran has joined nodes")
        #expect(record.isStopped == false)
        // Written back, it is the current version and keeps the id.
        var saved = record
        saved.version = ClusterRecord.currentVersion
        try saved.save(layout)
        let text = try String(contentsOfFile: layout.record, encoding: .utf8)
        #expect(text.contains("\"version\" : \(ClusterRecord.currentVersion)") && text.contains("\"id\" : \"\(record.id)\""))
        #expect(try ClusterRecord.load(layout) == saved)
        let newer = ClusterRecord.currentVersion + 1
        _ = FileManager.default.createFile(atPath: layout.record, contents: Data(#"{"version": \#(newer), "name": "x"}"#.utf8))
        #expect(throws: ClusterRecord.ReadError.self) { try ClusterRecord.load(layout) }
        do {
            _ = try ClusterRecord.load(layout)
        } catch {
            #expect(error.reason.contains("newer k0slua (record version \(newer)"))
        }
    }

    @Test func twoCheckoutsWithTheSameNameNeverShareTartVMsOrContexts() async throws {
        let world = try StandInWorld()
        let userConfig = world.directory + "/home/.kube/config"
        let a = world.directory + "/a", b = world.directory + "/b"
        #expect(try await world.run(["up", "--state-dir", a, "--skip", "health", "--merge-kubeconfig"]).exitCode == 0)
        let second = try await world.run(["up", "--state-dir", b, "--skip", "health", "--merge-kubeconfig"])
        // The second cluster is built, but the context k0slua-k0slua is the first one's: not overwritten.
        #expect(second.exitCode == 1)
        #expect(second.standardError.contains("belongs to another cluster"), "\(second.standardError)")
        let vms = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/tart.json"))) as! [String: [String: Any]]
        #expect(vms.count == 4, "each checkout has its own Tart VMs: \(vms.keys.sorted())")
        #expect(vms.values.allSatisfy { $0["shared_with"] == nil })
        let idA = StateLayout(directory: a).clusterID(name: "k0slua")
        #expect(Set(vms.keys.filter { $0.hasPrefix(idA + "-") }) == ["\(idA)-control-plane-1", "\(idA)-worker-1"])
        // Destroying the second leaves the first's VMs and its context alone.
        let destroyed = try await world.run(["destroy", "--state-dir", b])
        #expect(destroyed.exitCode == 0, "\(destroyed.standardError)")
        #expect(destroyed.standardError.contains("belongs to another cluster: left alone"))
        let left = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/tart.json"))) as! [String: Any]
        #expect(Set(left.keys) == ["\(idA)-control-plane-1", "\(idA)-worker-1"])
        let contexts = try await SubprocessRunner().run(Command("/usr/bin/kubectl", ["--kubeconfig", userConfig, "config", "get-contexts", "-o", "name"]))
        #expect(contexts.standardOutput == "k0slua-k0slua\n")
        let owner = try await SubprocessRunner().run(Command("/usr/bin/kubectl", ["--kubeconfig", userConfig, "config", "view", "-o",
                                                                                    "jsonpath={.contexts[0].context.cluster}"]))
        #expect(owner.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "k0slua-\(idA)")
        #expect(try await world.run(["destroy", "--state-dir", a]).exitCode == 0)
        let after = try await SubprocessRunner().run(Command("/usr/bin/kubectl", ["--kubeconfig", userConfig, "config", "get-contexts", "-o", "name"]))
        #expect(after.standardOutput == "")
    }

    @Test func destroyStrayTartVMsOfThisIdOnly() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let id = world.layout.clusterID(name: "k0slua")
        // An interrupted up left a VM Vagrant does not know; another cluster's VM must stay.
        var vms = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/tart.json"))) as! [String: Any]
        vms["\(id)-worker-7"] = ["dir": "elsewhere", "machine": "worker-7"]
        vms["k0slua-00000000-worker-1"] = ["dir": "other", "machine": "worker-1"]
        try JSONSerialization.data(withJSONObject: vms).write(to: URL(fileURLWithPath: world.directory + "/standin/tart.json"))
        let destroyed = try await world.run(["destroy"])
        #expect(destroyed.exitCode == 0)
        #expect(destroyed.standardError.contains("deleted stray Tart VM \(id)-worker-7"))
        let left = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/tart.json"))) as! [String: Any]
        #expect(Array(left.keys) == ["k0slua-00000000-worker-1"])
    }

    @Test func destroyDeletesStrayLibvirtDomainsOfThisIdOnly() async throws {
        let world = try StandInWorld()
        let libvirt = ["vagrant_provider": "libvirt"]
        #expect(try await world.run(["up", "--skip", "health"], environment: libvirt).exitCode == 0)
        let id = world.layout.clusterID(name: "k0slua")
        let path = world.directory + "/standin/virsh.json"
        var domains = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: String]
        #expect(Set(domains.keys) == ["\(id)-control-plane-1", "\(id)-worker-1"], "vagrant-libvirt's default_prefix is the cluster id")
        domains["\(id)-worker-9"] = "running"
        domains["k0slua-00000000-worker-1"] = "running"
        try JSONSerialization.data(withJSONObject: domains).write(to: URL(fileURLWithPath: path))
        let destroyed = try await world.run(["destroy"], environment: libvirt)
        #expect(destroyed.exitCode == 0, "\(destroyed.standardError)")
        #expect(destroyed.standardError.contains("deleted stray libvirt domain \(id)-worker-9"))
        let left = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: String]
        #expect(left == ["k0slua-00000000-worker-1": "running"])
    }

    /// A project directory with its own cluster.lua and lib/ inside the world, to be moved.
    static func project(_ world: StandInWorld, _ name: String) throws -> String {
        let project = world.directory + "/" + name
        try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: world.directory + "/cluster.lua", toPath: project + "/cluster.lua")
        try FileManager.default.createSymbolicLink(atPath: project + "/lib", withDestinationPath: Repo.lib)
        return project
    }

    static func tartVMs(_ world: StandInWorld) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/tart.json"))) as! [String: Any]
    }

    @Test func item17_6_aMovedProjectKeepsItsIdentity() async throws {
        let world = try StandInWorld()
        let a = try Self.project(world, "A")
        #expect(try await world.run(["up", "-f", "A/cluster.lua", "--skip", "health", "--merge-kubeconfig"]).exitCode == 0)
        let id = StateLayout(directory: a + "/.k0slua/k0slua").clusterID(name: "k0slua")
        #expect(Set(try Self.tartVMs(world).keys) == ["\(id)-control-plane-1", "\(id)-worker-1"])
        // An interrupted up of the cluster left a VM Vagrant does not know.
        var vms = try Self.tartVMs(world)
        vms["\(id)-worker-7"] = ["dir": "elsewhere", "machine": "worker-7"]
        try JSONSerialization.data(withJSONObject: vms).write(to: URL(fileURLWithPath: world.directory + "/standin/tart.json"))

        let b = world.directory + "/B moved"
        try FileManager.default.moveItem(atPath: a, toPath: b)
        let moved = StateLayout(directory: b + "/.k0slua/k0slua")
        let rendered = try await world.run(["render", "-f", "B moved/cluster.lua"])
        #expect(rendered.exitCode == 0, "\(rendered.standardError)")
        let vagrantfile = try String(contentsOfFile: moved.vagrantfile, encoding: .utf8)
        #expect(vagrantfile.contains("tart.name = \"\(id)-worker-1\""), "the recorded identity names the machines: \(vagrantfile)")
        // The kubeconfig context is still this cluster's, and k0sctl.yaml is written for the new place.
        let kubeconfig = try await world.run(["kubeconfig", "-f", "B moved/cluster.lua", "--merge"])
        #expect(kubeconfig.exitCode == 0, "\(kubeconfig.standardError)")
        let config = try String(contentsOfFile: moved.k0sctlConfig, encoding: .utf8)
        #expect(config.contains("keyPath: \"\(moved.privateKey)\"") && !config.contains(a + "/"), "\(config)")
        // up from the new place converges the same machines: no new VM, the same id recorded.
        let again = try await world.run(["up", "-f", "B moved/cluster.lua", "--skip", "health"])
        #expect(again.exitCode == 0, "\(again.standardError)")
        #expect(Set(try Self.tartVMs(world).keys) == ["\(id)-control-plane-1", "\(id)-worker-1", "\(id)-worker-7"])
        #expect(try Self.tartVMs(world).values.allSatisfy { ($0 as? [String: Any])?["shared_with"] == nil })
        #expect(try ClusterRecord.load(moved)?.id == id)
        let destroyed = try await world.run(["destroy", "-f", "B moved/cluster.lua"])
        #expect(destroyed.exitCode == 0, "\(destroyed.standardError)")
        #expect(destroyed.standardError.contains("deleted stray Tart VM \(id)-worker-7"), "\(destroyed.standardError)")
        #expect(try Self.tartVMs(world).isEmpty)
        let contexts = try await SubprocessRunner().run(Command("/usr/bin/kubectl", ["--kubeconfig", world.directory + "/home/.kube/config",
                                                                                       "config", "get-contexts", "-o", "name"]))
        #expect(contexts.standardOutput == "", "destroy took its context out")
    }

    @Test func item17_6_aMovedLibvirtProjectKeepsItsDomainPrefix() async throws {
        let world = try StandInWorld()
        let libvirt = ["vagrant_provider": "libvirt"]
        let a = try Self.project(world, "A")
        #expect(try await world.run(["up", "-f", "A/cluster.lua", "--skip", "health"], environment: libvirt).exitCode == 0)
        let id = StateLayout(directory: a + "/.k0slua/k0slua").clusterID(name: "k0slua")
        let path = world.directory + "/standin/virsh.json"
        #expect(Set((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: String]).keys)
                == ["\(id)-control-plane-1", "\(id)-worker-1"])
        try FileManager.default.moveItem(atPath: a, toPath: world.directory + "/B")
        world.clearTranscript()
        let destroyed = try await world.run(["destroy", "-f", "B/cluster.lua"], environment: libvirt)
        #expect(destroyed.exitCode == 0, "\(destroyed.standardError)")
        #expect(world.calls.contains { $0.description == "vagrant destroy -f" })
        let left = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: String]
        #expect(left.isEmpty, "the domains of prefix \(id)- are gone: \(left)")
    }

    @Test func aRecordFromANewerK0sluaStopsUpBeforeAnythingChanges() async throws {
        let world = try StandInWorld()
        try FileManager.default.createDirectory(atPath: world.layout.directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: world.layout.record, contents: Data(#"{"version": 99, "name": "k0slua"}"#.utf8))
        let up = try await world.run(["up"])
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains("written by a newer k0slua (record version 99"), "\(up.standardError)")
        #expect(world.calls.isEmpty)
        #expect(try String(contentsOfFile: world.layout.record, encoding: .utf8).contains("99"))
    }

    @Test func item17_8_aNameWithoutStateNamesTheClustersThatExist() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        world.clearTranscript()
        let other = ["cluster_name": "lab"]
        let destroyed = try await world.run(["destroy"], environment: other)
        #expect(destroyed.exitCode == 0, "nothing to destroy is not a failure")
        #expect(destroyed.standardError.contains("nothing to destroy: \(world.directory)/.k0slua/lab does not exist"), "\(destroyed.standardError)")
        #expect(destroyed.standardError.contains("clusters beside it: \"k0slua\""), "\(destroyed.standardError)")
        #expect(destroyed.standardError.contains("`cluster_name=k0slua k0slua destroy`"), "\(destroyed.standardError)")
        #expect(destroyed.standardError.contains("--state-dir \(world.layout.directory)"), "\(destroyed.standardError)")
        for command in ["stop", "start"] {
            let result = try await world.run([command], environment: other)
            #expect(result.exitCode == 1)
            #expect(result.standardError.contains("no cluster has been applied from \(world.directory)/.k0slua/lab"), "\(result.standardError)")
            #expect(result.standardError.contains("clusters beside it: \"k0slua\""), "\(result.standardError)")
            #expect(result.standardError.contains("`cluster_name=k0slua k0slua \(command)`"), "\(result.standardError)")
        }
        #expect(world.calls.isEmpty, "the existing cluster was not touched")
        #expect(try Self.vagrantState(world).values.allSatisfy { $0 == "running" })
    }

    @Test(arguments: [(#"{"version": 99, "name": "k0slua"}"#, "written by a newer k0slua (record version 99"),
                      ("{not json", "not a k0slua record")])
    func item17_9_anUnreadableRecordIsReportedAsSuch(record: String, reason: String) async throws {
        let world = try StandInWorld()
        try FileManager.default.createDirectory(atPath: world.layout.directory, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: world.layout.record, contents: Data(record.utf8)))
        for command in [["stop"], ["start"], ["render"], ["kubeconfig"], ["destroy"]] {
            let result = try await world.run(command)
            #expect(result.exitCode == 1, "\(command)")
            #expect(result.standardError.contains("error: cannot read the cluster record \(world.layout.record): \(reason)"), "\(command): \(result.standardError)")
            #expect(result.standardError.contains("hint: "), "\(command) says what to do: \(result.standardError)")
            #expect(!result.standardError.contains("no cluster has been applied"), "\(command)")
            #expect(world.calls.isEmpty, "\(command)")
            #expect(try String(contentsOfFile: world.layout.record, encoding: .utf8) == record)
        }
        #expect(!FileManager.default.fileExists(atPath: world.layout.vagrantfile), "render wrote nothing")
    }

    @Test func item17_9_renderAndKubeconfigTakeTheClusterLock() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let lock = ClusterLock(path: world.layout.lockFile)
        try lock.acquire(command: "k0slua up")
        defer { lock.release() }
        let before = try String(contentsOfFile: world.layout.vagrantfile, encoding: .utf8)
        try FileManager.default.removeItem(atPath: world.layout.k0sctlConfig)
        world.clearTranscript()
        for command in [["render"], ["kubeconfig"]] {
            let result = try await world.run(command)
            #expect(result.exitCode == 1, "\(command)")
            #expect(result.standardError.contains("another k0slua is changing this cluster (pid \(getpid()), `k0slua up`)"), "\(command): \(result.standardError)")
        }
        #expect(world.calls.isEmpty)
        #expect(try String(contentsOfFile: world.layout.vagrantfile, encoding: .utf8) == before)
        #expect(!FileManager.default.fileExists(atPath: world.layout.k0sctlConfig), "nothing was written under another's lock")
    }

    @Test func item17_9_destroyRemovesTheLockFileLast() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let loaded = try loadCluster(world.directory + "/cluster.lua")
        let lock = ClusterLock(path: world.layout.lockFile)
        try lock.acquire(command: "k0slua destroy")
        var checked = false
        // vagrant destroy succeeds, Tart lists no VM, kubectl finds no context of this cluster.
        let runner = ScriptedRunner([ScriptedRunner.when("vagrant", "destroy", then: CommandResult(exitCode: 0)),
                                     ScriptedRunner.when("tart", "list", then: CommandResult(exitCode: 0, standardOutput: "[]")),
                                     ScriptedRunner.when("kubectl", then: CommandResult(exitCode: 0))])
        let teardown = Teardown(cluster: loaded.cluster, layout: world.layout, runner: runner)
        try await teardown.run(lock: lock) { line in
            guard line.hasPrefix("removed ") else { return }
            // Everything else is gone, and the lock is still held: no `up` could start in between.
            let left = (try? FileManager.default.contentsOfDirectory(atPath: world.layout.directory)) ?? []
            #expect(left == ["up.lock"])
            #expect(throws: ClusterLock.Failure.self) { try ClusterLock(path: world.layout.lockFile).acquire(command: "k0slua up") }
            checked = true
        }
        #expect(checked)
        #expect(!FileManager.default.fileExists(atPath: world.layout.directory))
    }

    // MARK: - Acting on the record

    @Test func destroyWithAnotherWorkerCountDestroysEveryRecordedMachine() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: ["worker_count": "2"]).exitCode == 0)
        let status = try await world.run(["status"], environment: ["worker_count": "1"])
        #expect(status.standardOutput.contains("worker-2 "), "status lists the recorded worker-2")
        #expect(status.standardError.contains("note: cluster.lua differs from the applied cluster (-worker-2)"), "\(status.standardError)")
        let destroyed = try await world.run(["destroy"], environment: ["worker_count": "1"])
        #expect(destroyed.exitCode == 0, "\(destroyed.standardError)")
        #expect(destroyed.standardError.contains("destroyed 3 machine(s)"))
        #expect(try Self.vagrantState(world).values.allSatisfy { $0 == "not_created" })
        #expect(try Self.vagrantState(world).count == 3)
    }

    @Test func sshAndHealthUseTheRecordedNodes() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: ["worker_count": "2"]).exitCode == 0)
        let ssh = try await world.run(["ssh", "worker-2", "--", "hostname"], environment: ["worker_count": "1"])
        #expect(ssh.exitCode == 0)
        #expect(ssh.standardOutput == "worker-2\n")
        let health = try await world.run(["health", "--json"], environment: ["worker_count": "1"])
        #expect(health.exitCode == 0, "\(health.standardOutput)")
    }

    // MARK: - stop / start

    @Test func stopHaltsWorkersFirstAndStartBringsItBack() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: ["control_plane_count": "1", "worker_count": "2"]).exitCode == 0)
        world.clearTranscript()
        let stop = try await world.run(["stop"], environment: ["worker_count": "2"])
        #expect(stop.exitCode == 0, "\(stop.standardError)")
        let calls = world.calls.map(\.description)
        #expect(Set(calls.prefix(2)) == ["vagrant halt worker-1", "vagrant halt worker-2"] && calls.dropFirst(2) == ["vagrant halt control-plane-1"],
                "one halt per machine, workers first")
        let haltLog = try String(contentsOfFile: world.layout.logs + "/vagrant-halt.log", encoding: .utf8)
        let logged = haltLog.split(separator: "\n").filter { $0.hasPrefix("$ ") }.map { $0.split(separator: " ").suffix(2).joined(separator: " ") }
        #expect(Set(logged.prefix(2)) == ["halt worker-1", "halt worker-2"] && logged.dropFirst(2) == ["halt control-plane-1"],
                "the phase's log keeps every command")
        #expect(try Self.vagrantState(world).values.allSatisfy { $0 == "stopped" })
        let status = try await world.run(["status", "--json"], environment: ["worker_count": "2"])
        #expect(status.standardOutput.contains("\"state\" : \"stopped\""))
        #expect(!status.standardOutput.contains("\"ready\""), "a stopped cluster's API is not asked")
        #expect(try #require(try ClusterRecord.load(world.layout)).isStopped)
        world.clearTranscript()
        let start = try await world.run(["start", "--health-wait", "0"], environment: ["worker_count": "2"])
        #expect(start.exitCode == 0, "\(start.standardError)")
        let startCalls = world.calls.map(\.description)
        #expect(Array(startCalls.prefix(3)) == ["vagrant up --provider tart --no-provision control-plane-1",
                                           "vagrant up --provider tart --no-provision worker-1 worker-2",
                                           "vagrant ssh-config control-plane-1 worker-1 worker-2"])
        #expect(world.calls.filter { $0.tool == "ssh" && ($0.argv.last ?? "").contains("ping -c 1") }.count >= 3, "connectivity ran")
        #expect(!startCalls.contains { $0.hasPrefix("k0sctl apply") }, "same addresses: nothing to re-apply")
        #expect(start.standardOutput.contains("is running and healthy"))
        #expect(try #require(try ClusterRecord.load(world.layout)).isStopped == false)
        let after = try await world.run(["status", "--json"], environment: ["worker_count": "2"])
        #expect(after.standardOutput.contains("\"state\" : \"running\""))
    }

    @Test func startNoticesANewLeaseAndRewritesTheAddresses() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        #expect(try await world.run(["stop"]).exitCode == 0)
        world.clearTranscript()
        let start = try await world.run(["start", "--health-wait", "0", "--skip-checks", "system-pods"],
                                        environment: ["K0SLUA_STANDIN_FAULTS": "new-lease:worker-1,coredns-crashloop"])
        #expect(start.exitCode == 0, "\(start.standardError)")
        #expect(start.standardError.contains("worker-1: address changed from 192.168.64.3 to 192.168.64.4"), "\(start.standardError)")
        let record = try #require(try ClusterRecord.load(world.layout))
        #expect(record.node(named: "worker-1")?.address == "192.168.64.4")
        let config = try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8)
        #expect(config.contains("address: \"192.168.64.4\""))
        // Re-rendered as `up` renders it: k0sctl still uploads the cached k0s, the nodes download nothing.
        #expect(config.contains("uploadBinary: true") && config.contains("k0sBinaryPath: "), "\(config)")
        #expect(world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
        let hosts = world.calls.filter { $0.tool == "ssh" && ($0.argv.last ?? "").contains(" k0slua-hosts") }
        #expect(hosts.count == 2)
        for node in ["control-plane-1", "worker-1"] {
            #expect(try String(contentsOfFile: world.directory + "/standin/hosts/\(node)", encoding: .utf8).contains("192.168.64.4 worker-1\n"))
        }
    }

    @Test func stopWithoutARecordSaysSo() async throws {
        let world = try StandInWorld()
        let stop = try await world.run(["stop"])
        #expect(stop.exitCode == 1)
        #expect(stop.standardError.contains("no cluster has been applied"))
        #expect(world.calls.isEmpty)
    }

    // MARK: - Converging up

    @Test func planShowsTheDifferenceFirst() async throws {
        let world = try StandInWorld(cluster: Self.hooked)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let plan = try await world.run(["plan"], environment: ["worker_count": "2", "memory_worker": "8192"])
        #expect(plan.exitCode == 0)
        #expect(plan.standardOutput.hasPrefix("changes to the applied cluster"))
        #expect(plan.standardOutput.contains("= control-plane-1\n"))
        #expect(plan.standardOutput.contains("~ worker-1 memory: 4096 → 8192 (resized one at a time: drained, halted, restarted with the new size, uncordoned)\n"))
        #expect(plan.standardOutput.contains("+ worker-2 (joins)\n"))
        #expect(!plan.standardOutput.contains("refused"))
        let json = try await world.run(["plan", "--json"], environment: ["worker_count": "0"])
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as! [String: Any]
        let changes = try #require(object["changes"] as? [[String: Any]])
        #expect(changes.map { "\($0["symbol"]!)\($0["node"]!) \($0["change"]!)" } == ["=control-plane-1 unchanged", "-worker-1 leave"])
    }

    @Test func aNewK0sVersionIsPlannedAsAnUpgradeAndAppliedByK0sctl() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health,download"], environment: ["k0s_version": "v1.33.4+k0s.0"]).exitCode == 0)
        let plan = try await world.run(["plan"], environment: ["k0s_version": "v1.34.2+k0s.0"])
        #expect(plan.standardOutput.contains("~ cluster k0s_version: v1.33.4+k0s.0 → v1.34.2+k0s.0 (upgrade: k0sctl apply, controllers then workers)"))
        world.clearTranscript()
        let up = try await world.run(["up", "--skip", "health,download"], environment: ["k0s_version": "v1.34.2+k0s.0"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        #expect(up.standardError.contains("k0s upgraded to v1.34.2+k0s.0"))
        #expect(try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8).contains("version: \"v1.34.2+k0s.0\""))
        #expect(!world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "up" }, "no machine changes for an upgrade")
        #expect(try #require(try ClusterRecord.load(world.layout)).k0sVersion == "v1.34.2+k0s.0")
    }

    @Test func aWorkerJoinsAndOnlyItRunsHooks() async throws {
        let world = try StandInWorld(cluster: Self.hooked)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        // The nodes' hooks of a stage run side by side, so in either order within it.
        let calls = Self.hookCalls(world)
        #expect(calls.prefix(2).sorted() == ["pre_join control-plane-1", "pre_join worker-1"] && calls.dropFirst(2).sorted() == ["post_join control-plane-1", "post_join worker-1"])
        world.clearTranscript()
        let grow = try await world.run(["up", "--health-wait", "0"], environment: ["worker_count": "2"])
        #expect(grow.exitCode == 0, "\(grow.standardError)")
        #expect(grow.standardError.contains("+ worker-2 (joins)"))
        #expect(world.calls.filter { $0.tool == "vagrant" && $0.argv.first == "up" }.map(\.argv) == [["up", "--provider", "tart", "--parallel", "worker-2"]])
        #expect(Self.hookCalls(world) == ["pre_join worker-2", "post_join worker-2"])
        // Connectivity includes the new node, from every node: each ran the probe, and every other
        // node's probe answered for the new node's address (addresses go on stdin, so the log shows it).
        let probes = world.calls.filter { $0.tool == "ssh" && ($0.argv.last ?? "").contains("ping -c 1 -W 2") }
        #expect(probes.count >= 3)
        var answeredBy: [String] = [], current = ""
        for line in try String(contentsOfFile: world.layout.logs + "/connectivity.log", encoding: .utf8).split(separator: "\n") {
            if line.hasSuffix(":") { current = String(line.dropLast()) } else if line == "ok 192.168.64.4" { answeredBy.append(current) }
        }
        #expect(answeredBy.sorted() == ["control-plane-1", "worker-1"])
        #expect(try Self.kubernetesNodes(world) == ["control-plane-1", "worker-1", "worker-2"])
        let record = try #require(try ClusterRecord.load(world.layout))
        #expect(record.nodes.map(\.name) == ["control-plane-1", "worker-1", "worker-2"])
        #expect(record.nodes.allSatisfy { $0.joined == true })
        // Nothing changed: a further up starts no machine and runs no hook.
        world.clearTranscript()
        #expect(try await world.run(["up", "--skip", "health"], environment: ["worker_count": "2"]).exitCode == 0)
        #expect(!world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "up" })
        #expect(Self.hookCalls(world).isEmpty)
    }

    @Test func aWorkerLeavesDrainedResetDeletedAndDestroyed() async throws {
        let world = try StandInWorld(cluster: Self.hooked)
        #expect(try await world.run(["up", "--skip", "health"], environment: ["worker_count": "2"]).exitCode == 0)
        world.clearTranscript()
        let shrink = try await world.run(["up", "--health-wait", "0"], environment: ["worker_count": "1"])
        #expect(shrink.exitCode == 0, "\(shrink.standardError)")
        let steps = world.calls.filter { ["kubectl", "k0sctl", "vagrant"].contains($0.tool) }
            .map { $0.argv.filter { $0 != "--kubeconfig" && $0 != world.layout.kubeconfig && !$0.hasPrefix("--timeout") } }
            .filter { ["cordon", "drain", "apply", "delete", "destroy"].contains($0.first ?? "") }
        #expect(steps == [["cordon", "worker-2"], ["drain", "worker-2", "--ignore-daemonsets", "--delete-emptydir-data"],
                          ["apply", "--config", world.layout.k0sctlConfig], ["delete", "node", "worker-2", "--ignore-not-found"],
                          ["destroy", "-f", "worker-2"]], "\(steps)")
        #expect(try Self.kubernetesNodes(world) == ["control-plane-1", "worker-1"])
        #expect(try Self.vagrantState(world)["worker-2"] == "not_created")
        #expect(try Self.vagrantState(world)["worker-1"] == "running")
        let record = try #require(try ClusterRecord.load(world.layout))
        #expect(record.nodes.map(\.name) == ["control-plane-1", "worker-1"])
        let vagrantfile = try String(contentsOfFile: world.layout.vagrantfile, encoding: .utf8)
        let config = try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8)
        #expect(!vagrantfile.contains("worker-2") && !config.contains("reset"))
        #expect(Self.hookCalls(world).isEmpty, "no node joined: no hooks")
    }

    @Test func anUndrainableWorkerStopsUpUntilForced() async throws {
        let world = try StandInWorld(cluster: Self.hooked)
        #expect(try await world.run(["up", "--skip", "health"], environment: ["worker_count": "2"]).exitCode == 0)
        let stuck = try await world.run(["up", "--skip", "health"], environment: ["worker_count": "1", "K0SLUA_STANDIN_FAULTS": "undrainable:worker-2"])
        #expect(stuck.exitCode == 1)
        #expect(stuck.standardError.contains("cannot drain worker-2") && stuck.standardError.contains("--force-drain"), "\(stuck.standardError)")
        #expect(try Self.vagrantState(world)["worker-2"] == "running", "nothing destroyed")
        #expect(try #require(try ClusterRecord.load(world.layout)).node(named: "worker-2") != nil, "the record still names it")
        let forced = try await world.run(["up", "--skip", "health", "--force-drain"],
                                         environment: ["worker_count": "1", "K0SLUA_STANDIN_FAULTS": "undrainable:worker-2"])
        #expect(forced.exitCode == 0, "\(forced.standardError)")
        #expect(try Self.vagrantState(world)["worker-2"] == "not_created")
    }

    @Test func anInterruptedLeaveContinuesOnTheNextUp() async throws {
        let world = try StandInWorld(cluster: Self.hooked)
        #expect(try await world.run(["up", "--skip", "health"], environment: ["worker_count": "2"]).exitCode == 0)
        let failed = try await world.run(["up", "--skip", "health"], environment: ["worker_count": "1", "K0SLUA_STANDIN_FAIL": "vagrant:destroy"])
        #expect(failed.exitCode == 1)
        #expect(try #require(try ClusterRecord.load(world.layout)).node(named: "worker-2") != nil)
        let again = try await world.run(["up", "--skip", "health"], environment: ["worker_count": "1"])
        #expect(again.exitCode == 0, "\(again.standardError)")
        #expect(try Self.vagrantState(world)["worker-2"] == "not_created")
        #expect(try #require(try ClusterRecord.load(world.layout)).nodes.map(\.name) == ["control-plane-1", "worker-1"])
    }

    @Test(arguments: [
        (["vagrant_provider": "libvirt"], "provider changes from tart to libvirt"),
        (["disk_size": "40"], "worker-1: disk changes from 32 to 40 GB: a machine's disk is sized when it is created"),
    ])
    func changesThatCannotBeAppliedInPlaceAreRefusedFirst(environment: [String: String], reason: String) async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        world.clearTranscript()
        let refused = try await world.run(["up"], environment: environment)
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains(reason), "\(refused.standardError)")
        #expect(refused.standardError.contains("k0slua destroy && k0slua up"))
        #expect(!world.calls.contains { ["up", "destroy", "apply", "halt"].contains($0.argv.first ?? "") }, "nothing changed")
    }

    // MARK: - Issue 17: lifecycle under interruption and change

    /// A controller and two workers at static addresses; `replace=1` puts worker-2b where worker-2
    /// was, `replace=none` has neither.
    static let replaced = """
    local k0s = require "k0s"
    local replace = k0s.env.string("replace", "")
    local nodes = {
      { name = "control-plane-1", role = "controller", ip = "192.168.64.10", cpus = 2, memory = 2048, disk = 32 },
      { name = "worker-1", role = "worker", ip = "192.168.64.21", cpus = 2, memory = 2048, disk = 32 },
    }
    if replace ~= "none" then
      nodes[3] = { name = replace == "1" and "worker-2b" or "worker-2", role = "worker", ip = "192.168.64.22", cpus = 2, memory = 2048, disk = 32 }
    end
    return { provider = "libvirt", network = { cidr = "192.168.64.0/24", gateway = "192.168.64.1" }, nodes = nodes }
    """

    /// How many times `k0sctl apply` ran.
    static func k0sctlApplies(_ world: StandInWorld) -> Int {
        world.calls.filter { $0.tool == "k0sctl" && $0.argv.first == "apply" }.count
    }

    @Test func item17_3_neverJoinedNodeIsNotReset() async throws {
        // worker-2's `vagrant up` fails: it is recorded (static address) but never joined.
        let world = try StandInWorld()
        let libvirt = ["vagrant_provider": "libvirt"]
        #expect(try await world.run(["up", "--skip", "health"], environment: libvirt).exitCode == 0)
        let failed = try await world.run(["up", "--skip", "health"], environment: libvirt.merging(["worker_count": "2", "K0SLUA_STANDIN_FAIL": "vagrant:up"]) { $1 })
        #expect(failed.exitCode == 1)
        let recorded = try #require(try ClusterRecord.load(world.layout)).node(named: "worker-2")
        #expect(recorded != nil && recorded?.joined != true && recorded?.address == "192.168.64.21")
        #expect(try Self.vagrantState(world)["worker-2"] ?? "not_created" == "not_created")
        // cluster.lua drops it again: its machine goes, k0sctl is never asked to reach it.
        let plan = try await world.run(["plan"], environment: libvirt)
        #expect(plan.standardOutput.contains("- worker-2 (leaves: never joined, machine destroyed)\n"), "\(plan.standardOutput)")
        world.clearTranscript()
        let again = try await world.run(["up", "--skip", "health"], environment: libvirt)
        #expect(again.exitCode == 0, "\(again.standardError)")
        let config = try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8)
        #expect(!config.contains("192.168.64.21") && !config.contains("reset"), "\(config)")
        #expect(!world.calls.contains { $0.tool == "kubectl" && ["cordon", "drain"].contains($0.argv.first ?? "") })
        #expect(world.calls.contains { $0.tool == "vagrant" && $0.argv == ["destroy", "-f", "worker-2"] })
        #expect(try #require(try ClusterRecord.load(world.layout)).nodes.map(\.name) == ["control-plane-1", "worker-1"])
        #expect(try await world.run(["up", "--skip", "health"], environment: libvirt).exitCode == 0, "later `up`s work too")
    }

    @Test func item17_3_aLeaveInterruptedAfterItsMachineWasDestroyedContinues() async throws {
        let world = try StandInWorld(cluster: Self.hooked)
        #expect(try await world.run(["up", "--skip", "health"], environment: ["worker_count": "2"]).exitCode == 0)
        // k0sctl resets worker-2, then `vagrant destroy` fails: the record says it left Kubernetes.
        let failed = try await world.run(["up", "--skip", "health"], environment: ["worker_count": "1", "K0SLUA_STANDIN_FAIL": "vagrant:destroy"])
        #expect(failed.exitCode == 1)
        #expect(try #require(try ClusterRecord.load(world.layout)).node(named: "worker-2")?.joined == false)
        // Its machine is gone all the same (the destroy went through before k0slua was stopped).
        let path = world.directory + "/standin/vagrant.json"
        var environments = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: [String: [String: Any]]]
        environments[world.layout.directory]!["worker-2"]!["state"] = "not_created"
        try JSONSerialization.data(withJSONObject: environments).write(to: URL(fileURLWithPath: path))
        world.clearTranscript()
        let again = try await world.run(["up", "--skip", "health"], environment: ["worker_count": "1"])
        #expect(again.exitCode == 0, "\(again.standardError)")
        #expect(!(try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8)).contains("reset"))
        #expect(try #require(try ClusterRecord.load(world.layout)).nodes.map(\.name) == ["control-plane-1", "worker-1"])
    }

    @Test func item17_4_upNeverAppliesAK0sctlYamlItDidNotWrite() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let before = try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8)
        world.clearTranscript()
        // worker-2's address is assigned at boot and never learned: k0sctl.yaml cannot name it.
        let up = try await world.run(["up", "--skip", "addresses,connectivity,health"], environment: ["worker_count": "2"])
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains("k0sctl.yaml"), "\(up.standardError)")
        #expect(up.standardError.contains("the address of worker-2 is not known"), "\(up.standardError)")
        #expect(Self.k0sctlApplies(world) == 0, "the previous run's k0sctl.yaml is not applied")
        #expect(try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8) == before)
        let record = try #require(try ClusterRecord.load(world.layout))
        #expect(record.node(named: "worker-2")?.joined != true, "not recorded as applied")
        #expect(try Self.kubernetesNodes(world) == ["control-plane-1", "worker-1"])
        // With the addresses phase, it joins.
        let fixed = try await world.run(["up", "--skip", "health"], environment: ["worker_count": "2"])
        #expect(fixed.exitCode == 0, "\(fixed.standardError)")
        #expect(try Self.kubernetesNodes(world) == ["control-plane-1", "worker-1", "worker-2"])
    }

    @Test func item17_5_reusingALeavingNodesAddressIsRefusedAtPlanTime() async throws {
        let world = try StandInWorld(cluster: Self.replaced)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let replace = ["replace": "1"]
        let plan = try await world.run(["plan"], environment: replace)
        #expect(plan.exitCode == 0)
        #expect(plan.standardOutput.contains("refused: worker-2b: its address 192.168.64.22 is worker-2's, which leaves in the same `up`"), "\(plan.standardOutput)")
        let json = try await world.run(["plan", "--json"], environment: replace)
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as! [String: Any]
        #expect((object["refused"] as? [[String: Any]])?.first?["subject"] as? String == "worker-2b")
        world.clearTranscript()
        let up = try await world.run(["up"], environment: replace)
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains("nothing was changed"), "\(up.standardError)")
        #expect(up.standardError.contains("worker-2b: its address 192.168.64.22 is worker-2's"), "\(up.standardError)")
        #expect(!world.calls.contains { ["up", "destroy", "apply", "halt", "cordon", "drain"].contains($0.argv.first ?? "") }, "nothing changed")
        #expect(try Self.vagrantState(world)["worker-2"] == "running")
        // In two steps it works: worker-2 leaves, then worker-2b takes its address.
        #expect(try await world.run(["up", "--skip", "health"], environment: ["replace": "none"]).exitCode == 0)
        let second = try await world.run(["up", "--skip", "health"], environment: replace)
        #expect(second.exitCode == 0, "\(second.standardError)")
        #expect(try #require(try ClusterRecord.load(world.layout)).nodes.map(\.name) == ["control-plane-1", "worker-1", "worker-2b"])
    }

    @Test func item17_7_aK0sDowngradeIsRefusedBeforeAnythingChanges() async throws {
        let world = try StandInWorld()
        let (old, new) = (["k0s_version": "v1.34.2+k0s.0"], ["k0s_version": "v1.34.10+k0s.0"])
        #expect(try await world.run(["up", "--skip", "health,download"], environment: new).exitCode == 0)
        let plan = try await world.run(["plan"], environment: old)
        #expect(plan.standardOutput.contains("~ cluster k0s_version: v1.34.10+k0s.0 → v1.34.2+k0s.0 (downgrade: refused, k0s does not support downgrades)"),
                "\(plan.standardOutput)")
        #expect(plan.standardOutput.contains("refused: cluster: k0s_version changes from v1.34.10+k0s.0 to v1.34.2+k0s.0, a downgrade"))
        #expect(!plan.standardOutput.contains("upgrade"))
        let json = try await world.run(["plan", "--json"], environment: old)
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as! [String: Any]
        #expect(object["upgrade"] as? Bool == false)
        #expect((object["refused"] as? [[String: Any]])?.first?["subject"] as? String == "cluster")
        world.clearTranscript()
        let up = try await world.run(["up", "--skip", "health,download"], environment: old.merging(["worker_count": "0"]) { $1 })
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains("a downgrade"), "\(up.standardError)")
        #expect(up.standardError.contains("nothing was changed"))
        #expect(!world.calls.contains { ["up", "destroy", "apply", "cordon", "drain"].contains($0.argv.first ?? "") }, "nothing drained or applied")
        #expect(try #require(try ClusterRecord.load(world.layout)).k0sVersion == "v1.34.10+k0s.0")
        // k0sctl (the stand-in, as phase/validate_facts.go) would refuse it only once `up` had drained.
        let downgraded = world.directory + "/downgraded.yaml"
        try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8).replacingOccurrences(of: "v1.34.10+k0s.0", with: "v1.34.2+k0s.0")
            .write(toFile: downgraded, atomically: true, encoding: .utf8)
        let k0sctl = try await SubprocessRunner().run(Command(Repo.root + "/Tests/StandIns/bin/k0sctl", ["apply", "--config", downgraded],
                                                              environment: world.environment))
        #expect(k0sctl.exitCode == 1 && k0sctl.standardOutput.contains("can't perform a downgrade: v1.34.10+k0s.0 > v1.34.2+k0s.0"), "\(k0sctl.standardOutput)")
        // The k0s suffix counts after the semantic version: +k0s.1 is newer than +k0s.0.
        let suffix = try await world.run(["plan"], environment: ["k0s_version": "v1.34.10+k0s.1"])
        #expect(suffix.standardOutput.contains("~ cluster k0s_version: v1.34.10+k0s.0 → v1.34.10+k0s.1 (upgrade: k0sctl apply, controllers then workers)"),
                "\(suffix.standardOutput)")
        // An upgrade k0sctl did not apply is not recorded: going back is no downgrade.
        let failed = try await world.run(["up", "--skip", "health,download"], environment: ["k0s_version": "v1.35.0+k0s.0", "K0SLUA_STANDIN_FAIL": "k0sctl:apply"])
        #expect(failed.exitCode == 1)
        #expect(try #require(try ClusterRecord.load(world.layout)).k0sVersion == "v1.34.10+k0s.0")
        let back = try await world.run(["plan"], environment: new)
        #expect(back.standardOutput.contains("no changes"), "\(back.standardOutput)")
    }

    @Test func item17_7_k0sVersionsCompareSemverThenTheK0sNumber() throws {
        func v(_ text: String) throws -> K0sVersion { try #require(K0sVersion(text)) }
        #expect(try v("v1.33.4+k0s.0") < v("v1.34.2+k0s.0"))
        #expect(try v("v1.34.9+k0s.0") < v("v1.34.10+k0s.0"))
        #expect(try v("v1.34.2+k0s.0") < v("v1.34.2+k0s.1"))
        #expect(try v("v1.34.2+k0s.9") < v("v1.34.2+k0s.10"))
        #expect(try v("v1.35.0-rc.1+k0s.0") < v("v1.35.0+k0s.0"))
        #expect(try v("v1.35.0-alpha.1+k0s.0") < v("v1.35.0-beta.1+k0s.0"))
        #expect(try v("v1.35.0-rc.2+k0s.0") < v("v1.35.0-rc.10+k0s.0"))
        #expect(try v("1.34.2+k0s.0") == v("v1.34.2+k0s.0"))
        #expect(K0sVersion("latest") == nil && K0sVersion("v1.34") == nil && K0sVersion("") == nil)
    }

    @Test func goingFromTwoControllersToOneNeedsTheForceFlag() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: ["control_plane_count": "2"]).exitCode == 0)
        world.clearTranscript()
        let refused = try await world.run(["up"], environment: ["control_plane_count": "1"])
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains("control-plane-2: removing 1 of 2 controllers leaves 1, fewer than etcd's quorum of 2"), "\(refused.standardError)")
        #expect(!world.calls.contains { ["up", "destroy", "apply"].contains($0.argv.first ?? "") })
        let forced = try await world.run(["up", "--skip", "health", "--force-controller-removal"], environment: ["control_plane_count": "1"])
        #expect(forced.exitCode == 0, "\(forced.standardError)")
        #expect(try #require(try ClusterRecord.load(world.layout)).nodes.map(\.name) == ["control-plane-1", "worker-1"])
    }
}
