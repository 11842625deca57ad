/// Builds the `ssh` command k0slua uses to reach a node: the cluster's own key (unless the node
/// names another), a cluster-local known_hosts (the user's own is never touched), no prompts.
public struct NodeSSH: Sendable {
    public let layout: StateLayout
    /// The ssh executable (a name looked up on PATH, or a path).
    public var executable: String = "ssh"
    public var connectTimeoutSeconds: Int = 10

    public init(layout: StateLayout) { self.layout = layout }

    /// The private key used for `node`.
    public func keyPath(for node: Node) -> String { node.ssh.keyPath ?? layout.privateKey }

    /// The options shared by every connection (also what k0sctl is given through SSH_KNOWN_HOSTS).
    public func options(for node: Node) -> [String] {
        [
            "-i", keyPath(for: node),
            "-p", String(node.ssh.port),
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", "UserKnownHostsFile=\(Self.configValue(layout.knownHosts))",
            "-o", "ConnectTimeout=\(connectTimeoutSeconds)",
            "-o", "LogLevel=ERROR",
        ]
    }

    /// `ssh … -l user -- address command` (a login shell when `command` is nil). The user goes
    /// with `-l` and `--` ends the options, so no value from cluster.lua can be read as an option
    /// (ssh stops parsing options for good at `--`, also after the host).
    public func command(_ node: Node, run remote: String?, interactive: Bool = false) -> Command {
        var arguments = options(for: node)
        if interactive { arguments.append("-t") }
        arguments += ["-l", node.ssh.user, "--", node.sshAddress ?? ""]
        if let remote { arguments.append(remote) }
        return Command(executable, arguments)
    }

    /// A path as the value of an ssh `-o` option: ssh splits the value on whitespace unless it is
    /// in double quotes, inside which `\\` stands for `\`; and it expands `%` tokens in file
    /// options, so `%` is doubled. A `"` cannot be written at all (`pathProblem` refuses it).
    public static func configValue(_ path: String) -> String {
        "\"" + path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "%%") + "\""
    }

    /// Why k0slua cannot keep a cluster in `directory` (nil when it can): a `"` cannot reach ssh's
    /// UserKnownHostsFile, `${` would be read as an environment variable there, and `-i` takes the
    /// key's path as given but ssh then expands its `%` tokens.
    public static func pathProblem(_ directory: String, what: String, hint: String) -> String? {
        for (text, name) in [("\"", "a double quote (\")"), ("${", "\"${\""), ("%", "a percent sign (%)")] where directory.contains(text) {
            return "\(what) \"\(directory)\" contains \(name), which ssh cannot take in a file path; \(hint)"
        }
        return nil
    }
}
