import ArgumentParser
import Foundation
import K0sLuaKit

/// Where the cluster's generated state lives.
struct StateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("State directory (default: .k0slua/<name>/ next to the cluster file).", valueName: "dir"))
    var stateDir: String?

    func layout(for loaded: LoadedCluster, file: String) -> StateLayout {
        StateLayout.resolve(stateDirectory: stateDir, clusterFile: file, clusterName: loaded.cluster.name)
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
            Console.error("\(error)")
            throw ExitCode(1)
        }
        return lock
    }
}

/// Runs `body` as a task under the InterruptSupervisor: Ctrl-C (SIGINT) and SIGTERM reach the
/// children as it decides, and cancel the task; an interrupted run exits 130 (143 after SIGTERM)
/// and keeps state and logs.
func runInterruptibly<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    let supervisor = InterruptSupervisor.shared
    supervisor.report = { Console.writeError("k0slua: \($0)\n") }
    let task = Task { try await body() }
    let sources = [SIGINT, SIGTERM].map { number in
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            if number == SIGINT { supervisor.interrupt() } else { supervisor.terminate() }
            task.cancel()
        }
        source.resume()
        return source
    }
    defer { sources.forEach { $0.cancel() } }
    do {
        return try await task.value
    } catch {
        // Whatever the interrupted work threw (a cancelled phase, a hook whose command was stopped).
        guard let code = supervisor.exitCode else { throw error }
        Console.writeError("k0slua: interrupted; state and logs are kept\n")
        throw ExitCode(code)
    }
}
