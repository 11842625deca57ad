/// The lines of a failed tool's output worth showing in an error: its last lines, without the frames
/// of a Ruby backtrace (Vagrant and its plugins print one for any error that is not a Vagrant
/// error, and its message is on the line *before* the frames, which a plain tail cuts off).
/// The whole output always stays in the step's log.
public enum OutputExcerpt {
    /// - Returns: at most `limit` lines (plus one line counting the frames left out).
    public static func lines(_ output: String, limit: Int) -> [String] {
        var kept: [String] = []
        var frames = 0
        for line in output.split(separator: "\n") {
            if isRubyFrame(line) { frames += 1 } else { kept.append(String(line)) }
        }
        var excerpt = Array(kept.suffix(limit))
        if frames > 0 { excerpt.append("(\(frames) backtrace lines left out: see the log)") }
        return excerpt
    }

    /// `\tfrom /path/file.rb:123:in `method'`: Ruby's default exception handler's frame line.
    static func isRubyFrame(_ line: Substring) -> Bool {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        guard trimmed.hasPrefix("from "), let at = trimmed.range(of: ".rb:") else { return false }
        return trimmed[at.upperBound...].contains(":in ")
    }
}
