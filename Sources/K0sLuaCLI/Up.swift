import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "up",
            abstract: "Create or update the cluster: machines, provisioning, k0s, kubeconfig, hooks, health.",
            discussion: "Phases: \(BootstrapPhase.allCases.map(\.rawValue).joined(separator: ", ")). A failing phase stops everything (exit 1) and keeps the logs under <state>/logs/. Running up again on a healthy cluster is safe.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Option(help: ArgumentHelp("Phases to skip, comma-separated (reported as skipped, never as passed).", valueName: "phase,…"))
        var skip: String?

        @Option(help: ArgumentHelp("Health checks to skip in the last phase, comma-separated.", valueName: "check,…"))
        var skipChecks: String?

        @Option(help: ArgumentHelp("How long the health phase retries before it fails, e.g. 300s, 5m, 0 for once.", valueName: "duration"))
        var healthWait: String = "5m"

        @Flag(help: "Merge the kubeconfig into yours under the context k0slua-<name>.")
        var mergeKubeconfig = false

        @Flag(help: "Use only the host cache (k0s, its image bundle, k0sctl, kubectl); fail before any machine starts when something is missing.")
        var offline = false

        @Option(help: ArgumentHelp("How long draining a node may take (one that leaves, or one being resized), e.g. 300s, 5m.", valueName: "duration"))
        var drainTimeout: String = "5m"

        @Flag(help: "Drain nodes (leaving or being resized) even when a pod blocks it (no controller, a PodDisruptionBudget): such pods are deleted.")
        var forceDrain = false

        @Flag(help: "Remove controllers even when the leader leaves or fewer than etcd's quorum of today's controllers stay, and skip the quorum check before each leaves etcd.")
        var forceControllerRemoval = false

        @Flag(help: .hidden)
        var noParallel = false

        @OptionGroup var fanOut: FanOutOptions

        var skippedChecks: Set<String> {
            Set(CommaList.words(skipChecks))
        }

        func validate() throws {
            _ = try DurationOption.seconds(healthWait, option: "--health-wait")
            _ = try DurationOption.seconds(drainTimeout, option: "--drain-timeout")
            try HealthWaitOptions.requireKnownChecks(skippedChecks, option: "--skip-checks")
        }

        func run() async throws {
            let skipped = try BootstrapOptionsParser.phases(skip)
            let healthWaitSeconds = try DurationOption.seconds(healthWait, option: "--health-wait")
            let drainSeconds = try DurationOption.seconds(drainTimeout, option: "--drain-timeout")
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            // A record this k0slua cannot read stops up before anything changes.
            let applied = try state.applied(loaded, layout: layout, quiet: true)
            var bootstrapOptions = BootstrapOptions(skip: skipped, mergeKubeconfig: mergeKubeconfig, parallel: !noParallel,
                                                    skipHealthChecks: skippedChecks,
                                                    healthWaitSeconds: healthWaitSeconds, offline: offline)
            bootstrapOptions.drainTimeoutSeconds = max(1, Int(drainSeconds))
            bootstrapOptions.forceDrain = forceDrain
            bootstrapOptions.concurrency = fanOut.parallel
            bootstrapOptions.forceControllerRemoval = forceControllerRemoval
            try await ClusterLock.holding(layout, command: "up") {
                let bootstrap = Bootstrap(loaded: loaded, layout: layout, runner: SubprocessRunner(), options: bootstrapOptions,
                                          progress: StderrProgress(quiet: options.quiet))
                if applied.record != nil, !bootstrap.diff.isEmpty, bootstrap.diff.refusals.isEmpty,
                   bootstrap.diff.guarded.isEmpty || forceControllerRemoval {
                    Console.writeError("converging the cluster to cluster.lua:\n"
                        + bootstrap.diff.text.split(separator: "\n").filter { !$0.hasPrefix("=") }.map { "  \($0)\n" }.joined())
                }
                let summary = try await runInterruptibly { try await bootstrap.run() }
                print(Summary.text(summary.cluster, summary: summary, layout: layout, merged: mergeKubeconfig))
            }
        }
    }
}

enum BootstrapOptionsParser {
    static func phases(_ text: String?) throws -> Set<BootstrapPhase> {
        var phases = Set<BootstrapPhase>()
        for word in CommaList.words(text) {
            guard let phase = BootstrapPhase(rawValue: word) else {
                throw ValidationError("unknown phase \"\(word)\" for --skip; phases: \(BootstrapPhase.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            phases.insert(phase)
        }
        return phases
    }
}

/// What `up` prints when it is done.
enum Summary {
    static func text(_ cluster: Cluster, summary: BootstrapSummary, layout: StateLayout, merged: Bool) -> String {
        var out = "cluster \(cluster.name) is up\n\n"
        for node in cluster.nodes {
            out += "  \(node.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(node.addressDescription.padding(toLength: 16, withPad: " ", startingAt: 0)) \(node.k0sRole.rawValue)\n"
        }
        out += "\n"
        for timing in summary.timings {
            out += "  \(timing.phase.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) " + (timing.skipped ? "skipped" : String(format: "%6.1fs", timing.seconds)) + "\n"
        }
        out += "  total          \(String(format: "%6.1fs", summary.totalSeconds))\n"
        if let kubeconfig = summary.kubeconfig {
            out += "\nkubeconfig: \(kubeconfig)\n"
            out += merged ? "context k0slua-\(cluster.name) merged into your kubeconfig\n" : "export KUBECONFIG=\(kubeconfig)\n"
        }
        return out
    }
}

extension Console {
    static func print(failure: BootstrapFailure, command: String = "up") {
        error("\(command) failed in phase \(failure.phase.rawValue)" + (failure.tool.map { " (\($0))" } ?? "") + ": \(failure.message)",
              details: failure.outputTail, hint: failure.hint,
              footer: (failure.logFile.map { ["full log: \($0)"] } ?? [])
                  + ["nothing was destroyed; to rebuild from scratch: task vagrant:destroy && task vagrant:up",
                     "collect logs for a bug report: k0slua support"])
    }
}
