import Foundation

/// Where k0slua keeps what it generates for one cluster. Default: `<cluster.lua dir>/.k0slua/<name>/`.
public struct StateLayout: Sendable, Equatable {
    public let directory: String
    /// The identity recorded in the directory's state.json (ClusterIdentity), when there is one:
    /// it stays the cluster's identity after the project is moved or renamed.
    public let recordedID: String?

    public init(directory: String, recordedID: String? = nil) {
        self.directory = directory
        self.recordedID = recordedID
    }

    /// The default state directory for a cluster defined in `clusterFile`.
    public static func `default`(clusterFile: String, clusterName: String) -> StateLayout {
        let dir = clusterFile.contains("/") ? String(clusterFile[..<clusterFile.lastIndex(of: "/")!]) : "."
        return StateLayout(directory: "\(dir.isEmpty ? "/" : dir)/.k0slua/\(clusterName)")
    }

    /// The one layout every command uses: `stateDirectory` when given, else the default next to
    /// cluster.lua; relative paths are taken from the working directory and normalised, so that
    /// `render` and `up` write the same paths into the files. The identity is the recorded one
    /// when the directory holds a record.
    public static func resolve(stateDirectory: String?, clusterFile: String, clusterName: String) -> StateLayout {
        if let stateDirectory { return StateLayout(directory: absolutePath(stateDirectory)).identified() }
        return StateLayout.default(clusterFile: absolutePath(clusterFile), clusterName: clusterName).identified()
    }

    /// `path` made absolute against the working directory, without `.` and `..` parts.
    public static func absolutePath(_ path: String, relativeTo base: String = FileManager.default.currentDirectoryPath) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardizedFileURL.path
    }

    public var vagrantfile: String { "\(directory)/Vagrantfile" }
    public var k0sctlConfig: String { "\(directory)/k0sctl.yaml" }
    public var privateKey: String { "\(directory)/id_ed25519" }
    public var publicKey: String { "\(directory)/id_ed25519.pub" }
    public var knownHosts: String { "\(directory)/known_hosts" }
    public var kubeconfig: String { "\(directory)/kubeconfig" }
    public var logs: String { "\(directory)/logs" }
    public var lockFile: String { "\(directory)/up.lock" }
    /// The record of the applied cluster (docs/state.md).
    public var record: String { "\(directory)/state.json" }
}
