import Foundation
import K0sLuaKit

/// Release-shaped files laid out as `K0SLUA_MIRROR` expects (`<root>/<host>/<path>`) by
/// `Tests/StandIns/mirror/layout.py`: k0s (binary + airgap bundle for amd64 and arm64,
/// `sha256sums.txt` in `sha256sum -b` form), `docs.k0sproject.io/stable.txt`, k0sctl
/// (`checksums.txt`) and kubectl (`.sha256`). The "released" k0sctl and kubectl run the stand-ins. Served over `file://` (no server) or by
/// `Tests/StandIns/mirror/serve.py` on 127.0.0.1, which can misbehave on request.
final class ReleaseMirror: @unchecked Sendable {
    static let k0sVersion = "v1.34.2+k0s.0"

    let root: String
    private var server: Process?

    /// One file mirror for every StandInWorld (never modified).
    static let shared: ReleaseMirror = try! ReleaseMirror()

    init(versions: [String] = [k0sVersion]) throws {
        root = NSTemporaryDirectory() + "k0slua-mirror-\(UUID().uuidString)"
        // The one mirror layout (also the cache benchmark's and the VM e2e's).
        let layout = Process()
        layout.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        layout.arguments = [Repo.root + "/Tests/StandIns/mirror/layout.py", root]
            + versions.flatMap { ["--version", $0] } + ["--arch", "amd64", "--arch", "arm64", "--k0s", "echo", "--bundle", "text",
               "--tools", Repo.root + "/Tests/StandIns/bin",
               "--k0sctl-version", ProvisionedTool.k0sctl.pinned, "--kubectl-version", ProvisionedTool.kubectl.pinned]
        layout.environment = ["PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"]
        try layout.run()
        layout.waitUntilExit()
        guard layout.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Writes a file under the mirror and returns its `sha256sum -b` line.
    @discardableResult
    func write(_ path: String, _ text: String) throws -> String {
        let full = root + "/" + path.replacingOccurrences(of: "%2B", with: "+")
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: full))
        return "\(Self.sha256(text)) *\((path as NSString).lastPathComponent)\n"
    }

    static func sha256(_ text: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try! process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try! input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }

    var fileURL: String { "file://" + root }

    /// Starts serve.py; returns `http://127.0.0.1:PORT`.
    func serve() throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Repo.root + "/Tests/StandIns/mirror/serve.py", root]
        process.environment = ["PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"]
        try process.run()
        server = process
        for _ in 0..<100 {
            if let port = try? String(contentsOfFile: root + "/.port", encoding: .utf8) { return "http://127.0.0.1:\(port)" }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CocoaError(.fileReadNoSuchFile)
    }

    func stop() {
        if let server, server.isRunning {
            kill(server.processIdentifier, SIGKILL)  // the runner may have SIGTERM blocked in its children
            server.waitUntilExit()
        }
        server = nil
    }

    /// Misbehaviours by request path (see serve.py).
    func rules(_ rules: [String: String]) throws {
        try JSONSerialization.data(withJSONObject: rules).write(to: URL(fileURLWithPath: root + "/.rules"))
    }

    /// `GET /path status` per request so far.
    var requests: [String] {
        ((try? String(contentsOfFile: root + "/.requests", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The request path of a k0s release asset.
    static func k0sPath(_ name: String, version: String = k0sVersion) -> String {
        "/github.com/k0sproject/k0s/releases/download/\(version.replacingOccurrences(of: "+", with: "%2B"))/\(name)"
    }
}
