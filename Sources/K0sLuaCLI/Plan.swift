import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "plan", abstract: "Show the nodes cluster.lua describes, without changing anything.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Flag(help: "Print the typed model as JSON (keys documented in docs/plan-json.md).")
        var json = false

        func run() async throws {
            let loaded = try options.load(printWarnings: false)
            let layout = try state.layout(for: loaded, file: options.file)
            let record = try state.applied(loaded, layout: layout, quiet: true).record
            let cluster = loaded.cluster.pinningImage(to: record)
            let diff = ClusterDiff(declared: cluster, record: record)
            var output = json
                ? PlanRenderer.json(cluster, warnings: loaded.warnings, diff: diff)
                : PlanRenderer.text(cluster, warnings: loaded.warnings, hostFacts: .current)
            if !json, record != nil {
                // The difference from the applied cluster first, like a plan in infrastructure tools.
                var head = "changes to the applied cluster (\(layout.record)):\n" + diff.text
                if diff.isEmpty { head += "no changes: `k0slua up` has nothing to do but check\n" }
                for refusal in diff.refusals { head += "refused: \(refusal)\n" }
                if !diff.refusals.isEmpty { head += "  to rebuild: \(ClusterDiff.rebuild)\n" }
                for refusal in diff.guarded { head += "needs \(ClusterDiff.forceControllerRemovalFlag): \(refusal)\n" }
                output = head + "\n" + output
            }
            FileHandle.standardOutput.write(Data(output.utf8))
        }
    }
}
