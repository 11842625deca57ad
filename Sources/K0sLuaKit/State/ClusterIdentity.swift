/// A cluster's identity: its name and a short stable hash of its state directory, so two
/// checkouts with the same cluster name never share (or destroy) each other's machines, libvirt
/// networks or kubeconfig entries. Tart VM names and libvirt domain and network names carry it.
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

    /// The path without a trailing slash and without `.` components, so `a/./b/` and `a/b` agree.
    static func normalized(_ path: String) -> String {
        let parts = path.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }
}

extension StateLayout {
    /// The identity of the cluster `name` kept in this state directory.
    public func clusterID(name: String) -> String { ClusterIdentity.id(name: name, stateDirectory: directory) }
}
