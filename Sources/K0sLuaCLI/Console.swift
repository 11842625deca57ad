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

    /// Never fails: after a hang-up stderr may be a closed terminal or pipe (EIO, EPIPE), and k0slua
    /// must go on stopping its children.
    static func writeError(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }

    static func label(_ text: String, warning: Bool = false) -> String {
        useColor ? (warning ? "\u{1B}[1;33m\(text)\u{1B}[0m" : "\u{1B}[1;31m\(text)\u{1B}[0m") : text
    }

    /// Every error that is not a diagnostic of cluster.lua: `error: message`, then indented
    /// details (`  | line`) and `  hint: …`.
    static func error(_ message: String, details: [String] = [], hint: String? = nil, footer: [String] = []) {
        var out = "\(label("error")): \(message)\n"
        for line in details { out += "  | \(line)\n" }
        if let hint { out += "  hint: \(hint)\n" }
        for line in footer { out += "  \(line)\n" }
        writeError(out)
    }

    /// A bug in k0slua (exit 70): says so, and what to report.
    static func bug(_ what: String) {
        error("internal error: \(what)",
              footer: ["this is a bug in k0slua, not a problem in your cluster.lua or your machine;",
                       "please report it to the k0slua maintainers with the command you ran, this message",
                       "and the output of `k0slua --version` (\(K0sLuaCommand.configuration.version))"])
    }

    /// 65 for problems in cluster.lua, 70 when one of them is a bug of k0slua's.
    static func exitCode(for diagnostics: [Diagnostic]) -> Int32 {
        diagnostics.contains { $0.code == .internalError } ? 70 : 65
    }

    /// `error: cluster.lua:14: nodes[2].memory: expected integer (MiB), got string "4G"`
    static func print(diagnostics: [Diagnostic]) {
        var out = ""
        for diagnostic in diagnostics.sorted(by: { ($0.severity == .warning ? 1 : 0, $0.line ?? 0) < ($1.severity == .warning ? 1 : 0, $1.line ?? 0) }) {
            if diagnostic.code == .internalError {
                writeError(out)
                out = ""
                bug(diagnostic.description + (diagnostic.traceback.map { "\n" + $0 } ?? ""))
                continue
            }
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
        try? FileHandle.standardError.write(contentsOf: Data("\(prefix)\(event.message)\n".utf8))
    }
}
