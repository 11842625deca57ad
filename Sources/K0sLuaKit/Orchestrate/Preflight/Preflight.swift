// Orchestrate/Preflight: what `up`'s preflight phase and `k0slua doctor` check before anything
// changes: tools and their versions (Tart and softnet floors, k0sctl, kubectl), the host's
// networks on a Mac (MacNetworkChecks: vmnet subnet, softnet SUID, Local Network, VPN routes),
// leftover VMs. It may call Process/ (to run the tools) and Cache/; it changes nothing.

import Foundation

/// One tool or host check of `k0slua doctor` (and of `up`'s preflight phase).
public struct PreflightCheck: Sendable, Equatable {
    public var name: String
    public var ok: Bool
    /// The version or what was found.
    public var detail: String
    /// How to get it, for failures.
    public var fix: String?
    /// A warning does not fail the preflight.
    public var warningOnly: Bool = false
}

/// Checks that the tools a cluster needs are installed, with their versions.
public struct Preflight: Sendable {
    public let cluster: Cluster
    public let runner: any ProcessRunning
    public let hostFacts: HostFacts
    public let tools: Tools
    /// Where the macOS checks look for softnet (Tart searches PATH) and the DHCP leases.
    public var searchPath: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    public var leasesFile: String = "/var/db/dhcpd_leases"
    public let cache: CacheLayout
    public let offline: Bool
    /// k0sctl/kubectl already resolved (by `up`), so their versions are not asked twice.
    public let resolved: [ResolvedTool]

    public init(cluster: Cluster, layout: StateLayout, runner: any ProcessRunning, hostFacts: HostFacts = .current,
                cache: CacheLayout = .default(), offline: Bool = false, resolved: [ResolvedTool] = []) {
        self.resolved = resolved
        self.cluster = cluster
        self.cache = cache
        self.offline = offline
        self.runner = runner
        self.hostFacts = hostFacts
        self.tools = Tools(layout: layout)
    }

    func install(_ tool: String) -> String {
        let mac = hostFacts.os == "macos"
        switch tool {
        case "vagrant": return mac ? "brew install hashicorp/tap/hashicorp-vagrant" : "sudo apt-get install -y vagrant"
        case "vagrant-tart": return "vagrant plugin install vagrant-tart"
        case "vagrant-libvirt": return mac ? "vagrant plugin install vagrant-libvirt" : "sudo apt-get install -y vagrant-libvirt libvirt-daemon-system"
        case "tart": return "brew install cirruslabs/cli/tart"
        case "k0sctl": return mac ? "brew install k0sproject/tap/k0sctl" : "download k0sctl from its GitHub releases into your PATH"
        case "kubectl": return mac ? "brew install kubectl" : "install kubectl (e.g. sudo apt-get install -y kubectl from the Kubernetes apt repository)"
        case "ssh", "ssh-keygen": return mac ? "ships with macOS" : "sudo apt-get install -y openssh-client"
        default: return "install \(tool)"
        }
    }

    func version(_ name: String, _ command: Command, parse: (CommandResult) -> String? = { firstLine($0.standardOutput + $0.standardError) }) async -> PreflightCheck {
        do {
            let result = try await runner.run(command)
            guard result.succeeded || name.hasPrefix("ssh"), let version = parse(result) else {
                return PreflightCheck(name: name, ok: false, detail: "`\(command)` failed (exit \(result.exitCode))", fix: install(name))
            }
            return PreflightCheck(name: name, ok: true, detail: version)
        } catch {
            return PreflightCheck(name: name, ok: false, detail: "not found", fix: install(name))
        }
    }

    /// vagrant's version and plugins need no Vagrantfile: before the first `up` or `render` there is
    /// no state directory, and a spawn in it would fail as if vagrant were not installed.
    func vagrantQuery(_ arguments: [String]) -> Command {
        var command = tools.vagrant(arguments)
        if !FileManager.default.fileExists(atPath: tools.layout.directory) {
            command.workingDirectory = nil
            command.environment["VAGRANT_CWD"] = nil
        }
        return command
    }

