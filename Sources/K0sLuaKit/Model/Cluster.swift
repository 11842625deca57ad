/// Where the nodes of a cluster live.
public enum Provider: String, Sendable, CaseIterable, Codable {
    /// Tart VMs on an Apple Silicon Mac through the vagrant-tart plugin.
    case tart
    /// libvirt/QEMU VMs on Linux through the vagrant-libvirt plugin.
    case libvirt
    /// Existing machines reached over SSH; no VMs.
    case hosts

    /// The smallest disk, in GB, a node may ask for on this provider.
    public var minimumDiskGB: Int {
        switch self {
        case .tart: 20  // ghcr.io/cirruslabs/ubuntu images ship a 20 GB disk that cannot shrink
        case .libvirt: 10
        case .hosts: 1
        }
    }

    /// The Vagrant plugin that provides it, if any.
    public var vagrantPlugin: String? {
        switch self {
        case .tart: "vagrant-tart"
        case .libvirt: "vagrant-libvirt"
        case .hosts: nil
        }
    }
}

/// How Tart VMs are attached to the network (see docs/providers.md for the trade-offs).
public enum TartNetworkMode: String, Sendable, CaseIterable, Codable {
    /// Tart's default NAT ("shared") network, 192.168.64.0/24 on the host's bridge100. macOS 13+
    /// isolates VMs from each other there, so only a single node works.
    case shared
    /// Bridged onto a host interface (`--net-bridged`): VMs sit on the LAN and reach each other.
    case bridged
    /// Softnet (`--net-softnet-allow=0.0.0.0/0,<cidr>`, other private ranges blocked), the default:
    /// vmnet's isolation lifted, but only each VM's DHCP address may send, so nodes take their DHCP address.
    case softnet

    /// Whether the network drops frames whose source is not the VM's DHCP lease: static or extra
    /// addresses cannot work, and pod traffic must be encapsulated between node addresses.
    public var enforcesLeaseSource: Bool { self == .softnet }
}

/// How a node gets its address.
public enum NodeAddressing: String, Sendable, CaseIterable, Codable {
    /// The `ip` cluster.lua gives (libvirt, existing hosts, bridged Tart).
    case fixed = "static"
    /// Assigned at boot by the network's DHCP server; k0slua discovers and records it (Tart softnet).
    case dhcp
}

/// The cluster's network.
public struct ClusterNetwork: Sendable, Equatable {
    public var cidr: IPv4CIDR
    public var gateway: IPv4Address
    /// Tart only.
    public var tartMode: TartNetworkMode
    /// Tart bridged mode: the host interface (e.g. `en0`).
    public var bridgeInterface: String?
    /// libvirt only: the name of the libvirt network that carries the node addresses.
    public var libvirtNetworkName: String
    /// The default libvirt network name; the Vagrantfile replaces it by the cluster's identity.
    public static let defaultLibvirtNetworkName = "k0slua"
    /// Whether cluster.lua named `cidr` and `gateway` itself (bridged mode requires both).
    public var cidrGiven: Bool
    public var gatewayGiven: Bool
    /// Whether cluster.lua named `mode` (only the tart provider takes one).
    public var modeGiven: Bool
    public var line: Int?

    public init(cidr: IPv4CIDR, gateway: IPv4Address, tartMode: TartNetworkMode = .softnet,
                bridgeInterface: String? = nil, libvirtNetworkName: String = ClusterNetwork.defaultLibvirtNetworkName,
                cidrGiven: Bool = true, gatewayGiven: Bool = true, modeGiven: Bool = false, line: Int? = nil) {
        self.cidr = cidr
        self.gateway = gateway
        self.tartMode = tartMode
        self.bridgeInterface = bridgeInterface
        self.libvirtNetworkName = libvirtNetworkName
        self.cidrGiven = cidrGiven
        self.gatewayGiven = gatewayGiven
        self.modeGiven = modeGiven
        self.line = line
    }
}

