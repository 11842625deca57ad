import Foundation

/// The difference between cluster.lua and the record of the applied cluster: what `plan` shows
/// first and what `up` converges (docs/bootstrap.md, "Lifecycle").
public struct ClusterDiff: Sendable, Equatable {
    /// What happens to one node.
    public enum Kind: String, Sendable, Encodable {
        /// `+`: the node joins.
        case join
        /// `-`: the node leaves.
        case leave
        /// `~`: the node changes (see `fields`).
        case change
        /// `=`: unchanged.
        case unchanged

        public var symbol: String {
            switch self {
            case .join: "+"
            case .leave: "-"
            case .change: "~"
            case .unchanged: "="
            }
        }
    }

    /// One field that differs: what the record holds and what cluster.lua asks for.
    public struct FieldChange: Sendable, Equatable, Encodable {
        public var field: String
        public var from: String
        public var to: String
    }

    public struct NodeChange: Sendable, Equatable, Encodable {
        public var node: String
        public var kind: Kind
        public var role: NodeRole
        public var fields: [FieldChange]
        /// What `up` does to the node, for the text plan (`drained, leaves etcd, reset, …`).
        public var detail: String? = nil

        enum CodingKeys: String, CodingKey { case node, change, symbol, role, fields }

        /// `{"node", "change": "join|leave|change|unchanged", "symbol": "+|-|~|=", "role", "fields"}`
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(node, forKey: .node)
            try container.encode(kind.rawValue, forKey: .change)
            try container.encode(kind.symbol, forKey: .symbol)
            try container.encode(role.rawValue, forKey: .role)
            try container.encode(fields, forKey: .fields)
        }
    }

    /// A change `up` cannot make in place, with the reason and the commands that rebuild.
    public struct Refusal: Sendable, Equatable, Encodable, CustomStringConvertible {
        public var subject: String
        public var reason: String
        public var description: String { "\(subject): \(reason)" }
    }

    public var nodes: [NodeChange]
    /// Cluster-wide fields that differ (provider, network, k0s version).
    public var cluster: [FieldChange]
    public var refusals: [Refusal]
    /// Controller removals `up` makes only with `--force-controller-removal`: the leader leaves, or
    /// fewer controllers than etcd's quorum of today's members stay.
    public var guarded: [Refusal]
    /// Nodes whose CPUs or memory change: `up` resizes them one at a time (not on `hosts`).
    public var resizing: [String]
    /// The flag that lets `up` make the changes in `guarded`.
    public static let forceControllerRemovalFlag = "--force-controller-removal"

    /// Whether nothing differs.
    public var isEmpty: Bool { cluster.isEmpty && nodes.allSatisfy { $0.kind == .unchanged } }
    public var joining: [String] { nodes.filter { $0.kind == .join }.map(\.node) }
    public var leaving: [String] { nodes.filter { $0.kind == .leave }.map(\.node) }
    /// Which way the k0s version moves, when it changes.
    public enum VersionChange: String, Sendable {
        /// k0sctl apply upgrades, controllers then workers.
        case upgrade
        /// Refused: k0s does not support going back (k0sctl refuses it too, phase/validate_facts.go).
        case downgrade
        /// One side is not a k0s version k0slua can order (unpinned with no version recorded).
        case change
    }

    /// How the k0s version changes (nil: it does not).
    public var k0sVersionChange: VersionChange?
    /// The k0s version goes up: k0sctl apply upgrades, controllers then workers.
    public var isUpgrade: Bool { k0sVersionChange == .upgrade }

    /// cluster.lua's `declared` against `record`; nil record: every node joins.
    /// - Parameter runningK0sVersion: the version the cluster runs when neither cluster.lua nor
    ///   the record pins one; default: the record's `resolvedK0sVersion` (the version `up` resolved).
    public init(declared: Cluster, record: ClusterRecord?, runningK0sVersion: String? = nil) {
        guard let record else {
            nodes = declared.nodes.map { NodeChange(node: $0.name, kind: .join, role: $0.role, fields: []) }
            cluster = []
            refusals = []
            guarded = []
            resizing = []
            return
        }
        var clusterFields: [FieldChange] = []
        var refusals: [Refusal] = []
        func compare(_ field: String, _ from: String?, _ to: String?, into list: inout [FieldChange]) {
            if from != to { list.append(FieldChange(field: field, from: from ?? "-", to: to ?? "-")) }
        }
        compare("name", record.name, declared.name, into: &clusterFields)
        compare("provider", record.provider.rawValue, declared.provider.rawValue, into: &clusterFields)
        compare("network_mode", record.networkMode?.rawValue, declared.provider == .tart ? declared.network.tartMode.rawValue : nil, into: &clusterFields)
        compare("cidr", record.cidr, declared.network.cidr.description, into: &clusterFields)
        if declared.provider == .tart, record.provider == .tart {
            compare("image", record.tartImage, declared.pinningImage(to: record).image, into: &clusterFields)
        }
        // A new image applies to machines cloned from now on (vagrant-tart clones only a VM that
        // does not exist).
        for change in clusterFields where change.field != "image" {
            refusals.append(Refusal(subject: "cluster", reason: "\(change.field) changes from \(change.from) to \(change.to), which cannot change in place"))
        }
        // An unpinned cluster keeps the version it runs (K0sCache.version), so the versions
        // compared are the ones k0s runs before and after.
        let running = runningK0sVersion ?? record.resolvedK0sVersion
        let fromVersion = record.k0sVersion ?? running
        let toVersion = declared.k0s.version ?? running
        if let from = fromVersion.flatMap(K0sVersion.init), let to = toVersion.flatMap(K0sVersion.init) {
            if from != to {
                clusterFields.append(FieldChange(field: "k0s_version", from: from.description, to: to.description))
                k0sVersionChange = from < to ? .upgrade : .downgrade
            }
        } else if fromVersion != toVersion {
            clusterFields.append(FieldChange(field: "k0s_version", from: fromVersion ?? "-", to: toVersion ?? "-"))
            k0sVersionChange = .change
        }
        if k0sVersionChange == .downgrade, let change = clusterFields.last {
            refusals.append(Refusal(subject: "cluster", reason: "k0s_version changes from \(change.from) to \(change.to), a downgrade, which k0s does not support (pin \(change.from) or newer)"))
        }
        var changes: [NodeChange] = []
        var resizing: [String] = []
        for recorded in record.nodes {
            guard let node = declared.node(named: recorded.name) else {
                // A node that never joined (its machine failed to start, or k0sctl already reset
                // it) has nothing to drain or reset: k0sctl is not asked to reach it.
                var steps: [String] = switch recorded.k0sRole {
                case _ where recorded.joined != true: ["never joined", declared.provider == .hosts ? "forgotten" : "machine destroyed"]
                case .controller: ["leaves etcd", "reset", "machine destroyed"]
                case .controllerWorker: ["drained", "leaves etcd", "reset", "Node deleted", "machine destroyed"]
                default: ["drained", "reset", "Node deleted", "machine destroyed"]
                }
                if declared.provider == .hosts, recorded.joined == true { steps.removeLast() }  // the hosts provider's machines are the user's
                changes.append(NodeChange(node: recorded.name, kind: .leave, role: recorded.role, fields: [],
                                          detail: "leaves: " + steps.joined(separator: ", ")))
                continue
            }
            var fields: [FieldChange] = []
            compare("role", recorded.k0sRole.rawValue, node.k0sRole.rawValue, into: &fields)
            compare("addressing", recorded.addressing.rawValue, node.addressing.rawValue, into: &fields)
            if node.addressing == .fixed { compare("ip", recorded.address, node.ip?.description, into: &fields) }
            compare("cpus", String(recorded.cpus), String(node.cpus), into: &fields)
            compare("memory", String(recorded.memoryMiB), String(node.memoryMiB), into: &fields)
            compare("disk", String(recorded.diskGB), String(node.diskGB), into: &fields)
            compare("labels", recorded.labels.joined(separator: ","), node.labels.map(\.description).joined(separator: ","), into: &fields)
            compare("taints", recorded.taints.joined(separator: ","), node.taints.map(\.description).joined(separator: ","), into: &fields)
            var detail: String?
            for field in fields {
                switch field.field {
                case "role", "addressing", "ip":
                    var reason = "\(field.field) changes from \(field.from) to \(field.to), which cannot change on a running node"
                    let controllerCountChanges = record.nodes.filter { $0.role == .controller }.count != declared.controllers.count
                    if field.field == "role", recorded.role == .controller, node.role == .controller, controllerCountChanges {
                        // taints.first_third gives every controller workloads below 3 controllers.
                        reason += " (a workloads rule that counts controllers, like the default cluster.lua's taints.first_third, changes it when the count changes; set workloads for this controller explicitly to keep its role)"
                    }
                    refusals.append(Refusal(subject: recorded.name, reason: reason))
                case "disk":
                    // vagrant-libvirt sizes a volume only when it creates it (machine_virtual_size);
                    // vagrant-tart grows the image on the next start but can never shrink it, and on
                    // either the guest's partition and file system would still have to grow.
                    refusals.append(Refusal(subject: recorded.name, reason: declared.provider == .hosts
                        ? "disk changes from \(field.from) to \(field.to): the hosts provider's disks are yours; put the old value back in cluster.lua"
                        : "disk changes from \(field.from) to \(field.to) GB: a machine's disk is sized when it is created (vagrant-libvirt does not resize an existing volume, Tart can only grow an image and the guest's file system would not grow with it), so it cannot change in place"))
                case "cpus", "memory":
                    if declared.provider == .hosts {
                        detail = "hosts provider: recorded only, the machine is yours to resize"
                    } else if !resizing.contains(recorded.name) {
                        resizing.append(recorded.name)
                        detail = "resized one at a time: " + (recorded.k0sRole == .controller ? "halted, restarted with the new size"
                                                                 : "drained, halted, restarted with the new size, uncordoned")
                    }
                default:
                    break  // labels and taints: k0sctl apply reinstalls the node's k0s with the new flags
                }
            }
            changes.append(NodeChange(node: recorded.name, kind: fields.isEmpty ? .unchanged : .change, role: node.role, fields: fields, detail: detail))
        }
        var guarded: [Refusal] = []
        // etcd's members: the controllers that joined.
        let recordedControllers = record.nodes.filter { $0.role == .controller && $0.joined == true }
        let leavingControllers = recordedControllers.filter { declared.node(named: $0.name) == nil }
        let stayingControllers = recordedControllers.filter { declared.node(named: $0.name) != nil }
        if !leavingControllers.isEmpty {
            if stayingControllers.isEmpty {
                // k0sctl refuses this too (phase/validate_hosts.go): new controllers join through one that stays.
                refusals.append(Refusal(subject: leavingControllers.map(\.name).joined(separator: ", "),
                                        reason: "every controller the cluster has would leave; new controllers join through one that stays, so keep at least one of them in cluster.lua"))
            } else {
                // The leader is k0sctl's (Spec.K0sLeader): the first controller in k0sctl.yaml that
                // runs k0s and is not reset; k0slua renders the recorded controllers first, in order.
                if let leader = recordedControllers.first, declared.node(named: leader.name) == nil {
                    guarded.append(Refusal(subject: leader.name, reason: "is the leader (k0sctl initialized the cluster on it, creates join tokens there, and the kubeconfig's API address is its own unless a VIP is set); removing it moves the leader to \(stayingControllers[0].name)"))
                }
                let quorum = recordedControllers.count / 2 + 1
                if stayingControllers.count < quorum {
                    guarded.append(Refusal(subject: leavingControllers.map(\.name).joined(separator: ", "),
                                           reason: "removing \(leavingControllers.count) of \(recordedControllers.count) controllers leaves \(stayingControllers.count), fewer than etcd's quorum of \(quorum) for today's \(recordedControllers.count) members: the controllers that stay could not keep etcd running on their own"))
                }
            }
        }
        for node in declared.nodes where record.node(named: node.name) == nil {
            changes.append(NodeChange(node: node.name, kind: .join, role: node.role, fields: []))
            // `up` boots joining machines before the leaving ones are destroyed: two machines
            // would hold one address.
            if node.addressing == .fixed, let address = node.ip?.description,
               let holder = record.nodes.first(where: { $0.address == address && declared.node(named: $0.name) == nil }) {
                refusals.append(Refusal(subject: node.name, reason: "its address \(address) is \(holder.name)'s, which leaves in the same `up`: its machine would start while \(holder.name)'s still holds the address; remove \(holder.name) with one `k0slua up`, then add \(node.name) with the next"))
            }
        }
        // Controllers first, as everywhere else.
        nodes = changes.filter { $0.role == .controller } + changes.filter { $0.role == .worker }
        cluster = clusterFields
        self.refusals = refusals
        self.guarded = guarded
        // Controllers first, as everywhere else.
        self.resizing = nodes.map(\.node).filter { resizing.contains($0) }
    }

    /// `+ worker-2 (joins)` lines, one per node, then cluster-wide changes.
    public var text: String {
        var out = ""
        for field in cluster {
            var note = ""
            switch field.field {
            case "k0s_version":
                switch k0sVersionChange {
                case .upgrade: note = " (upgrade: k0sctl apply, controllers then workers)"
                case .downgrade: note = " (downgrade: refused, k0s does not support downgrades)"
                case .change, nil: note = " (k0sctl apply installs it; k0sctl refuses a downgrade)"
                }
            case "image": note = " (machines cloned from now on; existing machines keep the image they were cloned from)"
            default: break
            }
            out += "~ cluster \(field.field): \(field.from) → \(field.to)\(note)\n"
        }
        for change in nodes {
            var line = "\(change.kind.symbol) \(change.node)"
            switch change.kind {
            case .join: line += " (joins)"
            case .leave: line += " (\(change.detail ?? "leaves"))"
            case .change:
                line += " " + change.fields.map { "\($0.field): \($0.from) → \($0.to)" }.joined(separator: ", ")
                if let detail = change.detail { line += " (\(detail))" }
            case .unchanged: break
            }
            out += line + "\n"
        }
        return out
    }

    /// One line for commands that act on the record while cluster.lua says something else.
    public var disagreement: String? {
        guard !isEmpty else { return nil }
        var parts = nodes.filter { $0.kind != .unchanged }.map { "\($0.kind.symbol)\($0.node)" }
        parts += cluster.map { "\($0.field)" }
        return "cluster.lua differs from the applied cluster (\(parts.joined(separator: " "))); acting on the record — `k0slua plan` shows the difference, `k0slua up` applies it"
    }

    /// The commands that rebuild the cluster from scratch.
    public static let rebuild = "k0slua destroy && k0slua up"
}

