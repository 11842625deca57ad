import Foundation

/// A k0s release version (`v1.34.2+k0s.0`, `v1.35.0-rc.1+k0s.0`), ordered as k0s releases follow
/// each other: the semantic version first (a pre-release before its release, pre-release
/// identifiers compared as semver says), then the number after `+k0s.` (k0sproject/version
/// `version.go`, `Compare`).
public struct K0sVersion: Comparable, Sendable, CustomStringConvertible {
    /// Major, minor, patch.
    public let core: [Int]
    /// The pre-release identifiers (`rc`, `1` of `-rc.1`); empty for a release.
    public let preRelease: [String]
    /// The `N` of `+k0s.N`.
    public let k0s: Int
    public let description: String

    /// nil unless `text` is `[v]MAJOR.MINOR.PATCH[-PRE]+k0s.N`.
    public init?(_ text: String) {
        let body = text.hasPrefix("v") ? String(text.dropFirst()) : text
        guard let plus = body.firstIndex(of: "+") else { return nil }
        let build = body[body.index(after: plus)...].split(separator: ".", omittingEmptySubsequences: false)
        guard build.count == 2, build[0] == "k0s", let k0s = Int(build[1]), k0s >= 0 else { return nil }
        let version = body[..<plus]
        let dash = version.firstIndex(of: "-")
        let core = version[..<(dash ?? version.endIndex)].split(separator: ".", omittingEmptySubsequences: false)
        guard core.count == 3, core.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return nil }
        var preRelease: [String] = []
        if let dash {
            preRelease = version[version.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard preRelease.allSatisfy({ !$0.isEmpty }) else { return nil }
        }
        self.core = core.compactMap { Int($0) }
        guard self.core.count == 3 else { return nil }
        self.preRelease = preRelease
        self.k0s = k0s
        description = "v" + body
    }

    public static func == (a: K0sVersion, b: K0sVersion) -> Bool {
        a.core == b.core && a.preRelease == b.preRelease && a.k0s == b.k0s
    }

    public static func < (a: K0sVersion, b: K0sVersion) -> Bool {
        if a.core != b.core { return a.core.lexicographicallyPrecedes(b.core) }
        if a.preRelease != b.preRelease { return preReleasePrecedes(a.preRelease, b.preRelease) }
        return a.k0s < b.k0s
    }

    /// Semantic versioning 2.0.0 §11: no pre-release ranks above any; numeric identifiers compare
    /// as numbers and below alphanumeric ones; a shorter list that is a prefix ranks lower.
    static func preReleasePrecedes(_ a: [String], _ b: [String]) -> Bool {
        if a.isEmpty || b.isEmpty { return !a.isEmpty }
        for (x, y) in zip(a, b) where x != y {
            switch (Int(x), Int(y)) {
            case let (m?, n?): return m < n
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return x < y
            }
        }
        return a.count < b.count
    }
}
