import Foundation

/// Merges the cluster's kubeconfig into the user's (first path of $KUBECONFIG, else
/// ~/.kube/config) under the context `k0slua-<name>`, and takes it out again.
public struct KubeconfigMerge: Sendable {
    public let runner: any ProcessRunning
    public let layout: StateLayout
    public let clusterName: String
    public var environment: [String: String] = ProcessInfo.processInfo.environment

    public init(runner: any ProcessRunning, layout: StateLayout, clusterName: String) {
        self.runner = runner
        self.layout = layout
        self.clusterName = clusterName
    }

    /// The name of the cluster, user and context entries: `k0slua-<name>`.
    public static func entryName(cluster: String) -> String { "k0slua-\(cluster)" }

    public var contextName: String { Self.entryName(cluster: clusterName) }

    public var userKubeconfig: String {
        if let first = environment["KUBECONFIG"]?.split(separator: ":").first, !first.isEmpty { return String(first) }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.kube/config"
    }

    /// Merges the cluster's kubeconfig (whose entries are all named `k0slua-<name>`) into the
    /// user's; the user's current context stays as it was. Entries of an earlier merge are replaced.
    public func merge() async throws {
        try await remove()
        try? FileManager.default.createDirectory(atPath: (userKubeconfig as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let existing = FileManager.default.fileExists(atPath: userKubeconfig)
        let paths = existing ? "\(userKubeconfig):\(layout.kubeconfig)" : layout.kubeconfig
        let merged = try await runner.run(Command("kubectl", ["config", "view", "--flatten"], environment: ["KUBECONFIG": paths]))
        guard merged.succeeded else { throw KubeconfigMergeError(message: merged.standardError) }
        try FileWriter.write(merged.standardOutput, to: userKubeconfig, permissions: 0o600)
    }

    /// Removes the context, cluster and user entries from the user's kubeconfig.
    public func remove() async throws {
        guard FileManager.default.fileExists(atPath: userKubeconfig) else { return }
        let kubeconfig = ["--kubeconfig", userKubeconfig, "config"]
        let present = try await runner.run(Command("kubectl", kubeconfig + ["get-contexts", "-o", "name"]))
        guard present.standardOutput.split(separator: "\n").contains(Substring(contextName)) else { return }
        for command in [["delete-context", contextName], ["delete-cluster", contextName], ["delete-user", contextName]] {
            _ = try await runner.run(Command("kubectl", kubeconfig + command))
        }
    }
}

public struct KubeconfigMergeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { "kubeconfig merge failed: \(message)" }
}
