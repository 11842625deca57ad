import Foundation
@testable import K0sLuaKit
import Testing

/// The macOS host checks of preflight and `k0slua doctor` (issue 9), each passing and failing with
/// its exact message; host facts come from a ScriptedRunner or from the stand-ins in Tests/StandIns/bin.
@Suite struct MacNetworkChecksTests {
    static let mac = HostFacts(cpus: 8, memoryMiB: 16384, os: "macos", arch: "arm64")
    static let vmnet = MacNetworkChecks.vmnetPreferences

    /// A scratch state directory, removed by the caller.
    static func scratch() throws -> String {
        let directory = NSTemporaryDirectory() + "k0slua-mac-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    static func cluster(_ mode: TartNetworkMode, bridge: String? = nil, cidr: String = "192.168.64.0/24", gateway: String = "192.168.64.1") throws -> Cluster {
        var cluster = try loadCluster(Repo.defaultClusterFile).cluster
        cluster.network.tartMode = mode
        cluster.network.bridgeInterface = bridge
        cluster.network.cidr = IPv4CIDR(cidr)!
        cluster.network.gateway = IPv4Address(gateway)!
        return cluster
    }

    /// The cluster with static addresses, in node order (the default Tart cluster takes DHCP addresses).
    static func fixed(_ cluster: Cluster, _ addresses: String...) -> Cluster {
        var cluster = cluster
        for (index, address) in addresses.enumerated() {
            cluster.nodes[index].ip = IPv4Address(address)
            cluster.nodes[index].addressing = .fixed
        }
        return cluster
    }

    static func checks(_ cluster: Cluster, _ runner: ScriptedRunner, state: String = "/nonexistent", path: String = "/nonexistent",
                       leases: String = "/nonexistent/dhcpd_leases") -> MacNetworkChecks {
        MacNetworkChecks(cluster: cluster, layout: StateLayout(directory: state), runner: runner, searchPath: path, leasesFile: leases)
    }

    static let noBridge = ScriptedRunner.when("ifconfig", "bridge100", then: CommandResult(exitCode: 1, standardError: "ifconfig: interface bridge100 does not exist\n"))
    static let unset = CommandResult(exitCode: 1, standardError: "The domain/default pair of (x, y) does not exist\n")

    // MARK: (a) shared subnet

