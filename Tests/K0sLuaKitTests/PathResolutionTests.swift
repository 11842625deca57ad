import Foundation
import K0sLuaKit
import Testing

/// Paths mean the same whatever the working directory, and `render` writes what `up` would.
@Suite struct PathResolutionTests {
    @Test func aRelativeKeyPathIsTakenFromClusterLuasFolder() throws {
        let directory = NSTemporaryDirectory() + "k0slua-paths-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/conf", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = """
        return { name = "p", provider = "hosts", network = { cidr = "10.0.10.0/24" },
          ssh = { user = "ops", key_path = "keys/../keys/id_test" },
          nodes = {
            { name = "c1", role = "controller", workloads = true, ip = "10.0.10.11", cpus = 2, memory = 2048, disk = 20 },
            { name = "w1", role = "worker", ip = "10.0.10.21", cpus = 2, memory = 2048, disk = 20, ssh = { key_path = "~/.ssh/id_w1" } },
            { name = "w2", role = "worker", ip = "10.0.10.22", cpus = 2, memory = 2048, disk = 20, ssh = { key_path = "/etc/k0slua/id" } },
          } }
        """
        _ = FileManager.default.createFile(atPath: directory + "/conf/cluster.lua", contents: Data(source.utf8))
        // Loaded from elsewhere (the test's working directory is not `directory`).
        let cluster = try ClusterLoader(environment: [:], hostFacts: fixedHost).load(file: directory + "/conf/cluster.lua").cluster
        let folder = URL(fileURLWithPath: directory + "/conf").standardizedFileURL.path
        #expect(cluster.ssh.keyPath == folder + "/keys/id_test")
        #expect(cluster.nodes.map(\.ssh.keyPath) == [folder + "/keys/id_test", "~/.ssh/id_w1", "/etc/k0slua/id"])
    }

    @Test func renderThenUpLeavesTheFilesByteIdentical() async throws {
        let source = try String(contentsOfFile: Repo.fixtures + "/render-hosts/cluster.lua", encoding: .utf8)
            .replacingOccurrences(of: "key_path = \"~/.ssh/id_ed25519\"", with: "key_path = \"keys/id_test\"")
        let world = try StandInWorld(cluster: source)
        try FileManager.default.createDirectory(atPath: world.directory + "/keys", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: world.directory + "/keys/id_test", contents: Data("not a real key\n".utf8))
        // With a warm cache `render` writes what `up` will (k0sctl.yaml names the cached k0s).
        let fetch = try await world.run(["cache", "fetch"])
        #expect(fetch.exitCode == 0, "\(fetch.standardError)")
        // render from another working directory, naming the file with a `.` in its path; up from cluster.lua's folder.
        let elsewhere = NSTemporaryDirectory()
        let render = try await SubprocessRunner().run(Command("/usr/bin/env", ["-i"] + world.environment.map { "\($0.key)=\($0.value)" }
                                                              + [StandInWorld.binary, "render", "-f", world.directory + "/./cluster.lua"],
                                                              workingDirectory: elsewhere))
        #expect(render.exitCode == 0, "\(render.standardError)")
        let layout = StateLayout(directory: URL(fileURLWithPath: world.directory).standardizedFileURL.path + "/.k0slua/metal")
        let rendered = try Data(contentsOf: URL(fileURLWithPath: layout.k0sctlConfig))
        let text = String(decoding: rendered, as: UTF8.self)
        #expect(text.contains("keyPath: \"\(URL(fileURLWithPath: world.directory).standardizedFileURL.path)/keys/id_test\""), "\(text)")
        #expect(!text.contains("/./"))
        #expect(text.contains("uploadBinary: true"), "\(text)")
        let up = try await world.run(["up", "--skip", "health"], environment: ["K0SLUA_STANDIN_HOSTS": "1"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: layout.k0sctlConfig)) == rendered, "up rewrote what render wrote")
    }
}

/// On `hosts` Kubernetes would name nodes after the machines' own hostnames; k0sctl.yaml names
/// them as cluster.lua does, so health finds them.
@Suite struct HostsHealthTests {
    @Test func healthFindsTheHostsProvidersNodesByTheirClusterLuaNames() async throws {
        let source = try String(contentsOfFile: Repo.fixtures + "/render-hosts/cluster.lua", encoding: .utf8)
            .replacingOccurrences(of: "key_path = \"~/.ssh/id_ed25519\"", with: "key_path = \"id_test\"")
        let world = try StandInWorld(cluster: source)
        _ = FileManager.default.createFile(atPath: world.directory + "/id_test", contents: Data("not a real key\n".utf8))
        let up = try await world.run(["up", "--health-wait", "0"], environment: ["K0SLUA_STANDIN_HOSTS": "1"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        let config = try String(contentsOfFile: world.directory + "/.k0slua/metal/k0sctl.yaml", encoding: .utf8)
        for name in ["m1", "m2", "m3", "w1"] { #expect(config.contains("    hostname: \"\(name)\"\n")) }
        let health = try await world.run(["health"], environment: ["K0SLUA_STANDIN_HOSTS": "1"])
        #expect(health.exitCode == 0, "\(health.standardOutput)\(health.standardError)")
    }
}
