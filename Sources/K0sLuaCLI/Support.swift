import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Support: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "support",
            abstract: "Collect logs, state and each node's k0s diagnostics into a tar.gz for a bug report (secrets redacted).",
            discussion: "Writes k0slua-support-<name>-<time>.tar.gz (mode 0600); REDACTED.txt inside lists what was removed. "
                + "Works whatever state the cluster is in: what cannot be reached is noted and skipped (docs/support.md). "
                + "Exit 0 when the bundle is written, 1 when it cannot be.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Option(help: ArgumentHelp("Directory for the bundle (default: the working directory).", valueName: "dir"))
        var out: String = "."

        @Option(help: ArgumentHelp("How much of each node's k0s journal, e.g. 30m, 2h, 1d.", valueName: "duration"))
        var since: String = "2h"

        @Option(help: ArgumentHelp("Skip a node that has not answered within this long, e.g. 30s, 2m.", valueName: "duration"))
        var nodeTimeout: String = "60s"

        @OptionGroup var fanOut: FanOutOptions

        func validate() throws {
            _ = try DurationOption.seconds(since, option: "--since")
            guard try DurationOption.seconds(nodeTimeout, option: "--node-timeout") > 0 else { throw ValidationError("--node-timeout must be positive") }
        }

        func run() async throws {
            Console.bootstrapLogging(quiet: options.quiet, verbose: options.verbose)
            var request = try request()
            request.sinceSeconds = Int(try DurationOption.seconds(since, option: "--since"))
            request.nodeTimeoutSeconds = try DurationOption.seconds(nodeTimeout, option: "--node-timeout")
            request.parallelism = fanOut.parallel
            _ = await ToolProvisioner.activateCached(runner: SubprocessRunner())  // kubectl from the cache when PATH lacks it
            let quiet = options.quiet
            let bundle = SupportBundle(request: request, runner: SubprocessRunner()) { line in
                if !quiet { Console.writeError("    \(line)\n") }
            }
            if !quiet { Console.writeError("==> collecting a support bundle for \(request.cluster?.name ?? "the cluster")\n") }
            let result: SupportResult
            do {
                result = try await runInterruptibly { try await bundle.write() }
            } catch let failure as SupportBundleError {
                Console.error(failure.description, hint: "pass --out DIR with a directory you can write to")
                throw ExitCode(1)
            }
            if !quiet { for line in result.missing { Console.writeError("note: not collected: \(line)\n") } }
            print("wrote \(result.path) (\(ByteCount.text(result.bytes)))")
            if !quiet {
                Console.writeError("\(result.redactions) secret value\(result.redactions == 1 ? "" : "s") redacted (REDACTED.txt in the bundle); look inside before you share it\n")
            }
        }

        /// cluster.lua when it loads; else its errors, and the state directory only from --state-dir.
        func request() throws -> SupportRequest {
            let loaded: LoadedCluster
            do throws(DiagnosticList) {
                loaded = try ClusterLoader(budget: options.budget).load(file: options.file, libraryDirectory: options.lib)
            } catch {
                if !options.quiet { Console.writeError("note: \(options.file) does not load; the bundle holds its errors\n") }
                let problems = error.diagnostics.map { $0.description + ($0.hint.map { "\n  hint: \($0)" } ?? "") }.joined(separator: "\n") + "\n"
                return SupportRequest(version: K0sLuaCommand.configuration.version, clusterFile: options.file, cluster: nil, loadProblems: problems,
                                      layout: state.stateDir.map { StateLayout(directory: StateLayout.absolutePath($0)) }, outputDirectory: out)
            }
            return SupportRequest(version: K0sLuaCommand.configuration.version, clusterFile: options.file, cluster: loaded.cluster,
                                  warnings: loaded.warnings, layout: try state.layout(for: loaded, file: options.file), outputDirectory: out)
        }
    }
}
