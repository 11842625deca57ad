import Foundation
@testable import K0sLuaKit
import Testing

/// Preflight (`k0slua doctor`): tools with versions, install hints (the macOS checks: MacNetworkChecksTests).
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
        #expect(byName["k0sctl"]?.warningOnly == true, "up downloads it")
        #expect(byName["k0sctl"]?.fix?.hasSuffix("or brew install k0sproject/tap/k0sctl") == true)
        #expect(byName["tart"]?.detail == "2.32.1")
        let offline = await Preflight(cluster: cluster, layout: StateLayout(directory: "/nonexistent"), runner: runner, hostFacts: macHost,
                                      offline: true).run()
        let k0sctl = try #require(offline.first { $0.name == "k0sctl" })
        #expect(!k0sctl.ok && !k0sctl.warningOnly, "offline nothing can be downloaded")
        #expect(k0sctl.fix?.hasPrefix("run `k0slua cache fetch` while online") == true)
    }

    /// `k0slua doctor` on a fresh checkout: no state directory yet, vagrant installed (the stand-in,
    /// spawned for real). It was reported "not found" because the spawn tried to enter the directory.
    @Test func vagrantIsFoundBeforeTheStateDirectoryExists() async throws {
        let cluster = try loadCluster(Repo.defaultClusterFile).cluster
        let missing = NSTemporaryDirectory() + "k0slua-preflight-\(UUID().uuidString)/.k0slua/k0slua"
        let runner = MacNetworkChecksTests.StandInRunner(environment: ["K0SLUA_STANDIN_STATE": NSTemporaryDirectory()])
        let linux = HostFacts(cpus: 2, memoryMiB: 8192, os: "linux", arch: "x86_64")
        let checks = await Preflight(cluster: cluster, layout: StateLayout(directory: missing), runner: runner, hostFacts: linux).run()
        let byName = Dictionary(uniqueKeysWithValues: checks.map { ($0.name, $0) })
        #expect(byName["vagrant"]?.ok == true)
        #expect(byName["vagrant"]?.detail == "Vagrant 2.3.4")
        #expect(byName["vagrant-tart"]?.ok == true)
        #expect(!FileManager.default.fileExists(atPath: missing), "doctor creates nothing")
    }
}
