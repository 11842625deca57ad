import Foundation
import Yams

/// Merges the cluster's kubeconfig into the user's (first path of $KUBECONFIG, else
/// ~/.kube/config) under the context `k0slua-<name>`, and takes it out again. The context's
/// cluster and user entries are named `k0slua-<id>` (ClusterIdentity): that is how k0slua tells
/// a context it wrote from one another cluster with the same name wrote, which it never
/// overwrites or removes.
///
/// The user's file is edited as text, entry by entry (KubeconfigText): only this cluster's three
/// entries (and an empty current-context) change; every other byte, comment and certificate file
/// path stays as it was. A symlinked kubeconfig stays a symlink: the file it points to is
/// replaced atomically (a temporary file beside it, then rename). With several files in
/// KUBECONFIG, only the first is written, where kubectl also puts new entries.
public struct KubeconfigMerge: Sendable {
    public let runner: any ProcessRunning
    public let layout: StateLayout
    public let clusterName: String
    public var environment: [String: String] = ProcessInfo.processInfo.environment

    public init(runner: any ProcessRunning, layout: StateLayout, clusterName: String) {
        self.runner = runner
        self.layout = layout
        self.clusterName = clusterName
    }

    /// The name of the cluster, user and context entries: `k0slua-<name>`.
    public static func entryName(cluster: String) -> String { "k0slua-\(cluster)" }

    public var contextName: String { Self.entryName(cluster: clusterName) }

    /// The cluster and user entries: `k0slua-<id>`, unique to this cluster's state directory.
    public var ownEntryName: String { "k0slua-\(layout.clusterID(name: clusterName))" }

    /// Who wrote the user's context `k0slua-<name>`.
    public enum Owner: Equatable, Sendable {
        case none
        case this
        /// Another cluster (or the user): the cluster entry the context points at.
        case other(String)
    }

    public func owner() async throws -> Owner {
        guard FileManager.default.fileExists(atPath: userKubeconfig) else { return .none }
        let query = "{.contexts[?(@.name==\"\(contextName)\")].context.cluster}"
        let result = try await runner.run(Command("kubectl", ["--kubeconfig", userKubeconfig, "config", "view", "-o", "jsonpath=\(query)"]))
        let cluster = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        if !result.succeeded || cluster.isEmpty { return .none }
        return cluster == ownEntryName ? .this : .other(cluster)
    }

    /// Names the context of a kubeconfig k0sctl wrote with cluster and user `k0slua-<id>`
    /// `k0slua-<name>`; everything else stays as k0sctl wrote it.
    public static func renamingContext(_ text: String, to name: String) -> String {
        guard var object = (try? Yams.load(yaml: text)) as? [String: Any],
              var contexts = object["contexts"] as? [[String: Any]], contexts.count == 1 else { return text }
        contexts[0]["name"] = name
        object["contexts"] = contexts
        object["current-context"] = name
        return (try? Yams.dump(object: object, sortKeys: true)) ?? text
    }

    public var userKubeconfig: String {
        if let first = environment["KUBECONFIG"]?.split(separator: ":").first, !first.isEmpty { return String(first) }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.kube/config"
    }

    /// The file behind `userKubeconfig` (symlinks followed, also to a file not there yet), which is
    /// the one rewritten.
    var writtenFile: String {
        var path = userKubeconfig
        for _ in 0..<40 {
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else { break }
            path = destination.hasPrefix("/") ? destination : (path as NSString).deletingLastPathComponent + "/" + destination
        }
        return path
    }

    /// This cluster's entries: section → the name of its one entry.
    private var ownEntries: [String: String] { ["clusters": ownEntryName, "users": ownEntryName, "contexts": contextName] }

