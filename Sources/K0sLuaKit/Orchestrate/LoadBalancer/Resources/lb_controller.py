#!/usr/bin/env python3
"""k0slua's LoadBalancer controller (docs/services.md).

Gives every `type: LoadBalancer` Service whose loadBalancerClass is unset (or k0slua's own) the
InternalIPs of the Ready nodes whose kube-proxy is ready as `status.loadBalancer.ingress`; with
`externalTrafficPolicy: Local`, only the nodes holding a ready endpoint. kube-proxy programs those
addresses, so the service answers at <node-ip>:<port> from the host. Runs on every controller
(systemd unit k0slua-lb.service) with `k0s kubectl`: every instance computes the same answer from
the same objects and patches only when the status differs, so no leader election is needed.

usage: lb_controller.py [--reserve-port N]... [--interval S] [--kubectl CMD]   (the loop)
       lb_controller.py [--reserve-port N]... --decide DIR   (DIR/{services,nodes,endpointslices,pods}.json
                                                        → the patches and events on stdout, as JSON)
Python 3.8+ standard library only (python3 ships with Ubuntu cloud images and Debian's netplan.io)."""
import hashlib
import ipaddress
import json
import os
import subprocess
import sys
import time

CLASS = "k0slua.io/node-ip"
# Ports that would capture the node's own traffic: SSH, BGP, etcd, Calico Typha, the API server,
# konnectivity, k0s's join API, kubelet/kube-proxy/scheduler/controller-manager (any protocol);
# VXLAN (UDP only).
RESERVED_ANY = {22, 179, 2379, 2380, 5473, 6443, 8132, 8133, 9443} | set(range(10248, 10260))
RESERVED_UDP = {4789}
KUBE_PROXY_LABEL = ("k8s-app", "kube-proxy")
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def items(document):
    return (document or {}).get("items") or []


def ipv4(text):
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


def condition(obj, kind):
    for c in ((obj.get("status") or {}).get("conditions") or []):
        if c.get("type") == kind:
            return c.get("status")
    return None


def node_address(node):
    for a in ((node.get("status") or {}).get("addresses") or []):
        if a.get("type") == "InternalIP" and ipv4(a.get("address", "")):
            return a["address"]
    return None


def proxied_nodes(pods):
    """Names of nodes where a kube-proxy pod is Ready (kube-proxy is what programs the address)."""
    key, value = KUBE_PROXY_LABEL
    names = set()
    for pod in items(pods):
        meta = pod.get("metadata") or {}
        if (meta.get("labels") or {}).get(key) != value or meta.get("deletionTimestamp"):
            continue
        if condition(pod, "Ready") == "True" and (pod.get("spec") or {}).get("nodeName"):
            names.add(pod["spec"]["nodeName"])
    return names


def eligible_nodes(nodes, pods):
    """Node name → IPv4 InternalIP for the nodes that can serve a LoadBalancer address."""
    proxied = proxied_nodes(pods)
    result = {}
    for node in items(nodes):
        meta = node.get("metadata") or {}
        name = meta.get("name")
        if not name or meta.get("deletionTimestamp") or EXCLUDE_LABEL in (meta.get("labels") or {}):
            continue
        if condition(node, "Ready") != "True" or name not in proxied:
            continue
        address = node_address(node)
        if address:
            result[name] = address
    return result


def local_endpoint_nodes(slices, namespace, name):
    """Nodes holding a ready endpoint of the service (a missing `ready` counts as ready, as the API says)."""
    names = set()
    for s in items(slices):
        meta = s.get("metadata") or {}
        if meta.get("namespace") != namespace or (meta.get("labels") or {}).get("kubernetes.io/service-name") != name:
            continue
        for endpoint in s.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False or not endpoint.get("nodeName"):
                continue
            names.add(endpoint["nodeName"])
    return names


def ports_of(service):
    return [(int(p.get("port", 0)), (p.get("protocol") or "TCP").upper()) for p in (service.get("spec") or {}).get("ports") or []]


def reserved(port, protocol, extra):
    return port in RESERVED_ANY or port in extra or (protocol == "UDP" and port in RESERVED_UDP)


def current_ingress(service):
    return ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []


def ours(service):
    spec = service.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and spec.get("loadBalancerClass") in (None, "", CLASS)


def age_key(service):
    meta = service.get("metadata") or {}
    return (meta.get("creationTimestamp") or "", meta.get("namespace") or "", meta.get("name") or "")


def sort_ips(addresses):
    return sorted(set(addresses), key=lambda a: ipaddress.ip_address(a))


