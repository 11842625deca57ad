import Foundation

/// The macOS host checks for Tart clusters (docs/providers.md has the upstream evidence for each).
/// Every host fact comes from a command run through `ProcessRunning` (`sw_vers`, `defaults`,
/// `ifconfig`, `stat`, `sudo`, `tart`, `cat /etc/bootptab`), except the DHCP leases file and the cluster's own state
/// directory, which are read from paths that tests can point elsewhere.
public struct MacNetworkChecks: Sendable {
    public let cluster: Cluster
    public let layout: StateLayout
    public let runner: any ProcessRunning
    /// Where Tart looks for the softnet executable: `PATH` only (Tart `Network/Softnet.swift`).
    public var searchPath: String
    public var leasesFile: String

    /// The vmnet preferences Tart's shared network (and softnet) take their subnet from (Tart `docs/faq.md`).
    public static let vmnetPreferences = "/Library/Preferences/SystemConfiguration/com.apple.vmnet.plist"
    /// vmnet's subnet when `Shared_Net_Address` / `Shared_Net_Mask` are unset.
    public static let defaultSharedAddress = "192.168.64.1"
    public static let defaultSharedMask = "255.255.255.0"

    public init(cluster: Cluster, layout: StateLayout, runner: any ProcessRunning,
                searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                leasesFile: String = "/var/db/dhcpd_leases") {
        self.cluster = cluster
        self.layout = layout
        self.runner = runner
        self.searchPath = searchPath
        self.leasesFile = leasesFile
    }

    /// The checks that run only on macOS, for `k0slua doctor` on other systems.
    public static let macOSOnly: [(name: String, what: String)] = [
        ("tart image", "tart list: the cluster's image is in Tart's local store (checked everywhere with `up --offline`)"),
        ("macOS version", "sw_vers: which macOS the claims below are checked for"),
        ("shared subnet", "vmnet's shared subnet (com.apple.vmnet.plist, bridge100) against network.cidr"),
        ("VPN route", "route -n get: traffic to the shared subnet leaves through vmnet's bridge, not a VPN's utun interface"),
        ("softnet", "softnet on PATH and SUID root (or passwordless sudo), softnet mode"),
        ("bridged interface", "the bridged interface exists, is up and holds an address in network.cidr, bridged mode"),
        ("DHCP leases", "static IPs inside macOS bootpd's pool or leased in /var/db/dhcpd_leases"),
        ("DHCP reservations", "/etc/bootptab: each recorded DHCP node's address is reserved, so a stop/start keeps it"),
        ("leftover Tart VMs", "tart list: a node's Tart VM that this cluster's state does not own"),
    ]

    /// Runs the checks that apply to the cluster's Tart mode; the order is stable.
    public func run() async -> [PreflightCheck] {
        var checks: [PreflightCheck] = []
        let version = await macOSVersion()
        checks.append(PreflightCheck(name: "macOS version", ok: true, detail: version.map { "macOS \($0)" } ?? "unknown (`sw_vers -productVersion` failed)",
                                     warningOnly: version == nil))
        let major = version.flatMap { Int($0.split(separator: ".").first ?? "") }
        var subnet: SharedSubnet?
        switch cluster.network.tartMode {
        case .shared, .softnet:
            subnet = await sharedSubnet()
            checks.append(sharedSubnetCheck(subnet!, macOSMajor: major))
            if let route = await vpnRouteCheck(subnet!) { checks.append(route) }
            if cluster.network.tartMode == .softnet { checks.append(await softnetCheck()) }
            if let reservations = await reservationCheck() { checks.append(reservations) }
        case .bridged:
            checks.append(await bridgedInterfaceCheck())
        }
        // Validation keeps static addresses to bridged mode; one inside the Mac's own vmnet subnet
        // would still meet bootpd's leases there and be routed to bridge100 by the Mac.
        if cluster.nodes.contains(where: { $0.staticAddress != nil }) {
            let pool = subnet == nil ? await sharedSubnet() : subnet!
            if let leases = leaseCheck(pool: pool.cidr) { checks.append(leases) }
        }
        checks.append(await leftoverVMCheck())
        return checks
    }

    // MARK: - macOS version

    /// `sw_vers -productVersion`, e.g. `15.5`.
    public func macOSVersion() async -> String? { await Self.macOSVersion(runner: runner) }

    /// `sw_vers -productVersion`, e.g. `15.5`; nil when it fails (not a Mac).
    public static func macOSVersion(runner: any ProcessRunning) async -> String? {
        guard let result = try? await runner.run(Command("sw_vers", ["-productVersion"])), result.succeeded else { return nil }
        return Preflight.firstLine(result.standardOutput)
    }

