import Foundation
@testable import K0sLuaKit
import Testing
import Yams

/// `k0slua health` against stand-ins whose kubectl/k0s output has the real shapes, one fault at a
/// time: exactly the right check fails, with a message that says what is wrong.
@Suite(.serialized) struct HealthTests {
    static func healthyWorld(_ environment: [String: String] = [:]) async throws -> StandInWorld {
        let world = try StandInWorld()
        let up = try await world.run(["up", "--skip", "health"], environment: environment)
        #expect(up.exitCode == 0, "\(up.standardError)")
        return world
    }

    static func report(_ world: StandInWorld, faults: String? = nil, arguments: [String] = [], environment: [String: String] = [:]) async throws -> (CommandResult, [String: [String: Any]]) {
        var env = environment
        if let faults { env["K0SLUA_STANDIN_FAULTS"] = faults }
        let result = try await world.run(["health", "--json"] + arguments, environment: env)
        let document = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any]
        let checks = document["checks"] as! [[String: Any]]
        return (result, Dictionary(uniqueKeysWithValues: checks.map { ($0["name"] as! String, $0) }))
    }

    @Test(arguments: [[:], ["control_plane_count": "3", "worker_count": "2"]])
    func healthyClustersPass(environment: [String: String]) async throws {
        let world = try await Self.healthyWorld(environment)
        let (result, checks) = try await Self.report(world, environment: environment)
        #expect(result.exitCode == 0, "\(result.standardOutput)")
        #expect(Set(checks.keys) == ["machines", "reachability", "k0s-status", "api", "nodes-ready", "taints", "system-pods", "load-balancers"])
        #expect(checks.values.allSatisfy { $0["status"] as? String == "ok" })
        let text = try await world.run(["health"], environment: environment)
        #expect(text.exitCode == 0)
        #expect(text.standardOutput.hasPrefix("ok      machines"))
    }

    @Test(arguments: [
        ("node-notready:worker-1", "nodes-ready", "worker-1: NotReady"),
        ("node-missing:worker-1", "nodes-ready", "worker-1: not registered"),
        ("node-wrong-ip:worker-1", "nodes-ready", "worker-1: InternalIP 10.0.2.15, expected 192.168.64.3"),
        ("coredns-crashloop", "system-pods", "coredns-6c77d6f8b7-abcde: CrashLoopBackOff, not ready, 7 restarts"),
        ("extra-taint:worker-1", "taints", "worker-1: taints [example.com/unexpected:NoSchedule], expected []"),
        ("k0s-down:worker-1", "k0s-status", "worker-1: k0s is not running"),
        ("partition:control-plane-1/worker-1", "reachability", "control-plane-1 → worker-1 (192.168.64.3)"),
        // #20: no check passes on missing evidence.
        ("probe-silent:worker-1", "reachability", "worker-1 → control-plane-1 (192.168.64.2): no answer from the probe"),
        ("k0s-status-norole:worker-1", "k0s-status", "worker-1: `k0s status` printed no Role"),
    ])
    func eachFaultFailsExactlyItsCheck(fault: String, check: String, evidence: String) async throws {
        let world = try await Self.healthyWorld()
        let (result, checks) = try await Self.report(world, faults: fault)
        #expect(result.exitCode == 1)
        let failed = checks.filter { $0.value["status"] as? String == "failed" }.map(\.key)
        #expect(failed == [check], "\(fault) failed \(failed)")
        let lines = try #require(checks[check]?["evidence"] as? [String])
        #expect(lines.contains { $0.hasPrefix(evidence) }, "\(lines)")
        #expect(checks[check]?["hint"] as? String != nil, "a failing check says what to look at next")
    }

    @Test func aDownAPISkipsWhatDependsOnIt() async throws {
        let world = try await Self.healthyWorld()
        let (result, checks) = try await Self.report(world, faults: "api-down")
        #expect(result.exitCode == 1)
        #expect(checks["api"]?["status"] as? String == "failed")
        for name in ["nodes-ready", "taints", "system-pods", "load-balancers"] {
            #expect(checks[name]?["status"] as? String == "skipped")
            #expect((checks[name]?["evidence"] as? [String])?.first == "skipped: api is failed")
        }
    }

    @Test func controlPlaneTaintOnAWorkloadControllerIsCaught() async throws {
        let world = try await Self.healthyWorld()
        // Pretend k0sctl installed control-plane-1 without noTaints.
        let path = world.directory + "/standin/k0s.json"
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\"noTaints\": true", with: "\"noTaints\": false")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let (_, checks) = try await Self.report(world)
        #expect(checks["taints"]?["status"] as? String == "failed")
        let evidence = (checks["taints"]?["evidence"] as? [String])?.first ?? ""
        #expect(evidence.contains("control-plane-1") && evidence.contains("noTaints missing"), "\(evidence)")
    }

    @Test func skippedChecksAreNeverOK() async throws {
        let world = try await Self.healthyWorld()
        let (result, checks) = try await Self.report(world, faults: "coredns-crashloop", arguments: ["--skip", "system-pods,k0s-status"])
        #expect(result.exitCode == 0)
        #expect(checks["system-pods"]?["status"] as? String == "skipped")
        #expect((checks["system-pods"]?["evidence"] as? [String]) == ["skipped (--skip)"])
        let bad = try await world.run(["health", "--skip", "nope"])
        #expect(bad.exitCode == 64)
    }

    @Test func waitRetriesUntilTheTimeIsUp() async throws {
        let world = try await Self.healthyWorld()
        let started = Date()
        // 12 s: under a full parallel test run one attempt (a dozen stand-in processes) can take 5 s.
        let result = try await world.run(["health", "--wait", "12s"], environment: ["K0SLUA_STANDIN_FAULTS": "node-notready:worker-1"])
        #expect(result.exitCode == 1)
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 2, "it retried (backoff 2 s, 4 s, …, until the deadline)")
        #expect(elapsed < 45)
        let calls = world.calls.filter { $0.tool == "kubectl" && $0.argv.contains("nodes") }
        #expect(calls.count >= 4, "nodes read again on each attempt")
    }

    @Test func theVIPAnswersAndSitsOnOneController() async throws {
        let source = try String(contentsOfFile: Repo.fixtures + "/render-vip/cluster.lua", encoding: .utf8)
        let world = try StandInWorld(cluster: source)
        let up = try await world.run(["up", "--state-dir", ".k0slua/k0slua"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        let kubeconfig = try String(contentsOfFile: world.layout.kubeconfig, encoding: .utf8)
        #expect(kubeconfig.contains("server: https://192.168.1.100:6443"), "the kubeconfig points at the VIP")
        let (_, checks) = try await Self.report(world, arguments: ["--state-dir", ".k0slua/k0slua"])
        #expect(checks["vip"]?["status"] as? String == "ok")
        #expect((checks["vip"]?["evidence"] as? [String])?.first == "192.168.1.100 answers the API and sits on control-plane-1")
        let (failed, broken) = try await Self.report(world, faults: "vip-missing", arguments: ["--state-dir", ".k0slua/k0slua"])
        #expect(failed.exitCode == 1)
        #expect(broken.filter { $0.value["status"] as? String == "failed" }.map(\.key) == ["vip"])
        #expect((broken["vip"]?["evidence"] as? [String])?.contains("the VIP sits on 0 controllers") == true)
    }

    // MARK: - Smoke test

    @Test func smokeManifestsAreWellFormed() throws {
        let text = SmokeTest.manifests(namespace: "k0slua-smoke-1", replicas: 3)
        let documents = try Array(Yams.load_all(yaml: text)).compactMap { $0 as? [String: Any] }
        #expect(documents.map { $0["kind"] as? String } == ["Namespace", "Deployment", "Service"])
        for document in documents {
            #expect(document["apiVersion"] as? String != nil)
            #expect(((document["metadata"] as? [String: Any])?["name"] as? String)?.isEmpty == false)
        }
        let deployment = documents[1]
        let spec = deployment["spec"] as! [String: Any]
        #expect(spec["replicas"] as? Int == 3)
        let template = (spec["template"] as! [String: Any])
        let labels = ((template["metadata"] as! [String: Any])["labels"] as! [String: String])
        #expect(labels == ((spec["selector"] as! [String: Any])["matchLabels"] as! [String: String]))
        let podSpec = template["spec"] as! [String: Any]
        let spread = (podSpec["topologySpreadConstraints"] as! [[String: Any]])[0]
        #expect(spread["topologyKey"] as? String == "kubernetes.io/hostname")
        #expect(spread["whenUnsatisfiable"] as? String == "DoNotSchedule")
        let service = documents[2]["spec"] as! [String: Any]
        #expect((service["selector"] as? [String: String]) == labels)
        #expect(documents.dropFirst().allSatisfy { ($0["metadata"] as! [String: Any])["namespace"] as? String == "k0slua-smoke-1" })
    }

    @Test func smokeCleansUpAfterAFailure() async throws {
        let cluster = try loadCluster(Repo.defaultClusterFile).cluster
        let directory = NSTemporaryDirectory() + "k0slua-smoke-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let layout = StateLayout(directory: directory)
        _ = FileManager.default.createFile(atPath: layout.kubeconfig, contents: Data("apiVersion: v1\n".utf8))
        let runner = ScriptedRunner([
            ScriptedRunner.when("kubectl", "apply", then: CommandResult(exitCode: 0, standardOutput: "namespace/x created\n")),
            ScriptedRunner.when("kubectl", "rollout", then: CommandResult(exitCode: 1, standardError: "error: timed out waiting for the condition\n")),
            ScriptedRunner.when("kubectl", "delete", "namespace", then: CommandResult(exitCode: 0)),
        ])
        let result = await HealthChecker(cluster: cluster, layout: layout, runner: runner).smoke()
        #expect(result.status == .failed)
        #expect(result.evidence.first?.contains("did not become ready") == true)
        let applied = try #require(runner.calls.first { $0.arguments.contains("apply") })
        let namespace = try #require(applied.standardInput?.split(separator: "\n").first { $0.hasPrefix("  name: k0slua-smoke-") })
            .replacingOccurrences(of: "  name: ", with: "")
        let last = try #require(runner.calls.last)
        #expect(last.arguments.suffix(4) == ["delete", "namespace", namespace, "--ignore-not-found"] || last.arguments.contains(namespace))
        #expect(last.arguments.contains("delete"))
    }
}
