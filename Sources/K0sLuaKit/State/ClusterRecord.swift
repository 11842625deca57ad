import Foundation

/// What k0slua applied to the world for one cluster, kept in `<state>/state.json` and rewritten
/// atomically whenever a phase changes the world (docs/state.md). Later commands act on it: it
/// holds the addresses that exist only once the machines run.
public struct ClusterRecord: Codable, Sendable, Equatable {
    /// The format this k0slua writes; it reads this and every older version.
    /// Version 2 added `id` (version 1 records get the id of their state directory on load) and
    /// `stopped_at`. Version 3 added `k0s_resolved_version`, which replaced `<state>/k0s-version`
    /// (an older k0slua would not find the version there and could upgrade k0s unasked).
    public static let currentVersion = 3

    /// One node as applied.
    public struct NodeRecord: Codable, Sendable, Equatable {
        public var name: String
        public var role: NodeRole
        public var k0sRole: K0sRole
        public var addressing: NodeAddressing
        /// The node's one address; absent while a boot-assigned address is not known yet.
        public var address: String?
        public var cpus: Int
        public var memoryMiB: Int
        public var diskGB: Int
        public var labels: [String]
        public var taints: [String]
        /// The SSH user and port (version 2; absent in version 1 records).
        public var sshUser: String?
        public var sshPort: Int?
        /// Version 2: k0sctl apply has joined the node (absent in version 1, whose nodes all joined
        /// once `k0sctl` is among the record's phases).
        public var joined: Bool?

        enum CodingKeys: String, CodingKey {
            case name, role, addressing, address, cpus, labels, taints
            case joined
            case sshUser = "ssh_user"
            case sshPort = "ssh_port"
            case k0sRole = "k0s_role"
            case memoryMiB = "memory_mib"
            case diskGB = "disk_gb"
        }

        public init(_ node: Node) {
            name = node.name
            role = node.role
            k0sRole = node.k0sRole
            addressing = node.addressing
            address = node.ip?.description
            cpus = node.cpus
            memoryMiB = node.memoryMiB
            diskGB = node.diskGB
            labels = node.labels.map(\.description)
            taints = node.taints.map(\.description)
            sshUser = node.ssh.user
            sshPort = node.ssh.port
        }
    }

    public var version: Int
    /// The cluster's identity (ClusterIdentity): prefixes its Tart VMs, libvirt domains and networks.
    public var id: String
    public var name: String
    public var provider: Provider
    /// Tart only.
    public var networkMode: TartNetworkMode?
    public var cidr: String
    /// A pinned k0s version, or nil for the latest stable release.
    public var k0sVersion: String?
    /// The k0s version `up` (or `cache fetch`) last resolved for this cluster: cluster.lua's pin,
    /// else the one resolved before, else the latest stable release, written when it is
    /// downloaded; later `up`s and `--offline` keep it (K0sCache.version). The one place it lives.
    public var resolvedK0sVersion: String?
    /// Tart only: the image the machines were cloned from (absent in records written before it
    /// was recorded; those clusters cloned `legacyTartImage`).
    public var image: String?
    public var nodes: [NodeRecord]
    public var createdAt: Date
    public var updatedAt: Date
    /// When each phase of `up` last finished.
    public var phases: [String: Date]
    /// Set by `k0slua stop`, cleared by `start` and `up`: the machines are halted on purpose.
    public var stoppedAt: Date?

    enum CodingKeys: String, CodingKey {
        case version, id, name, provider, cidr, nodes, phases
        case stoppedAt = "stopped_at"
        case networkMode = "network_mode"
        case k0sVersion = "k0s_version"
        case resolvedK0sVersion = "k0s_resolved_version"
        case image
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// A record of `cluster` as it stands, keeping the creation time and phases of `previous`.
    public init(_ cluster: Cluster, id: String, previous: ClusterRecord?, now: Date = Date()) {
        version = Self.currentVersion
        self.id = id
        name = cluster.name
        provider = cluster.provider
        networkMode = cluster.provider == .tart ? cluster.network.tartMode : nil
        cidr = cluster.network.cidr.description
        k0sVersion = cluster.k0s.version
        resolvedK0sVersion = previous?.resolvedK0sVersion
        image = cluster.provider == .tart ? cluster.image : nil
        nodes = cluster.nodes.map(NodeRecord.init)
        createdAt = previous?.createdAt ?? now
        updatedAt = now
        phases = previous?.phases ?? [:]
        stoppedAt = nil
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        // Version 1 had no id: load(_:) fills in the state directory's.
        id = try container.decodeIfPresent(String.self, forKey: .id) ?? ""
        name = try container.decode(String.self, forKey: .name)
        provider = try container.decode(Provider.self, forKey: .provider)
        networkMode = try container.decodeIfPresent(TartNetworkMode.self, forKey: .networkMode)
        cidr = try container.decode(String.self, forKey: .cidr)
        k0sVersion = try container.decodeIfPresent(String.self, forKey: .k0sVersion)
        resolvedK0sVersion = try container.decodeIfPresent(String.self, forKey: .resolvedK0sVersion)
        image = try container.decodeIfPresent(String.self, forKey: .image)
        nodes = try container.decode([NodeRecord].self, forKey: .nodes)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        phases = try container.decodeIfPresent([String: Date].self, forKey: .phases) ?? [:]
        stoppedAt = try container.decodeIfPresent(Date.self, forKey: .stoppedAt)
    }

