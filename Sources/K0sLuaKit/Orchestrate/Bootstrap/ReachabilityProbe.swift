/// The probe a node runs to test that it reaches other nodes (ping, else TCP 22), shared by `up`'s
/// connectivity phase and `health`'s reachability check.
///
/// The script is the same few hundred bytes for any cluster size: the addresses go to the node on
/// standard input, one a line, never in the command line (1,000 addresses would be over Linux's
/// 128 KiB limit for one argument). It probes `concurrency` peers at once and prints `ok IP` or
/// `unreachable IP` per address. Above `fullMeshLimit` nodes each node probes a bounded sample
/// (`targets(of:)`), and every expected address must be answered for: a missing line is a failure.
public enum ReachabilityProbe {
    /// Up to this many nodes every node probes every other node; above it, each probes a sample.
    public static let fullMeshLimit = 50
    /// In a sample, each node probes this many nodes that follow it (in cluster.lua's order, as a
    /// ring) besides every controller, so every node is probed by at least this many others.
    public static let ringSuccessors = 8
    /// Peers one node probes at once.
    public static let concurrency = 32

    /// POSIX sh (bash only for the TCP fallback, as before): reads addresses on stdin, skips
    /// anything that is not an IPv4 address, probes in batches of `concurrency` background jobs.
    public static let script =
        "n=0; while read -r ip; do case \"$ip\" in ''|*[!0-9.]*) continue;; esac; "
        + "( if ping -c 1 -W 2 \"$ip\" >/dev/null 2>&1 || timeout 3 bash -c 'exec 3<>\"/dev/tcp/$1/22\"' k0slua-probe \"$ip\" 2>/dev/null; "
        + "then echo \"ok $ip\"; else echo \"unreachable $ip\"; fi ) </dev/null & "
        + "n=$((n+1)); if [ \"$n\" -ge \(concurrency) ]; then wait; n=0; fi; done; wait"

    /// What the probe reads on stdin: one address a line.
    public static func input(for addresses: [IPv4Address]) -> String {
        addresses.map { "\($0)\n" }.joined()
    }

    /// Whether `nodes` is probed as a sample rather than every pair.
    public static func isSampled(_ nodes: [Node]) -> Bool { nodes.count > fullMeshLimit }

    /// How the phase line describes a sampled probe.
    public static var sampleDescription: String {
        "sampled above \(fullMeshLimit) nodes: each node probes every controller and its \(ringSuccessors) successors"
    }

    /// The peers each node (by name) probes: every other node up to `fullMeshLimit` nodes, else
    /// every controller plus the node's `ringSuccessors` successors in a ring over `nodes`. Only
    /// nodes with a known address take part.
    public static func targets(of nodes: [Node]) -> [String: [Node]] {
        let nodes = nodes.filter { $0.ip != nil }
        guard isSampled(nodes) else {
            return Dictionary(uniqueKeysWithValues: nodes.map { node in (node.name, nodes.filter { $0.name != node.name }) })
        }
        let controllers = nodes.filter { $0.role == .controller }
        var result: [String: [Node]] = [:]
        for (index, node) in nodes.enumerated() {
            var peers = controllers.filter { $0.name != node.name }
            var chosen = Set(peers.map(\.name))
            for step in 1...ringSuccessors {
                let peer = nodes[(index + step) % nodes.count]
                if peer.name != node.name, chosen.insert(peer.name).inserted { peers.append(peer) }
            }
            result[node.name] = peers
        }
        return result
    }

    /// The addresses the probe's output reports as answering (`true`) or not (`false`).
    public static func results(in output: String) -> [(address: String, reached: Bool)] {
        output.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count == 2, words[0] == "ok" || words[0] == "unreachable" else { return nil }
            return (String(words[1]), words[0] == "ok")
        }
    }

    /// The outcome of one node's probe against the peers it was given: which answered, and one
    /// problem per peer that did not, including every peer the output says nothing about.
    public static func evaluate(_ node: Node, peers: [Node], output: String) -> (reached: [Node], problems: [String]) {
        var said: [String: Bool] = [:]
        for (address, reached) in results(in: output) { said[address] = reached }
        var reached: [Node] = []
        var problems: [String] = []
        for peer in peers {
            let address = peer.ip?.description ?? "?"
            switch said[address] {
            case true?: reached.append(peer)
            case false?: problems.append("\(node.name) → \(peer.name) (\(address))")
            case nil: problems.append("\(node.name) → \(peer.name) (\(address)): no answer from the probe")
            }
        }
        return (reached, problems)
    }
}
