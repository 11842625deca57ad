import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Write the Vagrantfile and k0sctl.yaml that cluster.lua describes.",
            discussion: "Files are written atomically and left alone when unchanged. The cluster's SSH key is created next to them on first use.")

        @OptionGroup var options: ClusterOptions

        @Option(help: ArgumentHelp("Directory for the generated files (default: the state directory .k0slua/<name>/ next to cluster.lua).", valueName: "dir"))
        var out: String?

        func run() async throws {
            let loaded = try options.load()
            let layout = try StateLayout.resolve(stateDirectory: out, clusterFile: options.file, clusterName: loaded.cluster.name)
                .usable(given: out != nil, option: "--out")
            // A record this k0slua cannot read names machines it must not forget: stop here.
            let record = try StateOptions.record(in: layout)
            let lock = try ClusterLock.take(layout)
            defer { lock.release() }
            let publicKey: String
            do {
                publicKey = try await ClusterKey.ensure(layout, clusterName: loaded.cluster.name, runner: SubprocessRunner())
            } catch {
                Console.error("cluster SSH key: \(error)")
                throw ExitCode(1)
            }
            // The same k0sctl.yaml `up` writes: with the cached k0s when the cache holds it.
            let artifacts = await K0sCache(fetcher: Fetcher(cache: .default(), runner: SubprocessRunner()))
                .cachedArtifacts(for: loaded.cluster, layout: layout)
            let files = ClusterRenderer.render(ClusterRecord.resolve(loaded.cluster, layout: layout), publicKey: publicKey, layout: layout,
                                               artifacts: artifacts, provisioned: VagrantfileRenderer.provisioned(record))
            let changed = try ClusterRenderer.write(files, to: layout)
            for path in [files.vagrantfile == nil ? nil : layout.vagrantfile, files.k0sctlConfig == nil ? nil : layout.k0sctlConfig].compactMap({ $0 }) {
                print("\(changed.contains(path) ? "wrote" : "unchanged") \(path)")
            }
            if files.k0sctlConfig == nil {
                print("k0sctl.yaml: not yet, the nodes' addresses are assigned at boot (`k0slua up` renders it once they are known)")
            }
        }
    }
}
