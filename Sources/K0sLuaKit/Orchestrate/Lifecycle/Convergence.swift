// Orchestrate/Lifecycle: a cluster after its first `up`: nodes that leave (Convergence: drain,
// reset, Node deleted, machine destroyed), controllers that leave etcd (ControllerRemoval),
// CPU/memory changes (Resize), stop/start and boots after a host reboot (PowerCycle), destroy
// (Teardown) and status (ClusterStatus). It extends Bootstrap where a step belongs to `up` and
// calls Process/ for every tool.

import Foundation

/// How `up` takes away the nodes cluster.lua no longer has: cordon and drain before k0sctl
/// apply (which resets them: `reset: true` in k0sctl.yaml; controllers leave etcd before that,
/// ControllerRemoval.swift), then delete their Node objects (a Node outlives its machine
/// otherwise), destroy their machines and forget them.
extension Bootstrap {
    /// Leaving workers that joined: cordoned, then drained within the timeout.
    func drainLeaving() async throws {
        let draining = leaving.filter { $0.runsWorkloads && record?.node(named: $0.name)?.joined == true }
        guard !draining.isEmpty, FileManager.default.fileExists(atPath: layout.kubeconfig) else { return }
        for node in draining {
            progress.info("draining \(node.name)")
            try await drain(node, phase: .k0sctl, log: "drain-\(node.name)")
        }
    }

    /// After k0sctl reset them: their Node objects deleted, machines destroyed, record and
    /// generated files without them.
    func leave() async throws -> String? {
        guard !leaving.isEmpty else { return "no node leaves" }
        let names = leaving.map(\.name)
        if FileManager.default.fileExists(atPath: layout.kubeconfig) {
            // The kubeconfig may name a controller k0sctl just reset (the leader, removed with
            // --force-controller-removal): fetch it again, from the controllers that stay.
            if leaving.contains(where: { $0.role == .controller }) { try await kubeconfig() }
            for node in leaving where node.runsWorkloads {
                try await step(.leave, tools.kubectl(["delete", "node", node.name, "--ignore-not-found"]), log: "leave", tool: "kubectl")
            }
        }
        if cluster.provider != .hosts {
            // The Vagrantfile still names them: Vagrant forgets machines it no longer names.
            try await step(.leave, tools.vagrant(["destroy", "-f"] + names), log: "leave")
        }
        leaving = []
        _ = try render()
        return "removed \(names.joined(separator: ", "))"
    }
}
