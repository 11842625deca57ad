import Foundation

/// machines: boot halted machines, start new ones (pulling the Tart image only when a clone needs it)
/// and resize changed ones; the Local Network diagnosis when a boot times out on SSH.
extension Bootstrap {
    func machines() async throws -> String? {
        var notes: [String] = []
        let booted = try await bootHaltedMachines()
        if !booted.isEmpty { notes.append("booted \(booted.joined(separator: ", ")) (not running)") }
        if let started = try await startMachines() { notes.append(started) }
        // Machines booted from halted here (a host reboot, or after `stop`) already have their new size.
        let bootedWithNewSize = Set(booted).union(applied?.isStopped == true ? cluster.nodes.map(\.name) : [])
        let resized = try await resize(skipping: bootedWithNewSize)
        if !resized.isEmpty { notes.append("resized \(resized.joined(separator: ", "))") }
        return notes.joined(separator: "; ")
    }

    /// `vagrant up` of the machines that do not exist yet (every machine for a new or stopped cluster).
    func startMachines() async throws -> String? {
        var arguments = ["up", "--provider", cluster.provider.rawValue, options.parallel ? "--parallel" : "--no-parallel"]
        // A recorded cluster: only the machines of joining nodes start (all of them after `stop`).
        let starting = applied == nil || applied?.isStopped == true ? cluster.nodes : cluster.nodes.filter { joining.contains($0.name) }
        guard !starting.isEmpty else { return "\(cluster.nodes.count) machines already running" }
        let pulled = try await pullImageIfNeeded(for: starting)
        if !options.parallel || starting.count < cluster.nodes.count { arguments += starting.map(\.name) }
        do {
            try await step(.machines, tools.vagrant(arguments), log: "vagrant-up")
        } catch var failure as BootstrapFailure {
            if let diagnosis = await bootTimeoutDiagnosis(failure, starting: starting) {
                failure.hint = "\(diagnosis.name): \(diagnosis.detail). Fix: \(diagnosis.fix)"
            }
            throw failure
        }
        let note = starting.count < cluster.nodes.count ? "started \(starting.map(\.name).joined(separator: ", "))" : "\(cluster.nodes.count) machines running"
        return pulled.map { "pulled \($0); " + note } ?? note
    }

    /// `vagrant up` gave up waiting for SSH (Vagrant's boot timeout) while `tart ip` has addresses
    /// for the machines: on macOS 15+ the Local Network permission, which no answering node can
    /// point at here. Nil when the facts do not fit.
    func bootTimeoutDiagnosis(_ failure: BootstrapFailure, starting: [Node]) async -> ConnectivityDiagnosis? {
        guard cluster.provider == .tart, options.hostFacts.os == "macos",
              failure.outputTail.joined(separator: " ").contains("Timed out while waiting for the machine to boot") else { return nil }
        var addressed: [(name: String, address: String)] = []
        for node in starting {
            let name = VagrantfileRenderer.tartName(cluster: cluster, node: node, layout: layout)
            guard let result = try? await runner.run(tools.tart(["ip", name])), result.succeeded,
                  let address = Preflight.firstLine(result.standardOutput), IPv4Address(address) != nil else { continue }
            addressed.append((node.name, address))
        }
        return MacNetworkChecks.localNetworkNoNodeDiagnosis(addressed, context: "`vagrant up` waited for SSH until its boot timeout",
                                                            hostOS: "macos", macOSVersion: await MacNetworkChecks.macOSVersion(runner: runner))
    }

    /// One `tart pull` before the parallel clones (so the machines do not race for the image), only
    /// when one of `starting` has no Tart VM yet and Tart's store lacks the image: Tart's pull always
    /// asks the registry, so a needless one breaks `--offline` and may fetch a rebuilt image.
    /// Returns the image pulled, if any.
    func pullImageIfNeeded(for starting: [Node]) async throws -> String? {
        guard cluster.provider == .tart, let image = cluster.image else { return nil }
        if let store = await TartStore.read(runner: runner) {
            let cloned = store.needingClone(starting, of: cluster, layout: layout)
            guard !cloned.isEmpty, !store.has(image: image) else { return nil }
        }
        guard !options.offline else {
            throw BootstrapFailure(phase: .machines, tool: "tart", message: "\(image) is not in Tart's local store and --offline forbids pulling it",
                                   outputTail: [], logFile: nil, hint: TartStore.offlineFix(image))
        }
        try await step(.machines, tools.tart(["pull", image]), log: "tart-pull")
        return image
    }
}
