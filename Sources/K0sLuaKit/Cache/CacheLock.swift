import Foundation

/// `<cache>/cache.lock`: downloads into the shared cache (any number at once) against `cache prune`
/// (alone). flock(2) on the file, as ClusterLock: the kernel drops it when its holder exits however
/// it exits, so there is no stale lock. The file stays (shared holders come and go); the exclusive
/// holder writes who it is into it.
public final class CacheLock: @unchecked Sendable {
    public let path: String
    private var descriptor: Int32 = -1
    private var exclusive = false

    public init(cache: CacheLayout) { path = cache.lockFile }

    deinit { release() }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// Another k0slua uses the cache: downloading (shared holders), or pruning (pid and command).
        case busy(pid: Int32?, command: String?)
        case unusable(path: String, reason: String)

        public var description: String {
            switch self {
            case .busy(let pid, let command):
                let who = [pid.map { "pid \($0)" }, command.map { "`\($0)`" }].compactMap { $0 }.joined(separator: ", ")
                return "another k0slua is using the cache (\(who.isEmpty ? "downloading" : who)); run it again when that one is done"
            case .unusable(let path, let reason):
                return "cannot lock \(path): \(reason)"
            }
        }
    }

    /// For `cache prune`: the cache alone, or `.busy` at once (never waits).
    public func acquireExclusive(command: String) throws {
        guard descriptor < 0 else { return }
        let fd = try openFile()
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let error = errno
            let holder = LockHolder.read(fd)
            close(fd)
            if error == EWOULDBLOCK { throw Failure.busy(pid: holder.pid, command: holder.command) }
            throw Failure.unusable(path: path, reason: String(cString: strerror(error)))
        }
        LockHolder.write(fd, command: command)
        descriptor = fd
        exclusive = true
    }

    /// For a download: shared with other downloads; waits (cancellably) while a prune runs, which
    /// takes seconds.
    public func acquireShared() async throws {
        guard descriptor < 0 else { return }
        let fd = try openFile()
        while flock(fd, LOCK_SH | LOCK_NB) != 0 {
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                close(fd)
                throw error
            }
        }
        descriptor = fd
    }

    private func openFile() throws -> Int32 {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure.unusable(path: path, reason: String(cString: strerror(errno))) }
        return fd
    }

    public func release() {
        guard descriptor >= 0 else { return }
        // An exclusive holder leaves no name behind for a later holder to show.
        if exclusive { _ = ftruncate(descriptor, 0) }
        close(descriptor)
        descriptor = -1
        exclusive = false
    }
}
