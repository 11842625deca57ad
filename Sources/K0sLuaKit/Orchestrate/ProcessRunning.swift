/// A program to run: what, with which arguments, where, and with which extra environment.
public struct Command: Sendable, Equatable, CustomStringConvertible {
    public var executable: String
    public var arguments: [String]
    /// Added to (and overriding) the inherited environment.
    public var environment: [String: String]
    public var workingDirectory: String?
    public var standardInput: String?
    /// A file streamed to the program's standard input (after `standardInput`, when both are set).
    public var standardInputFile: String?

    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:],
                workingDirectory: String? = nil, standardInput: String? = nil, standardInputFile: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.standardInput = standardInput
        self.standardInputFile = standardInputFile
    }

    /// The command line as a user would type it.
    public var description: String {
        ([executable] + arguments).map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
    }
}

/// How a program ended and what it printed.
public struct CommandResult: Sendable, Equatable {
    public var exitCode: Int32
    public var standardOutput: String
    public var standardError: String

    public init(exitCode: Int32, standardOutput: String = "", standardError: String = "") {
        self.exitCode = exitCode
        self.standardOutput = standardOutput
        self.standardError = standardError
    }

    public var succeeded: Bool { exitCode == 0 }
}

/// One line a running program printed.
public enum OutputLine: Sendable, Equatable {
    case standardOutput(String)
    case standardError(String)
}

/// Runs external programs. The real one spawns processes; tests use a scripted one.
public protocol ProcessRunning: Sendable {
    /// Runs `command` to completion. `onLine` sees each output line as it arrives. Throws only when
    /// the program could not be started or the task was cancelled (the child is then terminated).
    func run(_ command: Command, onLine: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult
}

extension ProcessRunning {
    public func run(_ command: Command) async throws -> CommandResult {
        try await run(command, onLine: nil)
    }
}
