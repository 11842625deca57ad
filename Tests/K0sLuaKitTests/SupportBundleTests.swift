import Foundation
@testable import K0sLuaKit
import Testing

/// `k0slua support` against the stand-ins: a cluster with known secrets, one node that never
/// answers; the unpacked bundle holds every part and none of the secrets.
@Suite(.serialized) struct SupportBundleTests {
    /// A 3+2 cluster with a VIP and a password of its own.
    static let vipPass = "Zq7vP9xW"
    static let source = """
        local nodes = require "k0slua.nodes"
        return {
          name = "ha",
          network = { cidr = "192.168.1.0/24", gateway = "192.168.1.1", mode = "bridged", bridge_interface = "en0" },
          k0s = { vip = "192.168.1.100", vip_auth_pass = "\(vipPass)" },
          nodes = nodes.concat(
            nodes.class { prefix = "control-plane", role = "controller", count = 3, first_ip = "192.168.1.10",
                          cpus = 2, memory = 2048, disk = 32, workloads = function(i) return i == 1 end },
            nodes.class { prefix = "worker", role = "worker", count = 2, first_ip = "192.168.1.20",
                          cpus = 2, memory = 4096, disk = 32 }
          ),
        }
        """

    /// Known key material: a PEM private key (and its base64 for the kubeconfig), a client
    /// certificate, a bearer token, a k0s join token and a bootstrap token.
    static let privateKeyBody = "MC4CAQAwBQYDK2VwBCIEIKnownSupportBundleTestKeyMaterial0123456789"
    static let privateKeyPEM = "-----BEGIN PRIVATE KEY-----\n\(privateKeyBody)\n-----END PRIVATE KEY-----\n"
    static let certificatePEM = "-----BEGIN CERTIFICATE-----\nMIIBKnownSupportBundleCertificate0123456789abcdef\n-----END CERTIFICATE-----\n"
    static let userToken = "kubeconfigUserTokenValue42"
    static let joinToken = "H4sIAAAAAAAC/0yTtY7rSBRFc3+FcmuKkRzDjFRsu1Known"
    static let bootstrapToken = "abcdef.0123456789abcdef"
    static let bearer = "sha256BearerValueKnown77"

    /// The regular expressions no file of a bundle may match.
    static let keyMaterial = [
        #"-----BEGIN [A-Z ]*PRIVATE KEY-----"#, #"-----BEGIN CERTIFICATE-----"#, #"LS0tLS1CRUdJT"#, #"H4sI[A-Za-z0-9+/=]{16,}"#,
        #"b3BlbnNzaC1rZXktdjE"#, #"eyJ[A-Za-z0-9_-]{4,}\.eyJ"#, #"(?<![A-Za-z0-9_.-])[a-z0-9]{6}\.[a-z0-9]{16}(?![A-Za-z0-9_-])"#,
        #"[Bb]earer [A-Za-z0-9._~+/=-]{8,}"#,
        #"(?i)(client-key-data|client-certificate-data|token|password|authPass|vip_auth_pass)["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{4,}"#,
    ]

    /// The state directory of the cluster named "ha".
    static func layout(_ world: StandInWorld) -> StateLayout { StateLayout(directory: world.directory + "/.k0slua/ha") }

