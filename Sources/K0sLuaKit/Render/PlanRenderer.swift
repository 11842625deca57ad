import Foundation

/// Renders the plan: a table of nodes, totals against the host, and warnings (text), or the typed
/// model (JSON, keys documented in docs/plan-json.md).
public enum PlanRenderer {
    public static func text(_ cluster: Cluster, warnings: [Diagnostic], hostFacts: HostFacts) -> String {
        let header = ["NAME", "ROLE", "K0S ROLE", "IP", "CPUS", "MEMORY", "DISK", "WORKLOADS", "LABELS/TAINTS"]
        let rows: [[String]] = cluster.nodes.map { node in
            let marks = node.labels.map(\.description) + node.taints.map(\.description)
            return [node.name, node.role.rawValue, node.k0sRole.rawValue, node.addressDescription, String(node.cpus),
                    "\(node.memoryMiB) MiB", "\(node.diskGB) GB", node.runsWorkloads ? "yes" : "no",
                    marks.isEmpty ? "-" : marks.joined(separator: ",")]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                // Every cell is at most its column's width (Foundation's padding cost ~8 % of a 1,000-node plan).
                index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
        // Counted in place: `cluster.controllers` copies every Node.
        let controllers = cluster.nodes.count { $0.role == .controller }, workers = cluster.nodes.count { $0.role == .worker }
        var out = "cluster \(cluster.name): \(controllers) controller\(controllers == 1 ? "" : "s") + "
            + "\(workers) worker\(workers == 1 ? "" : "s") on \(cluster.provider.rawValue)"
        out += cluster.provider == .hosts ? "\n" : ", network \(cluster.network.cidr)\n"
        out += "k0s: \(cluster.k0s.version ?? "latest stable")"
        if let vip = cluster.k0s.vip { out += ", VIP \(vip)" }
        if cluster.nodeLocalLoadBalancingEnabled { out += ", node-local load balancing" }
        out += "\nLoadBalancer services: " + loadBalancerNote(cluster.loadBalancer)
        if cluster.provider == .tart { out += "\nTart network: \(cluster.network.tartMode.rawValue)" }
        if cluster.provider == .tart, cluster.network.tartMode == .bridged { out += "\nnote: " + bridgedNote }
        if !cluster.unresolvedNodes.isEmpty {
            out += "\naddresses: assigned at boot by DHCP, discovered after the machines start (`k0slua status` shows them)"
        }
        out += "\n\n" + line(header) + "\n"
        for row in rows { out += line(row) + "\n" }
        let cpus = cluster.nodes.reduce(0) { $0 + $1.cpus }
        let memory = cluster.nodes.reduce(0) { $0 + $1.memoryMiB }
        let disk = cluster.nodes.reduce(0) { $0 + $1.diskGB }
        out += "\ntotal: \(cpus) CPUs, \(memory) MiB memory, \(disk) GB disk"
        if cluster.provider != .hosts {
            out += " (host: \(hostFacts.cpus) CPUs, \(hostFacts.memoryMiB) MiB)"
        }
        out += "\n"
        for warning in warnings {
            out += "warning: \(warning.description)\n"
        }
        return out
    }

    /// How LoadBalancer services get addresses, for the plan.
    static func loadBalancerNote(_ mode: LoadBalancerMode) -> String {
        switch mode {
        case .nodeIP: "node-ip (k0slua's controller gives them the nodes' addresses; docs/services.md)"
        case .off: "off (nothing installed; they stay pending without a load balancer of your own)"
        }
    }

    /// The plan's note for Tart's bridged mode.
    public static let bridgedNote = "bridged mode is experimental: Vagrant finds each guest through the Mac's ARP cache, "
        + "which must know it on the first boot and on every later start or resize (docs/providers.md, bridged)"

    /// The stable JSON form of the plan.
    /// - Parameter diff: cluster.lua against the record (`changes`); nil: every node joins.
    public static func json(_ cluster: Cluster, warnings: [Diagnostic], diff: ClusterDiff? = nil) -> String {
        let plan = PlanJSON(cluster: cluster, warnings: warnings, diff: diff ?? ClusterDiff(declared: cluster, record: nil))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(plan)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// The `plan --json` document. Keys are part of k0slua's interface: add, never rename.
struct PlanJSON: Encodable {
    struct NodeJSON: Encodable {
        let name: String
        let role: String
        let k0sRole: String
        /// Absent while the address is assigned at boot and not known yet.
        let ip: String?
        let addressing: String
        let cpus: Int
        let memoryMb: Int
        let diskGb: Int
        let runsWorkloads: Bool
        let labels: [String: String]
        let taints: [String]
        let ssh: SSHJSON
        let hooks: [String]

        enum CodingKeys: String, CodingKey {
            case name, role, ip, addressing, cpus, labels, taints, ssh, hooks
            case k0sRole = "k0s_role"
            case memoryMb = "memory_mb"
            case diskGb = "disk_gb"
            case runsWorkloads = "runs_workloads"
        }
    }

    struct SSHJSON: Encodable {
        let address: String?
        let user: String
        let port: Int
        let keyPath: String?

        enum CodingKeys: String, CodingKey {
            case address, user, port
            case keyPath = "key_path"
        }
    }

    struct WarningJSON: Encodable {
        let code: String
        let path: String
        let line: Int?
        let message: String
    }

    let name: String
    let provider: String
    let image: String?
    struct K0sJSON: Encodable {
        let version: String?
        let vip: String?
        let nodeLocalLoadBalancing: Bool

        enum CodingKeys: String, CodingKey {
            case version, vip
            case nodeLocalLoadBalancing = "node_local_load_balancing"
        }
    }

    let network: [String: String]
    let k0s: K0sJSON
    let loadBalancer: String
    let nodes: [NodeJSON]
    let totals: [String: Int]
    let warnings: [WarningJSON]
    /// What `up` would do to the applied cluster (docs/plan-json.md).
    let changes: [ClusterDiff.NodeChange]
    let clusterChanges: [ClusterDiff.FieldChange]
    let refused: [ClusterDiff.Refusal]
    let forceRequired: [ClusterDiff.Refusal]
    let resized: [String]
    let upgrade: Bool

    enum CodingKeys: String, CodingKey {
        case name, provider, image, network, k0s, nodes, totals, warnings, changes, refused, upgrade
        case clusterChanges = "cluster_changes"
        case loadBalancer = "load_balancer"
        case forceRequired = "force_required"
        case resized
    }

    init(cluster: Cluster, warnings: [Diagnostic], diff: ClusterDiff) {
        changes = diff.nodes
        clusterChanges = diff.cluster
        refused = diff.refusals
        forceRequired = diff.guarded
        resized = diff.resizing
        upgrade = diff.isUpgrade
        name = cluster.name
        provider = cluster.provider.rawValue
        image = cluster.image
        var network = ["cidr": cluster.network.cidr.description, "gateway": cluster.network.gateway.description]
        if cluster.provider == .tart { network["mode"] = cluster.network.tartMode.rawValue }
        if let bridge = cluster.network.bridgeInterface { network["bridge_interface"] = bridge }
        self.network = network
        k0s = K0sJSON(version: cluster.k0s.version, vip: cluster.k0s.vip?.description,
                      nodeLocalLoadBalancing: cluster.nodeLocalLoadBalancingEnabled)
        loadBalancer = cluster.loadBalancer.rawValue
        nodes = cluster.nodes.map { node in
            var hooks: [String] = []
            if node.hooks.preJoin != nil { hooks.append("pre_join") }
            if node.hooks.postJoin != nil { hooks.append("post_join") }
            return NodeJSON(name: node.name, role: node.role.rawValue, k0sRole: node.k0sRole.rawValue, ip: node.ip?.description,
                            addressing: node.addressing.rawValue,
                            cpus: node.cpus, memoryMb: node.memoryMiB, diskGb: node.diskGB, runsWorkloads: node.runsWorkloads,
                            labels: Dictionary(node.labels.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }),
                            taints: node.taints.map(\.description),
                            ssh: SSHJSON(address: node.sshAddress, user: node.ssh.user, port: node.ssh.port, keyPath: node.ssh.keyPath),
                            hooks: hooks)
        }
        totals = ["cpus": cluster.nodes.reduce(0) { $0 + $1.cpus },
                  "memory_mb": cluster.nodes.reduce(0) { $0 + $1.memoryMiB },
                  "disk_gb": cluster.nodes.reduce(0) { $0 + $1.diskGB },
                  "controllers": cluster.nodes.count { $0.role == .controller }, "workers": cluster.nodes.count { $0.role == .worker }]
        self.warnings = warnings.map { WarningJSON(code: $0.code.rawValue, path: $0.path, line: $0.line, message: $0.message) }
    }
}
