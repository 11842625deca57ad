import Foundation

/// How `up` takes away the controllers cluster.lua no longer has: each one leaves etcd first, one
/// at a time, through the leader (`k0s etcd leave --peer-address ADDRESS` on the first controller
/// that stays), and only then does `k0sctl apply` reset it (`reset: true`).
///
/// k0sctl v0.32.2 runs `k0s etcd leave` itself (phase/reset_controllers.go), but on the leaving
/// host *after* stopping its k0s: the command talks to the node's own etcd
/// (https://127.0.0.1:2379, k0s cmd/etcd/leave.go), which is gone by then, and k0sctl only warns.
/// The member would stay and count against etcd's quorum; so k0slua removes it while it still runs
/// and checks with `k0s etcd member-list` that it is gone.
extension Bootstrap {
    /// A controller's etcd peer URL: k0s's peerAddress is the node's private address (k0sctl
    /// sets it from privateAddress, which k0slua renders as the node's one address), port 2380.
    static func etcdPeerURL(_ address: IPv4Address) -> String { "https://\(address):2380" }

    /// `k0s etcd member-list` output (`{"members":{"NAME":"PEER URL",…}}`, k0s cmd/etcd/list.go).
    static func etcdMembers(in output: String) -> [String: String]? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("{") }),
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let members = object["members"] as? [String: String] else { return nil }
        return members
    }

    /// The leaving controllers that still run k0s (k0sctl has not reset them yet).
    var leavingControllers: [Node] {
        leaving.filter { $0.role == .controller && record?.node(named: $0.name)?.joined == true }
    }

    /// The controller that runs the etcd commands: k0sctl's leader once the leaving ones are reset
    /// (the first controller that stays and has joined).
    func etcdLeader(for departing: [Node]) throws -> Node {
        let staying = cluster.controllers.filter { record?.node(named: $0.name)?.joined == true && $0.ip != nil }
        guard let leader = staying.first else {
            throw BootstrapFailure(phase: .k0sctl, tool: nil, message: "no controller that stays has joined the cluster, so no one can remove \(departing.map(\.name).joined(separator: ", ")) from etcd",
                                   outputTail: [], logFile: nil, hint: "keep at least one running controller of the cluster in cluster.lua")
        }
        return leader
    }

    /// Before anything is drained or reset: etcd keeps its quorum through every removal
    /// (skipped with `--force-controller-removal`).
    func checkControllerRemoval() async throws {
        let departing = leavingControllers
        guard !departing.isEmpty, !options.forceControllerRemoval else { return }
        let leader = try etcdLeader(for: departing)
        var members = try await etcdMemberList(on: leader)
        for node in departing {
            guard let address = node.ip else { continue }
            let url = Self.etcdPeerURL(address)
            guard members.values.contains(url) else { continue }
            try await checkQuorum(members: members, removing: node, url: url, leader: leader)
            members = members.filter { $0.value != url }
        }
    }

    /// Each leaving controller leaves etcd through the leader, one at a time, and is checked gone.
    func leaveEtcd() async throws {
        let departing = leavingControllers
        guard !departing.isEmpty else { return }
        let leader = try etcdLeader(for: departing)
        for node in departing {
            guard let address = node.ip else {
                throw BootstrapFailure(phase: .k0sctl, tool: nil, message: "the address of \(node.name) is not known, so it cannot leave etcd",
                                       outputTail: [], logFile: nil, hint: "run the addresses phase (do not --skip addresses)")
            }
            let url = Self.etcdPeerURL(address)
            let members = try await etcdMemberList(on: leader)
            guard members.values.contains(url) else {
                progress.info("\(node.name) is no longer an etcd member")
                continue
            }
            progress.info("\(node.name) leaves etcd (k0s etcd leave on \(leader.name))")
            try await step(.k0sctl, ssh.command(leader, run: "sudo k0s etcd leave --peer-address \(address)"), log: "etcd-leave-\(node.name)", tool: "k0s")
            let after = try await etcdMemberList(on: leader)
            guard !after.values.contains(url) else {
                throw BootstrapFailure(phase: .k0sctl, tool: "k0s", message: "\(node.name) (\(url)) is still an etcd member after `k0s etcd leave`",
                                       outputTail: after.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }, logFile: nil,
                                       hint: "nothing was reset; look at `k0slua ssh \(leader.name) -- sudo k0s etcd member-list` and run `k0slua up` again")
            }
        }
    }

    /// etcd's members as the leader sees them (the command needs etcd's quorum to answer).
    func etcdMemberList(on leader: Node) async throws -> [String: String] {
        let result = try await step(.k0sctl, ssh.command(leader, run: "sudo k0s etcd member-list"), log: "etcd-member-list", tool: "k0s")
        guard let members = Self.etcdMembers(in: result.standardOutput) else {
            throw BootstrapFailure(phase: .k0sctl, tool: "k0s", message: "`k0s etcd member-list` on \(leader.name) printed no member list",
                                   outputTail: Array(result.standardOutput.split(separator: "\n").suffix(5).map(String.init)), logFile: nil)
        }
        return members
    }

    /// Removing `node` must leave etcd a quorum of answering members: of the members that stay,
    /// more than half must be controllers of this cluster whose k0s answers (`k0s status`). A
    /// member k0slua does not know (a controller removed without leaving) counts as not answering.
    func checkQuorum(members: [String: String], removing node: Node, url: String, leader: Node) async throws {
        let controllersByURL = Dictionary(renderedCluster.controllers.compactMap { controller in
            controller.ip.map { (Self.etcdPeerURL($0), controller) }
        }, uniquingKeysWith: { first, _ in first })
        var answering: [String] = []
        var silent: [String] = []
        for (name, memberURL) in members.sorted(by: { $0.key < $1.key }) where memberURL != url {
            guard let controller = controllersByURL[memberURL] else {
                silent.append("\(name) (\(memberURL)): not a controller of this cluster")
                continue
            }
            let status = try? await runner.run(ssh.command(controller, run: "sudo k0s status"))
            if status?.succeeded == true { answering.append(controller.name) } else { silent.append("\(controller.name): k0s does not answer") }
        }
        let remaining = members.count - 1
        let quorum = remaining / 2 + 1
        guard answering.count >= quorum else {
            throw BootstrapFailure(phase: .k0sctl, tool: nil,
                                   message: "removing \(node.name) would leave etcd \(remaining) member(s) of which \(answering.count) answer, below its quorum of \(quorum): etcd would stop; nothing was reset",
                                   outputTail: silent, logFile: nil,
                                   hint: "bring the silent controllers back (`k0slua start`; `k0slua ssh NODE -- sudo k0s status`), or remove a member k0slua does not know with `k0slua ssh \(leader.name) -- sudo k0s etcd leave --peer-address ADDRESS`; knowing the risk: `k0slua up \(ClusterDiff.forceControllerRemovalFlag)`")
        }
    }
}
