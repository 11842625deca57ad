import Foundation

// The Mac's rules that outlive preflight: the k0sctl version floor for Tart clones' host keys,
// and what a failure means once it happened: the Local Network permission (a node its neighbours
// reach but this host does not, or no node at all), named by the machines and connectivity phases.

// MARK: - (e) k0sctl host-key handling

extension MacNetworkChecks {
    /// The first k0sctl whose SSH client (rig v2, k0sctl `go.mod`) offers ssh-ed25519 before ECDSA,
    /// so a known_hosts holding only the ed25519 key that OpenSSH's accept-new wrote matches.
    public static let minimumK0sctl = (major: 0, minor: 32, patch: 0)

    /// Nil when `version` (e.g. `v0.32.2`) is new enough or unparsable, else the problem.
    public static func k0sctlHostKeyProblem(version: String) -> String? {
        let numbers = version.trimmingCharacters(in: .whitespaces).drop(while: { $0 == "v" })
            .split(whereSeparator: { !$0.isNumber }).prefix(3).compactMap { Int($0) }
        guard numbers.count == 3 else { return nil }
        let minimum = [minimumK0sctl.major, minimumK0sctl.minor, minimumK0sctl.patch]
        guard numbers.lexicographicallyPrecedes(minimum) else { return nil }
        return "k0sctl \(version) is older than v0.32.0: its SSH client (rig v0.x) negotiates an ECDSA host key and fails against the ed25519-only known_hosts k0slua writes"
    }
}

// MARK: - (g) the Local Network permission

/// A named cause for a connectivity failure, with its documented fix.
public struct ConnectivityDiagnosis: Sendable, Equatable {
    public var name: String
    public var detail: String
    public var fix: String
}

extension MacNetworkChecks {
    /// The Tart FAQ's commands that exempt the private ranges from the Local Network prompt; reboot after.
    public static let localNetworkFix = "sudo defaults write com.apple.network.local-network AllowedEthernetLocalNetworkAddresses -array 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16; "
        + "sudo defaults write com.apple.network.local-network AllowedWiFiLocalNetworkAddresses -array 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16; "
        + "then reboot the Mac (or allow your terminal in System Settings → Privacy & Security → Local Network)"

    /// The host cannot reach `node` over SSH or ping while its neighbours reach it: on macOS 15
    /// and later that is the Local Network privacy permission (Tart `docs/faq.md`). Nil when the
    /// facts do not fit (the host reaches it, no neighbour does, not macOS, or macOS before 15).
    public static func localNetworkDiagnosis(node: String, address: String, hostReachesNode: Bool, neighboursReachingNode: [String],
                                             hostOS: String, macOSVersion: String?) -> ConnectivityDiagnosis? {
        guard hostOS == "macos", !hostReachesNode, !neighboursReachingNode.isEmpty else { return nil }
        if let major = macOSVersion.flatMap({ Int($0.split(separator: ".").first ?? "") }), major < 15 { return nil }
        return ConnectivityDiagnosis(
            name: "Local Network permission",
            detail: "this Mac cannot reach \(node) (\(address)) but \(neighboursReachingNode.joined(separator: ", ")) can: "
                + "macOS 15 and later block connections from host programs to the local network until they are allowed",
            fix: localNetworkFix)
    }
}

extension MacNetworkChecks {
    /// No node answers this Mac although the VMs have addresses: on macOS 15 and later the Local
    /// Network permission of the terminal app blocks every connection to them (Tart `docs/faq.md`),
    /// so `vagrant up` waits for SSH until its boot timeout. `nodes` are those with an address;
    /// nil when the facts do not fit (none has an address, not macOS, or macOS before 15).
    public static func localNetworkNoNodeDiagnosis(_ nodes: [(name: String, address: String)], context: String,
                                                   hostOS: String, macOSVersion: String?) -> ConnectivityDiagnosis? {
        guard hostOS == "macos", !nodes.isEmpty else { return nil }
        if let major = macOSVersion.flatMap({ Int($0.split(separator: ".").first ?? "") }), major < 15 { return nil }
        return ConnectivityDiagnosis(
            name: "Local Network permission",
            detail: "\(context): \(nodes.map { "\($0.name) (\($0.address))" }.joined(separator: ", ")) have addresses but this Mac reaches none of them; "
                + "macOS 15 and later block connections from the terminal app (and the vagrant, ssh and k0sctl it starts) to the local network until it is allowed "
                + "(a VPN that captures the subnet looks the same: `k0slua doctor` checks its route)",
            fix: localNetworkFix)
    }
}

extension Node {
    /// The address cluster.lua fixed for the node; nil when it is assigned at boot.
    var staticAddress: IPv4Address? { addressing == .fixed ? ip : nil }
}
