import Foundation
import Yams

/// Merges the cluster's kubeconfig into the user's (first path of $KUBECONFIG, else
/// ~/.kube/config) under the context `k0slua-<name>`, and takes it out again. The context's
/// cluster and user entries are named `k0slua-<id>` (ClusterIdentity): that is how k0slua tells
/// a context it wrote from one another cluster with the same name wrote, which it never
/// overwrites or removes.
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

    /// The cluster and user entries: `k0slua-<id>`, unique to this cluster's state directory.
    public var ownEntryName: String { "k0slua-\(layout.clusterID(name: clusterName))" }

    /// Who wrote the user's context `k0slua-<name>`.
    public enum Owner: Equatable, Sendable {
        case none
        case this
        /// Another cluster (or the user): the cluster entry the context points at.
        case other(String)
    }

    public func owner() async throws -> Owner {
        guard FileManager.default.fileExists(atPath: userKubeconfig) else { return .none }
        let query = "{.contexts[?(@.name==\"\(contextName)\")].context.cluster}"
        let result = try await runner.run(Command("kubectl", ["--kubeconfig", userKubeconfig, "config", "view", "-o", "jsonpath=\(query)"]))
        let cluster = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        if !result.succeeded || cluster.isEmpty { return .none }
        return cluster == ownEntryName ? .this : .other(cluster)
    }

    /// Names the context of a kubeconfig k0sctl wrote with cluster and user `k0slua-<id>`
    /// `k0slua-<name>`; everything else stays as k0sctl wrote it.
    public static func renamingContext(_ text: String, to name: String) -> String {
        guard var object = (try? Yams.load(yaml: text)) as? [String: Any],
              var contexts = object["contexts"] as? [[String: Any]], contexts.count == 1 else { return text }
        contexts[0]["name"] = name
        object["contexts"] = contexts
        object["current-context"] = name
        return (try? Yams.dump(object: object, sortKeys: true)) ?? text
    }

    public var userKubeconfig: String {
        if let first = environment["KUBECONFIG"]?.split(separator: ":").first, !first.isEmpty { return String(first) }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.kube/config"
    }

    /// Merges the cluster's kubeconfig (whose entries are all named `k0slua-<name>`) into the
    /// user's; the user's current context stays as it was. Entries of an earlier merge are replaced.
    public func merge() async throws {
        if case .other(let cluster) = try await owner() {
            throw KubeconfigMergeError(message: "the context \(contextName) in \(userKubeconfig) belongs to another cluster (\(cluster)); "
                + "k0slua leaves it alone: use KUBECONFIG=\(layout.kubeconfig), or give this cluster another name")
        }
        try await remove()
        try? FileManager.default.createDirectory(atPath: (userKubeconfig as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let existing = FileManager.default.fileExists(atPath: userKubeconfig)
        let paths = existing ? "\(userKubeconfig):\(layout.kubeconfig)" : layout.kubeconfig
        let merged = try await runner.run(Command("kubectl", ["config", "view", "--flatten"], environment: ["KUBECONFIG": paths]))
        guard merged.succeeded else { throw KubeconfigMergeError(message: merged.standardError) }
        try FileWriter.write(merged.standardOutput, to: userKubeconfig, permissions: 0o600)
    }

    /// Removes the context, cluster and user entries this cluster wrote into the user's
    /// kubeconfig; returns false when the context belongs to another cluster (left alone).
    @discardableResult
    public func remove() async throws -> Bool {
        switch try await owner() {
        case .none: return true
        case .other: return false
        case .this: break
        }
        let kubeconfig = ["--kubeconfig", userKubeconfig, "config"]
        for command in [["delete-context", contextName], ["delete-cluster", ownEntryName], ["delete-user", ownEntryName]] {
            _ = try await runner.run(Command("kubectl", kubeconfig + command))
        }
        return true
    }
}

public struct KubeconfigMergeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { "kubeconfig merge failed: \(message)" }
}
