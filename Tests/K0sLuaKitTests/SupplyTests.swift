import Foundation
@testable import K0sLuaKit
import Testing

/// Where the k0s that reaches the nodes comes from (issue 17, items 14 and 15): the build for each
/// node's architecture, from a mirror k0slua trusts, unchanged since it was verified.
@Suite(.serialized) struct SupplyTests {
    static let mixed = """
        return {
          name = "mixed", provider = "hosts",
          network = { cidr = "10.0.10.0/24" },
          ssh = { user = "ops", key_path = "id_test" },
          nodes = {
            { name = "c1", role = "controller", workloads = true, ip = "10.0.10.11", cpus = 2, memory = 2048, disk = 20 },
            { name = "w1", role = "worker", ip = "10.0.10.21", cpus = 2, memory = 2048, disk = 20 },
          },
        }
        """

    static func mixedWorld() throws -> StandInWorld {
        let world = try StandInWorld(cluster: mixed)
        try Data("not a real key\n".utf8).write(to: URL(fileURLWithPath: world.directory + "/id_test"))
        world.environment["K0SLUA_STANDIN_HOSTS"] = "1"
        return world
    }

    static func binaryText(_ arch: String) -> String { "#!/bin/sh\necho \(ReleaseMirror.k0sVersion) \(arch)\n" }

