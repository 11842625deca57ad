import Foundation

/// Where `up` reports what it is doing. The CLI prints to stderr; tests collect.
public protocol ProgressReporting: Sendable {
    func phaseStarted(_ phase: BootstrapPhase, index: Int, of count: Int)
    func phaseFinished(_ phase: BootstrapPhase, seconds: Double, note: String?)
    func phaseSkipped(_ phase: BootstrapPhase, reason: String)
    func phaseFailed(_ phase: BootstrapPhase, seconds: Double)
    func info(_ line: String)
    /// A download in progress (called a few times a second) or finished.
    func download(_ progress: DownloadProgress)
}

extension ProgressReporting {
    public func download(_ progress: DownloadProgress) {}
}

/// `12.3 MB`, `1.2 GB`: decimal units, as release pages give sizes.
public enum ByteCount {
    public static func text(_ bytes: Int64) -> String {
        let value = Double(bytes)
        if value >= 1e9 { return String(format: "%.2f GB", value / 1e9) }
        if value >= 1e6 { return String(format: "%.1f MB", value / 1e6) }
        if value >= 1e3 { return String(format: "%.1f kB", value / 1e3) }
        return "\(bytes) B"
    }

    /// `name  12.3 MB / 250.0 MB  45.6 MB/s  ETA 5s` (total, rate and ETA when known).
    public static func progressLine(_ progress: DownloadProgress) -> String {
        var line = progress.name + "  " + text(progress.received)
        if let total = progress.total, total > 0 { line += " / " + text(total) }
        if progress.elapsed > 0.2 {
            let rate = Double(progress.received) / progress.elapsed
            line += "  " + text(Int64(rate)) + "/s"
            if !progress.finished, let total = progress.total, rate > 0, total > progress.received {
                line += "  ETA \(Int((Double(total - progress.received) / rate).rounded(.up)))s"
            }
        }
        return line
    }
}

/// Progress on stderr: on a terminal one updating line per phase with its elapsed time, plain
/// lines otherwise. `quiet` hides it all (errors are printed elsewhere).
public final class StderrProgress: ProgressReporting, @unchecked Sendable {
    public let quiet: Bool
    let terminal: Bool
    private let lock = NSLock()
    private var current: (line: String, started: Date)?
    private var downloadLine: String?
    private var ticker: DispatchSourceTimer?

    public init(quiet: Bool, terminal: Bool = isatty(2) != 0) {
        self.quiet = quiet
        self.terminal = terminal
    }

    deinit { ticker?.cancel() }

    private func write(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
    }

    public func phaseStarted(_ phase: BootstrapPhase, index: Int, of count: Int) {
        guard !quiet else { return }
        let line = "==> [\(index)/\(count)] \(phase.rawValue): \(phase.title)"
        lock.lock()
        defer { lock.unlock() }
        guard terminal else { return write(line + "\n") }
        current = (line, Date())
        write("\r\u{1B}[K" + line)
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in self?.tick() }
        timer.resume()
        ticker = timer
    }

    private func tick() {
        lock.lock()
        defer { lock.unlock() }
        guard let current else { return }
        write("\r\u{1B}[K\(current.line) (\(Int(Date().timeIntervalSince(current.started)))s)" + (downloadLine.map { " " + $0 } ?? ""))
    }

    /// On a terminal the phase line carries the bar (bytes, rate, ETA); otherwise one plain line
    /// per finished download.
    public func download(_ progress: DownloadProgress) {
        guard !quiet else { return }
        let line = ByteCount.progressLine(progress)
        lock.lock()
        defer { lock.unlock() }
        guard terminal, let current else {
            if progress.finished { write("    downloaded \(line)\n") }
            return
        }
        if progress.finished {
            downloadLine = nil
            write("\r\u{1B}[K    downloaded \(line)\n\(current.line)")
        } else {
            downloadLine = line
            write("\r\u{1B}[K\(current.line) \(line)")
        }
    }

    public func phaseFinished(_ phase: BootstrapPhase, seconds: Double, note: String?) {
        guard !quiet else { return }
        let done = "\(phase.rawValue) done in \(String(format: "%.1f", seconds))s" + (note.map { ": \($0)" } ?? "")
        lock.lock()
        defer { lock.unlock() }
        if terminal, let current {
            ticker?.cancel()
            ticker = nil
            self.current = nil
            write("\r\u{1B}[K\(current.line) — \(done)\n")
        } else {
            write("    \(done)\n")
        }
    }

    public func phaseFailed(_ phase: BootstrapPhase, seconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        ticker?.cancel()
        ticker = nil
        guard !quiet else { return }
        if terminal, let current {
            write("\r\u{1B}[K\(current.line) — failed after \(String(format: "%.1f", seconds))s\n")
        }
        self.current = nil
    }

    public func phaseSkipped(_ phase: BootstrapPhase, reason: String) {
        guard !quiet else { return }
        write("==> \(phase.rawValue): skipped (\(reason))\n")
    }

    public func info(_ line: String) {
        guard !quiet else { return }
        lock.lock()
        defer { lock.unlock() }
        if terminal, let current {
            write("\r\u{1B}[K    \(line)\n\(current.line)")
        } else {
            write("    \(line)\n")
        }
    }
}

/// A log file under `<state>/logs/`, appended line by line.
final class LogFile: @unchecked Sendable {
    let path: String
    private let handle: FileHandle?
    private let lock = NSLock()

    /// Logs name hosts, users and commands: readable by the user only (directory 0700, file 0600).
    /// A new log replaces the previous run's; `appending` continues this run's.
    init(path: String, appending: Bool = false) {
        self.path = path
        try? Self.makeDirectory((path as NSString).deletingLastPathComponent)
        if !appending || !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        // createFile keeps an existing file's mode.
        chmod(path, 0o600)
        handle = FileHandle(forWritingAtPath: path)
        _ = try? handle?.seekToEnd()
    }

    /// Creates the logs directory (0700), and tightens one an older k0slua left open.
    static func makeDirectory(_ directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        chmod(directory, 0o700)
    }

    deinit { try? handle?.close() }

    func write(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        handle?.write(Data((line + "\n").utf8))
    }
}
