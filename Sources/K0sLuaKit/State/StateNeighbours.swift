import Foundation

extension StateLayout {
    /// Another cluster's state directory beside this one (`.k0slua/<name>/`).
    public struct Neighbour: Sendable, Equatable {
        /// The directory's name: the cluster's name in the default layout.
        public var name: String
        public var directory: String
    }

    /// The state directories beside this one that hold a record, by name: what a command that
    /// finds no state here can offer instead.
    public func neighbours() -> [Neighbour] {
        let parent = (directory as NSString).deletingLastPathComponent
        let own = (directory as NSString).lastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        return names.sorted().compactMap { name in
            guard name != own, FileManager.default.fileExists(atPath: StateLayout(directory: parent + "/" + name).record) else { return nil }
            return Neighbour(name: name, directory: parent + "/" + name)
        }
    }
}
