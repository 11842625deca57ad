import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop",
            abstract: "Halt the cluster's machines (workers first) without destroying anything; `k0slua start` brings it back.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @OptionGroup var fanOut: FanOutOptions

        func run() async throws {
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            try state.requireApplied(loaded, layout: layout, command: "stop")
            var bootstrapOptions = BootstrapOptions()
            bootstrapOptions.concurrency = fanOut.parallel
            try await ClusterLock.holding(layout, command: "stop") {
                let bootstrap = Bootstrap(loaded: loaded, layout: layout, runner: SubprocessRunner(), options: bootstrapOptions,
                                          progress: StderrProgress(quiet: options.quiet))
                let note = try await runInterruptibly { try await bootstrap.stop() }
                print(note)
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Boot a stopped cluster's machines (controllers first), check addresses and connectivity, and wait for health.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @OptionGroup var health: HealthWaitOptions
        @OptionGroup var fanOut: FanOutOptions

        func run() async throws {
            let bootstrapOptions = try health.bootstrapOptions(fanOut)
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            try state.requireApplied(loaded, layout: layout, command: "start")
            try await ClusterLock.holding(layout, command: "start") {
                let bootstrap = Bootstrap(loaded: loaded, layout: layout, runner: SubprocessRunner(),
                                          options: bootstrapOptions,
                                          progress: StderrProgress(quiet: options.quiet))
                let result = try await runInterruptibly { try await bootstrap.start() }
                for note in result.notes { Console.writeError("\(note)\n") }
                print("cluster \(loaded.cluster.name) is running" + (result.health.map { $0.passed ? " and healthy" : "" } ?? ""))
            }
        }
    }
}
