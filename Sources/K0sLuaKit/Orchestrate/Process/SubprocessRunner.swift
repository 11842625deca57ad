import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs programs for real through swift-subprocess, each in a process group of its own so that a
/// terminal's Ctrl-C reaches k0slua only; the InterruptSupervisor decides what the children get.
/// Cancellation for any other reason (a failing sibling) sends the child's group SIGINT, then
/// SIGTERM, then SIGKILL.
public struct SubprocessRunner: ProcessRunning {
    public let supervisor: InterruptSupervisor

    public init(supervisor: InterruptSupervisor = .shared) { self.supervisor = supervisor }

    public func run(_ command: Command, onLine: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
        // Nothing new starts once the user asked to stop.
        if supervisor.isInterrupted { throw CancellationError() }
        let supervisor = self.supervisor
        let work = Task.detached { try await Self.spawn(command, onLine: onLine, supervisor: supervisor) }
        let result = try await withTaskCancellationHandler {
            try await work.value
        } onCancel: {
            // An interrupt is the supervisor's: the child got its one SIGINT and is left to clean up.
            if !supervisor.isInterrupted { work.cancel() }
        }
        if supervisor.isInterrupted { throw CancellationError() }
        return result
    }

    private static func spawn(_ command: Command, onLine: (@Sendable (OutputLine) -> Void)?,
                              supervisor: InterruptSupervisor) async throws -> CommandResult {
        let executable: Executable = command.executable.contains("/") ? .path(FilePath(command.executable)) : .name(command.executable)
        let environment: Subprocess.Environment = command.environment.isEmpty
            ? .inherit
            : .inherit.updating(Dictionary(uniqueKeysWithValues: command.environment.map { (Subprocess.Environment.Key(rawValue: $0.key)!, Optional($0.value)) }))
        var options = PlatformOptions()
        options.processGroupID = 0  // a new group led by the child
        options.teardownSequence = [
            .send(signal: .interrupt, toProcessGroup: true, allowedDurationToNextStep: .seconds(3)),
            .gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(3)),
        ]
        let input = command.standardInput ?? ""
        let inputFile = command.standardInputFile
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
            let group = execution.processIdentifier.value
            supervisor.started(group: group, executable: command.executable)
            defer { supervisor.finished(group: group) }
            return try await withThrowingTaskGroup(of: (Bool, String).self) { group in
                group.addTask {
                    (true, try await Self.lines(of: execution.standardOutput) { onLine?(.standardOutput($0)) })
                }
                group.addTask {
                    (false, try await Self.lines(of: execution.standardError) { onLine?(.standardError($0)) })
                }
                group.addTask {
                    if !input.isEmpty { _ = try await execution.standardInputWriter.write(input) }
                    if let inputFile { await Self.stream(inputFile, to: execution.standardInputWriter) }
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

    /// The output, each line ended by "\n", handing every line to `onLine` as it arrives (lines
    /// without their terminator).
    private static func lines(of output: SubprocessOutputSequence, _ onLine: (String) -> Void) async throws -> String {
        var collected = ""
        var lines = OutputLines()
        func take(_ line: String) {
            collected += line
            collected += "\n"
            onLine(line)
        }
        for try await chunk in output {
            try chunk.withUnsafeBytes { bytes throws(OutputLines.LineTooLong) in try lines.feed(bytes, emit: take) }
        }
        lines.finish(emit: take)
        return collected
    }

    /// Copies `path` to the child's standard input in 1 MiB pieces. A child that stops reading
    /// (it exited) ends the copy quietly: its exit code and output say what happened.
    private static func stream(_ path: String, to writer: StandardInputWriter) async {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            guard (try? await writer.write(Array(chunk))) != nil else { return }
        }
    }
}
