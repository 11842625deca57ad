import Foundation
@testable import K0sLuaKit
import Testing

/// `k0slua image load` against the stand-ins: a 3+2 cluster (control-plane-1 runs workloads,
/// control-plane-2 and -3 do not), real docker-save and OCI-layout archives built here.
@Suite(.serialized) struct ImageLoadTests {
    static let source = SupportBundleTests.source
    static let kubeletNodes = ["control-plane-1": "192.168.1.10", "worker-1": "192.168.1.20", "worker-2": "192.168.1.21"]
    static let pureControllers = ["control-plane-2": "192.168.1.11", "control-plane-3": "192.168.1.12"]

    /// Digests of the archives `makeArchives` writes.
    struct Archives {
        var docker: String
        var oci: String
        var dockerConfigDigest: String
        var ociManifestDigest: String
    }

    /// A docker-save-shaped tar (manifest.json, config, layer; RepoTags `app:dev` unless given)
    /// and an OCI image layout tar (oci-layout, index.json naming `example.com/team/api:1.0`).
    static func makeArchives(in directory: String, repoTags: String = #"["app:dev"]"#) async throws -> Archives {
        let script = #"""
            import hashlib, io, json, os, sys, tarfile
            out, tags = sys.argv[1], json.loads(sys.argv[2])
            def add(t, name, data):
                info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o644
                t.addfile(info, io.BytesIO(data))
            layer = io.BytesIO()
            with tarfile.open(fileobj=layer, mode="w") as l:
                add(l, "hello.txt", b"hello\n")
            layer = layer.getvalue()
            layer_hex = hashlib.sha256(layer).hexdigest()
            config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer_hex]}}).encode()
            config_hex = hashlib.sha256(config).hexdigest()
            with tarfile.open(os.path.join(out, "docker.tar"), "w") as t:
                add(t, config_hex + ".json", config)
                add(t, layer_hex + "/layer.tar", layer)
                add(t, "manifest.json", json.dumps([{"Config": config_hex + ".json", "RepoTags": tags, "Layers": [layer_hex + "/layer.tar"]}]).encode())
            manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                   "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + config_hex, "size": len(config)},
                                   "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + layer_hex, "size": len(layer)}]}).encode()
            manifest_hex = hashlib.sha256(manifest).hexdigest()
            index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + manifest_hex,
                     "size": len(manifest), "annotations": {"io.containerd.image.name": "example.com/team/api:1.0", "org.opencontainers.image.ref.name": "1.0"}}]}
            with tarfile.open(os.path.join(out, "oci.tar"), "w") as t:
                add(t, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
                add(t, "index.json", json.dumps(index).encode())
                for hex, data in ((config_hex, config), (layer_hex, layer), (manifest_hex, manifest)):
                    add(t, "blobs/sha256/" + hex, data)
            print("sha256:" + config_hex, "sha256:" + manifest_hex)
            """#
        let result = try await SubprocessRunner().run(Command("python3", ["-c", script, directory, repoTags]))
        try #require(result.succeeded, "\(result.standardError)")
        let digests = result.standardOutput.split(whereSeparator: \.isWhitespace).map(String.init)
        return Archives(docker: directory + "/docker.tar", oci: directory + "/oci.tar", dockerConfigDigest: digests[0], ociManifestDigest: digests[1])
    }

    static func upWorld() async throws -> StandInWorld {
        let world = try StandInWorld(cluster: source)
        let up = try await world.run(["up", "--skip", "health"])
        #expect(up.exitCode == 0, "\(up.standardError)")
        world.clearTranscript()
        return world
    }

    /// The remote commands ssh was asked to run, by node address.
    static func remoteCommands(_ world: StandInWorld) -> [String: [String]] {
        var commands: [String: [String]] = [:]
        for call in world.calls where call.tool == "ssh" {
            guard let separator = call.argv.firstIndex(of: "--"), call.argv.count > separator + 2 else { continue }
            commands[call.argv[separator + 1], default: []].append(call.argv[separator + 2])
        }
        return commands
    }

    /// What `k0s ctr -n k8s.io images ls` lists on the node at `address` (the stand-in's store).
    static func imageList(_ world: StandInWorld, _ address: String) -> [String: String] {
        let path = world.directory + "/standin/images-\(address).json"
        guard let data = FileManager.default.contents(atPath: path),
              let images = try? JSONSerialization.jsonObject(with: data) as? [String: [String: String]] else { return [:] }
        return images.mapValues { $0["digest"] ?? "" }
    }

    @Test func item20_3_loadsDockerAndOCIArchivesIntoEveryKubeletNode() async throws {
        let world = try await Self.upWorld()
        let archives = try await Self.makeArchives(in: world.directory)
        let result = try await world.run(["image", "load", "docker.tar", archives.oci])
        #expect(result.exitCode == 0, "\(result.standardError)")

        let commands = Self.remoteCommands(world)
        for (node, address) in Self.kubeletNodes {
            let asked = commands[address] ?? []
            #expect(asked.count == 5, "\(node): copy and import per archive, then one list: \(asked)")
            let copies = asked.filter { $0.hasPrefix("umask 077 && cat > '/tmp/k0slua-image-") && $0.hasSuffix(".tar'") }
            #expect(copies.count == 2, "\(node): \(asked)")
            let imports = asked.filter { $0.hasPrefix("sudo k0s ctr -n k8s.io images import -- '/tmp/k0slua-image-") && $0.contains("; rm -f -- '/tmp/k0slua-image-") }
            #expect(imports.count == 2, "\(node): \(asked)")
            #expect(asked.last == "sudo k0s ctr -n k8s.io images ls", "\(node): \(asked)")
            // Each archive went to a file of its own, imported right after it was copied.
            #expect(Set(copies).count == 2)
            let list = Self.imageList(world, address)
            #expect(list["docker.io/library/app:dev"] != nil, "\(node): \(list)")
            #expect(list["example.com/team/api:1.0"] == archives.ociManifestDigest, "\(node): \(list)")
            // Nothing left in the node's /tmp.
            #expect((try? FileManager.default.contentsOfDirectory(atPath: world.directory + "/standin/nodefs/\(node)")) ?? [] == [], "\(node)")
        }
        for (node, address) in Self.pureControllers {
            #expect(commands[address] == nil, "\(node) runs no kubelet and is not asked: \(commands[address] ?? [])")
            #expect(Self.imageList(world, address).isEmpty)
        }
        // The user's file names never reach a node; every ssh ends its options before the host.
        #expect(!commands.values.joined().contains { $0.contains("docker.tar") || $0.contains("oci.tar") })
        for call in world.calls where call.tool == "ssh" { #expect(call.argv.contains("--")) }
        // Progress: one line per node, and a summary per image.
        for node in Self.kubeletNodes.keys {
            #expect(result.standardError.contains("    \(node): loaded 2 images ("), "\(result.standardError)")
        }
        #expect(result.standardOutput.contains("docker.tar (docker.io/library/app:dev, \(archives.dockerConfigDigest)): loaded into 3 of 3 nodes"),
                "\(result.standardOutput)")
        #expect(result.standardOutput.contains("(example.com/team/api:1.0, \(archives.ociManifestDigest)): loaded into 3 of 3 nodes"), "\(result.standardOutput)")
    }

    @Test func item20_3_nodesOptionChoosesNodes() async throws {
        let world = try await Self.upWorld()
        _ = try await Self.makeArchives(in: world.directory)
        let result = try await world.run(["image", "load", "--nodes", "worker-2,control-plane-1", "--parallel", "1", "--", "oci.tar"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        let commands = Self.remoteCommands(world)
        #expect(Set(commands.keys) == ["192.168.1.21", "192.168.1.10"], "\(commands)")
        #expect(Self.imageList(world, "192.168.1.20").isEmpty)
    }

    @Test func item20_3_fileThatIsNotAnImageArchiveTouchesNoNode() async throws {
        let world = try StandInWorld(cluster: Self.source)
        try "not an image\n".write(toFile: world.directory + "/notes.txt", atomically: true, encoding: .utf8)
        let text = try await world.run(["image", "load", "notes.txt"])
        #expect(text.exitCode == 1)
        #expect(text.standardError.contains("error: \"notes.txt\" is not an image archive: it is not a tar file"), "\(text.standardError)")
        // A tar, but of something else.
        let tar = try await SubprocessRunner().run(Command("tar", ["-cf", "other.tar", "notes.txt"], workingDirectory: world.directory))
        try #require(tar.succeeded)
        let other = try await world.run(["image", "load", "other.tar"])
        #expect(other.exitCode == 1)
        #expect(other.standardError.contains("\"other.tar\" is not an image archive: it is a tar file without manifest.json"), "\(other.standardError)")
        #expect(other.standardError.contains("hint: pass a file written by `docker save -o FILE IMAGE`"))
        // A directory (an unpacked OCI layout).
        try FileManager.default.createDirectory(atPath: world.directory + "/layout", withIntermediateDirectories: true)
        let directory = try await world.run(["image", "load", "layout"])
        #expect(directory.exitCode == 1)
        #expect(directory.standardError.contains("\"layout\" is not an image archive: it is a directory"), "\(directory.standardError)")
        #expect(!world.calls.contains { $0.tool == "ssh" }, "no node touched")
    }

    @Test func item20_3_archiveWithoutImageNameIsRefused() async throws {
        let world = try StandInWorld(cluster: Self.source)
        _ = try await Self.makeArchives(in: world.directory, repoTags: "null")
        let result = try await world.run(["image", "load", "docker.tar"])
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains("\"docker.tar\" names no image"), "\(result.standardError)")
        #expect(!world.calls.contains { $0.tool == "ssh" })
    }

    @Test func item20_3_unknownOrPureControllerNodeIsAUsageError() async throws {
        let world = try StandInWorld(cluster: Self.source)
        _ = try await Self.makeArchives(in: world.directory)
        let unknown = try await world.run(["image", "load", "--nodes", "worker-9", "docker.tar"])
        #expect(unknown.exitCode == 64)
        #expect(unknown.standardError.contains(
            "no node named \"worker-9\"; nodes: control-plane-1, control-plane-2, control-plane-3, worker-1, worker-2"), "\(unknown.standardError)")
        let pure = try await world.run(["image", "load", "--nodes", "worker-1,control-plane-2", "docker.tar"])
        #expect(pure.exitCode == 64)
        #expect(pure.standardError.contains("\"control-plane-2\" is a controller without workloads: it runs no kubelet"), "\(pure.standardError)")
        let none = try await world.run(["image", "load"])
        #expect(none.exitCode == 64)
        let empty = try await world.run(["image", "load", "--nodes", ",", "docker.tar"])
        #expect(empty.exitCode == 64)
        #expect(empty.standardError.contains("--nodes takes node names"), "\(empty.standardError)")
        #expect(!world.calls.contains { $0.tool == "ssh" })
    }

    @Test func item20_3_nodeWithoutK0sIsNamed() async throws {
        let world = try await Self.upWorld()
        _ = try await Self.makeArchives(in: world.directory)
        let result = try await world.run(["image", "load", "docker.tar"], environment: ["K0SLUA_STANDIN_FAULTS": "no-k0s:worker-2"])
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains("1 of 3 nodes did not get the image"), "\(result.standardError)")
        #expect(result.standardError.contains("  | worker-2: worker-2 runs no k0s: run k0slua up first"), "\(result.standardError)")
        #expect(result.standardOutput.contains("loaded into 2 of 3 nodes"))
        #expect(Self.imageList(world, "192.168.1.20")["docker.io/library/app:dev"] != nil)
        // The copied file was removed on the node all the same.
        #expect((try? FileManager.default.contentsOfDirectory(atPath: world.directory + "/standin/nodefs/worker-2")) ?? [] == [])
    }

    @Test func item20_3_diskFullIsNamedWithAHint() async throws {
        let world = try await Self.upWorld()
        _ = try await Self.makeArchives(in: world.directory)
        let result = try await world.run(["image", "load", "docker.tar"], environment: ["K0SLUA_STANDIN_FAULTS": "disk-full:worker-1"])
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains("  | worker-1: no space left on device for "), "\(result.standardError)")
        #expect(result.standardError.contains("while copying docker.tar there; see what fills it: k0slua ssh worker-1 -- df -h"), "\(result.standardError)")
        // No import was tried there, and the partial file is removed.
        let asked = Self.remoteCommands(world)["192.168.1.20"] ?? []
        #expect(!asked.contains { $0.contains("images import") }, "\(asked)")
        #expect(asked.last?.hasPrefix("rm -f -- '/tmp/k0slua-image-") == true, "\(asked)")
    }

    @Test func item20_3_unreachableNodeIsNamed() async throws {
        let world = try await Self.upWorld()
        _ = try await Self.makeArchives(in: world.directory)
        let result = try await world.run(["image", "load", "oci.tar"], environment: ["K0SLUA_STANDIN_FAULTS": "unreachable:worker-2"])
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains("  | worker-2: does not answer over SSH at 192.168.1.21: ssh: connect to host 192.168.1.21 port 22: Connection refused"),
                "\(result.standardError)")
        #expect(result.standardError.contains("hint: retry only those: k0slua image load --nodes worker-2"), "\(result.standardError)")
    }

    @Test func item20_3_imageNotListedAfterImportIsAFailure() async throws {
        let world = try await Self.upWorld()
        _ = try await Self.makeArchives(in: world.directory)
        let result = try await world.run(["image", "load", "oci.tar"], environment: ["K0SLUA_STANDIN_FAULTS": "image-lost:control-plane-1"])
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains("  | control-plane-1: \"oci.tar\" not listed by `k0s ctr -n k8s.io images ls` after the import"),
                "\(result.standardError)")
    }

    @Test func item20_3_namedImageIsSavedIntoAPrivateTemporaryFile() async throws {
        let world = try await Self.upWorld()
        let archives = try await Self.makeArchives(in: world.directory)
        // A docker on PATH that records its arguments and the mode of the file it is given.
        let bin = world.directory + "/docker-bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            printf '%s\\n' "$@" > "\(world.directory)/docker-args"
            stat -c %a "$3" > "\(world.directory)/docker-mode"
            cp "\(archives.docker)" "$3"
            """
        try script.write(toFile: bin + "/docker", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/docker")
        let path = bin + ":" + world.environment["PATH"]!
        try FileManager.default.createDirectory(atPath: world.directory + "/tmp", withIntermediateDirectories: true)
        let result = try await world.run(["image", "load", "--", "-app:dev"], environment: ["PATH": path, "TMPDIR": world.directory + "/tmp/"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        let arguments = try String(contentsOfFile: world.directory + "/docker-args", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(arguments.count == 5 && Array(arguments[0...1]) == ["save", "-o"] && Array(arguments[3...]) == ["--", "-app:dev"], "\(arguments)")
        #expect(try String(contentsOfFile: world.directory + "/docker-mode", encoding: .utf8) == "600\n")
        #expect(!FileManager.default.fileExists(atPath: arguments[2]), "the saved file is removed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: world.directory + "/tmp") == [])
        #expect(Self.imageList(world, "192.168.1.21")["docker.io/library/app:dev"] != nil)
    }

    @Test func item20_3_namedImageWithoutDockerOrPodmanIsAClearError() async throws {
        let world = try StandInWorld(cluster: Self.source)
        let result = try await world.run(["image", "load", "app:dev"])
        #expect(result.exitCode == 1)
        #expect(result.standardError.contains("\"app:dev\" is not a file, and neither docker nor podman is on PATH"), "\(result.standardError)")
        #expect(!world.calls.contains { $0.tool == "ssh" })
    }

    @Test func item20_3_qualifiedNamesAreContainerds() {
        #expect(ImageArchive.qualified("app:dev") == "docker.io/library/app:dev")
        #expect(ImageArchive.qualified("team/app") == "docker.io/team/app:latest")
        #expect(ImageArchive.qualified("localhost:5000/app:1") == "localhost:5000/app:1")
        #expect(ImageArchive.qualified("ghcr.io/o/app@sha256:abc") == "ghcr.io/o/app@sha256:abc")
    }
}
