import Foundation
import K0sLuaKit
import Testing

/// `up` converging the changes that touch running machines: controllers that leave (etcd first),
/// CPUs and memory that change (one node at a time), and machines a host reboot left halted. End to
/// end with the stand-ins: k0sctl resets a controller as v0.32.2 does (its own `k0s etcd leave`
/// runs after k0s stopped and fails), etcd's members live in the stand-in state (etcd.json), and
/// a machine takes its Vagrantfile size only when it boots.
@Suite(.serialized) struct ConvergenceTests {
    /// Three controllers (the third runs workloads) and a worker; `drop=NAME,…` removes nodes.
    static let controllers = """
    local k0s = require "k0s"
    local nodes = require "k0slua.nodes"
    local drop = {}
    for name in k0s.env.string("drop", ""):gmatch("[^,]+") do drop[name] = true end
    local all = nodes.concat(
      nodes.class { prefix = "control-plane", role = "controller", count = 3, first_ip = "dhcp", cpus = 2, memory = 2048, disk = 32,
                    workloads = function(index) return index == 3 end },
      nodes.class { prefix = "worker", role = "worker", count = 1, first_ip = "dhcp", cpus = 2, memory = 4096, disk = 32 })
    local kept = {}
    for _, node in ipairs(all) do
      if not drop[node.name] then kept[#kept + 1] = node end
    end
    return { nodes = kept }
    """

    /// One pure controller and two workers whose sizes come from the environment.
    static let sized = """
    local k0s = require "k0s"
    local nodes = require "k0slua.nodes"
    return {
      nodes = nodes.concat(
        nodes.class { prefix = "control-plane", role = "controller", count = 1, first_ip = "dhcp",
                      cpus = k0s.env.integer("cpu_control", 1, { min = 1 }), memory = 2048, disk = 32 },
        nodes.class { prefix = "worker", role = "worker", count = 2, first_ip = "dhcp", cpus = 2,
                      memory = k0s.env.integer("memory_worker", 4096, { min = 1 }), disk = k0s.env.integer("disk", 32, { min = 1 }) }),
    }
    """