/// k0s settings.
public struct K0sSettings: Sendable, Equatable {
    /// A pinned version such as `v1.33.4+k0s.0`; nil means the latest stable release.
    public var version: String?
    /// `version` as cluster.lua wrote it (maybe without the `v`), and the line: ClusterValidator
    /// checks that it is a k0s version.
    public var declaredVersion: String?
    public var versionLine: Int?
    /// The control-plane virtual IP (keepalived), if any.
    public var vip: IPv4Address?
    /// keepalived VRRP password (1–8 characters) used with the VIP.
    public var vipAuthPass: String
    /// Node-local load balancing; nil means on with two or more controllers.
    public var nodeLocalLoadBalancing: Bool?
    public var line: Int?

    public init(version: String? = nil, vip: IPv4Address? = nil, vipAuthPass: String = "k0slua",
                nodeLocalLoadBalancing: Bool? = nil, line: Int? = nil) {
        self.version = version
        self.vip = vip
        self.vipAuthPass = vipAuthPass
        self.nodeLocalLoadBalancing = nodeLocalLoadBalancing
        self.line = line
    }
}

/// libvirt provider settings.
public struct LibvirtSettings: Sendable, Equatable {
    /// `kvm` (hardware virtualisation) or `qemu` (software emulation, slow).
    public var driver: String
    public var managementNetworkName: String?
    /// `nat` (default) or `none` (isolated; no route out).
    public var managementNetworkMode: String?
    /// Seconds Vagrant waits for a machine to boot.
    public var bootTimeout: Int?

    public init(driver: String = "kvm", managementNetworkName: String? = nil,
                managementNetworkMode: String? = nil, bootTimeout: Int? = nil) {
        self.driver = driver
        self.managementNetworkName = managementNetworkName
        self.managementNetworkMode = managementNetworkMode
        self.bootTimeout = bootTimeout
    }
}

/// How `type: LoadBalancer` services get an address (docs/services.md).
public enum LoadBalancerMode: String, Sendable, CaseIterable, Codable {
    /// k0slua's controller on every controller gives each service the addresses of the nodes that
    /// run kube-proxy; the service answers at `<node-ip>:<port>`.
    case nodeIP = "node-ip"
    /// Nothing is installed: services stay `<pending>` unless the user brings a load balancer.
    case off
}

/// Lua hooks attached to the whole cluster.
public struct ClusterHooks: Sendable, Equatable {
    /// Called once before any node's pre_join hook: `function(ctx)`.
    public var preJoin: LuaFunctionRef?
    /// Called once after every node's post_join hook: `function(ctx)`.
    public var postJoin: LuaFunctionRef?

    public init(preJoin: LuaFunctionRef? = nil, postJoin: LuaFunctionRef? = nil) {
        self.preJoin = preJoin
        self.postJoin = postJoin
    }
}

/// The cluster described by cluster.lua, decoded and validated.
public struct Cluster: Sendable, Equatable {
    public var name: String
    public var provider: Provider
    /// Tart image (tart) or Vagrant box (libvirt); nil for hosts.
    public var image: String?
    /// cluster.lua left `image`/`box` out, so `image` is k0slua's default: an applied Tart cluster
    /// keeps the image it recorded at its first `up` (`pinningImage(to:)`).
    public var imageIsDefault: Bool = false
    public var network: ClusterNetwork
    public var k0s: K0sSettings
    public var libvirt: LibvirtSettings
    /// SSH defaults for every node (hosts provider: how to reach them; VMs: the in-guest user).
    public var ssh: SSHSettings
    /// Controllers first, then workers, each in cluster.lua order.
    public var nodes: [Node]
    public var hooks: ClusterHooks
    /// How LoadBalancer services get addresses (`load_balancer`).
    public var loadBalancer: LoadBalancerMode = .nodeIP
    /// Lines of the top-level fields of cluster.lua's table, where known.
    public var fieldLines: [String: Int] = [:]

