import Foundation
import K0sLuaKit
import Synchronization

/// A ProcessRunning that answers from a script (first matching rule wins) and records every call.
final class ScriptedRunner: ProcessRunning {
    struct Rule: Sendable {
        let matches: @Sendable (Command) -> Bool
        let result: CommandResult
    }

    private let rules: [Rule]
    private let recorded = Mutex<[Command]>([])

    init(_ rules: [Rule]) { self.rules = rules }

    var calls: [Command] { recorded.withLock { $0 } }

    func run(_ command: Command, onLine: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
        recorded.withLock { $0.append(command) }
        let result = rules.first { $0.matches(command) }?.result ?? CommandResult(exitCode: 127, standardError: "no script for \(command)")
        for line in result.standardOutput.split(separator: "\n") { onLine?(.standardOutput(String(line))) }
        return result
    }

    /// A rule matching commands whose arguments contain all `words`, in order.
    static func when(_ executable: String, _ words: String..., then result: CommandResult) -> Rule {
        Rule(matches: { command in
            guard command.executable == executable else { return false }
            var rest = command.arguments[...]
            for word in words {
                guard let index = rest.firstIndex(of: word) else { return false }
                rest = rest[rest.index(after: index)...]
            }
            return true
        }, result: result)
    }
}
