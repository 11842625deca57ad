import Foundation

/// Where a download's expected SHA-256 is published.
public enum ChecksumSource: Sendable, Equatable {
    /// A `sha256sum -b` listing (`<hex> *<name>` per line), as k0s and k0sctl releases publish it.
    case listing(url: String, name: String)
    /// A file holding only the hex digest (`kubectl.sha256` on dl.k8s.io).
    case digestFile(url: String)
}

/// One file to put into the cache.
public struct Download: Sendable, Equatable {
    /// The canonical `https://HOST/PATH` (K0SLUA_MIRROR rewrites it).
    public var url: String
    public var checksum: ChecksumSource
    /// The final path in the cache; it exists only once verified.
    public var destination: String
    public var executable: Bool

    public init(url: String, checksum: ChecksumSource, destination: String, executable: Bool) {
        self.url = url
        self.checksum = checksum
        self.destination = destination
        self.executable = executable
    }

    public var fileName: String { (destination as NSString).lastPathComponent }
}

/// Why a download did not make it into the cache. Every case names the URL; nothing is left in
/// the cache.
public enum FetchError: Error, Sendable, Equatable, CustomStringConvertible {
    case transfer(url: String, detail: String)
    case missingChecksum(url: String, listing: String, name: String)
    case checksumMismatch(url: String, expected: String, actual: String)
    case offline(missing: [String], hint: String)
    case invalidVersion(String)
    /// `K0SLUA_MIRROR` is neither https, nor http on this machine, nor a local directory, and
    /// `K0SLUA_MIRROR_INSECURE=1` does not accept it: refused before any request.
    case insecureMirror(String)
    /// A cached file no longer has the SHA-256 recorded beside it when it was verified.
    case cachedFileChanged(path: String, recorded: String, actual: String)

    public var description: String {
        switch self {
        case .transfer(let url, let detail): "download of \(url) failed: \(detail)"
        case .missingChecksum(let url, let listing, let name): "no checksum for \(name) in \(listing), so \(url) was not used"
        case .checksumMismatch(let url, let expected, let actual): "checksum mismatch for \(url): expected sha256 \(expected), got \(actual)"
        case .invalidVersion(let version): "\"\(version)\" is not a k0s version (expected e.g. v1.34.2+k0s.0)"
        case .offline(let missing, let hint): "--offline, and the cache lacks " + missing.joined(separator: ", ") + "; run `\(hint)` while online"
        case .insecureMirror(let mirror):
            "K0SLUA_MIRROR \"\(mirror)\" is not https (nor http on this machine, nor file://): a mirror serves both the files and their checksums, "
                + "so whoever is on the way could swap both; use an https:// mirror, or set K0SLUA_MIRROR_INSECURE=1 to accept this one"
        case .cachedFileChanged(let path, let recorded, let actual):
            "cached \(path) changed after it was verified: recorded sha256 \(recorded), now \(actual); "
                + "remove it (rm \(Quote.shell(path)) \(Quote.shell(path + Fetcher.digestSuffix))) and run `k0slua cache fetch` to download it again"
        }
    }
}

/// Progress of one download, for a progress bar.
public struct DownloadProgress: Sendable {
    public var name: String
    public var received: Int64
    /// From Content-Length, when the server sent one.
    public var total: Int64?
    public var elapsed: Double
    public var finished: Bool
}

/// What a fetch did.
public enum FetchOutcome: Sendable, Equatable {
    case cached
    case downloaded(bytes: Int64, seconds: Double)
}

/// Downloads into the cache with curl: verified against the published SHA-256 before it gets
/// its final name (atomic rename in the same file system), one download per file at a time
/// across processes (flock), `https://HOST/PATH` fetched as `$K0SLUA_MIRROR/HOST/PATH` when set.
/// Each cached file's SHA-256 is recorded beside it (`<file>.sha256`) and checked again every
/// time the file is used.
public struct Fetcher: Sendable {
    public let cache: CacheLayout
    public let runner: any ProcessRunning
    public let mirror: String?
    public let progress: @Sendable (DownloadProgress) -> Void
    /// Host OS, for the SHA-256 tool (`sha256sum` on Linux, `shasum -a 256` on macOS).
    let os: String
    /// Why the mirror is not used (then no request is made at all).
    let mirrorRefusal: FetchError?

    /// The SHA-256 of a cached file is recorded in `<file>.sha256` (`sha256sum` format).
    public static let digestSuffix = ".sha256"

    /// - Parameter insecureMirror: accept a plain-http mirror on another machine
    ///   (`K0SLUA_MIRROR_INSECURE=1`).
    public init(cache: CacheLayout, runner: any ProcessRunning, mirror: String? = ProcessInfo.processInfo.environment["K0SLUA_MIRROR"],
                insecureMirror: Bool = ProcessInfo.processInfo.environment["K0SLUA_MIRROR_INSECURE"] == "1",
                os: String = HostFacts.current.os, progress: @escaping @Sendable (DownloadProgress) -> Void = { _ in }) {
        self.cache = cache
        self.runner = runner
        let mirror = mirror.flatMap { $0.isEmpty ? nil : ($0.hasSuffix("/") ? String($0.dropLast()) : $0) }
        self.mirror = mirror
        self.mirrorRefusal = mirror.flatMap { Self.isTrusted(mirror: $0, insecureAllowed: insecureMirror) ? nil : FetchError.insecureMirror($0) }
        self.os = os
        self.progress = progress
    }

