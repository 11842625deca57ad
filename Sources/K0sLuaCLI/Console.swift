import Foundation
import K0sLuaKit
import Logging

/// The one place that writes diagnostics and log lines to stderr.
enum Console {
    nonisolated(unsafe) private static var bootstrapped = false

    static var useColor: Bool {
        isatty(2) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    static func bootstrapLogging(quiet: Bool, verbose: Bool) {
        guard !bootstrapped else { return }
        bootstrapped = true
        let level: Logger.Level = verbose ? .debug : (quiet ? .warning : .info)
        LoggingSystem.bootstrap { label in
            var handler = StderrLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }

    static func writeError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// `error: cluster.lua:14: nodes[2].memory: expected integer (MiB), got string "4G"`
    static func print(diagnostics: [Diagnostic]) {
        var out = ""
        for diagnostic in diagnostics.sorted(by: { ($0.severity == .warning ? 1 : 0, $0.line ?? 0) < ($1.severity == .warning ? 1 : 0, $1.line ?? 0) }) {
            let label = diagnostic.severity == .error ? "error" : "warning"
            let colored = useColor ? (diagnostic.severity == .error ? "\u{1B}[1;31m\(label)\u{1B}[0m" : "\u{1B}[1;33m\(label)\u{1B}[0m") : label
            out += "\(colored): \(diagnostic.description)\n"
            if let hint = diagnostic.hint { out += "  hint: \(hint)\n" }
            if let traceback = diagnostic.traceback { out += traceback.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n") + "\n" }
        }
        let errors = diagnostics.filter { $0.severity == .error }.count
        if errors > 1 { out += "\(errors) errors\n" }
        writeError(out)
    }
}

/// Log lines on stderr: `k0slua: message` (info), `warning: message`, `debug: message`.
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let prefix: String = switch event.level {
        case .trace, .debug: "debug: "
        case .info, .notice: label == "k0slua.lua" ? "cluster.lua: " : ""
        case .warning: "warning: "
        case .error, .critical: "error: "
        }
        FileHandle.standardError.write(Data("\(prefix)\(event.message)\n".utf8))
    }
}
