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

    public init(cluster: Cluster, layout: StateLayout, runner: any ProcessRunning, hostFacts: HostFacts = .current) {
        self.cluster = cluster
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

    /// The path of an executable found on PATH.
    static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func firstLine(_ text: String) -> String? {
        text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// Runs every check; the order is stable.
    public func run() async -> [PreflightCheck] {
        var checks: [PreflightCheck] = []
        if let plugin = cluster.provider.vagrantPlugin {
            let vagrant = await version("vagrant", tools.vagrant(["--version"]))
            checks.append(vagrant)
            if vagrant.ok {
                let plugins = try? await runner.run(tools.vagrant(["plugin", "list"]))
                let line = plugins?.standardOutput.split(separator: "\n").first { $0.hasPrefix(plugin + " ") }
                checks.append(PreflightCheck(name: plugin, ok: line != nil, detail: line.map(String.init) ?? "not installed",
                                             fix: line == nil ? install(plugin) : nil))
            }
        }
        if cluster.provider == .tart {
            checks.append(await version("tart", tools.tart(["--version"])))
        }
        checks.append(await version("k0sctl", Command("k0sctl", ["version"])) { result in
            result.standardOutput.split(separator: "\n").first { $0.hasPrefix("version:") }.map { $0.dropFirst(8).trimmingCharacters(in: .whitespaces) }
        })
        checks.append(await version("kubectl", Command("kubectl", ["version", "--client"])))
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
            checks.append(contentsOf: tartNetworkChecks())
        }
        return checks
    }

    /// Tart on macOS: the static IPs must not be handed out by bootpd to other VMs (contracts §D.7),
    /// and the shared network blocks VM-to-VM traffic on recent macOS.
    func tartNetworkChecks(leasesFile: String = "/var/db/dhcpd_leases") -> [PreflightCheck] {
        var checks: [PreflightCheck] = []
        let leases = (try? String(contentsOfFile: leasesFile, encoding: .utf8)) ?? ""
        let planned = Set(cluster.nodes.compactMap { $0.ip?.description })
        let leased = leases.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("ip_address=") ? String(trimmed.dropFirst("ip_address=".count)) : nil
        }
        let clashes = leased.filter { planned.contains($0) }
        checks.append(PreflightCheck(name: "DHCP leases", ok: clashes.isEmpty,
                                     detail: clashes.isEmpty ? "no lease in /var/db/dhcpd_leases uses a planned static IP" : "leased to other VMs: \(clashes.joined(separator: ", "))",
                                     fix: clashes.isEmpty ? nil : "stop those VMs, or `sudo rm /var/db/dhcpd_leases`, or move the node IPs"))
        if cluster.network.tartMode == .shared {
            checks.append(PreflightCheck(name: "network mode", ok: true,
                                         detail: "shared (Tart NAT): macOS 13+ may isolate VMs from each other; the connectivity phase will tell",
                                         fix: "if nodes cannot reach each other, set network = { mode = \"bridged\", bridge_interface = \"en0\" }",
                                         warningOnly: true))
        }
        return checks
    }
}
