/// Reads `vagrant ssh-config`: one `Host <machine>` block per machine, with `HostName <address>`.
/// The providers fill HostName from the machine's DHCP lease (vagrant-tart: `tart ip`;
/// vagrant-libvirt: the management network's lease).
public enum VagrantSSHConfig {
    /// Machine name → HostName.
    public static func hostNames(in output: String) -> [String: String] {
        var result: [String: String] = [:]
        var current: String?
        for line in output.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.count >= 2 else { continue }
            switch words[0] {
            case "Host": current = words[1]
            case "HostName": if let current { result[current] = words[1] }
            default: break
            }
        }
        return result
    }
}
