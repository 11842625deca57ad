import Foundation
import K0sLuaKit
import Yams

/// k0sctl v0.32's load-time rules for k0sctl.yaml, written from shared/reference/contracts.md §A
/// (strict decoding, Cluster.Validate, host rules) plus the generator rules of §F.
enum K0sctlRules {
    static let topKeys: Set<String> = ["apiVersion", "kind", "metadata", "spec"]
    static let metadataKeys: Set<String> = ["name", "user"]
    static let specKeys: Set<String> = ["hosts", "k0s", "options"]
    static let hostKeys: Set<String> = ["role", "noTaints", "ssh", "openSSH", "winRM", "localhost", "privateAddress", "privateInterface",
                                        "installFlags", "environment", "files", "hooks", "uploadBinary", "useExistingK0s",
                                        "k0sBinaryPath", "k0sInstallPath", "k0sDownloadURL", "hostname", "dataDir", "kubeletRootDir",
                                        "os", "reset"]
    static let sshKeys: Set<String> = ["address", "user", "port", "keyPath", "bastion", "options"]
    static let k0sKeys: Set<String> = ["version", "versionChannel", "dynamicConfig", "config"]
    static let roles: Set<String> = ["controller", "worker", "controller+worker", "single"]
    static let roleFlags = ["--enable-worker", "--no-taints", "--single", "--token-file", "--config", "--data-dir"]

    static func problems(in text: String) -> [String] {
        var problems: [String] = []
        guard let document = (try? Yams.load(yaml: text)) as? [String: Any] else { return ["not a YAML mapping"] }
        func unknown(_ map: [String: Any], _ allowed: Set<String>, _ type: String) {
            for key in Set(map.keys).subtracting(allowed) { problems.append("field \(key) not found in type \(type)") }
        }
        unknown(document, topKeys, "v1beta1.Cluster")
        if document["apiVersion"] as? String != "k0sctl.k0sproject.io/v1beta1" { problems.append("apiVersion: must equal k0sctl.k0sproject.io/v1beta1") }
        if !["Cluster", "cluster"].contains(document["kind"] as? String ?? "") { problems.append("kind: must equal Cluster") }
        if let metadata = document["metadata"] as? [String: Any] { unknown(metadata, metadataKeys, "v1beta1.ClusterMetadata") }
        guard let spec = document["spec"] as? [String: Any] else { return problems + ["spec: cannot be blank"] }
        unknown(spec, specKeys, "cluster.Spec")
        let hosts = spec["hosts"] as? [[String: Any]] ?? []
        if hosts.isEmpty { problems.append("hosts: at least one host required") }
        var connections = Set<String>()
        var controllerFirst = false
        for (index, host) in hosts.enumerated() {
            let label = "host #\(index + 1)"
            unknown(host, hostKeys, "cluster.Host")
            let role = host["role"] as? String ?? ""
            if !roles.contains(role) { problems.append("\(label): role: unknown role \(role)") }
            if index == 0 { controllerFirst = role.hasPrefix("controller") || role == "single" }
            if host["noTaints"] as? Bool == true, role != "controller+worker" {
                problems.append("\(label): noTaints: noTaints can only be true for controller+worker role")
            }
            if role == "controller+worker", host["noTaints"] == nil {
                problems.append("\(label): k0slua rule: a workload controller must carry noTaints: true")
            }
            guard let ssh = host["ssh"] as? [String: Any] else { problems.append("\(label): no protocol configuration"); continue }
            unknown(ssh, sshKeys, "ssh.Config")
            let address = ssh["address"] as? String ?? ""
            if address.isEmpty { problems.append("\(label): address is required") }
            let port = ssh["port"] as? Int ?? 22
            if !(1...65535).contains(port) { problems.append("\(label): port must be between 1 and 65535") }
            if !connections.insert("\(address):\(port)").inserted { problems.append("ssh.Config{\(address):\(port)}: is not unique") }
            if let keyPath = ssh["keyPath"] as? String, !(keyPath.hasPrefix("/") || keyPath.hasPrefix("~/")) {
                problems.append("\(label): keyPath \(keyPath) is relative (resolved against k0sctl's working directory)")
            }
            if let privateAddress = host["privateAddress"] {
                guard let text = privateAddress as? String, IPv4Address(text) != nil else {
                    problems.append("\(label): privateAddress: must be a valid IP address"); continue
                }
            } else {
                problems.append("\(label): k0slua rule: privateAddress must always be set")
            }
            for flag in host["installFlags"] as? [String] ?? [] where roleFlags.contains(where: { flag.hasPrefix($0) }) {
                problems.append("\(label): installFlags must not carry \(flag) (k0sctl adds role flags)")
            }
            if let hooks = host["hooks"] {
                guard let actions = hooks as? [String: Any], actions.values.allSatisfy({ ($0 as? [String: Any])?.values.allSatisfy { $0 is [String] } ?? false }) else {
                    problems.append("\(label): hooks must map action → stage → list of commands"); continue
                }
            }
        }
        if !hosts.isEmpty, !controllerFirst { problems.append("the first host must be a controller (it becomes the leader)") }
        if !hosts.contains(where: { ($0["role"] as? String ?? "").hasPrefix("controller") || $0["role"] as? String == "single" }) {
            problems.append("no hosts with a controller role defined")
        }
        guard let k0s = spec["k0s"] as? [String: Any] else { return problems + ["k0slua rule: spec.k0s.config must be explicit"] }
        unknown(k0s, k0sKeys, "cluster.K0s")
        guard let config = k0s["config"] as? [String: Any] else { return problems + ["k0slua rule: spec.k0s.config must be explicit"] }
        if config["apiVersion"] as? String != "k0s.k0sproject.io/v1beta1" || config["kind"] as? String != "ClusterConfig" {
            problems.append("spec.k0s.config must be a k0s.k0sproject.io/v1beta1 ClusterConfig")
        }
        let configSpec = config["spec"] as? [String: Any] ?? [:]
        if (configSpec["api"] as? [String: Any])?["address"] != nil { problems.append("spec.k0s.config.spec.api.address must not be set") }
        if let cplb = (configSpec["network"] as? [String: Any])?["controlPlaneLoadBalancing"] as? [String: Any] {
            if cplb["type"] as? String != "Keepalived" { problems.append("controlPlaneLoadBalancing: type Keepalived must be explicit") }
            for instance in ((cplb["keepalived"] as? [String: Any])?["vrrpInstances"] as? [[String: Any]]) ?? [] {
                let pass = instance["authPass"] as? String ?? ""
                if pass.isEmpty || pass.count > 8 { problems.append("AuthPass must be 8 characters or less") }
                for vip in instance["virtualIPs"] as? [String] ?? [] where IPv4CIDR(vip) == nil {
                    problems.append("VirtualIPs must be a CIDR. Got: \(vip)")
                }
            }
        }
        return problems
    }
}

