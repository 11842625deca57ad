import Foundation
import K0sLuaKit
import Testing

/// Paths inside the repository, found from this file's location.
enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()
    static var lib: String { root + "/lib" }
    static var defaultClusterFile: String { root + "/cluster.lua" }
    static var fixtures: String { root + "/Tests/K0sLuaKitTests/Fixtures" }
    static var snapshots: String { root + "/Tests/K0sLuaKitTests/Snapshots" }

    /// Every file under the source tree's `.task/` with its modification date (empty when absent).
    static func taskState() -> [String: Date] {
        let directory = root + "/.task"
        var state: [String: Date] = [:]
        for file in FileManager.default.subpaths(atPath: directory) ?? [] {
            state[file] = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + file))?[.modificationDate] as? Date
        }
        return state
    }
}

/// A fixed host, so that plans and warnings are the same on every machine.
let fixedHost = HostFacts(cpus: 8, memoryMiB: 16384, os: "macos", arch: "arm64")

/// Loads a cluster file with the repository's lib/ and the given environment only.
func loadCluster(_ file: String, environment: [String: String] = [:], budget: LuaBudget = .default) throws(DiagnosticList) -> LoadedCluster {
    try ClusterLoader(budget: budget, environment: environment, hostFacts: fixedHost)
        .load(file: file, libraryDirectory: Repo.lib, displayName: relativeToRepo(file))
}

/// `Tests/…/cluster.lua` rather than a path of this machine, so goldens hold on any clone.
func relativeToRepo(_ file: String) -> String {
    file.hasPrefix(Repo.root + "/") ? String(file.dropFirst(Repo.root.count + 1)) : file
}

/// Loads Lua source written by a test.
func loadSource(_ source: String, environment: [String: String] = [:], budget: LuaBudget = .default) throws(DiagnosticList) -> LoadedCluster {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("k0slua-test-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("cluster.lua").path
    _ = FileManager.default.createFile(atPath: file, contents: Data(source.utf8))
    return try ClusterLoader(budget: budget, environment: environment, hostFacts: fixedHost)
        .load(file: file, libraryDirectory: Repo.lib, displayName: "cluster.lua")
}

/// The diagnostics a load produced (empty when it succeeded without warnings).
func diagnostics(of load: () throws(DiagnosticList) -> LoadedCluster) -> [Diagnostic] {
    do { return try load().warnings } catch { return error.diagnostics }
}

/// Compares `actual` with the golden file; RECORD_SNAPSHOTS=1 rewrites it.
func assertSnapshot(_ actual: String, named path: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let file = Repo.snapshots + "/" + path
    if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1" {
        try! FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: file, contents: Data(actual.utf8))
        return
    }
    guard let expected = FileManager.default.contents(atPath: file).map({ String(decoding: $0, as: UTF8.self) }) else {
        Issue.record("missing snapshot \(path); run with RECORD_SNAPSHOTS=1 to record it", sourceLocation: sourceLocation)
        return
    }
    #expect(actual == expected, "snapshot \(path) differs; if the change is intended, re-record with RECORD_SNAPSHOTS=1", sourceLocation: sourceLocation)
}

/// Waits up to a minute for `condition` (the suite runs many k0slua processes at once on a small
/// machine); fails the test when it never holds.
func waitFor(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    // Not `for … where !condition()`: that keeps evaluating the condition after it holds.
    let deadline = Date().addingTimeInterval(60)
    while !condition() {
        try #require(Date() < deadline, "timed out waiting", sourceLocation: sourceLocation)
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Waits for `process` to end without blocking a thread of the cooperative pool (a blocked thread
/// starves the other tests' waits on a two-core machine).
func exited(_ process: Process) async throws {
    while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
}
