import Foundation

/// A tool k0slua drives and can download itself: the oldest version it works with and the
/// version it downloads when PATH has none or an older one.
public struct ProvisionedTool: Sendable, Equatable {
    public var name: String
    public var minimum: SemanticVersion
    public var pinned: String

    /// k0sctl ≥ v0.32.0: the first release on rig v2 (k0sctl go.mod at v0.32.0: rig/v2 v2.0.0),
    /// whose SSH client offers OpenSSH's host-key algorithm order (ssh-ed25519 first; rig
    /// `sshconfig/defaultconfig_unix.go`, applied in `protocol/ssh/connection.go`). rig v0.21
    /// (k0sctl ≤ v0.31) left Go's default order, which negotiates an ECDSA host key first, so
    /// the ed25519-only known_hosts that OpenSSH writes for k0slua's cluster reads as a changed key.
    public static let k0sctl = ProvisionedTool(name: "k0sctl", minimum: SemanticVersion(0, 32, 0), pinned: "v0.32.2")
    /// kubectl within one minor of the oldest k0s k0slua supports (v1.31, for
    /// `spec.api.onlyBindToAddress`), which is Kubernetes' client skew policy.
    public static let kubectl = ProvisionedTool(name: "kubectl", minimum: SemanticVersion(1, 30, 0), pinned: "v1.34.2")

    /// `linux-amd64`, `darwin-arm64`.
    public static func platform(_ host: HostFacts) -> String {
        "\(host.os == "macos" ? "darwin" : "linux")-\(K0sRelease.k0sArch(host.arch))"
    }

    /// The release download for a host (k0sctl Makefile: `k0sctl-<os>-<arch>` + checksums.txt;
    /// dl.k8s.io: `bin/<os>/<arch>/kubectl` + `kubectl.sha256`).
    public func download(for host: HostFacts, in cache: CacheLayout) -> Download {
        let platform = Self.platform(host)
        let destination = cache.toolDirectory(name, version: pinned, platform: platform) + "/" + name
        switch name {
        case "k0sctl":
            let base = "https://github.com/k0sproject/k0sctl/releases/download/\(pinned)"
            return Download(url: "\(base)/k0sctl-\(platform)", checksum: .listing(url: "\(base)/checksums.txt", name: "k0sctl-\(platform)"),
                            destination: destination, executable: true)
        default:
            let url = "https://dl.k8s.io/release/\(pinned)/bin/\(platform.replacingOccurrences(of: "-", with: "/"))/\(name)"
            return Download(url: url, checksum: .digestFile(url: url + ".sha256"), destination: destination, executable: true)
        }
    }

    /// The version in `k0sctl version` / `kubectl version --client` output.
    public static func version(in output: String) -> SemanticVersion? {
        for line in output.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            for prefix in ["version:", "Client Version:"] where trimmed.hasPrefix(prefix) {
                return SemanticVersion(trimmed.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces))
            }
        }
        return nil
    }
}

/// `major.minor.patch` of a `v1.34.2+k0s.0`-style version (pre-release and build ignored).
public struct SemanticVersion: Sendable, Comparable, CustomStringConvertible {
    public var major: Int, minor: Int, patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    public init?(_ text: String) {
        let core = (text.hasPrefix("v") ? text.dropFirst() : Substring(text)).prefix { $0.isNumber || $0 == "." }
        let parts = core.split(separator: ".").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        self.init(parts[0], parts[1], parts[2])
    }

    public static func < (a: Self, b: Self) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
    public var description: String { "v\(major).\(minor).\(patch)" }
}

/// Which executable k0slua runs for a tool, and why.
public struct ResolvedTool: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case path
        case cache
        /// Not usable from PATH and not in the cache (yet): `reason` says what PATH had.
        case missing
    }

    public var name: String
    public var executable: String
    public var version: String?
    public var source: Source
    /// What PATH offered when it was not used (`not found`, `v0.31.1 < v0.32.0`).
    public var reason: String?
}

/// Finds k0sctl and kubectl: PATH when new enough, else the pinned release from the cache,
/// downloaded (and verified) when `fetch` is allowed.
public struct ToolProvisioner: Sendable {
    public let fetcher: Fetcher
    public let host: HostFacts
    public let path: String

    public init(fetcher: Fetcher, host: HostFacts = .current, path: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") {
        self.fetcher = fetcher
        self.host = host
        self.path = path
    }

    func onPath(_ name: String) -> String? {
        path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func versionOf(_ tool: ProvisionedTool, executable: String) async -> SemanticVersion? {
        let arguments = tool.name == "kubectl" ? ["version", "--client"] : ["version"]
        guard let result = try? await fetcher.runner.run(Command(executable, arguments)), result.succeeded else { return nil }
        return ProvisionedTool.version(in: result.standardOutput)
    }

    /// Resolves one tool; with `fetch`, downloads the pinned release when PATH's will not do
    /// (a cached one is checked against its recorded SHA-256 then, and with `verify` without
    /// fetching: one without a recorded digest counts as missing).
    public func resolve(_ tool: ProvisionedTool, fetch: Bool, verify: Bool = false) async throws -> ResolvedTool {
        var reason = "not on PATH"
        if let found = onPath(tool.name) {
            if let version = await versionOf(tool, executable: found) {
                if version >= tool.minimum { return ResolvedTool(name: tool.name, executable: found, version: version.description, source: .path) }
                reason = "\(found) is \(version), older than \(tool.minimum)"
            } else {
                reason = "\(found) did not report its version"
            }
        }
        let download = tool.download(for: host, in: fetcher.cache)
        if fetch {
            try await fetcher.fetch(download)
        } else if verify, FileManager.default.fileExists(atPath: download.destination), try await !fetcher.verifiedCached(download) {
            return ResolvedTool(name: tool.name, executable: download.destination, version: nil, source: .missing,
                                reason: reason + "; the cached one has no recorded checksum")
        }
        guard FileManager.default.fileExists(atPath: download.destination) else {
            return ResolvedTool(name: tool.name, executable: download.destination, version: nil, source: .missing, reason: reason)
        }
        return ResolvedTool(name: tool.name, executable: download.destination, version: tool.pinned, source: .cache, reason: reason)
    }
}

extension ToolProvisioner {
    /// Puts a cached tool first on this process's PATH, so every later command (and child
    /// process) runs it; a tool from PATH changes nothing.
    public static func activate(_ tool: ResolvedTool) {
        guard tool.source == .cache else { return }
        let directory = (tool.executable as NSString).deletingLastPathComponent
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard !path.split(separator: ":").contains(Substring(directory)) else { return }
        setenv("PATH", directory + ":" + path, 1)
    }

    /// Resolves k0sctl and kubectl without downloading and activates cached ones (commands
    /// other than `up`).
    public static func activateCached(runner: any ProcessRunning, cache: CacheLayout = .default()) async -> [ResolvedTool] {
        let provisioner = ToolProvisioner(fetcher: Fetcher(cache: cache, runner: runner))
        var resolved: [ResolvedTool] = []
        for tool in [ProvisionedTool.k0sctl, .kubectl] {
            guard let found = try? await provisioner.resolve(tool, fetch: false) else { continue }
            activate(found)
            resolved.append(found)
        }
        return resolved
    }
}
