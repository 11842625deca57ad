/// The shell command a node runs to test that it reaches other nodes (ping, else TCP 22), shared
/// by `up`'s connectivity phase and `health`'s reachability check. It prints `ok IP` or
/// `unreachable IP` per address.
public enum ReachabilityProbe {
    public static func script(for addresses: [IPv4Address]) -> String {
        addresses.map { ip in
            "if ping -c 1 -W 2 \(ip) >/dev/null 2>&1 || timeout 3 bash -c 'exec 3<>/dev/tcp/\(ip)/22' 2>/dev/null; "
                + "then echo \"ok \(ip)\"; else echo \"unreachable \(ip)\"; fi"
        }.joined(separator: "; ")
    }

    /// The addresses the probe's output reports as answering (`true`) or not (`false`).
    public static func results(in output: String) -> [(address: String, reached: Bool)] {
        output.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count == 2, words[0] == "ok" || words[0] == "unreachable" else { return nil }
            return (String(words[1]), words[0] == "ok")
        }
    }
}
