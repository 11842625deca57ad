import Foundation
import K0sLuaKit
import Testing

/// The state directory's logs are the user's alone and never hold the kubeconfig's key.
@Suite struct LogSecrecyTests {
    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    @Test func logsArePrivateAndHoldNoKubeconfig() async throws {
        let world = try StandInWorld()
        // An older k0slua left the directory and a log world-readable: up tightens both.
        try FileManager.default.createDirectory(atPath: world.layout.logs, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        _ = FileManager.default.createFile(atPath: world.layout.logs + "/k0sctl-kubeconfig.log", contents: Data("old\n".utf8),
                                       attributes: [.posixPermissions: 0o644])
        let up = try await world.run(["up", "--skip", "health"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        #expect(Self.mode(world.layout.logs) == 0o700)
        let files = try FileManager.default.contentsOfDirectory(atPath: world.layout.logs)
        #expect(files.contains("k0sctl-kubeconfig.log"))
        #expect(files.count > 3)
        for file in files {
            let path = world.layout.logs + "/" + file
            #expect(Self.mode(path) == 0o600, "\(file)")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(!text.contains("client-key-data"), "\(file) holds the kubeconfig's key")
            #expect(!text.contains("apiVersion: v1\nclusters:"), "\(file) holds a kubeconfig")
        }
        // The kubeconfig itself was written, privately.
        let kubeconfig = try String(contentsOfFile: world.layout.kubeconfig, encoding: .utf8)
        #expect(kubeconfig.contains("client-key-data"))
        #expect(Self.mode(world.layout.kubeconfig) == 0o600)
        // and `k0slua kubeconfig` run again logs nothing of it either.
        _ = try await world.run(["kubeconfig"])
        let again = try String(contentsOfFile: world.layout.logs + "/k0sctl-kubeconfig.log", encoding: .utf8)
        #expect(!again.contains("client-key-data"))
    }
}
