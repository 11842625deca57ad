import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Destroy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Destroy this cluster's machines and remove its generated state.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        func run() async throws {
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            let applied = try state.applied(loaded, layout: layout)
            // Nothing to lock (or destroy) when there is no state yet.
            let lock = FileManager.default.fileExists(atPath: layout.directory) ? try ClusterLock.take(layout) : nil
            defer { lock?.release() }
            do {
                try await runInterruptibly {
                    try await Teardown(cluster: applied.everyMachine, layout: layout, runner: SubprocessRunner()).run { Console.writeError("\($0)\n") }
                }
            } catch let failure as TeardownFailure {
                Console.error("\(failure)")
                throw ExitCode(1)
            }
        }
    }
}
