/// Turns the value cluster.lua returned into a `Cluster`, checking shape only (types, required and
/// unknown keys). Meaning is checked by `ClusterValidator`. Collects every problem it finds.
public struct ClusterDecoder: Sendable {
    public let file: String

    public init(file: String) { self.file = file }

    static let topLevelKeys = ["name", "provider", "image", "box", "network", "k0s", "libvirt", "ssh", "nodes", "hooks", "load_balancer"]
    static let networkKeys = ["cidr", "gateway", "mode", "bridge_interface", "libvirt_network"]
    static let k0sKeys = ["version", "vip", "vip_auth_pass", "node_local_load_balancing"]
    static let libvirtKeys = ["driver", "management_network_name", "management_network_mode", "boot_timeout"]
    static let sshKeys = ["address", "user", "port", "key_path"]
    static let nodeKeys = ["name", "role", "ip", "cpus", "memory", "disk", "workloads", "labels", "taints", "ssh",
                           "hooks", "k0sctl_hooks"]
    static let hookKeys = ["pre_join", "post_join"]
    static let k0sctlHookActions = ["connect", "apply", "install", "upgrade", "reset", "backup"]
    static let k0sctlHookStages = ["before", "after"]

    /// Every key cluster.lua may use, as docs/cluster-lua.md names them.
    public static var documentedKeys: [String] {
        topLevelKeys + networkKeys.map { "network.\($0)" } + k0sKeys.map { "k0s.\($0)" } + libvirtKeys.map { "libvirt.\($0)" }
            + nodeKeys + sshKeys.map { "ssh.\($0)" } + hookKeys.map { "hooks.\($0)" }
    }

    /// Decodes, or throws every shape problem at once.
    public func decode(_ value: LuaValue) throws(DiagnosticList) -> Cluster {
        let (cluster, diagnostics) = decodePartially(value)
        guard let cluster, diagnostics.isEmpty else { throw DiagnosticList(diagnostics) }
        return cluster
    }

    /// What could be decoded (nodes with shape problems left out) and every shape problem, so that
    /// validation can still report the problems of the rest.
    public func decodePartially(_ value: LuaValue) -> (Cluster?, [Diagnostic]) {
        var reader = Reader(file: file)
        let cluster = reader.cluster(value)
        return (cluster, reader.diagnostics)
    }
}

/// Walks the value tree with a path and the nearest known line, recording problems.
struct Reader {
    let file: String
    var diagnostics: [Diagnostic] = []

    init(file: String) { self.file = file }