    static func upWorld() async throws -> StandInWorld {
        let world = try StandInWorld(cluster: source)
        let up = try await world.run(["up", "--skip", "health"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        return world
    }

    /// Unpacks the one bundle in `directory`; returns its root and every file's text by path.
    static func unpack(_ directory: String) async throws -> (root: String, files: [String: String]) {
        let bundles = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".tar.gz") }
        try #require(bundles.count == 1, "one bundle in \(directory): \(bundles)")
        let name = bundles[0]
        let unpacked = directory + "/unpacked"
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        let tar = try await SubprocessRunner().run(Command("tar", ["-xzf", directory + "/" + name, "-C", unpacked]))
        try #require(tar.succeeded, "\(tar.standardError)")
        let root = String(name.dropLast(".tar.gz".count))
        var files: [String: String] = [:]
        for path in FileManager.default.subpaths(atPath: unpacked + "/" + root) ?? [] {
            var isDirectory: ObjCBool = false
            let full = unpacked + "/" + root + "/" + path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[path] = String(decoding: FileManager.default.contents(atPath: full) ?? Data(), as: UTF8.self)
            }
        }
        return (root, files)
    }

    @Test func item20_2_bundleHoldsEveryPartAndNoSecret() async throws {
        let world = try await Self.upWorld()
        let layout = Self.layout(world)
        // A kubeconfig with client key and certificate data and a token.
        let kubeconfig = layout.kubeconfig
        let original = try String(contentsOfFile: kubeconfig, encoding: .utf8)
        let keyData = Data(Self.privateKeyPEM.utf8).base64EncodedString()
        let certificateData = Data(Self.certificatePEM.utf8).base64EncodedString()
        let changed = original
            .replacingOccurrences(of: "client-key-data: c3RhbmQtaW4=", with: "client-key-data: \(keyData)\n    token: \(Self.userToken)")
            .replacingOccurrences(of: "client-certificate-data: c3RhbmQtaW4=", with: "client-certificate-data: \(certificateData)")
        #expect(changed != original)
        try changed.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        // A phase log in which a token and the private key were printed.
        try "k0sctl: joining with token \(Self.joinToken)\nAuthorization: Bearer \(Self.bearer)\n\(Self.privateKeyPEM)"
            .write(toFile: layout.logs + "/extra.log", atomically: true, encoding: .utf8)
        let clusterKey = try String(contentsOfFile: layout.privateKey, encoding: .utf8)
        let clusterKeyLines = clusterKey.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
        #expect(!clusterKeyLines.isEmpty)
        let journal = "Dec 05 17:00:01 worker-1 k0s[99]: level=info msg=\"created a join token \(Self.joinToken)\"\n"
            + "Dec 05 17:00:02 worker-1 k0s[99]: bootstrap token \(Self.bootstrapToken) used\n"
            + "Dec 05 17:00:03 worker-1 k0s[99]: password=\(Self.userToken)\n"
        let journalJSON = String(decoding: try JSONSerialization.data(withJSONObject: ["worker-1": journal]), as: UTF8.self)
        let out = world.directory + "/bundles"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

        let started = Date()
        let result = try await world.run(["support", "--out", "bundles", "--since", "30m", "--node-timeout", "30s"],
                                         environment: ["K0SLUA_STANDIN_FAULTS": "hang:worker-2", "K0SLUA_STANDIN_JOURNAL": journalJSON])
        #expect(result.exitCode == 0, "\(result.standardError)")
        #expect(Date().timeIntervalSince(started) < 100, "a hanging node costs its timeout, not more")

        // The bundle: mode 0600, named after the cluster, nothing left behind.
        let entries = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(entries.count == 1 && entries[0].hasPrefix("k0slua-support-ha-") && entries[0].hasSuffix("Z.tar.gz"), "\(entries)")
        let mode = try FileManager.default.attributesOfItem(atPath: out + "/" + entries[0])[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(result.standardOutput.contains("wrote \(out)/\(entries[0]) ("), "\(result.standardOutput)")

        let (_, files) = try await Self.unpack(out)
        for path in ["SUMMARY.txt", "REDACTED.txt", "k0slua/version.txt", "k0slua/cluster.lua", "k0slua/plan.json", "k0slua/state.json",
                     "k0slua/Vagrantfile", "k0slua/k0sctl.yaml", "k0slua/kubeconfig", "k0slua/doctor.txt", "k0slua/host.txt", "k0slua/status.txt",
                     "k0slua/logs/extra.log",
                     "cluster/nodes-pods.txt", "cluster/events.txt", "cluster/describe-nodes.txt", "cluster/clusterconfig.yaml"] {
            #expect(files[path] != nil, "\(path) in the bundle: \(files.keys.sorted())")
        }
        #expect(files.keys.contains { $0.hasPrefix("k0slua/logs/") && $0 != "k0slua/logs/extra.log" }, "up's phase logs")
        #expect(files["k0slua/version.txt"] == "k0slua 0.1.0\n")
        #expect(files["k0slua/host.txt"]?.contains("cpus: ") == true && files["k0slua/host.txt"]?.contains("k0sctl: ") == true)
        for node in ["control-plane-1", "control-plane-2", "control-plane-3", "worker-1"] {
            for file in ["k0s-status.txt", "k0s-sysinfo.txt", "journal.txt", "ip-addr.txt", "ip-route.txt", "df.txt", "free.txt", "images.txt", "hosts.txt"] {
                #expect(files["nodes/\(node)/\(file)"] != nil, "nodes/\(node)/\(file)")
            }
        }
        #expect(files["nodes/worker-1/k0s-status.txt"]?.contains("Role: worker") == true)
        #expect(files["nodes/worker-1/images.txt"]?.contains("registry.k8s.io/pause") == true)
        #expect(files["cluster/clusterconfig.yaml"]?.contains("kind: ClusterConfig") == true)
        #expect(files["cluster/nodes-pods.txt"]?.contains("node/worker-1") == true)
        // The hanging node is noted and skipped.
        #expect(files["SUMMARY.txt"]?.contains("worker-2: skipped after 30s without an answer") == true, "\(files["SUMMARY.txt"] ?? "")")
        #expect(result.standardError.contains("worker-2: skipped, no answer within 30s"), "\(result.standardError)")
        for node in ["control-plane-1", "control-plane-2", "control-plane-3", "worker-1"] {
            #expect(result.standardError.contains("    \(node): 9 outputs"), "one progress line per node: \(result.standardError)")
        }
        // The journal asks for the window and a bounded size.
        let journalCalls = world.calls.filter { $0.tool == "ssh" && $0.argv.last?.hasPrefix("sudo journalctl") == true }
        #expect(journalCalls.first?.argv.last == "sudo journalctl -u k0scontroller -u k0sworker --since=-1800s -n 5000 --no-pager")

        // No secret anywhere, by value and by pattern.
        let secrets = [Self.vipPass, Self.privateKeyBody, Self.userToken, Self.joinToken, Self.bootstrapToken, Self.bearer, keyData, certificateData,
                       "MIIBKnownSupportBundleCertificate"] + clusterKeyLines
        for (path, text) in files {
            for secret in secrets { #expect(!text.contains(secret), "\(path) holds a secret: \(secret.prefix(12))…") }
            for pattern in Self.keyMaterial {
                #expect(text.range(of: pattern, options: .regularExpression) == nil, "\(path) matches \(pattern)")
            }
        }
        #expect(!files.keys.contains { $0.hasSuffix("id_ed25519") })

        // REDACTED.txt names each file and kind, never a value.
        let redacted = try #require(files["REDACTED.txt"])
        for line in ["k0slua/cluster.lua: vip_auth_pass value", "k0slua/k0sctl.yaml: authPass value", "k0slua/kubeconfig: client-key-data value",
                     "k0slua/kubeconfig: client-certificate-data value", "k0slua/kubeconfig: token value",
                     "k0slua/logs/extra.log: k0s join token", "k0slua/logs/extra.log: bearer token", "k0slua/logs/extra.log: private key (PEM)",
                     "nodes/worker-1/journal.txt: k0s join token", "nodes/worker-1/journal.txt: bootstrap token",
                     "nodes/worker-1/journal.txt: password value", "cluster/clusterconfig.yaml: authPass value",
                     "never included: the cluster's private key (id_ed25519)"] {
            #expect(redacted.contains(line), "REDACTED.txt names \(line):\n\(redacted)")
        }
    }

    @Test func item20_2_withoutStateItCollectsTheK0sluaPartAndSaysWhatIsMissing() async throws {
        let world = try StandInWorld(cluster: Self.source)
        let result = try await world.run(["support"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        let (_, files) = try await Self.unpack(world.directory)
        for path in ["k0slua/version.txt", "k0slua/cluster.lua", "k0slua/plan.json", "k0slua/doctor.txt", "k0slua/host.txt", "SUMMARY.txt", "REDACTED.txt"] {
            #expect(files[path] != nil, "\(path): \(files.keys.sorted())")
        }
        #expect(!files.keys.contains { $0.hasPrefix("nodes/") || $0.hasPrefix("cluster/") })
        let summary = try #require(files["SUMMARY.txt"])
        #expect(summary.contains("no state directory at \(Self.layout(world).directory)"), "\(summary)")
        #expect(result.standardError.contains("note: not collected: nodes and cluster: skipped"), "\(result.standardError)")
        #expect(world.calls.allSatisfy { $0.tool != "ssh" || $0.argv == ["-V"] }, "no node is asked before up ran")
    }

    @Test func item20_2_afterAFailedUpItCollectsWhatExists() async throws {
        let world = try StandInWorld(cluster: Self.source)
        let up = try await world.run(["up"], environment: ["K0SLUA_STANDIN_FAIL": "k0sctl:apply"])
        #expect(up.exitCode == 1)
        #expect(up.standardError.contains("collect logs for a bug report: k0slua support"), "\(up.standardError)")
        let result = try await world.run(["support", "--node-timeout", "20s"], environment: ["K0SLUA_STANDIN_FAULTS": "unreachable:worker-2"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        let (_, files) = try await Self.unpack(world.directory)
        #expect(files.keys.contains { $0.hasPrefix("k0slua/logs/") }, "the failed run's phase logs")
        // Machines run but k0s was never installed: outputs hold the nodes' errors.
        #expect(files["nodes/worker-1/k0s-status.txt"]?.contains("# exit 1") == true)
        let summary = try #require(files["SUMMARY.txt"])
        #expect(summary.contains("worker-2: skipped, no answer over SSH: ssh: connect to host"), "\(summary)")
        #expect(summary.contains("cluster: skipped, no kubeconfig at"), "\(summary)")
    }

    @Test func item20_2_aDownAPIIsNotedAndHealthPointsToSupport() async throws {
        let world = try await Self.upWorld()
        let health = try await world.run(["health"], environment: ["K0SLUA_STANDIN_FAULTS": "api-down"])
        #expect(health.exitCode == 1)
        #expect(health.standardError.contains("hint: collect logs for a bug report: k0slua support"), "\(health.standardError)")
        let result = try await world.run(["support"], environment: ["K0SLUA_STANDIN_FAULTS": "api-down"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        let (_, files) = try await Self.unpack(world.directory)
        #expect(files["cluster/readyz.txt"]?.contains("was refused") == true)
        #expect(files["SUMMARY.txt"]?.contains("cluster: skipped, the API did not answer") == true)
    }

    @Test func item20_2_aBundleThatCannotBeWrittenExits1() async throws {
        let world = try StandInWorld(cluster: Self.source)
        let result = try await world.run(["support", "--out", "missing/dir"])
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains("error: cannot write the support bundle: \"\(world.directory)/missing/dir\" is not a directory"),
                "\(result.standardError)")
        let bad = try await world.run(["support", "--since", "two hours"])
        #expect(bad.exitCode == 64)
        #expect(try FileManager.default.contentsOfDirectory(atPath: world.directory).allSatisfy { !$0.contains("k0slua-support") })
    }

    @Test func item20_2_aClusterLuaThatDoesNotLoadStillGivesABundle() async throws {
        let world = try StandInWorld(cluster: "return { name = 42 }")
        let result = try await world.run(["support"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        let (root, files) = try await Self.unpack(world.directory)
        #expect(root.hasPrefix("k0slua-support-unknown-"))
        #expect(files["k0slua/cluster-lua-errors.txt"]?.contains("name") == true)
        #expect(files["k0slua/cluster.lua"] == "return { name = 42 }")
    }

    /// `task cluster:support` writes into the directory task runs from (dry run: the Taskfile's
    /// build step would wait for the .build lock the running suite holds).
    @Test func item20_2_taskClusterSupportWritesWhereTaskRuns() async throws {
        let task = try #require(ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { "\($0)/task" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }, "go-task must be on PATH (./setup installs it)")
        let here = NSTemporaryDirectory() + "k0slua-task-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: here, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: here) }
        let result = try await SubprocessRunner().run(Command(task, ["--taskfile", Repo.root + "/Taskfile.yml", "--dry", "cluster:support",
                                                                     "CLUSTER=\(here)/cluster.lua", "--", "--since", "6h"],
                                                              environment: ["TASK_TEMP_DIR": here + "/.task"], workingDirectory: here))
        #expect(result.exitCode == 0, "\(result.standardError)")
        #expect((result.standardOutput + result.standardError).contains("k0slua support --file \"\(here)/cluster.lua\" --out \"\(here)\" --since 6h"),
                "\(result.standardOutput)\(result.standardError)")
    }

    // MARK: - Redactor

    @Test(arguments: [
        ("users:\n- name: a\n  user:\n    client-key-data: QUJDREVGR0g=\n", "client-key-data value", "QUJDREVGR0g="),
        ("{\"token\": \"s3cr3tvalue\"}", "token value", "s3cr3tvalue"),
        ("k0s = { vip = \"192.168.1.100\", vip_auth_pass = \"k0svip1\" }", "vip_auth_pass value", "k0svip1"),
        ("spec:\n  token: |\n    line-one-secret\n    line-two-secret\nnext: 1\n", "token value", "line-one-secret"),
        ("msg=\"join\" token=H4sIAAAAAAAA/abcdefghijklmnop", "token value", "H4sIAAAAAAAA"),
        ("curl -H 'Authorization: Bearer abcdefgh12345678'", "bearer token", "abcdefgh12345678"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----", "private key (PEM)", "b3BlbnNzaC1rZXktdjEAAAA"),
        ("journal cut: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA", "private key (PEM)", "MIIEpAIBAAKCAQEA"),
        ("sa token eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJl here", "JWT (service account token)", "eyJpc3MiOiJrdWJlcm5ldGVzIn0"),
        ("kubeadm join --discovery abcdef.0123456789abcdef", "bootstrap token", "abcdef.0123456789abcdef"),
    ])
    func item20_2_redactorRemovesEachKind(text: String, kind: String, secret: String) {
        let (clean, found) = Redactor().redact(text)
        #expect(!clean.contains(secret), "\(clean)")
        #expect(found[kind] != nil, "\(found)")
    }

    @Test func item20_2_redactorKeepsWhatIsNoSecret() {
        let text = "server: https://192.168.1.100:6443\ntoken: \"\"\nclient-key: /path/to/key\nimage: registry.k8s.io/pause:3.10.1\nPasswordAuthentication no\nsecretName: tls\n"
        let (clean, found) = Redactor().redact(text)
        #expect(clean == text)
        #expect(found.isEmpty)
    }
}
