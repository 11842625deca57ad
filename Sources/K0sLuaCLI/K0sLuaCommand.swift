import ArgumentParser
import Foundation
import K0sLuaKit

/// `k0slua`: a realistic multi-node k0s cluster from cluster.lua.
public struct K0sLuaCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "k0slua",
        abstract: "A multi-node k0s Kubernetes cluster on your machine, described in Lua.",
        discussion: "Reads ./cluster.lua (or --file). Exit codes: 0 ok, 1 a failed external step, 64 usage, 65 a problem in cluster.lua, 70 a bug in k0slua, 130 interrupted (143 terminated, 129 hung up).",
        version: "0.1.0",
        subcommands: [Plan.self, Render.self, Up.self, Stop.self, Start.self, Destroy.self, Status.self, Kubeconfig.self, SSH.self, Doctor.self,
                      Health.self, Drill.self, Support.self, Image.self, Cache.self, Snapshot.self, InternalErrorProbe.self]
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
            exit(withCode: report(error))
        }
    }

    /// Prints an error that reached the root (through Console, like every other) and returns the
    /// exit code: 0 for help and --version, 64 for usage, the code of an ExitCode (its command
    /// printed already), 1 for a failure of the machine (a file that cannot be written), and 70
    /// for anything else: an error nothing expected is a bug in k0slua.
    static func report(_ error: any Error) -> Int32 {
        if let code = error as? ExitCode { return code.rawValue }
        if let list = error as? DiagnosticList {
            Console.print(diagnostics: list.diagnostics)
            return Console.exitCode(for: list.diagnostics)
        }
        let code = exitCode(for: error)
        if code == .success {
            print(fullMessage(for: error))
            return 0
        }
        if code == .validationFailure {
            let message = fullMessage(for: error)
            let text = message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message
            Console.error(text.prefix(1).lowercased() + text.dropFirst())
            return code.rawValue
        }
        if error is CocoaError || error is POSIXError || [NSCocoaErrorDomain, NSPOSIXErrorDomain].contains((error as NSError).domain) {
            Console.error((error as NSError).localizedDescription)
            return 1
        }
        Console.bug("\(type(of: error)): \(error)")
        return 70
    }

    private static func exit(withCode code: Int32) -> Never {
        Foundation.exit(code)
    }
}
