import Foundation

/// The files of one k0s release for one guest architecture, as the k0s release workflow
/// publishes them (`.github/workflows/release.yml`): `k0s-<v>-<arch>`,
/// `k0s-airgap-bundle-<v>-linux-<arch>.tar`, and `sha256sums.txt` (`sha256sum -b` of every asset).
public struct K0sRelease: Sendable, Equatable {
    /// `v1.34.1+k0s.0`.
    public let version: String
    /// `amd64` or `arm64` (k0s naming).
    public let arch: String

    public static let stableURL = "https://docs.k0sproject.io/stable.txt"

    public init(version: String, arch: String) {
        self.version = version.hasPrefix("v") ? version : "v" + version
        self.arch = arch
    }

    /// `v1.34.1+k0s.0`, `1.34.1-rc.1+k0s.0`: digits, dots, a pre-release and the k0s build suffix;
    /// nothing that could be read as a path or an option.
    public static func isValidVersion(_ text: String) -> Bool {
        let body = text.hasPrefix("v") ? text.dropFirst() : Substring(text)
        guard let plus = body.firstIndex(of: "+"), body[body.index(after: plus)...].hasPrefix("k0s.") else { return false }
        let allowed = Set("0123456789.-+abcdefghijklmnopqrstuvwxyz")
        return body.first?.isNumber == true && body.allSatisfy { allowed.contains($0) } && !body.contains("..")
    }

    /// k0s's name for a guest architecture (`x86_64` → `amd64`).
    public static func k0sArch(_ arch: String) -> String {
        switch arch {
        case "x86_64", "amd64": "amd64"
        case "aarch64", "arm64": "arm64"
        default: arch
        }
    }

    /// k0s's name for the architecture `uname -m` prints on a Linux machine; nil for one k0s is not
    /// released for. k0s publishes amd64, arm64 and arm (ARMv7) builds (docs/system-requirements.md
    /// lists x86_64, aarch64 and armv7l).
    public static func k0sArch(uname machine: String) -> String? {
        switch machine {
        case "x86_64": "amd64"
        case "aarch64", "arm64": "arm64"
        case "armv7l": "arm"
        default: nil
        }
    }

    /// The VM guests' architecture: Tart runs arm64 guests on Apple Silicon; libvirt's guests are
    /// this machine's. (Existing `hosts` are asked: `uname -m` over SSH.)
    public static func guestArch(_ cluster: Cluster, host: HostFacts) -> String {
        cluster.provider == .tart ? "arm64" : k0sArch(host.arch)
    }

    var releaseBase: String {
        let tag = version.replacingOccurrences(of: "+", with: "%2B")
        return "https://github.com/k0sproject/k0s/releases/download/\(tag)"
    }

    public var binaryName: String { "k0s-\(version)-\(arch)" }
    public var bundleName: String { "k0s-airgap-bundle-\(version)-linux-\(arch)" + ".tar" }
    public var checksumsURL: String { releaseBase + "/sha256sums.txt" }

    /// The two downloads, into `<cache>/k0s/<version>/linux-<arch>/`.
    public func downloads(in cache: CacheLayout) -> (binary: Download, bundle: Download) {
        let directory = cache.k0sDirectory(version: version) + "/linux-\(arch)"
        return (Download(url: "\(releaseBase)/\(binaryName)", checksum: .listing(url: checksumsURL, name: binaryName),
                         destination: directory + "/k0s", executable: true),
                Download(url: "\(releaseBase)/\(bundleName)", checksum: .listing(url: checksumsURL, name: bundleName),
                         destination: directory + "/" + bundleName, executable: false))
    }
}

/// The k0s binary and image bundle a cluster's nodes get from the host (k0sctl `uploadBinary`).
public struct K0sArtifacts: Sendable, Equatable {
    public var version: String
    public var binary: String
    public var bundle: String
    /// Nodes of another architecture than `binary`'s (a mixed fleet of `hosts`), by name: their
    /// own architecture's binary and bundle.
    public var byNode: [String: Files]

    /// One architecture's binary and image bundle.
    public struct Files: Sendable, Equatable {
        public var binary: String
        public var bundle: String

        public init(binary: String, bundle: String) {
            self.binary = binary
            self.bundle = bundle
        }
    }

    /// - Parameter byNode: nodes whose architecture is not `binary`'s, with their own files.
    public init(version: String, binary: String, bundle: String, byNode: [String: Files] = [:]) {
        self.version = version
        self.binary = binary
        self.bundle = bundle
        self.byNode = byNode
    }

    /// The binary k0sctl uploads to `node`.
    public func binary(for node: String) -> String { byNode[node]?.binary ?? binary }
    /// The image bundle k0sctl uploads to `node`.
    public func bundle(for node: String) -> String { byNode[node]?.bundle ?? bundle }

    /// Where k0s imports image bundles from on every node that runs a kubelet
    /// (`<data-dir>/images`, docs/airgap-install.md).
    public static let imageDirectory = "/var/lib/k0s/images/"
}