    /// The path of an executable found on PATH.
    static func onPath(_ name: String, searchPath: String? = nil) -> String? {
        let path = searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// k0sctl or kubectl: its version against k0slua's minimum and where it comes from. Without
    /// `--offline`, `up` downloads the pinned release when PATH's will not do, so this fails only
    /// offline.
    func provisioned(_ tool: ProvisionedTool) async -> PreflightCheck {
        let fix = offline ? "run `k0slua cache fetch` while online (it downloads \(tool.name) \(tool.pinned) into \(cache.root)), or \(install(tool.name))"
                          : "`k0slua up` and `k0slua cache fetch` download \(tool.name) \(tool.pinned) into \(cache.root); or \(install(tool.name))"
        guard let executable = Self.onPath(tool.name, searchPath: searchPath) else {
            return PreflightCheck(name: tool.name, ok: false, detail: "not found", fix: fix, warningOnly: !offline)
        }
        var version = resolved.first { $0.name == tool.name && $0.executable == executable }?.version.flatMap(SemanticVersion.init)
        if version == nil {
            let arguments = tool.name == "kubectl" ? ["version", "--client"] : ["version"]
            let result = try? await runner.run(Command(executable, arguments))
            version = result.flatMap { $0.succeeded ? ProvisionedTool.version(in: $0.standardOutput) : nil }
        }
        guard let version else {
            return PreflightCheck(name: tool.name, ok: false, detail: "\(executable) did not report its version", fix: fix, warningOnly: !offline)
        }
        let source = executable.hasPrefix(cache.root + "/") ? "cache" : "PATH"
        guard version >= tool.minimum else {
            // k0sctl names why: older ones cannot use the known_hosts k0slua writes.
            let why = tool.name == "k0sctl" ? MacNetworkChecks.k0sctlHostKeyProblem(version: version.description).map { ": " + $0 } ?? "" : ""
            return PreflightCheck(name: tool.name, ok: false, detail: "\(version) (\(source): \(executable)) is older than \(tool.minimum)\(why)", fix: fix,
                                  warningOnly: !offline)
        }
        return PreflightCheck(name: tool.name, ok: true, detail: "\(version) (\(source): \(executable))")
    }

    /// The first Tart with `--net-softnet-block` (tart commit 1b091e9, "tart run: introduce new
    /// --net-softnet-block", first in tag 2.30.0), which the softnet mode's run arguments use.
    public static let minimumTart = SemanticVersion(2, 30, 0)

    /// `tart --version` against the floor of the run arguments k0slua renders (softnet mode only:
    /// shared and bridged pass no softnet flag).
    func tartCheck() async -> PreflightCheck {
        let check = await version("tart", tools.tart(["--version"]))
        guard check.ok, cluster.network.tartMode == .softnet, let installed = SemanticVersion(check.detail), installed < Self.minimumTart else { return check }
        let floor = "\(Self.minimumTart.major).\(Self.minimumTart.minor).\(Self.minimumTart.patch)"
        return PreflightCheck(name: "tart", ok: false,
                              detail: "\(check.detail) is older than \(floor), the first Tart with --net-softnet-block (the softnet network mode's run arguments need it; an older Tart fails `vagrant up` with \"Unknown option\")",
                              fix: "brew upgrade cirruslabs/cli/tart")
    }

    /// Whether the machines `up` clones can come from Tart's local store. Tart's pull always asks
    /// the registry, so offline a missing image fails here, before any machine changes; online
    /// `up` pulls it once, only when a node's VM has to be cloned. Nil without an image.
    func tartImageCheck() async -> PreflightCheck? {
        guard let image = cluster.image else { return nil }
        let name = "tart image"
        guard let store = await TartStore.read(runner: runner) else {
            return PreflightCheck(name: name, ok: true, detail: "`tart list --format json` failed, so whether \(image) is pulled is not known", warningOnly: true)
        }
        if store.has(image: image) { return PreflightCheck(name: name, ok: true, detail: "\(image) is in Tart's local store") }
        let cloned = store.needingClone(cluster.nodes, of: cluster, layout: tools.layout)
        guard !cloned.isEmpty else {
            return PreflightCheck(name: name, ok: true, detail: "\(image) is not in Tart's local store, but every node's VM exists, so nothing is cloned")
        }
        let nodes = cloned.map(\.name).joined(separator: ", ")
        guard offline else {
            return PreflightCheck(name: name, ok: true, detail: "\(image) is not in Tart's local store: `up` pulls it (several GB) before cloning \(nodes)",
                                  fix: "`k0slua cache fetch` pulls it ahead of time", warningOnly: true)
        }
        return PreflightCheck(name: name, ok: false,
                              detail: "\(image) is not in Tart's local store and \(nodes) must be cloned from it; Tart's pull always asks the registry, so it cannot be pulled offline",
                              fix: TartStore.offlineFix(image))
    }

    static func firstLine(_ text: String) -> String? {
        text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// Runs every check; the order is stable.
    public func run() async -> [PreflightCheck] {
        var checks: [PreflightCheck] = []
        if let plugin = cluster.provider.vagrantPlugin {
            let vagrant = await version("vagrant", vagrantQuery(["--version"]))
            checks.append(vagrant)
            if vagrant.ok {
                let plugins = try? await runner.run(vagrantQuery(["plugin", "list"]))
                let line = plugins?.standardOutput.split(separator: "\n").first { $0.hasPrefix(plugin + " ") }
                checks.append(PreflightCheck(name: plugin, ok: line != nil, detail: line.map(String.init) ?? "not installed",
                                             fix: line == nil ? install(plugin) : nil))
            }
        }
        if cluster.provider == .tart {
            checks.append(await tartCheck())
            // Tart runs only on macOS; offline the image decides whether `up` can run at all.
            if hostFacts.os == "macos" || offline, let image = await tartImageCheck() { checks.append(image) }
        }
        for tool in [ProvisionedTool.k0sctl, .kubectl] { checks.append(await provisioned(tool)) }
        checks.append(await version("ssh", Command("ssh", ["-V"])))
        let keygen = Self.onPath("ssh-keygen")
        checks.append(PreflightCheck(name: "ssh-keygen", ok: keygen != nil, detail: keygen ?? "not found", fix: keygen == nil ? install("ssh-keygen") : nil))
        if cluster.provider != .hosts {
            let cpus = cluster.nodes.reduce(0) { $0 + $1.cpus }
            let memory = cluster.nodes.reduce(0) { $0 + $1.memoryMiB }
            checks.append(PreflightCheck(name: "host memory", ok: memory <= hostFacts.memoryMiB,
                                         detail: "the nodes ask for \(memory) MiB; this host has \(hostFacts.memoryMiB) MiB",
                                         fix: memory <= hostFacts.memoryMiB ? nil : "lower memory_worker/memory_control or worker_count"))
            checks.append(PreflightCheck(name: "host CPUs", ok: true,
                                         detail: "the nodes ask for \(cpus) CPUs; this host has \(hostFacts.cpus)" + (cpus > hostFacts.cpus ? " (shared)" : ""),
                                         warningOnly: true))
        }
        if cluster.provider == .tart, hostFacts.os == "macos" {
            checks.append(contentsOf: await MacNetworkChecks(cluster: cluster, layout: tools.layout, runner: runner,
                                                                  searchPath: searchPath, leasesFile: leasesFile).run())
        }
        return checks
    }
}
