import Foundation

/// `<state>/up.lock`: one `k0slua up` per state directory. Holds the pid; a lock whose process is
/// gone is taken over.
public struct UpLock: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case held(pid: Int32)
        public var description: String {
            switch self {
            case .held(let pid): "another `k0slua up` (pid \(pid)) is running for this cluster"
            }
        }
    }

    public func acquire() throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        for _ in 0..<2 {
            let fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
            if fd >= 0 {
                let text = "\(getpid())\n"
                _ = text.withCString { write(fd, $0, strlen($0)) }
                close(fd)
                return
            }
            let holder = (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if let holder, holder != getpid(), kill(holder, 0) == 0 || errno == EPERM {
                throw Failure.held(pid: holder)
            }
            unlink(path)  // stale: its process is gone
        }
        throw Failure.held(pid: -1)
    }

    public func release() {
        unlink(path)
    }
}
