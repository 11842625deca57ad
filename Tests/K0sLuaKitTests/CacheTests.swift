import Foundation
import K0sLuaKit
import Testing

/// The host cache against a release mirror on 127.0.0.1 (Tests/StandIns/mirror/serve.py): real
/// curl, real sha256sum, real flock between two k0slua processes.
@Suite(.serialized) struct CacheTests {
    let mirror: ReleaseMirror
    let url: String
    let world: StandInWorld

    init() throws {
        mirror = try ReleaseMirror()
        url = try mirror.serve()
        world = try StandInWorld()
        world.environment["K0SLUA_MIRROR"] = url
    }

    var cache: CacheLayout { CacheLayout(root: world.directory + "/cache/k0slua") }
    var release: K0sRelease { K0sRelease(version: ReleaseMirror.k0sVersion, arch: "arm64") }  // tart guests
    var binaryPath: String { ReleaseMirror.k0sPath(release.binaryName) }
    var bundlePath: String { ReleaseMirror.k0sPath(release.bundleName) }
    var cachedFiles: [String] {
        (FileManager.default.subpaths(atPath: cache.root) ?? []).filter {
            var directory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: cache.root + "/" + $0, isDirectory: &directory)
            return !directory.boolValue && !$0.hasPrefix("locks/")
        }.sorted()
    }

    func fetch(_ arguments: [String] = []) async throws -> CommandResult {
        try await world.run(["cache", "fetch"] + arguments)
    }

    @Test func aGoodFetchIsCachedVerifiedAndExecutableAndNotRepeated() async throws {
        let result = try await fetch()
        #expect(result.exitCode == 0, "\(result.standardError)")
        let (binary, bundle) = release.downloads(in: cache)
        #expect(FileManager.default.isExecutableFile(atPath: binary.destination))
        #expect(!FileManager.default.isExecutableFile(atPath: bundle.destination))
        #expect(try String(contentsOfFile: binary.destination, encoding: .utf8).contains("arm64"))
        // Before the first `up` there is no record: the cache's use note keeps the resolved version for the cluster.
        let note = cache.k0sUsers(version: ReleaseMirror.k0sVersion) + "/" + world.layout.clusterID(name: "k0slua")
        #expect(try String(contentsOfFile: note, encoding: .utf8) == world.layout.directory + "\n", "latest stable resolved and recorded")
        #expect(result.standardOutput.contains("k0sctl   v0.32.2 from PATH"), "the stand-in on PATH is new enough")
        let requests = mirror.requests
        #expect(requests.contains("GET /docs.k0sproject.io/stable.txt 200"))
        #expect(requests.filter { $0.hasPrefix("GET \(binaryPath) ") } == ["GET \(binaryPath) 200"])
        let again = try await fetch()
        #expect(again.exitCode == 0)
        #expect(mirror.requests == requests, "warm cache and recorded version: no request at all")
        #expect(cachedFiles.allSatisfy { !$0.hasPrefix("tmp/") || $0.isEmpty })
    }

    @Test(arguments: [("wrong checksum", "sums-wrong"), ("missing checksum entry", "sums-missing"), ("truncated body", "truncate"),
                      ("404", "404"), ("500 every time", "500")])
    func aBadDownloadFailsNamingTheURLAndLeavesNothing(name: String, fault: String) async throws {
        let sums = ReleaseMirror.k0sPath("sha256sums.txt").replacingOccurrences(of: "%2B", with: "+")
        let listing = try String(contentsOfFile: mirror.root + sums, encoding: .utf8)
        switch fault {
        case "sums-wrong":
            try mirror.write(sums, listing.replacingOccurrences(of: String(ReleaseMirror.sha256("#!/bin/sh\necho \(release.version) arm64\n")),
                                                                with: String(repeating: "0", count: 64)))
        case "sums-missing":
            try mirror.write(sums, listing.split(separator: "\n").filter { !$0.hasSuffix(release.binaryName) }.joined(separator: "\n") + "\n")
        default:
            try mirror.rules([binaryPath: fault])
        }
        let result = try await fetch(["--k0s", release.version])
        #expect(result.exitCode == 1, "\(name)")
        #expect(result.standardError.contains(url + binaryPath), "\(name): \(result.standardError)")
        if fault == "sums-wrong" { #expect(result.standardError.contains("checksum mismatch")) }
        if fault == "sums-missing" { #expect(result.standardError.contains("no checksum for \(release.binaryName)")) }
        #expect(!cachedFiles.contains { $0.hasPrefix("k0s/") && !$0.contains("/users/") }, "\(name): \(cachedFiles)")
        #expect(!cachedFiles.contains { $0.hasPrefix("tmp/") }, "\(name): no partial left: \(cachedFiles)")
    }

    @Test func aServerErrorIsRetried() async throws {
        try mirror.rules([binaryPath: "500-once"])
        let result = try await fetch(["--k0s", release.version])
        #expect(result.exitCode == 0, "\(result.standardError)")
        #expect(mirror.requests.filter { $0.hasPrefix("GET \(binaryPath) ") } == ["GET \(binaryPath) 500", "GET \(binaryPath) 200"])
    }

    @Test func twoConcurrentFetchesDownloadOnceAndBothSucceed() async throws {
        try mirror.rules([bundlePath: "slow"])
        async let first = fetch(["--k0s", release.version])
        async let second = fetch(["--k0s", release.version])
        let (a, b) = try await (first, second)
        #expect(a.exitCode == 0 && b.exitCode == 0, "\(a.standardError)\(b.standardError)")
        #expect(mirror.requests.filter { $0.hasPrefix("GET \(bundlePath) ") }.count == 1, "the second waited on the lock, then found it cached")
        #expect(FileManager.default.fileExists(atPath: release.downloads(in: cache).bundle.destination))
    }

    @Test func offlineUpFailsBeforeAnyMachineWithAColdCacheAndWorksWithAWarmOne() async throws {
        let cold = try await world.run(["up", "--offline"])
        #expect(cold.exitCode == 1)
        #expect(cold.standardError.contains("k0slua cache fetch"), "\(cold.standardError)")
        #expect(!world.calls.contains { $0.tool == "vagrant" && $0.argv.first == "up" }, "no machine started")
        #expect(mirror.requests.isEmpty, "offline asks nobody")

        #expect(try await fetch().exitCode == 0)
        let before = mirror.requests
        let warm = try await world.run(["up", "--offline", "--skip", "health"])
        #expect(warm.exitCode == 0, "\(warm.standardError)")
        #expect(mirror.requests == before, "a warm offline up makes no request")
        let nodes = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: world.directory + "/standin/k0s.json"))) as! [String: [String: Any]]
        let digest = ReleaseMirror.sha256("#!/bin/sh\necho \(release.version) arm64\n")
        #expect(nodes.values.allSatisfy { $0["k0sBinary"] as? String == digest }, "every node got the cached binary: \(nodes)")
        #expect(nodes.values.allSatisfy { ($0["files"] as? [String])?.contains(K0sArtifacts.imageDirectory + release.bundleName) == true },
                "the 1+1 cluster's nodes all run kubelets and got the bundle")
        let render = try await world.run(["render"])
        #expect(render.standardOutput.contains("unchanged \(world.layout.k0sctlConfig)"), "render writes what up wrote: \(render.standardOutput)")
    }

    /// The state directory's `k0s-version`, which older k0slua wrote beside state.json.
    var legacyVersionFile: String { world.layout.directory + "/k0s-version" }

    func recordObject() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: world.layout.record))) as! [String: Any]
    }

    @Test func item19_theK0sVersionLivesInStateJSONOnly() async throws {
        let up = try await world.run(["up", "--skip", "health"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        #expect(try recordObject()["k0s_resolved_version"] as? String == ReleaseMirror.k0sVersion, "the resolved latest stable is in state.json")
        #expect(!FileManager.default.fileExists(atPath: legacyVersionFile), "no second copy beside it")
        // Later commands take it from there: no second look-up, no change, and prune keeps it.
        let before = mirror.requests
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        #expect(!mirror.requests.dropFirst(before.count).contains { $0.contains("stable.txt") }, "\(mirror.requests)")
        #expect(try await world.run(["plan"]).standardOutput.contains("no changes"))
        #expect(try await world.run(["cache", "prune", "--keep", "0"]).exitCode == 0)
        #expect(FileManager.default.fileExists(atPath: cache.k0sDirectory(version: ReleaseMirror.k0sVersion)), "still used by the cluster")
    }

    @Test func item19_anOldK0sVersionFileIsReadOnceAndRemoved() async throws {
        #expect(try await world.run(["up", "--skip", "health"]).exitCode == 0)
        // The state an older k0slua left: a version 2 record without the field, the version in its own file.
        var old = try recordObject()
        old.removeValue(forKey: "k0s_resolved_version")
        old["version"] = 2
        try JSONSerialization.data(withJSONObject: old).write(to: URL(fileURLWithPath: world.layout.record))
        try "v1.34.1+k0s.0\n".write(toFile: legacyVersionFile, atomically: true, encoding: .utf8)
        let pinned = ["k0s_version": ReleaseMirror.k0sVersion]
        let plan = try await world.run(["plan"], environment: pinned)
        #expect(plan.standardOutput.contains("~ cluster k0s_version: v1.34.1+k0s.0 → \(ReleaseMirror.k0sVersion) (upgrade"), "\(plan.standardOutput)")
        #expect(FileManager.default.fileExists(atPath: legacyVersionFile), "plan changes nothing")
        // The next command that writes the record moves the version into it and removes the file.
        #expect(try await world.run(["stop"]).exitCode == 0)
        #expect(try recordObject()["k0s_resolved_version"] as? String == "v1.34.1+k0s.0")
        #expect(!FileManager.default.fileExists(atPath: legacyVersionFile))
        let again = try await world.run(["plan"], environment: pinned)
        #expect(again.standardOutput.contains("~ cluster k0s_version: v1.34.1+k0s.0 → \(ReleaseMirror.k0sVersion) (upgrade"), "\(again.standardOutput)")
    }

    @Test func pruneKeepsTheRecentAndTheUsedOnes() async throws {
        #expect(try await fetch().exitCode == 0)  // used by the world's cluster (recorded)
        let older = try ReleaseMirror(versions: ["v1.33.9+k0s.0", "v1.32.9+k0s.0"])
        world.environment["K0SLUA_MIRROR"] = older.fileURL
        let other = try StandInWorld()
        other.environment = world.environment
        for version in ["v1.33.9+k0s.0", "v1.32.9+k0s.0"] {
            #expect(try await other.run(["cache", "fetch", "--k0s", version]).exitCode == 0)
        }
        let list = try await world.run(["cache", "list"])
        #expect(list.standardOutput.contains(ReleaseMirror.k0sVersion) && list.standardOutput.contains("used by " + world.layout.directory), "\(list.standardOutput)")
        let pruned = try await world.run(["cache", "prune", "--keep", "1"])
        #expect(pruned.exitCode == 0)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: cache.k0sVersions))
        #expect(left == [ReleaseMirror.k0sVersion, "v1.32.9+k0s.0"], "the used one and the most recent other stay: \(pruned.standardOutput)")
        #expect(try await world.run(["destroy"]).exitCode == 0)
        #expect(try await world.run(["cache", "prune", "--keep", "0"]).exitCode == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.k0sVersions).isEmpty, "after destroy nothing uses it")
    }

    @Test func item17_16_clustersWhosePathsDifferOnlyInPunctuationEachKeepTheirVersion() async throws {
        // `/p/a-b` and `/p/a_b` once shared one entry in users/: destroying one made the other's version prunable.
        for project in ["a-b", "a_b"] {
            try FileManager.default.createDirectory(atPath: world.directory + "/" + project, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: world.directory + "/cluster.lua", toPath: world.directory + "/\(project)/cluster.lua")
            try FileManager.default.createSymbolicLink(atPath: world.directory + "/\(project)/lib", withDestinationPath: Repo.lib)
            let fetched = try await world.run(["cache", "fetch", "-f", project + "/cluster.lua"])
            #expect(fetched.exitCode == 0, "\(fetched.standardError)")
        }
        let a = StateLayout(directory: world.directory + "/a-b/.k0slua/k0slua"), b = StateLayout(directory: world.directory + "/a_b/.k0slua/k0slua")
        let users = try FileManager.default.contentsOfDirectory(atPath: cache.k0sUsers(version: ReleaseMirror.k0sVersion)).sorted()
        #expect(users == [a.clusterID(name: "k0slua"), b.clusterID(name: "k0slua")].sorted(), "one entry per cluster id")
        // b is destroyed (its recorded version goes with its state); a still uses the version.
        try FileManager.default.removeItem(atPath: world.directory + "/a_b")
        let pruned = try await world.run(["cache", "prune", "--keep", "0"])
        #expect(pruned.exitCode == 0, "\(pruned.standardError)")
        #expect(FileManager.default.fileExists(atPath: cache.k0sDirectory(version: ReleaseMirror.k0sVersion)), "\(pruned.standardOutput)")
        let list = try await world.run(["cache", "list"])
        #expect(list.standardOutput.contains("used by " + a.directory + "\n"), "\(list.standardOutput)")
    }

    /// Holds `<cache>/cache.lock` with flock(2) as another k0slua would.
    func holdCacheLock(_ operation: Int32) throws -> Int32 {
        try FileManager.default.createDirectory(atPath: cache.root, withIntermediateDirectories: true)
        let fd = open(cache.root + "/cache.lock", O_RDWR | O_CREAT, 0o600)
        #expect(fd >= 0 && flock(fd, operation | LOCK_NB) == 0)
        return fd
    }

    @Test func item17_16_pruneTakesTheCacheLock() async throws {
        let older = try ReleaseMirror(versions: ["v1.33.9+k0s.0", "v1.32.9+k0s.0"])
        world.environment["K0SLUA_MIRROR"] = try older.serve()
        #expect(try await world.run(["cache", "fetch", "--k0s", "v1.33.9+k0s.0"]).exitCode == 0)
        // A download in progress holds the cache shared: prune refuses at once and removes nothing.
        let downloading = try holdCacheLock(LOCK_SH)
        let refused = try await world.run(["cache", "prune", "--keep", "0"])
        close(downloading)
        #expect(refused.exitCode == 1)
        #expect(refused.standardError.contains("error: another k0slua is using the cache (downloading)"), "\(refused.standardError)")
        #expect(FileManager.default.fileExists(atPath: cache.k0sDirectory(version: "v1.33.9+k0s.0")))
        // A prune in progress holds it alone: a download waits for it, then goes on.
        let pruning = try holdCacheLock(LOCK_EX)
        let (process, _) = try world.start(["cache", "fetch", "--k0s", "v1.32.9+k0s.0"])
        try await Task.sleep(for: .seconds(2))
        #expect(process.isRunning, "the download waits while prune runs")
        #expect(!older.requests.contains { $0.contains("v1.32.9") && !$0.contains("sha256sums") }, "\(older.requests)")
        close(pruning)
        try await exited(process)
        #expect(process.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: cache.k0sDirectory(version: "v1.32.9+k0s.0")))
        #expect(try await world.run(["cache", "prune", "--keep", "0"]).exitCode == 0, "free again")
    }

    @Test func anOldK0sctlOnPathIsReplacedByTheVerifiedPinnedOne() async throws {
        let bin = world.directory + "/old-bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: bin + "/k0sctl", contents: Data("#!/bin/sh\necho 'version: v0.31.1'\n".utf8), attributes: [.posixPermissions: 0o755])
        world.environment["PATH"] = bin + ":" + world.environment["PATH"]!
        let doctorBefore = try await world.run(["doctor"])
        #expect(doctorBefore.standardOutput.contains("v0.31.1 (PATH: \(bin)/k0sctl) is older than v0.32.0"), "\(doctorBefore.standardOutput)")
        let result = try await fetch()
        #expect(result.exitCode == 0, "\(result.standardError)")
        let cached = cache.toolDirectory("k0sctl", version: "v0.32.2", platform: "linux-amd64") + "/k0sctl"
        #expect(FileManager.default.isExecutableFile(atPath: cached))
        let doctor = try await world.run(["doctor"])
        #expect(doctor.standardOutput.contains("v0.32.2 (cache: \(cached))"), "\(doctor.standardOutput)")
    }

    @Test func theMirrorRewritesEveryHTTPSURL() {
        let fetcher = Fetcher(cache: cache, runner: SubprocessRunner(), mirror: "http://127.0.0.1:8/base/")
        #expect(fetcher.resolve("https://github.com/k0sproject/k0s/releases/download/v1%2Bk0s.0/k0s") == "http://127.0.0.1:8/base/github.com/k0sproject/k0s/releases/download/v1%2Bk0s.0/k0s")
        #expect(Fetcher(cache: cache, runner: SubprocessRunner(), mirror: nil).resolve("https://dl.k8s.io/x") == "https://dl.k8s.io/x")
        #expect(Fetcher.digest(for: "b", in: "\(String(repeating: "a", count: 64)) *a\n\(String(repeating: "B", count: 64))  b\n") == String(repeating: "b", count: 64))
        #expect(Fetcher.digest(for: "c", in: "\(String(repeating: "a", count: 64)) *a\n") == nil)
        #expect(K0sRelease.isValidVersion("v1.34.2+k0s.0") && !K0sRelease.isValidVersion("--output=/etc/x+k0s.0") && !K0sRelease.isValidVersion("v1.34.2"))
    }
}
