import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Image: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "image",
            abstract: "Work with container images on the cluster's nodes.",
            subcommands: [Load.self])
    }
}

extension K0sLuaCommand.Image {
    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "load",
            abstract: "Load images built on this machine into every node that runs a kubelet, without a registry.",
            discussion: "Each argument is an image archive (docker save, podman save or an OCI layout tar) or the name of an image "
                + "that docker or podman on PATH saves. It is copied to each node over SSH and imported with `k0s ctr -n k8s.io images import` "
                + "(docs/images.md). Exit 0 when every node lists every image, 1 otherwise.")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Option(help: ArgumentHelp("Only these nodes, comma-separated (default: every node that runs a kubelet).", valueName: "node,…"))
        var nodes: String?

        @OptionGroup var fanOut: FanOutOptions

        @Argument(help: ArgumentHelp("Image archives or image names.", valueName: "image|tarball"))
        var images: [String] = []

        func validate() throws {
            guard !images.isEmpty else { throw ValidationError("name at least one image or image archive, e.g. k0slua image load myapp:dev") }
        }

        func run() async throws {
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            let cluster = try state.applied(loaded, layout: layout, quiet: options.quiet).cluster
            let names = nodes.map { CommaList.words($0) }
            if names?.isEmpty == true { throw ValidationError("--nodes takes node names, comma-separated, e.g. --nodes worker-1,worker-2") }
            let targets: [Node]
            switch ImageLoad.targets(cluster, named: names) {
            case .success(let nodes): targets = nodes
            case .failure(let problem): throw ValidationError(problem.message)
            }
            guard !targets.isEmpty else {
                Console.error("no node of \(cluster.name) runs a kubelet, so none can run an image", hint: "give a node role = \"worker\" or workloads = true")
                throw ExitCode(1)
            }
            let quiet = options.quiet
            var service = ImageLoad(cluster: cluster, layout: layout, runner: SubprocessRunner()) { line in
                if !quiet { Console.writeError("    \(line)\n") }
            }
            service.parallelism = fanOut.parallel
            let configured = service
            let arguments = images
            let scratch = NSTemporaryDirectory() + "k0slua-image-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: scratch) }

            let sources: [ImageLoad.Source]
            do {
                sources = try await runInterruptibly { try await configured.prepare(arguments, scratch: scratch) }
            } catch let failure as ImageLoadError {
                Console.error(failure.description, hint: failure.hint)
                throw ExitCode(1)
            }
            if !quiet {
                let total = ByteCount.text(sources.reduce(0) { $0 + $1.archive.bytes })
                Console.writeError("==> loading \(sources.count) image\(sources.count == 1 ? "" : "s") (\(total)) into \(targets.count) node\(targets.count == 1 ? "" : "s"), "
                    + "\(min(fanOut.parallel, targets.count)) at a time\n")
            }
            let outcomes = try await runInterruptibly { try await configured.load(sources, into: targets) }
            let loadedInto = outcomes.filter { $0.failure == nil }.map(\.node)
            for source in sources {
                print("\(source.argument) (\(source.archive.names.joined(separator: ", ")), \(source.archive.digest)): "
                    + "loaded into \(loadedInto.count) of \(targets.count) node\(targets.count == 1 ? "" : "s")")
            }
            let failed = outcomes.filter { $0.failure != nil }
            guard failed.isEmpty else {
                Console.error("\(failed.count) of \(targets.count) node\(targets.count == 1 ? "" : "s") did not get the image\(sources.count == 1 ? "" : "s")",
                              details: failed.map { "\($0.node): \($0.failure ?? "")" },
                              hint: "retry only those: k0slua image load --nodes \(failed.map(\.node).joined(separator: ",")) …")
                throw ExitCode(1)
            }
        }
    }
}
