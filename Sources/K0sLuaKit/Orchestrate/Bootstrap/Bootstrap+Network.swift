import Foundation

/// connectivity and addresses: every node reaches every other (the probe, bounded fan-out, every
/// pair accounted for), DHCP leases learned from Vagrant, and every node's /etc/hosts.
extension Bootstrap {
    /// From every node, every other node's address answers (ping, else TCP 22); above
    /// `ReachabilityProbe.fullMeshLimit` nodes, each node's sample of peers does. Every expected pair
    /// must be answered for: a probe that prints nothing about a peer fails that pair.
    func connectivity() async throws -> String? {
        let nodes = cluster.nodes
        _ = try requireAddresses(.connectivity)
        let targets = ReachabilityProbe.targets(of: nodes)
        let log = logFile("connectivity")
        var failures: [String] = []
        var unreachedByHost: [Node] = []
        var reachedBy: [String: [String]] = [:]  // address → the nodes that reach it
        var pairs = 0
        let outcomes = try await FanOut.map(nodes, limit: options.concurrency) { [ssh, runner] node -> (Node, CommandResult?, String?) in
            var command = ssh.command(node, run: ReachabilityProbe.script)
            command.standardInput = ReachabilityProbe.input(for: (targets[node.name] ?? []).compactMap(\.ip))
            let (result, failure) = try await runner.runRetrying(command)
            return (node, result, result == nil ? failure : nil)
        }
        for (node, result, error) in outcomes {
            guard let result else {
                failures.append("\(node.name): k0slua cannot reach it over SSH at \(node.sshAddress ?? "?"): \(error ?? "?")")
                unreachedByHost.append(node)
                log.write("\(node.name): \(error ?? "?")")
                continue
            }
            log.write("\(node.name):\n\(result.standardOutput)")
            let (reached, problems) = ReachabilityProbe.evaluate(node, peers: targets[node.name] ?? [], output: result.standardOutput)
            for peer in reached { reachedBy[peer.ip!.description, default: []].append(node.name) }
            pairs += reached.count
            failures += problems
        }
        guard failures.isEmpty else {
            var hint = "check every node's address (`k0slua ssh NODE -- ip -4 addr`) and the network between the VMs"
            if cluster.provider == .tart, cluster.network.tartMode == .shared {
                hint = "Tart's shared (NAT) network isolates VMs from each other on macOS 13 and later. "
                    + "Leave network.mode out (softnet, the default) in cluster.lua, "
                    + "then task vagrant:destroy && task vagrant:up"
            } else if let diagnosis = await localNetworkDiagnosis(unreachedByHost, reachedBy: reachedBy) {
                hint = "\(diagnosis.name): \(diagnosis.detail). Fix: \(diagnosis.fix)"
            } else if unreachedByHost.isEmpty {
                // k0slua reaches every node, but they do not reach each other.
                hint = "k0slua reaches every node but they cannot reach each other: the network isolates the VMs "
                    + "(as Tart's shared network does on macOS 13 and later). On Tart leave network.mode out (softnet, the default), "
                    + "then task vagrant:destroy && task vagrant:up"
            }
            throw BootstrapFailure(phase: .connectivity, tool: "ssh", message: "\(failures.count) node pair(s) cannot talk",
                                   outputTail: failures.sorted(), logFile: log.path, hint: hint)
        }
        return "\(pairs) pairs answer" + (ReachabilityProbe.isSampled(nodes) ? " (\(ReachabilityProbe.sampleDescription))" : "")
    }

    /// On a Mac, a node that answers its neighbours but not this host points at the Local Network
    /// privacy permission (macOS 15+), which has a documented fix.
    func localNetworkDiagnosis(_ unreached: [Node], reachedBy: [String: [String]]) async -> ConnectivityDiagnosis? {
        guard options.hostFacts.os == "macos", !unreached.isEmpty else { return nil }
        let version = await MacNetworkChecks.macOSVersion(runner: runner)
        if Set(unreached.map(\.name)) == Set(cluster.nodes.map(\.name)) {
            // No node answered at all, so none can vouch for the others: the permission still fits.
            return MacNetworkChecks.localNetworkNoNodeDiagnosis(unreached.compactMap { node in node.ip.map { (node.name, $0.description) } },
                                                                context: "k0slua's SSH reached no node", hostOS: "macos", macOSVersion: version)
        }
        for node in unreached {
            guard let address = node.ip?.description else { continue }
            if let diagnosis = MacNetworkChecks.localNetworkDiagnosis(node: node.name, address: address, hostReachesNode: false,
                                                                      neighboursReachingNode: (reachedBy[address] ?? []).sorted(),
                                                                      hostOS: "macos", macOSVersion: version) {
                return diagnosis
            }
        }
        return nil
    }

