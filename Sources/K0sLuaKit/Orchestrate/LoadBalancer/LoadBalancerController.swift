// Orchestrate/LoadBalancer: k0slua's LoadBalancer controller (docs/services.md). The program
// (Resources/lb_controller.py) runs under systemd on every controller with `k0s kubectl`; `up`
// installs it over SSH after `k0sctl apply` (Bootstrap+LoadBalancer.swift).

/// The controller's program, its systemd unit and the shell scripts that install or remove them.
public enum LoadBalancerController {
    /// The program's source (Python 3 standard library only).
    public static let program = String(decoding: PackageResources.lb_controller_py, as: UTF8.self)
    public static let programPath = "/usr/local/lib/k0slua/lb_controller.py"
    public static let unitName = "k0slua-lb.service"
    public static let unitPath = "/etc/systemd/system/k0slua-lb.service"
    /// The `loadBalancerClass` the controller also answers for (besides an unset class).
    public static let loadBalancerClass = "k0slua.io/node-ip"
    /// What runs the program; the hosts provider checks it on every controller before k0sctl.
    public static let interpreterProbe = "command -v python3"

    /// Ports no service may take because they would capture the nodes' own traffic; `4789` only
    /// for UDP. The nodes' SSH ports are added per cluster (`reservedPorts(of:)`).
    public static let reservedPorts: [Int] = [22, 179, 2379, 2380, 5473, 6443, 8132, 8133, 9443] + Array(10248...10259)

    /// The SSH ports of the cluster's nodes that the built-in list lacks.
    public static func extraReservedPorts(of cluster: Cluster) -> [Int] {
        Array(Set(cluster.nodes.map(\.ssh.port)).subtracting(reservedPorts)).sorted()
    }

    /// The systemd unit: restarts the controller whenever it stops, starts at boot after k0s.
    public static func unit(extraReservedPorts: [Int]) -> String {
        let arguments = extraReservedPorts.map { " --reserve-port \($0)" }.joined()
        return """
            [Unit]
            Description=k0slua LoadBalancer controller (node addresses for type: LoadBalancer services)
            After=k0scontroller.service network-online.target

            [Service]
            ExecStart=/usr/bin/env python3 \(programPath)\(arguments)
            Restart=always
            RestartSec=5

            [Install]
            WantedBy=multi-user.target

            """
    }

    /// A script for `sudo sh -s` on a controller: writes the program and the unit (each whole, through
    /// a rename, so an interrupted copy never leaves half a file), enables the unit and restarts it
    /// (so a new program takes over). Nothing in it comes from cluster.lua but integers.
    public static func installScript(extraReservedPorts: [Int]) -> String {
        let marker = "K0SLUA_LB_EOF"
        precondition(!program.contains(marker))
        return """
            set -e
            if ! command -v python3 >/dev/null 2>&1; then echo "python3 is missing: k0slua's load balancer needs it" >&2; exit 3; fi
            install -d -m 0755 /usr/local/lib/k0slua
            cat > \(programPath).new <<'\(marker)'
            \(program)\(marker)
            chmod 0755 \(programPath).new
            mv -f \(programPath).new \(programPath)
            cat > \(unitPath).new <<'\(marker)'
            \(unit(extraReservedPorts: extraReservedPorts))\(marker)
            mv -f \(unitPath).new \(unitPath)
            systemctl daemon-reload
            systemctl enable \(unitName)
            systemctl restart \(unitName)

            """
    }

    /// A script for `sudo sh -s` that stops and removes the controller (`load_balancer = "off"`).
    public static let uninstallScript = """
        systemctl disable --now \(unitName) 2>/dev/null || true
        rm -f \(unitPath) \(programPath)
        systemctl daemon-reload

        """
}
