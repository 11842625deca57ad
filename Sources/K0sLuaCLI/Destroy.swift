import ArgumentParser
import K0sLuaKit

extension K0sLuaCommand {
    struct Destroy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not built yet.")

        @OptionGroup var options: ClusterOptions

        func run() async throws {
            throw ValidationError("Destroy is not implemented yet")
        }
    }
}
