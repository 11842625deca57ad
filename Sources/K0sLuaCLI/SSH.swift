import ArgumentParser
import K0sLuaKit

extension K0sLuaCommand {
    struct SSH: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not built yet.")

        @OptionGroup var options: ClusterOptions

        func run() async throws {
            throw ValidationError("SSH is not implemented yet")
        }
    }
}