    @Test func sharedSubnetDefaultsToVmnetsWhenUnsetAndMatches() async throws {
        let runner = ScriptedRunner([Self.noBridge, ScriptedRunner.when("defaults", "read", then: Self.unset)])
        let check = Self.checks(try Self.cluster(.shared), runner).sharedSubnetCheck(await Self.checks(try Self.cluster(.shared), runner).sharedSubnet(), macOSMajor: 15)
        #expect(check == PreflightCheck(name: "shared subnet", ok: true,
                                        detail: "192.168.64.0/24 (gateway 192.168.64.1, from vmnet default) matches network.cidr"))
        #expect(runner.calls.map(\.description).contains("defaults read \(Self.vmnet) Shared_Net_Address"))
        #expect(runner.calls.map(\.description).contains("defaults read \(Self.vmnet) Shared_Net_Mask"))
    }

    @Test func sharedSubnetFromThePreferencesThatDiffersIsAnErrorNamingBoth() async throws {
        let runner = ScriptedRunner([
            Self.noBridge,
            ScriptedRunner.when("defaults", "read", "Shared_Net_Address", then: CommandResult(exitCode: 0, standardOutput: "192.168.77.1\n")),
            ScriptedRunner.when("defaults", "read", "Shared_Net_Mask", then: CommandResult(exitCode: 0, standardOutput: "255.255.0.0\n")),
        ])
        let checks = Self.checks(try Self.cluster(.shared), runner)
        let subnet = await checks.sharedSubnet()
        #expect(subnet == .init(cidr: IPv4CIDR("192.168.0.0/16")!, gateway: IPv4Address("192.168.77.1")!, source: "com.apple.vmnet.plist"))
        let check = checks.sharedSubnetCheck(subnet, macOSMajor: 15)
        #expect(!check.ok && !check.warningOnly)
        #expect(check.detail == "Tart's shared network is 192.168.0.0/16 (gateway 192.168.77.1, from com.apple.vmnet.plist), but network.cidr is 192.168.64.0/24")
        #expect(check.fix == "set network = { cidr = \"192.168.0.0/16\", gateway = \"192.168.77.1\" } in cluster.lua, or "
            + "`sudo defaults write \(Self.vmnet) Shared_Net_Address -string 192.168.64.1`")
        #expect(checks.sharedSubnetCheck(subnet, macOSMajor: 26).fix?.hasSuffix("; macOS 26 may ignore com.apple.vmnet.plist (Tart issue 1225), so set network.cidr to the subnet the VMs get") == true)
    }

    @Test func theLiveBridgeWinsOverThePreferences() async throws {
        let runner = ScriptedRunner([
            ScriptedRunner.when("ifconfig", "bridge100", then: CommandResult(exitCode: 0, standardOutput:
                "bridge100: flags=8a63<UP,BROADCAST,SMART,RUNNING,ALLMULTI,SIMPLEX,MULTICAST> mtu 1500\n\tinet 192.168.2.1 netmask 0xffffff00 broadcast 192.168.2.255\n")),
            ScriptedRunner.when("defaults", "read", then: Self.unset),
        ])
        let checks = Self.checks(try Self.cluster(.softnet), runner)
        let subnet = await checks.sharedSubnet()
        #expect(subnet.source == "bridge100" && subnet.cidr.description == "192.168.2.0/24")
        #expect(checks.sharedSubnetCheck(subnet, macOSMajor: 26).detail
            == "Tart's shared network is 192.168.2.0/24 (gateway 192.168.2.1, from bridge100), but network.cidr is 192.168.64.0/24")
        #expect(!runner.calls.contains { $0.executable == "defaults" })
    }

    // MARK: (b) softnet

    @Test func softnetMissingFromPathIsAnError() async throws {
        let check = await Self.checks(try Self.cluster(.softnet), ScriptedRunner([]), path: "/nonexistent:/also-not").softnetCheck()
        #expect(check == PreflightCheck(name: "softnet", ok: false, detail: "softnet is not on PATH (Tart looks for it there)",
                                        fix: "brew install cirruslabs/cli/softnet"))
    }

    @Test func softnetSUIDRootPassesElseSudoElseTheOneCommand() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(FileManager.default.createFile(atPath: directory + "/softnet", contents: Data()))
        let softnet = directory + "/softnet"
        let suid = ScriptedRunner([ScriptedRunner.when("stat", "-L", "-f", "%Su %Sp", softnet, then: CommandResult(exitCode: 0, standardOutput: "root -rwsr-xr-x\n"))])
        #expect(await Self.checks(try Self.cluster(.softnet), suid, path: "/nonexistent:" + directory).softnetCheck()
            == PreflightCheck(name: "softnet", ok: true, detail: "\(softnet) is SUID root"))

        let plain = CommandResult(exitCode: 0, standardOutput: "admin -rwxr-xr-x\n")
        let sudo = ScriptedRunner([ScriptedRunner.when("stat", then: plain),
                                   ScriptedRunner.when("sudo", "--non-interactive", "softnet", "--help", then: CommandResult(exitCode: 0))])
        #expect(await Self.checks(try Self.cluster(.softnet), sudo, path: directory).softnetCheck()
            == PreflightCheck(name: "softnet", ok: true, detail: "\(softnet) runs through passwordless sudo"))

        let neither = ScriptedRunner([ScriptedRunner.when("stat", then: plain),
                                      ScriptedRunner.when("sudo", then: CommandResult(exitCode: 1, standardError: "sudo: a password is required\n"))])
        let failed = await Self.checks(try Self.cluster(.softnet), neither, path: directory).softnetCheck()
        #expect(failed == PreflightCheck(name: "softnet", ok: false,
                                         detail: "\(softnet) is not SUID root (owner admin, mode -rwxr-xr-x) and sudo asks for a password; vagrant-tart starts Tart without a terminal, so Tart cannot ask",
                                         fix: "sudo sh -c 'chown root -- '\\''\(softnet)'\\'' && chmod u+s -- '\\''\(softnet)'\\'''"))
    }

    // MARK: (c) bridged interface

    static func ifconfig(_ flags: String, inet: String?, status: String = "active") -> CommandResult {
        CommandResult(exitCode: 0, standardOutput: "en0: flags=8863<\(flags)> mtu 1500\n\tether 3c:22:fb:00:00:01\n"
            + (inet.map { "\tinet \($0) netmask 0xffffff00 broadcast 192.168.1.255\n" } ?? "") + "\tstatus: \(status)\n")
    }

    @Test func bridgedInterfaceMustExistBeUpAndHoldAnAddressInTheCidr() async throws {
        let lan = try Self.cluster(.bridged, bridge: "en0", cidr: "192.168.1.0/24", gateway: "192.168.1.1")
        let up = "UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST"
        #expect(await Self.checks(lan, ScriptedRunner([ScriptedRunner.when("ifconfig", "en0", then: Self.ifconfig(up, inet: "192.168.1.23"))])).bridgedInterfaceCheck()
            == PreflightCheck(name: "bridged interface", ok: true, detail: "en0 is up with 192.168.1.23/24, inside 192.168.1.0/24"))

        let missing = ScriptedRunner([ScriptedRunner.when("ifconfig", then: CommandResult(exitCode: 1, standardError: "ifconfig: interface en0 does not exist\n"))])
        #expect(await Self.checks(lan, missing).bridgedInterfaceCheck()
            == PreflightCheck(name: "bridged interface", ok: false, detail: "en0 does not exist on this Mac",
                              fix: "pick one of `tart run --net-bridged=list` for network.bridge_interface"))

        let down = ScriptedRunner([ScriptedRunner.when("ifconfig", "en0", then: Self.ifconfig("BROADCAST,SMART,SIMPLEX,MULTICAST", inet: nil, status: "inactive"))])
        #expect(await Self.checks(lan, down).bridgedInterfaceCheck()
            == PreflightCheck(name: "bridged interface", ok: false, detail: "en0 is down (flags BROADCAST,SMART,SIMPLEX,MULTICAST)",
                              fix: "connect en0 to the LAN, or bridge another interface"))

        let vmnetCidr = try Self.cluster(.bridged, bridge: "en0")
        let elsewhere = ScriptedRunner([ScriptedRunner.when("ifconfig", "en0", then: Self.ifconfig(up, inet: "192.168.1.23"))])
        #expect(await Self.checks(vmnetCidr, elsewhere).bridgedInterfaceCheck()
            == PreflightCheck(name: "bridged interface", ok: false, detail: "en0 holds 192.168.1.23/24, none inside network.cidr 192.168.64.0/24",
                              fix: "set network.cidr and network.gateway to en0's LAN, or bridge the interface on 192.168.64.0/24"))
    }

    @Test func aBridgeNameThatCouldActAsAnOptionIsNeverPassedToIfconfig() async throws {
        let runner = ScriptedRunner([])
        let check = await Self.checks(try Self.cluster(.bridged, bridge: "-a"), runner).bridgedInterfaceCheck()
        #expect(check == PreflightCheck(name: "bridged interface", ok: false, detail: "\"-a\" is not a BSD interface name",
                                        fix: "use the BSD name (e.g. en0) that `tart run --net-bridged=list` shows for it"))
        #expect(runner.calls.isEmpty)
    }

    // MARK: (d) bootpd pool and leases

    @Test func staticIPsInThePoolOrLeasedAreWarningsNamingTheLease() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let leases = directory + "/dhcpd_leases"
        let text = "{\n\tname=ubuntu\n\tip_address=192.168.64.20\n\thw_address=1,aa:bb:cc:dd:ee:ff\n\tidentifier=1,aa:bb:cc:dd:ee:ff\n\tlease=0x6a000000\n}\n"
            + "{\n\tname=other\n\tip_address=192.168.64.3\n\thw_address=1,aa:bb:cc:dd:ee:0\n\tlease=0x6a000000\n}\n"
        #expect(FileManager.default.createFile(atPath: leases, contents: Data(text.utf8)))
        #expect(MacNetworkChecks.parseLeases(text).map(\.ip.description) == ["192.168.64.20", "192.168.64.3"])
        let cluster = Self.fixed(try Self.cluster(.bridged, bridge: "en0"), "192.168.64.10", "192.168.64.20")
        let check = try #require(Self.checks(cluster, ScriptedRunner([]), leases: leases).leaseCheck(pool: IPv4CIDR("192.168.64.0/24")!))
        #expect(!check.ok && check.warningOnly)
        #expect(check.detail == "control-plane-1 192.168.64.10 is inside bootpd's pool 192.168.64.0/24; "
            + "worker-1 192.168.64.20 is leased in \(leases) to ubuntu (1,aa:bb:cc:dd:ee:ff until 2026-05-10T03:48:16Z)")
        #expect(check.fix == "let the nodes take DHCP addresses (ip = \"dhcp\"), or stop the VMs holding those leases and `sudo rm \(leases)`")

        // A pool elsewhere (the Mac's vmnet moved) and no lease: nothing to warn about.
        let clear = try #require(Self.checks(cluster, ScriptedRunner([]), leases: directory + "/none").leaseCheck(pool: IPv4CIDR("192.168.2.0/24")!))
        // DHCP nodes: nothing to check.
        #expect(Self.checks(try Self.cluster(.softnet), ScriptedRunner([]), leases: leases).leaseCheck(pool: IPv4CIDR("192.168.64.0/24")!) == nil)
        #expect(clear == PreflightCheck(name: "DHCP leases", ok: true, detail: "no static IP is in bootpd's pool or leased"))
    }

    // MARK: (e) k0sctl

    @Test func k0sctlBeforeRigV2IsAPreflightError() async throws {
        #expect(MacNetworkChecks.k0sctlHostKeyProblem(version: "v0.32.0") == nil)
        #expect(MacNetworkChecks.k0sctlHostKeyProblem(version: "v0.33.1") == nil)
        #expect(MacNetworkChecks.k0sctlHostKeyProblem(version: "v1.0.0") == nil)
        #expect(MacNetworkChecks.k0sctlHostKeyProblem(version: "v0.31.1")
            == "k0sctl v0.31.1 is older than v0.32.0: its SSH client (rig v0.x) negotiates an ECDSA host key and fails against the ed25519-only known_hosts k0slua writes")
        let cluster = try Self.cluster(.shared)
        // An old k0sctl first on the search path.
        let bin = NSTemporaryDirectory() + "k0slua-oldk0sctl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: bin) }
        #expect(FileManager.default.createFile(atPath: bin + "/k0sctl", contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755]))
        let runner = ScriptedRunner([ScriptedRunner.when(bin + "/k0sctl", "version", then: CommandResult(exitCode: 0, standardOutput: "version: v0.31.1\ncommit: 1b2c3d4\n"))])
        var preflight = Preflight(cluster: cluster, layout: StateLayout(directory: "/nonexistent"), runner: runner,
                                  hostFacts: HostFacts(cpus: 8, memoryMiB: 16384, os: "linux", arch: "x86_64"))
        preflight.searchPath = bin + ":/usr/bin:/bin"
        let checks = await preflight.run()
        let k0sctl = try #require(checks.first { $0.name == "k0sctl" })
        // Not ok, and it says why; `up` then uses the pinned k0sctl from the host cache, so it stops
        // only when it may not download (--offline).
        #expect(!k0sctl.ok && k0sctl.warningOnly)
        #expect(k0sctl.detail.contains("negotiates an ECDSA host key and fails against the ed25519-only known_hosts k0slua writes"), "\(k0sctl.detail)")
        var offlinePreflight = Preflight(cluster: cluster, layout: StateLayout(directory: "/nonexistent"), runner: runner,
                                         hostFacts: HostFacts(cpus: 8, memoryMiB: 16384, os: "linux", arch: "x86_64"), offline: true)
        offlinePreflight.searchPath = preflight.searchPath
        let offline = await offlinePreflight.run()
        #expect(offline.first { $0.name == "k0sctl" }.map { !$0.ok && !$0.warningOnly } == true)
    }

    // MARK: (f) leftover Tart VMs

    static func tartList(_ names: String...) -> ScriptedRunner {
        let json = "[" + names.map { "{\"Source\":\"local\",\"Name\":\"\($0)\",\"Disk\":20,\"Size\":5,\"Accessed\":\"now\",\"Running\":false,\"State\":\"stopped\"}" }
            .joined(separator: ",") + "]"
        return ScriptedRunner([ScriptedRunner.when("tart", "list", "--format", "json", then: CommandResult(exitCode: 0, standardOutput: json))])
    }

    @Test func aLeftoverTartVMWithANodesNameIsAnErrorUnlessThisStateOwnsIt() async throws {
        let state = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let cluster = try Self.cluster(.softnet)
        // Tart names carry the cluster's identity (name + hash of the state directory).
        let vm = VagrantfileRenderer.tartName(cluster: cluster, node: try #require(cluster.node(named: "worker-1")), layout: StateLayout(directory: state))
        #expect(vm.hasPrefix("k0slua-") && vm.hasSuffix("-worker-1"))
        let runner = Self.tartList(vm, "k0slua-worker-1", "other-vm")
        let leftover = await Self.checks(cluster, runner, state: state).leftoverVMCheck()
        #expect(leftover == PreflightCheck(name: "leftover Tart VMs", ok: false,
                                           detail: "Tart VM(s) \(vm) exist but this cluster's state (\(state)/.vagrant) does not own them; vagrant-tart would skip the clone and `vagrant up` would time out",
                                           fix: "tart stop \(vm); tart delete \(vm)"))
        #expect(runner.calls.map(\.description) == ["tart list --format json"])

        try FileManager.default.createDirectory(atPath: state + "/.vagrant/machines/worker-1/tart", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: state + "/.vagrant/machines/worker-1/tart/id", contents: Data(vm.utf8)))
        #expect(await Self.checks(cluster, Self.tartList(vm), state: state).leftoverVMCheck()
            == PreflightCheck(name: "leftover Tart VMs", ok: true, detail: "no Tart VM with a node's name outside this cluster's state"))
    }

    // MARK: (g) Local Network permission

    @Test func theLocalNetworkPermissionIsRecognisedOnlyWhenTheFactsFit() {
        let diagnosis = MacNetworkChecks.localNetworkDiagnosis(node: "worker-1", address: "192.168.64.5", hostReachesNode: false,
                                                               neighboursReachingNode: ["control-plane-1"], hostOS: "macos", macOSVersion: "15.5")
        #expect(diagnosis == ConnectivityDiagnosis(
            name: "Local Network permission",
            detail: "this Mac cannot reach worker-1 (192.168.64.5) but control-plane-1 can: macOS 15 and later block connections from host programs to the local network until they are allowed",
            fix: MacNetworkChecks.localNetworkFix))
        #expect(MacNetworkChecks.localNetworkFix.contains("AllowedEthernetLocalNetworkAddresses -array 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16"))
        #expect(MacNetworkChecks.localNetworkFix.contains("AllowedWiFiLocalNetworkAddresses"))
        for (reaches, neighbours, os, version) in [(true, ["control-plane-1"], "macos", "15.5"), (false, [], "macos", "15.5"),
                                                   (false, ["control-plane-1"], "linux", "15.5"), (false, ["control-plane-1"], "macos", "14.7")] {
            #expect(MacNetworkChecks.localNetworkDiagnosis(node: "worker-1", address: "192.168.64.5", hostReachesNode: reaches,
                                                           neighboursReachingNode: neighbours, hostOS: os, macOSVersion: version) == nil)
        }
    }

    // MARK: softnet arguments

    @Test func softnetArgumentsAlwaysHoldTheZeroPrefixAndKeepTheClusterSubnetReachable() {
        // Without 0.0.0.0/0 in the allow list softnet leaves vmnet's isolation on (softnet lib/proxy/mod.rs).
        #expect(VagrantfileRenderer.softnetRunArguments(cidr: IPv4CIDR("192.168.64.0/24")!)
            == ["--net-softnet", "--net-softnet-allow=0.0.0.0/0,192.168.64.0/24", "--net-softnet-block=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"])
        // A cluster subnet equal to (or covering) a private range: that range is not blocked, else block would win.
        #expect(VagrantfileRenderer.softnetRunArguments(cidr: IPv4CIDR("192.168.0.0/16")!)
            == ["--net-softnet", "--net-softnet-allow=0.0.0.0/0,192.168.0.0/16", "--net-softnet-block=10.0.0.0/8,172.16.0.0/12"])
        #expect(VagrantfileRenderer.softnetRunArguments(cidr: IPv4CIDR("10.0.0.0/8")!).last == "--net-softnet-block=172.16.0.0/12,192.168.0.0/16")
    }

    // MARK: doctor

    /// Runs every macOS command through the stand-ins in Tests/StandIns/bin, as real processes.
    struct StandInRunner: ProcessRunning {
        let environment: [String: String]
        func run(_ command: Command, onLine: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
            var command = command
            let standIn = Repo.root + "/Tests/StandIns/bin/" + command.executable
            if FileManager.default.isExecutableFile(atPath: standIn) { command.executable = standIn }
            command.environment.merge(environment) { $1 }
            return try await SubprocessRunner().run(command, onLine: onLine)
        }
    }

    @Test func doctorOnAForcedMacShowsEveryMacCheckAgainstTheStandIns() async throws {
        let doctor = try await Self.macDoctor(try Self.cluster(.softnet), scenario: [
            "product_version": "26.1",
            "defaults": [Self.vmnet: ["Shared_Net_Address": "192.168.77.1"]],
            "tart_vms": [["Name": "<id>-control-plane-1", "State": "stopped"]],
        ], softnet: .plain)
        #expect(doctor.report == """
            ok       macOS version     macOS 26.1
            MISSING  shared subnet     Tart's shared network is 192.168.77.0/24 (gateway 192.168.77.1, from com.apple.vmnet.plist), but network.cidr is 192.168.64.0/24
                                       → set network = { cidr = "192.168.77.0/24", gateway = "192.168.77.1" } in cluster.lua, or `sudo defaults write \(Self.vmnet) Shared_Net_Address -string 192.168.64.1`; macOS 26 may ignore com.apple.vmnet.plist (Tart issue 1225), so set network.cidr to the subnet the VMs get
            ok       VPN route         traffic to 192.168.77.0/24 leaves through en0, not a VPN
            MISSING  softnet           <dir>/bin/softnet is not SUID root (owner admin, mode -rwxr-xr-x) and sudo asks for a password; vagrant-tart starts Tart without a terminal, so Tart cannot ask
                                       → sudo sh -c 'chown root -- '\\''<dir>/bin/softnet'\\'' && chmod u+s -- '\\''<dir>/bin/softnet'\\'''
            MISSING  leftover Tart VMs Tart VM(s) <id>-control-plane-1 exist but this cluster's state (<dir>/state/.vagrant) does not own them; vagrant-tart would skip the clone and `vagrant up` would time out
                                       → tart stop <id>-control-plane-1; tart delete <id>-control-plane-1
            """)
        #expect(doctor.failed)
        #expect(doctor.calls == [
            "tart --version",
            "tart list --format json",
            "sw_vers -productVersion",
            "ifconfig bridge100",
            "defaults read \(Self.vmnet) Shared_Net_Address",
            "defaults read \(Self.vmnet) Shared_Net_Mask",
            "route -n get 192.168.77.1",
            "softnet --help",
            "stat -L -f %Su %Sp <dir>/bin/softnet",
            "sudo --non-interactive softnet --help",
            "tart list --format json",
        ])
    }

    /// The macOS lines of a forced-macOS doctor run against the stand-ins, and the macOS commands they ran.
    enum Softnet { case none, plain, suid }

    /// `recorded`: the cluster `up` applied, saved as the state's record first.
    static func macDoctor(_ cluster: Cluster, scenario: [String: Any], softnet: Softnet = .none,
                          recorded: Cluster? = nil) async throws -> (report: String, calls: [String], failed: Bool, all: String) {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        if let recorded {
            let layout = StateLayout(directory: directory + "/state")
            try FileManager.default.createDirectory(atPath: layout.directory, withIntermediateDirectories: true)
            try ClusterRecord(recorded, id: layout.clusterID(name: recorded.name), previous: nil).save(layout)
        }
        let bin = directory + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        var scenario = scenario
        if softnet != .none {
            // The softnet stand-in answers --help as the scenario's softnet_version does.
            try FileManager.default.createSymbolicLink(atPath: bin + "/softnet", withDestinationPath: Repo.root + "/Tests/StandIns/bin/softnet")
            scenario["files"] = [bin + "/softnet": softnet == .suid ? ["owner": "root", "mode": "-rwsr-xr-x"] : ["owner": "admin", "mode": "-rwxr-xr-x"]]
        }
        // Tart names carry the cluster's identity, which depends on the state directory: "<id>" stands for it.
        let id = StateLayout(directory: directory + "/state").clusterID(name: cluster.name)
        let json = String(decoding: try JSONSerialization.data(withJSONObject: scenario), as: UTF8.self).replacingOccurrences(of: "<id>", with: id)
        try Data(json.utf8).write(to: URL(fileURLWithPath: directory + "/mac.json"))
        let transcript = directory + "/transcript.jsonl"
        let runner = StandInRunner(environment: ["K0SLUA_STANDIN_MACOS": directory + "/mac.json", "K0SLUA_STANDIN_LOG": transcript,
                                                 "K0SLUA_STANDIN_STATE": directory + "/standin", "PYTHONDONTWRITEBYTECODE": "1"])
        var preflight = Preflight(cluster: cluster, layout: StateLayout(directory: directory + "/state"), runner: runner, hostFacts: mac)
        preflight.searchPath = bin
        preflight.leasesFile = directory + "/dhcpd_leases"
        let checks = await preflight.run()
        let report = DoctorReport.text(checks, hostOS: "macos").replacingOccurrences(of: directory, with: "<dir>").replacingOccurrences(of: id, with: "<id>")
        let calls = try String(contentsOfFile: transcript, encoding: .utf8).split(separator: "\n").compactMap { line -> String? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["end"] == nil,
                  let tool = object["tool"] as? String, ["sw_vers", "defaults", "ifconfig", "stat", "sudo", "tart", "softnet", "route", "cat"].contains(tool) else { return nil }
            return ([tool] + (object["argv"] as! [String])).joined(separator: " ").replacingOccurrences(of: directory, with: "<dir>")
        }
        let macPart = report.split(separator: "\n").drop { !$0.hasPrefix("ok       macOS version") }.joined(separator: "\n")
        return (macPart, calls, DoctorReport.failed(checks), report)
    }

    @Test func doctorOnAForcedMacPassesWithARightlySetUpMac() async throws {
        let lan = Self.fixed(try Self.cluster(.bridged, bridge: "en0", cidr: "192.168.1.0/24", gateway: "192.168.1.1"), "192.168.1.210", "192.168.1.220")
        let bridged = try await Self.macDoctor(lan, scenario: [
            "product_version": "14.7.1",
            "interfaces": ["en0": ["inet": "192.168.1.23", "netmask": "0xffffff00", "broadcast": "192.168.1.255"]],
        ])
        #expect(bridged.report == """
            ok       macOS version     macOS 14.7.1
            ok       bridged interface en0 is up with 192.168.1.23/24, inside 192.168.1.0/24
            ok       DHCP leases       no static IP is in bootpd's pool or leased
            ok       leftover Tart VMs no Tart VM with a node's name outside this cluster's state
            """)
        #expect(bridged.calls == ["tart --version", "tart list --format json", "sw_vers -productVersion", "ifconfig en0", "ifconfig bridge100",
                                  "defaults read \(Self.vmnet) Shared_Net_Address", "defaults read \(Self.vmnet) Shared_Net_Mask",
                                  "tart list --format json"])

        let softnet = try await Self.macDoctor(try Self.cluster(.softnet), scenario: [
            "product_version": "15.5",
            "interfaces": ["bridge100": ["inet": "192.168.64.1", "netmask": "0xffffff00", "broadcast": "192.168.64.255"]],
            "tart_vms": [["Name": "someone-else", "State": "running"]],
        ], softnet: .suid)
        #expect(softnet.report == """
            ok       macOS version     macOS 15.5
            ok       shared subnet     192.168.64.0/24 (gateway 192.168.64.1, from bridge100) matches network.cidr
            ok       VPN route         traffic to 192.168.64.0/24 leaves through bridge100, not a VPN
            ok       softnet           <dir>/bin/softnet is SUID root
            ok       leftover Tart VMs no Tart VM with a node's name outside this cluster's state
            """)
        #expect(softnet.calls == ["tart --version", "tart list --format json", "sw_vers -productVersion", "ifconfig bridge100", "route -n get 192.168.64.1", "softnet --help", "stat -L -f %Su %Sp <dir>/bin/softnet", "tart list --format json"])
    }

    @Test func doctorOnLinuxListsTheChecksThatRunOnlyOnMacOS() async throws {
        let world = try StandInWorld()
        let result = try await world.run(["doctor"])
        #expect(result.standardOutput.hasSuffix("""

            macOS only (Tart), not checked on linux:
              tart image        tart list: the cluster's image is in Tart's local store (checked everywhere with `up --offline`)
              macOS version     sw_vers: which macOS the claims below are checked for
              shared subnet     vmnet's shared subnet (com.apple.vmnet.plist, bridge100) against network.cidr
              VPN route         route -n get: traffic to the shared subnet leaves through vmnet's bridge, not a VPN's utun interface
              softnet           softnet on PATH and SUID root (or passwordless sudo), softnet mode
              bridged interface the bridged interface exists, is up and holds an address in network.cidr, bridged mode
              DHCP leases       static IPs inside macOS bootpd's pool or leased in /var/db/dhcpd_leases
              DHCP reservations /etc/bootptab: each recorded DHCP node's address is reserved, so a stop/start keeps it
              leftover Tart VMs tart list: a node's Tart VM that this cluster's state does not own

            """))
        #expect(!world.calls.contains { ["sw_vers", "defaults", "ifconfig", "stat", "sudo"].contains($0.tool) })
        #expect(!world.calls.contains { $0.tool == "tart" && $0.argv.first == "list" })
    }
}

/// The connectivity phase names the Local Network permission when the host cannot reach a node
/// that its neighbours reach (macOS 15+), and stays quiet elsewhere.
@Suite struct LocalNetworkConnectivityTests {
    static func bootstrap(os: String, macOS: String) throws -> Bootstrap {
        let loaded = try loadSource("""
            return { provider = "libvirt", nodes = {
              { name = 'c', role = 'controller', workloads = true, ip = '192.168.64.10', cpus = 1, memory = 1024, disk = 10 },
              { name = 'w', role = 'worker', ip = '192.168.64.20', cpus = 1, memory = 1024, disk = 10 } } }
            """)
        let runner = ScriptedRunner([ScriptedRunner.when("sw_vers", "-productVersion", then: CommandResult(exitCode: 0, standardOutput: macOS + "\n"))])
        return Bootstrap(loaded: loaded, layout: StateLayout(directory: NSTemporaryDirectory() + "k0slua-ln-\(UUID().uuidString)"), runner: runner,
                         options: BootstrapOptions(hostFacts: HostFacts(cpus: 8, memoryMiB: 16384, os: os, arch: "arm64")),
                         progress: QuietProgress())
    }

    @Test func aNodeItsNeighboursReachButTheMacDoesNotIsTheLocalNetworkPermission() async throws {
        let bootstrap = try Self.bootstrap(os: "macos", macOS: "15.5")
        let worker = try #require(bootstrap.loaded.cluster.node(named: "w"))
        let diagnosis = await bootstrap.localNetworkDiagnosis([worker], reachedBy: ["192.168.64.20": ["c"]])
        #expect(diagnosis?.name == "Local Network permission")
        #expect(diagnosis?.detail.hasPrefix("this Mac cannot reach w (192.168.64.20) but c can") == true)
        #expect(diagnosis?.fix == MacNetworkChecks.localNetworkFix)
        // No neighbour reaches it either: a dead node, not the permission.
        #expect(await bootstrap.localNetworkDiagnosis([worker], reachedBy: [:]) == nil)
        // Before macOS 15 there is no such permission; on Linux neither.
        let sonoma = try Self.bootstrap(os: "macos", macOS: "14.6")
        #expect(await sonoma.localNetworkDiagnosis([worker], reachedBy: ["192.168.64.20": ["c"]]) == nil)
        let linux = try Self.bootstrap(os: "linux", macOS: "15.5")
        #expect(await linux.localNetworkDiagnosis([worker], reachedBy: ["192.168.64.20": ["c"]]) == nil)
    }
}

/// Progress that goes nowhere, for tests that drive one phase.
struct QuietProgress: K0sLuaKit.ProgressReporting {
    func phaseStarted(_ phase: BootstrapPhase, index: Int, of count: Int) {}
    func phaseFinished(_ phase: BootstrapPhase, seconds: Double, note: String?) {}
    func phaseSkipped(_ phase: BootstrapPhase, reason: String) {}
    func phaseFailed(_ phase: BootstrapPhase, seconds: Double) {}
    func info(_ line: String) {}
}
