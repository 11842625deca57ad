import Foundation

/// k0sctl and kubeconfig: leaving nodes drained and out of etcd, `k0sctl apply` of the file this
/// run wrote, and the kubeconfig fetched (and merged when asked).
extension Bootstrap {
    func k0sctlApply() async throws -> String? {
        // Before anything is drained: k0sctl will apply what this run wrote, or nothing.
        try requireWrittenK0sctlConfig(k0sctlCluster, phase: .k0sctl)
        try await checkControllerRemoval()
        try await checkLoadBalancerInterpreter()
        try await drainLeaving()
        try await leaveEtcd()
        try await applyK0sctl(k0sctlCluster, phase: .k0sctl)
        k0sApplied = true
        let loadBalancer = try await applyLoadBalancer()
        let upgrade = diff.isUpgrade ? " (k0s upgraded to \(cluster.k0s.version ?? "latest"))" : ""
        let reset = resetting.isEmpty ? "" : "; reset \(resetting.map(\.name).joined(separator: ", "))"
        return "k0sctl apply succeeded for \(cluster.nodes.count) hosts\(reset)\(upgrade)\(loadBalancer)"
    }

    /// `k0sctl kubeconfig` printed to stdout and written whole (never `--kubeconfig-out`, which
    /// does not truncate an existing file).
    /// Fetches the kubeconfig into the state directory (and merges it when asked).
    @discardableResult
    public func kubeconfig() async throws -> String? {
        // Cluster and user entries unique to this cluster's identity, so the kubeconfig merges into
        // the user's cleanly; the context keeps the readable k0slua-<name>.
        let merge = KubeconfigMerge(runner: runner, layout: layout, clusterName: cluster.name)
        let name = merge.ownEntryName
        var arguments = ["kubeconfig", "--config", layout.k0sctlConfig, "--cluster", name, "--user", name]
        if let vip = cluster.k0s.vip { arguments += ["--address", "https://\(vip):6443"] }
        let result = try await step(.kubeconfig, tools.k0sctl(arguments), log: "k0sctl-kubeconfig", secretOutput: true)
        guard result.standardOutput.contains("apiVersion:") else {
            throw BootstrapFailure(phase: .kubeconfig, tool: "k0sctl", message: "`k0sctl kubeconfig` printed no kubeconfig",
                                   outputTail: Array(result.standardOutput.split(separator: "\n").suffix(5).map(String.init)), logFile: nil)
        }
        try FileWriter.write(KubeconfigMerge.renamingContext(result.standardOutput, to: merge.contextName), to: layout.kubeconfig, permissions: 0o600)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: layout.kubeconfig)
        if options.mergeKubeconfig {
            do {
                try await merge.merge()
            } catch let error as KubeconfigMergeError {
                throw BootstrapFailure(phase: .kubeconfig, tool: "kubectl", message: error.message, outputTail: [], logFile: nil)
            }
        }
        return layout.kubeconfig
    }
}
