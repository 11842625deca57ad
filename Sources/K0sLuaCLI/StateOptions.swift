import ArgumentParser
import Foundation
import K0sLuaKit

/// Where the cluster's generated state lives.
struct StateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("State directory (default: .k0slua/<name>/ next to the cluster file).", valueName: "dir"))
    var stateDir: String?

    /// The cluster's state directory; one whose path ssh cannot take is a usage error (64).
    func layout(for loaded: LoadedCluster, file: String) throws -> StateLayout {
        try StateLayout.resolve(stateDirectory: stateDir, clusterFile: file, clusterName: loaded.cluster.name).usable(given: stateDir != nil, option: "--state-dir")
    }
}

extension StateLayout {
    /// This layout, or a usage error when ssh could not be given paths inside it (NodeSSH.pathProblem).
    func usable(given: Bool, option: String) throws -> StateLayout {
        let hint = given ? "choose another directory" : "move the project, or keep the state elsewhere with \(option) <dir>"
        if let problem = NodeSSH.pathProblem(directory, what: "the state directory", hint: hint) { throw ValidationError(problem) }
        return self
    }
}

extension StateOptions {
    /// The applied cluster in `layout` (the record), saying in one line when cluster.lua differs.
    func applied(_ loaded: LoadedCluster, layout: StateLayout, quiet: Bool = false) throws -> AppliedCluster {
        do {
            let applied = try AppliedCluster.load(loaded.cluster, layout: layout)
            if let line = applied.disagreement, !quiet { Console.writeError("note: \(line)\n") }
            return applied
        } catch {
            Console.error("\(error)", hint: error.hint)
            throw ExitCode(1)
        }
    }

    /// The record in `layout`, or exits 1 saying why it cannot be read (a newer or damaged one).
    static func record(in layout: StateLayout) throws -> ClusterRecord? {
        do {
            return try ClusterRecord.load(layout)
        } catch {
            Console.error("\(error)", hint: error.hint)
            throw ExitCode(1)
        }
    }

    /// For `stop` and `start`: the applied cluster, or exit 1 when there is none, naming the
    /// clusters whose state lives beside this one.
    func requireApplied(_ loaded: LoadedCluster, layout: StateLayout, command: String) throws {
        guard try applied(loaded, layout: layout, quiet: true).record == nil else { return }
        let others = layout.neighbours()
        Console.error("no cluster has been applied from \(layout.directory) (no state.json)",
                      details: others.isEmpty ? [] : ["clusters beside it: " + others.map { "\"\($0.name)\"" }.joined(separator: ", ")],
                      hint: others.isEmpty ? "run `k0slua up` first" : Self.selectionHint(others, command: command))
        throw ExitCode(1)
    }

    /// How to act on one of `others` instead.
    static func selectionHint(_ others: [StateLayout.Neighbour], command: String) -> String {
        let other = others[0]
        return "cluster.lua chooses the cluster's name (the default cluster.lua reads cluster_name: `cluster_name=\(other.name) k0slua \(command)`), "
            + "or name its state directory: `k0slua \(command) --state-dir \(shellWord(other.directory))`"
    }

    /// `text` as one POSIX shell word, quoted only when it needs to be.
    static func shellWord(_ text: String) -> String {
        let plain = !text.isEmpty && text.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "/._-+:@%".unicodeScalars.contains($0) }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
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

    /// Runs `body` holding the lock (`up`, `stop`, `start`); a failing step is printed as `up`'s are.
    static func holding(_ layout: StateLayout, command: String, _ body: () async throws -> Void) async throws {
        let lock = try take(layout)
        defer { lock.release() }
        do {
            try await body()
        } catch let failure as BootstrapFailure {
            Console.print(failure: failure, command: command)
            throw ExitCode(1)
        }
    }
}

/// Runs `body` as a task under the InterruptSupervisor: Ctrl-C (SIGINT), SIGTERM and SIGHUP reach
/// the children as it decides, and cancel the task; an interrupted run exits 130 (143 after
/// SIGTERM, 129 after SIGHUP) once its children are gone, and keeps state and logs. SIGPIPE is
/// ignored: after a hang-up stderr may lead nowhere, and k0slua must live on to stop its children.
func runInterruptibly<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    signal(SIGHUP, SIG_IGN)
    signal(SIGPIPE, SIG_IGN)
    let supervisor = InterruptSupervisor.shared
    supervisor.report = { Console.writeError("k0slua: \($0)\n") }
    let task = Task { try await body() }
    let sources = [SIGINT, SIGTERM, SIGHUP].map { number in
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            switch number {
            case SIGINT: supervisor.interrupt()
            case SIGHUP: supervisor.hangUp()
            default: supervisor.terminate()
            }
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
