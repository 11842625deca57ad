import Foundation

/// An image archive on the host, as `docker save` (manifest.json) or an OCI image layout
/// (index.json + oci-layout) writes it: what `k0s ctr images import` takes.
public struct ImageArchive: Sendable, Equatable {
    public enum Format: String, Sendable {
        /// `docker save`/`podman save`: manifest.json lists each image's config and RepoTags.
        case docker
        /// An OCI image layout: index.json lists the manifests, oci-layout marks it.
        case oci
    }

    /// The file's absolute path.
    public var path: String
    public var format: Format
    /// The image names containerd lists after the import, fully qualified
    /// (`busybox:1.37` → `docker.io/library/busybox:1.37`).
    public var names: [String]
    /// docker: the config digest (the image ID); OCI: the manifest (or index) digest, which
    /// `k0s ctr images ls` shows in its DIGEST column.
    public var digest: String
    public var bytes: Int64

    public init(path: String, format: Format, names: [String], digest: String, bytes: Int64) {
        self.path = path
        self.format = format
        self.names = names
        self.digest = digest
        self.bytes = bytes
    }

    /// Reads the archive's listing and its manifest.json or index.json with the system tar; throws
    /// when `path` is not an image archive (nothing is extracted to disk).
    public static func inspect(_ path: String, runner: any ProcessRunning) async throws(ImageLoadError) -> ImageArchive {
        let absolute = StateLayout.absolutePath(path)  // starts with "/": never read as an option
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .notAnArchive(path: path, why: "it is a directory (an OCI layout goes as a tar: tar -cf image.tar -C \(path) .)")
        }
        guard FileManager.default.isReadableFile(atPath: absolute) else {
            throw .notAnArchive(path: path, why: "cannot read it")
        }
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: absolute))?[.size] as? NSNumber)?.int64Value ?? 0
        let listing = await run(runner, Command("tar", ["-tf", absolute]))
        guard let listing, listing.succeeded else {
            throw .notAnArchive(path: path, why: "it is not a tar file" + (listing.map { ": " + lastLine($0.standardError) } ?? ""))
        }
        let members = Dictionary(listing.standardOutput.split(separator: "\n").map { (normalized(String($0)), String($0)) }) { first, _ in first }
        if let member = members["manifest.json"] {
            let data = try await extract(member, from: absolute, path: path, runner: runner)
            return try docker(data, path: path, absolute: absolute, bytes: bytes)
        }
        if let index = members["index.json"], members["oci-layout"] != nil {
            let data = try await extract(index, from: absolute, path: path, runner: runner)
            return try oci(data, path: path, absolute: absolute, bytes: bytes)
        }
        throw .notAnArchive(path: path, why: "it is a tar file without manifest.json (docker save) or index.json and oci-layout (OCI layout)")
    }

    static func docker(_ data: Data, path: String, absolute: String, bytes: Int64) throws(ImageLoadError) -> ImageArchive {
        guard let entries = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]], !entries.isEmpty,
              let config = entries[0]["Config"] as? String else {
            throw .notAnArchive(path: path, why: "its manifest.json is not docker save's (a list of {Config, RepoTags, Layers})")
        }
        let names = entries.flatMap { ($0["RepoTags"] as? [String]) ?? [] }.map(qualified)
        guard !names.isEmpty else {
            throw .unnamed(path: path, hint: "tag the image before saving it: docker tag IMAGE_ID NAME:TAG && docker save -o FILE NAME:TAG")
        }
        // Config is "blobs/sha256/<hex>" (docker 25+) or "<hex>.json" (older docker, podman).
        let hex = (config as NSString).lastPathComponent.replacingOccurrences(of: ".json", with: "")
        return ImageArchive(path: absolute, format: .docker, names: names, digest: "sha256:" + hex, bytes: bytes)
    }

    static func oci(_ data: Data, path: String, absolute: String, bytes: Int64) throws(ImageLoadError) -> ImageArchive {
        guard let index = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let manifests = index["manifests"] as? [[String: Any]], let first = manifests.first,
              let digest = first["digest"] as? String, digest.hasPrefix("sha256:") else {
            throw .notAnArchive(path: path, why: "its index.json has no manifests (an OCI image index with at least one digest)")
        }
        // containerd names an image from io.containerd.image.name, else a full reference in
        // org.opencontainers.image.ref.name (a bare tag there needs a base name ctr is not given).
        let names: [String] = manifests.compactMap { manifest in
            let annotations = manifest["annotations"] as? [String: String] ?? [:]
            if let name = annotations["io.containerd.image.name"] { return qualified(name) }
            if let name = annotations["org.opencontainers.image.ref.name"], name.contains("/") || name.contains(":") { return qualified(name) }
            return nil
        }
        guard !names.isEmpty else {
            throw .unnamed(path: path, hint: "give the manifest in index.json an io.containerd.image.name annotation, or save it with docker save / podman save")
        }
        return ImageArchive(path: absolute, format: .oci, names: names, digest: digest, bytes: bytes)
    }

    /// A reference as containerd stores it: docker.io for a name without a registry, library/
    /// for an official image, :latest for a name without tag or digest.
    public static func qualified(_ name: String) -> String {
        var parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let first = parts[0]
        if parts.count == 1 || !(first.contains(".") || first.contains(":") || first == "localhost") {
            if parts.count == 1 { parts.insert("library", at: 0) }
            parts.insert("docker.io", at: 0)
        }
        var reference = parts.joined(separator: "/")
        let last = parts[parts.count - 1]
        if !last.contains(":") && !last.contains("@") { reference += ":latest" }
        return reference
    }

    private static func normalized(_ member: String) -> String {
        member.hasPrefix("./") ? String(member.dropFirst(2)) : member
    }

    private static func extract(_ member: String, from absolute: String, path: String, runner: any ProcessRunning) async throws(ImageLoadError) -> Data {
        // `--` keeps a member name from being read as an option.
        guard let result = await run(runner, Command("tar", ["-xOf", absolute, "--", member])), result.succeeded else {
            throw .notAnArchive(path: path, why: "tar cannot read \(member) from it")
        }
        return Data(result.standardOutput.utf8)
    }

    private static func run(_ runner: any ProcessRunning, _ command: Command) async -> CommandResult? {
        try? await runner.run(command)
    }

    static func lastLine(_ text: String) -> String {
        text.split(separator: "\n").last.map(String.init) ?? ""
    }
}
