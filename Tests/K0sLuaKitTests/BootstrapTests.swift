import Foundation
import K0sLuaKit
import Testing

/// `k0slua up` and friends, end to end, with stand-ins for the tools that cannot run here.
@Suite(.serialized) struct BootstrapTests {
    // up resolves k0sctl and kubectl first (PATH or the cache), then runs the other checks.
    static let preflight = ["k0sctl version", "kubectl version --client", "vagrant --version", "vagrant plugin list", "tart --version", "ssh -V"]

    /// The expected calls for a tart cluster without hooks.
    static func upTranscript(nodes: [String]) -> [String] {
        preflight + ["tart list --format", "tart pull ghcr.io/cirruslabs/ubuntu:24.04", "vagrant up --provider", "vagrant ssh-config \(nodes[0])"]
            + nodes.map { _ in "ssh /etc/hosts" }
            + nodes.map { _ in "ssh connectivity" }
            // k0slua's LoadBalancer controller goes onto each controller after the apply (issue 25).
            + ["k0sctl apply --config"] + nodes.filter { $0.hasPrefix("control-plane") }.map { _ in "ssh sudo sh -s" }
            + ["k0sctl kubeconfig --config", "vagrant status --machine-readable"]
            + nodes.map { _ in "ssh reachability" } + nodes.map { _ in "ssh sudo k0s status" }
            // api, nodes-ready, taints, system-pods, load-balancers
            + Array(repeating: "kubectl --kubeconfig <kubeconfig>", count: 5)
    }

    static func normalize(_ calls: [StandInWorld.Call], world: StandInWorld) -> [String] {
        let apply = calls.firstIndex { $0.tool == "k0sctl" && $0.argv.first == "apply" } ?? Int.max
        return calls.enumerated().map { index, call -> String in
            if call.tool == "ssh", let remote = call.argv.last {
                if remote.contains("ping -c 1") { return index < apply ? "ssh connectivity" : "ssh reachability" }
                if remote.contains(" k0slua-hosts") { return "ssh /etc/hosts" }
                return "ssh \(remote)"
            }
            return call.summary.replacingOccurrences(of: world.layout.kubeconfig, with: "<kubeconfig>")
        }
    }

