import ArgumentParser
import Foundation
import K0sLuaKit

/// Where the cluster's generated state lives.
struct StateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("State directory (default: .k0slua/<name>/ next to the cluster file).", valueName: "dir"))
    var stateDir: String?

    func layout(for loaded: LoadedCluster, file: String) -> StateLayout {
        if let stateDir {
            return StateLayout(directory: stateDir.hasPrefix("/") ? stateDir : FileManager.default.currentDirectoryPath + "/" + stateDir)
        }
        let absolute = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
        return StateLayout.default(clusterFile: absolute, clusterName: loaded.cluster.name)
    }
}

extension ClusterLock {
    /// Takes the state directory's lock for a command that changes the cluster, or exits 1 naming
    /// the holder.
    static func take(_ layout: StateLayout) throws -> ClusterLock {
        let lock = ClusterLock(path: layout.lockFile)
        do {
            try lock.acquire(command: (["k0slua"] + CommandLine.arguments.dropFirst()).joined(separator: " "))
        } catch {
            Console.writeError("error: \(error)\n")
            throw ExitCode(1)
        }
        return lock
    }
}

/// Runs `body` as a task that Ctrl-C (SIGINT) or SIGTERM cancels; cancellation exits 130.
func runInterruptibly<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    let task = Task { try await body() }
    let sources = [SIGINT, SIGTERM].map { number in
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { task.cancel() }
        source.resume()
        return source
    }
    defer { sources.forEach { $0.cancel() } }
    do {
        return try await task.value
    } catch is CancellationError {
        Console.writeError("k0slua: interrupted\n")
        throw ExitCode(130)
    }
}
