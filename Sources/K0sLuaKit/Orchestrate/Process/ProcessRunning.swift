// Orchestrate/Process: running the tools k0slua drives. Every external program goes through
// ProcessRunning (SubprocessRunner for real, a scripted runner in tests); InterruptSupervisor
// forwards Ctrl-C/SIGTERM/SIGHUP (Vagrant's first SIGINT cleans up, a second stops it at once);
// ClusterLock keeps one command per cluster; FanOut bounds SSH to a fleet; NodeSSH builds the ssh
// command line; Tools, TartStore and VagrantSSHConfig wrap vagrant, tart and k0sctl; Progress
// and LogFile report and log (progress lines name a BootstrapPhase; nothing else here knows
// Bootstrap or Lifecycle).

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

extension ProcessRunning {
    /// Runs `command` up to `attempts` times, pausing 2 s, 4 s, … between them, until it exits 0
    /// (a node's sshd may still be starting). The successful result, or why the last attempt
    /// failed (exit code and standard error, or why it could not run). Cancellation is rethrown.
    public func runRetrying(_ command: Command, attempts: Int = 3) async throws -> (result: CommandResult?, failure: String) {
        try await retrying(attempts: attempts) {
            let result = try await run(command)
            return result.succeeded ? .done(result) : .retry(result.sshFailure)
        }
    }

    /// `run`, its error as a value (for a task group's child that must not throw).
    func outcome(of command: Command) async -> Result<CommandResult, any Error> {
        do { return .success(try await run(command)) } catch { return .failure(error) }
    }
}

/// How one attempt of `retrying` ended.
public enum Attempt<Value> {
    case done(Value)
    /// A failure another attempt may not have.
    case retry(String)
    /// A failure no other attempt would mend.
    case stop(String)
}

/// Runs `attempt` up to `attempts` times, pausing 2 s, 4 s, … between them, until it is done or
/// stops; `retried` hears each failure before the pause that follows it. The value, or why the
/// last attempt failed; an error `attempt` throws is such a failure, but cancellation is rethrown.
public func retrying<Value>(attempts: Int, retried: (_ attempt: Int, _ failure: String) -> Void = { _, _ in },
                            _ attempt: () async throws -> Attempt<Value>) async throws -> (Value?, failure: String) {
    var failure = "no attempt ran"
    for number in 0..<attempts {
        if number > 0 {
            retried(number, failure)
            try await Task.sleep(for: .seconds(2 * number))
        }
        do {
            switch try await attempt() {
            case .done(let value): return (value, "")
            case .retry(let problem): failure = problem
            case .stop(let problem): return (nil, problem)
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            failure = "\(error)"
        }
    }
    return (nil, failure)
}

extension CommandResult {
    /// How a failed ssh call reads in a report: `ssh exited with 255: <standard error>`.
    var sshFailure: String {
        "ssh exited with \(exitCode): \(standardError.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}
