import Foundation

/// The write-ahead undo journal of a drill, `<state>/drill-undo.json`: every fault's undo is
/// saved before the fault is made and removed once undone, so the file lists exactly what may
/// still be in place. It is gone when nothing is.
public struct DrillJournal: Codable, Sendable, Equatable {
    /// The drill file that made the faults.
    public var drill: String
    public var startedAt: Date
    /// In the order the faults were made; undone from the last.
    public var entries: [DrillUndo]

    enum CodingKeys: String, CodingKey {
        case drill
        case startedAt = "started_at"
        case entries
    }

    public init(drill: String, startedAt: Date = Date(), entries: [DrillUndo] = []) {
        self.drill = drill
        self.startedAt = startedAt
        self.entries = entries
    }

    public static func path(_ layout: StateLayout) -> String { "\(layout.directory)/drill-undo.json" }

    /// The journal left in `layout`, nil when there is none.
    public static func load(_ layout: StateLayout) throws -> DrillJournal? {
        guard let data = FileManager.default.contents(atPath: path(layout)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(DrillJournal.self, from: data)
    }

    /// Writes the journal atomically (or removes it when it lists nothing).
    public func save(_ layout: StateLayout) throws {
        if entries.isEmpty {
            try? FileManager.default.removeItem(atPath: Self.path(layout))
            return
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        try data.write(to: URL(fileURLWithPath: Self.path(layout)), options: .atomic)
        chmod(Self.path(layout), 0o600)
    }
}