    // MARK: - (a) shared subnet

    /// The subnet of Tart's shared network and where it was read.
    public struct SharedSubnet: Sendable, Equatable {
        public var cidr: IPv4CIDR
        public var gateway: IPv4Address
        /// `bridge100`, `com.apple.vmnet.plist` or `vmnet default`.
        public var source: String
    }

    /// The live `bridge100` address if the bridge exists, else vmnet's preferences, else vmnet's default.
    public func sharedSubnet() async -> SharedSubnet {
        if let result = try? await runner.run(Command("ifconfig", ["bridge100"])), result.succeeded,
           let inet = Self.ifconfigInet(result.standardOutput).first {
            return SharedSubnet(cidr: Self.subnet(inet.address, inet.prefixLength), gateway: inet.address, source: "bridge100")
        }
        let address = await defaultsRead("Shared_Net_Address")
        let mask = await defaultsRead("Shared_Net_Mask")
        let gateway = address.flatMap { IPv4Address($0) } ?? IPv4Address(Self.defaultSharedAddress)!
        let prefix = mask.flatMap { IPv4Address($0) }.flatMap { Self.prefixLength(ofMask: $0.value) } ?? 24
        let source = address == nil && mask == nil ? "vmnet default" : "com.apple.vmnet.plist"
        return SharedSubnet(cidr: Self.subnet(gateway, prefix), gateway: gateway, source: source)
    }

    /// The network an address sits in, without host bits.
    static func subnet(_ address: IPv4Address, _ prefixLength: Int) -> IPv4CIDR {
        IPv4CIDR(address: IPv4CIDR(address: address, prefixLength: prefixLength).network, prefixLength: prefixLength)
    }

    func defaultsRead(_ key: String) async -> String? {
        guard let result = try? await runner.run(Command("defaults", ["read", Self.vmnetPreferences, key])), result.succeeded else { return nil }
        return Preflight.firstLine(result.standardOutput)
    }

    func sharedSubnetCheck(_ subnet: SharedSubnet, macOSMajor: Int?) -> PreflightCheck {
        let real = "\(subnet.cidr) (gateway \(subnet.gateway), from \(subnet.source))"
        let tahoe = (macOSMajor ?? 0) >= 26
            ? "; macOS 26 may ignore com.apple.vmnet.plist (Tart issue 1225), so set network.cidr to the subnet the VMs get" : ""
        guard subnet.cidr == Self.subnet(cluster.network.cidr.network, cluster.network.cidr.prefixLength) else {
            return PreflightCheck(name: "shared subnet", ok: false,
                                  detail: "Tart's shared network is \(real), but network.cidr is \(cluster.network.cidr)",
                                  fix: "set network = { cidr = \"\(subnet.cidr)\", gateway = \"\(subnet.gateway)\" } in cluster.lua, or "
                                      + "`sudo defaults write \(Self.vmnetPreferences) Shared_Net_Address -string \(cluster.network.gateway)`" + tahoe)
        }
        return PreflightCheck(name: "shared subnet", ok: true, detail: real + " matches network.cidr")
    }

    /// Interfaces VPN clients route through (utun: WireGuard, IKEv2 and most vendor clients).
    static let vpnInterfacePrefixes = ["utun", "ipsec", "ppp", "tun", "tap"]