    public init(name: String, provider: Provider, image: String?, network: ClusterNetwork, k0s: K0sSettings,
                libvirt: LibvirtSettings = LibvirtSettings(), ssh: SSHSettings, nodes: [Node],
                hooks: ClusterHooks = ClusterHooks()) {
        self.name = name
        self.provider = provider
        self.image = image
        self.network = network
        self.k0s = k0s
        self.libvirt = libvirt
        self.ssh = ssh
        self.nodes = nodes
        self.hooks = hooks
    }

    /// The Tart image a new cluster clones: a release tag of cirruslabs' Ubuntu images
    /// (cirruslabs/linux-image-templates publishes `ubuntu:<release>` and `ubuntu:latest`), so the
    /// Ubuntu release never changes under a cluster; the exact build is the one Tart pulled once.
    public static let defaultTartImage = "ghcr.io/cirruslabs/ubuntu:24.04"

    /// The cluster with the image its record names when cluster.lua left `image` out: nodes that
    /// join later clone what the first `up` cloned, even after k0slua's default changes.
    public func pinningImage(to record: ClusterRecord?) -> Cluster {
        guard provider == .tart, imageIsDefault, let record, record.provider == .tart else { return self }
        var copy = self
        copy.image = record.tartImage
        return copy
    }

    public var controllers: [Node] { nodes.filter { $0.role == .controller } }
    public var workers: [Node] { nodes.filter { $0.role == .worker } }
    /// The controller k0sctl makes the leader: the first one.
    public var leader: Node? { controllers.first }

    /// Node-local load balancing as rendered: explicit setting, else on with 2+ controllers.
    public var nodeLocalLoadBalancingEnabled: Bool {
        k0s.nodeLocalLoadBalancing ?? (controllers.count >= 2)
    }

    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }

    /// Nodes whose address is assigned at boot and not known yet.
    public var unresolvedNodes: [Node] { nodes.filter { $0.ip == nil } }

    /// The same cluster with boot-assigned addresses filled in from `addresses` (node name →
    /// address); static addresses are never replaced.
    public func resolving(_ addresses: [String: IPv4Address]) -> Cluster {
        var copy = self
        copy.nodes = nodes.map { node in
            var node = node
            if node.addressing == .dhcp, let address = addresses[node.name] { node.ip = address }
            return node
        }
        return copy
    }
}

/// A node's place in the cluster as cluster.lua states it.
public enum NodeRole: String, Sendable, Codable, CaseIterable {
    case controller
    case worker
}

/// The role k0sctl installs (`spec.hosts[].role`).
public enum K0sRole: String, Sendable, Codable {
    case controller
    case controllerWorker = "controller+worker"
    case worker
}

/// How k0slua (and k0sctl) reach a node over SSH.
public struct SSHSettings: Sendable, Equatable {
    /// Address to connect to; nil means the node's IP.
    public var address: String?
    public var user: String
    public var port: Int
    /// Private key; nil means the cluster's own key in the state directory.
    public var keyPath: String?
    /// The line that set `port` (else that of the ssh table it was inherited into); nil for the
    /// default. ClusterValidator reports a port out of range there.
    public var portLine: Int?

    public init(address: String? = nil, user: String, port: Int = 22, keyPath: String? = nil) {
        self.address = address
        self.user = user
        self.port = port
        self.keyPath = keyPath
    }
}

/// A Kubernetes node taint, `key[=value]:Effect`.
public struct Taint: Sendable, Equatable, Hashable, CustomStringConvertible {
    public enum Effect: String, Sendable, CaseIterable {
        case noSchedule = "NoSchedule"
        case preferNoSchedule = "PreferNoSchedule"
        case noExecute = "NoExecute"
    }

    public var key: String
    public var value: String?
    public var effect: Effect

    public init(key: String, value: String? = nil, effect: Effect) {
        self.key = key
        self.value = value
        self.effect = effect
    }

