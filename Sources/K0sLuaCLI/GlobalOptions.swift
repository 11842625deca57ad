import ArgumentParser
import Foundation
import K0sLuaKit
import Logging

/// Flags every command that reads cluster.lua takes.
struct ClusterOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "The cluster description.")
    var file: String = "cluster.lua"

    @Option(help: ArgumentHelp("Where `require` finds Lua modules (default: lib/ next to the cluster file).", valueName: "dir"))
    var lib: String?

    @Option(help: ArgumentHelp("Lua instruction budget (default 200000000).", valueName: "count"))
    var maxInstructions: Int64 = LuaBudget.default.instructions

    @Option(help: ArgumentHelp("Lua memory budget in MiB (default 256).", valueName: "MiB"))
    var maxMemory: Int = LuaBudget.default.memoryBytes >> 20

    @Option(help: ArgumentHelp("Wall-clock limit for running cluster.lua, in seconds (default 5).", valueName: "seconds"))
    var maxSeconds: Double = LuaBudget.defaultSeconds

    @Option(help: ArgumentHelp("Wall-clock limit for the Lua of each hook call, in seconds; time waiting for ctx.run and ctx.kubectl does not count (default 30).",
                               valueName: "seconds"))
    var maxHookSeconds: Double = LuaBudget.defaultHookSeconds

    @Flag(name: [.short, .long], help: "Hide progress and informational output (errors are always shown).")
    var quiet = false

    @Flag(name: [.short, .long], help: "Show debug output, including cluster.lua's print().")
    var verbose = false

    var budget: LuaBudget {
        LuaBudget(instructions: maxInstructions, memoryBytes: maxMemory << 20, seconds: maxSeconds, hookSeconds: maxHookSeconds)
    }

    func validate() throws {
        guard maxInstructions > 0 else { throw ValidationError("--max-instructions must be positive") }
        guard maxMemory > 0 else { throw ValidationError("--max-memory must be positive") }
        guard maxSeconds > 0 else { throw ValidationError("--max-seconds must be positive") }
        guard maxHookSeconds > 0 else { throw ValidationError("--max-hook-seconds must be positive") }
    }

    /// Loads and validates cluster.lua, printing warnings (unless the command shows them itself or
    /// --quiet); exits 65 with every problem otherwise.
    func load(printWarnings: Bool = true) throws -> LoadedCluster {
        Console.bootstrapLogging(quiet: quiet, verbose: verbose)
        let loader = ClusterLoader(budget: budget)
        do {
            let loaded = try loader.load(file: file, libraryDirectory: lib)
            if printWarnings, !quiet, !loaded.warnings.isEmpty { Console.print(diagnostics: loaded.warnings) }
            return loaded
        } catch {
            Console.print(diagnostics: error.diagnostics)
            throw ExitCode(Console.exitCode(for: error.diagnostics))
        }
    }
}