    /// What k0slua defaulted to before the image was recorded.
    public static let legacyTartImage = "ghcr.io/cirruslabs/ubuntu:latest"

    /// The image this Tart cluster's machines were cloned from.
    public var tartImage: String? { provider == .tart ? image ?? Self.legacyTartImage : nil }

    /// Whether `k0slua stop` halted the machines and no `start` or `up` has run since.
    public var isStopped: Bool { stoppedAt != nil }

    /// The recorded node named `name`.
    public func node(named name: String) -> NodeRecord? { nodes.first { $0.name == name } }

    /// Known addresses of boot-addressed nodes, by node name.
    public var discoveredAddresses: [String: IPv4Address] {
        Dictionary(nodes.compactMap { node in
            guard node.addressing == .dhcp, let text = node.address, let address = IPv4Address(text) else { return nil }
            return (node.name, address)
        }, uniquingKeysWith: { first, _ in first })
    }

    /// Why a record cannot be read.
    public struct ReadError: Error, CustomStringConvertible, Sendable {
        public var path: String
        public var reason: String
        /// What to do about it.
        public var hint: String
        public var description: String { "cannot read the cluster record \(path): \(reason)" }

        init(path: String, reason: String, hint: String? = nil) {
            self.path = path
            self.reason = reason
            self.hint = hint ?? "restore \(path) (it names the cluster's machines), or move it aside: `k0slua destroy` then finds only the machines cluster.lua names"
        }
    }

    /// The record in `layout`, or nil when there is none yet.
    public static func load(_ layout: StateLayout) throws(ReadError) -> ClusterRecord? {
        guard let data = FileManager.default.contents(atPath: layout.record) else { return nil }
        struct Version: Decodable { var version: Int }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let version = try? decoder.decode(Version.self, from: data) else {
            throw ReadError(path: layout.record, reason: "not a k0slua record (no \"version\")")
        }
        guard version.version <= currentVersion else {
            throw ReadError(path: layout.record,
                            reason: "written by a newer k0slua (record version \(version.version); this k0slua reads up to \(currentVersion)): upgrade k0slua",
                            hint: "upgrade k0slua to the version that wrote it or a later one; nothing was changed")
        }
        do {
            var record = try decoder.decode(ClusterRecord.self, from: data)
            if record.id.isEmpty { record.id = layout.clusterID(name: record.name) }
            guard ClusterIdentity.isValid(record.id) else {
                throw ReadError(path: layout.record, reason: "its id \"\(record.id)\" is not a cluster id (<name>-<8 hex digits>)")
            }
            if record.version < 2, record.phases["k0sctl"] != nil {
                for index in record.nodes.indices where record.nodes[index].joined == nil { record.nodes[index].joined = true }
            }
            // Before version 3 the resolved version lived in its own file; `save` removes it.
            if record.resolvedK0sVersion == nil { record.resolvedK0sVersion = readLegacyK0sVersion(layout) }
            return record
        } catch {
            throw ReadError(path: layout.record, reason: "\(error)")
        }
    }

    /// `cluster` with the boot-assigned addresses recorded in `layout` (unchanged without a record).
    public static func resolve(_ cluster: Cluster, layout: StateLayout) -> Cluster {
        let record = (try? load(layout)) ?? nil
        return cluster.pinningImage(to: record).resolving(record?.discoveredAddresses ?? [:])
    }

    /// Writes the record atomically (0600: it names the machines and their addresses).
    public func save(_ layout: StateLayout) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // Whatever version was read, what this k0slua writes is its own format.
        var written = self
        written.version = Self.currentVersion
        let data = try encoder.encode(written)
        try FileWriter.makePrivate(layout)
        try FileWriter.write(String(decoding: data, as: UTF8.self) + "\n", to: layout.record, permissions: 0o600)
        // The record now carries what the old file said (load read it in).
        if FileManager.default.fileExists(atPath: Self.legacyK0sVersionPath(layout)) {
            try FileManager.default.removeItem(atPath: Self.legacyK0sVersionPath(layout))
        }
    }

    /// `<state>/k0s-version`, where k0slua before record version 3 kept the resolved k0s version.
    public static func legacyK0sVersionPath(_ layout: StateLayout) -> String { layout.directory + "/k0s-version" }

    static func readLegacyK0sVersion(_ layout: StateLayout) -> String? {
        guard let text = try? String(contentsOfFile: legacyK0sVersionPath(layout), encoding: .utf8) else { return nil }
        let version = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return version.isEmpty ? nil : version
    }
}
