/// Options for a health run.
public struct HealthOptions: Sendable, Equatable {
    /// Check names to report as skipped (e.g. `k0s-status`).
    public var skip: Set<String>
    /// Also run the smoke test (a Deployment over every schedulable node).
    public var smoke: Bool
    /// Retry until the checks pass or this many seconds have passed.
    public var waitSeconds: Double?

    public init(skip: Set<String> = [], smoke: Bool = false, waitSeconds: Double? = nil) {
        self.skip = skip
        self.smoke = smoke
        self.waitSeconds = waitSeconds
    }
}

/// The outcome of one check.
public struct HealthCheckResult: Sendable, Equatable {
    public enum Status: String, Sendable { case ok, failed, skipped }
    /// Stable name, e.g. `machines`, `reachability`, `k0s-status`, `api`, `nodes-ready`, `taints`, `system-pods`, `smoke`, `vip`.
    public var name: String
    public var status: Status
    /// What was seen.
    public var evidence: [String]
    /// What to look at next, for failures.
    public var hint: String?

    public init(name: String, status: Status, evidence: [String] = [], hint: String? = nil) {
        self.name = name
        self.status = status
        self.evidence = evidence
        self.hint = hint
    }
}

/// Every check's outcome.
public struct HealthReport: Sendable, Equatable {
    public var checks: [HealthCheckResult]
    public init(checks: [HealthCheckResult]) { self.checks = checks }
    public var passed: Bool { !checks.contains { $0.status == .failed } }
}

/// Checks that the running cluster matches cluster.lua and works. TODO(health): not written yet.
public struct HealthChecker: Sendable {
    public let cluster: Cluster
    public let layout: StateLayout
    public let runner: any ProcessRunning

    public init(cluster: Cluster, layout: StateLayout, runner: any ProcessRunning) {
        self.cluster = cluster
        self.layout = layout
        self.runner = runner
    }

    public func run(_ options: HealthOptions) async -> HealthReport {
        HealthReport(checks: [])
    }
}
