/// Runs one piece of work per item with at most `limit` of them at once: SSH to a fleet never
/// starts one process per node at the same time. Cancelling the caller cancels every running
/// piece (the runner then stops its child) and starts no new one.
public enum FanOut {
    /// The default bound (`--parallel N` changes it).
    public static let defaultLimit = 16

    /// `body` for every item, at most `limit` at once; the results in the items' order. The first
    /// error thrown cancels the rest and is rethrown.
    public static func map<Item: Sendable, Result: Sendable>(
        _ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async throws -> Result
    ) async throws -> [Result] {
        guard !items.isEmpty else { return [] }
        var results = [Result?](repeating: nil, count: items.count)
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var next = 0
            func startNext() {
                guard next < items.count else { return }
                let index = next, item = items[index]
                next += 1
                group.addTask { (index, try await body(item)) }
            }
            for _ in 0..<max(1, limit) { startNext() }
            while let (index, result) = try await group.next() {
                results[index] = result
                try Task.checkCancellation()
                startNext()
            }
        }
        return results.map { $0! }
    }
}
