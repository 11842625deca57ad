import ArgumentParser
import K0sLuaKit

extension K0sLuaCommand {
    struct Kubeconfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not built yet.")

        @OptionGroup var options: ClusterOptions

        func run() async throws {
            throw ValidationError("Kubeconfig is not implemented yet")
        }
    }
}
