import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs programs for real through swift-subprocess. On task cancellation the child gets SIGINT,
/// then SIGTERM, then SIGKILL.
public struct SubprocessRunner: ProcessRunning {
    public init() {}

    public func run(_ command: Command, onLine: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
        let executable: Executable = command.executable.contains("/") ? .path(FilePath(command.executable)) : .name(command.executable)
        let environment: Subprocess.Environment = command.environment.isEmpty
            ? .inherit
            : .inherit.updating(Dictionary(uniqueKeysWithValues: command.environment.map { (Subprocess.Environment.Key(rawValue: $0.key)!, Optional($0.value)) }))
        var options = PlatformOptions()
        options.teardownSequence = [
            .send(signal: .interrupt, allowedDurationToNextStep: .seconds(3)),
            .gracefulShutDown(allowedDurationToNextStep: .seconds(3)),
        ]
        let input = command.standardInput ?? ""
        let result = try await Subprocess.run(
            executable,
            arguments: Arguments(command.arguments),
            environment: environment,
            workingDirectory: command.workingDirectory.map { FilePath($0) },
            platformOptions: options,
            input: .inputWriter,
            output: .sequence,
            error: .sequence
        ) { execution in
            try await withThrowingTaskGroup(of: (Bool, String).self) { group in
                group.addTask {
                    var collected = ""
                    // strings() yields lines without their terminator.
                    for try await line in execution.standardOutput.strings() {
                        collected += line + "\n"
                        onLine?(.standardOutput(line))
                    }
                    return (true, collected)
                }
                group.addTask {
                    var collected = ""
                    // strings() yields lines without their terminator.
                    for try await line in execution.standardError.strings() {
                        collected += line + "\n"
                        onLine?(.standardError(line))
                    }
                    return (false, collected)
                }
                group.addTask {
                    if !input.isEmpty { _ = try await execution.standardInputWriter.write(input) }
                    try await execution.standardInputWriter.finish()
                    return (false, "")
                }
                var out = "", err = ""
                for try await (isOut, text) in group {
                    if isOut { out += text } else { err += text }
                }
                return (out, err)
            }
        }
        let code: Int32 = switch result.terminationStatus {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
        return CommandResult(exitCode: code, standardOutput: result.closureResult.0, standardError: result.closureResult.1)
    }
}
