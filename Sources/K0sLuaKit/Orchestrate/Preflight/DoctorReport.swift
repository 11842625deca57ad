/// What `k0slua doctor` prints: one line per check, the fix under each failure or warning, and on
/// systems other than macOS the checks that run only there.
public enum DoctorReport {
    public static func text(_ checks: [PreflightCheck], hostOS: String) -> String {
        var out = ""
        for check in checks {
            let mark = check.ok && !check.warningOnly ? "ok" : (check.warningOnly ? "warn" : "MISSING")
            out += "\(pad(mark, 8)) \(pad(check.name, 17)) \(check.detail)\n"
            if !check.ok || check.warningOnly, let fix = check.fix { out += "\(pad("", 8)) \(pad("", 17)) → \(fix)\n" }
        }
        if hostOS != "macos" {
            out += "\nmacOS only (Tart), not checked on \(hostOS):\n"
            for check in MacNetworkChecks.macOSOnly { out += "  \(pad(check.name, 17)) \(check.what)\n" }
        }
        return out
    }

    /// Whether doctor exits non-zero.
    public static func failed(_ checks: [PreflightCheck]) -> Bool { checks.contains { !$0.ok && !$0.warningOnly } }

    static func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
}
