/// Checks what a decoded cluster means: roles, names, addresses, resources. Reports every problem
/// at once; warnings do not stop anything.
public struct ClusterValidator: Sendable {
    public let file: String
    public let hostFacts: HostFacts

    /// k0s's documented minimum memory per role (docs/system-requirements.md), in MiB.
    public static let minimumControllerMemoryMiB = 1024
    public static let minimumWorkerMemoryMiB = 512

    public init(file: String, hostFacts: HostFacts) {
        self.file = file
        self.hostFacts = hostFacts
    }

    /// All problems, errors and warnings.
    public func diagnostics(for cluster: Cluster) -> [Diagnostic] {
        var found: [Diagnostic] = []
        func error(_ code: DiagnosticCode, _ path: String, _ line: Int?, _ message: String, hint: String? = nil) {
            found.append(Diagnostic(.error, code, file: file, line: line, path: path, message: message, hint: hint))
        }
        func warning(_ code: DiagnosticCode, _ path: String, _ line: Int?, _ message: String, hint: String? = nil) {
            found.append(Diagnostic(.warning, code, file: file, line: line, path: path, message: message, hint: hint))
        }
        let path: (Node) -> String = \.sourcePath
        found += settingProblems(cluster)

        if !Self.isHostname(cluster.name) {
            error(.invalidHostname, "name", nil, "cluster name \"\(cluster.name)\" must be a DNS label (lower-case letters, digits and '-', at most 63)")
        }
        // Counted in place: `cluster.controllers` copies every Node.
        let controllers = cluster.nodes.count { $0.role == .controller }
        if controllers == 0 {
            error(.noController, "nodes", nil, "the cluster needs at least one controller", hint: "add a node with role = \"controller\"")
        }
        if !cluster.nodes.isEmpty, !cluster.nodes.contains(where: \.runsWorkloads) {
            error(.noWorkloadNode, "nodes", nil, "no node can run workloads: add a worker or set workloads = true on a controller")
        }
        if controllers >= 2, controllers % 2 == 0 {
            warning(.evenControllerCount, "nodes", nil,
                    "\(controllers) controllers: an even count tolerates no more failures than \(controllers - 1) (etcd quorum)")
        }

        let network = cluster.network
        if !network.cidr.contains(network.gateway) {
            error(.addressOutsideNetwork, "network.gateway", network.line, "gateway \(network.gateway) is outside \(network.cidr)")
        }
        if cluster.provider == .libvirt, IPv4CIDR("192.168.121.0/24")!.contains(network.cidr.network) {
            error(.addressCollision, "network.cidr", network.line,
                  "\(network.cidr) overlaps vagrant-libvirt's management network 192.168.121.0/24",
                  hint: "use another range, such as 192.168.64.0/24")
        }
        addressingProblems(cluster, error: { error($0, $1, $2, $3, hint: $4) }, warning: { warning($0, $1, $2, $3, hint: $4) })

        func checkResources(_ node: Node) {
            let p = path(node)
            if node.cpus < 1 {
                error(.tooFewCPUs, "\(p).cpus", node.line(of: "cpus"), "needs at least 1 CPU, got \(node.cpus)")
            }
            let minimumMemory = node.role == .controller ? Self.minimumControllerMemoryMiB : Self.minimumWorkerMemoryMiB
            if node.memoryMiB < minimumMemory {
                error(.tooLittleMemory, "\(p).memory", node.line(of: "memory"),
                      "\(node.memoryMiB) MiB is below k0s's minimum of \(minimumMemory) MiB for a \(node.role.rawValue)")
            }
            if node.diskGB < cluster.provider.minimumDiskGB {
                let why = cluster.provider == .tart ? " (Tart's Ubuntu images ship a 20 GB disk that cannot shrink)" : ""
                error(.tooLittleDisk, "\(p).disk", node.line(of: "disk"),
                      "\(node.diskGB) GB is below the \(cluster.provider.rawValue) minimum of \(cluster.provider.minimumDiskGB) GB\(why)")
            }
            if cluster.provider == .tart, node.cpus > hostFacts.cpus {
                // vagrant-tart refuses more CPUs than the host has (lib/vagrant-tart/config.rb).
                error(.exceedsHostCapacity, "\(p).cpus", node.line(of: "cpus"),
                      "\(node.cpus) CPUs is more than this host's \(hostFacts.cpus); vagrant-tart refuses that")
            }
            if !node.runsWorkloads, !Self.validLabels(node).isEmpty || !node.taints.isEmpty {
                error(.unsupportedSetting, "\(p).labels", node.line(of: "labels"),
                      "\(node.name) is a pure controller: it runs no kubelet, so labels and taints cannot apply",
                      hint: "set workloads = true on it, or move the labels to a worker")
            }
        }

        // Indices into cluster.nodes: a Node copy per entry cost ~5 % of a large plan.
        var byName: [String: Int] = [:]
        var byAddress: [IPv4Address: Int] = [:]
        for (index, node) in cluster.nodes.enumerated() {
            let p = path(node)
            if !Self.isHostname(node.name) {
                error(.invalidHostname, "\(p).name", node.line(of: "name"),
                      "\"\(node.name)\" is not a valid hostname (lower-case letters, digits and '-', at most 63, not starting or ending with '-')")
            }
            if let other = byName[node.name].map({ cluster.nodes[$0] }) {
                error(.duplicateName, "\(p).name", node.line(of: "name"), "\"\(node.name)\" is used twice (also at line \(other.line.map(String.init) ?? "?"))")
            } else {
                byName[node.name] = index
            }
            guard let ip = node.ip else {
                checkResources(node)
                continue
            }
            if cluster.provider != .hosts {
                if !network.cidr.contains(ip) {
                    error(.addressOutsideNetwork, "\(p).ip", node.line(of: "ip"), "\(ip) is outside the cluster network \(network.cidr)")
                } else if ip == network.cidr.network {
                    error(.reservedAddress, "\(p).ip", node.line(of: "ip"), "\(ip) is the network address of \(network.cidr)")
                } else if ip == network.cidr.broadcast {
                    error(.reservedAddress, "\(p).ip", node.line(of: "ip"), "\(ip) is the broadcast address of \(network.cidr)")
                } else if ip == network.gateway {
                    error(.reservedAddress, "\(p).ip", node.line(of: "ip"), "\(ip) is the gateway address")
                }
            }
            if let other = byAddress[ip].map({ cluster.nodes[$0] }) {
                let code: DiagnosticCode = other.role == node.role ? .duplicateAddress : .addressCollision
                error(code, "\(p).ip", node.line(of: "ip"),
                      "\(ip) is taken by both \(other.name) and \(node.name)",
                      hint: code == .addressCollision
                          ? "the \(other.role.rawValue) and \(node.role.rawValue) address ranges overlap: move one range's first address"
                          : nil)
            } else {
                byAddress[ip] = index
            }
            if let vip = cluster.k0s.vip, vip == ip {
                error(.invalidVIP, "k0s.vip", cluster.k0s.line, "the VIP \(vip) is also \(node.name)'s address")
            }
            checkResources(node)
        }
        if let vip = cluster.k0s.vip {
            if !network.cidr.contains(vip) || vip == network.cidr.network || vip == network.cidr.broadcast || vip == network.gateway {
                error(.invalidVIP, "k0s.vip", cluster.k0s.line, "the VIP \(vip) must be a free host address inside \(network.cidr)")
            }
            if cluster.provider == .tart, network.tartMode != .bridged {
                let why = network.tartMode == .softnet
                    ? "softnet passes only each VM's DHCP lease as a source address, so keepalived's VIP cannot answer"
                    : "Tart's shared network isolates the VMs from each other, so keepalived cannot elect a VIP holder"
                error(.invalidVIP, "k0s.vip", cluster.k0s.line, "a VIP cannot work on Tart's \(network.tartMode.rawValue) network: \(why)",
                      hint: "use network = { mode = \"bridged\", bridge_interface = \"en0\", cidr = …, gateway = … }, or drop the VIP")
            }
        }
        if cluster.k0s.vipAuthPass.isEmpty || cluster.k0s.vipAuthPass.count > 8 {
            error(.invalidValue, "k0s.vip_auth_pass", cluster.k0s.line, "keepalived's authPass must be 1 to 8 characters")
        }
        if cluster.provider != .hosts {
            let cpus = cluster.nodes.reduce(0) { $0 + $1.cpus }
            let memory = cluster.nodes.reduce(0) { $0 + $1.memoryMiB }
            if cpus > hostFacts.cpus {
                warning(.exceedsHostCapacity, "nodes", nil, "the nodes ask for \(cpus) CPUs; this host has \(hostFacts.cpus) (VMs will share them)")
            }
            if memory > hostFacts.memoryMiB {
                warning(.exceedsHostCapacity, "nodes", nil, "the nodes ask for \(memory) MiB of memory; this host has \(hostFacts.memoryMiB) MiB")
            }
        }
        found += ValueSafety(file: file).diagnostics(for: cluster)
        return found
    }

