import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the nodes cluster.lua describes, without changing anything.")

        @OptionGroup var options: ClusterOptions

        @Flag(help: "Print the typed model as JSON (keys documented in docs/plan-json.md).")
        var json = false

        func run() async throws {
            let loaded = try options.load(printWarnings: false)
            let output = json
                ? PlanRenderer.json(loaded.cluster, warnings: loaded.warnings)
                : PlanRenderer.text(loaded.cluster, warnings: loaded.warnings, hostFacts: .current)
            FileHandle.standardOutput.write(Data(output.utf8))
        }
    }
}