    static func etcdMembers(_ world: StandInWorld) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/etcd.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: String]
    }

    static func machines(_ world: StandInWorld) throws -> [String: [String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/vagrant.json"))
        let environments = try JSONSerialization.jsonObject(with: data) as! [String: [String: [String: Any]]]
        return environments[world.layout.directory] ?? [:]
    }

    static func writeMachineStates(_ world: StandInWorld, _ state: String) throws {
        let path = world.directory + "/standin/vagrant.json"
        var environments = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: [String: [String: Any]]]
        for name in environments[world.layout.directory, default: [:]].keys { environments[world.layout.directory]![name]!["state"] = state }
        try JSONSerialization.data(withJSONObject: environments).write(to: URL(fileURLWithPath: path))
    }

    static func kubernetesNodes(_ world: StandInWorld) throws -> [String] {
        let data = (try? Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/k0s.json"))) ?? Data("{}".utf8)
        let nodes = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        return nodes.values.compactMap { $0["hostname"] as? String }.sorted()
    }

    /// The remote command of an ssh call, with the address it went to: `192.168.64.2: sudo k0s status`.
    static func remote(_ call: StandInWorld.Call) -> String? {
        guard call.tool == "ssh", let separator = call.argv.firstIndex(of: "--"), call.argv.count > separator + 2 else { return nil }
        return "\(call.argv[separator + 1]): \(call.argv[separator + 2])"
    }

    /// The steps that change the cluster, in order: drains, etcd commands, k0sctl apply, Node
    /// deletions, machine halts, boots and destroys (kubeconfig flags left out).
    static func steps(_ world: StandInWorld) -> [String] {
        world.calls.compactMap { call -> String? in
            switch call.tool {
            case "ssh":
                guard let remote = remote(call), remote.contains("k0s etcd") || remote.hasSuffix("sudo k0s status") else { return nil }
                return "ssh " + remote
            case "kubectl":
                let words = call.argv.filter { $0 != "--kubeconfig" && $0 != world.layout.kubeconfig && !$0.hasPrefix("--timeout") }
                guard ["cordon", "drain", "uncordon", "delete"].contains(words.first ?? "") else { return nil }
                return (["kubectl"] + words).joined(separator: " ")
            case "k0sctl":
                return call.argv.first == "apply" ? "k0sctl apply" : nil
            case "vagrant":
                guard ["halt", "destroy"].contains(call.argv.first ?? "") || (call.argv.first == "up" && call.argv.contains("--no-provision")) else { return nil }
                return call.description
            default:
                return nil
            }
        }
    }

    func addresses(_ world: StandInWorld) throws -> [String: String] {
        let record = try #require(try ClusterRecord.load(world.layout))
        return Dictionary(uniqueKeysWithValues: record.nodes.map { ($0.name, $0.address ?? "?") })
    }

    // MARK: - Controllers that leave

    @Test func aControllerLeavesEtcdThroughTheLeaderBeforeK0sctlResetsIt() async throws {
        let world = try StandInWorld(cluster: Self.controllers)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let ip = try addresses(world)
        #expect(try Self.etcdMembers(world) == ["control-plane-1": "https://\(ip["control-plane-1"]!):2380",
                                                "control-plane-2": "https://\(ip["control-plane-2"]!):2380",
                                                "control-plane-3": "https://\(ip["control-plane-3"]!):2380"])
        let plan = try await world.run(["plan"], environment: ["drop": "control-plane-3"])
        #expect(plan.standardOutput.contains("- control-plane-3 (leaves: drained, leaves etcd, reset, Node deleted, machine destroyed)\n"), "\(plan.standardOutput)")
        #expect(!plan.standardOutput.contains("refused") && !plan.standardOutput.contains("needs --force"))
        world.clearTranscript()
        let shrink = try await world.run(["up", "--health-wait", "0"], environment: ["drop": "control-plane-3"])
        #expect(shrink.exitCode == 0, "\(shrink.standardError)")
        let (leader, second, leaving) = (ip["control-plane-1"]!, ip["control-plane-2"]!, ip["control-plane-3"]!)
        let steps = Self.steps(world)
        let upToDestroy = Array(steps.prefix { !$0.hasPrefix("vagrant destroy") }) + steps.filter { $0.hasPrefix("vagrant destroy") }.prefix(1)
        #expect(upToDestroy == [
            // The quorum check: etcd's members from the leader, and every other member's k0s answers.
            "ssh \(leader): sudo k0s etcd member-list",
            "ssh \(leader): sudo k0s status",
            "ssh \(second): sudo k0s status",
            // It runs workloads (controller+worker): drained first.
            "kubectl cordon control-plane-3",
            "kubectl drain control-plane-3 --ignore-daemonsets --delete-emptydir-data",
            // It leaves etcd through the leader, and is checked gone, before k0sctl stops its k0s.
            "ssh \(leader): sudo k0s etcd member-list",
            "ssh \(leader): sudo k0s etcd leave --peer-address \(leaving)",
            "ssh \(leader): sudo k0s etcd member-list",
            "k0sctl apply",
            "kubectl delete node control-plane-3 --ignore-not-found",
            "vagrant destroy -f control-plane-3",
        ], "\(steps)")
        #expect(world.events.contains("k0sctl k0sctl-reset-controller controller+worker \(leaving)"), "k0sctl reset it: \(world.events)")
        #expect(try Self.etcdMembers(world) == ["control-plane-1": "https://\(leader):2380", "control-plane-2": "https://\(second):2380"])
        #expect(try Self.kubernetesNodes(world) == ["control-plane-1", "control-plane-2", "worker-1"], "its k0s and Node are gone")
        #expect(try Self.machines(world)["control-plane-3"]?["state"] as? String == "not_created")
        let record = try #require(try ClusterRecord.load(world.layout))
        #expect(record.nodes.map(\.name) == ["control-plane-1", "control-plane-2", "worker-1"])
        #expect(!(try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8)).contains("reset"))
        // No stale member: the controller can come back (k0sctl refuses a new controller whose
        // address etcd still lists, phase/validate_etcd_members.go).
        let back = try await world.run(["up", "--skip", "health"])
        #expect(back.exitCode == 0, "\(back.standardError)")
        #expect(try Self.etcdMembers(world).count == 3)
    }

    @Test func aRemovalInterruptedAfterTheEtcdLeaveContinuesOnTheNextUp() async throws {
        let world = try StandInWorld(cluster: Self.controllers)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let ip = try addresses(world)
        let drop = ["drop": "control-plane-2"]
        let failed = try await world.run(["up", "--skip", "health"], environment: drop.merging(["K0SLUA_STANDIN_FAIL": "k0sctl:apply"]) { $1 })
        #expect(failed.exitCode == 1)
        #expect(Set(try Self.etcdMembers(world).keys) == ["control-plane-1", "control-plane-3"], "it left etcd before k0sctl failed")
        #expect(try #require(try ClusterRecord.load(world.layout)).node(named: "control-plane-2")?.joined == true, "not reset yet")
        world.clearTranscript()
        let again = try await world.run(["up", "--skip", "health"], environment: drop)
        #expect(again.exitCode == 0, "\(again.standardError)")
        #expect(again.standardError.contains("control-plane-2 is no longer an etcd member"), "\(again.standardError)")
        let steps = Self.steps(world)
        #expect(!steps.contains { $0.contains("etcd leave") }, "\(steps)")
        #expect(steps.suffix(2) == ["k0sctl apply", "vagrant destroy -f control-plane-2"])
        #expect(world.events.contains("k0sctl k0sctl-reset-controller controller \(ip["control-plane-2"]!)"))
        #expect(try #require(try ClusterRecord.load(world.layout)).node(named: "control-plane-2") == nil)
    }

    @Test func aPureControllerLeavesWithoutADrain() async throws {
        let world = try StandInWorld(cluster: Self.controllers)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let ip = try addresses(world)
        world.clearTranscript()
        let shrink = try await world.run(["up", "--skip", "health"], environment: ["drop": "control-plane-2"])
        #expect(shrink.exitCode == 0, "\(shrink.standardError)")
        let steps = Self.steps(world)
        #expect(!steps.contains { $0.contains("cordon") || $0.contains("drain") }, "a pure controller runs no pods: \(steps)")
        #expect(steps.firstIndex(of: "ssh \(ip["control-plane-1"]!): sudo k0s etcd leave --peer-address \(ip["control-plane-2"]!)")!
                < steps.firstIndex(of: "k0sctl apply")!)
        #expect(steps.last == "vagrant destroy -f control-plane-2")
        #expect(!steps.contains { $0.hasPrefix("kubectl delete node") }, "a pure controller has no Node")
        #expect(world.events.contains("k0sctl k0sctl-reset-controller controller \(ip["control-plane-2"]!)"))
        #expect(Set(try Self.etcdMembers(world).keys) == ["control-plane-1", "control-plane-3"])
    }

    @Test func removingTheLeaderIsRefusedUntilForced() async throws {
        // The leader runs workloads too: its Node is deleted through the new leader's API.
        let world = try StandInWorld(cluster: Self.controllers.replacingOccurrences(of: "return index == 3", with: "return index == 1 or index == 3"))
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let ip = try addresses(world)
        world.clearTranscript()
        let plan = try await world.run(["plan"], environment: ["drop": "control-plane-1"])
        #expect(plan.standardOutput.contains("needs --force-controller-removal: control-plane-1: is the leader"), "\(plan.standardOutput)")
        let refused = try await world.run(["up"], environment: ["drop": "control-plane-1"])
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains("cluster.lua removes controllers in a way that can break the cluster; nothing was changed"), "\(refused.standardError)")
        #expect(refused.standardError.contains("control-plane-1: is the leader (k0sctl initialized the cluster on it"))
        #expect(refused.standardError.contains("removing it moves the leader to control-plane-2"))
        #expect(refused.standardError.contains("k0slua up --force-controller-removal"))
        #expect(!world.calls.contains { ["up", "destroy", "apply", "halt", "cordon"].contains($0.argv.first ?? "") }, "nothing changed")
        #expect(!world.calls.contains { ($0.argv.last ?? "").contains("k0s etcd") })
        let forced = try await world.run(["up", "--skip", "health", "--force-controller-removal"], environment: ["drop": "control-plane-1"])
        #expect(forced.exitCode == 0, "\(forced.standardError)")
        // The new leader, control-plane-2, removes the old one from etcd.
        #expect(Self.steps(world).contains("ssh \(ip["control-plane-2"]!): sudo k0s etcd leave --peer-address \(ip["control-plane-1"]!)"))
        #expect(Self.steps(world).contains("kubectl delete node control-plane-1 --ignore-not-found"))
        #expect(try Self.kubernetesNodes(world) == ["control-plane-2", "control-plane-3", "worker-1"])
        #expect(Set(try Self.etcdMembers(world).keys) == ["control-plane-2", "control-plane-3"])
        #expect(try #require(try ClusterRecord.load(world.layout)).nodes.map(\.name) == ["control-plane-2", "control-plane-3", "worker-1"])
        let kubeconfig = try String(contentsOfFile: world.layout.kubeconfig, encoding: .utf8)
        #expect(kubeconfig.contains("server: https://\(ip["control-plane-2"]!):6443"), "the kubeconfig follows the new leader")
    }

    @Test func removingAMajorityOfControllersIsRefusedUntilForced() async throws {
        let world = try StandInWorld(cluster: Self.controllers)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        world.clearTranscript()
        let drop = ["drop": "control-plane-2,control-plane-3"]
        let refused = try await world.run(["up"], environment: drop)
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains("control-plane-2, control-plane-3: removing 2 of 3 controllers leaves 1, fewer than etcd's quorum of 2 for today's 3 members"),
                "\(refused.standardError)")
        #expect(!world.calls.contains { ["up", "destroy", "apply", "halt", "cordon"].contains($0.argv.first ?? "") }, "nothing changed")
        let json = try await world.run(["plan", "--json"], environment: drop)
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as! [String: Any]
        #expect((object["force_required"] as? [[String: Any]])?.count == 1)
        let forced = try await world.run(["up", "--skip", "health", "--force-controller-removal"], environment: drop)
        #expect(forced.exitCode == 0, "\(forced.standardError)")
        #expect(Array(try Self.etcdMembers(world).keys) == ["control-plane-1"])
        // One at a time: the second leaves only once the first is gone.
        let leaves = Self.steps(world).filter { $0.contains("etcd leave") }
        #expect(leaves.count == 2)
    }

    @Test func everyControllerLeavingIsRefusedOutright() async throws {
        let world = try StandInWorld(cluster: Self.controllers)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        // cluster.lua renames the controllers: every recorded one would leave.
        let renamed = Self.controllers.replacingOccurrences(of: "prefix = \"control-plane\"", with: "prefix = \"cp\"")
        _ = FileManager.default.createFile(atPath: world.directory + "/cluster.lua", contents: Data(renamed.utf8))
        world.clearTranscript()
        let refused = try await world.run(["up", "--force-controller-removal"])
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains("control-plane-1, control-plane-2, control-plane-3: every controller the cluster has would leave"), "\(refused.standardError)")
        #expect(refused.standardError.contains("k0slua destroy && k0slua up"))
        #expect(!world.calls.contains { ["up", "destroy", "apply"].contains($0.argv.first ?? "") })
    }

    @Test func threeToTwoControllersWithTheDefaultWorkloadsRuleExplainsTheRoleChange() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"], environment: ["control_plane_count": "3"]).exitCode == 0)
        world.clearTranscript()
        // taints.first_third: 3 controllers → only control-plane-1 runs workloads; 2 → both do.
        let refused = try await world.run(["up"], environment: ["control_plane_count": "2"])
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains("control-plane-2: role changes from controller to controller+worker, which cannot change on a running node (a workloads rule that counts controllers"),
                "\(refused.standardError)")
        #expect(!world.calls.contains { ["up", "destroy", "apply", "cordon"].contains($0.argv.first ?? "") })
    }

    @Test func aControllerWhoseK0sDoesNotAnswerStopsTheRemovalBeforeAnythingChanges() async throws {
        let world = try StandInWorld(cluster: Self.controllers)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        world.clearTranscript()
        let refused = try await world.run(["up", "--skip", "health"], environment: ["drop": "control-plane-3", "K0SLUA_STANDIN_FAULTS": "k0s-down:control-plane-2"])
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains("removing control-plane-3 would leave etcd 2 member(s) of which 1 answer, below its quorum of 2: etcd would stop; nothing was reset"),
                "\(refused.standardError)")
        #expect(refused.standardError.contains("control-plane-2: k0s does not answer"))
        #expect(Self.steps(world).allSatisfy { $0.hasPrefix("ssh") }, "no drain, no leave, no reset: \(Self.steps(world))")
        #expect(!world.calls.contains { ($0.argv.last ?? "").contains("etcd leave") })
        #expect(try Self.etcdMembers(world).count == 3)
        #expect(try #require(try ClusterRecord.load(world.layout)).node(named: "control-plane-3") != nil)
    }

    // MARK: - Resizing

    @Test func changedCPUsAndMemoryResizeOneNodeAtATime() async throws {
        let world = try StandInWorld(cluster: Self.sized)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let bigger = ["cpu_control": "2", "memory_worker": "8192"]
        let plan = try await world.run(["plan"], environment: bigger)
        #expect(plan.standardOutput.contains("~ control-plane-1 cpus: 1 → 2 (resized one at a time: halted, restarted with the new size)\n"), "\(plan.standardOutput)")
        #expect(plan.standardOutput.contains("~ worker-1 memory: 4096 → 8192 (resized one at a time: drained, halted, restarted with the new size, uncordoned)\n"))
        #expect(!plan.standardOutput.contains("refused"))
        world.clearTranscript()
        let up = try await world.run(["up", "--health-wait", "0"], environment: bigger)
        #expect(up.exitCode == 0, "\(up.standardError)")
        let steps = Self.steps(world).filter { !$0.hasPrefix("ssh") || $0.hasSuffix("k0s status") }
        let ip = try addresses(world)
        let resize = Array(steps.prefix { $0 != "k0sctl apply" })
        // The health checks before the next node is taken down ask every node's k0s, in parallel
        // (`--parallel`): the order inside a run of consecutive ssh calls is not fixed.
        let health = ["control-plane-1", "worker-1", "worker-2"].map { "ssh \(ip[$0]!): sudo k0s status" }
        func sortingSSHRuns(_ steps: [String]) -> [String] {
            var out: [String] = [], run: [String] = []
            for step in steps {
                if step.hasPrefix("ssh ") { run.append(step); continue }
                out += run.sorted() + [step]
                run = []
            }
            return out + run.sorted()
        }
        #expect(sortingSSHRuns(resize) == sortingSSHRuns([
            // A pure controller: no Node to drain; back when its k0s answers.
            "vagrant halt control-plane-1",
            "vagrant up --provider tart --no-provision control-plane-1",
            "ssh \(ip["control-plane-1"]!): sudo k0s status",
        ] + health + [
            "kubectl cordon worker-1",
            "kubectl drain worker-1 --ignore-daemonsets --delete-emptydir-data",
            "vagrant halt worker-1",
            "vagrant up --provider tart --no-provision worker-1",
            "kubectl uncordon worker-1",
        ] + health + [
            "kubectl cordon worker-2",
            "kubectl drain worker-2 --ignore-daemonsets --delete-emptydir-data",
            "vagrant halt worker-2",
            "vagrant up --provider tart --no-provision worker-2",
            "kubectl uncordon worker-2",
        ]), "\(resize)")
        // Health ran between the nodes: the API was asked after worker-1 came back and before worker-2 went down.
        let calls = world.calls.map(\.description)
        let uncordoned = try #require(calls.firstIndex { $0.contains("uncordon worker-1") })
        let cordoned = try #require(calls.firstIndex { $0.contains("kubectl") && $0.hasSuffix("cordon worker-2") })
        #expect(calls[uncordoned..<cordoned].contains { $0.contains("get --raw /readyz") || $0.contains("get nodes") })
        let machines = try Self.machines(world)
        #expect(machines["control-plane-1"]?["cpus"] as? Int == 2)
        #expect(machines["worker-1"]?["memory"] as? Int == 8192 && machines["worker-2"]?["memory"] as? Int == 8192)
        let record = try #require(try ClusterRecord.load(world.layout))
        #expect(record.node(named: "control-plane-1")?.cpus == 2)
        #expect(record.nodes.filter { $0.role == .worker }.allSatisfy { $0.memoryMiB == 8192 })
        #expect(up.standardError.contains("resized control-plane-1, worker-1, worker-2"), "\(up.standardError)")
        world.clearTranscript()
        #expect(try await world.run(["up", "--skip", "health"], environment: bigger).exitCode == 0)
        #expect(!world.calls.contains { $0.argv.first == "halt" }, "nothing left to resize")
    }

    @Test func anInterruptedResizeKeepsTheOldSizeInTheRecordAndContinues() async throws {
        let world = try StandInWorld(cluster: Self.sized)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let bigger = ["memory_worker": "8192"]
        // worker-1 is drained and halted, then its boot fails.
        let failed = try await world.run(["up", "--skip", "health"], environment: bigger.merging(["K0SLUA_STANDIN_FAIL": "vagrant:up"]) { $1 })
        #expect(failed.exitCode == 1)
        #expect(try Self.machines(world)["worker-1"]?["state"] as? String == "stopped")
        let record = try #require(try ClusterRecord.load(world.layout))
        #expect(record.nodes.filter { $0.role == .worker }.allSatisfy { $0.memoryMiB == 4096 }, "not resized yet: the record keeps the old size")
        world.clearTranscript()
        let again = try await world.run(["up", "--skip", "health"], environment: bigger)
        #expect(again.exitCode == 0, "\(again.standardError)")
        let steps = Self.steps(world).filter { !$0.hasPrefix("ssh") }
        #expect(Array(steps.prefix(7)) == [
            // Booted with its new size, then uncordoned; worker-2 is resized as usual.
            "vagrant up --provider tart --no-provision worker-1",
            "kubectl uncordon worker-1",
            "kubectl cordon worker-2",
            "kubectl drain worker-2 --ignore-daemonsets --delete-emptydir-data",
            "vagrant halt worker-2",
            "vagrant up --provider tart --no-provision worker-2",
            "kubectl uncordon worker-2",
        ], "\(steps)")
        #expect(try #require(try ClusterRecord.load(world.layout)).nodes.filter { $0.role == .worker }.allSatisfy { $0.memoryMiB == 8192 })
    }

    @Test func aChangedDiskIsRefusedWithTheReasonAndTheRebuild() async throws {
        let world = try StandInWorld(cluster: Self.sized)
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        world.clearTranscript()
        let refused = try await world.run(["up"], environment: ["disk": "40"])
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains("worker-1: disk changes from 32 to 40 GB: a machine's disk is sized when it is created"), "\(refused.standardError)")
        #expect(refused.standardError.contains("k0slua destroy && k0slua up"))
        #expect(!world.calls.contains { ["up", "halt", "apply"].contains($0.argv.first ?? "") })
    }

    @Test func onTheHostsProviderAChangedSizeIsOnlyRecorded() async throws {
        let source = try String(contentsOfFile: Repo.fixtures + "/render-hosts/cluster.lua", encoding: .utf8)
            .replacingOccurrences(of: "key_path = \"~/.ssh/id_ed25519\"", with: "key_path = \"id_test\"")
        let world = try StandInWorld(cluster: source)
        _ = FileManager.default.createFile(atPath: world.directory + "/id_test", contents: Data("not a real key\n".utf8))
        let hosts = ["K0SLUA_STANDIN_HOSTS": "1"]
        #expect(try await world.run(["up", "--state-dir", ".k0slua/k0slua", "--skip", "health"], environment: hosts).exitCode == 0)
        let bigger = source.replacingOccurrences(of: "cpus = 8, memory = 16384", with: "cpus = 8, memory = 32768")
        #expect(bigger != source)
        _ = FileManager.default.createFile(atPath: world.directory + "/cluster.lua", contents: Data(bigger.utf8))
        let plan = try await world.run(["plan", "--state-dir", ".k0slua/k0slua"], environment: hosts)
        #expect(plan.standardOutput.contains("~ w1 memory: 16384 → 32768 (hosts provider: recorded only, the machine is yours to resize)\n"), "\(plan.standardOutput)")
        world.clearTranscript()
        let up = try await world.run(["up", "--state-dir", ".k0slua/k0slua", "--skip", "health"], environment: hosts)
        #expect(up.exitCode == 0, "\(up.standardError)")
        #expect(!world.calls.contains { ["cordon", "drain", "halt"].contains($0.argv.first ?? "") })
        #expect(try #require(try ClusterRecord.load(world.layout)).node(named: "w1")?.memoryMiB == 32768)
    }

    // MARK: - After a host reboot

    @Test func upBootsMachinesAHostRebootLeftHalted() async throws {
        let world = try StandInWorld()
        let libvirt = ["vagrant_provider": "libvirt", "worker_count": "2"]
        #expect(try await world.run(["up", "--skip", "health"], environment: libvirt).exitCode == 0)
        // The host rebooted: every domain is shut off, the record still says running.
        try Self.writeMachineStates(world, "shutoff")
        #expect(try #require(try ClusterRecord.load(world.layout)).isStopped == false)
        let status = try await world.run(["status", "--json"], environment: libvirt)
        #expect(status.standardOutput.contains("\"state\" : \"stopped\""), "\(status.standardOutput)")
        let text = try await world.run(["status"], environment: libvirt)
        #expect(text.standardOutput.contains("no machine is running although `k0slua stop` did not halt them (a host reboot?)"), "\(text.standardOutput)")
        world.clearTranscript()
        let up = try await world.run(["up", "--health-wait", "0"], environment: libvirt)
        #expect(up.exitCode == 0, "\(up.standardError)")
        let vagrant = world.calls.filter { $0.tool == "vagrant" && !["--version", "plugin"].contains($0.argv.first ?? "") }.map(\.description)
        #expect(Array(vagrant.prefix(3)) == ["vagrant status --machine-readable",
                                             "vagrant up --provider libvirt --no-provision control-plane-1",
                                             "vagrant up --provider libvirt --no-provision worker-1 worker-2"], "\(vagrant)")
        #expect(try Self.machines(world).values.allSatisfy { $0["state"] as? String == "running" })
        let after = try await world.run(["status", "--json"], environment: libvirt)
        #expect(after.standardOutput.contains("\"state\" : \"running\""))
    }
}
