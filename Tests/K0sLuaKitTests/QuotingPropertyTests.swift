import Foundation
@testable import K0sLuaKit
import PropertyBased
import Testing
import Yams

/// Random strings go through the quoting the renderers use and come back unchanged from the real
/// parsers: Ruby (`ruby`, as Vagrant reads the Vagrantfile), YAML (Yams, as k0sctl's YAML library
/// would), and the guest's shell after Vagrant's own quoting of provisioner arguments.
@Suite struct QuotingPropertyTests {
    static let alphabet: [Unicode.Scalar] = Array("abcXYZ019 -_.:/=@'\"\\$`#{}()[]|;&<>*?!~%^,+".unicodeScalars)
        + ["\n", "\t", "\r", "\u{1}", "\u{1b}", "\u{7f}", "\u{85}", "\u{a0}", "é", "ß", "😀", "\u{2028}", "\u{2029}", "\u{feff}", "\u{301}", "\u{ffff}"]

    static func strings(seed: UInt64, count: Int) -> [String] {
        var rng = DecoderPropertyTests.SplitMix(state: seed)
        return (0..<count).map { _ in
            var scalars = String.UnicodeScalarView()
            let length = Int(rng.next() % 24)
            for _ in 0..<length { scalars.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            // Now and then the classic payloads whole.
            switch rng.next() % 8 {
            case 0: scalars.append(contentsOf: "$(touch /tmp/k0slua-pwned)".unicodeScalars)
            case 1: scalars.append(contentsOf: "#{`touch /tmp/k0slua-pwned`}".unicodeScalars)
            case 2: scalars.append(contentsOf: "\"; system('touch /tmp/k0slua-pwned'); \"".unicodeScalars)
            default: break
            }
            return String(scalars)
        }
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// Runs a program with the script on stdin; returns stdout.
    static func run(_ executable: String, _ arguments: [String], input: String) throws -> (String, Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        let writer = Thread { stdin.fileHandleForWriting.write(Data(input.utf8)); try? stdin.fileHandleForWriting.close() }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: output, as: UTF8.self), process.terminationStatus)
    }

    /// Vagrant's own quote_and_escape, read from the installed gem so that the test follows Vagrant.
    static let vagrantQuoteAndEscape: String? = {
        // Debian 12 installs Vagrant's gem under all/; Debian 13 under the multiarch Ruby directory.
        let multiarch = ["/usr/lib/x86_64-linux-gnu/rubygems-integration", "/usr/lib/aarch64-linux-gnu/rubygems-integration"]
            .flatMap { lib in ((try? FileManager.default.contentsOfDirectory(atPath: lib)) ?? []).map { "\(lib)/\($0)/gems" } }
        let vagrantGems = (["/usr/share/rubygems-integration/all/gems"] + multiarch).flatMap { base in
            ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).filter { $0.hasPrefix("vagrant-2") }.map { "\(base)/\($0)" }
        }
        guard let vagrant = vagrantGems.sorted().last,
              let source = try? String(contentsOfFile: "\(vagrant)/plugins/provisioners/shell/provisioner.rb", encoding: .utf8),
              let start = source.range(of: "def quote_and_escape"),
              let end = source.range(of: "\n      end", range: start.upperBound..<source.endIndex)
        else { return nil }
        return String(source[start.lowerBound..<end.upperBound])
    }()

    @Test func rubyLiteralsAndVagrantShellArgumentsRoundTrip() async throws {
        let quoteAndEscape = try #require(Self.vagrantQuoteAndEscape, "Vagrant's provisioner.rb not found")
        await propertyCheck(count: 8, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            let values = Self.strings(seed: seed, count: 150)
            // One Ruby run per batch: each literal as Ruby reads it, and the shell word Vagrant makes of it.
            // Ruby reads a file (the Vagrantfile) as UTF-8 but a script on stdin in the locale's
            // encoding: US-ASCII without LANG (env -i, a minimal install), where é is a syntax error.
            var ruby = "# encoding: utf-8\n" + quoteAndEscape + "\nrequire 'base64'\n"
            for value in values {
                ruby += "v = \(Quote.ruby(value)); puts 'R' + Base64.strict_encode64(v)\n"
                ruby += "a = \(Quote.vagrantShellArgument(value)); puts 'S' + Base64.strict_encode64(quote_and_escape(a))\n"
            }
            guard let (output, status) = try? Self.run("ruby", ["-"], input: ruby), status == 0 else {
                Issue.record("ruby failed on seed \(seed)")
                return
            }
            let lines = output.split(separator: "\n")
            let read = lines.filter { $0.hasPrefix("R") }.map { String(decoding: Data(base64Encoded: String($0.dropFirst()))!, as: UTF8.self) }
            #expect(read == values, "seed \(seed)")
            // The shell words as the guest's sh reads them (NUL cannot be in an argument at all).
            let words = lines.filter { $0.hasPrefix("S") }.map { String(decoding: Data(base64Encoded: String($0.dropFirst()))!, as: UTF8.self) }
            let script = words.map { "set -- \($0)\nprintf '%s' \"$1\" | base64 -w0; echo" }.joined(separator: "\n") + "\n"
            guard let (shellOutput, shellStatus) = try? Self.run("sh", ["-s"], input: script), shellStatus == 0 else {
                Issue.record("sh failed on seed \(seed)")
                return
            }
            let shellRead = shellOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                .map { String(decoding: Data(base64Encoded: String($0))!, as: UTF8.self) }
            #expect(shellRead == values, "seed \(seed)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/k0slua-pwned"))
    }

    @Test func yamlScalarsRoundTrip() async {
        await propertyCheck(count: 20, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            // "x" first: Foundation drops a byte-order mark at the start of a string Yams builds,
            // which says nothing about the quoting.
            for value in Self.strings(seed: seed, count: 100).map({ "x" + $0 }) {
                let document = "key: \(Quote.yaml(value))\nlist: [\(Quote.yaml(value))]\n"
                guard let parsed = (try? Yams.load(yaml: document)) as? [String: Any] else {
                    Issue.record("Yams cannot read \(document.debugDescription)")
                    continue
                }
                #expect(parsed["key"] as? String == value, "\(document.debugDescription)")
                #expect((parsed["list"] as? [Any])?.first as? String == value)
            }
        }
    }
}