    /// Merges the cluster's kubeconfig (context `k0slua-<name>`, cluster and user `k0slua-<id>`)
    /// into the user's; the user's current context stays as it was (set to this cluster's when
    /// empty). Entries of an earlier merge are replaced.
    public func merge() async throws {
        if case .other(let cluster) = try await owner() {
            throw KubeconfigMergeError(message: "the context \(contextName) in \(userKubeconfig) belongs to another cluster (\(cluster)); "
                + "k0slua leaves it alone: use KUBECONFIG=\(layout.kubeconfig), or give this cluster another name")
        }
        guard let ours = FileManager.default.contents(atPath: layout.kubeconfig).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw KubeconfigMergeError(message: "cannot read \(layout.kubeconfig)")
        }
        let file = writtenFile
        guard let data = FileManager.default.contents(atPath: file), !String(decoding: data, as: UTF8.self).allSatisfy(\.isWhitespace) else {
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileWriter.write(ours, to: file, permissions: 0o600)
            return
        }
        do {
            let source = try KubeconfigText(ours)
            var entries: [String: [String]] = [:]
            for section in KubeconfigText.sections {
                guard let lines = source.entry(section, named: ownEntries[section]!) else {
                    throw KubeconfigMergeError(message: "\(layout.kubeconfig) has no \(section) entry \(ownEntries[section]!)")
                }
                entries[section] = lines
            }
            var text = try KubeconfigText(String(decoding: data, as: UTF8.self))
            text.remove(ownEntries)
            try text.append(entries)
            if text.currentContext?.isEmpty ?? true { text.setCurrentContext(contextName) }
            try FileWriter.write(try text.checked(containing: ownEntries), to: file, permissions: 0o600)
        } catch let error as KubeconfigText.Unsupported {
            throw KubeconfigMergeError(message: "\(userKubeconfig): \(error.reason); k0slua edits only kubeconfigs in YAML block style (as kubectl writes them) "
                + "and left it unchanged: use KUBECONFIG=\(layout.kubeconfig)")
        }
    }

    /// Removes the context, cluster and user entries this cluster wrote into the user's
    /// kubeconfig; returns false when the context belongs to another cluster (left alone).
    @discardableResult
    public func remove() async throws -> Bool {
        switch try await owner() {
        case .none: return true
        case .other: return false
        case .this: break
        }
        let file = writtenFile
        guard let data = FileManager.default.contents(atPath: file) else { return true }
        do {
            var text = try KubeconfigText(String(decoding: data, as: UTF8.self))
            text.remove(ownEntries)
            try FileWriter.write(try text.checked(containing: [:]), to: file, permissions: 0o600)
        } catch let error as KubeconfigText.Unsupported {
            throw KubeconfigMergeError(message: "\(userKubeconfig): \(error.reason); take out the context \(contextName) by hand")
        }
        return true
    }
}

public struct KubeconfigMergeError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { "kubeconfig merge failed: \(message)" }
}

/// A kubeconfig as lines, with the place of every entry of `clusters`, `users` and `contexts`
/// found through the YAML parser's marks, so that entries can be taken out and added while every
/// other line keeps its bytes. Only block-style top-level sequences are edited (kubectl writes
/// them; an empty `[]` or null section is fine); anything else is `Unsupported`.
struct KubeconfigText {
    static let sections = ["clusters", "users", "contexts"]

    struct Unsupported: Error { let reason: String }

    private var lines: [String]
    /// Whether the text ended with a newline.
    private let trailingNewline: Bool

    init(_ text: String) throws {
        trailingNewline = text.hasSuffix("\n")
        lines = (trailingNewline ? String(text.dropLast()) : text).components(separatedBy: "\n")
        _ = try layout()
    }

    /// A top-level key: the line it starts on, the line after its value, and its value node.
    private struct Key {
        let name: String
        let start: Int
        var end: Int
        let value: Yams.Node
    }

    /// One entry of a section: its lines (without the blank and comment lines after it) and name.
    private struct Entry {
        let name: String?
        let lines: Range<Int>
    }

    private func layout() throws -> [Key] {
        let node: Yams.Node?
        do {
            node = try Yams.compose(yaml: lines.joined(separator: "\n") + "\n")
        } catch {
            throw Unsupported(reason: "not valid YAML (\(error))")
        }
        guard let node else { return [] }
        guard case .mapping(let root) = node, root.style != .flow else { throw Unsupported(reason: "not a YAML mapping in block style") }
        var keys: [Key] = []
        for (key, value) in root {
            guard let name = key.string, let mark = key.mark else { throw Unsupported(reason: "a top-level key that is not a string") }
            guard mark.column == 1 else { throw Unsupported(reason: "an indented top-level key \(name)") }
            keys.append(Key(name: name, start: mark.line - 1, end: lines.count, value: value))
        }
        keys.sort { $0.start < $1.start }
        for index in keys.indices.dropLast() { keys[index].end = keys[index + 1].start }
        return keys
    }

    private func isFiller(_ line: String) -> Bool {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        return trimmed.isEmpty || trimmed.hasPrefix("#")
    }

