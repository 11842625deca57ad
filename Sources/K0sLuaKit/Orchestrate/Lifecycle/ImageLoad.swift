import Foundation

/// Why `k0slua image load` cannot start: a bad argument or an image it cannot save. No node has
/// been touched when one of these is thrown.
public enum ImageLoadError: Error, Equatable, CustomStringConvertible {
    /// The file is not a docker save archive or an OCI image layout tar.
    case notAnArchive(path: String, why: String)
    /// The archive names no image, so containerd would import nothing k0slua can find.
    case unnamed(path: String, hint: String)
    /// Not a file, and neither docker nor podman is on PATH to save it.
    case noSaveTool(image: String)
    /// `docker save`/`podman save` failed.
    case saveFailed(image: String, tool: String, output: String)
    /// A temporary file for the saved image could not be made.
    case temporaryFile(String)

    public var description: String {
        switch self {
        case .notAnArchive(let path, let why): "\"\(path)\" is not an image archive: \(why)"
        case .unnamed(let path, _): "\"\(path)\" names no image, so k0s ctr would import nothing to run"
        case .noSaveTool(let image): "\"\(image)\" is not a file, and neither docker nor podman is on PATH to save the image of that name"
        case .saveFailed(let image, let tool, let output): "`\(tool) save` of \"\(image)\" failed: \(output)"
        case .temporaryFile(let why): "cannot make a temporary file for the saved image: \(why)"
        }
    }

    /// One fix-it line.
    public var hint: String {
        switch self {
        case .notAnArchive: "pass a file written by `docker save -o FILE IMAGE`, `podman save -o FILE IMAGE` or an OCI image layout tar"
        case .unnamed(_, let hint): hint
        case .noSaveTool: "save it where docker or podman runs (docker save -o image.tar IMAGE) and pass the file"
        case .saveFailed(_, let tool, _): "check the name with `\(tool) image ls`"
        case .temporaryFile: "set TMPDIR to a directory with space"
        }
    }
}

/// How one node fared.
public struct ImageLoadOutcome: Sendable, Equatable {
    public var node: String
    /// Nil when every image is listed there; else why not, naming the node.
    public var failure: String?
    public var seconds: Double
}

/// Loads image archives into the containerd (`k0s ctr -n k8s.io`) of every node that runs a
/// kubelet, over the cluster's SSH (docs/images.md): per node and archive, the file is streamed to
/// a private temporary file, imported and removed; then the node's image list must show every
/// image. Nodes run in parallel under one bound (FanOut).
public struct ImageLoad: Sendable {
    public let cluster: Cluster
    public let layout: StateLayout
    public let runner: any ProcessRunning
    /// Nodes at once.
    public var parallelism: Int = FanOut.defaultLimit
    /// One line per node as it finishes.
    public var progress: @Sendable (String) -> Void

    public init(cluster: Cluster, layout: StateLayout, runner: any ProcessRunning, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.cluster = cluster
        self.layout = layout
        self.runner = runner
        self.progress = progress
    }

    /// The nodes that get the images: every node that runs a kubelet, or the ones named (each
    /// must exist and run a kubelet). The error is a usage problem, one sentence.
    public static func targets(_ cluster: Cluster, named names: [String]?) -> Result<[Node], ImageTargetError> {
        guard let names else { return .success(cluster.nodes.filter(\.runsWorkloads)) }
        var chosen: [Node] = []
        for name in names {
            guard let node = cluster.node(named: name) else {
                return .failure(ImageTargetError(message: "no node named \"\(name)\"; nodes: \(cluster.nodes.map(\.name).joined(separator: ", "))"))
            }
            guard node.runsWorkloads else {
                return .failure(ImageTargetError(message: "\"\(name)\" is a controller without workloads: it runs no kubelet and no containerd to import into; "
                    + "nodes with a kubelet: \(cluster.nodes.filter(\.runsWorkloads).map(\.name).joined(separator: ", "))"))
            }
            if !chosen.contains(where: { $0.name == node.name }) { chosen.append(node) }
        }
        return .success(chosen)
    }

    // MARK: - The archives

    /// An archive ready to copy, and what it came from (the argument as given).
    public struct Source: Sendable {
        public var argument: String
        public var archive: ImageArchive
    }

