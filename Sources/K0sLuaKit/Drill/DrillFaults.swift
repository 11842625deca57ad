import Foundation

/// How one fault a drill injected is taken back. The undo journal (`<state>/drill-undo.json`)
/// lists these, written before the fault itself, so a killed k0slua can replay them
/// (`k0slua drill --undo`). Every undo can run twice: it checks before it removes.
public enum DrillUndo: Codable, Sendable, Equatable {
    /// Boot a machine the drill halted (`vagrant up --no-provision`).
    case boot(node: String)
    /// Halt a machine the drill booted (`vagrant halt`).
    case halt(node: String)
    /// Start the k0s service the drill stopped.
    case startService(node: String, service: String)
    /// Delete the nftables table of a partition from one node.
    case dropTable(node: String, table: String)
    /// Remove the netem qdisc from the interface carrying `address`.
    case clearDelay(node: String, address: String)
    /// Delete the file that filled the disk.
    case removeFill(node: String)

    /// The node it acts on.
    public var node: String {
        switch self {
        case .boot(let node), .halt(let node), .startService(let node, _), .dropTable(let node, _), .clearDelay(let node, _),
             .removeFill(let node): node
        }
    }

    /// `start worker-1`, `drop nftables table k0slua_drill_1 on worker-1`…
    public var summary: String {
        switch self {
        case .boot(let node): "start \(node)"
        case .halt(let node): "stop \(node)"
        case .startService(let node, let service): "start \(service) on \(node)"
        case .dropTable(let node, let table): "remove partition \(table) on \(node)"
        case .clearDelay(let node, _): "remove delay on \(node)"
        case .removeFill(let node): "remove disk fill on \(node)"
        }
    }
}

/// The commands behind each fault and its undo: pure, so tests can compare them with the
/// transcript. Only validated values reach a shell: node addresses as IPv4, numbers as integers,
/// table and service names chosen by k0slua; anything else is quoted.
public enum DrillCommands {
    /// The file `fill_disk` creates, on the filesystem that holds k0s's data (/var/lib/k0s).
    public static let fillFile = "/var/lib/k0slua-drill.fill"

    /// The k0s service of a node: `k0scontroller` (also controller+worker) or `k0sworker`.
    public static func service(for node: Node) -> String {
        node.role == .controller ? "k0scontroller" : "k0sworker"
    }

    /// `vagrant halt NODE`.
    public static func halt(_ node: String) -> [String] { ["halt", node] }

    /// `vagrant up --provider P --no-provision NODE` (the machine exists; nothing is provisioned again).
    public static func boot(_ node: String, provider: Provider) -> [String] {
        ["up", "--provider", provider.rawValue, "--no-provision", node]
    }

    public static func stopService(_ service: String) -> String { "sudo systemctl stop \(Quote.shell(service))" }
    public static func startService(_ service: String) -> String { "sudo systemctl start \(Quote.shell(service))" }

    /// A table of its own in the guest whose input and output chains drop every packet from and
    /// to `peers` (priority -10: before the usual filter chains; other tables' rules still apply).
    public static func partition(table: String, peers: [IPv4Address]) -> String {
        let set = "{ " + peers.map(\.description).joined(separator: ", ") + " }"
        let script = [
            "add table inet \(table)",
            "add chain inet \(table) input { type filter hook input priority -10; policy accept; }",
            "add chain inet \(table) output { type filter hook output priority -10; policy accept; }",
            "add rule inet \(table) input ip saddr \(set) drop",
            "add rule inet \(table) output ip daddr \(set) drop",
        ].joined(separator: "; ")
        return "sudo nft \(Quote.shell(script))"
    }

    /// Deletes the table when it is there.
    public static func dropTable(_ table: String) -> String {
        "if sudo nft list table inet \(table) >/dev/null 2>&1; then sudo nft delete table inet \(table); fi"
    }

    /// The interface carrying `address`, in `$dev`, or exit 1 saying there is none.
    static func interface(of address: IPv4Address) -> String {
        "dev=$(ip -o -4 addr show to \(address) | awk '{print $2; exit}'); "
            + "if [ -z \"$dev\" ]; then echo \"no interface carries \(address)\" >&2; exit 1; fi; "
    }

    /// netem delay on the interface that carries the node's address.
    public static func delay(address: IPv4Address, milliseconds: Int) -> String {
        interface(of: address) + "sudo tc qdisc replace dev \"$dev\" root netem delay \(milliseconds)ms"
    }

    /// Removes the root qdisc when it is netem (the interface goes back to its default).
    public static func clearDelay(address: IPv4Address) -> String {
        interface(of: address) + "if tc qdisc show dev \"$dev\" root | grep -q netem; then sudo tc qdisc del dev \"$dev\" root; fi"
    }

    /// Allocates a file so that the filesystem holding /var/lib reaches `percent` % used (nothing
    /// when it is fuller already).
    public static func fillDisk(percent: Int) -> String {
        "bytes=$(df -B1 --output=size,used /var/lib | awk 'NR==2 {n=int($1*\(percent)/100)-$2; print (n>0?n:0)}'); "
            + "if [ \"$bytes\" -gt 0 ]; then sudo fallocate -l \"$bytes\" \(fillFile); fi"
    }

    public static func removeFill() -> String { "sudo rm -f \(fillFile)" }
}
