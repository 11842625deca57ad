/// What went wrong in cluster.lua, as a value tests can match on.
public enum DiagnosticCode: String, Sendable, Equatable, CaseIterable {
    // Lua
    case syntaxError = "syntax-error"
    case runtimeError = "runtime-error"
    case instructionBudgetExhausted = "instruction-budget"
    case memoryBudgetExhausted = "memory-budget"
    case timeBudgetExhausted = "time-budget"
    case fileNotFound = "file-not-found"
    /// A bug in k0slua, not in cluster.lua (exit 70).
    case internalError = "internal-error"
    // shape (decode)
    case typeMismatch = "type-mismatch"
    case missingKey = "missing-key"
    case unknownKey = "unknown-key"
    case invalidValue = "invalid-value"
    // meaning (validate)
    case noController = "no-controller"
    case noWorkloadNode = "no-workload-node"
    case duplicateName = "duplicate-name"
    case invalidHostname = "invalid-hostname"
    case duplicateAddress = "duplicate-address"
    case addressCollision = "address-collision"
    case addressOutsideNetwork = "address-outside-network"
    case reservedAddress = "reserved-address"
    case tooFewCPUs = "too-few-cpus"
    case tooLittleMemory = "too-little-memory"
    case tooLittleDisk = "too-little-disk"
    case invalidLabel = "invalid-label"
    case invalidTaint = "invalid-taint"
    case workloadsOnWorker = "workloads-on-worker"
    case invalidVIP = "invalid-vip"
    case invalidNetworkMode = "invalid-network-mode"
    case invalidAddressing = "invalid-addressing"
    case unsupportedSetting = "unsupported-setting"
    case unsafeValue = "unsafe-value"
    // warnings
    case evenControllerCount = "even-controller-count"
    case exceedsHostCapacity = "exceeds-host-capacity"
}

/// One problem in cluster.lua, with the path of the value and the source line where known.
public struct Diagnostic: Sendable, Equatable, Error, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var severity: Severity
    public var code: DiagnosticCode
    /// The file the line refers to, e.g. `cluster.lua`.
    public var file: String
    public var line: Int?
    /// e.g. `nodes[2].memory`; empty for the whole file.
    public var path: String
    public var message: String
    public var hint: String?
    /// A Lua traceback, for runtime errors.
    public var traceback: String?

    public init(_ code: DiagnosticCode, file: String, line: Int?, path: String, message: String,
                hint: String? = nil, traceback: String? = nil) {
        self.init(.error, code, file: file, line: line, path: path, message: message, hint: hint, traceback: traceback)
    }

    public init(_ severity: Severity, _ code: DiagnosticCode, file: String, line: Int?, path: String,
                message: String, hint: String? = nil, traceback: String? = nil) {
        self.severity = severity
        self.code = code
        self.file = file
        self.line = line
        self.path = path
        self.message = message
        self.hint = hint
        self.traceback = traceback
    }

    /// `cluster.lua:14: nodes[2].memory: expected integer (MiB), got string "4G"`
    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        return path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
    }
}

/// Every problem found at once; thrown when at least one of them is an error.
public struct DiagnosticList: Error, Sendable, Equatable {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
}

/// Closest candidate by edit distance, for "did you mean" hints.
public func closestMatch(to word: String, in candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1]
            for (j, cb) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
    let lowered = Array(word.lowercased())
    let scored = candidates.map { ($0, distance(lowered, Array($0.lowercased()))) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
    return best.1 <= max(2, word.count / 3) ? best.0 : nil
}