extension ClusterRecord {
    /// The applied cluster: cluster.lua's settings, the record's nodes. Nodes cluster.lua still has
    /// keep their hooks and SSH settings; recorded nodes it no longer has are rebuilt from the record.
    public func cluster(declared: Cluster) -> Cluster {
        var copy = declared.pinningImage(to: self)
        copy.nodes = nodes.map { recorded in
            var node = declared.node(named: recorded.name) ?? Node(
                name: recorded.name, role: recorded.role, ip: nil, addressing: recorded.addressing,
                cpus: recorded.cpus, memoryMiB: recorded.memoryMiB, diskGB: recorded.diskGB,
                runsWorkloadsOnController: recorded.k0sRole == .controllerWorker,
                ssh: SSHSettings(user: recorded.sshUser ?? declared.ssh.user, port: recorded.sshPort ?? declared.ssh.port))
            node.role = recorded.role
            node.runsWorkloadsOnController = recorded.k0sRole == .controllerWorker
            node.addressing = recorded.addressing
            node.ip = recorded.address.flatMap(IPv4Address.init) ?? (recorded.addressing == .fixed ? node.ip : nil)
            node.cpus = recorded.cpus
            node.memoryMiB = recorded.memoryMiB
            node.diskGB = recorded.diskGB
            return node
        }
        copy.nodes = copy.nodes.filter { $0.role == .controller } + copy.nodes.filter { $0.role == .worker }
        return copy
    }
}

