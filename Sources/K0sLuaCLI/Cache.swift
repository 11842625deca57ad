import ArgumentParser
import Foundation
import K0sLuaKit

extension K0sLuaCommand {
    struct Cache: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cache",
            abstract: "The host cache shared by all clusters: k0s, its image bundle, k0sctl, kubectl.",
            discussion: "Lives in $XDG_CACHE_HOME/k0slua (default ~/.cache/k0slua). K0SLUA_MIRROR=<base URL> fetches every https://HOST/PATH as <base>/HOST/PATH; it must be https://, http:// on this machine (127.0.0.1, ::1, localhost) or file://, unless K0SLUA_MIRROR_INSECURE=1.",
            subcommands: [Fetch.self, List.self, Prune.self])
    }
}

extension K0sLuaCommand.Cache {
    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fetch",
            abstract: "Download what `up` needs for this cluster, verified against the releases' SHA-256 checksums.",
            discussion: "The k0s binary and airgap image bundle for the guests' architecture (hosts: each host's, as the last `up` found it), k0sctl/kubectl when PATH has none new enough, and on Tart the cluster's image (`tart pull` when Tart's local store lacks it). Without --k0s: cluster.lua's k0s_version, else the version recorded for this cluster, else the latest stable release (then recorded).")

        @OptionGroup var options: ClusterOptions
        @OptionGroup var state: StateOptions

        @Option(name: .customLong("k0s"), help: ArgumentHelp("k0s version, e.g. v1.34.2+k0s.0.", valueName: "version"))
        var k0sVersion: String?

        @Option(name: .customLong("arch"), help: ArgumentHelp("k0s architecture to fetch instead: amd64, arm64 or arm (repeat for several).", valueName: "arch"))
        var architectures: [String] = []

        func validate() throws {
            if let k0sVersion, !K0sRelease.isValidVersion(k0sVersion) {
                throw ValidationError("--k0s expects a k0s version such as v1.34.2+k0s.0, got \"\(k0sVersion)\"")
            }
            for arch in architectures where !["amd64", "arm64", "arm"].contains(arch) {
                throw ValidationError("--arch expects amd64, arm64 or arm, got \"\(arch)\"")
            }
        }

        func run() async throws {
            let loaded = try options.load()
            let layout = try state.layout(for: loaded, file: options.file)
            let progress = StderrProgress(quiet: options.quiet)
            let fetcher = Fetcher(cache: .default(), runner: SubprocessRunner()) { progress.download($0) }
            do {
                for tool in [ProvisionedTool.k0sctl, .kubectl] {
                    let resolved = try await ToolProvisioner(fetcher: fetcher).resolve(tool, fetch: true)
                    print("\(tool.name.padding(toLength: 8, withPad: " ", startingAt: 0)) \(resolved.version ?? "?") from \(resolved.source == .path ? "PATH" : "cache"): \(resolved.executable)")
                }
                let k0s = K0sCache(fetcher: fetcher)
                let version = try await k0s.version(for: loaded.cluster, layout: layout, override: k0sVersion, offline: false)
                var wanted = architectures
                if wanted.isEmpty, loaded.cluster.provider == .hosts { wanted = Set(NodeArchitectures.read(layout).values).sorted() }
                if wanted.isEmpty { wanted = [K0sRelease.guestArch(loaded.cluster, host: .current)] }
                if k0sVersion == nil { try k0s.recordUse(version, by: layout, id: layout.clusterID(name: loaded.cluster.name)) }
                for arch in wanted {
                    let release = K0sRelease(version: version, arch: arch)
                    let (artifacts, _) = try await k0s.ensure(release, offline: false)
                    print("k0s      \(version) linux-\(release.arch): \(artifacts.binary)")
                    print("images   \(artifacts.bundle)")
                }
                // The image the cluster's record names, when cluster.lua sets none.
                if loaded.cluster.provider == .tart, let image = ClusterRecord.resolve(loaded.cluster, layout: layout).image {
                    let pulled = try await TartStore.ensure(image, runner: SubprocessRunner())
                    print("tart     \(image): " + (pulled ? "pulled into Tart's local store" : "in Tart's local store"))
                }
            } catch let error as FetchError {
                Console.writeError("error: \(error)\n")
                throw ExitCode(1)
            } catch let error as TartPullError {
                Console.error("\(error)", hint: error.hint)
                throw ExitCode(1)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Cached k0s versions with their sizes, last use and the clusters using them.")

        func run() async throws {
            let cache = CacheLayout.default()
            let entries = K0sCache(fetcher: Fetcher(cache: cache, runner: SubprocessRunner())).list()
            print("cache: \(cache.root)")
            guard !entries.isEmpty else { return print("no k0s version cached; `k0slua cache fetch` gets the cluster's") }
            let format = DateFormatter()
            format.dateFormat = "yyyy-MM-dd HH:mm"
            for entry in entries {
                let used = entry.users.isEmpty ? "unused" : "used by " + entry.users.joined(separator: ", ")
                print("\(entry.version.padding(toLength: 22, withPad: " ", startingAt: 0)) \(entry.architectures.joined(separator: ",").padding(toLength: 24, withPad: " ", startingAt: 0)) \(ByteCount.text(entry.bytes).padding(toLength: 10, withPad: " ", startingAt: 0)) last used \(format.string(from: entry.lastUsed))  \(used)")
            }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove cached k0s versions but the most recently used and those existing clusters use.")

        @Option(help: "How many of the most recently used versions to keep.")
        var keep: Int = 1

        func validate() throws {
            if keep < 0 { throw ValidationError("--keep must be 0 or more") }
        }

        func run() async throws {
            let removed: [K0sCache.Entry]
            do {
                removed = try K0sCache(fetcher: Fetcher(cache: .default(), runner: SubprocessRunner()))
                    .prune(keep: keep, command: (["k0slua"] + CommandLine.arguments.dropFirst()).joined(separator: " "))
            } catch let failure as CacheLock.Failure {
                Console.error("\(failure)")
                throw ExitCode(1)
            }
            for entry in removed { print("removed \(entry.version) (\(ByteCount.text(entry.bytes)))") }
            if removed.isEmpty { print("nothing to remove") }
        }
    }
}
