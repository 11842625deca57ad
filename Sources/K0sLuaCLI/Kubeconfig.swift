import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Kubeconfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "kubeconfig", abstract: "Fetch or refresh the cluster's kubeconfig (k0sctl kubeconfig).")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Flag(help: "Also merge it into your kubeconfig under the context k0slua-<name>.")
        var merge = false

        func run() async throws {
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            _ = try state.applied(loaded, layout: layout)
            let lock = try ClusterLock.take(layout)
            defer { lock.release() }
            _ = await ToolProvisioner.activateCached(runner: SubprocessRunner())  // k0sctl/kubectl from the cache when PATH lacks them
            let bootstrap = Bootstrap(loaded: loaded, layout: layout, runner: SubprocessRunner(),
                                      options: BootstrapOptions(mergeKubeconfig: merge), progress: StderrProgress(quiet: true))
            do {
                _ = try await runInterruptibly { try await bootstrap.fetchKubeconfig() }
            } catch let failure as BootstrapFailure {
                Console.print(failure: failure)
                throw ExitCode(1)
            }
            print("export KUBECONFIG=\(layout.kubeconfig)")
        }
    }
}
