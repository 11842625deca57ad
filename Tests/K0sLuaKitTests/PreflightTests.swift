import Foundation
@testable import K0sLuaKit
import Testing

/// Preflight (`k0slua doctor`): tools with versions, install hints, Tart's DHCP leases.
@Suite struct PreflightTests {
    @Test func missingToolsAreNamedWithTheirInstallCommand() async throws {
        let cluster = try loadCluster(Repo.defaultClusterFile).cluster
        let runner = ScriptedRunner([
            ScriptedRunner.when("vagrant", "--version", then: CommandResult(exitCode: 0, standardOutput: "Vagrant 2.3.4\n")),
            ScriptedRunner.when("vagrant", "plugin", "list", then: CommandResult(exitCode: 0, standardOutput: "vagrant-libvirt (0.11.2, system)\n")),
            ScriptedRunner.when("tart", "--version", then: CommandResult(exitCode: 0, standardOutput: "2.32.1\n")),
            ScriptedRunner.when("kubectl", "version", then: CommandResult(exitCode: 0, standardOutput: "Client Version: v1.34.2\n")),
            ScriptedRunner.when("ssh", "-V", then: CommandResult(exitCode: 0, standardError: "OpenSSH_9.2p1\n")),
        ])
        let macHost = HostFacts(cpus: 8, memoryMiB: 16384, os: "macos", arch: "arm64")
        let checks = await Preflight(cluster: cluster, layout: StateLayout(directory: "/nonexistent"), runner: runner, hostFacts: macHost).run()
        let byName = Dictionary(uniqueKeysWithValues: checks.map { ($0.name, $0) })
        #expect(byName["vagrant"]?.ok == true && byName["vagrant"]?.detail == "Vagrant 2.3.4")
        #expect(byName["vagrant-tart"]?.ok == false)
        #expect(byName["vagrant-tart"]?.fix == "vagrant plugin install vagrant-tart")
        #expect(byName["k0sctl"]?.ok == false)
        #expect(byName["k0sctl"]?.fix == "brew install k0sproject/tap/k0sctl")
        #expect(byName["tart"]?.detail == "2.32.1")
    }

    @Test func tartLeasesThatHoldAPlannedAddressAreFlagged() throws {
        let cluster = try loadCluster(Repo.fixtures + "/render-bridged/cluster.lua").cluster
        let directory = NSTemporaryDirectory() + "k0slua-leases-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let leases = directory + "/dhcpd_leases"
        let text = "{\n\tname=ubuntu\n\tip_address=192.168.1.210\n\thw_address=1,aa:bb:cc:dd:ee:ff\n\tlease=0x67890abc\n}\n"
            + "{\n\tname=other\n\tip_address=192.168.64.3\n\thw_address=1,aa:bb:cc:dd:ee:00\n\tlease=0x67890abc\n}\n"
        FileManager.default.createFile(atPath: leases, contents: Data(text.utf8))
        let preflight = Preflight(cluster: cluster, layout: StateLayout(directory: directory), runner: ScriptedRunner([]),
                                  hostFacts: HostFacts(cpus: 8, memoryMiB: 16384, os: "macos", arch: "arm64"))
        let checks = preflight.tartNetworkChecks(leasesFile: leases)
        let dhcp = try #require(checks.first { $0.name == "DHCP leases" })
        #expect(!dhcp.ok)
        #expect(dhcp.detail == "leased to other VMs: 192.168.1.210")
        FileManager.default.createFile(atPath: leases, contents: Data("{\n\tip_address=192.168.64.3\n}\n".utf8))
        #expect(preflight.tartNetworkChecks(leasesFile: leases).first { $0.name == "DHCP leases" }?.ok == true)
    }
}
