import Foundation
import K0sLuaKit
import Testing

/// Issue 17, items 10–13 and 17: paths with spaces, SIGHUP, file modes, the kubeconfig merge, ./setup.
@Suite struct HostEdgesTests {
    // MARK: 17: ./setup

    static func setup(_ arguments: [String]) async throws -> CommandResult {
        try await SubprocessRunner().run(Command("/usr/bin/env", ["-i", "PATH=/usr/bin:/bin", "HOME=/nonexistent", Repo.root + "/setup"] + arguments,
                                                 workingDirectory: Repo.root))
    }

    @Test func item17_17_setupHelpPrintsUsageAndInstallsNothing() async throws {
        let result = try await Self.setup(["--help"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        #expect(result.standardOutput.hasPrefix("usage: ./setup"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("--check"))
        #expect(!result.standardOutput.contains("k0slua setup ("), "the installer did not run")
    }

    @Test func item17_17_setupRefusesUnknownArgumentsWithExit64() async throws {
        for arguments in [["--bogus"], ["install"], ["--check", "--bogus"]] {
            let result = try await Self.setup(arguments)
            #expect(result.exitCode == 64, "\(arguments)")
            #expect(result.standardError.contains("unknown argument \"\(arguments.last!)\""), "\(result.standardError)")
            #expect(result.standardError.contains("./setup --help"))
            #expect(result.standardOutput.isEmpty, "the installer did not run: \(result.standardOutput)")
        }
    }
}
