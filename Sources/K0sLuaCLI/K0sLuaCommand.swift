import ArgumentParser
import K0sLuaKit

/// `k0slua`: a realistic multi-node k0s cluster from cluster.lua.
public struct K0sLuaCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "k0slua",
        abstract: "A multi-node k0s Kubernetes cluster on your machine, described in Lua.",
        discussion: "Reads ./cluster.lua (or --file). Exit codes: 0 ok, 1 a failed external step, 64 usage, 65 a problem in cluster.lua, 130 interrupted.",
        version: "0.1.0",
        subcommands: [Plan.self, Render.self, Up.self, Stop.self, Start.self, Destroy.self, Status.self, Kubeconfig.self, SSH.self, Doctor.self, Health.self]
    )

    public init() {}
}

extension K0sLuaCommand {
    /// Parses the process arguments, runs the chosen command and exits with its code.
    public static func runAsRoot(_ arguments: [String]? = nil) async -> Never {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            exit()
        } catch {
            exit(withError: error)
        }
    }
}
