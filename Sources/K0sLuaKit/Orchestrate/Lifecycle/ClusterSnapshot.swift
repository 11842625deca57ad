import Foundation

/// A saved cluster: `<state>/snapshots/<name>/` holds the applied record (state.json), k0sctl.yaml,
/// the kubeconfig, the cluster's SSH key and known_hosts, Vagrant's data of each machine
/// (`vagrant/<node>/`), the machine images (libvirt: each domain's XML and its disk volumes; Tart:
/// the name of a clone per node) and `meta.json`. A snapshot is written into a temporary directory
/// beside it and renamed into place last, so a half-written one never has its name
/// (docs/snapshots.md).
public struct ClusterSnapshot: Sendable, Equatable {
    public let layout: StateLayout
    public let name: String

    public init(layout: StateLayout, name: String) {
        self.layout = layout
        self.name = name
    }

    /// What `meta.json` says about a snapshot.
    public struct Meta: Codable, Sendable, Equatable {
        public var version = 1
        public var name: String
        public var clusterID: String
        public var provider: Provider
        public var createdAt: Date
        /// The k0s version k0sctl had applied (the record's pin, else `<state>/k0s-version`).
        public var k0sVersion: String?
        /// Controllers first, as in the record.
        public var nodes: [String]
        /// FNV-1a (64 bit, hex) of cluster.lua's bytes when the snapshot was taken.
        public var clusterLuaHash: String
        public var machines: [Machine]

        enum CodingKeys: String, CodingKey {
            case version, name, provider, nodes, machines
            case clusterID = "cluster_id", createdAt = "created_at", k0sVersion = "k0s_version", clusterLuaHash = "cluster_lua_hash"
        }
    }

    /// One node's machine image.
    public struct Machine: Codable, Sendable, Equatable {
        public var node: String
        /// libvirt: the domain (its XML is `domains/<node>.xml`).
        public var domain: String?
        /// libvirt: the domain's disk volumes in the pool, each copied to `disks/<volume>`.
        public var volumes: [Volume]?
        /// Tart: the VM the node's machine was cloned into, and the node VM's MAC address.
        public var tartClone: String?
        public var macAddress: String?
        /// libvirt, saved while running: the domain's memory image (`virsh save`), relative to the
        /// snapshot's directory (`memory/<node>.save`); restore resumes it instead of booting.
        public var memoryImage: String?

        enum CodingKeys: String, CodingKey {
            case node, domain, volumes
            case tartClone = "tart_clone", macAddress = "mac_address", memoryImage = "memory_image"
        }
    }

    /// A libvirt volume as saved: its pool, name and capacity in bytes.
    public struct Volume: Codable, Sendable, Equatable {
        public var pool: String
        public var name: String
        public var capacity: Int64
    }

    /// Why a snapshot command refused or failed; `usage`: exit 64, else 1.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var hint: String?
        public var usage = false
        public var description: String { message }

