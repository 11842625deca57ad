import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Each machine's state and, with a kubeconfig, each node's Ready condition.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let loaded = try options.load()
            _ = await ToolProvisioner.activateCached(runner: SubprocessRunner())  // k0sctl/kubectl from the cache when PATH lacks them
            let layout = try state.layout(for: loaded, file: options.file)
            let applied = try state.applied(loaded, layout: layout)
            var report = await ClusterStatus(cluster: applied.cluster, layout: layout, runner: SubprocessRunner()).read()
            report.stoppedAt = applied.record?.stoppedAt
            print(json ? report.json : report.text)
        }
    }
}
