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

        @Option(help: ArgumentHelp("How many machines halt at once (one `vagrant halt` each; workers first, then controllers).", valueName: "n"))
        var parallel: Int = FanOut.defaultLimit

        func run() async throws {
            guard parallel >= 1 else { throw ValidationError("--parallel takes a number of at least 1, got \(parallel)") }
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            try state.requireApplied(loaded, layout: layout, command: "stop")
            var bootstrapOptions = BootstrapOptions()
            bootstrapOptions.concurrency = parallel
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
            abstract: "Boot a stopped cluster's machines (controllers first), check addresses and connectivity, and wait for health.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Option(help: ArgumentHelp("How long health checks retry before start fails, e.g. 300s, 5m, 0 for once.", valueName: "duration"))
        var healthWait: String = "5m"

        @Flag(help: "Do not run the health checks.")
        var skipHealth = false

        @Option(help: ArgumentHelp("Health checks to skip, comma-separated (reported as skipped).", valueName: "check,…"))
        var skipChecks: String?

        @Option(help: ArgumentHelp("How many SSH sessions to nodes run at once (connectivity, /etc/hosts, health).", valueName: "n"))
        var parallel: Int = FanOut.defaultLimit

        func run() async throws {
            guard parallel >= 1 else { throw ValidationError("--parallel takes a number of at least 1, got \(parallel)") }
            let seconds = try Health.seconds(healthWait)
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            try state.requireApplied(loaded, layout: layout, command: "start")
            var bootstrapOptions = BootstrapOptions(skip: skipHealth ? [.health] : [],
                                                    skipHealthChecks: Set((skipChecks ?? "").split(separator: ",").map(String.init)),
                                                    healthWaitSeconds: seconds)
            bootstrapOptions.concurrency = parallel
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