    /// What k0sctl put on each host (the stand-in's record, by address).
    static func installed(_ world: StandInWorld) throws -> [String: [String: Any]] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/k0s.json"))) as! [String: [String: Any]]
    }

    // MARK: - item 14: each host gets its own architecture's k0s

    @Test func item17_14_eachHostGetsTheK0sOfItsOwnArchitecture() async throws {
        let world = try Self.mixedWorld()
        let up = try await world.run(["up", "--state-dir", ".k0slua/k0slua", "--skip", "health"],
                                     environment: ["K0SLUA_STANDIN_ARCH": "10.0.10.11=x86_64,10.0.10.21=aarch64"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        let nodes = try Self.installed(world)
        let release = { (arch: String) in K0sRelease(version: ReleaseMirror.k0sVersion, arch: arch) }
        #expect(nodes["10.0.10.11"]?["k0sBinary"] as? String == ReleaseMirror.sha256(Self.binaryText("amd64")), "\(nodes)")
        #expect(nodes["10.0.10.21"]?["k0sBinary"] as? String == ReleaseMirror.sha256(Self.binaryText("arm64")), "\(nodes)")
        #expect(nodes["10.0.10.11"]?["files"] as? [String] == [K0sArtifacts.imageDirectory + release("amd64").bundleName])
        #expect(nodes["10.0.10.21"]?["files"] as? [String] == [K0sArtifacts.imageDirectory + release("arm64").bundleName])
        // Each host was asked before k0sctl ran, over the same SSH as every other step.
        let calls = world.calls
        let asked = calls.enumerated().filter { $0.element.tool == "ssh" && $0.element.argv.last == "uname -m" }
        #expect(Set(asked.map { $0.element.argv[$0.element.argv.count - 2] }) == ["10.0.10.11", "10.0.10.21"])
        let apply = try #require(calls.firstIndex { $0.tool == "k0sctl" && $0.argv.first == "apply" })
        #expect(asked.allSatisfy { $0.offset < apply })
        #expect(asked.allSatisfy { $0.element.argv.contains("UserKnownHostsFile=\"\(world.layout.knownHosts)\"") })
        #expect(up.standardError.contains("linux-amd64, linux-arm64"), "\(up.standardError)")
        #expect(NodeArchitectures.read(world.layout) == ["c1": "amd64", "w1": "arm64"])
        // `render` writes what `up` wrote, from the recorded architectures.
        let render = try await world.run(["render", "--out", ".k0slua/k0slua"])
        #expect(render.standardOutput.contains("unchanged \(world.layout.k0sctlConfig)"), "\(render.standardOutput)\(render.standardError)")
        #expect(try await world.run(["destroy", "--state-dir", ".k0slua/k0slua"]).exitCode == 0)
        #expect(!FileManager.default.fileExists(atPath: NodeArchitectures.path(world.layout)))
    }

    @Test func item17_14_aHostOfAnArchitectureK0sIsNotBuiltForStopsUpNamingIt() async throws {
        let world = try Self.mixedWorld()
        let up = try await world.run(["up", "--state-dir", ".k0slua/k0slua", "--skip", "health"],
                                     environment: ["K0SLUA_STANDIN_ARCH": "10.0.10.21=mips64"])
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains("k0s has no build for the architecture of 1 host(s)"), "\(up.standardError)")
        #expect(up.standardError.contains("w1 (10.0.10.21): `uname -m` says \"mips64\""), "\(up.standardError)")
        #expect(!world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
    }

    @Test func item17_14_anUnreachableHostStopsDownloadNamingIt() async throws {
        let world = try Self.mixedWorld()
        let up = try await world.run(["up", "--state-dir", ".k0slua/k0slua"], environment: ["K0SLUA_STANDIN_FAULTS": "unreachable:10.0.10.21"])
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains("up failed in phase download (ssh): could not ask 1 host(s) for their architecture"), "\(up.standardError)")
        #expect(up.standardError.contains("w1 (10.0.10.21): ssh exited with 255"), "\(up.standardError)")
        #expect(!world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
    }

    /// Answers `uname -m` over SSH per address; everything else (sha256sum, curl on file://) runs.
    struct UnameRunner: ProcessRunning {
        let machines: [String: String]

        func run(_ command: Command, onLine: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
            guard command.executable == "ssh", command.arguments.last == NodeArchitectures.probe else {
                return try await SubprocessRunner().run(command, onLine: onLine)
            }
            let address = command.arguments[command.arguments.count - 2]
            return CommandResult(exitCode: 0, standardOutput: (machines[address] ?? "x86_64") + "\n")
        }
    }

    /// The machine `up` runs on is BootstrapOptions.hostFacts, not the test machine: an Apple
    /// Silicon Mac driving an amd64 and an arm64 host, and a libvirt cluster on an arm64 machine.
    @Test func item17_14_theArchitectureOfThisMachineIsInjectedAndHostsAreAsked() async throws {
        let cache = CacheLayout(root: NSTemporaryDirectory() + "k0slua-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let mac = HostFacts(cpus: 8, memoryMiB: 16384, os: "linux", arch: "arm64")
        func bootstrap(_ source: String) throws -> Bootstrap {
            let loaded = try loadSource(source)
            let layout = StateLayout(directory: NSTemporaryDirectory() + "k0slua-arch-\(UUID().uuidString)")
            return Bootstrap(loaded: loaded, layout: layout, runner: UnameRunner(machines: ["10.0.10.11": "x86_64", "10.0.10.21": "aarch64"]),
                             options: BootstrapOptions(offline: true, cache: cache, hostFacts: mac), progress: QuietProgress())
        }
        let pinned = "k0s = { version = \"\(ReleaseMirror.k0sVersion)\" },"
        let hosts = try bootstrap(Self.mixed.replacingOccurrences(of: "name = \"mixed\",", with: "name = \"mixed\", \(pinned)"))
        defer { try? FileManager.default.removeItem(atPath: hosts.layout.directory) }
        // A cold cache offline: the hint fetches what these hosts need, not what this machine runs.
        await #expect { try await hosts.download() } throws: { error in
            "\(error)".contains("k0slua cache fetch --arch amd64 --arch arm64")
        }
        let filled = K0sCache(fetcher: Fetcher(cache: cache, runner: SubprocessRunner(), mirror: ReleaseMirror.shared.fileURL))
        for arch in ["amd64", "arm64"] { _ = try await filled.ensure(K0sRelease(version: ReleaseMirror.k0sVersion, arch: arch), offline: false) }
        _ = try await hosts.sshKey()
        _ = try await hosts.download()
        _ = try hosts.render()
        let config = try String(contentsOfFile: hosts.layout.k0sctlConfig, encoding: .utf8)
        let amd64 = K0sRelease(version: ReleaseMirror.k0sVersion, arch: "amd64").downloads(in: cache)
        let arm64 = K0sRelease(version: ReleaseMirror.k0sVersion, arch: "arm64").downloads(in: cache)
        let c1 = try #require(config.range(of: "hostname: \"c1\"")), w1 = try #require(config.range(of: "hostname: \"w1\""))
        #expect(config[c1.upperBound..<w1.lowerBound].contains("k0sBinaryPath: \"\(amd64.binary.destination)\""), "\(config)")
        #expect(config[c1.upperBound..<w1.lowerBound].contains("src: \"\(amd64.bundle.destination)\""), "\(config)")
        #expect(config[w1.upperBound...].contains("k0sBinaryPath: \"\(arm64.binary.destination)\""), "\(config)")
        #expect(config[w1.upperBound...].contains("src: \"\(arm64.bundle.destination)\""), "\(config)")

        // libvirt guests are this machine's architecture: arm64 here, whatever ran the test.
        let libvirt = try bootstrap("""
            return { provider = "libvirt", \(pinned) nodes = {
              { name = 'c', role = 'controller', workloads = true, ip = '192.168.64.10', cpus = 1, memory = 1024, disk = 10 } } }
            """)
        defer { try? FileManager.default.removeItem(atPath: libvirt.layout.directory) }
        _ = try await libvirt.download()
        #expect(libvirt.artifacts == K0sArtifacts(version: ReleaseMirror.k0sVersion, binary: arm64.binary.destination, bundle: arm64.bundle.destination))
    }

    // MARK: - item 15: a mirror k0slua trusts, and cached files checked before every upload

    @Test func item17_15_aPlainHTTPMirrorOnAnotherMachineIsRefusedBeforeAnyRequest() async throws {
        let cache = CacheLayout(root: NSTemporaryDirectory() + "k0slua-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let runner = ScriptedRunner([])
        let fetcher = Fetcher(cache: cache, runner: runner, mirror: "http://mirror.example", insecureMirror: false)
        await #expect(throws: FetchError.insecureMirror("http://mirror.example")) { try await fetcher.text(K0sRelease.stableURL) }
        let release = K0sRelease(version: ReleaseMirror.k0sVersion, arch: "amd64")
        await #expect(throws: FetchError.insecureMirror("http://mirror.example")) { try await fetcher.fetch(release.downloads(in: cache).binary) }
        await #expect(throws: FetchError.insecureMirror("http://mirror.example")) { try await K0sCache(fetcher: fetcher).ensure(release, offline: false) }
        #expect(runner.calls.isEmpty, "nothing was asked of the mirror: \(runner.calls)")
        #expect("\(FetchError.insecureMirror("http://mirror.example"))".contains("K0SLUA_MIRROR_INSECURE=1"))

        // What counts as trusted.
        for mirror in ["https://mirror.example/k0s", "http://127.0.0.1:8080", "http://127.1.2.3/x", "http://localhost:9/", "http://[::1]:8000",
                       "file:///srv/mirror"] {
            #expect(Fetcher.isTrusted(mirror: mirror, insecureAllowed: false), "\(mirror)")
        }
        for mirror in ["http://mirror.example", "http://10.0.0.1:8080", "http://127.0.0.1.example.com/", "http://127.0.0.1@mirror.example/",
                       "ftp://mirror.example/", "mirror.example", "http://", "file://mirror.example/srv"] {
            #expect(!Fetcher.isTrusted(mirror: mirror, insecureAllowed: false), "\(mirror)")
        }
        #expect(Fetcher.isTrusted(mirror: "http://mirror.example", insecureAllowed: true))
        #expect(!Fetcher.isTrusted(mirror: "ftp://mirror.example", insecureAllowed: true))
    }

    @Test func item17_15_theCommandRefusesAPlainHTTPMirrorUnlessOptedIn() async throws {
        let world = try StandInWorld()
        // A curl that records being run and reaches nobody.
        let bin = world.directory + "/curl-bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try Data("#!/bin/sh\necho \"$@\" >> \"\(world.directory)/curl-calls\"\necho 'curl: (6) Could not resolve host: mirror.example' >&2\nexit 6\n".utf8)
            .write(to: URL(fileURLWithPath: bin + "/curl"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/curl")
        world.environment["PATH"] = bin + ":" + world.environment["PATH"]!
        world.environment["K0SLUA_MIRROR"] = "http://mirror.example"
        let refused = try await world.run(["cache", "fetch"])
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains("K0SLUA_MIRROR \"http://mirror.example\" is not https"), "\(refused.standardError)")
        #expect(!FileManager.default.fileExists(atPath: world.directory + "/curl-calls"), "no request was attempted")
        let up = try await world.run(["up"])
        #expect(up.exitCode == 1 && up.standardError.contains("K0SLUA_MIRROR_INSECURE=1"), "\(up.standardError)")
        #expect(!FileManager.default.fileExists(atPath: world.directory + "/curl-calls"), "no request was attempted")
        #expect(!world.vagrantUpStarted)

        let optedIn = try await world.run(["cache", "fetch"], environment: ["K0SLUA_MIRROR_INSECURE": "1"])
        #expect(optedIn.exitCode == 1 && optedIn.standardError.contains("Could not resolve host"), "\(optedIn.standardError)")
        #expect(try String(contentsOfFile: world.directory + "/curl-calls", encoding: .utf8).contains("http://mirror.example/"))
    }

    @Test(arguments: [("k0s binary", false), ("image bundle", true)])
    func item17_15_aCachedFileChangedAfterItsDownloadStopsUpBeforeAnyUpload(file: String, offline: Bool) async throws {
        let world = try StandInWorld()
        let fetch = try await world.run(["cache", "fetch"])
        #expect(fetch.exitCode == 0, "\(fetch.standardError)")
        let cache = CacheLayout(root: world.directory + "/cache/k0slua")
        let downloads = K0sRelease(version: ReleaseMirror.k0sVersion, arch: "arm64").downloads(in: cache)  // Tart guests
        let download = file == "k0s binary" ? downloads.binary : downloads.bundle
        let recorded = try String(contentsOfFile: download.destination + Fetcher.digestSuffix, encoding: .utf8)
        let original = try Data(contentsOf: URL(fileURLWithPath: download.destination))
        #expect(recorded == "\(ReleaseMirror.sha256(String(decoding: original, as: UTF8.self)))  \(download.fileName)\n")

        var changed = original
        changed[changed.count / 2] ^= 0x01
        try changed.write(to: URL(fileURLWithPath: download.destination))
        let actual = ReleaseMirror.sha256(String(decoding: changed, as: UTF8.self))
        let up = try await world.run(["up"] + (offline ? ["--offline"] : []))
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains("up failed in phase download: cached \(download.destination) changed after it was verified: recorded sha256 \(recorded.prefix(64)), now \(actual)"),
                "\(up.standardError)")
        #expect(up.standardError.contains("k0slua cache fetch"), "the fix: \(up.standardError)")
        #expect(!world.vagrantUpStarted)
        #expect(!world.calls.contains { $0.tool == "k0sctl" && $0.argv.first == "apply" })
    }

    @Test func item17_15_aFileCachedBeforeDigestsWereRecordedIsCheckedOnceAgainstTheRelease() async throws {
        let cache = CacheLayout(root: NSTemporaryDirectory() + "k0slua-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: cache.root) }
        let fetcher = Fetcher(cache: cache, runner: SubprocessRunner(), mirror: ReleaseMirror.shared.fileURL)
        let release = K0sRelease(version: ReleaseMirror.k0sVersion, arch: "amd64")
        let binary = release.downloads(in: cache).binary
        #expect(try await fetcher.fetch(binary) != .cached)
        let digest = binary.destination + Fetcher.digestSuffix
        let recorded = try String(contentsOfFile: digest, encoding: .utf8)

        // No digest beside it: compared with the release's listing, kept and recorded.
        try FileManager.default.removeItem(atPath: digest)
        #expect(try await !fetcher.verifiedCached(binary))
        #expect(try await fetcher.fetch(binary) == .cached)
        #expect(try String(contentsOfFile: digest, encoding: .utf8) == recorded)

        // No digest and not the release's file: replaced by a verified download.
        try FileManager.default.removeItem(atPath: digest)
        try Data("#!/bin/sh\necho something else\n".utf8).write(to: URL(fileURLWithPath: binary.destination))
        #expect(try await fetcher.fetch(binary) != .cached)
        #expect(try String(contentsOfFile: binary.destination, encoding: .utf8) == Self.binaryText("amd64"))
        #expect(try await fetcher.verifiedCached(binary))
    }
}
