import ArgumentParser
import K0sLuaKit

extension K0sLuaCommand {
    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Not built yet.")

        @OptionGroup var options: ClusterOptions

        func run() async throws {
            throw ValidationError("Render is not implemented yet")
        }
    }
}
