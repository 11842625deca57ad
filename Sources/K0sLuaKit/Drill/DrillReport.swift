import Foundation

/// One line of a drill's timeline.
public struct DrillStep: Sendable, Equatable {
    /// Seconds since the drill started.
    public var seconds: Double
    /// The drill file's line that asked for it (nil for undo steps).
    public var line: Int?
    /// What happened, e.g. `stop worker-1`, `undo: start worker-1`.
    public var step: String
    /// How it went, e.g. `ok`, `exit 0`, `met after 31 s (7 tries)`.
    public var result: String
    public var ok: Bool

    public init(seconds: Double, line: Int?, step: String, result: String, ok: Bool) {
        self.seconds = seconds
        self.line = line
        self.step = step
        self.result = result
        self.ok = ok
    }

    /// `   12.3s  :14  stop worker-1                       ok`
    public var text: String {
        let time = String(format: "%7.1fs", seconds)
        let where_ = (line.map { ":\($0)" } ?? "").padding(toLength: 5, withPad: " ", startingAt: 0)
        let what = step.count < 40 ? step.padding(toLength: 40, withPad: " ", startingAt: 0) : step + "  "
        return "\(time)  \(where_) \(what)\(result)"
    }
}

/// How a drill ended.
public enum DrillResult: String, Sendable, Equatable {
    /// The drill file ran to its end (or called nothing that failed).
    case passed
    /// `drill.skip(reason)`: the drill cannot run on this cluster.
    case skipped
    /// An expectation, a wait or a fault failed, or undoing a fault did.
    case failed
    /// `--timeout` ran out.
    case timedOut = "timed-out"
    /// Ctrl-C, SIGTERM or SIGHUP.
    case interrupted
    /// The drill file is wrong (syntax, runtime error, unknown node, a budget): exit 65.
    case error
}

/// What a drill did: its timeline, how it ended, and the faults it could not undo.
public struct DrillReport: Sendable, Equatable {
    public var drill: String
    public var cluster: String
    public var result: DrillResult
    /// Why it failed, timed out or was skipped.
    public var message: String?
    public var seconds: Double
    public var steps: [DrillStep]
    /// Faults still in place (listed in drill-undo.json for `k0slua drill --undo`).
    public var undoFailures: [String]
    /// Problems in the drill file, for `.error`.
    public var diagnostics: [Diagnostic]

    public init(drill: String, cluster: String, result: DrillResult, message: String?, seconds: Double, steps: [DrillStep],
                undoFailures: [String], diagnostics: [Diagnostic]) {
        self.drill = drill
        self.cluster = cluster
        self.result = result
        self.message = message
        self.seconds = seconds
        self.steps = steps
        self.undoFailures = undoFailures
        self.diagnostics = diagnostics
    }

    /// 0 passed or skipped, 65 a wrong drill file, 1 anything else (interrupts are the caller's).
    public var exitCode: Int32 {
        if !undoFailures.isEmpty { return result == .error ? 65 : 1 }
        switch result {
        case .passed, .skipped: return 0
        case .error: return 65
        case .failed, .timedOut, .interrupted: return 1
        }
    }

    /// The last line: `passed in 1m 42s (6 steps)`, `failed after 12.0 s: …`.
    public var summary: String {
        var line: String
        switch result {
        case .passed: line = "drill passed in \(Self.duration(seconds))"
        case .skipped: line = "drill skipped: \(message ?? "")"
        case .failed: line = "drill failed after \(Self.duration(seconds)): \(message ?? "")"
        case .timedOut: line = "drill timed out after \(Self.duration(seconds)): \(message ?? "") (faults undone)"
        case .interrupted: line = "drill interrupted after \(Self.duration(seconds)) (faults undone)"
        case .error: line = "drill stopped after \(Self.duration(seconds)): the drill file has an error"
        }
        if !undoFailures.isEmpty {
            line += "\nfaults still in place: " + undoFailures.joined(separator: "; ")
                + "\nhint: they are listed in drill-undo.json; try again with `k0slua drill --undo`"
        }
        return line
    }

    /// The timeline and the summary, one line each.
    public var text: String {
        (steps.map(\.text) + [summary]).joined(separator: "\n") + "\n"
    }

    /// `{"drill", "cluster", "result", "message", "seconds", "steps": [{"seconds", "line", "step",
    /// "result", "ok"}], "undo_failures", "errors"}` (docs/drills.md).
    public var json: String {
        struct Step: Encodable { let seconds: Double; let line: Int?; let step: String; let result: String; let ok: Bool }
        struct Document: Encodable {
            let drill: String; let cluster: String; let result: String; let message: String?; let seconds: Double
            let steps: [Step]
            let undoFailures: [String]
            let errors: [String]
            enum CodingKeys: String, CodingKey {
                case drill, cluster, result, message, seconds, steps, errors
                case undoFailures = "undo_failures"
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let document = Document(drill: drill, cluster: cluster, result: result.rawValue, message: message, seconds: Self.rounded(seconds),
                                steps: steps.map { Step(seconds: Self.rounded($0.seconds), line: $0.line, step: $0.step, result: $0.result, ok: $0.ok) },
                                undoFailures: undoFailures, errors: diagnostics.map(\.description))
        return String(decoding: (try? encoder.encode(document)) ?? Data(), as: UTF8.self) + "\n"
    }

    static func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }

    /// `42.0 s`, `2m 5s`.
    static func duration(_ seconds: Double) -> String {
        seconds < 60 ? String(format: "%.1f s", seconds) : "\(Int(seconds) / 60)m \(Int(seconds) % 60)s"
    }
}