    /// Which addressing each provider and network mode can carry (docs/providers.md): softnet and
    /// Tart's shared network pass only each VM's DHCP lease, so a static address there would be a
    /// secondary address next to the lease; bridged mode needs the LAN's own subnet; existing hosts
    /// need their address.
    func addressingProblems(_ cluster: Cluster,
                            error: (DiagnosticCode, String, Int?, String, String?) -> Void,
                            warning: (DiagnosticCode, String, Int?, String, String?) -> Void) {
        let network = cluster.network
        switch cluster.provider {
        case .tart:
            switch network.tartMode {
            case .softnet, .shared:
                for node in cluster.nodes where node.addressing == .fixed {
                    let why = network.tartMode == .softnet
                        ? "softnet passes only each VM's DHCP lease as a source address"
                        : "on Tart's shared network it would be a secondary address next to the DHCP lease, never used as a source"
                    error(.invalidAddressing, "\(node.sourcePath).ip", node.line(of: "ip"),
                          "a static address (\(node.addressDescription)) cannot work on Tart's \(network.tartMode.rawValue) network: \(why)",
                          "use ip = \"dhcp\" (nodes.class { first_ip = \"dhcp\" }), or network = { mode = \"bridged\", bridge_interface = \"en0\", cidr = …, gateway = … }")
                }
                if network.tartMode == .shared, cluster.nodes.count > 1 {
                    warning(.invalidNetworkMode, "network.mode", network.line,
                            "Tart's shared network isolates VMs from each other on macOS 13 and later: the \(cluster.nodes.count) nodes will not reach each other",
                            "leave mode out (softnet, the default)")
                }
            case .bridged:
                if network.bridgeInterface == nil {
                    error(.missingKey, "network.bridge_interface", network.line, "bridged mode needs the host interface, such as \"en0\"", nil)
                }
                if !network.cidrGiven || !network.gatewayGiven {
                    error(.missingKey, network.cidrGiven ? "network.gateway" : "network.cidr", network.line,
                          "bridged mode puts the VMs on your LAN: name the LAN's own cidr and gateway (the 192.168.64.0/24 default is Tart's NAT network, unreachable there)",
                          "e.g. network = { mode = \"bridged\", bridge_interface = \"en0\", cidr = \"192.168.1.0/24\", gateway = \"192.168.1.1\" }")
                }
            }
        case .libvirt:
            let kinds = Set(cluster.nodes.map(\.addressing))
            if kinds.count > 1, let odd = cluster.nodes.first(where: { $0.addressing != cluster.nodes[0].addressing }) {
                error(.invalidAddressing, "\(odd.sourcePath).ip", odd.line(of: "ip"),
                      "on libvirt every node takes a static address or every node takes DHCP: \(cluster.nodes[0].name) and \(odd.name) differ",
                      "give every node an ip, or ip = \"dhcp\" to every node")
            }
        case .hosts:
            for node in cluster.nodes where node.addressing == .dhcp {
                error(.invalidAddressing, "\(node.sourcePath).ip", node.line(of: "ip"),
                      "existing hosts need their address: \"dhcp\" is for VMs k0slua starts", "set ip to the host's address")
            }
        }
        if cluster.provider != .tart, network.modeGiven || network.bridgeInterface != nil {
            error(.unsupportedSetting, "network.mode", network.line, "network modes apply to the tart provider only", nil)
        }
    }

    /// Validates and throws when any error is found; returns the warnings otherwise.
    public func validate(_ cluster: Cluster) throws(DiagnosticList) -> [Diagnostic] {
        let all = diagnostics(for: cluster)
        if all.contains(where: { $0.severity == .error }) { throw DiagnosticList(all) }
        return all
    }

    /// RFC 1123 label, lower case.
    public static func isHostname(_ name: String) -> Bool {
        name.count <= 63
            && Syntax.isLabel(name[...], ends: Syntax.isLowerAlphanumeric, middle: { Syntax.isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") })
    }
}
