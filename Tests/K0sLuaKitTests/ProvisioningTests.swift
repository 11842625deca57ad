import Foundation
@testable import K0sLuaKit
import Testing
import Yams

/// The in-guest provisioning script, run for real as root in private mount, UTS and network
/// namespaces: /etc behind an overlay, /run a private tmpfs, a veth as the guest NIC, the image's
/// netplan file as in the cirruslabs Ubuntu images, and the real `netplan generate`; a stand-in
/// `systemd-run` records the deferred `netplan apply`. Twice, to prove it is idempotent. Nothing
/// reaches the host.
@Suite struct ProvisioningTests {
    static var available: Bool {
        #if os(Linux)
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/netplan")
        #else
        false
        #endif
    }

    @Test(.enabled(if: available, "needs Linux, root and unshare"), arguments: ["netplan", "none"])
    func theScriptConfiguresAGuest(staticMode: String) async throws {
        let root = NSTemporaryDirectory() + "k0slua-guest-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        for directory in ["etc-upper", "etc-work", "bin", "home/k0sluatest/.ssh"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: "\(root)/home/k0sluatest/.ssh/authorized_keys", contents: Data("ssh-ed25519 AAAA-existing other\n".utf8))
        let systemdRun = """
        #!/bin/sh
        echo "$*" >> \(root)/systemd-run.log

        """
        _ = FileManager.default.createFile(atPath: "\(root)/bin/systemd-run", contents: Data(systemdRun.utf8), attributes: [.posixPermissions: 0o755])
        _ = FileManager.default.createFile(atPath: "\(root)/provision.sh", contents: Data(GuestProvisioning.script.utf8))
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKfake k0slua-test"
        let arguments = ["worker-1", "k0sluatest", key, staticMode, staticMode == "netplan" ? "192.168.64.20" : "", "24", "192.168.64.1"]
            .map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let driver = """
        set -eu
        R=\(root)
        mount -t overlay overlay -o lowerdir=/etc,upperdir=$R/etc-upper,workdir=$R/etc-work /etc
        printf '127.0.0.1 localhost\\n127.0.1.1 ubuntu\\n' > /etc/hosts
        echo ubuntu > /etc/hostname
        echo "k0sluatest:x:4242:4242:test:$R/home/k0sluatest:/bin/sh" >> /etc/passwd
        echo "k0sluatest:x:4242:" >> /etc/group
        mount -t tmpfs tmpfs /run
        mkdir -p /etc/netplan
        rm -f /etc/netplan/*
        printf 'network:\\n  version: 2\\n  ethernets:\\n    all:\\n      match:\\n        name: "en*"\\n      dhcp4: true\\n      dhcp-identifier: mac\\n' > /etc/netplan/50-cloud-init.yaml
        chmod 600 /etc/netplan/50-cloud-init.yaml
        : > $R/systemd-run.log
        ip link set lo up
        ip link add enp0s1 type veth peer name peer0
        ip link set enp0s1 up
        ip link set peer0 up
        ip addr add 172.31.99.5/24 dev enp0s1
        ip route add default via 172.31.99.1 dev enp0s1
        export PATH="$R/bin:$PATH"
        sh $R/provision.sh \(arguments) > $R/run1.out 2>&1
        sh $R/provision.sh \(arguments) > $R/run2.out 2>&1
        hostname > $R/hostname.out
        ip -o -4 addr show dev enp0s1 > $R/addresses.out
        cat /run/systemd/network/*.network > $R/networkd.out 2>/dev/null || true
        """
        _ = FileManager.default.createFile(atPath: "\(root)/driver.sh", contents: Data(driver.utf8))
        let result = try await SubprocessRunner().run(Command("/usr/bin/unshare", ["--mount", "--uts", "--net", "--fork", "/bin/sh", "\(root)/driver.sh"]))
        func read(_ path: String) -> String? {
            FileManager.default.contents(atPath: "\(root)/\(path)").map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(result.exitCode == 0, "\(result.standardError)\(read("run1.out") ?? "")\(read("run2.out") ?? "")")
        #expect(read("hostname.out") == "worker-1\n")
        #expect(read("etc-upper/hostname") == "worker-1\n")
        #expect(read("etc-upper/hosts") == "127.0.1.1 worker-1\n127.0.0.1 localhost\n")
        #expect(read("home/k0sluatest/.ssh/authorized_keys") == "ssh-ed25519 AAAA-existing other\n\(key)\n", "the key is added once")
        let keyFile = try FileManager.default.attributesOfItem(atPath: "\(root)/home/k0sluatest/.ssh/authorized_keys")
        #expect((keyFile[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect((keyFile[.ownerAccountID] as? NSNumber)?.intValue == 4242)
        let addresses = read("addresses.out") ?? ""
        // Never a second address next to the lease: the live NIC keeps its one address until
        // netplan applies the static one, which then replaces DHCP.
        #expect(!addresses.contains("192.168.64.20"))
        #expect(addresses.contains(" 172.31.99.5/24 "))
        if staticMode == "netplan" {
            let document = try #require(try Yams.load(yaml: read("etc-upper/netplan/60-k0slua.yaml") ?? "") as? [String: Any])
            let network = try #require(document["network"] as? [String: Any])
            let interface = try #require((network["ethernets"] as? [String: Any])?["all"] as? [String: Any],
                                         "the address joins the image's own netplan definition")
            #expect(interface["dhcp4"] as? Bool == false)
            #expect(interface["addresses"] as? [String] == ["192.168.64.20/24"])
            // What real netplan makes of the image's file and ours: one static address, no DHCP.
            let networkd = read("networkd.out") ?? ""
            #expect(networkd.components(separatedBy: "Address=").count - 1 == 1, "\(networkd)")
            #expect(networkd.contains("Address=192.168.64.20/24"), "\(networkd)")
            #expect(!networkd.contains("DHCP=ipv4") && !networkd.contains("DHCP=yes"), "\(networkd)")
            #expect(networkd.contains("Gateway=192.168.64.1"), "\(networkd)")
            #expect(read("systemd-run.log") == String(repeating: "--quiet --on-active=3 --unit=k0slua-static-address netplan apply\n", count: 2))
            let mode = try FileManager.default.attributesOfItem(atPath: "\(root)/etc-upper/netplan/60-k0slua.yaml")[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600)
        } else {
            #expect(read("etc-upper/netplan/60-k0slua.yaml") == nil)
            #expect(read("systemd-run.log") == "")
        }
    }
}