    @Test func itemD_theHostsLinesGoOnStdinNotOnTheCommandLine() async throws {
        let world = try StandInWorld()
        let result = try await world.run(["up", "--skip", "health"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        let hostsCalls = world.calls.filter { $0.tool == "ssh" && ($0.argv.last ?? "").contains("k0slua-hosts") }
        #expect(hostsCalls.count == 2)
        #expect(hostsCalls.allSatisfy { !$0.argv.joined(separator: " ").contains("worker-1") }, "no host line in any argument")
        for node in ["control-plane-1", "worker-1"] {
            let received = try String(contentsOfFile: world.directory + "/standin/hosts/\(node)", encoding: .utf8)
            #expect(received == "192.168.64.2 control-plane-1\n192.168.64.3 worker-1\n", "\(node) read the block on stdin")
        }
    }

    @Test func upOnePlusOne() async throws {
        let world = try StandInWorld()
        let result = try await world.run(["up"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        #expect(Self.normalize(world.calls, world: world) == Self.upTranscript(nodes: ["control-plane-1", "worker-1"]))
        let calls = world.calls
        // vagrant never phones home and works in the state directory.
        for call in calls where call.tool == "vagrant" {
            #expect(call.env["VAGRANT_CHECKPOINT_DISABLE"] == "1")
            #expect(call.env["VAGRANT_BOX_UPDATE_CHECK_DISABLE"] == "1")
            #expect(call.env["VAGRANT_CWD"] == world.layout.directory)
        }
        #expect(calls.first { $0.tool == "vagrant" && $0.argv.first == "up" }?.argv == ["up", "--provider", "tart", "--parallel"])
        // k0sctl uses the cluster-local known_hosts.
        for call in calls where call.tool == "k0sctl" && call.argv.first != "version" {
            #expect(call.env["SSH_KNOWN_HOSTS"] == world.layout.knownHosts)
        }
        // Every node is reached with the cluster's own key and known_hosts, never the user's.
        for call in calls where call.tool == "ssh" && call.argv != ["-V"] {
            #expect(call.argv.contains(world.layout.privateKey))
            #expect(call.argv.contains("UserKnownHostsFile=\"\(world.layout.knownHosts)\""))
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: world.layout.kubeconfig)
        #expect((attributes[.posixPermissions] as! NSNumber).intValue == 0o600)
        #expect((try FileManager.default.attributesOfItem(atPath: world.layout.privateKey)[.posixPermissions] as! NSNumber).intValue == 0o600)
        #expect(result.standardOutput.contains("export KUBECONFIG=\(world.layout.kubeconfig)"))
        // Tart's default softnet: each node's one address is its DHCP lease, discovered after boot.
        #expect(result.standardOutput.contains("control-plane-1      192.168.64.2     controller+worker"))
        #expect(calls.first { $0.tool == "vagrant" && $0.argv.first == "ssh-config" }?.argv == ["ssh-config", "control-plane-1", "worker-1"])
        let hostsCalls = calls.filter { $0.tool == "ssh" && ($0.argv.last ?? "").contains(" k0slua-hosts") }
        #expect(Set(hostsCalls.compactMap { call in call.argv.firstIndex(of: "--").map { call.argv[$0 + 1] } }) == ["192.168.64.2", "192.168.64.3"])
        let config = try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8)
        #expect(config.contains("address: \"192.168.64.3\"") && config.contains("privateAddress: \"192.168.64.3\""))
        let record = try #require(try ClusterRecord.load(world.layout))
        #expect(record.nodes.map(\.address) == ["192.168.64.2", "192.168.64.3"])
        #expect(record.nodes.allSatisfy { $0.addressing == .dhcp })
        #expect(Set(record.phases.keys) == Set(BootstrapPhase.allCases.map(\.rawValue)).subtracting(["preflight"]))
        let recordMode = try FileManager.default.attributesOfItem(atPath: world.layout.record)[.posixPermissions] as! NSNumber
        #expect(recordMode.intValue == 0o600)
        // Later commands act on the recorded addresses.
        let status = try await world.run(["status", "--json"])
        #expect(status.standardOutput.contains("\"ip\" : \"192.168.64.3\""), "\(status.standardOutput)")
        for phase in BootstrapPhase.allCases {
            #expect(result.standardError.contains("] \(phase.rawValue): "), "no progress line for \(phase)")
        }
    }

    @Test func upThreePlusTwo() async throws {
        let world = try StandInWorld()
        let result = try await world.run(["up"], environment: ["control_plane_count": "3", "worker_count": "2"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        let nodes = ["control-plane-1", "control-plane-2", "control-plane-3", "worker-1", "worker-2"]
        #expect(Self.normalize(world.calls, world: world) == Self.upTranscript(nodes: nodes))
        // One vagrant up for all machines: Vagrant and the provider parallelise; k0sctl orders the joins.
        #expect(world.calls.filter { $0.tool == "vagrant" && $0.argv.first == "up" }.count == 1)
        #expect(world.calls.filter { $0.tool == "k0sctl" && $0.argv.first == "apply" }.count == 1)
    }

    @Test func aSecondUpIsSafeAndQuick() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up"]).exitCode == 0)
        let rendered = try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8)
        let second = try await world.run(["up"])
        #expect(second.exitCode == 0)
        #expect(second.standardError.contains("render done in") && second.standardError.contains("unchanged"))
        #expect(try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8) == rendered)
    }

    @Test func hooksRunInOrderWithTheirNodes() async throws {
        let source = """
        local nodes = require "k0slua.nodes"
        local function record(node, ctx) ctx.run("echo " .. ctx.phase .. " " .. node.name .. " " .. node.k0s_role .. " " .. node.ip) end
        return {
          nodes = nodes.concat(
            nodes.class { prefix = "control-plane", role = "controller", count = 1, first_ip = "dhcp", cpus = 2, memory = 2048, disk = 32,
                          workloads = function() return true end, hooks = { pre_join = record, post_join = record } },
            nodes.class { prefix = "worker", role = "worker", count = 2, first_ip = "dhcp", cpus = 2, memory = 4096, disk = 32,
                          hooks = { pre_join = record, post_join = function(node, ctx) record(node, ctx); ctx.kubectl("get", "nodes") end } }),
          hooks = {
            pre_join = function(ctx) ctx.run_on("worker-2", "echo cluster pre_join " .. #ctx.nodes) end,
            post_join = function(ctx) ctx.run_on("control-plane-1", "echo cluster post_join " .. ctx.cluster) end,
          },
        }
        """
        let world = try StandInWorld(cluster: source)
        // One at a time: plan order (side by side: HookStageTests).
        let result = try await world.run(["up", "--skip", "health", "--parallel", "1"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        let hookCalls = world.calls.compactMap { call -> String? in
            if call.tool == "ssh", let remote = call.argv.last, remote.hasPrefix("echo ") {
                return "\(call.argv[call.argv.count - 4])@\(call.argv[call.argv.count - 2]) \(remote)"
            }
            if call.tool == "kubectl", call.argv.contains("nodes") { return "kubectl get nodes" }
            return nil
        }
        #expect(hookCalls == [
            "admin@192.168.64.4 echo cluster pre_join 3",
            "admin@192.168.64.2 echo pre_join control-plane-1 controller+worker 192.168.64.2",
            "admin@192.168.64.3 echo pre_join worker-1 worker 192.168.64.3",
            "admin@192.168.64.4 echo pre_join worker-2 worker 192.168.64.4",
            "admin@192.168.64.2 echo post_join control-plane-1 controller+worker 192.168.64.2",
            "admin@192.168.64.3 echo post_join worker-1 worker 192.168.64.3",
            "kubectl get nodes",
            "admin@192.168.64.4 echo post_join worker-2 worker 192.168.64.4",
            "kubectl get nodes",
            "admin@192.168.64.2 echo cluster post_join k0slua",
        ])
        // pre_join before k0sctl apply, post_join after the kubeconfig.
        let order = world.calls.map(\.summary)
        let apply = try #require(order.firstIndex { $0.hasPrefix("k0sctl apply") })
        #expect(order.firstIndex { $0.contains("echo pre_join") }! < apply)
        #expect(order.firstIndex { $0.contains("echo post_join") }! > apply)
    }

    @Test func aFailingHookStopsUpWithItsNodeAndLine() async throws {
        let source = """
        local nodes = require "k0slua.nodes"
        return {
          nodes = nodes.concat(
            nodes.class { prefix = "control-plane", role = "controller", count = 1, first_ip = "dhcp", cpus = 2, memory = 2048, disk = 32,
                          workloads = function() return true end },
            nodes.class { prefix = "worker", role = "worker", count = 1, first_ip = "dhcp", cpus = 2, memory = 4096, disk = 32,
                          hooks = { post_join = function(node, ctx)
                            error("the widget is missing on " .. node.name)
                          end } }),
        }
        """
        let world = try StandInWorld(cluster: source)
        let result = try await world.run(["up"])
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains("error: up failed in phase post-join: hook \"post_join\" for worker-1 (cluster.lua:7) failed: cluster.lua:8: the widget is missing on worker-1"),
                "\(result.standardError)")
        #expect(!world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "status" }, "health ran after a failed hook")
    }

    @Test func aFailingCommandInAPreJoinHookStopsBeforeK0sctl() async throws {
        let source = """
        local nodes = require "k0slua.nodes"
        return {
          nodes = nodes.concat(
            nodes.class { prefix = "control-plane", role = "controller", count = 1, first_ip = "dhcp", cpus = 2, memory = 2048, disk = 32,
                          workloads = function() return true end,
                          hooks = { pre_join = function(node, ctx) ctx.run("sudo apt-get install -y nfs-common") end } },
            nodes.class { prefix = "worker", role = "worker", count = 1, first_ip = "dhcp", cpus = 2, memory = 4096, disk = 32 }),
        }
        """
        let world = try StandInWorld(cluster: source)
        let result = try await world.run(["up"], environment: ["K0SLUA_STANDIN_FAIL": "ssh:hook"])
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains(
            "error: up failed in phase pre-join: hook \"pre_join\" for control-plane-1 (cluster.lua:6) failed: cluster.lua:6: `sudo apt-get install -y nfs-common` on control-plane-1 exited with 1: stand-in: hook command failed"),
            "\(result.standardError)")
        #expect(!world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
    }

    /// A failure injected at every phase: exit 1, the phase named, the log kept, nothing after it.
    @Test(arguments: [
        ("preflight", ["K0SLUA_STANDIN_PLUGINS": "vagrant-libvirt (0.11.2, system)"], "vagrant-tart"),
        ("machines", ["K0SLUA_STANDIN_FAIL": "vagrant:up"], "The VM failed to boot"),
        ("connectivity", ["K0SLUA_STANDIN_FAULTS": "partition:control-plane-1/worker-1"], "control-plane-1 → worker-1 (192.168.64.3)"),
        ("connectivity", ["K0SLUA_STANDIN_FAULTS": "probe-silent:worker-1"], "worker-1 → control-plane-1 (192.168.64.2): no answer from the probe"),
        ("k0sctl", ["K0SLUA_STANDIN_FAIL": "k0sctl:apply"], "k0s worker failed to start"),
        ("kubeconfig", ["K0SLUA_STANDIN_FAIL": "k0sctl:kubeconfig"], "stand-in failure injected"),
        ("health", ["K0SLUA_STANDIN_FAULTS": "coredns-crashloop"], "system-pods"),
    ])
    func failuresStopAtTheirPhase(phase: String, environment: [String: String], evidence: String) async throws {
        let world = try StandInWorld()
        let result = try await world.run(["up", "--health-wait", "0"], environment: environment)
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains("error: up failed in phase \(phase)"), "\(result.standardError)")
        #expect(result.standardError.contains(evidence), "\(result.standardError)")
        #expect(result.standardError.contains("task vagrant:destroy && task vagrant:up"))
        let phases = BootstrapPhase.allCases.map(\.rawValue)
        let later = phases[(phases.firstIndex(of: phase)! + 1)...]
        for next in later { #expect(!result.standardError.contains("] \(next): "), "\(next) ran after \(phase) failed") }
        if phase == "machines" || phase == "k0sctl" {
            let log = try #require(result.standardError.split(separator: "\n").first { $0.contains("full log: ") }).split(separator: " ").last!
            #expect(FileManager.default.fileExists(atPath: String(log)))
        }
        if phase == "connectivity" {
            #expect(result.standardError.contains("hint: k0slua reaches every node but they cannot reach each other: the network isolates the VMs"),
                    "the hint names the isolation and its fix")
        }
        #expect(!FileManager.default.fileExists(atPath: world.layout.lockFile), "the lock is released")
    }