    /// Each argument as an archive: an existing file is inspected; anything else is an image name
    /// saved with docker (or podman) into `scratch`, a private directory the caller removes.
    public func prepare(_ arguments: [String], scratch: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        async throws(ImageLoadError) -> [Source] {
        var sources: [Source] = []
        for (index, argument) in arguments.enumerated() {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) {
                sources.append(Source(argument: argument, archive: try await ImageArchive.inspect(argument, runner: runner)))
                continue
            }
            guard let tool = Self.saveTool(environment: environment) else { throw .noSaveTool(image: argument) }
            do {
                try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw .temporaryFile((error as NSError).localizedDescription)
            }
            let file = scratch + "/image-\(index).tar"
            guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw .temporaryFile("cannot create \(file)")
            }
            progress("saving \(argument) with \((tool as NSString).lastPathComponent)")
            let result: CommandResult
            do {
                result = try await runner.run(Command(tool, ["save", "-o", file, "--", argument]))
            } catch {
                throw .saveFailed(image: argument, tool: (tool as NSString).lastPathComponent, output: "\(error)")
            }
            guard result.succeeded else {
                throw .saveFailed(image: argument, tool: (tool as NSString).lastPathComponent,
                                  output: ImageArchive.lastLine(result.standardError + result.standardOutput))
            }
            sources.append(Source(argument: argument, archive: try await ImageArchive.inspect(file, runner: runner)))
        }
        return sources
    }

    /// docker, else podman, from PATH.
    static func saveTool(environment: [String: String]) -> String? {
        let directories = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for name in ["docker", "podman"] {
            for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
                return directory + "/" + name
            }
        }
        return nil
    }

    // MARK: - The nodes

    /// Loads every source into every node; one outcome per node in `nodes`' order.
    public func load(_ sources: [Source], into nodes: [Node]) async throws -> [ImageLoadOutcome] {
        let ssh = NodeSSH(layout: layout)
        return try await FanOut.map(nodes, limit: parallelism) { node in
            let started = Date()
            let failure = try await load(sources, into: node, ssh: ssh)
            let outcome = ImageLoadOutcome(node: node.name, failure: failure, seconds: Date().timeIntervalSince(started))
            let time = String(format: "%.1fs", outcome.seconds)
            progress(failure.map { "\(node.name): failed (\(time)): \($0)" } ?? "\(node.name): loaded \(sources.count) image\(sources.count == 1 ? "" : "s") (\(time))")
            return outcome
        }
    }

    /// The remote import: the file is removed whatever the import's outcome, and its exit code kept.
    static func importCommand(_ remote: String) -> String {
        let file = Quote.shell(remote)
        return "sudo k0s ctr -n k8s.io images import -- \(file); status=$?; rm -f -- \(file); exit $status"
    }

    static let listCommand = "sudo k0s ctr -n k8s.io images ls"

    /// Nil when every image is listed on `node`; else why not.
    func load(_ sources: [Source], into node: Node, ssh: NodeSSH) async throws -> String? {
        guard let address = node.sshAddress else { return "its address is not known yet: run k0slua up first" }
        for source in sources {
            let remote = "/tmp/k0slua-image-\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()).tar"
            var copy = ssh.command(node, run: "umask 077 && cat > \(Quote.shell(remote))")
            copy.standardInputFile = source.archive.path
            let copied = try await runner.run(copy)
            if !copied.succeeded {
                if copied.exitCode != 255 { _ = try? await runner.run(ssh.command(node, run: "rm -f -- \(Quote.shell(remote))")) }
                return Self.explain(copied, node: node, address: address, step: "copying \(source.argument) there", source: source)
            }
            let imported = try await runner.run(ssh.command(node, run: Self.importCommand(remote)))
            if !imported.succeeded {
                return Self.explain(imported, node: node, address: address, step: "`k0s ctr images import` of \(source.argument)", source: source)
            }
        }
        let listed = try await runner.run(ssh.command(node, run: Self.listCommand))
        guard listed.succeeded else {
            return Self.explain(listed, node: node, address: address, step: "`k0s ctr images ls`", source: nil)
        }
        let rows = Self.rows(listed.standardOutput)
        let missing = sources.filter { !Self.lists(rows, $0.archive) }.map(\.argument)
        guard missing.isEmpty else {
            return "\(missing.map { "\"\($0)\"" }.joined(separator: ", ")) not listed by `k0s ctr -n k8s.io images ls` after the import"
        }
        return nil
    }

    /// The REF and DIGEST columns of `ctr images ls` (REF TYPE DIGEST SIZE PLATFORMS LABELS).
    static func rows(_ text: String) -> [(ref: String, digest: String)] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let columns = line.split(whereSeparator: \.isWhitespace).map(String.init)
            return columns.count >= 3 ? (columns[0], columns[2]) : nil
        }
    }

    /// docker: every name is a REF (containerd computes the manifest it stores, so the config
    /// digest is not in the list); OCI: every name, with the manifest digest from index.json.
    static func lists(_ rows: [(ref: String, digest: String)], _ archive: ImageArchive) -> Bool {
        switch archive.format {
        case .docker: archive.names.allSatisfy { name in rows.contains { $0.ref == name } }
        case .oci: archive.names.allSatisfy { name in rows.contains { $0.ref == name && $0.digest == archive.digest } }
        }
    }

    /// A failed step, in the node's terms.
    static func explain(_ result: CommandResult, node: Node, address: String, step: String, source: Source?) -> String {
        let output = result.standardError + result.standardOutput
        if result.exitCode == 255 {
            return "does not answer over SSH at \(address): \(ImageArchive.lastLine(output)) (is it running? k0slua status)"
        }
        if output.contains("k0s: command not found") || output.contains("k0s: not found") {
            return "\(node.name) runs no k0s: run k0slua up first"
        }
        if output.lowercased().contains("no space left on device") {
            let size = source.map { " for \(ByteCount.text($0.archive.bytes))" } ?? ""
            return "no space left on device\(size) while \(step); see what fills it: k0slua ssh \(node.name) -- df -h"
        }
        return "\(step) failed (exit \(result.exitCode)): \(ImageArchive.lastLine(output))"
    }
}

/// `--nodes` names a node that does not exist or runs no kubelet (a usage error).
public struct ImageTargetError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
