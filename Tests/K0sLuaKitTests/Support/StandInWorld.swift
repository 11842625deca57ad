import Foundation
import K0sLuaKit
import Testing

/// A scratch directory with a cluster.lua, the repository's lib/, and the stand-in vagrant, tart,
/// k0sctl, kubectl and ssh first on PATH (Tests/StandIns/bin); runs the built k0slua there and reads
/// back what the stand-ins were asked.
final class StandInWorld: @unchecked Sendable {
    /// The debug build, or `K0SLUA_TEST_BINARY` (`task test:release` runs suites against the release build).
    static let binary = ProcessInfo.processInfo.environment["K0SLUA_TEST_BINARY"] ?? Repo.root + "/.build/debug/k0slua"
    let directory: String
    var environment: [String: String]

    struct Call: Equatable, CustomStringConvertible {
        let tool: String
        let argv: [String]
        let env: [String: String]
        let signal: String?
        var pid: Int32? = nil
        var description: String { ([tool] + argv).joined(separator: " ") }
        /// `vagrant up`, `k0sctl apply`, `ssh <remote command>`…
        var summary: String {
            if tool == "ssh" {
                if let separator = argv.firstIndex(of: "--") { return "ssh " + argv[argv.index(after: separator)...].joined(separator: " ").prefix(40) }
                return "ssh " + (argv.last ?? "")
            }
            return ([tool] + argv.prefix(2)).joined(separator: " ")
        }
    }

    /// `directoryPrefix` goes before the world's unique directory name, e.g. `"My Clusters/"`.
    init(cluster source: String? = nil, directoryPrefix: String = "") throws {
        directory = NSTemporaryDirectory() + directoryPrefix + "k0slua-world-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = try source ?? String(contentsOfFile: Repo.defaultClusterFile, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: directory + "/cluster.lua", contents: Data(text.utf8))
        try FileManager.default.createSymbolicLink(atPath: directory + "/lib", withDestinationPath: Repo.lib)
        environment = [
            "PATH": Repo.root + "/Tests/StandIns/bin:/usr/bin:/bin",
            "HOME": directory + "/home",
            "NO_COLOR": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "K0SLUA_STANDIN_STATE": directory + "/standin",
            "K0SLUA_STANDIN_LOG": directory + "/transcript.jsonl",
            // A cold cache per world, filled from release-shaped files on disk: nothing leaves
            // the machine.
            "XDG_CACHE_HOME": directory + "/cache",
            "K0SLUA_MIRROR": ReleaseMirror.shared.fileURL,
        ]
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var layout: StateLayout { StateLayout(directory: directory + "/.k0slua/k0slua") }

    func run(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> CommandResult {
        var env = environment
        env.merge(extra) { $1 }
        return try await SubprocessRunner().run(Command("/usr/bin/env", ["-i"] + env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                                                        + [Self.binary] + arguments, workingDirectory: directory))
    }

    /// Starts k0slua in the world without waiting for it (stderr to a file of its own). `launcher`
    /// goes before it, e.g. `["/usr/bin/setsid", "-w"]`.
    func start(_ arguments: [String], environment extra: [String: String] = [:], launcher: [String] = []) throws -> (Process, String) {
        var env = environment
        env.merge(extra) { $1 }
        let command = launcher + ["/usr/bin/env", "-i"] + env.map { "\($0.key)=\($0.value)" } + [Self.binary] + arguments
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = directory + "/stderr-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errors)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, errors)
    }

    /// Whether `vagrant up` has been called.
    var vagrantUpStarted: Bool { calls.contains { $0.tool == "vagrant" && $0.argv.first == "up" } }

    /// Every stand-in call so far, in order.
    var calls: [Call] {
        guard let text = try? String(contentsOfFile: directory + "/transcript.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["end"] == nil, object["event"] == nil else { return nil }
            return Call(tool: object["tool"] as! String, argv: object["argv"] as! [String], env: object["env"] as? [String: String] ?? [:],
                        signal: object["signal"] as? String, pid: (object["pid"] as? Int).map(Int32.init))
        }
    }

    /// The `event` lines of the transcript (`tool event`), e.g. `vagrant cleanup-done`.
    var events: [String] {
        guard let text = try? String(contentsOfFile: directory + "/transcript.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let event = object["event"] as? String, let tool = object["tool"] as? String else { return nil }
            return "\(tool) \(event)"
        }
    }

    func clearTranscript() { try? FileManager.default.removeItem(atPath: directory + "/transcript.jsonl") }
}
