import Foundation

extension Bootstrap {
    /// `k0slua kubeconfig`: writes k0sctl.yaml again for the applied cluster first, so that the
    /// key it names is this state directory's wherever the project has moved since `up` wrote it,
    /// then fetches the kubeconfig as `up` does.
    public func fetchKubeconfig() async throws -> String? {
        if let record {
            let applied = record.cluster(declared: loaded.cluster)
            artifacts = await K0sCache(fetcher: fetcher).cachedArtifacts(for: applied, layout: layout, host: options.hostFacts)
            if let config = K0sctlRenderer.render(applied, layout: layout, artifacts: artifacts) { try FileWriter.write(config, to: layout.k0sctlConfig) }
        }
        return try await kubeconfig()
    }
}
