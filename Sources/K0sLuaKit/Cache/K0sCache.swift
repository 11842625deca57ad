import Foundation

/// The k0s releases in the shared cache: which version a cluster runs, fetching what is missing,
/// listing and pruning.
public struct K0sCache: Sendable {
    public let fetcher: Fetcher
    public var cache: CacheLayout { fetcher.cache }

    public init(fetcher: Fetcher) { self.fetcher = fetcher }

    /// The version a cluster runs: `--k0s`, else cluster.lua's, else the one its record resolved
    /// (`k0s_resolved_version`), else, before the first record, the one `cache fetch` prepared for
    /// it (the cache's use note), else the latest stable release (looked up; `recordUse` and the
    /// record keep it).
    public func version(for cluster: Cluster, layout: StateLayout, override: String? = nil, offline: Bool) async throws -> String {
        // The version becomes part of a URL and of cache paths: only the k0s version shape passes.
        if let pinned = override ?? cluster.k0s.version ?? RecordedK0sVersion.read(layout) ?? preparedVersion(for: layout, id: layout.clusterID(name: cluster.name)) {
            guard K0sRelease.isValidVersion(pinned) else { throw FetchError.invalidVersion(pinned) }
            return K0sRelease(version: pinned, arch: "").version
        }
        guard !offline else {
            throw FetchError.offline(missing: ["the k0s version (cluster.lua pins none and none is recorded in \(layout.directory))"],
                                     hint: "k0slua cache fetch")
        }
        let text = try await fetcher.text(K0sRelease.stableURL).trimmingCharacters(in: .whitespacesAndNewlines)
        guard K0sRelease.isValidVersion(text) else {
            throw FetchError.transfer(url: fetcher.resolve(K0sRelease.stableURL), detail: "expected a k0s version, got \"\(text.prefix(40))\"")
        }
        return K0sRelease(version: text, arch: "").version
    }

