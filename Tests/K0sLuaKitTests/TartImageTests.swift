import Foundation
@testable import K0sLuaKit
import Testing

/// The Tart image on the default macOS path (issue 18): pulled only when a clone needs it, never
/// offline, prepared by `k0slua cache fetch`. The Tart stand-in keeps a local store of VMs and OCI
/// images, so `tart list` reflects pulls, clones and deletes.
@Suite(.serialized) struct TartImageTests {
    let world: StandInWorld

    init() throws { world = try StandInWorld() }

    var pulls: [[String]] { world.calls.filter { $0.tool == "tart" && $0.argv.first == "pull" }.map(\.argv) }
    var vagrantUps: Int { world.calls.filter { $0.tool == "vagrant" && $0.argv.first == "up" }.count }

    /// The image cluster.lua's defaults clone on Tart.
    static let image = "ghcr.io/cirruslabs/ubuntu:24.04"

    /// Removes the image from the stand-in's Tart store, as `tart delete IMAGE` does.
    func deleteImage() async throws {
        let result = try await SubprocessRunner().run(Command("/usr/bin/env", ["-i"] + world.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                                                                + [Repo.root + "/Tests/StandIns/bin/tart", "delete", Self.image]))
        #expect(result.exitCode == 0, "\(result.standardError)")
    }

    @Test func item18_1_upPullsOnlyWhenANodeNeedsACloneAndTheStoreLacksTheImage() async throws {
        let first = try await world.run(["up", "--skip", "health"])
        #expect(first.exitCode == 0, "\(first.standardError)")
        #expect(pulls == [["pull", Self.image]], "a new cluster clones every node: one pull before the parallel clones")

        world.clearTranscript()
        let again = try await world.run(["up", "--skip", "health"])
        #expect(again.exitCode == 0, "\(again.standardError)")
        #expect(pulls.isEmpty, "a converging up clones nothing, so it pulls nothing")

        world.clearTranscript()
        let grown = try await world.run(["up", "--skip", "health"], environment: ["worker_count": "2"])
        #expect(grown.exitCode == 0, "\(grown.standardError)")
        #expect(pulls.isEmpty, "worker-2 is cloned from the image already in Tart's store")

        try await deleteImage()
        world.clearTranscript()
        let regrown = try await world.run(["up", "--skip", "health"], environment: ["worker_count": "3"])
        #expect(regrown.exitCode == 0, "\(regrown.standardError)")
        #expect(pulls == [["pull", Self.image]], "worker-3 needs a clone and the store lost the image")
        let pullIndex = world.calls.firstIndex { $0.tool == "tart" && $0.argv.first == "pull" } ?? .max
        let upIndex = world.calls.firstIndex { $0.tool == "vagrant" && $0.argv.first == "up" } ?? -1
        #expect(pullIndex < upIndex, "the pull comes before the clones")
    }

    @Test func item18_1_offlineUpWithoutTheImageFailsInPreflightNamingTheOnlineCommand() async throws {
        let fetch = try await world.run(["cache", "fetch"])
        #expect(fetch.exitCode == 0, "\(fetch.standardError)")
        #expect(fetch.standardOutput.contains("tart     \(Self.image): pulled into Tart's local store"), "\(fetch.standardOutput)")
        #expect(pulls == [["pull", Self.image]])

        // The k0s cache is warm, the image is gone: offline, nothing may change.
        try await deleteImage()
        world.clearTranscript()
        let offline = ["K0SLUA_STANDIN_OFFLINE": "1"]
        let cold = try await world.run(["up", "--offline", "--skip", "health"], environment: offline)
        #expect(cold.exitCode == 1)
        #expect(cold.standardError.contains("preflight"), "\(cold.standardError)")
        #expect(cold.standardError.contains("tart image: \(Self.image) is not in Tart's local store and control-plane-1, worker-1 must be cloned from it"),
                "\(cold.standardError)")
        #expect(cold.standardError.contains("run `k0slua cache fetch` while online (it runs `tart pull \(Self.image)`)"), "\(cold.standardError)")
        #expect(pulls.isEmpty && vagrantUps == 0, "offline never pulls, and no machine changed")
        #expect(!FileManager.default.fileExists(atPath: world.layout.record), "nothing recorded")

