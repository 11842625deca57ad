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

        if !Self.isHostname(cluster.name) {
            error(.invalidHostname, "name", nil, "cluster name \"\(cluster.name)\" must be a DNS label (lower-case letters, digits and '-', at most 63)")
        }
        if cluster.controllers.isEmpty {
            error(.noController, "nodes", nil, "the cluster needs at least one controller", hint: "add a node with role = \"controller\"")
        }
        if !cluster.nodes.isEmpty, !cluster.nodes.contains(where: \.runsWorkloads) {
            error(.noWorkloadNode, "nodes", nil, "no node can run workloads: add a worker or set workloads = true on a controller")
        }
        if cluster.controllers.count >= 2, cluster.controllers.count % 2 == 0 {
            warning(.evenControllerCount, "nodes", nil,
                    "\(cluster.controllers.count) controllers: an even count tolerates no more failures than \(cluster.controllers.count - 1) (etcd quorum)")
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
        if cluster.provider == .tart {
            if network.tartMode == .softnet {
                error(.invalidNetworkMode, "network.mode", network.line,
                      "softnet passes only each VM's DHCP address, so the static IPs of the plan cannot work",
                      hint: "use mode = \"bridged\" (with bridge_interface) or \"shared\"")
            }
            if network.tartMode == .bridged, network.bridgeInterface == nil {
                error(.missingKey, "network.bridge_interface", network.line, "bridged mode needs the host interface, such as \"en0\"")
            }
        } else if network.tartMode != .shared || network.bridgeInterface != nil {
            error(.unsupportedSetting, "network.mode", network.line, "network modes apply to the tart provider only")
        }

        var byName: [String: Node] = [:]
        var byAddress: [IPv4Address: Node] = [:]
        for node in cluster.nodes {
            let p = path(node)
            if !Self.isHostname(node.name) {
                error(.invalidHostname, "\(p).name", node.line(of: "name"),
                      "\"\(node.name)\" is not a valid hostname (lower-case letters, digits and '-', at most 63, not starting or ending with '-')")
            }
            if let other = byName[node.name] {
                error(.duplicateName, "\(p).name", node.line(of: "name"), "\"\(node.name)\" is used twice (also at line \(other.line.map(String.init) ?? "?"))")
            } else {
                byName[node.name] = node
            }
            if cluster.provider != .hosts {
                if !network.cidr.contains(node.ip) {
                    error(.addressOutsideNetwork, "\(p).ip", node.line(of: "ip"), "\(node.ip) is outside the cluster network \(network.cidr)")
                } else if node.ip == network.cidr.network {
                    error(.reservedAddress, "\(p).ip", node.line(of: "ip"), "\(node.ip) is the network address of \(network.cidr)")
                } else if node.ip == network.cidr.broadcast {
                    error(.reservedAddress, "\(p).ip", node.line(of: "ip"), "\(node.ip) is the broadcast address of \(network.cidr)")
                } else if node.ip == network.gateway {
                    error(.reservedAddress, "\(p).ip", node.line(of: "ip"), "\(node.ip) is the gateway address")
                }
            }
            if let other = byAddress[node.ip] {
                let code: DiagnosticCode = other.role == node.role ? .duplicateAddress : .addressCollision
                error(code, "\(p).ip", node.line(of: "ip"),
                      "\(node.ip) is taken by both \(other.name) and \(node.name)",
                      hint: code == .addressCollision
                          ? "the \(other.role.rawValue) and \(node.role.rawValue) address ranges overlap: move one range's first address"
                          : nil)
            } else {
                byAddress[node.ip] = node
            }
            if let vip = cluster.k0s.vip, vip == node.ip {
                error(.invalidVIP, "k0s.vip", cluster.k0s.line, "the VIP \(vip) is also \(node.name)'s address")
            }
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
            if !node.runsWorkloads, !node.labels.isEmpty || !node.taints.isEmpty {
                error(.unsupportedSetting, "\(p).labels", node.line(of: "labels"),
                      "\(node.name) is a pure controller: it runs no kubelet, so labels and taints cannot apply",
                      hint: "set workloads = true on it, or move the labels to a worker")
            }
        }
        if let vip = cluster.k0s.vip {
            if !network.cidr.contains(vip) || vip == network.cidr.network || vip == network.cidr.broadcast || vip == network.gateway {
                error(.invalidVIP, "k0s.vip", cluster.k0s.line, "the VIP \(vip) must be a free host address inside \(network.cidr)")
            }
            if cluster.provider == .tart, network.tartMode == .softnet {
                error(.invalidVIP, "k0s.vip", cluster.k0s.line, "softnet drops traffic from a VIP")
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

    /// Validates and throws when any error is found; returns the warnings otherwise.
    public func validate(_ cluster: Cluster) throws(DiagnosticList) -> [Diagnostic] {
        let all = diagnostics(for: cluster)
        if all.contains(where: { $0.severity == .error }) { throw DiagnosticList(all) }
        return all
    }

    /// RFC 1123 label, lower case.
    public static func isHostname(_ name: String) -> Bool {
        name.count <= 63 && name.wholeMatch(of: #/[a-z0-9]([-a-z0-9]*[a-z0-9])?/#) != nil
    }
}
