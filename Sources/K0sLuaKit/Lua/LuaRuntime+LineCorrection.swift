import CLuaShim
import Foundation

/// Source lines for tables: what the allocator recorded, corrected against the source text.
extension LuaRuntime {
    func fieldLines(tableLine: Int) -> [String: Int] {
        guard tableLine > 0, let sourceIndex else { return [:] }
        if let cached = fieldLineCache[tableLine] { return cached }
        let lines = LuaSourceScanner.fieldLines(in: sourceIndex, tableLine: tableLine)
        fieldLineCache[tableLine] = lines
        return lines
    }

    /// The line a table really starts on. NEWTABLE carries the line of the token before `{`, which
    /// is the previous line when `{` opens a line. Tables built by the tracked chunk itself are
    /// matched, in creation order, to the `{` tokens of the source; the rest keep their line.
    func correctTableLines(source: Data) -> [UnsafeRawPointer: Int] {
        let budget = accounting.pointee
        var constructed: [(pointer: UnsafeRawPointer, line: Int, sequence: Int64)] = []
        for slot in 0..<budget.table_capacity {
            guard let key = budget.table_keys[slot], budget.table_claimable[slot] != 0 else { continue }
            constructed.append((UnsafeRawPointer(key), Int(budget.table_lines[slot]), budget.table_sequences[slot]))
        }
        constructed.sort { $0.sequence < $1.sequence }
        let braces = LuaSourceScanner.openingBraceLines(in: source)
        var corrected: [UnsafeRawPointer: Int] = [:]
        var next = 0
        for table in constructed {
            while next < braces.count, braces[next] < table.line { next += 1 }
            // A `{` more than a few lines further on belongs to some later constructor.
            guard next < braces.count, braces[next] <= table.line + 3 else { continue }
            corrected[table.pointer] = braces[next]
            next += 1
        }
        return corrected
    }
}
