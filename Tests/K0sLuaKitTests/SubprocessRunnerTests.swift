import K0sLuaKit
import Synchronization
import Testing

@Suite struct SubprocessRunnerTests {
    @Test func capturesOutputLinesAndExitCode() async throws {
        let lines = Mutex<[OutputLine]>([])
        let result = try await SubprocessRunner().run(
            Command("/bin/sh", ["-c", "echo one; echo two >&2; read x; echo got:$x; exit 3"], standardInput: "input\n")
        ) { line in lines.withLock { $0.append(line) } }
        #expect(result.exitCode == 3)
        #expect(result.standardOutput == "one\ngot:input\n")
        #expect(result.standardError == "two\n")
        #expect(lines.withLock { $0 }.contains(.standardOutput("got:input")))
        #expect(lines.withLock { $0 }.contains(.standardError("two")))
    }

    @Test func passesEnvironmentAndWorkingDirectory() async throws {
        let result = try await SubprocessRunner().run(
            Command("sh", ["-c", "echo $K0SLUA_TEST_VALUE; pwd"], environment: ["K0SLUA_TEST_VALUE": "42"], workingDirectory: "/tmp"))
        #expect(result.standardOutput == "42\n/tmp\n")
    }

    @Test func missingProgramThrows() async {
        await #expect(throws: (any Error).self) {
            _ = try await SubprocessRunner().run(Command("k0slua-no-such-program"))
        }
    }
}
