import Foundation

/// Removes key material and credentials from text before it goes into a support bundle: values of
/// secret keys (YAML, JSON, Lua, `key=value` log fields), PEM blocks, their base64 form, k0s join
/// tokens, bootstrap tokens, bearer tokens and JWTs, and literal values the cluster declares
/// secret. It reports what it replaced by kind and count, never the value.
public struct Redactor: Sendable {
    /// Replaces a redacted value.
    public static let mark = "[redacted]"

    /// Keys whose value is a secret, compared without case: kubeconfig credentials, passwords,
    /// tokens and keepalived's VRRP password in its k0s (`authPass`) and cluster.lua
    /// (`vip_auth_pass`) spellings.
    public static let secretKeys = [
        "client-key-data", "client-certificate-data", "certificate-authority-data",
        "token", "id-token", "refresh-token", "access-token", "join-token", "bootstrap-token", "token-data",
        "password", "passwd", "secret", "client-secret",
        "authPass", "auth_pass", "auth-pass", "vip_auth_pass",
    ]

    /// Values found anywhere, with the kind REDACTED.txt names (e.g. the cluster's VIP password).
    public var literals: [(value: String, kind: String)]

    public init(literals: [(value: String, kind: String)] = []) {
        self.literals = literals.filter { !$0.value.isEmpty }
    }

    /// `text` without secrets, and how many of each kind were replaced.
    public func redact(_ text: String) -> (text: String, found: [String: Int]) {
        var found: [String: Int] = [:]
        var text = text
        text = Self.redactPEM(text, &found)
        text = Self.redactBlockScalars(text, &found)
        text = Self.replace(Self.keyValue, in: text) { match, string in
            let key = string.substring(with: match.range(at: 2))
            let valueRange = match.range(at: 3)
            let value = string.substring(with: valueRange)
            let bare = value.trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            guard !Self.placeholders.contains(bare.lowercased()), !bare.hasPrefix(Self.mark) else { return nil }
            found["\(key) value", default: 0] += 1
            let quote = value.first == "\"" || value.first == "'" ? String(value.first!) : ""
            return (valueRange, quote + Self.mark + quote)
        }
        for (regex, kind, keep) in Self.patterns {
            text = Self.replace(regex, in: text) { match, _ in
                found[kind, default: 0] += 1
                let whole = match.range
                let kept = keep ? match.range(at: 1) : NSRange(location: whole.location, length: 0)
                return (NSRange(location: NSMaxRange(kept), length: NSMaxRange(whole) - NSMaxRange(kept)), Self.mark)
            }
        }
        for literal in literals where text.contains(literal.value) {
            found[literal.kind, default: 0] += text.components(separatedBy: literal.value).count - 1
            text = text.replacingOccurrences(of: literal.value, with: Self.mark)
        }
        return (text, found)
    }

    /// Values that are no secret: empty, null, a block or flow that follows on the next lines.
    static let placeholders: Set<String> = ["", "null", "nil", "~", "|", "|-", "|+", ">", ">-", ">+", "{", "[", "{}", "[]", "true", "false"]

    static func regex(_ pattern: String, _ options: NSRegularExpression.Options = []) -> NSRegularExpression {
        // The patterns are constants of this file; a typo is a bug the tests catch at once.
        try! NSRegularExpression(pattern: pattern, options: options)
    }

    static var keyAlternation: String { secretKeys.map(NSRegularExpression.escapedPattern(for:)).joined(separator: "|") }

    /// `key: value`, `"key": "value"`, `key = "value"`, `key=value`: group 2 the key, group 3 the value.
    static let keyValue = regex(#"(?<![A-Za-z0-9_])(["']?)("# + keyAlternation + #")\1[ \t]*[:=][ \t]*("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;}\]\)"']+)"#,
                                .caseInsensitive)