    public var description: String { "\(key)\(value.map { "=\($0)" } ?? ""):\(effect.rawValue)" }
}

/// A Kubernetes node label.
public struct Label: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    public var description: String { "\(key)=\(value)" }
}

/// Lua hooks attached to one node.
public struct NodeHooks: Sendable, Equatable {
    /// `function(node, ctx)` once the node is provisioned and reachable, before k0s.
    public var preJoin: LuaFunctionRef?
    /// `function(node, ctx)` after the node joined and the kubeconfig exists.
    public var postJoin: LuaFunctionRef?

    public init(preJoin: LuaFunctionRef? = nil, postJoin: LuaFunctionRef? = nil) {
        self.preJoin = preJoin
        self.postJoin = postJoin
    }
}

/// One machine of the cluster.
public struct Node: Sendable, Equatable {
    public var name: String
    public var role: NodeRole
    /// The node's one address: static from cluster.lua, or the discovered DHCP lease; nil while a
    /// boot-assigned address is not known yet.
    public var ip: IPv4Address?
    public var addressing: NodeAddressing
    public var cpus: Int
    public var memoryMiB: Int
    public var diskGB: Int
    /// Controllers only: also runs a kubelet and schedules workloads (k0s `controller+worker`).
    public var runsWorkloadsOnController: Bool
    public var labels: [Label]
    public var taints: [Taint]
    public var ssh: SSHSettings
    public var hooks: NodeHooks
    /// Shell commands for k0sctl's hook points: action (`apply`, `install`, …) → stage
    /// (`before`/`after`) → commands.
    public var k0sctlHooks: [String: [String: [String]]]
    /// The cluster.lua line where the node's table was created.
    public var line: Int?
    /// Where cluster.lua put it, e.g. `nodes[2]` (the model lists controllers first).
    public var sourcePath: String
    /// Lines of the node's fields when its constructor spans several lines.
    public var fieldLines: [String: Int] = [:]
    /// The line of the node's labels table (where ClusterValidator reports a label).
    public var labelsLine: Int?
    /// The node has an ssh table of its own (ClusterValidator checks its port then).
    public var hasOwnSSH = false

    /// The line of one of the node's fields, else the node's line.
    public func line(of field: String) -> Int? { fieldLines[field] ?? line }

    public init(name: String, role: NodeRole, ip: IPv4Address?, addressing: NodeAddressing? = nil, cpus: Int, memoryMiB: Int, diskGB: Int,
                runsWorkloadsOnController: Bool = false, labels: [Label] = [], taints: [Taint] = [],
                ssh: SSHSettings, hooks: NodeHooks = NodeHooks(), k0sctlHooks: [String: [String: [String]]] = [:],
                line: Int? = nil, sourcePath: String? = nil) {
        self.sourcePath = sourcePath ?? "nodes[\(name)]"
        self.name = name
        self.role = role
        self.ip = ip
        self.addressing = addressing ?? (ip == nil ? .dhcp : .fixed)
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.diskGB = diskGB
        self.runsWorkloadsOnController = runsWorkloadsOnController
        self.labels = labels
        self.taints = taints
        self.ssh = ssh
        self.hooks = hooks
        self.k0sctlHooks = k0sctlHooks
        self.line = line
    }

    public var k0sRole: K0sRole {
        switch role {
        case .worker: .worker
        case .controller: runsWorkloadsOnController ? .controllerWorker : .controller
        }
    }

    /// Workers and workload-running controllers run a kubelet and have a Kubernetes Node object.
    public var runsWorkloads: Bool { role == .worker || runsWorkloadsOnController }

    /// The address SSH (and k0sctl) connect to; nil while a boot-assigned address is unknown.
    public var sshAddress: String? { ssh.address ?? ip?.description }

    /// The address for messages: the IP, or "assigned at boot".
    public var addressDescription: String { ip?.description ?? "assigned at boot" }
}