    /// Each of `nodes`' DHCP lease from `vagrant ssh-config` (vagrant-tart asks `tart ip`,
    /// vagrant-libvirt the management network's DHCP); every one must lie in the cluster network
    /// and be unique, else the phase fails naming each problem.
    func discoverLeases(of nodes: [Node]) async throws -> [String: IPv4Address] {
        guard !nodes.isEmpty else { return [:] }
        let result = try await step(.addresses, tools.vagrant(["ssh-config"] + nodes.map(\.name)), log: "vagrant-ssh-config")
        let hosts = VagrantSSHConfig.hostNames(in: result.standardOutput)
        var discovered: [String: IPv4Address] = [:]
        var problems: [String] = []
        var byAddress: [IPv4Address: String] = [:]
        for node in nodes {
            guard let text = hosts[node.name], let address = IPv4Address(text) else {
                problems.append("\(node.name): Vagrant reports no IPv4 address (HostName \(hosts[node.name] ?? "missing"))")
                continue
            }
            if !cluster.network.cidr.contains(address) {
                problems.append("\(node.name): DHCP gave it \(address), outside the cluster network \(cluster.network.cidr)")
            } else if let other = byAddress[address] {
                problems.append("\(node.name): DHCP gave it \(address), which \(other) holds too")
            }
            byAddress[address] = node.name
            discovered[node.name] = address
        }
        guard problems.isEmpty else {
            var hint = "the VMs' network is not the cluster's: set network.cidr to the subnet the VMs get (on a Mac: Tart's shared network, see `k0slua doctor`)"
            if let subnet = await leaseSubnet(discovered.values.sorted().first { !cluster.network.cidr.contains($0) }) {
                hint = "the VMs' network is not the cluster's (on macOS 26 vmnet may ignore com.apple.vmnet.plist): set "
                    + "network = { cidr = \"\(subnet.cidr)\", gateway = \"\(subnet.gateway)\" } in cluster.lua, then `k0slua destroy && k0slua up`"
            }
            throw BootstrapFailure(phase: .addresses, tool: "vagrant", message: "node addresses are not usable", outputTail: problems,
                                   logFile: "\(layout.logs)/vagrant-ssh-config.log", hint: hint)
        }
        return discovered
    }

    /// The subnet a DHCP lease outside network.cidr came from: on a Mac running Tart, vmnet's live
    /// shared subnet (bridge100) when it holds the lease, else the /24 around the lease (vmnet's
    /// default mask). Nil without such a lease.
    func leaseSubnet(_ lease: IPv4Address?) async -> MacNetworkChecks.SharedSubnet? {
        guard let lease else { return nil }
        if cluster.provider == .tart, options.hostFacts.os == "macos" {
            let live = await MacNetworkChecks(cluster: cluster, layout: layout, runner: runner).sharedSubnet()
            if live.cidr.contains(lease) { return live }
        }
        let cidr = MacNetworkChecks.subnet(lease, 24)
        return cidr.network.adding(1).map { MacNetworkChecks.SharedSubnet(cidr: cidr, gateway: $0, source: "the first lease") }
    }

    /// Learns each boot-addressed node's address from Vagrant, records it, renders k0sctl.yaml with
    /// the addresses, and writes every node's /etc/hosts.
    func addresses() async throws -> String? {
        let discovered = try await discoverLeases(of: loaded.cluster.nodes.filter { $0.addressing == .dhcp })
        // After a host reboot (or `up` of a stopped cluster) a controller may come back elsewhere.
        try refuseMovedControllers(discovered.map { (name: $0.key, to: $0.value) })
        cluster = loaded.cluster.resolving(discovered)
        _ = try requireAddresses(.addresses)
        try writeK0sctlConfig(k0sctlCluster, resetting: Set(resetting.map(\.name)))
        try await writeHostsFiles()
        return cluster.nodes.map { "\($0.name) \($0.ip.map(\.description) ?? "?")" }.joined(separator: ", ")
    }

    /// Every node's /etc/hosts names every node by its one address.
    func writeHostsFiles() async throws {
        let remote = "sudo sh -c \(Quote.shell(GuestProvisioning.hostsScript)) k0slua-hosts"
        let lines = GuestProvisioning.hostsLines(cluster) + "\n"
        let log = logFile("hosts")
        let outcomes = try await FanOut.map(cluster.nodes, limit: options.concurrency) { [ssh, runner] node -> (Node, CommandResult?, String?) in
            for attempt in 0..<5 {
                if attempt > 0 { try await Task.sleep(for: .seconds(2 * attempt)) }
                do {
                    var command = ssh.command(node, run: remote)
                    command.standardInput = lines
                    let result = try await runner.run(command)
                    if result.succeeded || attempt == 4 { return (node, result, nil) }
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    if attempt == 4 { return (node, nil, "\(error)") }
                }
            }
            return (node, nil, "no attempt ran")
        }
        var failures: [String] = []
        for (node, result, error) in outcomes {
            log.write("\(node.name): exit \(result.map { String($0.exitCode) } ?? "-") \(result?.standardError ?? error ?? "")")
            if result?.succeeded != true {
                failures.append("\(node.name) (\(node.sshAddress ?? "?")): " + (error ?? result.map { "ssh exited with \($0.exitCode): \($0.standardError.trimmingCharacters(in: .whitespacesAndNewlines))" } ?? "?"))
            }
        }
        guard failures.isEmpty else {
            throw BootstrapFailure(phase: .addresses, tool: "ssh", message: "could not write /etc/hosts on \(failures.count) node(s)",
                                   outputTail: failures.sorted(), logFile: log.path,
                                   hint: "k0slua reaches the nodes with the cluster key at their addresses; `k0slua ssh NODE` shows what fails")
        }
    }
}
