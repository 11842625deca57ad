/// The Vagrantfile for the tart and libvirt providers: one machine per node, controllers first.
public enum VagrantfileRenderer {
    /// The keys the Vagrantfile sets inside `config.vm.provider "tart"`; all are vagrant-tart 1.0.0
    /// settings (lib/vagrant-tart/config.rb).
    public static let tartKeys: Set<String> = ["image", "name", "cpus", "memory", "disk", "gui", "ip_resolver", "extra_run_args"]

    /// Tart's softnet arguments. softnet keeps vmnet's VM-to-VM isolation on unless its allow list
    /// holds exactly 0.0.0.0/0 (softnet `lib/proxy/mod.rs`, `lib/host.rs`), so that prefix is
    /// always there; the block list then keeps the VMs off the other private networks, while the
    /// cluster subnet, a longer prefix, stays allowed (longest prefix wins; docs/providers.md).
    /// A private range the cluster subnet covers is not blocked (on equal prefixes block wins).
    public static func softnetRunArguments(cidr: IPv4CIDR) -> [String] {
        let privateRanges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].compactMap(IPv4CIDR.init)
        let blocked = privateRanges.filter { !(cidr.prefixLength <= $0.prefixLength && cidr.contains($0.network)) }
        return ["--net-softnet", "--net-softnet-allow=0.0.0.0/0,\(cidr)"]
            + (blocked.isEmpty ? [] : ["--net-softnet-block=" + blocked.map(\.description).joined(separator: ",")])
    }

    /// The Tart VM name of a node: Tart names are global on the host, so the cluster's identity
    /// (name + hash of its state directory) prefixes it and two checkouts never share a VM.
    public static func tartName(cluster: Cluster, node: Node, layout: StateLayout) -> String {
        "\(layout.clusterID(name: cluster.name))-\(node.name)"
    }

    /// The libvirt network k0slua creates for the cluster: the cluster's identity, unless
    /// cluster.lua names one (`network.libvirt_network`).
    public static func libvirtNetworkName(_ cluster: Cluster, layout: StateLayout) -> String {
        cluster.network.libvirtNetworkName == ClusterNetwork.defaultLibvirtNetworkName
            ? layout.clusterID(name: cluster.name) : cluster.network.libvirtNetworkName
    }

    /// vagrant-libvirt's domain name prefix: libvirt domains are `<id>-<node>`.
    public static func libvirtDomainPrefix(_ cluster: Cluster, layout: StateLayout) -> String { "\(layout.clusterID(name: cluster.name))-" }

    /// The machines the record says are provisioned (k0sctl applied them and their hooks ran).
    public static func provisioned(_ record: ClusterRecord?) -> Set<String> {
        Set(record?.nodes.filter { $0.joined == true }.map(\.name) ?? [])
    }

    /// nil for the `hosts` provider. `provisioned`: machines whose guest already holds its static
    /// address; in bridged mode Vagrant reaches them there (`ssh.host`) instead of through the
    /// Mac's ARP cache, which may not know the guest after a later start (docs/providers.md).
    public static func render(_ cluster: Cluster, publicKey: String, layout: StateLayout, provisioned: Set<String> = []) -> String? {
        guard cluster.provider != .hosts else { return nil }
        let network = cluster.network
        var out = """
        # \(generatedHeader)
        # cluster \(cluster.name): \(cluster.controllers.count) controller(s) + \(cluster.workers.count) worker(s) on \(cluster.provider.rawValue), network \(network.cidr)

        PROVISION = <<~'SH'
        \(GuestProvisioning.script.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n"))
        SH

        CLUSTER_KEY = \(Quote.vagrantShellArgument(publicKey))

        Vagrant.configure("2") do |config|
          config.vm.synced_folder ".", "/vagrant", disabled: true

        """
        switch cluster.provider {
        case .tart:
            out += """
              # First boot uses the image's admin/admin account (ghcr.io/cirruslabs images).
              config.ssh.username = "admin"
              config.ssh.password = "admin"

            """ + "\n"
        case .libvirt:
            out += "  config.vm.box = \(Quote.ruby(cluster.image ?? "generic/ubuntu2204"))\n"
            out += "  config.vm.box_check_update = false\n"
            out += "  config.vm.provider :libvirt do |lv|\n"
            out += "    lv.default_prefix = \(Quote.ruby(libvirtDomainPrefix(cluster, layout: layout)))\n"
            out += "  end\n"
            if let timeout = cluster.libvirt.bootTimeout { out += "  config.vm.boot_timeout = \(timeout)\n" }
            out += "\n"
        case .hosts:
            break
        }
        for (index, node) in cluster.nodes.enumerated() {
            if index > 0 { out += "\n" }
            out += "  config.vm.define \(Quote.ruby(node.name)) do |node|\n"
            switch cluster.provider {
            case .tart:
                out += "    node.vm.provider \"tart\" do |tart|\n"
                out += "      tart.image = \(Quote.ruby(cluster.image ?? Cluster.defaultTartImage))\n"
                out += "      tart.name = \(Quote.ruby(tartName(cluster: cluster, node: node, layout: layout)))\n"
                out += "      tart.cpus = \(node.cpus)\n"
                out += "      tart.memory = \(node.memoryMiB)\n"
                out += "      tart.disk = \(max(node.diskGB, Provider.tart.minimumDiskGB))\n"
                out += "      tart.gui = false\n"
                switch network.tartMode {
                case .softnet:
                    out += "      tart.extra_run_args = [" + softnetRunArguments(cidr: network.cidr).map(Quote.ruby).joined(separator: ", ") + "]\n"
                case .bridged:
                    if let interface = network.bridgeInterface {
                        out += "      tart.extra_run_args = [\(Quote.ruby("--net-bridged=\(interface)"))]\n"
                        out += "      tart.ip_resolver = \"arp\"\n"
                    }
                case .shared:
                    break
                }
                out += "    end\n"
                if network.tartMode == .bridged, node.addressing == .fixed, let ip = node.ip, provisioned.contains(node.name) {
                    out += "    node.ssh.host = \(Quote.ruby(ip.description))\n"
                }
            case .libvirt:
                if let ip = node.ip, node.addressing == .fixed {
                    out += privateNetwork(ip, network, name: libvirtNetworkName(cluster, layout: layout))
                }
                out += "    node.vm.provider :libvirt do |lv|\n"
                out += "      lv.driver = \(Quote.ruby(cluster.libvirt.driver))\n"
                out += "      lv.cpus = \(node.cpus)\n"
                out += "      lv.memory = \(node.memoryMiB)\n"
                out += "      lv.machine_virtual_size = \(node.diskGB)\n"
                if node.addressing == .dhcp {
                    // The node's one address is its lease on the management network, which is the
                    // cluster network.
                    out += "      lv.management_network_name = \(Quote.ruby(libvirtNetworkName(cluster, layout: layout)))\n"
                    out += "      lv.management_network_address = \(Quote.ruby(network.cidr.description))\n"
                } else if let name = cluster.libvirt.managementNetworkName {
                    out += "      lv.management_network_name = \(Quote.ruby(name))\n"
                }
                if let mode = cluster.libvirt.managementNetworkMode {
                    out += "      lv.management_network_mode = \(Quote.ruby(mode))\n"
                }
                out += "      lv.graphics_type = \"none\"\n"
                out += "    end\n"
            case .hosts:
                break
            }
            let staticAddress = cluster.provider == .tart && node.addressing == .fixed ? node.ip : nil
            // Vagrant hands these to the guest's shell: see Quote.vagrantShellArgument.
            let arguments = [Quote.vagrantShellArgument(node.name), Quote.vagrantShellArgument(node.ssh.user), "CLUSTER_KEY",
                             Quote.vagrantShellArgument(staticAddress == nil ? "none" : "netplan"),
                             Quote.vagrantShellArgument(staticAddress?.description ?? ""),
                             Quote.vagrantShellArgument(String(network.cidr.prefixLength)), Quote.vagrantShellArgument(network.gateway.description)]
            out += "    node.vm.provision \"k0slua\", type: \"shell\", inline: PROVISION,\n"
            out += "      args: [\(arguments.joined(separator: ", "))]\n"
            out += "  end\n"
        }
        out += "end\n"
        return out
    }

    /// vagrant-libvirt's private network that carries a node's static address. Its bridge holds
    /// only the machines' ports, no loop for STP to break; with STP on (vagrant-libvirt's default,
    /// `action/create_networks.rb`) Linux holds each new port, that of a machine booted or resumed
    /// from a memory image, two forward delays of at least 2 s before it forwards, which TCP's SYN
    /// backoff stretched to 7–10 s before a restored node answered SSH.
    static func privateNetwork(_ ip: IPv4Address, _ network: ClusterNetwork, name: String) -> String {
        var options = [
            "ip: \(Quote.ruby(ip.description))",
            "netmask: \(Quote.ruby(network.cidr.netmask.description))",
            "libvirt__network_name: \(Quote.ruby(name))",
            "libvirt__dhcp_enabled: false",
            "libvirt__forward_mode: \"none\"",
            "libvirt__bridge_stp: false",
        ]
        if network.cidr.prefixLength != 24 { options.append("libvirt__netmask: \(Quote.ruby(network.cidr.netmask.description))") }
        return "    node.vm.network :private_network,\n      " + options.joined(separator: ",\n      ") + "\n"
    }
}
