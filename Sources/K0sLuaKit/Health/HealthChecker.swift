import Foundation

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

    /// One line per check: `ok      api            /readyz answered ok`.
    public var text: String {
        checks.map { check in
            var line = check.status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                + check.name.padding(toLength: 15, withPad: " ", startingAt: 0)
                + (check.evidence.first ?? "")
            for extra in check.evidence.dropFirst() { line += "\n" + String(repeating: " ", count: 23) + extra }
            if let hint = check.hint { line += "\n" + String(repeating: " ", count: 23) + "→ " + hint }
            return line
        }.joined(separator: "\n") + "\n"
    }

    /// `{"passed": bool, "checks": [{"name", "status", "evidence", "hint"}]}` (docs/health.md).
    public var json: String {
        struct Check: Encodable { let name: String; let status: String; let evidence: [String]; let hint: String? }
        struct Document: Encodable { let passed: Bool; let checks: [Check] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let document = Document(passed: passed, checks: checks.map { Check(name: $0.name, status: $0.status.rawValue, evidence: $0.evidence, hint: $0.hint) })
        return String(decoding: (try? encoder.encode(document)) ?? Data(), as: UTF8.self) + "\n"
    }
}

