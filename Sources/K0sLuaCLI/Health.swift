import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "health",
            abstract: "Check that the cluster matches cluster.lua and works.",
            discussion: "Checks: \(HealthChecker.checkNames.joined(separator: ", ")). Exit 0 when all pass, 1 otherwise.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Flag(help: "Print JSON (keys in docs/health.md).")
        var json = false

        @Flag(help: "Also schedule a small Deployment on every schedulable node and test pod networking and DNS.")
        var smoke = false

        @Option(help: ArgumentHelp("Retry until the checks pass or this much time is up, e.g. 30s, 5m.", valueName: "duration"))
        var wait: String?

        @Option(help: ArgumentHelp("Checks to skip, comma-separated (reported as skipped).", valueName: "check,…"))
        var skip: String?

        @OptionGroup var fanOut: FanOutOptions

        var skipped: Set<String> {
            Set(CommaList.words(skip))
        }

        func validate() throws {
            try HealthWaitOptions.requireKnownChecks(skipped, option: "--skip")
            _ = try wait.map { try DurationOption.seconds($0, option: "--wait") }
        }

        func run() async throws {
            let skipped = self.skipped
            let seconds = try wait.map { try DurationOption.seconds($0, option: "--wait") }
            let loaded = try options.load()
            _ = await ToolProvisioner.activateCached(runner: SubprocessRunner())  // k0sctl/kubectl from the cache when PATH lacks them
            let layout = try state.layout(for: loaded, file: options.file)
            var checker = HealthChecker(cluster: try state.applied(loaded, layout: layout).cluster, layout: layout, runner: SubprocessRunner())
            checker.concurrency = fanOut.parallel
            let configured = checker
            let report = try await runInterruptibly {
                await configured.run(HealthOptions(skip: skipped, smoke: smoke, waitSeconds: seconds))
            }
            print(json ? report.json : report.text, terminator: "")
            if !report.passed {
                Console.writeError("hint: collect logs for a bug report: k0slua support\n")
                throw ExitCode(1)
            }
        }
    }
}
