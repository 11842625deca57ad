import Foundation

/// Tart's local store as `tart list --format json` shows it: VMs (`"Source": "local"`) and the OCI
/// images pulled into `~/.tart/cache/OCIs` (`"Source": "OCI"`, named `host/namespace:tag` or
/// `host/namespace@sha256:…`; Tart `Commands/List.swift`, `VMStorageOCI.swift`). Tart names are
/// global on the host.
public struct TartStore: Sendable, Equatable {
    /// Local VM names.
    public var vms: Set<String>
    /// OCI image names.
    public var images: Set<String>

    public init(vms: Set<String>, images: Set<String>) {
        self.vms = vms
        self.images = images
    }

    /// The store from `tart list --format json` output; nil when it is not Tart's JSON list.
    public static func parse(_ json: String) -> TartStore? {
        guard let list = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] else { return nil }
        var store = TartStore(vms: [], images: [])
        for entry in list {
            guard let name = entry["Name"] as? String else { continue }
            if (entry["Source"] as? String)?.lowercased() == "oci" { store.images.insert(name) } else { store.vms.insert(name) }
        }
        return store
    }

    /// Runs `tart list --format json`; nil when Tart does not answer.
    public static func read(runner: any ProcessRunning) async -> TartStore? {
        guard let result = try? await runner.run(Command("tart", ["list", "--format", "json"])), result.succeeded else { return nil }
        return parse(result.standardOutput)
    }

    /// How Tart names a reference in its store: without a tag or digest it means `:latest`
    /// (Tart `RemoteName`).
    public static func remoteName(_ image: String) -> String {
        let last = image.split(separator: "/").last.map(String.init) ?? image
        return last.contains(":") || last.contains("@") ? image : image + ":latest"
    }

    /// Whether cloning `image` needs no pull: it is an OCI image in the store, or a local VM of
    /// that name (which `tart clone` and `tart pull` take as is).
    public func has(image: String) -> Bool {
        vms.contains(image) || images.contains(Self.remoteName(image))
    }

    /// The nodes of `nodes` whose Tart VM does not exist yet: `vagrant up` clones them from the image.
    public func needingClone(_ nodes: [Node], of cluster: Cluster, layout: StateLayout) -> [Node] {
        nodes.filter { !vms.contains(VagrantfileRenderer.tartName(cluster: cluster, node: $0, layout: layout)) }
    }

    /// What to run while online so that an offline `up` can clone `image`.
    public static func offlineFix(_ image: String) -> String {
        "run `k0slua cache fetch` while online (it runs `tart pull \(image)`), or `tart pull \(image)`"
    }

    /// Pulls `image` unless Tart's store already has it (`k0slua cache fetch`: one online command
    /// prepares an offline `up`). Returns whether it pulled.
    public static func ensure(_ image: String, runner: any ProcessRunning, onLine: (@Sendable (OutputLine) -> Void)? = nil) async throws(TartPullError) -> Bool {
        if let store = await read(runner: runner), store.has(image: image) { return false }
        let result: CommandResult
        do {
            result = try await runner.run(Command("tart", ["pull", image]), onLine: onLine)
        } catch {
            throw TartPullError(image: image, reason: "could not run `tart`: \(error)", hint: "brew install cirruslabs/cli/tart")
        }
        guard result.succeeded else {
            let last = (result.standardError + result.standardOutput).split(separator: "\n").last.map(String.init) ?? "exit \(result.exitCode)"
            throw TartPullError(image: image, reason: "`tart pull \(image)` exited with \(result.exitCode): \(last)", hint: nil)
        }
        return true
    }
}

/// `tart pull` failed.
public struct TartPullError: Error, Sendable, CustomStringConvertible {
    public var image: String
    public var reason: String
    public var hint: String?
    public var description: String { "cannot pull the Tart image \"\(image)\": \(reason)" }
}
