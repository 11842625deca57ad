import Foundation

/// `<state>/up.lock`: one command that changes the cluster (up, destroy) at a time per state
/// directory. The lock is flock(2) on the file, so the kernel drops it when its holder exits
/// however it exits (kill -9 included): there is no stale lock to judge and no window in which two
/// processes both take one over. The file's text only tells others who holds it.
public final class ClusterLock: @unchecked Sendable {
    public let path: String
    private var descriptor: Int32 = -1

    public init(path: String) { self.path = path }

    deinit { release() }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// Another process holds the lock; what it wrote about itself, if it had the time to.
        case held(pid: Int32?, command: String?)
        case unusable(path: String, reason: String)

        public var description: String {
            switch self {
            case .held(let pid, let command):
                let who = [pid.map { "pid \($0)" }, command.map { "`\($0)`" }].compactMap { $0 }.joined(separator: ", ")
                return "another k0slua is changing this cluster (\(who.isEmpty ? "just starting" : who)); wait for it to finish"
            case .unusable(let path, let reason):
                return "cannot lock \(path): \(reason)"
            }
        }
    }

    /// Takes the lock or throws `.held` at once (never waits). `command` is what others are told.
    public func acquire(command: String) throws {
        guard descriptor < 0 else { return }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // A holder unlinks the file when it releases (and destroy removes it with the state), so a
        // lock taken on a file that is no longer at `path` is worth nothing: try again.
        for _ in 0..<10 {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Failure.unusable(path: path, reason: String(cString: strerror(errno))) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let error = errno
                // The holder writes who it is just after it takes the lock: give it a moment.
                var holder = Self.holder(fd)
                for _ in 0..<50 where error == EWOULDBLOCK && holder.pid == nil {
                    usleep(20_000)
                    holder = Self.holder(fd)
                }
                close(fd)
                if error == EWOULDBLOCK { throw Failure.held(pid: holder.pid, command: holder.command) }
                throw Failure.unusable(path: path, reason: String(cString: strerror(error)))
            }
            var opened = stat(), current = stat()
            if fstat(fd, &opened) == 0, stat(path, &current) == 0, opened.st_ino == current.st_ino, opened.st_dev == current.st_dev {
                let text = "\(getpid())\n\(command)\n"
                _ = ftruncate(fd, 0)
                _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
                descriptor = fd
                return
            }
            close(fd)
        }
        throw Failure.unusable(path: path, reason: "the file keeps being replaced")
    }

    /// Who holds the lock, as the holder wrote it (pid on the first line, command on the second).
    private static func holder(_ fd: Int32) -> (pid: Int32?, command: String?) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return (nil, nil) }
        let lines = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\n").map(String.init)
        return (lines.first.flatMap { Int32($0) }, lines.count > 1 ? lines[1] : nil)
    }

    /// Removes the file, then drops the lock (in that order: see acquire).
    public func release() {
        guard descriptor >= 0 else { return }
        var opened = stat(), current = stat()
        if fstat(descriptor, &opened) == 0, stat(path, &current) == 0, opened.st_ino == current.st_ino { unlink(path) }
        close(descriptor)
        descriptor = -1
    }
}
