import Foundation

/// A cluster's identity: its name and a short stable hash of its state directory when it was
/// first applied, so two checkouts with the same cluster name never share (or destroy) each
/// other's machines, libvirt networks or kubeconfig entries. Tart VM names and libvirt domain and
/// network names carry it. The record keeps it (`id`), so moving the project keeps it too.
public enum ClusterIdentity {
    /// `<name>-<8 hex digits>`: FNV-1a (64 bit) of the absolute state directory, folded to 32 bits.
    public static func id(name: String, stateDirectory: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in normalized(stateDirectory).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let folded = UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
        let hex = String(folded, radix: 16)
        return "\(name)-\(String(repeating: "0", count: 8 - hex.count))\(hex)"
    }

    /// Whether `id` has the shape of an identity: a DNS label (a cluster name is one) followed by
    /// `-` and 8 hex digits. A recorded id names machines and networks, so nothing else is used.
    public static func isValid(_ id: String) -> Bool {
        id.count <= 72 && id.wholeMatch(of: #/[a-z0-9]([-a-z0-9]*[a-z0-9])?-[0-9a-f]{8}/#) != nil
    }

    /// The path without a trailing slash and without `.` components, so `a/./b/` and `a/b` agree.
    static func normalized(_ path: String) -> String {
        let parts = path.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }
}

extension StateLayout {
    /// The identity of the cluster `name` kept in this state directory: the recorded one when the
    /// directory holds a record (so moving or renaming the project keeps it), else the one
    /// derived from the directory's path, which the first `up` records.
    public func clusterID(name: String) -> String { recordedID ?? ClusterIdentity.id(name: name, stateDirectory: directory) }

    /// This layout with the identity its state.json records; unchanged without a readable record
    /// with an id (commands that need the record report why it cannot be read).
    public func identified() -> StateLayout {
        guard let data = FileManager.default.contents(atPath: record) else { return self }
        struct Identity: Decodable { var id: String? }
        guard let id = (try? JSONDecoder().decode(Identity.self, from: data))?.id, ClusterIdentity.isValid(id) else { return self }
        return StateLayout(directory: directory, recordedID: id)
    }
}
