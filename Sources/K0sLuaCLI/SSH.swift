import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct SSH: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ssh", abstract: "Open a shell on a node, or run a command there: k0slua ssh worker-1 -- uptime")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Argument(help: "The node's name.")
        var node: String

        @Argument(parsing: .postTerminator, help: "A command to run instead of a shell.")
        var command: [String] = []

        func run() async throws {
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            let cluster = try state.applied(loaded, layout: layout).cluster
            guard let target = cluster.node(named: node) else {
                throw ValidationError("no node named \"\(node)\"; nodes: \(cluster.nodes.map(\.name).joined(separator: ", "))")
            }
            guard target.ip != nil || target.ssh.address != nil else {
                Console.writeError("error: the address of \(target.name) is assigned at boot and not known yet: run `k0slua up`\n")
                throw ExitCode(1)
            }
            let ssh = NodeSSH(layout: layout).command(target, run: command.isEmpty ? nil : command.joined(separator: " "),
                                                      interactive: command.isEmpty)
            // Replace this process: the terminal, signals and the exit code belong to ssh.
            let argv = [ssh.executable] + ssh.arguments
            var cArguments = argv.map { strdup($0) } + [nil]
            execvp(ssh.executable, &cArguments)
            Console.error("cannot run ssh: \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
    }
}