/// The cluster later commands act on: what was applied, not what cluster.lua says today.
public struct AppliedCluster: Sendable {
    /// The recorded nodes with their addresses (cluster.lua's nodes when there is no record).
    public var cluster: Cluster
    public var record: ClusterRecord?
    /// One line when cluster.lua and the record disagree.
    public var disagreement: String?

    public init(cluster: Cluster, record: ClusterRecord?, disagreement: String?) {
        self.cluster = cluster
        self.record = record
        self.disagreement = disagreement
    }

    /// Reads the record in `layout`; a record this k0slua cannot read is an error.
    public static func load(_ declared: Cluster, layout: StateLayout) throws(ClusterRecord.ReadError) -> AppliedCluster {
        guard let record = try ClusterRecord.load(layout) else { return AppliedCluster(cluster: declared, record: nil, disagreement: nil) }
        let declared = declared.pinningImage(to: record)
        var applied = AppliedCluster(cluster: record.cluster(declared: declared), record: record,
                                     disagreement: ClusterDiff(declared: declared, record: record).disagreement)
        applied.declaredOnly = declared.nodes.filter { record.node(named: $0.name) == nil }
        return applied
    }

    /// The record's nodes and any cluster.lua node the record does not name yet: every machine
    /// that may exist (what `destroy` must find).
    public var everyMachine: Cluster {
        var copy = cluster
        copy.nodes += record == nil ? [] : declaredOnly
        return copy
    }

    var declaredOnly: [Node] = []
}
