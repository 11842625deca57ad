import CLua
import CLuaShim
import Foundation

/// Protected calls, and Lua errors and tracebacks turned into diagnostics.
extension LuaRuntime {
    func protectedCall(arguments: Int32, results: Int32, context: String?) throws(DiagnosticList) {
        let status = k0s_pcall(state, arguments, results)
        let exhausted = accounting.pointee.exhausted
        if exhausted != K0S_NOT_EXHAUSTED {
            let message = status == LUA_OK ? "" : (string(at: -1) ?? "")
            // A line in another chunk's message (a lib/ module, a host module) is not the tracked file's.
            let (located, locatedFile) = locate(message)
            let line = locatedFile == trackedFile ? located : nil
            let code: DiagnosticCode, what: String, flag: String
            switch exhausted {
            case K0S_INSTRUCTIONS_EXHAUSTED:
                (code, what, flag) = (.instructionBudgetExhausted, "instruction budget of \(budget.instructions) exhausted (endless loop?)",
                                      "--max-instructions")
            case K0S_TIME_EXHAUSTED:
                let seconds = context == nil ? budget.seconds : budget.hookSeconds
                (code, what, flag) = (.timeBudgetExhausted, "time limit of \(Self.seconds(seconds)) exceeded (endless loop or runaway pattern?)",
                                      context == nil ? "--max-seconds" : "--max-hook-seconds")
            default:
                (code, what, flag) = (.memoryBudgetExhausted, "memory budget of \(budget.memoryBytes >> 20) MiB exhausted", "--max-memory")
            }
            throw DiagnosticList([Diagnostic(code, file: trackedFile, line: line ?? lineOfLastTrackedStatement, path: "",
                                             message: (context.map { "\($0): " } ?? "") + what,
                                             hint: "if the script is right, raise the limit with \(flag)")])
        }
        guard status == LUA_OK else {
            throw DiagnosticList([runtimeError(string(at: -1) ?? "(error object is not a string)", context: context)])
        }
    }

    /// A Lua error message with its traceback (from k0s_pcall's handler) as a diagnostic.
    func runtimeError(_ full: String, context: String?) -> Diagnostic {
        let (message, traceback) = splitTraceback(full)
        let (line, file) = locate(message)
        var text = stripLocation(message)
        if let context {
            let location = line.map { "\(file ?? trackedFile):\($0): " } ?? ""
            text = "\(context) failed: \(location)\(text)"
        }
        return Diagnostic(.runtimeError, file: file ?? trackedFile, line: line, path: "", message: text, traceback: traceback)
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }

    var lineOfLastTrackedStatement: Int? {
        let line = Int(accounting.pointee.current_line)
        return line > 0 ? line : nil
    }

    func loadError(status: Int32) -> Diagnostic {
        let message = string(at: -1) ?? "cannot load chunk"
        if status == LUA_ERRMEM {
            return Diagnostic(.memoryBudgetExhausted, file: trackedFile, line: nil, path: "",
                              message: "memory budget of \(budget.memoryBytes >> 20) MiB exhausted while loading",
                              hint: "raise the limit with --max-memory")
        }
        let (line, file) = locate(message)
        return Diagnostic(.syntaxError, file: file ?? trackedFile, line: line, path: "", message: stripLocation(message))
    }

    func splitTraceback(_ text: String) -> (String, String?) {
        guard let range = text.range(of: "\nstack traceback:\n") else { return (text, nil) }
        // The host's own frames (error(), the k0s prelude) say nothing to the user.
        let frames = text[range.upperBound...].split(separator: "\n").filter { frame in
            let trimmed = frame.trimmingCharacters(in: .whitespaces)
            return !trimmed.hasPrefix("[C]: in function 'error'") && !trimmed.hasPrefix("k0s:") && !trimmed.hasPrefix("hooks:")
                && !trimmed.hasPrefix("[C]: in function 'xpcall'")
                && trimmed != "(...tail calls...)" && !trimmed.hasPrefix("[C]: in ?")
        }
        return (String(text[..<range.lowerBound]), (["stack traceback:"] + frames).joined(separator: "\n"))
    }

    /// Finds `file:LINE:` at the start of a Lua message.
    func locate(_ message: String) -> (line: Int?, file: String?) {
        let parts = message.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let line = Int(parts[1]) else { return (nil, nil) }
        return (line, String(parts[0]))
    }

    func stripLocation(_ message: String) -> String {
        let parts = message.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, Int(parts[1]) != nil else { return message }
        return parts[2].trimmingCharacters(in: .whitespaces)
    }

}
