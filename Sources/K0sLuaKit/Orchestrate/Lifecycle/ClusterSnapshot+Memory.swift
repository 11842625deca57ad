import Foundation

/// libvirt snapshots of a running cluster with the machines' memory, so that neither save nor
/// restore boots an operating system (docs/snapshots.md, "Memory images").
///
/// Save: every domain is paused (`virsh suspend`, workers first, then controllers, one right after
/// the other; QEMU drains and flushes the disks on pause); then per node its XML, `virsh save` of
/// the paused domain (the memory image; the domain is shut off), its disks, and `virsh restore
/// --paused` from the image; when every node is saved, `virsh resume` controllers first, then
/// workers. Each machine's memory and disks are taken at one paused instant, so each etcd member
/// keeps a state it really went through, and restoring them together looks to Raft like members
/// delayed or partitioned: one history.
///
/// Restore: the saved domains' images back paused (`virsh restore --paused`), resumed controllers
/// first, then each guest's clock set to the host's (it stands at the save time).
///
/// Invariant: nothing stays paused or saved-and-shut-off. `FrozenDomains` knows what is, and
/// `thaw` (save) or `powerOffPaused` (restore) runs on every failure and on Ctrl-C.
final class FrozenDomains: @unchecked Sendable {
    /// Domains paused by this command, in the order they were paused.
    var paused: [String] = []
    /// Domains `virsh save` shut off, and their memory image, not restored yet.
    var saved: [(domain: String, image: String)] = []
    /// Domains this command resumed.
    var resumed: [String] = []
}

extension Bootstrap {
    /// A runner that still starts programs after Ctrl-C (the shared supervisor then starts
    /// nothing new): for the cleanups that must leave no domain paused.
    var cleanupRunner: any ProcessRunning {
        runner is SubprocessRunner ? SubprocessRunner(supervisor: InterruptSupervisor()) : runner
    }

    /// `virsh suspend` of each node's domain: workers first, then controllers.
    func suspendDomains(_ nodes: [Node], frozen: FrozenDomains) async throws {
        let ordered = nodes.filter { $0.role == .worker } + nodes.filter { $0.role == .controller }
        progress.info("pausing \(ordered.map(\.name).joined(separator: ", "))")
        for node in ordered {
            try Task.checkCancellation()
            let domain = domainName(node.name)
            try await step(.machines, virsh(["suspend", "--", domain]), log: "snapshot")
            frozen.paused.append(domain)
        }
    }

    /// `virsh resume` of each node's domain: controllers first, then workers.
    func resumeDomains(_ nodes: [Node], frozen: FrozenDomains) async throws {
        let ordered = nodes.filter { $0.role == .controller } + nodes.filter { $0.role == .worker }
        progress.info("resuming \(ordered.map(\.name).joined(separator: ", "))")
        for node in ordered {
            let domain = domainName(node.name)
            try await step(.machines, virsh(["resume", "--", domain]), log: "snapshot")
            frozen.paused.removeAll { $0 == domain }
            frozen.resumed.append(domain)
        }
    }

    /// `virsh save` of a paused domain into `<directory>/memory/<node>.save`; the domain is shut
    /// off until `restorePaused`. Returns the image's path inside the snapshot.
    func saveMemory(_ node: Node, domain: String, into directory: String, frozen: FrozenDomains) async throws -> String {
        let relative = "memory/\(node.name).save"
        try FileManager.default.createDirectory(atPath: directory + "/memory", withIntermediateDirectories: true)
        try await step(.machines, virsh(["save", "--paused", "--", domain, "\(directory)/\(relative)"]), log: "snapshot")
        frozen.saved.append((domain, "\(directory)/\(relative)"))
        frozen.paused.removeAll { $0 == domain }
        return relative
    }

    /// `virsh restore --paused` of a memory image: the domain is back, paused.
    func restorePaused(domain: String, image: String, frozen: FrozenDomains) async throws {
        try await step(.machines, virsh(["restore", "--paused", "--", image]), log: "snapshot")
        frozen.saved.removeAll { $0.domain == domain }
        frozen.paused.append(domain)
    }

    /// After a failed or interrupted save: each domain shut off by `virsh save` back from its
    /// image, then every paused domain resumed, controllers first. Runs to the end whatever
    /// happened before.
    func thaw(_ frozen: FrozenDomains) async {
        guard !frozen.paused.isEmpty || !frozen.saved.isEmpty else { return }
        progress.info("the snapshot failed: resuming the cluster")
        let controllers = Set(cluster.controllers.map { domainName($0.name) })
        let stopped = frozen.paused + frozen.saved.map(\.domain)
        let resumed = stopped.filter(controllers.contains) + stopped.filter { !controllers.contains($0) }
        await runDetached(frozen.saved.map { virsh(["restore", "--paused", "--", $0.image]) } + resumed.map { virsh(["resume", "--", $0]) })
        frozen.saved = []
        frozen.paused = []
    }

