import Foundation

public struct TeardownFailure: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// `k0slua destroy`: this cluster's machines (vagrant destroy -f in its own state directory, so no
/// other Vagrant machine is touched), then the generated state and the merged kubeconfig context.
public struct Teardown: Sendable {
    public let cluster: Cluster
    public let layout: StateLayout
    public let runner: any ProcessRunning

    public init(cluster: Cluster, layout: StateLayout, runner: any ProcessRunning) {
        self.cluster = cluster
        self.layout = layout
        self.runner = runner
    }

    public func run(report: (String) -> Void) async throws {
        let files = FileManager.default
        guard files.fileExists(atPath: layout.directory) else {
            report("nothing to destroy: \(layout.directory) does not exist")
            return
        }
        if cluster.provider != .hosts, files.fileExists(atPath: layout.vagrantfile) {
            let result = try await runner.run(Tools(layout: layout).vagrant(["destroy", "-f"]))
            guard result.succeeded else {
                throw TeardownFailure(message: "`vagrant destroy -f` exited with \(result.exitCode); the state in \(layout.directory) is kept\n"
                    + (result.standardOutput + result.standardError).split(separator: "\n").suffix(10).map { "  | \($0)" }.joined(separator: "\n"))
            }
            report("destroyed \(cluster.nodes.count) machine(s)")
        } else if cluster.provider == .hosts {
            report("hosts provider: the machines are yours; k0s is left installed (use `k0sctl reset --config \(layout.k0sctlConfig) --force` to remove it)")
        }
        try? await KubeconfigMerge(runner: runner, layout: layout, clusterName: cluster.name).remove()
        for path in [layout.vagrantfile, layout.k0sctlConfig, layout.kubeconfig, layout.privateKey, layout.publicKey, layout.knownHosts,
                     layout.lockFile, layout.record, layout.directory + "/.vagrant", layout.logs, RecordedK0sVersion.path(layout)] where files.fileExists(atPath: path) {
            try files.removeItem(atPath: path)
        }
        if (try? files.contentsOfDirectory(atPath: layout.directory))?.isEmpty == true {
            try files.removeItem(atPath: layout.directory)
        }
        report("removed \(layout.directory)")
    }
}