    /// The newest version whose use note (`users/<id>`) names `layout` while it has no record yet:
    /// what `cache fetch` prepared for a cluster not applied so far.
    func preparedVersion(for layout: StateLayout, id: String) -> String? {
        guard ClusterIdentity.isValid(id), !FileManager.default.fileExists(atPath: layout.record) else { return nil }
        let directory = URL(fileURLWithPath: layout.directory).standardizedFileURL.path
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: cache.k0sVersions)) ?? []).filter { version in
            let note = cache.k0sUsers(version: version) + "/" + id
            guard K0sRelease.isValidVersion(version), let text = try? String(contentsOfFile: note, encoding: .utf8) else { return false }
            return text.trimmingCharacters(in: .whitespacesAndNewlines) == directory
        }
        return versions.compactMap { text in K0sVersion(text).map { ($0, text) } }.max { $0.0 < $1.0 }?.1
    }

    /// The binary and bundle of `release`, downloaded unless cached; `offline` only looks. A
    /// cached file is checked against the SHA-256 recorded beside it either way.
    public func ensure(_ release: K0sRelease, offline: Bool, fetchHint: String = "k0slua cache fetch") async throws -> (K0sArtifacts, [FetchOutcome]) {
        let (binary, bundle) = release.downloads(in: cache)
        let artifacts = K0sArtifacts(version: release.version, binary: binary.destination, bundle: bundle.destination)
        if offline {
            var missing: [String] = []
            for download in [binary, bundle] {
                guard try await !fetcher.verifiedCached(download) else { continue }
                let unverified = FileManager.default.fileExists(atPath: download.destination) ? "; cached without a recorded checksum" : ""
                missing.append("\(download.fileName) (\(release.version), \(release.arch)\(unverified))")
            }
            guard missing.isEmpty else { throw FetchError.offline(missing: missing, hint: fetchHint) }
            return (artifacts, [.cached, .cached])
        }
        var outcomes: [FetchOutcome] = []
        var pending: [Download] = []
        for download in [binary, bundle] {
            if try await fetcher.verifiedCached(download) { outcomes.append(.cached) } else { pending.append(download) }
        }
        // One request for the release's checksum listing, not one per file.
        let listing = pending.isEmpty ? nil : try await fetcher.text(release.checksumsURL)
        for download in pending { outcomes.append(try await fetcher.fetch(download, listing: listing)) }
        return (artifacts, outcomes)
    }

    /// The binary and bundle of `version` for each node's architecture (`nodes` in k0sctl.yaml's
    /// order; the first node's architecture is the default, the others go into `byNode`).
    /// `offline` names every missing file of every architecture at once.
    public func ensure(version: String, nodes: [(name: String, arch: String)], offline: Bool,
                       fetchHint: String = "k0slua cache fetch") async throws -> (K0sArtifacts, [FetchOutcome]) {
        var architectures: [String] = []
        for node in nodes where !architectures.contains(node.arch) { architectures.append(node.arch) }
        var files: [String: K0sArtifacts] = [:]
        var outcomes: [FetchOutcome] = []
        var missing: [String] = []
        for arch in architectures {
            do {
                let (artifacts, fetched) = try await ensure(K0sRelease(version: version, arch: arch), offline: offline, fetchHint: fetchHint)
                files[arch] = artifacts
                outcomes += fetched
            } catch FetchError.offline(let lacking, _) {
                missing += lacking
            }
        }
        guard missing.isEmpty else { throw FetchError.offline(missing: missing, hint: fetchHint) }
        guard let first = architectures.first, var artifacts = files[first] else {
            throw FetchError.offline(missing: ["the nodes' architecture (no node)"], hint: fetchHint)
        }
        for node in nodes where node.arch != first {
            if let other = files[node.arch] { artifacts.byNode[node.name] = K0sArtifacts.Files(binary: other.binary, bundle: other.bundle) }
        }
        return (artifacts, outcomes)
    }

    /// What `up` would hand k0sctl for `cluster` if the cache already holds it (its version pinned
    /// or recorded, its files present and unchanged); nil otherwise. `hosts` take the architecture
    /// `up` recorded for each, and this machine's until `up` has asked them (`up` asks every
    /// time and rewrites k0sctl.yaml). Looks only: nothing is fetched.
    public func cachedArtifacts(for cluster: Cluster, layout: StateLayout, host: HostFacts = .current) async -> K0sArtifacts? {
        guard let version = try? await version(for: cluster, layout: layout, offline: true) else { return nil }
        let recorded = cluster.provider == .hosts ? NodeArchitectures.read(layout) : [:]
        let nodes = (cluster.controllers + cluster.workers).map { node in
            (name: node.name, arch: recorded[node.name] ?? K0sRelease.guestArch(cluster, host: host))
        }
        return try? await ensure(version: version, nodes: nodes, offline: true).0
    }

    /// Notes that the cluster `id` (ClusterIdentity) in `layout` uses `version`: in its record
    /// when it has one (`k0s_resolved_version`; later `up`s keep it; `up` also records it when it
    /// first writes the record) and in the cache under its id, which no other cluster shares and
    /// which moving the project keeps (`prune` keeps the version while that record says so, or
    /// while the state directory has no record yet). Call it before `ensure`, so that a `prune` in
    /// between keeps the version.
    public func recordUse(_ version: String, by layout: StateLayout, id: String) throws {
        guard ClusterIdentity.isValid(id) else { throw FetchError.transfer(url: layout.directory, detail: "\"\(id)\" is not a cluster id") }
        try FileWriter.makePrivate(layout)
        // A record this k0slua cannot read is left alone (the command that acts on it says why).
        if var record = try? ClusterRecord.load(layout),
           record.resolvedK0sVersion != version || FileManager.default.fileExists(atPath: ClusterRecord.legacyK0sVersionPath(layout)) {
            record.resolvedK0sVersion = version
            try record.save(layout)
        }
        let users = cache.k0sUsers(version: version)
        try FileManager.default.createDirectory(atPath: users, withIntermediateDirectories: true)
        let directory = URL(fileURLWithPath: layout.directory).standardizedFileURL.path
        try Data((directory + "\n").utf8).write(to: URL(fileURLWithPath: users + "/" + id), options: .atomic)
    }

    /// One cached k0s version.
    public struct Entry: Sendable, Equatable {
        public var version: String
        public var architectures: [String]
        public var bytes: Int64
        public var lastUsed: Date
        /// State directories of clusters that still use it.
        public var users: [String]
    }

    /// Every cached k0s version, most recently used first.
    public func list() -> [Entry] {
        let files = FileManager.default
        let versions = (try? files.contentsOfDirectory(atPath: cache.k0sVersions)) ?? []
        return versions.compactMap { version -> Entry? in
            let directory = cache.k0sDirectory(version: version)
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
            let architectures = ((try? files.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("linux-") }.sorted()
            var bytes: Int64 = 0
            var lastUsed = Date.distantPast
            for file in files.subpaths(atPath: directory) ?? [] {
                guard let attributes = try? files.attributesOfItem(atPath: directory + "/" + file) else { continue }
                if attributes[.type] as? FileAttributeType == .typeRegular, !file.hasPrefix("users/") {
                    bytes += (attributes[.size] as? NSNumber)?.int64Value ?? 0
                }
                if let date = attributes[.modificationDate] as? Date, date > lastUsed { lastUsed = date }
            }
            return Entry(version: version, architectures: architectures, bytes: bytes, lastUsed: lastUsed, users: liveUsers(version))
        }.sorted { ($0.lastUsed, $0.version) > ($1.lastUsed, $1.version) }
    }

    /// Users whose state directory still records this version, or has no record yet (`cache
    /// fetch` prepared it); a destroyed cluster no longer counts.
    func liveUsers(_ version: String) -> [String] {
        let users = cache.k0sUsers(version: version)
        return ((try? FileManager.default.contentsOfDirectory(atPath: users)) ?? []).compactMap { key in
            guard let text = try? String(contentsOfFile: users + "/" + key, encoding: .utf8) else { return nil }
            let layout = StateLayout(directory: text.trimmingCharacters(in: .whitespacesAndNewlines))
            if !FileManager.default.fileExists(atPath: layout.record) {
                return FileManager.default.fileExists(atPath: layout.directory) ? layout.directory : nil
            }
            return RecordedK0sVersion.read(layout) == version ? layout.directory : nil
        }.sorted()
    }

    /// Removes every version but the `keep` most recently used and those existing clusters use,
    /// and any download left in flight by a killed process; returns what was removed. Holds the
    /// cache alone (CacheLock): throws `CacheLock.Failure.busy` while a download runs.
    public func prune(keep: Int, command: String = "k0slua cache prune") throws -> [Entry] {
        let lock = CacheLock(cache: cache)
        try lock.acquireExclusive(command: command)
        defer { lock.release() }
        let entries = list()
        var removed: [Entry] = []
        for (index, entry) in entries.enumerated() where index >= keep && entry.users.isEmpty {
            try FileManager.default.removeItem(atPath: cache.k0sDirectory(version: entry.version))
            removed.append(entry)
        }
        // A download in flight keeps writing; one untouched for an hour was left by a killed process.
        for file in (try? FileManager.default.contentsOfDirectory(atPath: cache.temporary)) ?? [] {
            let path = cache.temporary + "/" + file
            let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date ?? .distantPast
            if modified < Date().addingTimeInterval(-3600) { try? FileManager.default.removeItem(atPath: path) }
        }
        return removed
    }
}
