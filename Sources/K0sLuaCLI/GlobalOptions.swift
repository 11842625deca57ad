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

    @Option(help: ArgumentHelp("Lua instruction budget.", valueName: "count"))
    var maxInstructions: Int64 = LuaBudget.default.instructions

    @Option(help: ArgumentHelp("Lua memory budget in MiB.", valueName: "MiB"))
    var maxMemory: Int = LuaBudget.default.memoryBytes >> 20

    @Option(help: ArgumentHelp("Wall-clock limit for running cluster.lua, in seconds.", valueName: "seconds"))
    var maxSeconds: Double = LuaBudget.defaultSeconds

    @Option(help: ArgumentHelp("Wall-clock limit for the Lua of each hook call, in seconds; time waiting for ctx.run and ctx.kubectl does not count.",
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

/// `--parallel N`: the bound on SSH sessions to nodes (and machine operations) running at once.
struct FanOutOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How many SSH sessions to nodes (Lua hooks' included; stop: machine halts) run at once.", valueName: "n"))
    var parallel: Int = FanOut.defaultLimit

    func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel takes a number of at least 1, got \(parallel)") }
    }
}

/// The health wait of the commands that bring machines back (`start`, `snapshot save`, `snapshot restore`).
struct HealthWaitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How long health checks retry once the machines run, e.g. 300s, 5m, 0 for once.", valueName: "duration"))
    var healthWait: String = "5m"

    @Flag(help: "Do not run the health checks.")
    var skipHealth = false

    @Option(help: ArgumentHelp("Health checks to skip, comma-separated (reported as skipped).", valueName: "check,…"))
    var skipChecks: String?

    var skippedChecks: Set<String> {
        Set(CommaList.words(skipChecks))
    }

    func validate() throws {
        _ = try DurationOption.seconds(healthWait, option: "--health-wait")
        try HealthWaitOptions.requireKnownChecks(skippedChecks, option: "--skip-checks")
    }

    /// Bootstrap options with this wait and `fanOut`'s bound.
    func bootstrapOptions(_ fanOut: FanOutOptions) throws -> BootstrapOptions {
        var options = BootstrapOptions(skip: skipHealth ? [.health] : [], skipHealthChecks: skippedChecks,
                                       healthWaitSeconds: try DurationOption.seconds(healthWait, option: "--health-wait"))
        options.concurrency = fanOut.parallel
        return options
    }

    static func requireKnownChecks(_ names: Set<String>, option: String) throws {
        for name in names.sorted() where !HealthChecker.checkNames.contains(name) {
            throw ValidationError("unknown check \"\(name)\" for \(option); checks: \(HealthChecker.checkNames.joined(separator: ", "))")
        }
    }
}

/// `a, b,c` on the command line: the words, trimmed, empty ones left out.
enum CommaList {
    static func words(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// Durations on the command line: 500ms, 90s, 5m, 2h, 1d, or a bare number of seconds.
enum DurationOption {
    static func seconds(_ text: String, option: String) throws -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0, value.isFinite { return value * factor }
        }
        if let value = Double(text), value >= 0, value.isFinite { return value }
        throw ValidationError("\(option) takes a duration such as 90s, 5m, 2h or 1d, got \"\(text)\"")
    }
}
