import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
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

        @Option(help: ArgumentHelp("How many SSH sessions to nodes run at once (connectivity, /etc/hosts, health).", valueName: "n"))
        var parallel: Int = FanOut.defaultLimit

        func run() async throws {
            guard parallel >= 1 else { throw ValidationError("--parallel takes a number of at least 1, got \(parallel)") }
            let skipped = Set((skip ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            for name in skipped where !HealthChecker.checkNames.contains(name) {
                throw ValidationError("unknown check \"\(name)\" for --skip; checks: \(HealthChecker.checkNames.joined(separator: ", "))")
            }
            let seconds = try wait.map(Self.seconds)
            let loaded = try options.load()
            _ = await ToolProvisioner.activateCached(runner: SubprocessRunner())  // k0sctl/kubectl from the cache when PATH lacks them
            let layout = try state.layout(for: loaded, file: options.file)
            var checker = HealthChecker(cluster: try state.applied(loaded, layout: layout).cluster, layout: layout, runner: SubprocessRunner())
            checker.concurrency = parallel
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

        static func seconds(_ text: String) throws -> Double {
            let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
            for (suffix, factor) in units where text.hasSuffix(suffix) {
                if let value = Double(text.dropLast(suffix.count)), value >= 0 { return value * factor }
            }
            if let value = Double(text), value >= 0 { return value }
            throw ValidationError("--wait takes a duration such as 90s or 5m, got \"\(text)\"")
        }
    }
}
