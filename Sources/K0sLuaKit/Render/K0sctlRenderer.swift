import Foundation

/// k0sctl.yaml (apiVersion k0sctl.k0sproject.io/v1beta1, kind Cluster). k0sctl decodes it strictly,
/// so only keys k0sctl v0.32 knows are written.
public enum K0sctlRenderer {
    /// nil until every node's address is known: a boot-assigned address exists only once the
    /// machines run, and k0sctl needs each host's one address.
    /// - Parameters:
    ///   - artifacts: k0s from the host's cache: k0sctl uploads each host its architecture's binary
    ///     and every kubelet node gets the image bundle, so nodes download nothing (nil: nodes
    ///     download k0s).
    ///   - resetting: hosts that leave the cluster: `reset: true` makes `k0sctl apply` drain them,
    ///     delete their Node and reset k0s on them (k0sctl phase/reset_workers.go).
    public static func render(_ cluster: Cluster, layout: StateLayout, artifacts: K0sArtifacts? = nil, resetting: Set<String> = []) -> String? {
        guard cluster.unresolvedNodes.isEmpty else { return nil }
        var out = """
        # \(generatedHeader)
        apiVersion: k0sctl.k0sproject.io/v1beta1
        kind: Cluster
        metadata:
          name: \(Quote.k0sctl(cluster.name))
        spec:
          hosts:

        """
        // The first controller leads (k0sctl installs it first); then controllers, then workers.
        for node in cluster.controllers + cluster.workers {
            out += host(node, layout: layout, artifacts: artifacts)
            if resetting.contains(node.name) { out += "    reset: true\n" }
        }
        out += "  k0s:\n"
        if let version = artifacts?.version ?? cluster.k0s.version { out += "    version: \(Quote.k0sctl(version))\n" }
        out += config(cluster).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") + "\n"
        return out
    }

    static func host(_ node: Node, layout: StateLayout, artifacts: K0sArtifacts?) -> String {
        var out = "  - role: \(node.k0sRole.rawValue)\n"
        // Kubernetes names a node after this (kubelet --hostname-override); without it, after the
        // machine's own hostname, which on `hosts` need not be the name cluster.lua gave it.
        out += "    hostname: \(Quote.k0sctl(node.name))\n"
        if node.k0sRole == .controllerWorker { out += "    noTaints: true\n" }
        out += "    ssh:\n"
        out += "      address: \(Quote.k0sctl(node.sshAddress ?? ""))\n"
        out += "      user: \(Quote.k0sctl(node.ssh.user))\n"
        out += "      port: \(node.ssh.port)\n"
        out += "      keyPath: \(Quote.k0sctl(absolute(node.ssh.keyPath ?? layout.privateKey)))\n"
        out += "    privateAddress: \(Quote.k0sctl(node.ip?.description ?? ""))\n"
        var flags: [String] = []
        if node.runsWorkloads {
            if !node.labels.isEmpty { flags.append("--labels=" + node.labels.map(\.description).joined(separator: ",")) }
            if !node.taints.isEmpty { flags.append("--taints=" + node.taints.map(\.description).joined(separator: ",")) }
        }
        if !flags.isEmpty {
            out += "    installFlags:\n" + flags.map { "    - \(Quote.k0sctl($0))\n" }.joined()
        }
        if let artifacts {
            out += "    uploadBinary: true\n    k0sBinaryPath: \(Quote.k0sctl(artifacts.binary(for: node.name)))\n"
            if node.k0sRole != .controller {
                out += "    files:\n    - name: k0s-airgap-bundle\n      src: \(Quote.k0sctl(artifacts.bundle(for: node.name)))\n"
                out += "      dstDir: \(K0sArtifacts.imageDirectory)\n      perm: \"0644\"\n"
            }
        }
        if !node.k0sctlHooks.isEmpty {
            out += "    hooks:\n"
            for action in ClusterDecoder.k0sctlHookActions {
                guard let stages = node.k0sctlHooks[action], !stages.isEmpty else { continue }
                out += "      \(action):\n"
                for stage in ClusterDecoder.k0sctlHookStages {
                    guard let commands = stages[stage] else { continue }
                    out += "        \(stage):\n" + commands.map { "        - \(Quote.k0sctl($0))\n" }.joined()
                }
            }
        }
        return out
    }

    /// The k0s ClusterConfig, always written out: without it k0sctl would take `k0s config create`
    /// from the leader, whose `spec.api.address` pins every controller to the leader's address.
    /// `onlyBindToAddress` makes k0sctl set each controller's `api.address` to its privateAddress
    /// (k0sctl phase/configure_k0s.go; k0s ≥ v1.31.1), so the API, etcd's peer address, kubelet's
    /// node-ip and the node's source address are one address — never the libvirt management NIC.
    static func config(_ cluster: Cluster) -> String {
        var sans = cluster.controllers.compactMap { $0.ip?.description }
        if let vip = cluster.k0s.vip { sans.append(vip.description) }
        var out = """
        config:
          apiVersion: k0s.k0sproject.io/v1beta1
          kind: ClusterConfig
          metadata:
            name: \(Quote.k0sctl(cluster.name))
          spec:
            api:
              onlyBindToAddress: true
              sans:

        """
        out += sans.map { "      - \(Quote.k0sctl($0))\n" }.joined()
        let nllb = cluster.nodeLocalLoadBalancingEnabled
        // Where the network drops frames whose source is not a node's lease (softnet), pods'
        // traffic between nodes must leave with the node's address: Calico in VXLAN mode
        // encapsulates it; kube-router (k0s's default) routes pod addresses natively.
        let encapsulatePods = cluster.provider == .tart && cluster.network.tartMode.enforcesLeaseSource
        if nllb || cluster.k0s.vip != nil || encapsulatePods {
            out += "    network:\n"
            if encapsulatePods {
                out += "      provider: calico\n      calico:\n        mode: vxlan\n"
            }
            if nllb {
                out += "      nodeLocalLoadBalancing:\n        enabled: true\n        type: EnvoyProxy\n"
            }
            if let vip = cluster.k0s.vip {
                out += """
                      controlPlaneLoadBalancing:
                        enabled: true
                        type: Keepalived
                        keepalived:
                          vrrpInstances:
                          - virtualIPs:
                            - \(Quote.k0sctl("\(vip)/\(cluster.network.cidr.prefixLength)"))
                            authPass: \(Quote.k0sctl(cluster.k0s.vipAuthPass))

                """
            }
        }
        return out
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/") { return path }
        return FileManager.default.currentDirectoryPath + "/" + path
    }
}
