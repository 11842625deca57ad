import Foundation

/// Where k0slua keeps the downloads all clusters share: `$XDG_CACHE_HOME/k0slua`, else
/// `~/.cache/k0slua`.
///
/// ```
/// k0s/<version>/linux-<arch>/k0s                     the k0s binary (0755)
/// k0s/<version>/linux-<arch>/k0s-airgap-bundle-…tar   the image bundle
/// k0s/<version>/users/<key>                          state directories that use this version
/// tools/<tool>/<version>/<os>-<arch>/<tool>          k0sctl, kubectl (0755)
/// tmp/                                               downloads in flight (never counted)
/// locks/                                             one flock file per cached file
/// cache.lock                                         downloads (shared) against prune (exclusive)
/// ```
public struct CacheLayout: Sendable, Equatable {
    public let root: String

    public init(root: String) { self.root = root }

    /// The cache for this user, from the environment.
    public static func `default`(environment: [String: String] = ProcessInfo.processInfo.environment) -> CacheLayout {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return CacheLayout(root: xdg + "/k0slua") }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return CacheLayout(root: home + "/.cache/k0slua")
    }

    public var temporary: String { root + "/tmp" }
    public var locks: String { root + "/locks" }
    public var lockFile: String { root + "/cache.lock" }
    public var k0sVersions: String { root + "/k0s" }

    public func k0sDirectory(version: String) -> String { "\(k0sVersions)/\(version)" }
    public func k0sUsers(version: String) -> String { k0sDirectory(version: version) + "/users" }
    public func toolDirectory(_ tool: String, version: String, platform: String) -> String {
        "\(root)/tools/\(tool)/\(version)/\(platform)"
    }
}

/// The k0s version a cluster runs, as its record (`state.json`, `k0s_resolved_version`) says.
public enum RecordedK0sVersion {
    /// `k0s_resolved_version` of the record in `layout` (an old `<state>/k0s-version` when the
    /// record predates it); nil without a readable record.
    public static func read(_ layout: StateLayout) -> String? {
        ((try? ClusterRecord.load(layout)) ?? nil)?.resolvedK0sVersion
    }
}
