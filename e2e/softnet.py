#!/usr/bin/env python3
"""Softnet's source-address enforcement, simulated on a libvirt bridge inside the e2e namespace.

cirruslabs/softnet (lib/proxy/vm.rs) forwards a frame from a VM only if its Ethernet source is the
VM's MAC and it is ARP or IPv4 (everything else, IPv6 included, is dropped); an ARP frame only if
its sender hardware address is the VM's MAC and its sender IP is the VM's DHCP lease (0.0.0.0
before a lease exists); an IPv4 packet only if its source is the lease (lib/dhcp_snooper.rs learns
it from the host's DHCP ACK), except DHCP requests to the broadcast address, which always pass.
Destination rules are left out: Tart's --net-softnet-allow=0.0.0.0/0 lifts them, and only that
value also turns vmnet's bridge isolation off (lib/proxy/mod.rs), which is what lets VMs talk.

Here: a bridge-family nftables table on the libvirt bridge's tap ports (vnet*), hooked on forward
(VM to VM) and input (VM to host), with a set of allowed (tap port . MAC . IPv4) triples. This
process learns them every half second from the libvirt dnsmasq lease file of the bridge and the
running domains' live XML (tap name and MAC), and adds or removes set elements as leases come and
go. Named counters count what is dropped. Runs until SIGTERM, then removes its table.

usage (inside the namespace): softnet.py BRIDGE LOGFILE
"""
import glob
import json
import re
import signal
import subprocess
import sys
import time

TABLE = "softnet"
RULES = """
table bridge softnet {
  counter dropped_ipv4 {}
  counter dropped_arp {}
  counter dropped_other {}
  set ports { type ifname . ether_addr; }
  set leases { type ifname . ether_addr . ipv4_addr; }
  chain forward { type filter hook forward priority -200; policy accept; iifname "vnet*" jump from_vm; }
  chain input { type filter hook input priority -200; policy accept; iifname "vnet*" jump from_vm; }
  chain from_vm {
    ether type ip ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept
    ether type ip iifname . ether saddr . ip saddr @leases accept
    ether type ip counter name dropped_ipv4 drop
    ether type arp iifname . ether saddr . arp saddr ip @leases iifname . arp saddr ether . arp saddr ip @leases accept
    ether type arp arp saddr ip 0.0.0.0 iifname . ether saddr @ports iifname . arp saddr ether @ports accept
    ether type arp counter name dropped_arp drop
    counter name dropped_other drop
  }
}
"""


def nft(script):
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True)


def ports(bridge):
    """{tap: vm mac} for the running domains' interfaces on the bridge."""
    found = {}
    for path in glob.glob("/run/libvirt/qemu/*.xml"):
        try:
            xml = open(path).read()
        except OSError:
            continue
        for interface in re.findall(r"<interface type=.*?</interface>", xml, re.S):
            mac = re.search(r"<mac address='([0-9a-f:]+)'", interface)
            tap = re.search(r"<target dev='([^']+)'", interface)
            if mac and tap and f"bridge='{bridge}'" in interface.replace('"', "'"):
                found[tap.group(1)] = mac.group(1)
    return found


def leases(bridge):
    """{mac: ip} of the unexpired leases libvirt's dnsmasq handed out on the bridge."""
    try:
        entries = json.load(open(f"/var/lib/libvirt/dnsmasq/{bridge}.status"))
    except (OSError, ValueError):
        return {}
    now = time.time()
    return {e["mac-address"]: e["ip-address"] for e in entries if e.get("expiry-time", now + 1) > now and "." in e.get("ip-address", "")}


def main(bridge, logfile):
    log = open(logfile, "a", buffering=1)
    subprocess.run(["nft", "delete", "table", "bridge", TABLE], capture_output=True)
    nft(RULES)
    running = True

    def stop(*_):
        nonlocal running
        running = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.write(f"{time.strftime('%T')} softnet: enforcing on {bridge}\n")
    known_ports, known_leases = set(), set()
    while running:
        taps = ports(bridge)
        by_mac = leases(bridge)
        want_ports = {(tap, mac) for tap, mac in taps.items()}
        want_leases = {(tap, mac, by_mac[mac]) for tap, mac in taps.items() if mac in by_mac}
        script = []
        for tap, mac in want_ports - known_ports:
            script.append(f'add element bridge {TABLE} ports {{ "{tap}" . {mac} }}')
        for tap, mac in known_ports - want_ports:
            script.append(f'delete element bridge {TABLE} ports {{ "{tap}" . {mac} }}')
        for tap, mac, ip in want_leases - known_leases:
            script.append(f'add element bridge {TABLE} leases {{ "{tap}" . {mac} . {ip} }}')
            log.write(f"{time.strftime('%T')} softnet: {tap} {mac} may send from {ip}\n")
        for tap, mac, ip in known_leases - want_leases:
            script.append(f'delete element bridge {TABLE} leases {{ "{tap}" . {mac} . {ip} }}')
            log.write(f"{time.strftime('%T')} softnet: {tap} {mac} no longer sends from {ip}\n")
        if script:
            result = subprocess.run(["nft", "-f", "-"], input="\n".join(script) + "\n", text=True, capture_output=True)
            if result.returncode == 0:
                known_ports, known_leases = want_ports, want_leases
            else:  # a tap vanished between reading and applying: start over from the kernel's view
                log.write(f"{time.strftime('%T')} softnet: nft: {result.stderr.strip()}\n")
                subprocess.run(["nft", "flush", "set", "bridge", TABLE, "ports"], capture_output=True)
                subprocess.run(["nft", "flush", "set", "bridge", TABLE, "leases"], capture_output=True)
                known_ports, known_leases = set(), set()
        time.sleep(0.5)
    subprocess.run(["nft", "delete", "table", "bridge", TABLE], capture_output=True)
    log.write(f"{time.strftime('%T')} softnet: stopped\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
