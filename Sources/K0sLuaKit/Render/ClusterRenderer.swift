/// The files generated from a validated cluster. Pure: no I/O.
public struct RenderedFiles: Sendable, Equatable {
    /// nil for the `hosts` provider (no VMs).
    public var vagrantfile: String?
    /// nil until every node's address is known (boot-assigned addresses).
    public var k0sctlConfig: String?
}

/// Renders every generated file; `k0slua render` and `k0slua up` both go through here.
public enum ClusterRenderer {
    /// - Parameters:
    ///   - publicKey: the cluster's SSH public key line, authorized inside every guest.
    ///   - layout: where the files, key and known_hosts live (k0sctl.yaml names the key by path).
    ///   - artifacts: the cached k0s binary and image bundle k0sctl uploads (nil: nodes download k0s).
    public static func render(_ cluster: Cluster, publicKey: String, layout: StateLayout, artifacts: K0sArtifacts? = nil,
                              provisioned: Set<String> = []) -> RenderedFiles {
        RenderedFiles(vagrantfile: VagrantfileRenderer.render(cluster, publicKey: publicKey, layout: layout, provisioned: provisioned),
                      k0sctlConfig: K0sctlRenderer.render(cluster, layout: layout, artifacts: artifacts))
    }

    /// Writes the files into the layout's directory; returns the paths that changed.
    public static func write(_ files: RenderedFiles, to layout: StateLayout) throws -> [String] {
        var changed: [String] = []
        try FileWriter.makePrivate(layout)
        if let vagrantfile = files.vagrantfile, try FileWriter.write(vagrantfile, to: layout.vagrantfile) {
            changed.append(layout.vagrantfile)
        }
        if let config = files.k0sctlConfig, try FileWriter.write(config, to: layout.k0sctlConfig) { changed.append(layout.k0sctlConfig) }
        return changed
    }
}

