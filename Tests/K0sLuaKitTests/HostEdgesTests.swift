import Foundation
@testable import K0sLuaKit
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

    // MARK: 10: paths with spaces

    /// What the real ssh makes of k0slua's options: the `userknownhostsfile` line of `ssh -G`
    /// (resolves the configuration, connects nowhere).
    static func resolvedKnownHosts(_ ssh: NodeSSH, _ node: Node) async throws -> String {
        let command = ssh.command(node, run: nil)
        let result = try await SubprocessRunner().run(Command("/usr/bin/ssh", ["-G"] + command.arguments, environment: ["HOME": "/nonexistent-home"]))
        #expect(result.succeeded, "\(result.standardError)")
        let line = result.standardOutput.split(separator: "\n").first { $0.hasPrefix("userknownhostsfile ") }
        return String(try #require(line).dropFirst("userknownhostsfile ".count))
    }

    static func node() throws -> Node {
        try #require(loadCluster(Repo.defaultClusterFile).cluster.nodes.first)
    }

    @Test func item17_10_knownHostsPathWithSpacesIsOneFileForRealSSH() async throws {
        let node = try Self.node()
        // ` ~/` would become a second file in the home directory if ssh split the value; `%` and
        // `\` are ssh's own escapes.
        for directory in ["/tmp/My Clusters/lab/.k0slua/k0slua", "/Users/me/Library/Mobile Documents/com~apple~CloudDocs/lab ~/x/.k0slua/k0slua",
                          "/tmp/100% sure/a\\b c/.k0slua/k0slua", "/tmp/it's here/.k0slua/k0slua"] {
            let ssh = NodeSSH(layout: StateLayout(directory: directory))
            #expect(ssh.options(for: node).contains("UserKnownHostsFile=\"\(directory.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "%%"))/known_hosts\""))
            #expect(try await Self.resolvedKnownHosts(ssh, node) == directory + "/known_hosts", "\(directory)")
        }
    }

    @Test func item17_10_aDoubleQuoteInTheStateDirectoryIsRefused() async throws {
        let world = try StandInWorld()
        let stateDirectory = world.directory + "/say \"hi\""
        for command in [["render", "--out"], ["up", "--state-dir"], ["ssh", "--state-dir"]] {
            let result = try await world.run(command + [stateDirectory] + (command[0] == "ssh" ? ["worker-1"] : []))
            #expect(result.exitCode == 64, "\(command): \(result.standardError)")
            #expect(result.standardError.contains("error: the state directory \"\(stateDirectory)\" contains a double quote"), "\(result.standardError)")
            #expect(!FileManager.default.fileExists(atPath: stateDirectory))
        }
        #expect(world.calls.isEmpty)
    }

    @Test func item17_10_softnetFixCommandQuotesThePath() async throws {
        let path = "/opt/My Tools/it's $(id)/softnet"
        let command = MacNetworkChecks.softnetSUIDCommand(path)
        let prefix = "sudo "
        #expect(command.hasPrefix(prefix))
        // A real shell runs it with stand-ins for chown and chmod that print their arguments.
        let bin = NSTemporaryDirectory() + "k0slua-softnet-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: bin) }
        for tool in ["chown", "chmod"] {
            _ = FileManager.default.createFile(atPath: "\(bin)/\(tool)", contents: Data("#!/bin/sh\nprintf '\(tool)'; printf ' [%s]' \"$@\"; echo\n".utf8),
                                           attributes: [.posixPermissions: 0o755])
        }
        let result = try await SubprocessRunner().run(Command("/bin/sh", ["-c", String(command.dropFirst(prefix.count))], environment: ["PATH": "\(bin):/usr/bin:/bin"]))
        #expect(result.succeeded, "\(result.standardError)")
        #expect(result.standardOutput == "chown [root] [--] [\(path)]\nchmod [u+s] [--] [\(path)]\n", "\(command)")
    }

    @Test func item17_10_planRenderAndUpFromADirectoryWithSpaces() async throws {
        let prefix = "k0slua My Clusters \(UUID().uuidString.prefix(8)) ~/Mobile Documents/it's a\\b lab/"
        defer { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + prefix.split(separator: "/")[0]) }
        let world = try StandInWorld(directoryPrefix: prefix)
        #expect(world.directory.contains(" "))
        let plan = try await world.run(["plan"])
        #expect(plan.exitCode == 0, "\(plan.standardError)")
        let render = try await world.run(["render"])
        #expect(render.exitCode == 0, "\(render.standardError)")
        let vagrantfile = try String(contentsOfFile: world.layout.vagrantfile, encoding: .utf8)
        #expect(vagrantfile.contains(Quote.ruby(world.layout.directory)) || !vagrantfile.contains(world.layout.directory), "paths in the Vagrantfile are Ruby literals")
        let up = try await world.run(["up", "--skip", "health"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        let escaped = world.layout.knownHosts.replacingOccurrences(of: "\\", with: "\\\\")
        let sshCalls = world.calls.filter { $0.tool == "ssh" && $0.argv != ["-V"] }
        #expect(!sshCalls.isEmpty)
        for call in sshCalls {
            #expect(call.argv.contains("UserKnownHostsFile=\"\(escaped)\""), "\(call)")
            #expect(call.argv.contains(world.layout.privateKey), "\(call)")
        }
        for call in world.calls where call.tool == "k0sctl" && call.argv.first == "apply" {
            #expect(call.env["SSH_KNOWN_HOSTS"] == world.layout.knownHosts)
        }
        let config = try String(contentsOfFile: world.layout.k0sctlConfig, encoding: .utf8)
        #expect(config.contains("keyPath: \(Quote.k0sctl(world.layout.privateKey))"), "\(config.prefix(600))")
    }

    // MARK: 11: SIGHUP

    @Test func item17_11_sighupStopsVagrantLikeCtrlCKeepsTheLockUntilItIsGoneAndExits129() async throws {
        let world = try StandInWorld()
        // A terminal that went away: k0slua's stderr is a pipe nobody reads any more.
        let pipe = Pipe()
        var env = world.environment
        let cleanupEnds = world.directory + "/cleanup-ends"
        env.merge(["K0SLUA_STANDIN_DELAY": "vagrant:up=600", "K0SLUA_STANDIN_CLEANUP": "600",
                   "K0SLUA_STANDIN_CLEANUP_UNTIL": cleanupEnds]) { $1 }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["-w", "/usr/bin/env", "-i"] + env.map { "\($0.key)=\($0.value)" } + [StandInWorld.binary, "up"]
        process.currentDirectoryURL = URL(fileURLWithPath: world.directory)
        process.standardError = pipe.fileHandleForWriting
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try pipe.fileHandleForWriting.close()
        try await waitFor { world.vagrantUpStarted }
        try await Task.sleep(for: .milliseconds(300))
        let k0slua = try InterruptTests.k0slua(under: process)
        let vagrant = try #require(world.calls.first { $0.tool == "vagrant" && $0.argv.first == "up" }?.pid)
        try pipe.fileHandleForReading.close()
        kill(k0slua, SIGHUP)
        try await waitFor { InterruptTests.vagrantSignals(world) == ["INT"] }
        // vagrant cleans up until the test lets it finish: the cluster is still locked meanwhile.
        try await Task.sleep(for: .milliseconds(500))
        #expect(world.events.isEmpty)
        #expect(throws: ClusterLock.Failure.self) { try ClusterLock(path: world.layout.lockFile).acquire(command: "test") }
        #expect(kill(k0slua, 0) == 0, "k0slua waits for vagrant's cleanup")
        #expect(FileManager.default.createFile(atPath: cleanupEnds, contents: Data()))
        try await exited(process)
        #expect(process.terminationStatus == 129)
        #expect(InterruptTests.vagrantSignals(world) == ["INT"])
        #expect(world.events == ["vagrant cleanup-done"])
        #expect(kill(vagrant, 0) == -1 && errno == ESRCH, "vagrant is gone")
        let lock = ClusterLock(path: world.layout.lockFile)
        try lock.acquire(command: "test")
        lock.release()
    }

    // MARK: 12: file modes

    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int).map { $0 & 0o777 }
    }

    @Test func item17_12_stateFilesAre0600AndTheDirectory0700EvenWhenAnOlderK0sluaLeftThemOpen() async throws {
        let world = try StandInWorld()
        let layout = world.layout
        #expect(try await world.run(["render"]).exitCode == 0)
        #expect(Self.mode(layout.directory) == 0o700)
        // (k0sctl.yaml waits for the DHCP addresses: `up` writes it.)
        for file in [layout.vagrantfile, layout.privateKey] { #expect(Self.mode(file) == 0o600, "\(file)") }
        // An older k0slua's modes, with files whose bytes the next render does not change.
        chmod(layout.directory, 0o755)
        for file in [layout.vagrantfile, layout.privateKey] { chmod(file, 0o644) }
        _ = FileManager.default.createFile(atPath: layout.knownHosts, contents: Data(), attributes: [.posixPermissions: 0o644])
        #expect(try await world.run(["render"]).exitCode == 0)
        #expect(Self.mode(layout.directory) == 0o700)
        for file in [layout.vagrantfile, layout.privateKey, layout.knownHosts] { #expect(Self.mode(file) == 0o600, "\(file)") }

        chmod(layout.directory, 0o755)
        for file in [layout.vagrantfile, layout.privateKey, layout.knownHosts] { chmod(file, 0o644) }
        let up = try await world.run(["up", "--skip", "health"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        #expect(Self.mode(layout.directory) == 0o700)
        #expect(Self.mode(layout.logs) == 0o700)
        for file in [layout.vagrantfile, layout.k0sctlConfig, layout.record, layout.kubeconfig, layout.knownHosts, layout.privateKey] {
            #expect(Self.mode(file) == 0o600, "\(file)")
        }
        for log in try FileManager.default.contentsOfDirectory(atPath: layout.logs) { #expect(Self.mode(layout.logs + "/" + log) == 0o600, "\(log)") }
    }

    // MARK: 13: --merge-kubeconfig

    static let userConfig = """
        # my clusters; keep this comment
        apiVersion: v1
        kind: Config
        preferences: {}
        users:
        - name: admin   # the admin of work
          user:
            client-certificate: certs/admin.crt
            client-key: certs/admin.key
        - name: ci
          user: {token: keep-me}
        clusters:
        - cluster:
            certificate-authority: /etc/kubernetes/work-ca.crt
            server: https://work.example:6443
          name: work

        # staging, by hand
        - name: staging
          cluster:
            certificate-authority: ../staging-ca.pem
            server: "https://staging.example:6443"
        contexts:
          - context: {cluster: work, user: admin}
            name: work
          - name: staging
            context:
              cluster: staging
              user: ci
        current-context: work

        """

    static func clusterKubeconfig(_ merge: KubeconfigMerge) -> String {
        let k0sctl = """
            apiVersion: v1
            clusters:
            - cluster:
                certificate-authority-data: Q0EK
                server: https://192.168.64.10:6443
              name: \(merge.ownEntryName)
            contexts:
            - context:
                cluster: \(merge.ownEntryName)
                user: \(merge.ownEntryName)
              name: \(merge.ownEntryName)
            current-context: \(merge.ownEntryName)
            kind: Config
            preferences: {}
            users:
            - name: \(merge.ownEntryName)
              user:
                client-certificate-data: Q0VSVAo=
                client-key-data: S0VZCg==

            """
        return KubeconfigMerge.renamingContext(k0sctl, to: merge.contextName)
    }

    static func kubectl(_ config: String, _ arguments: [String]) async throws -> String {
        let result = try await SubprocessRunner().run(Command("/usr/bin/kubectl", ["--kubeconfig", config] + arguments))
        #expect(result.succeeded, "\(result.standardError)")
        return result.standardOutput
    }

    @Test func item17_13_mergeEditsOnlyThisClustersEntriesThroughTheSymlink() async throws {
        let home = NSTemporaryDirectory() + "k0slua-kube-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: home) }
        let dotfiles = home + "/dotfiles"
        try FileManager.default.createDirectory(atPath: dotfiles, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home + "/.kube", withIntermediateDirectories: true)
        let target = dotfiles + "/kubeconfig"
        _ = FileManager.default.createFile(atPath: target, contents: Data(Self.userConfig.utf8), attributes: [.posixPermissions: 0o600])
        try FileManager.default.createSymbolicLink(atPath: home + "/.kube/config", withDestinationPath: "../dotfiles/kubeconfig")
        var merge = KubeconfigMerge(runner: SubprocessRunner(), layout: StateLayout(directory: home + "/project/.k0slua/k0slua"), clusterName: "k0slua")
        merge.environment = ["HOME": home, "PATH": "/usr/bin:/bin"]
        try FileWriter.write(Self.clusterKubeconfig(merge), to: merge.layout.kubeconfig)

        try await merge.merge()
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: home + "/.kube/config") == "../dotfiles/kubeconfig", "the symlink stays")
        let merged = try String(contentsOfFile: target, encoding: .utf8)
        // The user's entries keep their bytes: no certificate file is inlined, comments stay.
        for part in [Self.userConfig.components(separatedBy: "clusters:\n")[0],
                     "- cluster:\n    certificate-authority: /etc/kubernetes/work-ca.crt\n    server: https://work.example:6443\n  name: work\n\n# staging, by hand\n- name: staging\n  cluster:\n    certificate-authority: ../staging-ca.pem\n    server: \"https://staging.example:6443\"\n",
                     "  - context: {cluster: work, user: admin}\n    name: work\n  - name: staging\n    context:\n      cluster: staging\n      user: ci\n"] {
            #expect(merged.contains(part), "\(part)\n--- in ---\n\(merged)")
        }
        #expect(!merged.contains("certificate-authority-data: Q0EK\n    server: https://work"))
        // Real kubectl reads the result: both clusters, the user's current context.
        #expect(try await Self.kubectl(home + "/.kube/config", ["config", "get-contexts", "-o", "name"]) == "k0slua-k0slua\nstaging\nwork\n")
        #expect(try await Self.kubectl(home + "/.kube/config", ["config", "current-context"]) == "work\n")
        let server = try await Self.kubectl(home + "/.kube/config", ["config", "view", "-o", "jsonpath={.clusters[?(@.name==\"\(merge.ownEntryName)\")].cluster.server}"])
        #expect(server.trimmingCharacters(in: .whitespacesAndNewlines) == "https://192.168.64.10:6443")
        #expect(try await merge.owner() == .this)

        // A second merge replaces the entries; taking them out gives back the user's file byte for byte.
        try await merge.merge()
        #expect(try String(contentsOfFile: target, encoding: .utf8) == merged)
        #expect(try await merge.remove())
        #expect(try String(contentsOfFile: target, encoding: .utf8) == Self.userConfig)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: home + "/.kube/config") == "../dotfiles/kubeconfig")
        #expect(Self.mode(target) == 0o600)
    }

    @Test func item17_13_mergeWritesTheFirstFileOfKUBECONFIGAndStartsAMissingOne() async throws {
        let home = NSTemporaryDirectory() + "k0slua-kube-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: home) }
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let first = home + "/first.yaml", second = home + "/second.yaml"
        _ = FileManager.default.createFile(atPath: second, contents: Data(Self.userConfig.utf8))
        var merge = KubeconfigMerge(runner: SubprocessRunner(), layout: StateLayout(directory: home + "/.k0slua/k0slua"), clusterName: "k0slua")
        merge.environment = ["HOME": home, "KUBECONFIG": "\(first):\(second)"]
        try FileWriter.write(Self.clusterKubeconfig(merge), to: merge.layout.kubeconfig)
        try await merge.merge()
        #expect(try String(contentsOfFile: second, encoding: .utf8) == Self.userConfig)
        #expect(try String(contentsOfFile: first, encoding: .utf8) == Self.clusterKubeconfig(merge))
        #expect(Self.mode(first) == 0o600)
        // An empty sections' file gets the entries too.
        let empty = "apiVersion: v1\nclusters: []\ncontexts: []\ncurrent-context: \"\"\nkind: Config\nusers: null\n"
        _ = FileManager.default.createFile(atPath: first, contents: Data(empty.utf8))
        try await merge.merge()
        #expect(try await Self.kubectl(first, ["config", "get-contexts", "-o", "name"]) == "k0slua-k0slua\n")
        #expect(try await Self.kubectl(first, ["config", "current-context"]) == "k0slua-k0slua\n")
    }
}
