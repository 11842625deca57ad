import Foundation

/// The one owner of Ctrl-C and SIGTERM while k0slua runs tools.
///
/// Every child runs in a process group of its own (SubprocessRunner), so a terminal's Ctrl-C
/// reaches k0slua alone and never the tools behind its back. k0slua then decides, once:
/// - first Ctrl-C: exactly one SIGINT to each child's group, then it waits for them to clean up
///   (Vagrant rolls back half-made machines after its first SIGINT and needs time for it; a second
///   SIGINT would make it exit at once without cleanup). A child still running after its grace
///   period gets SIGTERM, and SIGKILL 10 s later;
/// - second Ctrl-C: SIGTERM to every child's group;
/// - third Ctrl-C: SIGKILL to every child's group.
/// SIGTERM to k0slua sends SIGTERM to every child's group. SIGHUP (the terminal closed, the SSH
/// session dropped) stops the children as a first Ctrl-C does: one SIGINT, then SIGTERM and SIGKILL
/// after the grace period, as nobody is left to press Ctrl-C again; a later Ctrl-C or SIGTERM still
/// counts. No new program starts once interrupted.
public final class InterruptSupervisor: @unchecked Sendable {
    public static let shared = InterruptSupervisor()

    private struct Child {
        let tool: String
        let grace: Double
    }

    private let lock = NSLock()
    private var children: [pid_t: Child] = [:]
    private var presses = 0
    private var terminated = false
    private var hungUp = false
    /// Tools already named as overdue after the first Ctrl-C (one line for all of them).
    private var overdueReported: Set<String> = []
    /// Where the supervisor says what it waits for (stderr in the CLI).
    public var report: @Sendable (String) -> Void = { _ in }

    public init() {}

    /// How long a tool may take to clean up after one SIGINT before it gets SIGTERM.
    public static func grace(for executable: String) -> Double {
        switch (executable as NSString).lastPathComponent {
        case "vagrant": 60
        case "k0sctl", "tart": 30
        default: 10
        }
    }

    /// Whether Ctrl-C, SIGTERM or SIGHUP arrived.
    public var isInterrupted: Bool { lock.withLock { presses > 0 || terminated || hungUp } }

    /// The exit code for an interrupted run: 143 after SIGTERM, 129 after SIGHUP, 130 after Ctrl-C;
    /// nil otherwise.
    public var exitCode: Int32? {
        lock.withLock { terminated ? 143 : hungUp ? 129 : presses > 0 ? 130 : nil }
    }

    /// A child started in its own process group `group`. Returns false when an interrupt came
    /// first: the caller must not go on (the child has been sent SIGINT already).
    @discardableResult
    public func started(group: pid_t, executable: String) -> Bool {
        let child = Child(tool: (executable as NSString).lastPathComponent, grace: Self.grace(for: executable))
        let (interrupted, term) = lock.withLock { () -> (Bool, Bool) in
            children[group] = child
            return (presses > 0 || hungUp, terminated)
        }
        if term {
            kill(-group, SIGTERM)
        } else if interrupted {
            signalOnce(group, child)
            report(Self.waiting(for: [child]))
        }
        return !(interrupted || term)
    }

    public func finished(group: pid_t) {
        _ = lock.withLock { children.removeValue(forKey: group) }
    }

    /// Ctrl-C (SIGINT) arrived.
    public func interrupt() {
        let (press, running) = lock.withLock { () -> (Int, [pid_t: Child]) in
            presses += 1
            return (presses, children)
        }
        switch press {
        case 1:
            for (group, child) in running { signalOnce(group, child) }
            reportWaiting(running)
        case 2:
            if !running.isEmpty { report("second Ctrl-C: terminating \(Self.names(running)) (SIGTERM); Ctrl-C once more to kill") }
            for group in running.keys { kill(-group, SIGTERM) }
        default:
            if !running.isEmpty { report("killing \(Self.names(running)) (SIGKILL)") }
            for group in running.keys { kill(-group, SIGKILL) }
        }
    }

    /// SIGHUP arrived: each child gets one SIGINT (Vagrant rolls back what it was making) and its
    /// grace period, then SIGTERM and SIGKILL; a second SIGHUP changes nothing.
    public func hangUp() {
        let (first, running) = lock.withLock { () -> (Bool, [pid_t: Child]) in
            defer { hungUp = true }
            return (!hungUp && presses == 0 && !terminated, children)
        }
        guard first else { return }
        for (group, child) in running { signalOnce(group, child) }
        if running.isEmpty { report("hung up; stopping") } else { reportWaiting(running) }
    }

    /// SIGTERM arrived.
    public func terminate() {
        let running = lock.withLock { () -> [pid_t: Child] in
            terminated = true
            return children
        }
        if !running.isEmpty { report("terminated: stopping \(Self.names(running)) (SIGTERM)") }
        for group in running.keys { kill(-group, SIGTERM) }
    }

    /// One line per tool, however many of it run (a fan-out interrupted runs sixteen ssh at once).
    private func reportWaiting(_ running: [pid_t: Child]) {
        if running.isEmpty { report("interrupted; stopping") }
        for children in Dictionary(grouping: running.values, by: \.tool).values.sorted(by: { $0[0].tool < $1[0].tool }) {
            report(Self.waiting(for: children))
        }
    }

    private static func waiting(for children: [Child]) -> String {
        let child = children[0]
        let who = children.count == 1 ? child.tool : "\(children.count) \(child.tool) processes"
        return "interrupted: waiting up to \(Int(child.grace)) s for \(who) to clean up and stop (Ctrl-C again to terminate \(children.count == 1 ? "it" : "them") now)"
    }

    private func signalOnce(_ group: pid_t, _ child: Child) {
        kill(-group, SIGINT)
        DispatchQueue.global().asyncAfter(deadline: .now() + child.grace) { [self] in
            let (running, first) = lock.withLock { () -> (Bool, Bool) in
                guard children[group] != nil else { return (false, false) }
                return (true, overdueReported.insert(child.tool).inserted)
            }
            guard running else { return }
            if first { report("\(child.tool) did not stop within \(Int(child.grace)) s: terminating it (SIGTERM)") }
            kill(-group, SIGTERM)
            DispatchQueue.global().asyncAfter(deadline: .now() + 10) { [self] in
                guard lock.withLock({ children[group] != nil }) else { return }
                kill(-group, SIGKILL)
            }
        }
    }

    private static func names(_ running: [pid_t: Child]) -> String {
        Set(running.values.map(\.tool)).sorted().joined(separator: ", ")
    }

    /// Forgets every interrupt (tests run several commands in one process).
    public func reset() {
        lock.withLock {
            presses = 0
            terminated = false
            hungUp = false
            overdueReported = []
        }
    }
}
