import K0sLuaKit
import PropertyBased
import Testing

/// Random value trees, shaped like cluster descriptions often enough to reach deep into the
/// decoder: it never crashes, and it returns a model or errors that each carry a path.
@Suite struct DecoderPropertyTests {
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

    static let keys = ["name", "provider", "image", "box", "network", "k0s", "nodes", "hooks", "ssh", "libvirt", "role", "ip",
                       "cpus", "memory", "disk", "workloads", "labels", "taints", "cidr", "gateway", "mode", "version", "vip",
                       "pre_join", "post_join", "user", "port", "key_path", "k0sctl_hooks", "apply", "before", "zzz", ""]
    static let strings = ["controller", "worker", "tart", "libvirt", "hosts", "192.168.64.10", "192.168.64.0/24", "10.0.0.300",
                          "a=b:NoSchedule", "bad taint", "v1.33.4+k0s.0", "node-1", "Node_1", "", "4G", "shared", "softnet"]

    static func value(_ rng: inout SplitMix, depth: Int) -> LuaValue {
        let choice = Int(rng.next() % (depth > 3 ? 7 : 10))
        switch choice {
        case 0: return .nil_
        case 1: return .boolean(rng.next() % 2 == 0)
        case 2: return .integer(Int64(bitPattern: rng.next()) % 5000 - 100)
        case 3: return .number(Double(Int64(bitPattern: rng.next()) % 10000) / 7)
        case 4, 5: return .string(strings[Int(rng.next() % UInt64(strings.count))])
        case 6: return .function(LuaFunctionRef(reference: 1, source: "cluster.lua", line: 3))
        case 7, 8:
            var entries: [(key: LuaValue, value: LuaValue)] = []
            for _ in 0..<Int(rng.next() % 6) {
                entries.append((key: .string(keys[Int(rng.next() % UInt64(keys.count))]), value: value(&rng, depth: depth + 1)))
            }
            return .table(LuaTable(entries: entries, line: Int(rng.next() % 40)))
        default:
            let count = Int(rng.next() % 5)
            return .table(LuaTable(entries: (0..<count).map { (key: .integer(Int64($0 + 1)), value: value(&rng, depth: depth + 1)) },
                                   line: nil))
        }
    }

    /// A cluster-shaped root with random parts.
    static func cluster(_ rng: inout SplitMix) -> LuaValue {
        var entries: [(key: LuaValue, value: LuaValue)] = []
        for key in ["name", "provider", "network", "k0s", "nodes", "hooks"] where rng.next() % 4 != 0 {
            let part: LuaValue
            if key == "nodes", rng.next() % 3 != 0 {
                let nodes = (0..<Int(rng.next() % 4)).map { index -> (key: LuaValue, value: LuaValue) in
                    var fields: [(key: LuaValue, value: LuaValue)] = []
                    for field in ["name", "role", "ip", "cpus", "memory", "disk", "workloads", "labels", "taints"] where rng.next() % 5 != 0 {
                        fields.append((key: .string(field), value: value(&rng, depth: 2)))
                    }
                    return (key: .integer(Int64(index + 1)), value: .table(LuaTable(entries: fields, line: index + 10)))
                }
                part = .table(LuaTable(entries: nodes, line: 9))
            } else {
                part = value(&rng, depth: 1)
            }
            entries.append((key: .string(key), value: part))
        }
        return .table(LuaTable(entries: entries, line: 1))
    }

    @Test func decoderAlwaysAnswersWithAModelOrPathedErrors() async {
        await propertyCheck(count: 2000, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var rng = SplitMix(state: seed)
            let value = seed % 5 == 0 ? Self.value(&rng, depth: 0) : Self.cluster(&rng)
            let decoder = ClusterDecoder(file: "cluster.lua")
            do throws(DiagnosticList) {
                let cluster = try decoder.decode(value)
                // A decoded model always validates to a verdict, never a crash; every problem has a path.
                let problems = ClusterValidator(file: "cluster.lua", hostFacts: fixedHost).diagnostics(for: cluster)
                #expect(problems.allSatisfy { !$0.path.isEmpty })
            } catch {
                #expect(!error.diagnostics.isEmpty)
                for diagnostic in error.diagnostics {
                    #expect(diagnostic.file == "cluster.lua")
                    #expect(!diagnostic.message.isEmpty)
                    // Only "the whole file returned the wrong thing" has no path.
                    #expect(!diagnostic.path.isEmpty || diagnostic.message.hasPrefix("cluster.lua must return a table"),
                            "no path: \(diagnostic)")
                }
            }
        }
    }
}
