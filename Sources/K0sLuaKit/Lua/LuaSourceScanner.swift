import Foundation

/// Just enough of Lua's lexer to find table constructors: skips strings, long strings and comments.
enum LuaSourceScanner {
    /// The line of every `{` outside strings and comments, in source order.
    static func openingBraceLines(in source: Data) -> [Int] {
        let bytes = [UInt8](source)
        var lines: [Int] = []
        var line = 1
        var i = 0
        func longBracketLevel(at index: Int) -> Int? {
            // `[` `=`* `[`
            guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return nil }
            var j = index + 1
            while j < bytes.count, bytes[j] == UInt8(ascii: "=") { j += 1 }
            return j < bytes.count && bytes[j] == UInt8(ascii: "[") ? j - index - 1 : nil
        }
        func skipLong(level: Int, from start: Int) -> Int {
            var j = start
            while j < bytes.count {
                if bytes[j] == UInt8(ascii: "\n") { line += 1 }
                if bytes[j] == UInt8(ascii: "]") {
                    var k = j + 1
                    var equals = 0
                    while k < bytes.count, bytes[k] == UInt8(ascii: "=") { equals += 1; k += 1 }
                    if equals == level, k < bytes.count, bytes[k] == UInt8(ascii: "]") { return k + 1 }
                }
                j += 1
            }
            return j
        }
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\n"):
                line += 1
                i += 1
            case UInt8(ascii: "-") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "-"):
                if let level = longBracketLevel(at: i + 2) {
                    i = skipLong(level: level, from: i + 4 + level)
                } else {
                    while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
                }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                i += 1
                while i < bytes.count, bytes[i] != c {
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
                        if bytes[i + 1] == UInt8(ascii: "\n") { line += 1 }
                        i += 1
                    } else if bytes[i] == UInt8(ascii: "\n") {
                        break
                    }
                    i += 1
                }
                i += 1
            case UInt8(ascii: "["):
                if let level = longBracketLevel(at: i) {
                    i = skipLong(level: level, from: i + 2 + level)
                } else {
                    i += 1
                }
            case UInt8(ascii: "{"):
                lines.append(line)
                i += 1
            default:
                i += 1
            }
        }
        return lines
    }
}
