@testable import K0sLuaKit
import Foundation
import Synchronization
import Testing

/// Issue 24: plans at the floor, probes and fan-out that work on 1,000 hosts.
@Suite struct ScaleTests {
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Random strings over an alphabet that reaches every branch of the patterns (ends, '.', '-',
    /// upper case, ':', control and non-ASCII characters).
    static func strings(count: Int, seed: UInt64) -> [String] {
        let alphabet: [String] = ["a", "z", "A", "Z", "0", "9", "f", "F", "g", "-", "_", ".", ":", "/", "@", "+", " ", "~",
                                  "\u{1}", "\u{7f}", "\n", "é", "e\u{301}", "\r\n", "ß"]
        var rng = SplitMix(state: seed)
        return (0..<count).map { _ in
            (0..<Int(rng.next() % 8)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined()
        }
    }

    /// The hand-written checks accept exactly what the regular expressions they replace accepted.
    @Test func item24_1_handWrittenChecksMatchThePatterns() throws {
        let rules: [(ValueSafety.Rule, String)] = [
            (ValueSafety.user, #"[A-Za-z_][A-Za-z0-9_.-]*"#),
            (ValueSafety.address, #"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*"#),
            (ValueSafety.image, #"[A-Za-z0-9][A-Za-z0-9._/:@+-]*"#),
            (ValueSafety.libvirtName, #"[A-Za-z0-9][A-Za-z0-9._-]*"#),
            (ValueSafety.interface, #"[A-Za-z0-9][A-Za-z0-9._-]*"#),
            (ValueSafety.password, #"[\x20-\x7e]+"#),
        ]
        let samples = Self.strings(count: 4000, seed: 24) + ["a", "a.", ".", "a..b", "-a", "a-", "::1", "fe80::1%en0", "10.0.0.1", "x.y.z."]
        for (rule, pattern) in rules {
            let regex = try Regex(pattern)
            for sample in samples where !sample.isEmpty {
                #expect(rule.matches(sample) == (sample.wholeMatch(of: regex) != nil), "\(pattern) on \(ValueSafety.show(sample))")
            }
        }
        let name = try Regex(#"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"#)
        let subdomain = try Regex(#"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"#)
        let hostname = try Regex(#"[a-z0-9]([-a-z0-9]*[a-z0-9])?"#)
        for sample in samples {
            #expect(LabelSyntax.isName(sample) == (sample.wholeMatch(of: name) != nil), "name \(ValueSafety.show(sample))")
            #expect(LabelSyntax.isDNSSubdomain(sample) == (sample.wholeMatch(of: subdomain) != nil), "subdomain \(ValueSafety.show(sample))")
            #expect(ClusterValidator.isHostname(sample) == (sample.wholeMatch(of: hostname) != nil), "hostname \(ValueSafety.show(sample))")
        }
        // Paths: no control character in any scalar (a grapheme such as "\r\n" included).
        for sample in samples where !sample.isEmpty {
            let hasControl = sample.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
            #expect(ValueSafety.path.matches(sample) == !hasControl, "path \(ValueSafety.show(sample))")
        }
    }

    /// The dotted-quad rule as it was written with Character properties, before the byte-wise parser.
    static func characterIPv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                  !(part.count > 1 && part.first == "0"), let octet = UInt32(part), octet <= 255
            else { return nil }
            result = result << 8 | octet
        }
        return result
    }

    /// The byte-wise IPv4 parser accepts exactly what the Character-based one accepted, with the same value.
    @Test func item24_1_byteWiseIPv4MatchesTheCharacterRule() {
        let alphabet: [String] = ["0", "1", "2", "5", "9", "25", "255", "256", "00", ".", ".", "a", "-", "+", " ", "é", "\u{663}", "1\u{301}", "\r\n"]
        var rng = SplitMix(state: 4)
        var samples = ["0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3", "1.2.3.4.", ".1.2.3", "01.2.3.4", "1.2.3.04", "1..2.3",
                       "10.20.1.10", "1.2.3.4 ", "1.2.3.255", "1.2.3.2555", "1234.1.1.1", ""]
        for _ in 0..<20000 {
            samples.append((0..<Int(rng.next() % 9)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined())
        }
        for sample in samples {
            #expect(IPv4Address(sample)?.value == Self.characterIPv4(sample), "\(ValueSafety.show(sample))")
        }
    }

    /// Answers the reachability probe from the addresses it is given on stdin, the way a node
    /// would, and records what a fleet-sized run needs checked: the longest argument, how many
    /// calls ran at once, and which addresses each node was asked to probe.
    final class ProbeRunner: ProcessRunning {
        struct Seen { var inFlight = 0, maxInFlight = 0, longestArgument = 0, calls = 0; var asked: [String: [String]] = [:] }
        let silent: Set<String>
        let partial: Set<String>
        let seen = Mutex(Seen())

        init(silent: Set<String> = [], partial: Set<String> = []) {
            self.silent = silent
            self.partial = partial
        }

        func run(_ command: Command, onLine: (@Sendable (OutputLine) -> Void)?) async throws -> CommandResult {
            let host = command.arguments.firstIndex(of: "--").map { command.arguments[$0 + 1] } ?? "?"
            let addresses = (command.standardInput ?? "").split(separator: "\n").map(String.init)
            seen.withLock {
                $0.inFlight += 1
                $0.calls += 1
                $0.maxInFlight = max($0.maxInFlight, $0.inFlight)
                $0.longestArgument = max($0.longestArgument, command.arguments.map(\.utf8.count).max() ?? 0)
                $0.asked[host] = addresses
            }
            defer { seen.withLock { $0.inFlight -= 1 } }
            try await Task.sleep(for: .milliseconds(1))
            if silent.contains(host) { return CommandResult(exitCode: 0) }
            let answered = partial.contains(host) ? Array(addresses.prefix(1)) : addresses
            return CommandResult(exitCode: 0, standardOutput: answered.map { "ok \($0)\n" }.joined())
        }
    }

    static func thousandNodes(_ runner: ProbeRunner, concurrency: Int = FanOut.defaultLimit) throws -> Bootstrap {
        let loaded = try loadCluster(Repo.root + "/Benchmarks/cluster-1000.lua")
        var options = BootstrapOptions(hostFacts: fixedHost)
        options.concurrency = concurrency
        let layout = StateLayout(directory: NSTemporaryDirectory() + "k0slua-scale-\(UUID().uuidString)")
        try LogFile.makeDirectory(layout.logs)
        return Bootstrap(loaded: loaded, layout: layout, runner: runner, options: options, progress: QuietProgress())
    }

    /// 1,000 nodes: no argument near Linux's 128 KiB limit, at most the bound of SSH sessions at
    /// once, a bounded sample per node that still has every node probed by someone, and a phase
    /// line that says it sampled.
    @Test func item24_2_connectivityOfAThousandNodes() async throws {
        let runner = ProbeRunner()
        let bootstrap = try Self.thousandNodes(runner)
        let note = try await bootstrap.connectivity()
        let seen = runner.seen.withLock { $0 }
        let nodes = bootstrap.cluster.nodes
        #expect(nodes.count == 1000)
        #expect(seen.calls == 1000)
        #expect(seen.longestArgument < 4096, "the probe's command line does not grow with the cluster")
        #expect(seen.maxInFlight <= FanOut.defaultLimit && seen.maxInFlight > 1)
        let controllers = nodes.filter { $0.role == .controller }.count
        #expect(seen.asked.values.allSatisfy { $0.count <= controllers + ReachabilityProbe.ringSuccessors })
        let probed = Set(seen.asked.values.joined())
        #expect(probed == Set(nodes.compactMap { $0.ip?.description }), "every node is probed by someone")
        let pairs = seen.asked.values.map(\.count).reduce(0, +)
        #expect(note == "\(pairs) pairs answer (\(ReachabilityProbe.sampleDescription))")
    }

    /// A probe that answers nothing, or only some of its addresses, fails every pair it left out.
    @Test func item20_1_connectivityAccountsForEveryPair() async throws {
        let runner = ProbeRunner(silent: ["10.20.4.12"], partial: ["10.20.1.10"])
        let bootstrap = try Self.thousandNodes(runner, concurrency: 4)
        let silent = try #require(bootstrap.cluster.nodes.first { $0.ip?.description == "10.20.4.12" })
        let partial = try #require(bootstrap.cluster.nodes.first { $0.ip?.description == "10.20.1.10" })
        let targets = ReachabilityProbe.targets(of: bootstrap.cluster.nodes)
        do {
            _ = try await bootstrap.connectivity()
            Issue.record("connectivity passed on missing answers")
        } catch let failure as BootstrapFailure {
            #expect(failure.phase == .connectivity)
            let expected = (targets[silent.name]! + targets[partial.name]!.dropFirst()).count
            #expect(failure.message == "\(expected) node pair(s) cannot talk")
            for peer in targets[silent.name]! {
                #expect(failure.outputTail.contains("\(silent.name) → \(peer.name) (\(peer.ip!)): no answer from the probe"))
            }
            #expect(!failure.outputTail.contains { $0.hasPrefix("\(partial.name) → \(targets[partial.name]![0].name) ") })
            #expect(failure.outputTail.contains("\(partial.name) → \(targets[partial.name]![1].name) (\(targets[partial.name]![1].ip!)): no answer from the probe"))
        }
        #expect(runner.seen.withLock { $0.maxInFlight } <= 4)
    }

    /// Up to the sampling size every node probes every other; above it, a ring with every controller.
    @Test func item24_2_sampleCoversEveryNode() throws {
        let small = try loadSource(#"return { provider = "hosts", ssh = { user = "root" }, nodes = require("k0slua.nodes").concat(require("k0slua.nodes").class { prefix = "c", role = "controller", count = 1, first_ip = "10.1.0.10", cpus = 1, memory = 1024, disk = 10 }, require("k0slua.nodes").class { prefix = "w", role = "worker", count = 49, first_ip = "10.1.0.20", cpus = 1, memory = 1024, disk = 10 }) }"#)
        let targets = ReachabilityProbe.targets(of: small.cluster.nodes)
        #expect(!ReachabilityProbe.isSampled(small.cluster.nodes))
        #expect(targets.values.allSatisfy { $0.count == 49 })
    }

    /// A `hosts` cluster of `workers` + 1 nodes with a key file, for runs against the stand-ins.
    static func hostsWorld(workers: Int) throws -> StandInWorld {
        let world = try StandInWorld(cluster: """
            local nodes = require "k0slua.nodes"
            return {
              name = "fleet", provider = "hosts", network = { cidr = "10.30.0.0/16" },
              ssh = { user = "ops", key_path = "id_test" },
              nodes = nodes.concat(
                nodes.class { prefix = "control-plane", role = "controller", count = 1, first_ip = "10.30.0.10", cpus = 2, memory = 2048, disk = 20 },
                nodes.class { prefix = "worker", role = "worker", count = \(workers), first_ip = "10.30.1.10", cpus = 2, memory = 2048, disk = 20 }),
            }
            """)
        _ = FileManager.default.createFile(atPath: world.directory + "/id_test", contents: Data("not a real key\n".utf8))
        return world
    }

    /// The most ssh processes the transcript shows alive at once (start and end lines by pid, on
    /// one clock: `started` and the end line's `time`), counting those whose arguments `include` takes.
    static func peakSSH(_ world: StandInWorld, where include: ([String]) -> Bool = { _ in true }) throws -> Int {
        let text = try String(contentsOfFile: world.directory + "/transcript.jsonl", encoding: .utf8)
        var starts: [Int: Double] = [:]
        var events: [(Double, Int)] = []
        for line in text.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard object["tool"] as? String == "ssh", let pid = object["pid"] as? Int,
                  let time = (object["started"] ?? object["time"]) as? Double else { continue }
            if object["end"] == nil, object["event"] == nil, object["signal"] == nil, !include(object["argv"] as? [String] ?? []) { continue }
            if object["end"] != nil {
                if let start = starts.removeValue(forKey: pid) { events += [(start, 1), (time, -1)] }
            } else if object["event"] == nil, object["signal"] == nil {
                starts[pid] = time
            }
        }
        var alive = 0, peak = 0
        for (_, change) in events.sorted(by: { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }) {
            alive += change
            peak = max(peak, alive)
        }
        return peak
    }

    /// `up` (connectivity, health) and `health` of 100 hosts never run more than `--parallel`
    /// ssh processes at once, and do run several.
    @Test func item24_3_aHundredNodesNeverMoreSSHThanTheBound() async throws {
        let world = try Self.hostsWorld(workers: 99)
        let environment = ["K0SLUA_STANDIN_HOSTS": "1", "K0SLUA_STANDIN_DELAY": "ssh:call=0.05"]
        let up = try await world.run(["up", "--parallel", "5", "--health-wait", "0"], environment: environment)
        #expect(up.exitCode == 0, "\(up.standardError)")
        #expect(up.standardError.contains("connectivity: ") && up.standardError.contains("pairs answer (sampled above 50 nodes"), "\(up.standardError)")
        let duringUp = try Self.peakSSH(world)
        #expect(duringUp <= 5 && duringUp > 1, "\(duringUp) ssh at once")
        world.clearTranscript()
        let health = try await world.run(["health", "--parallel", "3"], environment: environment)
        #expect(health.exitCode == 0, "\(health.standardOutput)")
        let duringHealth = try Self.peakSSH(world)
        #expect(duringHealth <= 3 && duringHealth > 1, "\(duringHealth) ssh at once")
        #expect(world.calls.filter { $0.tool == "ssh" }.count >= 300, "machines, reachability and k0s-status each reach every node")
    }

    /// #20: kubectl answering with nothing, or with lists that leave things out, fails the checks
    /// that read it, naming what is missing.
    @Test func item20_1_emptyOrPartialKubectlOutputFails() async throws {
        let loaded = try loadSource("""
            return { provider = "hosts", ssh = { user = "root" }, nodes = {
              { name = "c", role = "controller", ip = "10.1.0.10", cpus = 1, memory = 1024, disk = 10 },
              { name = "w", role = "worker", ip = "10.1.0.20", cpus = 1, memory = 1024, disk = 10 } } }
            """)
        let layout = StateLayout(directory: NSTemporaryDirectory() + "k0slua-scale-\(UUID().uuidString)")
        func checker(nodes: String, pods: String) -> HealthChecker {
            HealthChecker(cluster: loaded.cluster, layout: layout, runner: ScriptedRunner([
                ScriptedRunner.when("kubectl", "get", "nodes", then: CommandResult(exitCode: 0, standardOutput: nodes)),
                ScriptedRunner.when("kubectl", "get", "pods", then: CommandResult(exitCode: 0, standardOutput: pods)),
            ]))
        }
        let silent = checker(nodes: "", pods: "")
        let noOutput = await silent.nodesReady()
        #expect(noOutput.status == .failed && noOutput.evidence == ["kubectl get nodes: printed no node list (no output)"])
        #expect(await silent.taints().status == .failed)
        #expect(await silent.systemPods().status == .failed)
        let empty = checker(nodes: #"{"kind":"List","items":[]}"#, pods: #"{"kind":"List","items":[]}"#)
        #expect(await empty.nodesReady().evidence == ["w: not registered"])
        #expect(await empty.systemPods().evidence == ["coredns: no pod", "kube-proxy: no pod", "metrics-server: no pod", "CNI (kube-router or calico): no pod"])
        // A Node without status: no Ready condition and no InternalIP, both named.
        let bare = checker(nodes: #"{"kind":"List","items":[{"metadata":{"name":"w"}}]}"#, pods: "")
        let partial = await bare.nodesReady()
        #expect(partial.status == .failed)
        #expect(partial.evidence == ["w: NotReady (no Ready condition: )", "w: InternalIP none, expected 10.1.0.20"])
    }
}

