import Foundation

/// After the Mac sleeps longer than softnet's lease (600 s), softnet drops a VM's frames until the
/// guest broadcasts DHCP again, so the host reaches no node although `tart list` says the VMs run.
/// The fix goes through Tart's guest agent, not the network: `tart exec NAME sudo networkctl renew
/// IFACE` (Tart `Commands/Exec.swift`, Tart ≥ 2.27.0, macOS 14+, the Tart Guest Agent in the guest).
public struct SoftnetWake: Sendable {
    public let cluster: Cluster
    public let layout: StateLayout
    public let runner: any ProcessRunning

    public init(cluster: Cluster, layout: StateLayout, runner: any ProcessRunning) {
        self.cluster = cluster
        self.layout = layout
        self.runner = runner
    }

    /// Whether the cluster runs where softnet's lease timer applies.
    public var applies: Bool { cluster.provider == .tart && cluster.network.tartMode == .softnet }

    /// The Tart VM name of `node`.
    public func tartName(_ node: Node) -> String { VagrantfileRenderer.tartName(cluster: cluster, node: node, layout: layout) }

    /// True when `tart list --format json` lists every one of `nodes`' VMs as running.
    public func allRunning(_ nodes: [Node]) async -> Bool {
        guard !nodes.isEmpty, let result = try? await runner.run(Command("tart", ["list", "--format", "json"])), result.succeeded,
              let list = try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]] else { return false }
        let running = Set(list.compactMap { $0["Running"] as? Bool == true ? $0["Name"] as? String : nil })
        return nodes.allSatisfy { running.contains(tartName($0)) }
    }

    /// The health hint for a Tart softnet cluster the host reaches not at all while its VMs run.
    public static let hint = "the Mac reaches no node although `tart list` says their VMs run: after the Mac slept longer than softnet's "
        + "600 s lease, softnet drops each VM's frames until its guest renews DHCP. Fix: `k0slua start` renews every lease through "
        + "the Tart guest agent (`tart exec NAME sudo networkctl renew IFACE`), or, on macOS 15+, check the Local Network permission "
        + "(docs/troubleshooting.md)"

    /// The renew command for one VM, as `k0slua start` runs it and the docs print it.
    public static func renewCommand(tartName: String, interface: String) -> Command {
        Command("tart", ["exec", tartName, "sudo", "networkctl", "renew", interface])
    }

    /// Renews `nodes`' DHCP leases through the guest agent: the interface of the guest's default
    /// route, then `networkctl renew` on it. Returns a problem line per node that failed.
    public func renew(_ nodes: [Node]) async -> [String] {
        var problems: [String] = []
        for node in nodes {
            let name = tartName(node)
            let route = try? await runner.run(Command("tart", ["exec", name, "ip", "-o", "-4", "route", "show", "default"]))
            guard let route, route.succeeded else {
                problems.append("\(node.name): `tart exec \(name) ip -o -4 route show default` failed: \(Self.lastLine(route))")
                continue
            }
            guard let interface = Self.defaultInterface(route.standardOutput) else {
                problems.append("\(node.name): the guest has no default route to renew (`ip -o -4 route show default` printed \"\(route.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))\")")
                continue
            }
            let renewed = try? await runner.run(Self.renewCommand(tartName: name, interface: interface))
            if renewed?.succeeded != true {
                problems.append("\(node.name): `\(Self.renewCommand(tartName: name, interface: interface))` failed: \(Self.lastLine(renewed))")
            }
        }
        return problems
    }

    /// The `dev` of `ip -o -4 route show default`, when it is a plain interface name.
    static func defaultInterface(_ output: String) -> String? {
        let words = output.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let index = words.firstIndex(of: "dev"), index + 1 < words.count else { return nil }
        let name = words[index + 1]
        return name.wholeMatch(of: /[A-Za-z0-9][A-Za-z0-9._-]{0,14}/) != nil ? name : nil  // never read as an option
    }

    static func lastLine(_ result: CommandResult?) -> String {
        guard let result else { return "could not run tart" }
        return (result.standardError.isEmpty ? result.standardOutput : result.standardError)
            .split(separator: "\n").last.map(String.init) ?? "exit \(result.exitCode)"
    }
}
