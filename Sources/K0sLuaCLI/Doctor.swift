import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Doctor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the tools and host capacity the cluster needs (up's preflight alone).")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        func run() async throws {
            let loaded = try options.load()
            _ = await ToolProvisioner.activateCached(runner: SubprocessRunner())
            let checks = await Preflight(cluster: loaded.cluster, layout: state.layout(for: loaded, file: options.file), runner: SubprocessRunner()).run()
            for check in checks {
                let mark = check.ok ? "ok  " : (check.warningOnly ? "warn" : "MISSING")
                print("\(mark.padding(toLength: 8, withPad: " ", startingAt: 0)) \(check.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(check.detail)")
                if !check.ok || check.warningOnly, let fix = check.fix { print("         \(String(repeating: " ", count: 16)) → \(fix)") }
            }
            if checks.contains(where: { !$0.ok && !$0.warningOnly }) { throw ExitCode(1) }
        }
    }
}