    /// `route -n get <gateway>`: a VPN client that captures the shared subnet (a full tunnel, or
    /// a route for 192.168.64.0/24) sends this Mac's packets for the VMs into the tunnel, so no
    /// node answers. A warning naming the interface; nil when `route` does not answer.
    public func vpnRouteCheck(_ subnet: SharedSubnet) async -> PreflightCheck? {
        guard let result = try? await runner.run(Command("route", ["-n", "get", subnet.gateway.description])), result.succeeded else { return nil }
        let interface = result.standardOutput.split(separator: "\n").lazy
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix("interface:") }
            .map { $0.dropFirst("interface:".count).trimmingCharacters(in: .whitespaces) }
        guard let interface, !interface.isEmpty else { return nil }
        guard Self.vpnInterfacePrefixes.contains(where: { interface.hasPrefix($0) }) else {
            return PreflightCheck(name: "VPN route", ok: true, detail: "traffic to \(subnet.cidr) leaves through \(interface), not a VPN")
        }
        return PreflightCheck(name: "VPN route", ok: true,
                              detail: "traffic to \(subnet.cidr) leaves through \(interface), a VPN interface: a VPN client captures the VMs' subnet, so this Mac may reach no node",
                              fix: "let the VPN leave \(subnet.cidr) alone (split tunnelling, or its \"allow local network access\" setting), or disconnect it while the cluster runs",
                              warningOnly: true)
    }

    // MARK: - (b) softnet

    /// Tart finds softnet on PATH only; it must be SUID root or runnable through passwordless sudo,
    /// because under vagrant-tart `tart run` has no terminal and never asks for the password.
    public func softnetCheck() async -> PreflightCheck {
        let candidates = searchPath.split(separator: ":").map { "\($0)/softnet" }
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            return PreflightCheck(name: "softnet", ok: false, detail: "softnet is not on PATH (Tart looks for it there)",
                                  fix: "brew install cirruslabs/cli/softnet")
        }
        if let tooOld = await softnetFloorProblem(path) { return tooOld }
        let stat = try? await runner.run(Command("stat", ["-L", "-f", "%Su %Sp", path]))
        let fields = stat.flatMap { $0.succeeded ? Preflight.firstLine($0.standardOutput) : nil }?.split(separator: " ") ?? []
        if fields.count == 2, fields[0] == "root", fields[1].count >= 4, Array(fields[1])[3] == "s" {
            return PreflightCheck(name: "softnet", ok: true, detail: "\(path) is SUID root")
        }
        if let sudo = try? await runner.run(Command("sudo", ["--non-interactive", "softnet", "--help"])), sudo.succeeded {
            return PreflightCheck(name: "softnet", ok: true, detail: "\(path) runs through passwordless sudo")
        }
        let found = fields.count == 2 ? "owner \(fields[0]), mode \(fields[1])" : "its owner and mode could not be read"
        return PreflightCheck(name: "softnet", ok: false,
                              detail: "\(path) is not SUID root (\(found)) and sudo asks for a password; vagrant-tart starts Tart without a terminal, so Tart cannot ask",
                              fix: Self.softnetSUIDCommand(path))
    }

    /// The first softnet with `--block` (softnet commit 431ae9b, "Introduce --block in addition to
    /// --allow", first in tag 0.16.0): Tart 2.30+ hands it `--net-softnet-block`'s list.
    public static let minimumSoftnet = "0.16.0"

    /// softnet has no `--version`; its `--help` (clap) names `--block` from 0.16.0 on. Nil when it
    /// knows `--block`, or when its help could not be read (the SUID check then says more).
    func softnetFloorProblem(_ path: String) async -> PreflightCheck? {
        guard let help = try? await runner.run(Command(path, ["--help"])), help.succeeded else { return nil }
        guard !(help.standardOutput + help.standardError).contains("--block") else { return nil }
        return PreflightCheck(name: "softnet", ok: false,
                              detail: "\(path) is older than \(Self.minimumSoftnet): its --help has no --block, which Tart passes for --net-softnet-block (softnet has no --version)",
                              fix: "brew upgrade cirruslabs/cli/softnet")
    }

    /// The one command that makes softnet SUID root (what Tart itself runs through sudo).
    /// The path is a shell word inside the root shell's script, and the script one word for sudo.
    public static func softnetSUIDCommand(_ path: String) -> String {
        "sudo sh -c " + Quote.shell("chown root -- \(Quote.shell(path)) && chmod u+s -- \(Quote.shell(path))")
    }

    // MARK: - (c) bridged interface

    /// `ifconfig <iface>`: the interface exists, is up, and holds an address inside network.cidr.
    public func bridgedInterfaceCheck() async -> PreflightCheck {
        let name = "bridged interface"
        guard let interface = cluster.network.bridgeInterface else {
            return PreflightCheck(name: name, ok: false, detail: "network.bridge_interface is not set", fix: "set network.bridge_interface, e.g. \"en0\"")
        }
        // A BSD interface name only: the value comes from cluster.lua and must never act as an option.
        guard interface.first.map({ $0.isLetter }) == true, interface.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return PreflightCheck(name: name, ok: false, detail: "\"\(interface)\" is not a BSD interface name",
                                  fix: "use the BSD name (e.g. en0) that `tart run --net-bridged=list` shows for it")
        }
        guard let result = try? await runner.run(Command("ifconfig", [interface])), result.succeeded else {
            return PreflightCheck(name: name, ok: false, detail: "\(interface) does not exist on this Mac",
                                  fix: "pick one of `tart run --net-bridged=list` for network.bridge_interface")
        }
        let flags = Self.ifconfigFlags(result.standardOutput)
        guard flags.contains("UP"), flags.contains("RUNNING"), !result.standardOutput.contains("status: inactive") else {
            return PreflightCheck(name: name, ok: false, detail: "\(interface) is down (flags \(flags.joined(separator: ",")))",
                                  fix: "connect \(interface) to the LAN, or bridge another interface")
        }
        let addresses = Self.ifconfigInet(result.standardOutput)
        guard let inside = addresses.first(where: { cluster.network.cidr.contains($0.address) }) else {
            let held = addresses.isEmpty ? "no IPv4 address" : addresses.map { "\($0.address)/\($0.prefixLength)" }.joined(separator: ", ")
            return PreflightCheck(name: name, ok: false, detail: "\(interface) holds \(held), none inside network.cidr \(cluster.network.cidr)",
                                  fix: "set network.cidr and network.gateway to \(interface)'s LAN, or bridge the interface on \(cluster.network.cidr)")
        }
        return PreflightCheck(name: name, ok: true, detail: "\(interface) is up with \(inside.address)/\(inside.prefixLength), inside \(cluster.network.cidr)")
    }

    // MARK: - (d) bootpd pool and leases

    /// One entry of /var/db/dhcpd_leases (`lease` is the expiry, seconds since 1970 in hex; Tart `Lease.swift`).
    public struct Lease: Sendable, Equatable {
        public var name: String?
        public var ip: IPv4Address
        public var hardwareAddress: String?
        public var expires: Date?
    }

    public static func parseLeases(_ text: String) -> [Lease] {
        var leases: [Lease] = []
        var fields: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line == "{" { fields = [:] }
            else if line == "}" {
                if let ip = fields["ip_address"].flatMap(IPv4Address.init) {
                    let expires = fields["lease"].flatMap { UInt64($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16) }
                    leases.append(Lease(name: fields["name"], ip: ip, hardwareAddress: fields["hw_address"],
                                        expires: expires.map { Date(timeIntervalSince1970: TimeInterval($0)) }))
                }
            } else if let equals = line.firstIndex(of: "=") {
                fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
            }
        }
        return leases
    }

    /// Static node IPs that macOS bootpd may hand out (inside the shared subnet's pool, gateway and
    /// broadcast excluded) or already leased: a warning naming each. Nil when no node is static.
    func leaseCheck(pool: IPv4CIDR) -> PreflightCheck? {
        let planned = cluster.nodes.compactMap { node in node.staticAddress.map { (node.name, $0) } }
        guard !planned.isEmpty else { return nil }
        let leases = Self.parseLeases((try? String(contentsOfFile: leasesFile, encoding: .utf8)) ?? "")
        let gateway = pool.network.adding(1)
        var problems: [String] = []
        for (name, ip) in planned {
            if let lease = leases.first(where: { $0.ip == ip }) {
                let until = lease.expires.map { " until \(ISO8601DateFormatter().string(from: $0))" } ?? ""
                problems.append("\(name) \(ip) is leased in \(leasesFile) to \(lease.name ?? "?") (\(lease.hardwareAddress ?? "no hw_address")\(until))")
            } else if pool.contains(ip), ip != gateway, ip != pool.network, ip != pool.broadcast {
                problems.append("\(name) \(ip) is inside bootpd's pool \(pool)")
            }
        }
        return PreflightCheck(name: "DHCP leases", ok: problems.isEmpty,
                              detail: problems.isEmpty ? "no static IP is in bootpd's pool or leased" : problems.joined(separator: "; "),
                              fix: problems.isEmpty ? nil : "let the nodes take DHCP addresses (ip = \"dhcp\"), or stop the VMs holding those leases and `sudo rm \(leasesFile)`",
                              warningOnly: !problems.isEmpty)
    }

    // MARK: - bootpd reservations

    /// The reservations of /etc/bootptab (bootpd(8)): after the `%%` line, `name htype hwaddr ipaddr
    /// [bootfile]` per machine; `#` starts a comment.
    public static func parseBootptab(_ text: String) -> [(name: String, hardwareAddress: String, ip: IPv4Address)] {
        var entries: [(name: String, hardwareAddress: String, ip: IPv4Address)] = []
        var inTable = false
        for raw in text.split(separator: "\n") {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if fields == ["%%"] { inTable = true; continue }
            guard inTable, fields.count >= 4, let ip = IPv4Address(fields[3]) else { continue }
            entries.append((fields[0], fields[2], ip))
        }
        return entries
    }

    /// Recorded DHCP nodes whose address has no reservation in /etc/bootptab: a stop/start or a
    /// host reboot may give them another lease, and a controller's moved lease stops `k0slua
    /// start` (etcd keeps its peer URL). A warning; nil before the first `up` recorded addresses.
    public func reservationCheck() async -> PreflightCheck? {
        guard let record = try? ClusterRecord.load(layout) else { return nil }
        let recorded = record.nodes.compactMap { node -> (name: String, ip: IPv4Address)? in
            guard node.addressing == .dhcp, let ip = node.address.flatMap(IPv4Address.init) else { return nil }
            return (node.name, ip)
        }
        guard !recorded.isEmpty else { return nil }
        let result = try? await runner.run(Command("cat", ["/etc/bootptab"]))
        let reserved = Set(Self.parseBootptab(result?.succeeded == true ? result!.standardOutput : "").map(\.ip))
        let missing = recorded.filter { !reserved.contains($0.ip) }
        guard !missing.isEmpty else {
            return PreflightCheck(name: "DHCP reservations", ok: true, detail: "every recorded node's address is reserved in /etc/bootptab")
        }
        return PreflightCheck(name: "DHCP reservations", ok: false,
                              detail: "no reservation in /etc/bootptab for " + missing.map { "\($0.name) \($0.ip)" }.joined(separator: ", ")
                                  + ": after a stop/start or a host reboot DHCP may move them, and a moved controller stops `k0slua start`",
                              fix: "add a `%%` line, then one `NAME 1 MAC ADDRESS` line per node to /etc/bootptab (MAC: \"macAddress\" in ~/.tart/vms/TARTNAME/config.json; docs/troubleshooting.md)",
                              warningOnly: true)
    }

    // MARK: - (f) leftover Tart VMs

    /// A Tart VM named like one of this cluster's nodes that the cluster's Vagrant state does not
    /// own: vagrant-tart would skip the clone, never record the machine id, and `vagrant up` would
    /// wait for SSH until it times out (vagrant-tart `action/create_instance.rb`, `provider.rb`).
    public func leftoverVMCheck() async -> PreflightCheck {
        let name = "leftover Tart VMs"
        guard let result = try? await runner.run(Command("tart", ["list", "--format", "json"])), result.succeeded,
              let list = try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]] else {
            return PreflightCheck(name: name, ok: false, detail: "`tart list --format json` failed", fix: "brew install cirruslabs/cli/tart")
        }
        let existing = Set(list.compactMap { $0["Name"] as? String })
        let leftovers = cluster.nodes.compactMap { node -> String? in
            let tartName = VagrantfileRenderer.tartName(cluster: cluster, node: node, layout: layout)
            guard existing.contains(tartName) else { return nil }
            let idFile = "\(layout.directory)/.vagrant/machines/\(node.name)/tart/id"
            let owned = (try? String(contentsOfFile: idFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == tartName
            return owned ? nil : tartName
        }
        guard leftovers.isEmpty else {
            return PreflightCheck(name: name, ok: false,
                                  detail: "Tart VM(s) \(leftovers.joined(separator: ", ")) exist but this cluster's state (\(layout.directory)/.vagrant) does not own them; vagrant-tart would skip the clone and `vagrant up` would time out",
                                  fix: leftovers.map { "tart stop \($0); tart delete \($0)" }.joined(separator: "; "))
        }
        return PreflightCheck(name: name, ok: true, detail: "no Tart VM with a node's name outside this cluster's state")
    }

    // MARK: - ifconfig parsing

    static func ifconfigFlags(_ text: String) -> [String] {
        guard let open = text.firstIndex(of: "<"), let close = text.firstIndex(of: ">"), open < close else { return [] }
        return text[text.index(after: open)..<close].split(separator: ",").map(String.init)
    }

    /// `inet A netmask 0xffffff00 …` lines of BSD ifconfig.
    static func ifconfigInet(_ text: String) -> [(address: IPv4Address, prefixLength: Int)] {
        text.split(separator: "\n").compactMap { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 4, words[0] == "inet", words[2] == "netmask", let address = IPv4Address(String(words[1])) else { return nil }
            let mask = words[3].hasPrefix("0x") ? UInt32(words[3].dropFirst(2), radix: 16) : IPv4Address(String(words[3]))?.value
            guard let prefix = mask.flatMap(prefixLength(ofMask:)) else { return nil }
            return (address, prefix)
        }
    }

    static func prefixLength(ofMask mask: UInt32) -> Int? {
        let length = mask.nonzeroBitCount
        return length == 0 || mask == UInt32.max << UInt32(32 - length) ? length : nil
    }
}
