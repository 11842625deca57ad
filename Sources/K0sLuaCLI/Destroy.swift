import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Destroy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "destroy", abstract: "Destroy this cluster's machines and remove its generated state.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Flag(help: "Also delete the cluster's snapshots (kept otherwise).")
        var snapshots = false

        func run() async throws {
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            let applied = try state.applied(loaded, layout: layout)
            // Nothing to lock (or destroy) when there is no state yet: perhaps another name was meant.
            guard FileManager.default.fileExists(atPath: layout.directory) else {
                Console.writeError("nothing to destroy: \(layout.directory) does not exist\n")
                let others = layout.neighbours()
                if !others.isEmpty {
                    Console.writeError("note: clusters beside it: " + others.map { "\"\($0.name)\"" }.joined(separator: ", ") + "\n"
                        + "  hint: \(StateOptions.selectionHint(others, command: "destroy"))\n")
                }
                return
            }
            // Teardown releases it once everything else is gone.
            let lock = try ClusterLock.take(layout)
            defer { lock.release() }
            do {
                try await runInterruptibly {
                    var teardown = Teardown(cluster: applied.everyMachine, layout: layout, runner: SubprocessRunner())
                    teardown.deleteSnapshots = snapshots
                    try await teardown.run(lock: lock) { Console.writeError("\($0)\n") }
                }
            } catch let failure as TeardownFailure {
                Console.error("\(failure)")
                throw ExitCode(1)
            }
        }
    }
}
