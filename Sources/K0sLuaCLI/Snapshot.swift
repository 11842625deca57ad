import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Snapshot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "snapshot",
            abstract: "Save the whole cluster while its machines are stopped, and bring it back in seconds (libvirt, Tart).",
            discussion: "Snapshots live in <state>/snapshots/<name>/ (docs/snapshots.md); `destroy` keeps them unless --snapshots.",
            subcommands: [Save.self, Restore.self, List.self, Delete.self])
    }
}

/// The snapshot's name, host-name-like (exit 64 otherwise).
struct SnapshotName: ParsableArguments {
    @Argument(help: "The snapshot's name: lower-case letters, digits and inner '-'.")
    var name: String

    func validate() throws {
        if let problem = ClusterSnapshot.nameProblem(name) { throw ValidationError("\(problem.message)\n  hint: \(problem.hint ?? "")") }
    }
}

extension K0sLuaCommand.Snapshot {
    /// Runs a snapshot command under the cluster lock with an applied cluster; refusals exit 64
    /// (a bad name) or 1.
    static func run<T: Sendable>(_ options: ClusterOptions, _ state: StateOptions, command: String, bootstrapOptions: BootstrapOptions = BootstrapOptions(),
                                 requireApplied: Bool = true,
                                 _ body: @escaping @Sendable (Bootstrap) async throws -> T) async throws -> T {
        let loaded = try options.load()
        let layout = try state.layout(for: loaded, file: options.file)
        if requireApplied { try state.requireApplied(loaded, layout: layout, command: command) } else { _ = try state.applied(loaded, layout: layout, quiet: true) }
        var result: T?
        try await ClusterLock.holding(layout, command: command) {
            let bootstrap = Bootstrap(loaded: loaded, layout: layout, runner: SubprocessRunner(), options: bootstrapOptions,
                                      progress: StderrProgress(quiet: options.quiet))
            do {
                result = try await runInterruptibly { try await body(bootstrap) }
            } catch let failure as ClusterSnapshot.Failure {
                Console.error(failure.message, hint: failure.hint)
                throw ExitCode(failure.usage ? 64 : 1)
            }
        }
        return result!
    }

    struct Save: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "save",
            abstract: "Halt the machines (workers first), save them and the cluster's files as NAME, and start them again if they ran.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions
        @OptionGroup var snapshot: SnapshotName

        @OptionGroup var health: HealthWaitOptions
        @OptionGroup var fanOut: FanOutOptions

        func run() async throws {
            let name = snapshot.name
            let options = try health.bootstrapOptions(fanOut)
            let note = try await K0sLuaCommand.Snapshot.run(self.options, state, command: "snapshot save", bootstrapOptions: options) { try await $0.saveSnapshot(name) }
            print(note)
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "restore",
            abstract: "Bring the cluster back as NAME saved it: machines added since destroyed, removed ones re-created, then boot, connectivity and health.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions
        @OptionGroup var snapshot: SnapshotName

        @OptionGroup var health: HealthWaitOptions
        @OptionGroup var fanOut: FanOutOptions

        func run() async throws {
            let name = snapshot.name
            let options = try health.bootstrapOptions(fanOut)
            // A destroyed cluster's snapshots remain: restore needs no applied cluster.
            let result = try await K0sLuaCommand.Snapshot.run(self.options, state, command: "snapshot restore", bootstrapOptions: options,
                                                              requireApplied: false) { try await $0.restoreSnapshot(name) }
            for note in result.notes.dropLast() { Console.writeError("\(note)\n") }
            print((result.notes.last ?? "restored") + "; the cluster is running" + (result.health.map { $0.passed ? " and healthy" : "" } ?? ""))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete snapshot NAME and its machine images.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions
        @OptionGroup var snapshot: SnapshotName

        func run() async throws {
            let name = snapshot.name
            print(try await K0sLuaCommand.Snapshot.run(options, state, command: "snapshot delete", requireApplied: false) { try await $0.deleteSnapshot(name) })
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "This cluster's snapshots: time, k0s version, nodes, size on disk, whether cluster.lua changed since.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Flag(help: "One JSON object: the snapshots and their total size.")
        var json = false

        func run() async throws {
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            let entries = ClusterSnapshot.list(layout)
            let current = ClusterSnapshot.fingerprint(loaded.file)
            let total = entries.reduce(Int64(0)) { $0 + $1.bytes }
            let time = ISO8601DateFormatter()
            if json {
                let rows: [[String: Any]] = entries.map { entry in
                    ["name": entry.meta.name, "created_at": time.string(from: entry.meta.createdAt), "k0s_version": entry.meta.k0sVersion ?? NSNull(),
                     "nodes": entry.meta.nodes, "provider": entry.meta.provider.rawValue, "cluster_id": entry.meta.clusterID, "bytes": entry.bytes,
                     "cluster_lua_changed": entry.meta.clusterLuaHash != current]
                }
                let data = try JSONSerialization.data(withJSONObject: ["snapshots": rows, "total_bytes": total, "directory": ClusterSnapshot.root(layout)],
                                                      options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                return print(String(decoding: data, as: UTF8.self))
            }
            guard !entries.isEmpty else { return print("no snapshots of cluster \(loaded.cluster.name); `k0slua snapshot save NAME` takes one") }
            let format = DateFormatter()
            format.dateFormat = "yyyy-MM-dd HH:mm"
            print("NAME".padding(toLength: 16, withPad: " ", startingAt: 0) + "TAKEN             K0S                   SIZE       NODES")
            for entry in entries {
                let changed = entry.meta.clusterLuaHash != current ? "  (cluster.lua changed since)" : ""
                print(entry.meta.name.padding(toLength: 16, withPad: " ", startingAt: 0) + format.string(from: entry.meta.createdAt) + "  "
                      + (entry.meta.k0sVersion ?? "-").padding(toLength: 22, withPad: " ", startingAt: 0)
                      + ByteCount.text(entry.bytes).padding(toLength: 11, withPad: " ", startingAt: 0)
                      + entry.meta.nodes.joined(separator: ",") + changed)
            }
            print("\(entries.count) snapshot(s), \(ByteCount.text(total)) in \(ClusterSnapshot.root(layout))")
        }
    }
}
