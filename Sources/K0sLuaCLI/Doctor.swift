import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Doctor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "doctor", abstract: "Check the tools, host capacity and (on macOS) Tart networking the cluster needs (up's preflight alone).")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        func run() async throws {
            let loaded = try options.load()
            _ = await ToolProvisioner.activateCached(runner: SubprocessRunner())
            let checks = await Preflight(cluster: loaded.cluster, layout: try state.layout(for: loaded, file: options.file), runner: SubprocessRunner()).run()
            print(DoctorReport.text(checks, hostOS: HostFacts.current.os), terminator: "")
            if DoctorReport.failed(checks) { throw ExitCode(1) }
        }
    }
}
