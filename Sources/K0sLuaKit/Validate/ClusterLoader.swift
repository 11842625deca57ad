import Foundation
import Logging

/// A validated cluster, the warnings found on the way, and the Lua runtime that still holds its
/// hook functions.
public struct LoadedCluster: @unchecked Sendable {
    public let cluster: Cluster
    public let warnings: [Diagnostic]
    public let runtime: LuaRuntime
    /// The path of cluster.lua as given.
    public let file: String
}

/// Runs the first stages of the pipeline: Lua → snapshot → decode → validate.
public struct ClusterLoader: Sendable {
    public var budget: LuaBudget
    public var environment: [String: String]
    public var hostFacts: HostFacts
    /// Where cluster.lua's print() and k0s.log go.
    public var logger: Logger

    public init(budget: LuaBudget = .default, environment: [String: String] = ProcessInfo.processInfo.environment,
                hostFacts: HostFacts = .current, logger: Logger = Logger(label: "k0slua.lua")) {
        self.budget = budget
        self.environment = environment
        self.hostFacts = hostFacts
        self.logger = logger
    }

    /// Loads `file`; `require` looks in `libraryDirectory`, by default the `lib/` next to it.
    /// - Parameter displayName: how messages name the file (default: the path as given).
    public func load(file: String, libraryDirectory: String? = nil, displayName: String? = nil) throws(DiagnosticList) -> LoadedCluster {
        let displayName = displayName ?? Self.displayName(for: file)
        let directory = (file as NSString).deletingLastPathComponent
        let lib = libraryDirectory ?? (directory.isEmpty ? "lib" : directory + "/lib")
        var isDirectory: ObjCBool = false
        let hasLib = FileManager.default.fileExists(atPath: lib, isDirectory: &isDirectory) && isDirectory.boolValue
        let runtime = try LuaRuntime(budget: budget, environment: environment, libraryDirectory: hasLib ? lib : nil,
                                     hostFacts: hostFacts, logger: logger)
        let value = try runtime.evaluate(file: file, displayName: displayName)
        let (decoded, shapeProblems) = ClusterDecoder(file: displayName).decodePartially(value)
        guard var cluster = decoded else { throw DiagnosticList(shapeProblems) }
        Self.resolveKeyPaths(&cluster, clusterFile: file)
        let validator = ClusterValidator(file: displayName, hostFacts: hostFacts)
        // With nodes left out by shape problems, whole-cluster rules would only add noise.
        let meaning = validator.diagnostics(for: cluster).filter { diagnostic in
            shapeProblems.isEmpty || ![.noController, .noWorkloadNode, .evenControllerCount, .exceedsHostCapacity].contains(diagnostic.code)
        }
        let all = shapeProblems + meaning
        if all.contains(where: { $0.severity == .error }) { throw DiagnosticList(all) }
        return LoadedCluster(cluster: cluster, warnings: all, runtime: runtime, file: file)
    }

    /// A relative `ssh.key_path` means relative to cluster.lua's folder, wherever k0slua runs;
    /// `~/…` is left for ssh and k0sctl to expand.
    static func resolveKeyPaths(_ cluster: inout Cluster, clusterFile: String) {
        let folder = (StateLayout.absolutePath(clusterFile) as NSString).deletingLastPathComponent
        func resolved(_ path: String?) -> String? {
            guard let path, !path.isEmpty, !path.hasPrefix("/"), !path.hasPrefix("~") else { return path }
            return StateLayout.absolutePath(path, relativeTo: folder)
        }
        cluster.ssh.keyPath = resolved(cluster.ssh.keyPath)
        for index in cluster.nodes.indices { cluster.nodes[index].ssh.keyPath = resolved(cluster.nodes[index].ssh.keyPath) }
    }

    /// How messages name the file: as the user gave it, without a leading `./`.
    static func displayName(for file: String) -> String {
        file.hasPrefix("./") ? String(file.dropFirst(2)) : file
    }
}