    /// After a failed or interrupted restore: the domains it restored paused are powered off
    /// (the record says stopped; `snapshot restore` again finishes the job).
    func powerOffPaused(_ frozen: FrozenDomains) async {
        guard !frozen.paused.isEmpty else { return }
        progress.info("the restore stopped: powering off \(frozen.paused.joined(separator: ", ")) (`k0slua snapshot restore` again finishes the job)")
        await runDetached(frozen.paused.map { virsh(["destroy", "--", $0]) })
        frozen.paused = []
    }

    /// Runs `commands` one after another outside this task and the interrupt supervisor, so that
    /// a cancelled task or a pressed Ctrl-C cannot stop a cleanup halfway; logged to snapshot.log.
    func runDetached(_ commands: [Command]) async {
        let runner = cleanupRunner, log = logFile("snapshot")
        await Task.detached {
            for command in commands {
                log.write("$ \(command)")
                let result = try? await runner.run(command)
                log.write("exit \(result.map { String($0.exitCode) } ?? "-") \(result?.standardError.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")")
            }
        }.value
    }

    /// The libvirt domains that run or are paused now.
    func activeDomains() async throws -> Set<String> {
        let listed = try await step(.machines, virsh(["list", "--name"]), log: "snapshot").standardOutput
        return Set(Self.domainNames(listedBy: listed))
    }

    /// Sets each node's clock to the host's: a guest resumed from a memory image, or paused for
    /// a save, has the time it stood still at. One SSH call reads the guest's clock; the host's
    /// time when the answer is back gives the offset, so the connection's set-up (seconds on a
    /// busy host) comes before the reading and does not count. A second call moves the guest's
    /// clock by that offset from its own time, so its own set-up does not count either: the guest
    /// ends behind only by the time an answer takes to come back. A failed move is retried from a
    /// new reading, never applied twice.
    func setGuestClocks(_ nodes: [Node]) async throws {
        let log = logFile("snapshot")
        let outcomes = try await FanOut.map(nodes, limit: options.concurrency) { [ssh, runner] node -> (Node, String?) in
            let (offset, failure) = try await retrying(attempts: 5, retried: { log.write("clock of \(node.name), attempt \($0): \($1)") }) {
                () async throws -> Attempt<Double> in
                let started = Date()
                let reading = try await runner.run(ssh.command(node, run: Self.guestClockReading))
                let arrived = Date().timeIntervalSince1970
                guard reading.succeeded else { return .retry(reading.sshFailure) }
                let answer = reading.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
                // Not a transient failure: no GNU date there (`%N`).
                guard let guest = Double(answer), guest.isFinite else { return .stop("`\(Self.guestClockReading)` printed \"\(answer.prefix(80))\", not seconds") }
                let offset = arrived - guest
                let move = try await runner.run(ssh.command(node, run: Self.guestClockMove(by: offset)))
                guard move.succeeded else { return .retry(move.sshFailure) }
                log.write("clock of \(node.name): \(String(format: "%.3f", abs(offset))) s \(offset >= 0 ? "behind" : "ahead of") the host's; moved "
                          + "(read in \(String(format: "%.1f", arrived - started.timeIntervalSince1970)) s, moved in \(String(format: "%.1f", Date().timeIntervalSince1970 - arrived)) s)")
                return .done(offset)
            }
            return (node, offset == nil ? failure : nil)
        }
        let failed = outcomes.compactMap { node, problem in problem.map { (node, $0) } }
        for (node, problem) in failed { log.write("clock of \(node.name): \(problem)") }
        guard let first = failed.first?.0 else { return }
        throw BootstrapFailure(phase: .machines, tool: "ssh", message: "cannot set the clock of \(failed.count) machine(s) resumed from the snapshot",
                               outputTail: failed.map { "\($0.0.name) (\($0.0.sshAddress ?? "?")): \($0.1)" }, logFile: log.path,
                               hint: "set it from the host (`k0slua ssh \(first.name) -- sudo date -u -s @$(date +%s)`) or restart the cluster: `k0slua stop && k0slua start`")
    }

    /// The guest's clock in seconds since the epoch, to the nanosecond (GNU date).
    static let guestClockReading = "date -u +%s.%N"

    /// Moves the guest's clock by `seconds` from its own time: `sudo date -u -s '+12.345 seconds'`.
    static func guestClockMove(by seconds: Double) -> String {
        "sudo date -u -s '\(String(format: "%+.3f", seconds)) seconds'"
    }
}
