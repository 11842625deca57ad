/// The meaning of single values the decoder took by their type alone: the k0s version, SSH ports,
/// label keys and values. Reported at the line that set them, before the other meaning checks.
extension ClusterValidator {
    func settingProblems(_ cluster: Cluster) -> [Diagnostic] {
        var found: [Diagnostic] = []
        func error(_ code: DiagnosticCode, _ path: String, _ line: Int?, _ message: String, hint: String? = nil) {
            found.append(Diagnostic(.error, code, file: file, line: line, path: path, message: message, hint: hint))
        }
        // `v1.33.4+k0s.0`, `1.34.0-rc.1+k0s.0`: k0s's release names (the `v` is optional).
        let k0sVersion = #/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?\+k0s\.\d+$/#
        if let version = cluster.k0s.declaredVersion, version.wholeMatch(of: k0sVersion) == nil {
            error(.invalidValue, "k0s.version", cluster.k0s.versionLine, "\"\(version)\" is not a k0s version such as \"v1.33.4+k0s.0\"",
                  hint: "k0s versions carry a +k0s.N suffix; leave version out for the latest stable release")
        }
        func checkPort(_ ssh: SSHSettings, _ path: String) {
            if !(1...65535).contains(ssh.port) {
                error(.invalidValue, LuaRuntime.childPath(path, .string("port")), ssh.portLine, "port \(ssh.port) is not between 1 and 65535")
            }
        }
        checkPort(cluster.ssh, "ssh")
        for node in cluster.nodes.sorted(by: { Self.sourceOrder($0.sourcePath) < Self.sourceOrder($1.sourcePath) }) {
            for label in node.labels {
                if let problem = LabelSyntax.problem(key: label.key, value: label.value) {
                    error(.invalidLabel, LuaRuntime.childPath("\(node.sourcePath).labels", .string(label.key)), node.labelsLine, problem)
                }
            }
            if node.hasOwnSSH { checkPort(node.ssh, "\(node.sourcePath).ssh") }
        }
        return found
    }

    /// The labels that can apply (the others are reported by `settingProblems`).
    static func validLabels(_ node: Node) -> [Label] {
        node.labels.filter { LabelSyntax.problem(key: $0.key, value: $0.value) == nil }
    }

    /// `nodes[12]` → 12: cluster.lua's order (the model lists controllers first).
    static func sourceOrder(_ path: String) -> Int {
        Int(path.dropFirst("nodes[".count).prefix { $0.isNumber }) ?? Int.max
    }
}
