/// Kubernetes label and taint syntax: whether a label key, a value or a taint means something to
/// Kubernetes. The decoder calls it while it reads `labels` and `taints`, so each problem keeps
/// its field's line.
public enum LabelSyntax {
    public struct Problem: Error, Sendable { public let message: String }

    /// Qualified name: optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
    public static func keyProblem(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return "key \"\(key)\" has more than one \"/\"" }
        let name = String(parts.last!)
        if parts.count == 2 {
            let prefix = String(parts[0])
            if prefix.isEmpty || prefix.count > 253 || !isDNSSubdomain(prefix) {
                return "key prefix \"\(prefix)\" must be a lower-case DNS subdomain"
            }
        }
        if name.isEmpty || name.count > 63 || !isName(name) {
            return "key \"\(key)\" must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        }
        return nil
    }

    public static func valueProblem(_ value: String) -> String? {
        if value.isEmpty { return nil }
        if value.count > 63 || !isName(value) {
            return "value \"\(value)\" must be at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        }
        return nil
    }

    /// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, checked by hand (a `Regex` per value dominated
    /// the time of a 1,000-node plan).
    static func isName(_ text: String) -> Bool {
        Syntax.isLabel(text[...], ends: Syntax.isAlphanumeric, middle: { Syntax.isAlphanumeric($0) || Syntax.isOneOf($0, "-_.") })
    }

    /// Lower-case RFC 1123 labels joined by '.'.
    static func isDNSSubdomain(_ text: String) -> Bool {
        text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            Syntax.isLabel($0, ends: Syntax.isLowerAlphanumeric, middle: { Syntax.isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") })
        }
    }

    public static func problem(key: String, value: String) -> String? {
        keyProblem(key) ?? valueProblem(value)
    }

    /// `key[=value]:Effect`
    public static func parseTaint(_ text: String) -> Result<Taint, Problem> {
        guard let colon = text.lastIndex(of: ":") else {
            return .failure(Problem(message: "taint \"\(text)\" must look like key[=value]:Effect (Effect: NoSchedule, PreferNoSchedule or NoExecute)"))
        }
        let effectText = String(text[text.index(after: colon)...])
        guard let effect = Taint.Effect(rawValue: effectText) else {
            let suggestion = closestMatch(to: effectText, in: Taint.Effect.allCases.map(\.rawValue))
            return .failure(Problem(message: "taint \"\(text)\": effect \"\(effectText)\" must be NoSchedule, PreferNoSchedule or NoExecute"
                + (suggestion.map { "; did you mean \"\($0)\"?" } ?? "")))
        }
        let pair = text[..<colon]
        let key: String
        var value: String?
        if let equals = pair.firstIndex(of: "=") {
            key = String(pair[..<equals])
            value = String(pair[pair.index(after: equals)...])
        } else {
            key = String(pair)
        }
        if let problem = keyProblem(key) ?? value.flatMap(valueProblem) {
            return .failure(Problem(message: "taint \"\(text)\": \(problem)"))
        }
        return .success(Taint(key: key, value: value, effect: effect))
    }
}