    /// The entries of `key`'s block sequence; nil when the section is empty (`[]`, null, nothing).
    private func entries(_ key: Key) throws -> [Entry]? {
        switch key.value {
        case .scalar(let scalar) where scalar.string.isEmpty || scalar.string == "null" || scalar.string == "~": return nil
        case .sequence(let sequence):
            if sequence.isEmpty { return nil }
            guard sequence.style != .flow else { throw Unsupported(reason: "\(key.name) is a flow sequence") }
            var starts: [Int] = []
            for item in sequence {
                guard let mark = item.mark else { throw Unsupported(reason: "an entry of \(key.name) without a position") }
                // The item's line, or the line of its `-` above it.
                var line = mark.line - 1
                while line > key.start, !lines[line].drop(while: { $0 == " " }).hasPrefix("-") { line -= 1 }
                guard line > key.start else { throw Unsupported(reason: "an entry of \(key.name) on the key's line") }
                starts.append(line)
            }
            return sequence.enumerated().map { index, item in
                var end = index + 1 < starts.count ? starts[index + 1] : key.end
                while end > starts[index] + 1, isFiller(lines[end - 1]) { end -= 1 }
                return Entry(name: item.mapping?["name"]?.string, lines: starts[index]..<end)
            }
        default: throw Unsupported(reason: "\(key.name) is not a list")
        }
    }

    /// The lines of the entry `name` of `section`, with the `-` in the first column.
    func entry(_ section: String, named name: String) -> [String]? {
        guard let key = try? layout().first(where: { $0.name == section }),
              let entry = (try? entries(key))??.first(where: { $0.name == name }) else { return nil }
        let indent = lines[entry.lines.lowerBound].prefix { $0 == " " }.count
        return lines[entry.lines].map { String($0.dropFirst(min(indent, $0.prefix { $0 == " " }.count))) }
    }

    /// Takes out the entries `section → name`.
    mutating func remove(_ names: [String: String]) {
        guard let keys = try? layout() else { return }
        var ranges: [Range<Int>] = []
        for key in keys {
            guard let name = names[key.name], let entries = (try? entries(key)) ?? nil else { continue }
            ranges += entries.filter { $0.name == name }.map(\.lines)
        }
        for range in ranges.sorted(by: { $0.lowerBound > $1.lowerBound }) { lines.removeSubrange(range) }
    }

    /// Adds `section → entry lines` after each section's last entry, indented as its entries are;
    /// an empty section gets them below its key, a missing one at the end.
    mutating func append(_ sections: [String: [String]]) throws {
        for section in Self.sections {
            guard let entry = sections[section] else { continue }
            let keys = try layout()
            guard let key = keys.first(where: { $0.name == section }) else {
                while let last = lines.last, last.isEmpty { lines.removeLast() }
                lines += ["\(section):"] + entry
                continue
            }
            if let entries = try entries(key), let last = entries.last {
                let indent = String(repeating: " ", count: lines[entries[0].lines.lowerBound].prefix { $0 == " " }.count)
                lines.insert(contentsOf: entry.map { indent + $0 }, at: last.lines.upperBound)
            } else {
                guard key.end == key.start + 1 || (key.start + 1..<key.end).allSatisfy({ isFiller(lines[$0]) }) else {
                    throw Unsupported(reason: "the empty \(section) spans several lines")
                }
                lines[key.start] = "\(section):"
                lines.insert(contentsOf: entry, at: key.start + 1)
            }
        }
    }

    /// The current context; nil when there is none.
    var currentContext: String? {
        guard let key = try? layout().first(where: { $0.name == "current-context" }) else { return nil }
        return key.value.string.flatMap { $0 == "null" || $0 == "~" ? nil : $0 }
    }

    mutating func setCurrentContext(_ name: String) {
        let line = "current-context: \(name)"
        if let key = try? layout().first(where: { $0.name == "current-context" }) {
            var end = key.end
            while end > key.start + 1, isFiller(lines[end - 1]) { end -= 1 }
            lines.replaceSubrange(key.start..<end, with: [line])
        } else {
            lines.append(line)
        }
    }

    /// The text, after making sure it still parses and holds exactly the entries `names` once.
    func checked(containing names: [String: String]) throws -> String {
        let text = lines.joined(separator: "\n") + (trailingNewline || lines.last?.isEmpty == false ? "\n" : "")
        let again = try KubeconfigText(text)
        for section in Self.sections {
            guard let key = try again.layout().first(where: { $0.name == section }) else {
                if names[section] != nil { throw Unsupported(reason: "\(section) went missing while editing") }
                continue
            }
            guard let name = names[section] else { continue }
            if try again.entries(key)?.filter({ $0.name == name }).count != 1 {
                throw Unsupported(reason: "\(section) did not come out as expected while editing")
            }
        }
        return text
    }
}
