import Foundation

/// The machine images of a snapshot, per provider. Every machine is stopped while these run.
///
/// libvirt: each domain's XML (`virsh dumpxml --inactive`) and each of its disk volumes as the
/// qcow2 file it is (vagrant-libvirt's overlay over the box volume, which `vagrant destroy` and
/// `k0slua destroy` leave in the pool), copied through libvirt with `virsh vol-download --sparse`
/// and put back with `vol-create-as` + `vol-upload --sparse`; restore defines the saved XML again
/// (same UUID, MAC and disks), so Vagrant's restored `.vagrant/machines/<node>/` finds it.
///
/// Tart: `tart clone` of each VM (APFS copy-on-write). Tart gives every clone of a local VM a new
/// MAC address (`Commands/Clone.swift`: `generateMAC` when a local VM has the source's MAC, which
/// the source itself does), so the node's MAC is kept in meta.json and written back into the
/// restored VM's `config.json` (`VMConfig.macAddress`): the node keeps its bootpd lease.
extension Bootstrap {
    func virsh(_ arguments: [String]) -> Command { Command("virsh", arguments) }

    /// The domain names `virsh list [--all] --name` printed: one a line, then a blank line.
    static func domainNames(listedBy output: String) -> [String] {
        output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Saves each node's machine image into `directory` (a snapshot being written).
    /// `frozen`: the libvirt domains are paused and their memory is saved too.
    func saveMachineImages(_ nodes: [Node], into directory: String, snapshot: String, frozen: FrozenDomains? = nil) async throws -> [ClusterSnapshot.Machine] {
        var machines: [ClusterSnapshot.Machine] = []
        for node in nodes {
            try Task.checkCancellation()
            switch cluster.provider {
            case .libvirt: machines.append(try await saveLibvirtMachine(node, into: directory, frozen: frozen))
            case .tart: machines.append(try await saveTartMachine(node, snapshot: snapshot))
            case .hosts: break
            }
        }
        return machines
    }

    func domainName(_ node: String) -> String { VagrantfileRenderer.libvirtDomainPrefix(cluster, layout: layout) + node }

    func saveLibvirtMachine(_ node: Node, into directory: String, frozen: FrozenDomains? = nil) async throws -> ClusterSnapshot.Machine {
        let domain = domainName(node.name)
        progress.info("saving \(node.name) (libvirt domain \(domain)\(frozen == nil ? "" : ", with its memory"))")
        let xml = try await step(.machines, virsh(["dumpxml", "--inactive", "--security-info", "--", domain]), log: "snapshot").standardOutput
        try FileManager.default.createDirectory(atPath: directory + "/domains", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/disks", withIntermediateDirectories: true)
        _ = try FileWriter.write(xml, to: "\(directory)/domains/\(node.name).xml")
        // The memory first: the domain is shut off while its disks are copied, then back paused.
        var memory: String?
        if let frozen { memory = try await saveMemory(node, domain: domain, into: directory, frozen: frozen) }
        var volumes: [ClusterSnapshot.Volume] = []
        for path in Self.diskFiles(inDomainXML: xml) {
            let pool = try await step(.machines, virsh(["vol-pool", "--", path]), log: "snapshot").standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            let name = (path as NSString).lastPathComponent
            let info = try await step(.machines, virsh(["vol-info", "--bytes", "--pool", pool, "--", name]), log: "snapshot").standardOutput
            let capacity = info.split(separator: "\n").first { $0.hasPrefix("Capacity:") }
                .flatMap { Int64($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
            try await step(.machines, virsh(["vol-download", "--pool", pool, "--sparse", "--", name, "\(directory)/disks/\(name)"]), log: "snapshot")
            volumes.append(ClusterSnapshot.Volume(pool: pool, name: name, capacity: capacity))
        }
        guard !volumes.isEmpty else {
            throw BootstrapFailure(phase: .machines, tool: "virsh", message: "libvirt domain \(domain) has no disk file to save", outputTail: [],
                                   logFile: "\(layout.logs)/snapshot.log")
        }
        if let frozen, let memory { try await restorePaused(domain: domain, image: "\(directory)/\(memory)", frozen: frozen) }
        return ClusterSnapshot.Machine(node: node.name, domain: domain, volumes: volumes, memoryImage: memory)
    }

    /// The `<source file='…'/>` of each `device='disk'` disk in a domain's XML.
    public static func diskFiles(inDomainXML xml: String) -> [String] {
        let disks = xml.matches(of: #/<disk\b[^>]*device=['"]disk['"][^>]*>(?s:.*?)</disk>/#).map { String($0.output) }
        return disks.compactMap { disk in
            disk.firstMatch(of: #/<source\b[^>]*\bfile=['"]([^'"]+)['"]/#).map { String($0.output.1) }
        }.map { $0.replacingOccurrences(of: "&apos;", with: "'").replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&") }
    }

    func restoreLibvirtMachine(_ machine: ClusterSnapshot.Machine, from directory: String) async throws {
        guard let domain = machine.domain, let volumes = machine.volumes else { return }
        progress.info("restoring \(machine.node) (libvirt domain \(domain))")
        let defined = Self.domainNames(listedBy: try await step(.machines, virsh(["list", "--all", "--name"]), log: "snapshot").standardOutput)
        if defined.contains(domain) {
            _ = try? await runner.run(virsh(["destroy", "--", domain]))
            try await step(.machines, virsh(["undefine", "--remove-all-storage", "--", domain]), log: "snapshot")
        }
        for volume in volumes {
            // A volume of that name without its domain (an interrupted restore): replaced.
            _ = try? await runner.run(virsh(["vol-delete", "--pool", volume.pool, "--", volume.name]))
            // An empty raw file, filled with the saved qcow2 bytes; the refresh reads its format.
            try await step(.machines, virsh(["vol-create-as", "--format", "raw", "--", volume.pool, volume.name, "0"]), log: "snapshot")
            try await step(.machines, virsh(["vol-upload", "--pool", volume.pool, "--sparse", "--", volume.name, "\(directory)/disks/\(volume.name)"]),
                           log: "snapshot")
            try await step(.machines, virsh(["pool-refresh", "--", volume.pool]), log: "snapshot")
        }
        try await step(.machines, virsh(["define", "--", "\(directory)/domains/\(machine.node).xml"]), log: "snapshot")
    }

    // MARK: - Tart

    /// Tart's home (`TART_HOME`, else `~/.tart`; Tart `Config.swift`).
    static var tartHome: String {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["TART_HOME"], !home.isEmpty { return home }
        return (environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()) + "/.tart"
    }

    static func tartConfigFile(_ vm: String) -> String { "\(tartHome)/vms/\(vm)/config.json" }

    func saveTartMachine(_ node: Node, snapshot: String) async throws -> ClusterSnapshot.Machine {
        let vm = VagrantfileRenderer.tartName(cluster: cluster, node: node, layout: layout)
        let clone = ClusterSnapshot.tartCloneName(clusterID: id, snapshot: snapshot, node: node.name)
        progress.info("saving \(node.name) (tart clone \(vm) \(clone))")
        let config = FileManager.default.contents(atPath: Self.tartConfigFile(vm))
            .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        guard let mac = config?["macAddress"] as? String else {
            throw BootstrapFailure(phase: .machines, tool: "tart", message: "cannot read the MAC address of Tart VM \(vm) from \(Self.tartConfigFile(vm))",
                                   outputTail: [], logFile: nil, hint: "set TART_HOME when Tart keeps its VMs elsewhere")
        }
        // A clone an interrupted save left under this name.
        if await TartStore.read(runner: runner)?.vms.contains(clone) == true { _ = try? await runner.run(tools.tart(["delete", clone])) }
        try await step(.machines, tools.tart(["clone", vm, clone]), log: "snapshot")
        return ClusterSnapshot.Machine(node: node.name, tartClone: clone, macAddress: mac)
    }

    func restoreTartMachine(_ machine: ClusterSnapshot.Machine) async throws {
        guard let clone = machine.tartClone, let mac = machine.macAddress, let node = cluster.node(named: machine.node) else { return }
        let vm = VagrantfileRenderer.tartName(cluster: cluster, node: node, layout: layout)
        progress.info("restoring \(machine.node) (tart clone \(clone) \(vm))")
        if await TartStore.read(runner: runner)?.vms.contains(vm) == true {
            _ = try? await runner.run(tools.tart(["stop", vm]))
            try await step(.machines, tools.tart(["delete", vm]), log: "snapshot")
        }
        try await step(.machines, tools.tart(["clone", clone, vm]), log: "snapshot")
        // Tart gave the clone a new MAC: the node's own comes back, and with it its bootpd lease.
        let path = Self.tartConfigFile(vm)
        guard let data = FileManager.default.contents(atPath: path), var config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw BootstrapFailure(phase: .machines, tool: "tart", message: "cannot read \(path) to give \(vm) its MAC address \(mac) back",
                                   outputTail: [], logFile: nil, hint: "set TART_HOME when Tart keeps its VMs elsewhere")
        }
        config["macAddress"] = mac
        let text = String(decoding: try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self)
        _ = try FileWriter.write(text, to: path, permissions: 0o644)
    }

    /// Deletes the Tart clones `machines` name (a snapshot being deleted or abandoned).
    func deleteTartClones(_ machines: [ClusterSnapshot.Machine]) async {
        for clone in machines.compactMap(\.tartClone) { _ = try? await runner.run(tools.tart(["delete", clone])) }
    }
}