        public init(_ message: String, hint: String? = nil, usage: Bool = false) {
            self.message = message
            self.hint = hint
            self.usage = usage
        }
    }

    // MARK: - Names and places

    /// Whether `name` is a host-name-like word: lower-case letters, digits and inner `-`, at
    /// most 40 characters (it becomes part of directory and Tart VM names).
    public static func isValidName(_ name: String) -> Bool {
        name.count <= 40 && name.wholeMatch(of: #/[a-z0-9]([-a-z0-9]*[a-z0-9])?/#) != nil
    }

    /// The refusal of a name that is not host-name-like (exit 64).
    public static func nameProblem(_ name: String) -> Failure? {
        isValidName(name) ? nil : Failure("snapshot name \"\(name)\" is not a host-name-like word",
                                          hint: "use lower-case letters, digits and inner '-', at most 40 characters, e.g. \"base\"", usage: true)
    }

    /// `<state>/snapshots`.
    public static func root(_ layout: StateLayout) -> String { layout.directory + "/snapshots" }
    /// `<state>/snapshots/<name>`.
    public var directory: String { Self.root(layout) + "/" + name }
    /// `<state>/snapshots/<name>/meta.json` (the directory has that name only once complete).
    public var metaFile: String { directory + "/meta.json" }

    /// The files of the state directory a snapshot keeps, by their name in both places.
    static let stateFiles = ["state.json", "k0sctl.yaml", "kubeconfig", "id_ed25519", "id_ed25519.pub", "known_hosts", "k0s-version",
                             "architectures.json"]

    /// Whether the snapshot was saved completely.
    public var exists: Bool { FileManager.default.fileExists(atPath: metaFile) }

    /// The snapshot's meta, or why there is none.
    public func meta() throws -> Meta {
        guard let data = FileManager.default.contents(atPath: metaFile) else {
            let others = Self.list(layout).map { "\"\($0.meta.name)\"" }
            throw Failure("no snapshot \"\(name)\" of this cluster (\(Self.root(layout)))",
                          hint: others.isEmpty ? "take one with `k0slua snapshot save \(name)`" : "snapshots: \(others.joined(separator: ", ")) (`k0slua snapshot list`)")
        }
        do {
            return try Self.decoder.decode(Meta.self, from: data)
        } catch {
            throw Failure("cannot read \(metaFile): \(error)", hint: "delete the snapshot with `k0slua snapshot delete \(name)`")
        }
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    static func encode(_ meta: Meta) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(meta), as: UTF8.self) + "\n"
    }

    /// A snapshot with its disk use.
    public struct Entry: Sendable {
        public var meta: Meta
        /// Disk blocks the snapshot's directory uses (Tart clones are in Tart's home, not counted).
        public var bytes: Int64
    }

    /// Every complete snapshot of the state directory, oldest first.
    public static func list(_ layout: StateLayout) -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root(layout))) ?? []
        return names.filter(isValidName).compactMap { name -> Entry? in
            let snapshot = ClusterSnapshot(layout: layout, name: name)
            guard let meta = try? snapshot.meta() else { return nil }
            return Entry(meta: meta, bytes: diskUse(snapshot.directory))
        }.sorted { $0.meta.createdAt < $1.meta.createdAt }
    }

    /// Blocks allocated under `path` (sparse disk copies count what they hold).
    public static func diskUse(_ path: String) -> Int64 {
        var total: Int64 = 0
        var info = stat()
        if lstat(path, &info) == 0 { total += Int64(info.st_blocks) * 512 }
        guard (info.st_mode & S_IFMT) == S_IFDIR, let children = try? FileManager.default.contentsOfDirectory(atPath: path) else { return total }
        for child in children { total += diskUse(path + "/" + child) }
        return total
    }

    /// FNV-1a (64 bit, hex) of a file's bytes; "" when it cannot be read.
    public static func fingerprint(_ path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The Tart VM a snapshot keeps of `node`: global on the host, so named from the cluster id,
    /// the snapshot and the node; it starts with `k0slua-snapshot.` so that no cluster's
    /// `<id>-` prefix (which `destroy` clears of strays) ever covers it.
    public static func tartCloneName(clusterID: String, snapshot: String, node: String) -> String {
        "k0slua-snapshot.\(clusterID).\(snapshot).\(node)"
    }

    /// Temporary directories of interrupted saves are named `.saving-<name>-<pid>`.
    var temporaryDirectory: String { Self.root(layout) + "/.saving-\(name)-\(getpid())" }

    /// Removes what interrupted saves and deletes left (their pid no longer runs).
    static func removeAbandoned(_ layout: StateLayout) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: root(layout))) ?? []
        where entry.hasPrefix(".saving-") || entry.hasPrefix(".deleting-") {
            if let pid = Int32(entry.split(separator: "-").last ?? ""), pid != getpid(), kill(pid, 0) == 0 { continue }
            try? FileManager.default.removeItem(atPath: root(layout) + "/" + entry)
        }
    }
}