    /// A mirror serves both the files and their checksums, so only a channel nobody can tamper
    /// with will do: https, http to this machine (127.0.0.0/8, ::1, localhost), a local
    /// directory (file://); plain http elsewhere only when `insecureAllowed`.
    public static func isTrusted(mirror: String, insecureAllowed: Bool) -> Bool {
        guard let url = URL(string: mirror), let scheme = url.scheme?.lowercased() else { return false }
        switch scheme {
        case "https": return url.host?.isEmpty == false
        case "file": return url.host == nil || url.host == "" || url.host == "localhost"
        case "http":
            guard let host = url.host?.lowercased(), !host.isEmpty else { return false }
            return insecureAllowed || isLoopback(host)
        default: return false
        }
    }

    /// `localhost`, `127.0.0.0/8` or `::1`.
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" || bare == "0:0:0:0:0:0:0:1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) && (UInt8($0) != nil) }) else { return false }
        return octets[0] == "127"
    }

    /// The URL actually requested.
    public func resolve(_ url: String) -> String {
        guard let mirror, url.hasPrefix("https://") else { return url }
        return mirror + "/" + url.dropFirst("https://".count)
    }

    func curl(_ url: String, output: String?, headers: String? = nil) -> Command {
        var arguments = ["--fail", "--location", "--silent", "--show-error", "--retry", "3", "--retry-delay", "1", "--connect-timeout", "20"]
        if let headers { arguments += ["--dump-header", headers] }
        if let output { arguments += ["--output", output] }
        return Command("curl", arguments + ["--url", resolve(url)])
    }

    /// A small text file (a checksum listing, stable.txt), not cached.
    public func text(_ url: String) async throws -> String {
        let result = try await run(curl(url, output: nil), url: url)
        return result.standardOutput
    }

    /// Puts `download` into the cache unless it is there; safe to call from concurrent processes.
    /// - Parameter listing: the checksum listing's text when the caller already has it (one
    ///   request per release instead of one per file).
    @discardableResult
    public func fetch(_ download: Download, listing: String? = nil) async throws -> FetchOutcome {
        let files = FileManager.default
        if try await verifiedCached(download) { return .cached }
        // Shared with other downloads; `cache prune` waits for them (and they for it).
        let cacheLock = CacheLock(cache: cache)
        try await cacheLock.acquireShared()
        defer { cacheLock.release() }
        for directory in [cache.temporary, cache.locks] {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let lock = try await FileLock.acquire(cache.locks + "/" + lockName(download.destination))
        defer { lock.release() }
        // Another process may have finished it while we waited.
        if try await verifiedCached(download) { return .cached }

        let expected = try await expectedDigest(download, listing: listing)
        // Cached before k0slua recorded digests: kept when it matches the published one.
        if files.fileExists(atPath: download.destination), try await sha256(download.destination, url: download.url) == expected {
            try recordDigest(expected, of: download)
            return .cached
        }
        let partial = "\(cache.temporary)/\(UUID().uuidString).partial"
        let headers = partial + ".headers"
        defer {
            try? files.removeItem(atPath: partial)
            try? files.removeItem(atPath: headers)
        }
        let started = Date()
        let name = download.fileName
        let reporter = Task { [progress] in
            while !Task.isCancelled {
                progress(DownloadProgress(name: name, received: Self.size(partial), total: Self.contentLength(headers),
                                          elapsed: Date().timeIntervalSince(started), finished: false))
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        defer { reporter.cancel() }
        try await run(curl(download.url, output: partial, headers: headers), url: download.url)
        reporter.cancel()
        let bytes = Self.size(partial)
        let seconds = Date().timeIntervalSince(started)
        progress(DownloadProgress(name: name, received: bytes, total: bytes, elapsed: seconds, finished: true))

        let actual = try await sha256(partial, url: download.url)
        guard actual == expected else { throw FetchError.checksumMismatch(url: resolve(download.url), expected: expected, actual: actual) }
        try files.setAttributes([.posixPermissions: download.executable ? 0o755 : 0o644], ofItemAtPath: partial)
        try files.createDirectory(atPath: (download.destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // The digest first: a file under its final name always has one beside it.
        try recordDigest(expected, of: download)
        guard rename(partial, download.destination) == 0 else {
            throw FetchError.transfer(url: resolve(download.url), detail: "could not move it into \(download.destination): \(String(cString: strerror(errno)))")
        }
        return .downloaded(bytes: bytes, seconds: seconds)
    }

    /// Whether `download` is cached and still has the SHA-256 recorded beside it when it was
    /// verified; false when it is not cached or no digest is recorded (a cache from before
    /// k0slua recorded them). Throws `cachedFileChanged` when the file no longer matches.
    public func verifiedCached(_ download: Download) async throws -> Bool {
        let files = FileManager.default
        guard files.fileExists(atPath: download.destination),
              let text = try? String(contentsOfFile: download.destination + Self.digestSuffix, encoding: .utf8),
              let recorded = text.split(whereSeparator: \.isWhitespace).first.map(String.init), Self.isDigest(recorded) else { return false }
        let actual = try await sha256(download.destination, url: download.destination)
        guard actual == recorded.lowercased() else {
            throw FetchError.cachedFileChanged(path: download.destination, recorded: recorded.lowercased(), actual: actual)
        }
        return true
    }

    /// `<file>.sha256` beside the cached file, written atomically.
    func recordDigest(_ digest: String, of download: Download) throws {
        try FileWriter.write("\(digest)  \(download.fileName)\n", to: download.destination + Self.digestSuffix)
    }

    func expectedDigest(_ download: Download, listing known: String? = nil) async throws -> String {
        switch download.checksum {
        case .digestFile(let url):
            let text = try await self.text(url)
            guard let digest = text.split(whereSeparator: \.isWhitespace).first.map(String.init), Self.isDigest(digest) else {
                throw FetchError.missingChecksum(url: resolve(download.url), listing: resolve(url), name: download.fileName)
            }
            return digest.lowercased()
        case .listing(let url, let name):
            var text = known ?? ""
            if known == nil { text = try await self.text(url) }
            guard let digest = Self.digest(for: name, in: text) else {
                throw FetchError.missingChecksum(url: resolve(download.url), listing: resolve(url), name: name)
            }
            return digest
        }
    }

    /// The digest of `name` in a `sha256sum` listing (text `<hex>  name` or binary `<hex> *name`).
    public static func digest(for name: String, in listing: String) -> String? {
        for line in listing.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, isDigest(String(parts[0])) else { continue }
            var file = parts[1].trimmingCharacters(in: .whitespacesAndNewlines)
            if file.hasPrefix("*") { file.removeFirst() }
            if file == name { return parts[0].lowercased() }
        }
        return nil
    }

    static func isDigest(_ text: String) -> Bool {
        text.count == 64 && text.allSatisfy(\.isHexDigit)
    }

    func sha256(_ path: String, url: String) async throws -> String {
        let command = os == "macos" ? Command("shasum", ["-a", "256", path]) : Command("sha256sum", [path])
        let result = try await runner.run(command)
        // GNU sha256sum and shasum start the line with `\` when the file's name holds a `\` or a
        // newline (its name is then escaped); the digest follows.
        let first = result.standardOutput.split(separator: " ").first.map { $0.hasPrefix("\\") ? String($0.dropFirst()) : String($0) }
        guard result.succeeded, let digest = first, Self.isDigest(digest) else {
            throw FetchError.transfer(url: resolve(url), detail: "could not compute its SHA-256 with `\(command)`: \(result.standardError)")
        }
        return digest.lowercased()
    }

    @discardableResult
    func run(_ command: Command, url: String) async throws -> CommandResult {
        // Every request goes through here: a refused mirror is never contacted.
        if let mirrorRefusal { throw mirrorRefusal }
        let result: CommandResult
        do {
            result = try await runner.run(command)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw FetchError.transfer(url: resolve(url), detail: "could not run curl: \(error)")
        }
        guard result.succeeded else {
            let detail = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
            throw FetchError.transfer(url: resolve(url), detail: detail.isEmpty ? "curl exited with \(result.exitCode)" : detail)
        }
        return result
    }

    func lockName(_ destination: String) -> String {
        let relative = destination.hasPrefix(cache.root + "/") ? String(destination.dropFirst(cache.root.count + 1)) : destination
        return relative.replacingOccurrences(of: "/", with: "_") + ".lock"
    }

    static func size(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// The last Content-Length curl has written to its header dump (redirects write several).
    static func contentLength(_ headers: String) -> Int64? {
        guard let text = try? String(contentsOfFile: headers, encoding: .utf8) else { return nil }
        return text.split(whereSeparator: \.isNewline).reversed().lazy.compactMap { line -> Int64? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int64(parts[1].trimmingCharacters(in: .whitespaces))
        }.first
    }
}

/// An exclusive `flock` on a file, polled so that waiting stays cancellable.
struct FileLock: Sendable {
    let descriptor: Int32

    static func acquire(_ path: String) async throws -> FileLock {
        let descriptor = open(path, O_CREAT | O_RDWR, 0o644)
        guard descriptor >= 0 else { throw FetchError.transfer(url: path, detail: "cannot open lock file: \(String(cString: strerror(errno)))") }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                close(descriptor)
                throw error
            }
        }
        return FileLock(descriptor: descriptor)
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
