/// Values from cluster.lua that end up on a command line (ssh, tart, vagrant), in Ruby (the
/// Vagrantfile), in YAML (k0sctl.yaml) or in a shell (the guest provisioning script). Quoting
/// (Render/Quoting.swift) keeps each of them a literal in its language; these rules keep them
/// from being read as an option (`-oProxyCommand=…`) or as something other than what the field
/// names, and give the user a message at the field's line instead of a surprise later.
///
/// Names, addresses, labels and taints that have their own syntax are checked where that syntax
/// lives (hostnames in ClusterValidator, labels in SettingValues, taints where the decoder parses
/// them with LabelSyntax, IPv4 in the model).
struct ValueSafety {
    let file: String

    /// The rule for one kind of value: a whole-string test and how to describe it.
    struct Rule: Sendable {
        /// Whether the whole value is of this kind (checked by hand, byte by byte: building a
        /// `Regex` per value dominated the time of a 1,000-node plan).
        let matches: @Sendable (String) -> Bool
        let maximumLength: Int
        let expected: String

        func problem(_ value: String) -> String? {
            if value.isEmpty { return "must not be empty" }
            if value.count > maximumLength { return "is longer than \(maximumLength) characters" }
            if value.hasPrefix("-") { return "must not start with '-' (it would be read as an option)" }
            if !matches(value) { return "must be \(expected)" }
            return nil
        }
    }

    /// POSIX portable user names (useradd's default rule, upper case allowed): `[A-Za-z_][A-Za-z0-9_.-]*`.
    static let user = Rule(matches: { Syntax.all($0, first: { Syntax.isLetter($0) || $0 == UInt8(ascii: "_") }, rest: { Syntax.isAlphanumeric($0) || Syntax.isOneOf($0, "_.-") }) },
                           maximumLength: 32, expected: "a user name (letters, digits, '_', '.', '-')")
    /// A DNS name (optionally ending in '.') or an IPv4/IPv6 literal.
    static let address = Rule(matches: { Syntax.isDNSName($0) || Syntax.isIPv6Like($0) },
                              maximumLength: 253, expected: "a host name or an IP address")
    /// An OCI image reference (Tart) or a Vagrant box name: `[A-Za-z0-9][A-Za-z0-9._/:@+-]*`.
    static let image = Rule(matches: { Syntax.all($0, first: Syntax.isAlphanumeric, rest: { Syntax.isAlphanumeric($0) || Syntax.isOneOf($0, "._/:@+-") }) },
                            maximumLength: 255,
                            expected: "an image or box name such as \"ghcr.io/cirruslabs/ubuntu:24.04\" or \"generic/ubuntu2204\"")
    /// A libvirt network name: `[A-Za-z0-9][A-Za-z0-9._-]*`.
    static let libvirtName = Rule(matches: { Syntax.all($0, first: Syntax.isAlphanumeric, rest: { Syntax.isAlphanumeric($0) || Syntax.isOneOf($0, "._-") }) },
                                  maximumLength: 64, expected: "a libvirt name (letters, digits, '.', '_', '-')")
    /// A network interface name (IFNAMSIZ - 1 characters): `[A-Za-z0-9][A-Za-z0-9._-]*`.
    static let interface = Rule(matches: { Syntax.all($0, first: Syntax.isAlphanumeric, rest: { Syntax.isAlphanumeric($0) || Syntax.isOneOf($0, "._-") }) },
                                maximumLength: 15, expected: "an interface name such as \"en0\"")
    /// A file path: anything printable (no C0 control character, no DEL).
    static let path = Rule(matches: { $0.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f } },
                           maximumLength: 4096, expected: "a path without control characters")
    /// A password that lands in YAML: printable ASCII.
    static let password = Rule(matches: { $0.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7e } },
                               maximumLength: 1024, expected: "printable ASCII")

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

/// Whole-string syntax checks over ASCII bytes. Any byte outside ASCII fails every character set
/// here, so a non-ASCII character never passes.
enum Syntax {
    static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLetter(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }

    /// `characters` is ASCII.
    static func isOneOf(_ byte: UInt8, _ characters: StaticString) -> Bool {
        UnsafeBufferPointer(start: characters.utf8Start, count: characters.utf8CodeUnitCount).contains(byte)
    }

    /// Non-empty, the first byte passes `first` and every other byte passes `rest`.
    static func all<S: StringProtocol>(_ text: S, first: (UInt8) -> Bool, rest: (UInt8) -> Bool) -> Bool {
        guard let head = text.utf8.first, first(head) else { return false }
        return text.utf8.dropFirst().allSatisfy(rest)
    }

    /// `[A-Za-z0-9]([<middle>]*[A-Za-z0-9])?` with `alphanumeric` as the letter set of both ends;
    /// `middle` also decides for the bytes between them.
    static func isLabel(_ text: Substring, ends: (UInt8) -> Bool, middle: (UInt8) -> Bool) -> Bool {
        guard let head = text.utf8.first, let tail = text.utf8.last, ends(head), ends(tail) else { return false }
        return text.utf8.allSatisfy(middle)
    }

    /// Labels of letters, digits and '-' (not at either end) joined by '.', with an optional final '.'.
    static func isDNSName(_ text: String) -> Bool {
        var labels = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        if labels.count > 1, labels.last!.isEmpty { labels.removeLast() }
        return labels.allSatisfy { label in
            guard let head = label.first, let tail = label.last, isAlphanumeric(head), isAlphanumeric(tail) else { return false }
            return label.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// An IPv6 literal's characters: hex digits, ':' and '.', with at least one ':'.
    static func isIPv6Like(_ text: String) -> Bool {
        text.utf8.contains(UInt8(ascii: ":")) && text.utf8.allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }
    }
}
