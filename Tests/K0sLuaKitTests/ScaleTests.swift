@testable import K0sLuaKit
import Foundation
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
}