def decide(services, nodes, slices, pods, extra_reserved=()):
    """The whole decision, a pure function: {"patches": [...], "events": [...]}, both sorted."""
    extra = set(extra_reserved)
    eligible = eligible_nodes(nodes, pods)
    node_ips = set(eligible.values()) | {a for n in items(nodes) for a in [node_address(n)] if a}
    patches, events, claimed = [], [], {}
    for service in sorted(items(services), key=age_key):
        meta = service.get("metadata") or {}
        namespace, name = meta.get("namespace") or "default", meta.get("name")
        spec = service.get("spec") or {}
        have = current_ingress(service)
        if not ours(service):
            # No longer a LoadBalancer: take back the node addresses this controller gave it.
            if spec.get("type") != "LoadBalancer" and have and all(i.get("ip") in node_ips and set(i) <= {"ip"} for i in have):
                patches.append({"namespace": namespace, "name": name, "ingress": []})
            continue
        refusal = None
        families = spec.get("ipFamilies") or ["IPv4"]
        if "IPv4" not in families:
            refusal = ("IPv6Only", "service %s/%s is IPv6-only; k0slua's load balancer gives IPv4 node addresses only" % (namespace, name))
        ports = ports_of(service)
        if refusal is None:
            bad = ["%d/%s" % p for p in ports if reserved(p[0], p[1], extra)]
            if bad:
                refusal = ("ReservedPort", "port %s is reserved on the nodes (it would capture their own traffic); use another port"
                           % ", ".join(bad))
        if refusal is None:
            taken = [(p, claimed[p]) for p in ports if p in claimed]
            if taken:
                refusal = ("PortInUse", "port %s already belongs to the older service %s; use another port"
                           % (", ".join("%d/%s" % p for p, _ in taken), taken[0][1]))
        if refusal is not None:
            events.append({"namespace": namespace, "name": name, "uid": meta.get("uid", ""),
                           "reason": refusal[0], "message": refusal[1]})
            want = []
        else:
            for p in ports:
                claimed[p] = "%s/%s" % (namespace, name)
            names = set(eligible)
            if spec.get("externalTrafficPolicy") == "Local":
                names &= local_endpoint_nodes(slices, namespace, name)
            want = sort_ips(eligible[n] for n in names)
        if [i.get("ip") for i in have] != want or any(set(i) != {"ip"} for i in have):
            patches.append({"namespace": namespace, "name": name, "ingress": want})
    patches.sort(key=lambda p: (p["namespace"], p["name"]))
    events.sort(key=lambda e: (e["namespace"], e["name"]))
    return {"patches": patches, "events": events}


def status_patch(ingress):
    """A merge patch of the status subresource; null removes the list (no `ipMode`: kube-proxy then
    treats the address as a VIP and programs it)."""
    value = [{"ip": ip} for ip in ingress] or None
    return json.dumps({"status": {"loadBalancer": {"ingress": value}}}, separators=(",", ":"))


def event_object(event):
    """A core/v1 Event whose name derives from the service and the message, so controllers that
    decide the same thing create it once (the others get AlreadyExists)."""
    digest = hashlib.sha256(("%s/%s/%s" % (event["uid"], event["reason"], event["message"])).encode()).hexdigest()[:12]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "%s.k0slua-lb-%s" % (event["name"], digest), "namespace": event["namespace"]},
            "involvedObject": {"apiVersion": "v1", "kind": "Service", "namespace": event["namespace"],
                               "name": event["name"], "uid": event["uid"]},
            "reason": event["reason"], "message": event["message"], "type": "Warning",
            "source": {"component": "k0slua-lb"}, "firstTimestamp": now, "lastTimestamp": now, "count": 1}


def load(directory, name):
    path = os.path.join(directory, name + ".json")
    if not os.path.exists(path):
        return {"items": []}
    with open(path) as f:
        return json.load(f)


def kubectl(base, arguments, stdin=None):
    return subprocess.run(base + arguments, input=stdin, capture_output=True, text=True, timeout=60)


def fetch(base):
    """services, nodes, endpointslices and the kube-proxy pods, or None when the API does not answer."""
    result = []
    for arguments in (["get", "services", "-A", "-o", "json"], ["get", "nodes", "-o", "json"],
                      ["get", "endpointslices.discovery.k8s.io", "-A", "-o", "json"],
                      ["get", "pods", "-n", "kube-system", "-l", "=".join(KUBE_PROXY_LABEL), "-o", "json"]):
        r = kubectl(base, arguments)
        if r.returncode != 0:
            print("k0slua-lb: kubectl %s: %s" % (" ".join(arguments[:2]), r.stderr.strip()), file=sys.stderr, flush=True)
            return None
        result.append(json.loads(r.stdout))
    return result


def loop(base, interval, extra):
    announced = set()
    while True:
        objects = fetch(base)
        if objects is not None:
            answer = decide(*objects, extra_reserved=extra)
            for p in answer["patches"]:
                r = kubectl(base, ["patch", "service", "--namespace", p["namespace"], "--subresource=status",
                                   "--type=merge", "--patch", status_patch(p["ingress"]), "--", p["name"]])
                print("k0slua-lb: %s/%s → %s%s" % (p["namespace"], p["name"], ", ".join(p["ingress"]) or "(none)",
                                                   "" if r.returncode == 0 else ": " + r.stderr.strip()), flush=True)
            for e in answer["events"]:
                key = (e["uid"], e["reason"], e["message"])
                if key in announced:
                    continue
                r = kubectl(base, ["create", "-f", "-"], stdin=json.dumps(event_object(e)))
                if r.returncode == 0 or "AlreadyExists" in r.stderr or "already exists" in r.stderr:
                    announced.add(key)
                    print("k0slua-lb: %s/%s refused: %s" % (e["namespace"], e["name"], e["message"]), flush=True)
        time.sleep(interval)


def main(argv):
    extra, interval, directory = [], 2.0, None
    base = ["/usr/local/bin/k0s", "kubectl"]
    i = 0
    while i < len(argv):
        option = argv[i]
        value = argv[i + 1] if i + 1 < len(argv) else None
        if value is None:
            print("usage: lb_controller.py [--reserve-port N]... [--interval S] [--kubectl CMD] [--decide DIR]", file=sys.stderr)
            return 64
        if option == "--reserve-port":
            extra.append(int(value))
        elif option == "--interval":
            interval = float(value)
        elif option == "--kubectl":
            base = value.split()
        elif option == "--decide":
            directory = value
        else:
            print("lb_controller.py: unknown option %s" % option, file=sys.stderr)
            return 64
        i += 2
    if directory is not None:
        objects = [load(directory, n) for n in ("services", "nodes", "endpointslices", "pods")]
        print(json.dumps(decide(*objects, extra_reserved=extra), indent=2, sort_keys=True))
        return 0
    loop(base, interval, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
