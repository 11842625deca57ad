/// Values from cluster.lua that end up on a command line (ssh, tart, vagrant), in Ruby (the
/// Vagrantfile), in YAML (k0sctl.yaml) or in a shell (the guest provisioning script). Quoting
/// (Render/Quoting.swift) keeps each of them a literal in its language; these rules keep them
/// from being read as an option (`-oProxyCommand=…`) or as something other than what the field
/// names, and give the user a message at the field's line instead of a surprise later.
///
/// Names, addresses, labels and taints that have their own syntax are checked where that syntax
/// lives (hostnames in ClusterValidator, labels and taints in the decoder, IPv4 in the model).
struct ValueSafety {
    let file: String

    /// The rule for one kind of value: a whole-string pattern and how to describe it.
    struct Rule: Sendable {
        /// A regular expression the whole value must match.
        let pattern: String
        let maximumLength: Int
        let expected: String

        func problem(_ value: String) -> String? {
            if value.isEmpty { return "must not be empty" }
            if value.count > maximumLength { return "is longer than \(maximumLength) characters" }
            if value.hasPrefix("-") { return "must not start with '-' (it would be read as an option)" }
            // The patterns are literals of this file: a bad one is a bug caught by the tests.
            if (try? Regex(pattern)).flatMap({ value.wholeMatch(of: $0) }) == nil { return "must be \(expected)" }
            return nil
        }
    }

    /// POSIX portable user names (useradd's default rule, upper case allowed).
    static let user = Rule(pattern: #"[A-Za-z_][A-Za-z0-9_.-]*"#, maximumLength: 32,
                                               expected: "a user name (letters, digits, '_', '.', '-')")
    /// A DNS name or an IPv4/IPv6 literal.
    static let address = Rule(
        pattern: #"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*"#,
        maximumLength: 253, expected: "a host name or an IP address")
    /// An OCI image reference (Tart) or a Vagrant box name.
    static let image = Rule(pattern: #"[A-Za-z0-9][A-Za-z0-9._/:@+-]*"#, maximumLength: 255,
                                                expected: "an image or box name such as \"ghcr.io/cirruslabs/ubuntu:24.04\" or \"generic/ubuntu2204\"")
    /// A libvirt network name.
    static let libvirtName = Rule(pattern: #"[A-Za-z0-9][A-Za-z0-9._-]*"#, maximumLength: 64,
                                                      expected: "a libvirt name (letters, digits, '.', '_', '-')")
    /// A network interface name (IFNAMSIZ - 1 characters).
    static let interface = Rule(pattern: #"[A-Za-z0-9][A-Za-z0-9._-]*"#, maximumLength: 15,
                                                    expected: "an interface name such as \"en0\"")
    /// A file path: anything printable.
    static let path = Rule(pattern: #"[^\x00-\x1f\x7f]+"#, maximumLength: 4096,
                                               expected: "a path without control characters")
    /// A password that lands in YAML: printable ASCII.
    static let password = Rule(pattern: #"[\x20-\x7e]+"#, maximumLength: 1024,
                                                   expected: "printable ASCII")

    func diagnostics(for cluster: Cluster) -> [Diagnostic] {
        var found: [Diagnostic] = []
        func check(_ value: String?, _ rule: Rule, _ path: String, _ line: Int?) {
            guard let value, let problem = rule.problem(value) else { return }
            found.append(Diagnostic(.unsafeValue, file: file, line: line, path: path, message: "\(Self.show(value)) \(problem)"))
        }
        func checkSSH(_ ssh: SSHSettings, _ path: String, _ line: Int?) {
            check(ssh.user, Self.user, "\(path).user", line)
            check(ssh.address, Self.address, "\(path).address", line)
            check(ssh.keyPath, Self.path, "\(path).key_path", line)
        }
        let imageKey = cluster.provider == .libvirt ? "box" : "image"
        check(cluster.image, Self.image, imageKey, cluster.fieldLines[imageKey])
        checkSSH(cluster.ssh, "ssh", cluster.fieldLines["ssh"])
        let network = cluster.network
        check(network.bridgeInterface, Self.interface, "network.bridge_interface", network.line)
        check(network.libvirtNetworkName, Self.libvirtName, "network.libvirt_network", network.line)
        check(cluster.libvirt.managementNetworkName, Self.libvirtName, "libvirt.management_network_name", cluster.fieldLines["libvirt"])
        if cluster.k0s.vipAuthPass.contains(where: { !$0.isASCII || $0.asciiValue! < 0x20 || $0.asciiValue! == 0x7f }) {
            found.append(Diagnostic(.unsafeValue, file: file, line: cluster.k0s.line, path: "k0s.vip_auth_pass",
                                    message: "the VIP password must be printable ASCII"))
        }
        for node in cluster.nodes where node.ssh != cluster.ssh {
            // Only what the node sets itself; inherited values were checked above.
            var own = node.ssh
            if own.user == cluster.ssh.user { own.user = "ok" }
            if own.address == cluster.ssh.address { own.address = nil }
            if own.keyPath == cluster.ssh.keyPath { own.keyPath = nil }
            checkSSH(own, "\(node.sourcePath).ssh", node.line(of: "ssh"))
        }
        return found
    }

    /// The value as the message shows it: quoted, control characters escaped.
    static func show(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: if scalar.value < 0x20 || scalar.value == 0x7f { out += String(format: "\\x%02x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