    mutating func fail(_ code: DiagnosticCode, _ path: String, _ line: Int?, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(code, file: file, line: line, path: path, message: message, hint: hint))
    }

    /// `got string "4G"`
    static func got(_ value: LuaValue) -> String {
        switch value {
        case .nil_: "nil"
        case .table(let t): t.isSequence && !t.entries.isEmpty ? "a list" : "a table"
        case .function: "a function"
        default: "\(value.typeName) \(value.shortDescription)"
        }
    }

    mutating func table(_ value: LuaValue, _ path: String, _ line: Int?, expected: String = "a table") -> LuaTable? {
        guard case .table(let table) = value else {
            fail(.typeMismatch, path, line, "expected \(expected), got \(Self.got(value))")
            return nil
        }
        return table
    }

    /// Reports unknown keys (with a suggestion) and non-string keys.
    mutating func checkKeys(_ table: LuaTable, _ path: String, allowed: [String]) {
        for entry in table.entries {
            guard case .string(let key) = entry.key else {
                fail(.unknownKey, LuaRuntime.childPath(path, entry.key), table.line,
                     "unexpected list entry; expected named keys (\(allowed.joined(separator: ", ")))")
                continue
            }
            if !allowed.contains(key) {
                let suggestion = closestMatch(to: key, in: allowed)
                fail(.unknownKey, LuaRuntime.childPath(path, .string(key)), table.line(of: key),
                     "unknown key" + (suggestion.map { "; did you mean \"\($0)\"?" } ?? ""),
                     hint: suggestion == nil ? "known keys: \(allowed.joined(separator: ", "))" : nil)
            }
        }
    }

    mutating func string(_ table: LuaTable, _ key: String, _ path: String, required: Bool = false) -> String? {
        var childPath: String { LuaRuntime.childPath(path, .string(key)) }
        switch table[key] {
        case nil, .nil_?:
            if required { fail(.missingKey, childPath, table.line(of: key), "required, expected a string") }
            return nil
        case .string(let s)?: return s
        case let other?:
            fail(.typeMismatch, childPath, table.line(of: key), "expected a string, got \(Self.got(other))")
            return nil
        }
    }

    mutating func integer(_ table: LuaTable, _ key: String, _ path: String, unit: String? = nil, required: Bool = false) -> Int? {
        var childPath: String { LuaRuntime.childPath(path, .string(key)) }
        var expected: String { "expected integer" + (unit.map { " (\($0))" } ?? "") }
        switch table[key] {
        case nil, .nil_?:
            if required { fail(.missingKey, childPath, table.line(of: key), "required, \(expected)") }
            return nil
        case .integer(let i)?:
            guard let value = Int(exactly: i) else { fail(.invalidValue, childPath, table.line(of: key), "\(i) is out of range"); return nil }
            return value
        case .number(let d)? where d.rounded() == d && abs(d) < 1e15:
            return Int(d)
        case let other?:
            fail(.typeMismatch, childPath, table.line(of: key), "\(expected), got \(Self.got(other))")
            return nil
        }
    }

    mutating func boolean(_ table: LuaTable, _ key: String, _ path: String) -> Bool? {
        var childPath: String { LuaRuntime.childPath(path, .string(key)) }
        switch table[key] {
        case nil, .nil_?: return nil
        case .boolean(let b)?: return b
        case let other?:
            fail(.typeMismatch, childPath, table.line(of: key), "expected a boolean, got \(Self.got(other))")
            return nil
        }
    }

    mutating func function(_ table: LuaTable, _ key: String, _ path: String) -> LuaFunctionRef? {
        var childPath: String { LuaRuntime.childPath(path, .string(key)) }
        switch table[key] {
        case nil, .nil_?: return nil
        case .function(let f)?: return f
        case let other?:
            fail(.typeMismatch, childPath, table.line(of: key), "expected a function, got \(Self.got(other))")
            return nil
        }
    }

    mutating func ipv4(_ table: LuaTable, _ key: String, _ path: String, required: Bool = false) -> IPv4Address? {
        guard let text = string(table, key, path, required: required) else { return nil }
        guard let ip = IPv4Address(text) else {
            fail(.invalidValue, LuaRuntime.childPath(path, .string(key)), table.line(of: key), "\"\(text)\" is not an IPv4 address")
            return nil
        }
        return ip
    }

    mutating func oneOf<T: RawRepresentable>(_ table: LuaTable, _ key: String, _ path: String, _ type: T.Type,
                                              choices: [T]) -> T? where T.RawValue == String {
        guard let text = string(table, key, path) else { return nil }
        guard let value = T(rawValue: text) else {
            let names = choices.map(\.rawValue)
            let suggestion = closestMatch(to: text, in: names)
            fail(.invalidValue, LuaRuntime.childPath(path, .string(key)), table.line(of: key),
                 "expected one of \(names.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(text)\""
                    + (suggestion.map { "; did you mean \"\($0)\"?" } ?? ""))
            return nil
        }
        return value
    }

    // MARK: - The cluster

    mutating func cluster(_ value: LuaValue) -> Cluster? {
        guard case .table(let root) = value else {
            fail(.typeMismatch, "", nil, "cluster.lua must return a table describing the cluster, got \(Self.got(value))",
                 hint: "end the file with `return { name = \"k0slua\", nodes = { ... } }`")
            return nil
        }
        checkKeys(root, "", allowed: ClusterDecoder.topLevelKeys)
        let name = string(root, "name", "") ?? "k0slua"
        let provider = oneOf(root, "provider", "", Provider.self, choices: Provider.allCases) ?? .tart
        let image = string(root, "image", "")
        let box = string(root, "box", "")
        if image != nil, provider == .libvirt {
            fail(.unsupportedSetting, "image", root.line, "the libvirt provider uses `box`, not `image`")
        }
        if box != nil, provider == .tart {
            fail(.unsupportedSetting, "box", root.line, "the tart provider uses `image`, not `box`")
        }
        let network = clusterNetwork(root["network"], line: root.line)
        let k0s = k0sSettings(root["k0s"], line: root.line)
        let libvirt = libvirtSettings(root["libvirt"], line: root.line)
        let defaultUser: String = switch provider {
        case .tart: "admin"
        case .libvirt: "vagrant"
        case .hosts: "root"
        }
        let ssh = sshSettings(root["ssh"], "ssh", line: root.line, defaults: SSHSettings(user: defaultUser))
        let hooks = clusterHooks(root["hooks"], line: root.line)
        let loadBalancer = oneOf(root, "load_balancer", "", LoadBalancerMode.self, choices: LoadBalancerMode.allCases) ?? .nodeIP
        var nodes: [Node] = []
        switch root["nodes"] {
        case nil, .nil_?:
            fail(.missingKey, "nodes", root.line, "required, expected a list of nodes")
        case .table(let list)? where list.isSequence:
            for (index, entry) in list.entries.enumerated() {
                if let node = node(entry.value, path: "nodes[\(index + 1)]", line: list.line, clusterSSH: ssh) {
                    nodes.append(node)
                }
            }
        case let other?:
            fail(.typeMismatch, "nodes", root.line, "expected a list of nodes, got \(Self.got(other))")
        }
        let defaultImage: String? = switch provider {
        case .tart: Cluster.defaultTartImage
        case .libvirt: "generic/ubuntu2204"
        case .hosts: nil
        }
        guard let network else { return nil }
        // Controllers first, then workers, each in the order cluster.lua gave them.
        let ordered = nodes.filter { $0.role == .controller } + nodes.filter { $0.role == .worker }
        var cluster = Cluster(name: name, provider: provider, image: (provider == .libvirt ? box : image) ?? defaultImage,
                              network: network, k0s: k0s, libvirt: libvirt, ssh: ssh, nodes: ordered, hooks: hooks)
        cluster.fieldLines = root.fieldLines
        cluster.loadBalancer = loadBalancer
        cluster.imageIsDefault = (provider == .libvirt ? box : image) == nil
        return cluster
    }

    mutating func clusterNetwork(_ value: LuaValue?, line: Int?) -> ClusterNetwork? {
        let defaultCIDR = IPv4CIDR("192.168.64.0/24")!
        guard let value, value != .nil_ else {
            return ClusterNetwork(cidr: defaultCIDR, gateway: IPv4Address("192.168.64.1")!, cidrGiven: false, gatewayGiven: false,
                                  modeGiven: false, line: line)
        }
        guard let table = table(value, "network", line) else { return nil }
        checkKeys(table, "network", allowed: ClusterDecoder.networkKeys)
        var cidr = defaultCIDR
        if let text = string(table, "cidr", "network") {
            if let parsed = IPv4CIDR(text) {
                cidr = parsed
                if parsed.hasHostBits {
                    fail(.invalidValue, "network.cidr", table.line(of: "cidr"), "\"\(text)\" has host bits set",
                         hint: "did you mean \"\(parsed.description)\"?")
                }
            } else {
                fail(.invalidValue, "network.cidr", table.line(of: "cidr"), "\"\(text)\" is not a CIDR such as \"192.168.64.0/24\"")
            }
        }
        let gateway = ipv4(table, "gateway", "network")
        let givenMode = oneOf(table, "mode", "network", TartNetworkMode.self, choices: TartNetworkMode.allCases)
        let mode = givenMode ?? .softnet
        let bridge = string(table, "bridge_interface", "network")
        let libvirtName = string(table, "libvirt_network", "network") ?? "k0slua"
        return ClusterNetwork(cidr: cidr, gateway: gateway ?? cidr.network.adding(1)!, tartMode: mode, bridgeInterface: bridge,
                              libvirtNetworkName: libvirtName, cidrGiven: table["cidr"] != nil && table["cidr"] != .nil_,
                              gatewayGiven: gateway != nil, modeGiven: givenMode != nil, line: table.line)
    }

    mutating func k0sSettings(_ value: LuaValue?, line: Int?) -> K0sSettings {
        guard let value, value != .nil_, let table = table(value, "k0s", line) else { return K0sSettings(line: line) }
        checkKeys(table, "k0s", allowed: ClusterDecoder.k0sKeys)
        var settings = K0sSettings(line: table.line)
        if let version = string(table, "version", "k0s") {
            settings.declaredVersion = version
            settings.versionLine = table.line(of: "version")
            settings.version = version.hasPrefix("v") ? version : "v" + version
        }
        settings.vip = ipv4(table, "vip", "k0s")
        settings.vipAuthPass = string(table, "vip_auth_pass", "k0s") ?? settings.vipAuthPass
        settings.nodeLocalLoadBalancing = boolean(table, "node_local_load_balancing", "k0s")
        return settings
    }

    mutating func libvirtSettings(_ value: LuaValue?, line: Int?) -> LibvirtSettings {
        guard let value, value != .nil_, let table = table(value, "libvirt", line) else { return LibvirtSettings() }
        checkKeys(table, "libvirt", allowed: ClusterDecoder.libvirtKeys)
        var settings = LibvirtSettings()
        if let driver = string(table, "driver", "libvirt") {
            if ["kvm", "qemu"].contains(driver) { settings.driver = driver } else {
                fail(.invalidValue, "libvirt.driver", table.line(of: "driver"), "expected \"kvm\" or \"qemu\", got \"\(driver)\"")
            }
        }
        settings.managementNetworkName = string(table, "management_network_name", "libvirt")
        if let mode = string(table, "management_network_mode", "libvirt") {
            if ["nat", "none", "route", "open", "veryisolated"].contains(mode) { settings.managementNetworkMode = mode } else {
                fail(.invalidValue, "libvirt.management_network_mode", table.line(of: "management_network_mode"),
                     "expected one of \"nat\", \"none\", \"route\", \"open\", \"veryisolated\", got \"\(mode)\"")
            }
        }
        settings.bootTimeout = integer(table, "boot_timeout", "libvirt", unit: "seconds")
        return settings
    }

    mutating func sshSettings(_ value: LuaValue?, _ path: @autoclosure () -> String, line: Int?, defaults: SSHSettings) -> SSHSettings {
        guard let value, value != .nil_ else { return defaults }
        let path = path()
        guard let table = table(value, path, line) else { return defaults }
        checkKeys(table, path, allowed: ClusterDecoder.sshKeys)
        var settings = defaults
        settings.address = string(table, "address", path) ?? defaults.address
        settings.user = string(table, "user", path) ?? defaults.user
        settings.port = integer(table, "port", path) ?? defaults.port
        settings.keyPath = string(table, "key_path", path) ?? defaults.keyPath
        settings.portLine = table.line(of: "port")
        return settings
    }

    mutating func clusterHooks(_ value: LuaValue?, line: Int?) -> ClusterHooks {
        guard let value, value != .nil_, let table = table(value, "hooks", line) else { return ClusterHooks() }
        checkKeys(table, "hooks", allowed: ClusterDecoder.hookKeys)
        return ClusterHooks(preJoin: function(table, "pre_join", "hooks"), postJoin: function(table, "post_join", "hooks"))
    }

    mutating func node(_ value: LuaValue, path: String, line: Int?, clusterSSH: SSHSettings) -> Node? {
        guard let table = table(value, path, line, expected: "a node table") else { return nil }
        checkKeys(table, path, allowed: ClusterDecoder.nodeKeys)
        let name = string(table, "name", path, required: true)
        let role = oneOf(table, "role", path, NodeRole.self, choices: NodeRole.allCases)
        if table["role"] == nil || table["role"] == .nil_ {
            fail(.missingKey, "\(path).role", table.line, "required, expected \"controller\" or \"worker\"")
        }
        // `ip` is an address, or "dhcp": assigned at boot and discovered after the machines start.
        let isDHCP = table["ip"] == .string("dhcp")
        let ip = isDHCP ? nil : ipv4(table, "ip", path, required: true)
        let cpus = integer(table, "cpus", path, required: true)
        let memory = integer(table, "memory", path, unit: "MiB", required: true)
        let disk = integer(table, "disk", path, unit: "GB", required: true)
        let workloads = boolean(table, "workloads", path)
        let labels = labels(table["labels"], "\(path).labels", line: table.line)
        let labelsLine: Int? = if case .table(let labelTable)? = table["labels"] { labelTable.line } else { nil }
        let taints = taints(table["taints"], "\(path).taints", line: table.line)
        let ssh = sshSettings(table["ssh"], "\(path).ssh", line: table.line, defaults: clusterSSH)
        var hooks = NodeHooks()
        if let hookValue = table["hooks"], hookValue != .nil_, let hookTable = self.table(hookValue, "\(path).hooks", table.line) {
            checkKeys(hookTable, "\(path).hooks", allowed: ClusterDecoder.hookKeys)
            hooks = NodeHooks(preJoin: function(hookTable, "pre_join", "\(path).hooks"),
                              postJoin: function(hookTable, "post_join", "\(path).hooks"))
        }
        let k0sctlHooks = k0sctlHooks(table["k0sctl_hooks"], "\(path).k0sctl_hooks", line: table.line)
        if role == .worker, workloads != nil {
            fail(.workloadsOnWorker, "\(path).workloads", table.line(of: "workloads"),
                 "only controllers take `workloads`; workers always run workloads",
                 hint: "remove `workloads` from this worker")
        }
        guard let name, let role, ip != nil || isDHCP, let cpus, let memory, let disk else { return nil }
        var node = Node(name: name, role: role, ip: ip, addressing: isDHCP ? .dhcp : .fixed, cpus: cpus, memoryMiB: memory, diskGB: disk,
                    runsWorkloadsOnController: role == .controller && (workloads ?? false),
                    labels: labels, taints: taints, ssh: ssh, hooks: hooks, k0sctlHooks: k0sctlHooks, line: table.line, sourcePath: path)
        node.fieldLines = table.fieldLines
        node.labelsLine = labelsLine
        node.hasOwnSSH = table["ssh"] != nil && table["ssh"] != .nil_
        return node
    }

    mutating func labels(_ value: LuaValue?, _ path: @autoclosure () -> String, line: Int?) -> [Label] {
        guard let value, value != .nil_ else { return [] }
        let path = path()
        guard let table = table(value, path, line, expected: "a table of labels such as { tier = \"db\" }") else { return [] }
        var labels: [Label] = []
        for entry in table.entries {
            guard case .string(let key) = entry.key else {
                fail(.invalidLabel, LuaRuntime.childPath(path, entry.key), table.line,
                     "labels are key = value pairs, got a list entry \(entry.value.shortDescription)")
                continue
            }
            var childPath: String { LuaRuntime.childPath(path, .string(key)) }
            let text: String
            switch entry.value {
            case .string(let s): text = s
            case .integer(let i): text = String(i)
            case .boolean(let b): text = String(b)
            default:
                fail(.typeMismatch, childPath, table.line, "expected a string, got \(Self.got(entry.value))")
                continue
            }
            labels.append(Label(key: key, value: text))
        }
        return labels
    }

    mutating func taints(_ value: LuaValue?, _ path: @autoclosure () -> String, line: Int?) -> [Taint] {
        guard let value, value != .nil_ else { return [] }
        let path = path()
        guard case .table(let table) = value, table.isSequence else {
            fail(.typeMismatch, path, line, "expected a list of taints such as { \"dedicated=db:NoSchedule\" }, got \(Self.got(value))")
            return []
        }
        var taints: [Taint] = []
        for (index, entry) in table.entries.enumerated() {
            var childPath: String { "\(path)[\(index + 1)]" }
            guard case .string(let text) = entry.value else {
                fail(.typeMismatch, childPath, table.line, "expected a string such as \"key=value:NoSchedule\", got \(Self.got(entry.value))")
                continue
            }
            switch LabelSyntax.parseTaint(text) {
            case .success(let taint): taints.append(taint)
            case .failure(let problem): fail(.invalidTaint, childPath, table.line, problem.message)
            }
        }
        return taints
    }

    mutating func k0sctlHooks(_ value: LuaValue?, _ path: @autoclosure () -> String, line: Int?) -> [String: [String: [String]]] {
        guard let value, value != .nil_ else { return [:] }
        let path = path()
        guard let table = table(value, path, line) else { return [:] }
        checkKeys(table, path, allowed: ClusterDecoder.k0sctlHookActions)
        var result: [String: [String: [String]]] = [:]
        for action in ClusterDecoder.k0sctlHookActions {
            guard let stageValue = table[action], stageValue != .nil_ else { continue }
            let actionPath = "\(path).\(action)"
            guard let stages = self.table(stageValue, actionPath, table.line) else { continue }
            checkKeys(stages, actionPath, allowed: ClusterDecoder.k0sctlHookStages)
            for stage in ClusterDecoder.k0sctlHookStages {
                guard let commandsValue = stages[stage], commandsValue != .nil_ else { continue }
                let stagePath = "\(actionPath).\(stage)"
                guard case .table(let commands) = commandsValue, commands.isSequence else {
                    fail(.typeMismatch, stagePath, stages.line, "expected a list of shell commands, got \(Self.got(commandsValue))")
                    continue
                }
                var list: [String] = []
                for (index, command) in commands.entries.enumerated() {
                    guard case .string(let text) = command.value, !text.isEmpty else {
                        fail(.typeMismatch, "\(stagePath)[\(index + 1)]", commands.line, "expected a non-empty shell command string, got \(Self.got(command.value))")
                        continue
                    }
                    list.append(text)
                }
                result[action, default: [:]][stage] = list
            }
        }
        return result
    }
}