    @Test func interruptStopsChildrenAndExits130() async throws {
        let world = try StandInWorld()
        var env = world.environment
        env["K0SLUA_STANDIN_DELAY"] = "vagrant:up=20"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["-i"] + env.map { "\($0.key)=\($0.value)" } + [StandInWorld.binary, "up"]
        process.currentDirectoryURL = URL(fileURLWithPath: world.directory)
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try await waitFor { world.vagrantUpStarted }
        try await Task.sleep(for: .milliseconds(300))
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(world.calls.contains { $0.tool == "vagrant" && $0.signal == "INT" }, "vagrant was told to stop")
        #expect(!world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
        #expect(!FileManager.default.fileExists(atPath: world.layout.lockFile))
    }

    @Test func destroyWithAndWithoutMachines() async throws {
        let world = try StandInWorld()
        let nothing = try await world.run(["destroy"])
        #expect(nothing.exitCode == 0)
        #expect(nothing.standardError.contains("nothing to destroy"))
        #expect(world.calls.isEmpty)
        #expect(try await world.run(["up"]).exitCode == 0)
        world.clearTranscript()
        let destroyed = try await world.run(["destroy"])
        #expect(destroyed.exitCode == 0, "\(destroyed.standardError)")
        // Vagrant destroys what the Vagrantfile names; Tart VMs of this cluster's id that Vagrant missed go too.
        #expect(world.calls.map(\.summary).filter { !$0.hasPrefix("kubectl") } == ["vagrant destroy -f", "tart list --format"])
        #expect(!FileManager.default.fileExists(atPath: world.layout.directory))
        let status = try await world.run(["status", "--json"])
        #expect(status.standardOutput.contains("\"machine\" : \"not_created\""))
    }