    /// `key: |` (a YAML block scalar): the more-indented lines that follow are its value.
    static let blockKey = regex(#"^([ \t]*)(?:-[ \t]+)?["']?("# + keyAlternation + #")["']?[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*$"#, .caseInsensitive)

    static let pemBlock = regex(#"-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----"#)
    /// A PEM block cut off before its END line (a bounded journal, a truncated log).
    static let pemUnterminated = regex(#"-----BEGIN ([A-Z0-9 ]+)-----(?:[A-Za-z0-9+/=:\- \t\r\n]|\\n)*"#)

    /// Key material that has no key in front of it: regex, kind, whether group 1 stays.
    static let patterns: [(NSRegularExpression, String, Bool)] = [
        // base64 of "-----BEGIN": kubeconfig *-data, Secrets, k0s join tokens' inner kubeconfig.
        (regex(#"LS0tLS1CRUdJT[A-Za-z0-9+/=]*"#), "base64 PEM block (key or certificate)", false),
        // base64 of "openssh-key-v1": an OpenSSH private key without its armour.
        (regex(#"b3BlbnNzaC1rZXktdjE[A-Za-z0-9+/=]*"#), "OpenSSH private key", false),
        // k0s join tokens are a gzip'd kubeconfig in base64; gzip's magic encodes as H4sI.
        (regex(#"H4sI[A-Za-z0-9+/=]{16,}"#), "k0s join token", false),
        (regex(#"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"#), "JWT (service account token)", false),
        (regex(#"(\b[Bb]earer[ \t]+)(?!\[redacted\])[A-Za-z0-9._~+/=-]{8,}"#), "bearer token", true),
        // Kubernetes bootstrap tokens: [a-z0-9]{6}.[a-z0-9]{16}.
        (regex(#"(?<![A-Za-z0-9_.-])[a-z0-9]{6}\.[a-z0-9]{16}(?![A-Za-z0-9_-])"#), "bootstrap token", false),
    ]

    static func redactPEM(_ text: String, _ found: inout [String: Int]) -> String {
        var text = text
        for regex in [pemBlock, pemUnterminated] {
            text = replace(regex, in: text) { match, string in
                let label = string.substring(with: match.range(at: 1))
                let kind = label.contains("PRIVATE KEY") ? "private key (PEM)" : label.contains("CERTIFICATE") ? "certificate (PEM)" : "PEM block (\(label))"
                found[kind, default: 0] += 1
                return (match.range, "\(mark) \(label)")
            }
        }
        return text
    }

    static func redactBlockScalars(_ text: String, _ found: inout [String: Int]) -> String {
        guard text.range(of: #"[:][ \t]*[|>]"#, options: .regularExpression) != nil else { return text }
        var lines = text.components(separatedBy: "\n")
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let range = NSRange(line.startIndex..., in: line)
            guard let match = blockKey.firstMatch(in: line, range: range) else {
                index += 1
                continue
            }
            let indent = (line as NSString).substring(with: match.range(at: 1)).count
            var end = index + 1
            while end < lines.count {
                let next = lines[end]
                let blank = next.trimmingCharacters(in: .whitespaces).isEmpty
                if !blank, next.prefix(while: { $0 == " " || $0 == "\t" }).count <= indent { break }
                end += 1
            }
            while end > index + 1, lines[end - 1].trimmingCharacters(in: .whitespaces).isEmpty { end -= 1 }
            if end > index + 1 {
                found["\((line as NSString).substring(with: match.range(at: 2))) value", default: 0] += 1
                lines.replaceSubrange((index + 1)..<end, with: [String(repeating: " ", count: indent + 2) + mark])
                index += 1
            }
            index += 1
        }
        return lines.joined(separator: "\n")
    }

    /// Replaces the matches of `regex` from the last to the first; `change` gives the range to
    /// replace and its replacement, or nil to keep the match.
    static func replace(_ regex: NSRegularExpression, in text: String,
                        _ change: (NSTextCheckingResult, NSString) -> (NSRange, String)?) -> String {
        let string = text as NSString
        let matches = regex.matches(in: text, range: NSRange(location: 0, length: string.length))
        guard !matches.isEmpty else { return text }
        let result = NSMutableString(string: text)
        for match in matches.reversed() {
            if let (range, replacement) = change(match, string) { result.replaceCharacters(in: range, with: replacement) }
        }
        return String(result)
    }
}
