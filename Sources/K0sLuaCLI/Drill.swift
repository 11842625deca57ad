import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Drill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drill",
            abstract: "Run a fault drill written in Lua against the applied cluster (docs/drills.md).",
            discussion: "Faults are undone when the drill ends, also on failure, Ctrl-C and --timeout. Exit 0 passed or skipped, 1 failed, 65 a problem in the drill file, 130 interrupted.")

        @Argument(help: ArgumentHelp("The drill file, e.g. drills/worker-stop.lua.", valueName: "file"))
        var drill: String?

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Flag(help: "Undo the faults a killed k0slua left behind (listed in <state>/drill-undo.json) and run no drill.")
        var undo = false

        @Flag(help: "Print the timeline as JSON (keys in docs/drills.md).")
        var json = false

        @Option(help: ArgumentHelp("Wall-clock limit for the whole drill, e.g. 90s, 10m; faults are undone when it runs out.", valueName: "duration"))
        var timeout: String = "10m"

        @OptionGroup var fanOut: FanOutOptions

        func validate() throws {
            if undo, drill != nil { throw ValidationError("--undo runs no drill; leave out the drill file") }
            if !undo, drill == nil { throw ValidationError("name the drill file, e.g. `k0slua drill drills/worker-stop.lua`") }
            _ = try DurationOption.seconds(timeout, option: "--timeout")
        }

        func run() async throws {
            let seconds = try DurationOption.seconds(timeout, option: "--timeout")
            let loaded = try options.load()
            _ = await ToolProvisioner.activateCached(runner: SubprocessRunner())  // kubectl from the cache when PATH lacks it
            let layout = try state.layout(for: loaded, file: options.file)
            try state.requireApplied(loaded, layout: layout, command: "drill")
            let cluster = try state.applied(loaded, layout: layout, quiet: json).cluster
            var drillOptions = DrillOptions(timeoutSeconds: seconds, budget: options.budget,
                                            libraryDirectory: Self.library(options.lib, clusterFile: options.file),
                                            environment: ProcessInfo.processInfo.environment)
            drillOptions.concurrency = fanOut.parallel
            let runner = DrillRunner(cluster: cluster, layout: layout, runner: SubprocessRunner(),
                                     undoRunner: SubprocessRunner(supervisor: InterruptSupervisor()), options: drillOptions)
            let json = self.json
            if !json { runner.onStep = { print($0.text) } }
            try await ClusterLock.holding(layout, command: "drill") {
                let report: DrillReport
                if undo {
                    report = try await runInterruptibly { try await runner.replayJournal() }
                } else {
                    if let left = try? DrillJournal.load(layout), !left.entries.isEmpty {
                        Console.error("the drill \(left.drill) left faults in place (\(DrillJournal.path(layout)))",
                                      details: left.entries.map(\.summary), hint: "undo them first: `k0slua drill --undo`")
                        throw ExitCode(1)
                    }
                    let file = drill ?? ""
                    report = try await runInterruptibly { await runner.run(file: file, displayName: file) }
                }
                if json { print(report.json, terminator: "") } else { print(report.summary) }
                if !report.diagnostics.isEmpty { Console.print(diagnostics: report.diagnostics) }
                if let code = InterruptSupervisor.shared.exitCode { throw ExitCode(code) }
                if report.exitCode != 0 { throw ExitCode(report.exitCode) }
            }
        }

        /// `--lib`, else the lib/ next to cluster.lua when there is one (as cluster.lua's own).
        static func library(_ given: String?, clusterFile: String) -> String? {
            if let given { return given }
            let directory = (clusterFile as NSString).deletingLastPathComponent
            let lib = directory.isEmpty ? "lib" : directory + "/lib"
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: lib, isDirectory: &isDirectory) && isDirectory.boolValue ? lib : nil
        }
    }
}
