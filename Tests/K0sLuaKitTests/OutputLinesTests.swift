@testable import K0sLuaKit
import Foundation
import Subprocess
import Synchronization
import Testing

/// Issue 24, fleet overhead: the runner reads a child's output in chunks, with the line rules of
/// swift-subprocess's `strings()`, which it used before.
@Suite struct OutputLinesTests {
    /// Lines and the error, if any, as `strings()` gives them for the bytes `cat` prints.
    static func subprocessLines(of file: String) async throws -> (lines: [String], error: String?) {
        let result = try await Subprocess.run(.path("/bin/cat"), arguments: [file], input: .none, output: .sequence, error: .discarded) { execution -> ([String], String?) in
            var lines: [String] = []
            do {
                for try await line in execution.standardOutput.strings() { lines.append(line) }
            } catch {
                return (lines, "\(error)")
            }
            return (lines, nil)
        }
        return result.closureResult
    }

    /// The same bytes through `OutputLines`, cut into chunks at `cuts`.
    static func outputLines(of bytes: [UInt8], cuts: [Int]) -> (lines: [String], error: String?) {
        var splitter = OutputLines()
        var lines: [String] = []
        var start = 0
        do {
            for end in cuts.sorted() + [bytes.count] where end >= start {
                try bytes[start..<end].withUnsafeBytes { try splitter.feed($0) { lines.append($0) } }
                start = end
            }
        } catch {
            return (lines, "\(error)")
        }
        splitter.finish { lines.append($0) }
        return (lines, nil)
    }

    @Test func item24_2_outputLinesSplitLikeSubprocessStrings() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("k0slua-lines-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Every line break, each lead byte of NEL/LS/PS with every follower, CR before and at the end.
        let alphabet: [UInt8] = [0x0A, 0x0B, 0x0C, 0x0D, 0xC2, 0x85, 0xE2, 0x80, 0xA8, 0xA9, 0x61, 0xFF, 0x20]
        var rng = ScaleTests.SplitMix(state: 2024)
        var cases: [[UInt8]] = [[], [0x0D], [0x0D, 0x0A], [0xC2], [0xE2], [0xE2, 0x80], [0x61, 0x0D, 0x0D, 0x0A, 0x62],
                                Array("héllo\nwörld\r\n\u{2028}x\u{85}y\u{2029}".utf8)]
        for _ in 0..<150 {
            cases.append((0..<Int(rng.next() % 24)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        }
        // Lines at and past the 128 KiB limit, with and without a break after them.
        let limit = 128 * 1024
        cases.append([UInt8](repeating: 0x61, count: limit) + [0x0A])
        cases.append([UInt8](repeating: 0x61, count: limit + 1))
        cases.append([UInt8](repeating: 0x61, count: limit - 1) + [0xC2, 0x41, 0x0A])
        for (index, bytes) in cases.enumerated() {
            let file = directory.appendingPathComponent("\(index)").path
            _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
            let expected = try await Self.subprocessLines(of: file)
            let cuts = (0..<Int(rng.next() % 4)).map { _ in bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count + 1)) }
            let got = Self.outputLines(of: bytes, cuts: cuts)
            #expect(got.lines == expected.lines, "case \(index): \(bytes.prefix(32)) cut at \(cuts)")
            #expect(got.error == expected.error, "case \(index)")
            // And through the runner: lines as they arrive, and the collected output.
            let seen = Mutex<[String]>([])
            do {
                let result = try await SubprocessRunner().run(Command("/bin/cat", [file])) { line in
                    if case .standardOutput(let text) = line { seen.withLock { $0.append(text) } }
                }
                #expect(expected.error == nil, "case \(index)")
                #expect(seen.withLock { $0 } == expected.lines, "case \(index)")
                #expect(result.standardOutput == expected.lines.map { $0 + "\n" }.joined(), "case \(index)")
            } catch {
                #expect("\(error)" == expected.error, "case \(index)")
            }
        }
    }

    /// 4 MiB in pipe-sized chunks, lines cut across chunk borders: every line arrives once. (How fast
    /// is the fleet benchmark's business, not a test's: docs/benchmarks.md.)
    @Test func item24_2_fourMiBInPipeSizedChunksArriveLineByLine() {
        let line = "            \"address\": \"10.30.1.10\", \"type\": \"InternalIP\"\n"
        let bytes = Array(String(repeating: line, count: 4 << 20 / line.utf8.count).utf8)
        var splitter = OutputLines()
        var count = 0
        // Chunks of a pipe's size, as the runner gets them.
        for offset in stride(from: 0, to: bytes.count, by: 65536) {
            bytes[offset..<min(offset + 65536, bytes.count)].withUnsafeBytes { chunk in
                try? splitter.feed(chunk) { _ in count += 1 }
            }
        }
        splitter.finish { _ in count += 1 }
        #expect(count == bytes.count / line.utf8.count)
    }
}