    /// A plugin's Ruby exception ends in a backtrace: the excerpt shows the exception's message,
    /// not the last frames, and the whole output stays in the log.
    @Test func aFailedDestroyShowsTheRubyExceptionNotItsBacktrace() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up"]).exitCode == 0)
        let failed = try await world.run(["destroy"], environment: ["K0SLUA_STANDIN_FAIL": "vagrant:destroy",
                                                                    "K0SLUA_STANDIN_FAULTS": "vagrant-ruby-exception"])
        #expect(failed.exitCode == 1)
        #expect(failed.standardError.contains("cannot undefine domain with 1 snapshots (Libvirt::Error)"), "\(failed.standardError)")
        #expect(!failed.standardError.contains("builder.rb:123"), "the frames stay in the log")
        #expect(failed.standardError.contains("24 backtrace lines"))
        let log = try String(contentsOfFile: world.layout.logs + "/vagrant-destroy.log", encoding: .utf8)
        #expect(log.contains("$ vagrant destroy -f") && log.contains("builder.rb:123") && log.contains("exit 1"))
        #expect(failed.standardError.contains(world.layout.logs + "/vagrant-destroy.log"))
    }

    @Test func statusShowsMachinesAndReadiness() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up"]).exitCode == 0)
        let status = try await world.run(["status"])
        #expect(status.exitCode == 0)
        #expect(status.standardOutput.contains("control-plane-1      192.168.64.2     running        True"))
        #expect(status.standardOutput.contains("worker-1             192.168.64.3     running        True"))
    }

    @Test func sshRunsACommandOnANodeWithTheClusterKey() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        world.clearTranscript()
        let result = try await world.run(["ssh", "worker-1", "--", "hostname"])
        #expect(result.exitCode == 0)
        #expect(result.standardOutput == "worker-1\n")
        let call = try #require(world.calls.first)
        #expect(call.tool == "ssh")
        // The user with -l and `--` before the host: nothing from cluster.lua can be an option.
        #expect(call.argv.suffix(5) == ["-l", "admin", "--", "192.168.64.3", "hostname"])
        #expect(call.argv.contains(world.layout.privateKey))
        let unknown = try await world.run(["ssh", "worker-9"])
        #expect(unknown.exitCode == 64)
        #expect(unknown.standardError.contains("no node named \"worker-9\""))
    }

    @Test func kubeconfigMergesUnderItsOwnContextAndDestroyTakesItOut() async throws {
        let world = try StandInWorld()
        let userConfig = world.directory + "/home/.kube/config"
        try FileManager.default.createDirectory(atPath: world.directory + "/home/.kube", withIntermediateDirectories: true)
        let existing = """
        apiVersion: v1
        kind: Config
        clusters:
        - cluster: {server: "https://127.0.0.1:1"}
          name: work
        contexts:
        - context: {cluster: work, user: admin}
          name: work
        current-context: work
        users:
        - name: admin
          user: {token: keep-me}

        """
        _ = FileManager.default.createFile(atPath: userConfig, contents: Data(existing.utf8))
        let up = try await world.run(["up", "--merge-kubeconfig", "--skip", "health"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        #expect(up.standardOutput.contains("context k0slua-k0slua merged into your kubeconfig"))
        let kubectl = Command("/usr/bin/kubectl", ["--kubeconfig", userConfig, "config", "get-contexts", "-o", "name"])
        let contexts = try await SubprocessRunner().run(kubectl)
        #expect(Set(contexts.standardOutput.split(separator: "\n")) == ["work", "k0slua-k0slua"])
        let current = try await SubprocessRunner().run(Command("/usr/bin/kubectl", ["--kubeconfig", userConfig, "config", "current-context"]))
        #expect(current.standardOutput == "work\n", "the user's current context is left alone")
        let merged = try String(contentsOfFile: userConfig, encoding: .utf8)
        #expect(merged.contains("keep-me"), "the user's own admin entry is untouched")
        #expect((try FileManager.default.attributesOfItem(atPath: userConfig)[.posixPermissions] as! NSNumber).intValue == 0o600)
        #expect(try await world.run(["destroy"]).exitCode == 0)
        let after = try await SubprocessRunner().run(kubectl)
        #expect(after.standardOutput == "work\n")
    }

    @Test func theHostsProviderNeedsNoVagrant() async throws {
        let source = try String(contentsOfFile: Repo.fixtures + "/render-hosts/cluster.lua", encoding: .utf8)
            .replacingOccurrences(of: "key_path = \"~/.ssh/id_ed25519\"", with: "key_path = \"id_test\"")
        let world = try StandInWorld(cluster: source)
        _ = FileManager.default.createFile(atPath: world.directory + "/id_test", contents: Data("not a real key\n".utf8))
        let up = try await world.run(["up", "--state-dir", ".k0slua/k0slua", "--skip", "health"], environment: ["K0SLUA_STANDIN_HOSTS": "1"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        let tools = world.calls.map(\.tool)
        #expect(!tools.contains("vagrant") && !tools.contains("tart"))
        #expect(!FileManager.default.fileExists(atPath: world.layout.vagrantfile))
        let ssh = world.calls.filter { $0.tool == "ssh" && $0.argv.last?.contains("ping") == true }
        #expect(Set(ssh.map { "\($0.argv[$0.argv.count - 4])@\($0.argv[$0.argv.count - 2])" })
            == ["ops@10.0.10.11", "ops@10.0.10.12", "ops@10.0.10.13", "root@w1.metal.example.com"])
        #expect(ssh.first { $0.argv.contains("w1.metal.example.com") }?.argv.contains("2222") == true)
        #expect(world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
    }

    @Test func skippedPhasesAreReportedAsSkipped() async throws {
        let world = try StandInWorld()
        let result = try await world.run(["up", "--skip", "k0sctl,kubeconfig,post-join,health"])
        #expect(result.exitCode == 0)
        for phase in ["k0sctl", "kubeconfig", "post-join", "health"] {
            #expect(result.standardError.contains("==> \(phase): skipped (--skip)"))
            #expect(result.standardOutput.contains("\(phase.padding(toLength: 14, withPad: " ", startingAt: 0)) skipped"))
        }
        #expect(!world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
        let bad = try await world.run(["up", "--skip", "nonsense"])
        #expect(bad.exitCode == 64)
    }

    @Test func taskRunsUpAndDestroyThroughTheTaskfile() async throws {
        let world = try StandInWorld()
        let task = try #require(ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { "\($0)/task" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }, "go-task must be on PATH (./setup installs it)")
        var env = world.environment
        env["PATH"] = env["PATH"]! + ":" + (task as NSString).deletingLastPathComponent
        // swift stays off this PATH on purpose: when a source is newer than the binary (edited
        // during the run), the Taskfile's build step fails at once ("swift" not found) instead of
        // waiting forever for the .build lock that this test run holds.
        // go-task keeps its timestamps in TASK_TEMP_DIR (default: .task/ next to the Taskfile,
        // i.e. inside the source tree); a test never writes there.
        env["TASK_TEMP_DIR"] = world.directory + "/.task"
        let sourceTaskState = Repo.taskState()
        env["control_plane_count"] = "3"
        env["worker_count"] = "2"
        let base = ["--taskfile", Repo.root + "/Taskfile.yml"]
        let up = try await SubprocessRunner().run(Command(task, base + ["vagrant:up", "CLUSTER=\(world.directory)/cluster.lua"], environment: env,
                                                          workingDirectory: world.directory))
        #expect(up.exitCode == 0, "\(up.standardOutput)\(up.standardError)")
        let vagrantUp = try #require(world.calls.first { $0.tool == "vagrant" && $0.argv.first == "up" })
        #expect(vagrantUp.env["VAGRANT_CWD"] == world.layout.directory)
        #expect(try String(contentsOfFile: world.layout.vagrantfile, encoding: .utf8).contains("config.vm.define \"worker-2\""), "variables passed through")
        let down = try await SubprocessRunner().run(Command(task, base + ["vagrant:destroy", "CLUSTER=\(world.directory)/cluster.lua"], environment: env,
                                                            workingDirectory: world.directory))
        #expect(down.exitCode == 0, "\(down.standardError)")
        #expect(world.calls.contains { $0.tool == "vagrant" && $0.argv == ["destroy", "-f"] })
        #expect(FileManager.default.fileExists(atPath: world.directory + "/.task"), "go-task used the temp dir")
        #expect(Repo.taskState() == sourceTaskState, "nothing written into the source tree's .task/")
    }
}
