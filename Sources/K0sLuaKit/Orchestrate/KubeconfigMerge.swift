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

    public var contextName: String { "k0slua-\(clusterName)" }

    public var userKubeconfig: String {
        if let first = environment["KUBECONFIG"]?.split(separator: ":").first, !first.isEmpty { return String(first) }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.kube/config"
    }

    /// Renames cluster, user and context of a copy to `k0slua-<name>` and merges it in.
    public func merge() async throws {
        let copy = layout.directory + "/kubeconfig.merge"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: layout.kubeconfig, toPath: copy)
        let view = try await runner.run(Command("kubectl", ["--kubeconfig", copy, "config", "view", "--raw", "-o", "jsonpath={.current-context}"]))
        let current = view.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        if !current.isEmpty, current != contextName {
            _ = try await runner.run(Command("kubectl", ["--kubeconfig", copy, "config", "rename-context", current, contextName]))
        }
        try? FileManager.default.createDirectory(atPath: (userKubeconfig as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let existing = FileManager.default.fileExists(atPath: userKubeconfig)
        let paths = existing ? "\(userKubeconfig):\(copy)" : copy
        let merged = try await runner.run(Command("kubectl", ["config", "view", "--flatten"], environment: ["KUBECONFIG": paths]))
        guard merged.succeeded else { throw KubeconfigMergeError(message: merged.standardError) }
        try FileWriter.write(merged.standardOutput, to: userKubeconfig, permissions: 0o600)
    }

    /// Removes the context (and its cluster and user entries) from the user's kubeconfig.
    public func remove() async throws {
        guard FileManager.default.fileExists(atPath: userKubeconfig) else { return }
        for (kind, name) in [("delete-context", contextName)] {
            _ = try await runner.run(Command("kubectl", ["--kubeconfig", userKubeconfig, "config", kind, name]))
        }
    }
}

public struct KubeconfigMergeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { "kubeconfig merge failed: \(message)" }
}
