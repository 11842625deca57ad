import Foundation

/// Just enough of Lua's lexer to find table constructors: skips strings, long strings and comments.
enum LuaSourceScanner {
    /// The line of every `{` outside strings and comments, in source order.
    static func openingBraceLines(in source: Data) -> [Int] {
        var lines: [Int] = []
        tokenize([UInt8](source)) { token in
            if token.kind == "{" { lines.append(token.line) }
        }
        return lines
    }

    /// For a table constructor opening on `line`, the line of each `name =` / `["name"] =` field
    /// directly inside it. Uses the last `{` of that line that is still open at its end (a
    /// one-line constructor needs no per-key lines).
    /// The tokens of one source and its matched braces, computed once per evaluation.
    struct Index {
        let tokens: [(kind: Character, text: String, line: Int)]
        let matched: [Int: Int]
        let bracesByLine: [Int: [Int]]

        init(_ source: [UInt8]) {
            var tokens: [(kind: Character, text: String, line: Int)] = []
            tokenize(source) { tokens.append($0) }
            var stack: [Int] = []
            var matched: [Int: Int] = [:]
            var bracesByLine: [Int: [Int]] = [:]
            for (index, token) in tokens.enumerated() {
                if token.kind == "{" {
                    stack.append(index)
                    bracesByLine[token.line, default: []].append(index)
                }
                if token.kind == "}", let open = stack.popLast() { matched[open] = index }
            }
            self.tokens = tokens
            self.matched = matched
            self.bracesByLine = bracesByLine
        }
    }

    static func fieldLines(in index: Index, tableLine: Int) -> [String: Int] {
        let tokens = index.tokens
        // The opening brace: the last `{` on tableLine whose matching `}` is on a later line.
        var openIndex: Int?
        for brace in index.bracesByLine[tableLine] ?? [] {
            if let close = index.matched[brace], tokens[close].line > tableLine { openIndex = brace }
        }
        guard let open = openIndex else { return [:] }
        var result: [String: Int] = [:]
        var depth = 0
        var position = open
        while position < tokens.count {
            let token = tokens[position]
            switch token.kind {
            case "{", "(", "[": depth += 1
            case "}", ")", "]":
                depth -= 1
                if depth == 0 { return result }
            default: break
            }
            if depth == 1, position + 1 < tokens.count {
                if token.kind == "n", tokens[position + 1].kind == "=" {
                    result[token.text] = result[token.text] ?? token.line
                } else if token.kind == "[", position + 3 < tokens.count, tokens[position + 1].kind == "s",
                          tokens[position + 2].kind == "]", tokens[position + 3].kind == "=" {
                    result[tokens[position + 1].text] = result[tokens[position + 1].text] ?? token.line
                }
            }
            position += 1
        }
        return result
    }

    /// Names (`n`), strings (`s`, content without escapes resolved), `=` (not `==`), brackets, and
    /// `x` for anything else; comments and long strings skipped.
    private static func tokenize(_ bytes: [UInt8], _ emit: ((kind: Character, text: String, line: Int)) -> Void) {
        var line = 1
        var i = 0
        func isNameByte(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x5f
        }
        func longLevel(_ index: Int) -> Int? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return nil }
            var j = index + 1
            while j < bytes.count, bytes[j] == UInt8(ascii: "=") { j += 1 }
            return j < bytes.count && bytes[j] == UInt8(ascii: "[") ? j - index - 1 : nil
        }
        func skipLong(_ level: Int, _ start: Int) -> Int {
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
            if c == UInt8(ascii: "\n") { line += 1; i += 1; continue }
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") { i += 1; continue }
            if c == UInt8(ascii: "-"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "-") {
                if let level = longLevel(i + 2) { i = skipLong(level, i + 4 + level) } else {
                    while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
                }
                continue
            }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                let startLine = line
                var text: [UInt8] = []
                i += 1
                while i < bytes.count, bytes[i] != c, bytes[i] != UInt8(ascii: "\n") {
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count { text.append(bytes[i + 1]); i += 2; continue }
                    text.append(bytes[i])
                    i += 1
                }
                i += 1
                emit(("s", String(decoding: text, as: UTF8.self), startLine))
                continue
            }
            if c == UInt8(ascii: "["), let level = longLevel(i) {
                let startLine = line
                i = skipLong(level, i + 2 + level)
                emit(("s", "", startLine))
                continue
            }
            if isNameByte(c) {
                var j = i
                while j < bytes.count, isNameByte(bytes[j]) { j += 1 }
                emit(("n", String(decoding: bytes[i..<j], as: UTF8.self), line))
                i = j
                continue
            }
            if c == UInt8(ascii: "=") {
                if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "=") { emit(("x", "==", line)); i += 2 } else { emit(("=", "=", line)); i += 1 }
                continue
            }
            switch c {
            case UInt8(ascii: "{"): emit(("{", "{", line))
            case UInt8(ascii: "}"): emit(("}", "}", line))
            case UInt8(ascii: "("): emit(("(", "(", line))
            case UInt8(ascii: ")"): emit((")", ")", line))
            case UInt8(ascii: "["): emit(("[", "[", line))
            case UInt8(ascii: "]"): emit(("]", "]", line))
            default: emit(("x", String(UnicodeScalar(c)), line))
            }
            i += 1
        }
    }
}