        // One online command prepares everything; then the offline up needs no registry.
        let refetch = try await world.run(["cache", "fetch"])
        #expect(refetch.exitCode == 0, "\(refetch.standardError)")
        world.clearTranscript()
        let warm = try await world.run(["up", "--offline", "--skip", "health"], environment: offline)
        #expect(warm.exitCode == 0, "\(warm.standardError)")
        #expect(pulls.isEmpty)

        world.clearTranscript()
        let fetchAgain = try await world.run(["cache", "fetch"], environment: offline)
        #expect(fetchAgain.standardOutput.contains("tart     \(Self.image): in Tart's local store"), "\(fetchAgain.standardOutput)")
        #expect(pulls.isEmpty, "an image already in the store is not pulled again")
    }

    @Test func item18_1_doctorOnAMacSaysWhetherTheImageIsPulled() async throws {
        let cluster = try MacNetworkChecksTests.cluster(.softnet)
        let image = try #require(cluster.image)
        let missing = try await MacNetworkChecksTests.macDoctor(cluster, scenario: [:], softnet: .suid)
        #expect(missing.all.contains("""
            warn     tart image        \(image) is not in Tart's local store: `up` pulls it (several GB) before cloning control-plane-1, worker-1
                                       → `k0slua cache fetch` pulls it ahead of time
            """), "\(missing.all)")
        let pulled = try await MacNetworkChecksTests.macDoctor(cluster, scenario: ["tart_images": [image]], softnet: .suid)
        #expect(pulled.all.contains("ok       tart image        \(image) is in Tart's local store\n"), "\(pulled.all)")
    }
}

/// The versions the rendered Tart flags need (issue 18.3): Tart ≥ 2.30.0 for
/// `--net-softnet-block`, a softnet whose `--help` knows `--block` (0.16.0), checked by preflight
/// and `doctor` before any VM starts.
@Suite struct TartVersionFloorTests {
    @Test func item18_3_tartBelowTheFloorIsMissingWithTheUpgradeLineAndAtTheFloorIsOk() async throws {
        let cluster = try MacNetworkChecksTests.cluster(.softnet)
        let old = try await MacNetworkChecksTests.macDoctor(cluster, scenario: ["tart_version": "2.29.0"], softnet: .suid)
        #expect(old.all.contains("""
            MISSING  tart              2.29.0 is older than 2.30.0, the first Tart with --net-softnet-block (the softnet network mode's run arguments need it; an older Tart fails `vagrant up` with "Unknown option")
                                       → brew upgrade cirruslabs/cli/tart
            """), "\(old.all)")
        #expect(old.failed)
        let floor = try await MacNetworkChecksTests.macDoctor(cluster, scenario: ["tart_version": "2.30.0"], softnet: .suid)
        #expect(floor.all.contains("ok       tart              2.30.0\n"), "\(floor.all)")
        // Shared and bridged modes pass no softnet flag: an older Tart will do.
        let shared = try await MacNetworkChecksTests.macDoctor(try MacNetworkChecksTests.cluster(.shared), scenario: ["tart_version": "2.29.0"])
        #expect(shared.all.contains("ok       tart              2.29.0\n"), "\(shared.all)")
    }

    @Test func item18_3_softnetWithoutBlockIsMissingWithTheUpgradeLineAndAtTheFloorIsOk() async throws {
        let cluster = try MacNetworkChecksTests.cluster(.softnet)
        let old = try await MacNetworkChecksTests.macDoctor(cluster, scenario: ["softnet_version": "0.15.2"], softnet: .suid)
        #expect(old.report.contains("""
            MISSING  softnet           <dir>/bin/softnet is older than 0.16.0: its --help has no --block, which Tart passes for --net-softnet-block (softnet has no --version)
                                       → brew upgrade cirruslabs/cli/softnet
            """), "\(old.report)")
        #expect(old.failed)
        let floor = try await MacNetworkChecksTests.macDoctor(cluster, scenario: ["softnet_version": "0.16.0"], softnet: .suid)
        #expect(floor.report.contains("ok       softnet           <dir>/bin/softnet is SUID root\n"), "\(floor.report)")
        #expect(!floor.failed, "\(floor.all)")
    }

    @Test func item18_3_upWithATartBelowTheFloorStopsInPreflightBeforeAnyMachine() async throws {
        let world = try StandInWorld()
        let result = try await world.run(["up"], environment: ["K0SLUA_STANDIN_TART_VERSION": "2.29.0"])
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains("tart: 2.29.0 is older than 2.30.0"), "\(result.standardError)")
        #expect(result.standardError.contains("brew upgrade cirruslabs/cli/tart"), "\(result.standardError)")
        #expect(!world.vagrantUpStarted)
        let atFloor = try await world.run(["up", "--skip", "health"], environment: ["K0SLUA_STANDIN_TART_VERSION": "2.30.0"])
        #expect(atFloor.exitCode == 0, "\(atFloor.standardError)")
    }
}

/// The image a Tart cluster clones is pinned (issue 18.2): a release tag by default, recorded in
/// state.json at the first `up`; nodes that join later clone the recorded image; `plan` shows an
/// image change as a change.
@Suite(.serialized) struct TartImagePinTests {
    let world: StandInWorld

    init() throws { world = try StandInWorld() }

    var pulls: [[String]] { world.calls.filter { $0.tool == "tart" && $0.argv.first == "pull" }.map(\.argv) }

    func vagrantfileImages() throws -> Set<String> {
        let text = try String(contentsOfFile: world.layout.vagrantfile, encoding: .utf8)
        return Set(text.split(separator: "\n").filter { $0.contains("tart.image = ") }.map { $0.trimmingCharacters(in: .whitespaces) })
    }

    /// Rewrites state.json's image as an older k0slua (or an older default) would have left it.
    func recordImage(_ image: String?) throws {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: world.layout.record))) as! [String: Any]
        object["image"] = image
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: world.layout.record))
    }

    @Test func item18_2_theDefaultIsAReleaseTagRecordedAtTheFirstUpAndLaterJoinsCloneTheRecordedImage() async throws {
        let first = try await world.run(["up", "--skip", "health"])
        #expect(first.exitCode == 0, "\(first.standardError)")
        #expect(try ClusterRecord.load(world.layout)?.image == "ghcr.io/cirruslabs/ubuntu:24.04")
        #expect(pulls == [["pull", "ghcr.io/cirruslabs/ubuntu:24.04"]])

        // The cluster was created from another image (a digest pinned by an earlier k0slua):
        // a node joining today clones that one, and plan shows nothing to change about it.
        let pinned = "ghcr.io/cirruslabs/ubuntu@sha256:" + String(repeating: "ab", count: 32)
        try recordImage(pinned)
        let plan = try await world.run(["plan"], environment: ["worker_count": "2"])
        #expect(!plan.standardOutput.contains("image"), "\(plan.standardOutput)")
        #expect(plan.standardOutput.contains("+ worker-2 (joins)"), "\(plan.standardOutput)")
        world.clearTranscript()
        let grown = try await world.run(["up", "--skip", "health"], environment: ["worker_count": "2"])
        #expect(grown.exitCode == 0, "\(grown.standardError)")
        #expect(pulls == [["pull", pinned]], "worker-2 is cloned from the recorded image")
        #expect(try vagrantfileImages() == ["tart.image = \"\(pinned)\""])
        #expect(try ClusterRecord.load(world.layout)?.image == pinned)

        // A record from before the image was recorded: those clusters cloned ubuntu:latest.
        try recordImage(nil)
        world.clearTranscript()
        let legacy = try await world.run(["up", "--skip", "health"], environment: ["worker_count": "3"])
        #expect(legacy.exitCode == 0, "\(legacy.standardError)")
        #expect(pulls == [["pull", ClusterRecord.legacyTartImage]])
        #expect(try ClusterRecord.load(world.layout)?.image == ClusterRecord.legacyTartImage)
    }

    @Test func item18_2_planShowsAnImageChangeAsAChangeAndUpClonesNewMachinesFromIt() async throws {
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        let source = try String(contentsOfFile: world.directory + "/cluster.lua", encoding: .utf8)
        let jammy = source.replacingOccurrences(of: "  provider = provider,\n", with: "  provider = provider,\n  image = \"ghcr.io/cirruslabs/ubuntu:22.04\",\n")
        #expect(jammy != source)
        try jammy.write(toFile: world.directory + "/cluster.lua", atomically: true, encoding: .utf8)

        let plan = try await world.run(["plan"], environment: ["worker_count": "2"])
        #expect(plan.standardOutput.contains("~ cluster image: ghcr.io/cirruslabs/ubuntu:24.04 → ghcr.io/cirruslabs/ubuntu:22.04 (machines cloned from now on; existing machines keep the image they were cloned from)\n"),
                "\(plan.standardOutput)")
        #expect(!plan.standardOutput.contains("refused"), "\(plan.standardOutput)")
        let json = try await world.run(["plan", "--json"], environment: ["worker_count": "2"])
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as! [String: Any]
        let fields = object["cluster_changes"] as! [[String: String]]
        #expect(fields.contains(["field": "image", "from": "ghcr.io/cirruslabs/ubuntu:24.04", "to": "ghcr.io/cirruslabs/ubuntu:22.04"]), "\(json.standardOutput)")

        world.clearTranscript()
        let grown = try await world.run(["up", "--skip", "health"], environment: ["worker_count": "2"])
        #expect(grown.exitCode == 0, "\(grown.standardError)")
        #expect(pulls == [["pull", "ghcr.io/cirruslabs/ubuntu:22.04"]])
        #expect(try ClusterRecord.load(world.layout)?.image == "ghcr.io/cirruslabs/ubuntu:22.04")
    }
}

/// macOS 26 may hand VMs another subnet than the one cluster.lua names (issue 18.8): the addresses
/// phase learns it from the first lease and stops with the exact network to set, before k0sctl.
@Suite struct VmnetSubnetTests {
    @Test func item18_8_aLeaseOutsideNetworkCidrStopsAddressesWithTheExactCidrBeforeK0sctl() async throws {
        let world = try StandInWorld()
        let result = try await world.run(["up"], environment: ["K0SLUA_STANDIN_VMNET_SUBNET": "192.168.70.0/24"])
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains("up failed in phase addresses"), "\(result.standardError)")
        #expect(result.standardError.contains("control-plane-1: DHCP gave it 192.168.70.2, outside the cluster network 192.168.64.0/24"), "\(result.standardError)")
        #expect(result.standardError.contains("set network = { cidr = \"192.168.70.0/24\", gateway = \"192.168.70.1\" } in cluster.lua"), "\(result.standardError)")
        #expect(!world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" }, "k0sctl never ran")
    }
}

/// The Local Network diagnosis fires when no node answers at all (issue 18.5), and doctor names a
/// VPN that captures the shared subnet.
@Suite(.serialized) struct LocalNetworkNoNodeTests {
    static let mac = HostFacts(cpus: 8, memoryMiB: 16384, os: "macos", arch: "arm64")

    @Test func item18_5_vagrantUpTimingOutOnSSHWhileTartHasAddressesIsTheLocalNetworkPermission() async throws {
        let world = try StandInWorld()
        #expect(try await world.run(["render"]).exitCode == 0)
        let loaded = try loadCluster(world.directory + "/cluster.lua")
        var environment = world.environment
        environment["K0SLUA_STANDIN_FAIL"] = "vagrant:boot-timeout"
        for (os, version, fires) in [("macos", "15.5", true), ("macos", "14.7", false), ("linux", "15.5", false)] {
            let scenario = world.directory + "/mac-\(os)-\(version).json"
            try Data("{\"product_version\": \"\(version)\"}".utf8).write(to: URL(fileURLWithPath: scenario))
            var env = environment
            env["K0SLUA_STANDIN_MACOS"] = scenario
            let bootstrap = Bootstrap(loaded: loaded, layout: world.layout, runner: MacNetworkChecksTests.StandInRunner(environment: env),
                                      options: BootstrapOptions(hostFacts: HostFacts(cpus: 8, memoryMiB: 16384, os: os, arch: "arm64")),
                                      progress: QuietProgress())
            do {
                _ = try await bootstrap.startMachines()
                Issue.record("vagrant up should time out")
            } catch let failure as BootstrapFailure {
                #expect(failure.phase == .machines)
                let hint = failure.hint ?? ""
                #expect(hint.hasPrefix("Local Network permission: `vagrant up` waited for SSH until its boot timeout: control-plane-1 (192.168.64.2), worker-1 (192.168.64.3) have addresses but this Mac reaches none of them") == fires,
                        "\(os) \(version): \(hint)")
                if fires { #expect(hint.contains("System Settings → Privacy & Security → Local Network")) }
            }
        }
        let tartIPs = world.calls.filter { $0.tool == "tart" && $0.argv.first == "ip" }
        #expect(tartIPs.count == 4, "tart ip asked for both machines on each macOS, never on Linux: \(tartIPs)")
    }

    @Test func item18_5_connectivityWhereNoNodeAnswersTheMacIsTheLocalNetworkPermission() async throws {
        let bootstrap = try LocalNetworkConnectivityTests.bootstrap(os: "macos", macOS: "15.5")
        let nodes = bootstrap.loaded.cluster.nodes
        let diagnosis = await bootstrap.localNetworkDiagnosis(nodes, reachedBy: [:])
        #expect(diagnosis?.name == "Local Network permission")
        #expect(diagnosis?.detail.hasPrefix("k0slua's SSH reached no node: c (192.168.64.10), w (192.168.64.20) have addresses but this Mac reaches none of them") == true,
                "\(diagnosis?.detail ?? "nil")")
        #expect(diagnosis?.fix.contains("System Settings → Privacy & Security → Local Network") == true)
        // Before macOS 15 there is no such permission; one node that answers is not "no node".
        #expect(await (try LocalNetworkConnectivityTests.bootstrap(os: "macos", macOS: "14.6")).localNetworkDiagnosis(nodes, reachedBy: [:]) == nil)
        #expect(await bootstrap.localNetworkDiagnosis([nodes[1]], reachedBy: [:]) == nil)
    }

    @Test func item18_5_doctorWarnsAboutAVPNThatCapturesTheSharedSubnet() async throws {
        let cluster = try MacNetworkChecksTests.cluster(.softnet)
        let vpn = try await MacNetworkChecksTests.macDoctor(cluster, scenario: ["routes": ["192.168.64.1": "utun4"]], softnet: .suid)
        #expect(vpn.report.contains("""
            warn     VPN route         traffic to 192.168.64.0/24 leaves through utun4, a VPN interface: a VPN client captures the VMs' subnet, so this Mac may reach no node
                                       → let the VPN leave 192.168.64.0/24 alone (split tunnelling, or its "allow local network access" setting), or disconnect it while the cluster runs
            """), "\(vpn.report)")
        #expect(vpn.calls.contains("route -n get 192.168.64.1"))
        #expect(!vpn.failed, "a warning: the VPN may exclude the subnet")
    }
}
