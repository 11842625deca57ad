import Foundation

/// Where `up` reports what it is doing. The CLI prints to stderr; tests collect.
public protocol ProgressReporting: Sendable {
    func phaseStarted(_ phase: BootstrapPhase, index: Int, of count: Int)
    func phaseFinished(_ phase: BootstrapPhase, seconds: Double, note: String?)
    func phaseSkipped(_ phase: BootstrapPhase, reason: String)
    func info(_ line: String)
}

/// Plain lines on stderr (`--quiet` passes `quiet: true`; errors are printed elsewhere).
public struct StderrProgress: ProgressReporting {
    public let quiet: Bool

    public init(quiet: Bool) { self.quiet = quiet }

    func write(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    public func phaseStarted(_ phase: BootstrapPhase, index: Int, of count: Int) {
        write("==> [\(index)/\(count)] \(phase.rawValue): \(phase.title)")
    }

    public func phaseFinished(_ phase: BootstrapPhase, seconds: Double, note: String?) {
        write("    \(phase.rawValue) done in \(String(format: "%.1f", seconds))s" + (note.map { ": \($0)" } ?? ""))
    }

    public func phaseSkipped(_ phase: BootstrapPhase, reason: String) {
        write("==> \(phase.rawValue): skipped (\(reason))")
    }

    public func info(_ line: String) { write("    \(line)") }
}

/// A log file under `<state>/logs/`, appended line by line.
final class LogFile: @unchecked Sendable {
    let path: String
    private let handle: FileHandle?
    private let lock = NSLock()

    init(path: String) {
        self.path = path
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: nil)
        handle = FileHandle(forWritingAtPath: path)
    }

    deinit { try? handle?.close() }

    func write(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        handle?.write(Data((line + "\n").utf8))
    }
}
