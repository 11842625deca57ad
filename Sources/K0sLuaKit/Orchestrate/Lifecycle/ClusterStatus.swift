import Foundation

/// Machine states from `vagrant status --machine-readable` (lines `timestamp,target,type,data…`).
public enum VagrantStatusParser {
    /// machine name → state (`running`, `not_created`, `shutoff`, …).
    public static func states(_ output: String) -> [String: String] {
        var states: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 4, fields[2] == "state", !fields[1].isEmpty else { continue }
            states[String(fields[1])] = String(fields[3])
        }
        return states
    }
}

/// What `k0slua status` shows.
public struct StatusReport: Sendable, Equatable {
    public struct Row: Sendable, Equatable, Encodable {
        public var name: String
        public var ip: String
        public var machine: String
        /// `True`, `False`, `Unknown`, or nil when there is no Node (pure controller, no kubeconfig).
        public var ready: String?
    }

    public var rows: [Row]
    /// Set when `k0slua stop` halted the cluster (from the record).
    public var stoppedAt: Date?
    /// The cluster's `type: LoadBalancer` services (empty without an API to ask).
    public var loadBalancers: [LoadBalancerService] = []

    public init(rows: [Row], stoppedAt: Date? = nil, loadBalancers: [LoadBalancerService] = []) {
        self.rows = rows
        self.stoppedAt = stoppedAt
        self.loadBalancers = loadBalancers
    }

    /// Machines that are not running (`host` rows, the hosts provider's, count as running).
    public var machinesDown: [String] { rows.filter { $0.machine != "running" && $0.machine != "host" }.map(\.name) }

    /// `stopped` after `k0slua stop` or when no machine runs (a host reboot), `degraded` when some
    /// do not run, `not_created` when none exists, else `running`.
    public var state: String {
        if stoppedAt == nil, !rows.isEmpty, rows.allSatisfy({ $0.machine == "not_created" }) { return "not_created" }
        if stoppedAt != nil || (!rows.isEmpty && machinesDown.count == rows.count) { return "stopped" }
        return machinesDown.isEmpty ? "running" : "degraded"
    }

    public var text: String {
        var out = stoppedAt.map { "cluster stopped since \(ISO8601DateFormatter().string(from: $0)); `k0slua start` brings it back\n\n" } ?? ""
        if stoppedAt == nil, !machinesDown.isEmpty, state != "not_created" {
            out += machinesDown.count == rows.count
                ? "cluster stopped: no machine is running although `k0slua stop` did not halt them (a host reboot?); `k0slua start` or `k0slua up` boots them\n\n"
                : "cluster degraded: \(machinesDown.joined(separator: ", ")) not running; `k0slua up` boots them\n\n"
        }
        out += "NAME                 IP               MACHINE        READY\n"
        for row in rows {
            out += row.name.padding(toLength: 21, withPad: " ", startingAt: 0) + row.ip.padding(toLength: 17, withPad: " ", startingAt: 0)
                + row.machine.padding(toLength: 15, withPad: " ", startingAt: 0) + (row.ready ?? "-") + "\n"
        }
        if !loadBalancers.isEmpty {
            let names = loadBalancers.map(\.qualifiedName)
            let width = max(names.map(\.count).max() ?? 0, "LOADBALANCER SERVICE".count) + 2
            out += "\n" + "LOADBALANCER SERVICE".padding(toLength: width, withPad: " ", startingAt: 0) + "PORTS".padding(toLength: 17, withPad: " ", startingAt: 0) + "ADDRESSES\n"
            for service in loadBalancers {
                out += service.qualifiedName.padding(toLength: width, withPad: " ", startingAt: 0)
                    + service.ports.map(\.description).joined(separator: ",").padding(toLength: 17, withPad: " ", startingAt: 0)
                    + (service.addresses.isEmpty ? "<pending>" : service.addresses.joined(separator: ",")) + "\n"
            }
        }
        return out
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        struct Document: Encodable {
            var state: String
            var nodes: [Row]
            var loadBalancers: [LoadBalancerService]

            enum CodingKeys: String, CodingKey {
                case state, nodes
                case loadBalancers = "load_balancers"
            }
        }
        let document = Document(state: state, nodes: rows, loadBalancers: loadBalancers)
        return String(decoding: (try? encoder.encode(document)) ?? Data(), as: UTF8.self)
    }
}

/// Reads machine and node state without changing anything.
public struct ClusterStatus: Sendable {
    public let cluster: Cluster
    public let layout: StateLayout
    public let runner: any ProcessRunning

    public init(cluster: Cluster, layout: StateLayout, runner: any ProcessRunning) {
        self.cluster = cluster
        self.layout = layout
        self.runner = runner
    }

    public func read() async -> StatusReport {
        let tools = Tools(layout: layout)
        var machines: [String: String] = [:]
        if cluster.provider == .hosts {
            machines = Dictionary(uniqueKeysWithValues: cluster.nodes.map { ($0.name, "host") })
        } else if FileManager.default.fileExists(atPath: layout.vagrantfile),
                  let result = try? await runner.run(tools.vagrant(["status", "--machine-readable"])) {
            machines = VagrantStatusParser.states(result.standardOutput)
        }
        var ready: [String: String] = [:]
        // A stopped cluster has no API to ask (and kubectl would only wait for its timeout).
        let record = (try? ClusterRecord.load(layout)) ?? nil
        let noneRunning = cluster.provider != .hosts && !cluster.nodes.isEmpty && !cluster.nodes.contains { machines[$0.name] == "running" }
        let stopped = record?.isStopped == true || noneRunning
        if !stopped, FileManager.default.fileExists(atPath: layout.kubeconfig),
           let result = try? await runner.run(tools.kubectl(["get", "nodes", "-o", "json"])), result.succeeded {
            ready = KubernetesNodes.readiness(result.standardOutput)
        }
        var loadBalancers: [LoadBalancerService] = []
        if !ready.isEmpty, let result = try? await runner.run(tools.kubectl(["get", "services", "-A", "-o", "json"])), result.succeeded {
            loadBalancers = LoadBalancerService.parse(result.standardOutput)
        }
        return StatusReport(rows: cluster.nodes.map { node in
            StatusReport.Row(name: node.name, ip: node.ip?.description ?? "-", machine: machines[node.name] ?? "not_created", ready: ready[node.name])
        }, stoppedAt: record?.stoppedAt, loadBalancers: loadBalancers)
    }
}

/// Reading `kubectl get nodes -o json`.
public enum KubernetesNodes {
    /// node name → status of its Ready condition.
    public static func readiness(_ json: String) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let items = object["items"] as? [[String: Any]] else { return [:] }
        var result: [String: String] = [:]
        for item in items {
            guard let name = (item["metadata"] as? [String: Any])?["name"] as? String else { continue }
            let conditions = (item["status"] as? [String: Any])?["conditions"] as? [[String: Any]] ?? []
            result[name] = conditions.first { $0["type"] as? String == "Ready" }?["status"] as? String ?? "Unknown"
        }
        return result
    }
}