/// Real `vagrant validate` on a rendered Vagrantfile, in a scratch directory with its own
/// VAGRANT_HOME. For tart, the vagrant-tart stand-in plugin (Tests/StandIns/vagrant-tart) is loaded
/// first so real Vagrant checks the provider block against vagrant-tart's settings.
enum VagrantValidate {
    static func run(_ vagrantfile: String, provider: Provider) async throws -> CommandResult {
        let directory = NSTemporaryDirectory() + "k0slua-validate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/home", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var environment = ["VAGRANT_CHECKPOINT_DISABLE": "1", "VAGRANT_BOX_UPDATE_CHECK_DISABLE": "1", "VAGRANT_HOME": directory + "/home",
                           "VAGRANT_DEFAULT_PROVIDER": provider.rawValue]
        if provider == .tart {
            _ = FileManager.default.createFile(atPath: directory + "/Rendered.rb", contents: Data(vagrantfile.utf8))
            let wrapper = "require \(rubyString(Repo.root + "/Tests/StandIns/vagrant-tart/plugin.rb"))\nload \(rubyString(directory + "/Rendered.rb"))\n"
            _ = FileManager.default.createFile(atPath: directory + "/Vagrantfile", contents: Data(wrapper.utf8))
        } else {
            _ = FileManager.default.createFile(atPath: directory + "/Vagrantfile", contents: Data(vagrantfile.utf8))
        }
        environment["VAGRANT_CWD"] = directory
        return try await SubprocessRunner().run(Command("vagrant", ["validate"], environment: environment, workingDirectory: directory))
    }

    static func rubyString(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
}
