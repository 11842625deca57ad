"""The pod network Calico builds in VXLAN mode, reduced to what matters for node addressing: a
VXLAN device on each node bound to its private address (outer packets leave with the node's
address), a pod-range address behind it (10.244.N.1/24 on a dummy device, node N in k0sctl.yaml
order), and per peer a route to its /24 through the device with a static neighbour and FDB entry
pointing at the peer's private address (what Felix programs for vxlan.calico).

Before the overlay it tries kube-router's way, native routing: a route to the peer's pod /24 via the
peer's node address, so packets leave the node with a pod-range source. Under softnet's
source-address enforcement those are dropped; through the overlay they pass. Both are printed;
only a failing overlay fails the apply.
"""
from concurrent.futures import ThreadPoolExecutor

from e2e_etcd import ssh

DEVICE, PODS, VNI, PORT = "k0slua-vxlan", "k0slua-pods", 4097, 4789


def mac(index):
    return f"66:6b:30:00:00:{index:02x}"


def run(nodes, log):
    # One root shell per node and step (`sudo sh -s`, script on stdin): sudo is slow under TCG.
    def pod_address(index, node):
        script = [f"ip link del {DEVICE} 2>/dev/null; ip link del {PODS} 2>/dev/null; set -e",
                  f"ip link add {PODS} type dummy", f"ip addr add 10.244.{index}.1/24 dev {PODS}", f"ip link set {PODS} up"]
        script += [f"ip route replace 10.244.{peer}.0/24 via {other.address}" for peer, other in enumerate(nodes, 1) if peer != index]
        return ssh(node, "sudo sh -s", stdin="\n".join(script).encode())

    for node, result in zip(nodes, each_node(nodes, pod_address)):
        if result.returncode != 0:
            return f"failed on 1 hosts:\n - [ssh] {node.host['ssh']['address']}: pod address: {result.stderr.decode().strip()}"
    native = probe(nodes, log, "native routing (pod-range source, no encapsulation)")

    def overlay_device(index, node):
        script = [f"ip route del 10.244.{peer}.0/24 2>/dev/null;" for peer in range(1, len(nodes) + 1) if peer != index]
        script += ["set -e", f"ip link add {DEVICE} address {mac(index)} type vxlan id {VNI} local {node.address} dstport {PORT} nolearning",
                   f"ip addr add 10.244.{index}.0/32 dev {DEVICE}", f"ip link set {DEVICE} up"]
        for peer_index, peer in enumerate(nodes, 1):
            if peer_index != index:
                script += [f"bridge fdb append {mac(peer_index)} dev {DEVICE} dst {peer.address}",
                           f"ip neigh replace 10.244.{peer_index}.0 lladdr {mac(peer_index)} dev {DEVICE} nud permanent",
                           f"ip route replace 10.244.{peer_index}.0/24 via 10.244.{peer_index}.0 dev {DEVICE} onlink"]
        return ssh(node, "sudo sh -s", stdin="\n".join(script).encode())

    for node, result in zip(nodes, each_node(nodes, overlay_device)):
        if result.returncode != 0:
            return f"failed on 1 hosts:\n - [ssh] {node.host['ssh']['address']}: vxlan: {result.stderr.decode().strip()}"
    log(f"vxlan {DEVICE} (VNI {VNI}, UDP {PORT}) on every node's private address; pods 10.244.N.1/24 behind it")
    overlay = probe(nodes, log, "VXLAN overlay (outer source = node address)")
    log(f"pod network summary: native routing {native[0]}/{native[1]} pairs, VXLAN overlay {overlay[0]}/{overlay[1]} pairs")
    if overlay[0] != overlay[1]:
        return f"pod-range traffic does not cross nodes through the VXLAN overlay ({overlay[0]} of {overlay[1]} pairs)"
    return None


def probe(nodes, log, what):
    """Pings every other node's pod address from this node's pod address; returns (passed, pairs)."""
    # Every node at once, every peer at once on each node (a lost pair waits out its ping timeout).
    def ask(index, node):
        targets = [f"10.244.{peer}.1" for peer in range(1, len(nodes) + 1) if peer != index]
        checks = " ".join(f"(if ping -c 2 -W 2 -I 10.244.{index}.1 {t} >/dev/null 2>&1; then echo {t} ok; else echo {t} lost; fi) &" for t in targets)
        return ssh(node, checks + " wait")

    results = each_node(nodes, ask)
    passed = pairs = 0
    for (index, node), result in zip(enumerate(nodes, 1), results):
        for line in sorted(result.stdout.decode().split("\n")):
            if line.endswith(" ok") or line.endswith(" lost"):
                pairs += 1
                passed += line.endswith(" ok")
                log(f"[ssh] {node.host['ssh']['address']}: pod 10.244.{index}.1 -> {line.replace(' ok', ': ok').replace(' lost', ': lost')} ({what})")
    return passed, pairs


def each_node(nodes, work):
    """work(index, node) for every node at once (index from 1, k0sctl.yaml order); results in that order."""
    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        return list(pool.map(lambda pair: work(*pair), enumerate(nodes, 1)))
