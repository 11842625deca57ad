"""etcd on every controller the way k0s runs it (pkg/component/controller/etcd.go, setupCerts), with
Debian's etcd 3.4 and certificates made here on the host side, then a quorum check.

k0s issues the peer certificate with CN and the only SAN = the etcd peer address (k0sctl sets it to
the host's privateAddress) and runs etcd with --peer-client-cert-auth, so etcd refuses a peer whose
connection does not come from that address (etcd checks the remote IP against the client
certificate's IP SANs). The server certificate names 127.0.0.1 and localhost; this one also names
the private address so that `etcdctl endpoint health --cluster` can reach every member (k0s only
listens on 127.0.0.1 for clients).
"""
import base64
import datetime
import os
import io
import ipaddress
import subprocess
import tarfile
import time
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PKI = "/var/lib/k0slua-etcd/pki"
DATA = "/var/lib/k0slua-etcd/data"
UNIT = "k0slua-etcd"
MEMBERS = "/var/lib/k0slua-etcd/members"
TIMEOUT = int(os.environ.get("K0SLUA_E2E_ETCD_TIMEOUT", "240"))


@dataclass
class Node:
    host: dict
    hostname: str
    address: str
    known_hosts: str


def ssh_file_value(path):
    r"""A path as the value of an ssh -o file option, as k0slua writes it (NodeSSH.configValue): in
    double quotes so that whitespace does not split it, `\\` for `\`, `%%` for `%`."""
    return '"' + path.replace("\\", "\\\\").replace("%", "%%") + '"'


def ssh(node, command, stdin=None, timeout=120):
    s = node.host["ssh"]
    # One connection per host, reused, as k0sctl keeps one per host (and SSH set-up is slow under TCG).
    argv = ["ssh", "-p", str(s.get("port", 22)), "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=" + ssh_file_value(node.known_hosts or "/dev/null"),
            "-o", "ControlMaster=auto", "-o", "ControlPath=/tmp/k0slua-e2e-ssh-%C", "-o", "ControlPersist=30"]
    if "keyPath" in s:
        argv += ["-i", os.path.expanduser(s["keyPath"])]
    argv += [f"{s.get('user', 'root')}@{s['address']}", "--", command]
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)


def _name(cn, o=None):
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if o:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    return x509.Name(attributes)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _issue(ca_key, ca_cert, cn, o, sans, usages):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    names = []
    for san in sans:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            names.append(x509.DNSName(san))
    builder = (x509.CertificateBuilder().subject_name(_name(cn, o)).issuer_name(ca_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return _pem_key(key), cert.public_bytes(serialization.Encoding.PEM)


def make_pki(controllers):
    """{hostname: {file: bytes}}: one etcd CA, and per controller peer/server/client certificates."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_cert = (x509.CertificateBuilder().subject_name(_name("etcd-ca")).issuer_name(_name("etcd-ca")).public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    both = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    files = {}
    for node in controllers:
        peer_key, peer_cert = _issue(ca_key, ca_cert, node.address, "etcd-peer", [node.address], both)
        server_key, server_cert = _issue(ca_key, ca_cert, "etcd-server", "etcd-server", ["127.0.0.1", "localhost", node.address], both)
        client_key, client_cert = _issue(ca_key, ca_cert, "apiserver-etcd-client", "apiserver-etcd-client", [], [ExtendedKeyUsageOID.CLIENT_AUTH])
        files[node.hostname] = {"ca.crt": ca_pem, "peer.crt": peer_cert, "peer.key": peer_key, "server.crt": server_cert,
                                "server.key": server_key, "client.crt": client_cert, "client.key": client_key}
    return files


def _tar(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def etcd_command(node, controllers):
    cluster = ",".join(f"{c.hostname}=https://{c.address}:2380" for c in controllers)
    peer = f"https://{node.address}:2380"
    args = [
        "/usr/bin/etcd", f"--name={node.hostname}", f"--data-dir={DATA}",
        f"--listen-client-urls=https://127.0.0.1:2379,https://{node.address}:2379",
        f"--advertise-client-urls=https://{node.address}:2379", "--client-cert-auth=true",
        f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster={cluster}", "--initial-cluster-state=new", "--initial-cluster-token=k0slua-e2e",
        f"--trusted-ca-file={PKI}/ca.crt", f"--cert-file={PKI}/server.crt", f"--key-file={PKI}/server.key",
        f"--peer-trusted-ca-file={PKI}/ca.crt", f"--peer-cert-file={PKI}/peer.crt", f"--peer-key-file={PKI}/peer.key",
        "--peer-client-cert-auth=true", "--enable-pprof=false",
    ]
    return " ".join(args)


def etcdctl(node, args, timeout=60):
    command = (f"sudo ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert={PKI}/ca.crt "
               f"--cert={PKI}/client.crt --key={PKI}/client.key --command-timeout=5s {args}")
    return ssh(node, command, timeout=timeout)


def run(controllers, log):
    """Starts etcd on every controller and waits for a healthy cluster; returns a problem or None."""
    if not controllers:
        log("no controllers: etcd skipped")
        return None
    members = ",".join(f"{c.hostname}=https://{c.address}:2380" for c in controllers)
    running = [ssh(node, f"systemctl is-active --quiet {UNIT} && sudo cat {MEMBERS}").stdout.decode().strip() == members for node in controllers]
    if all(running):
        # k0sctl leaves a controller whose k0s already runs alone; so does this: same members, same data.
        log(f"etcd already runs on all {len(controllers)} controller(s) with these members: kept, data and certificates unchanged")
    else:
        pki = make_pki(controllers)
        for node in controllers:
            # One root shell per node (sudo is slow under TCG); the certificates travel inside the script.
            # A systemd service that starts at boot, as k0s installs itself, so etcd survives a VM restart.
            setup = "\n".join([
                f"systemctl stop {UNIT} >/dev/null 2>&1; systemctl reset-failed {UNIT} >/dev/null 2>&1; set -e",
                f"rm -rf {DATA} {PKI}", f"install -d -m 700 {PKI} {DATA}",
                f"base64 -d <<'PKI' | tar -x -C {PKI}", base64.b64encode(_tar(pki[node.hostname])).decode(), "PKI",
                f"cat > /etc/systemd/system/{UNIT}.service <<'UNIT'",
                "[Unit]", "Description=etcd the way k0s runs it (k0slua e2e)", "StartLimitIntervalSec=0",
                "[Service]", f"ExecStart={etcd_command(node, controllers)}", "Restart=on-failure", "RestartSec=2",
                "[Install]", "WantedBy=multi-user.target", "UNIT",
                f"echo '{members}' > {MEMBERS}",
                f"systemctl daemon-reload && systemctl enable --quiet --now {UNIT}",
            ]) + "\n"
            result = ssh(node, "sudo sh -s", stdin=setup.encode())
            if result.returncode != 0:
                return f"failed on 1 hosts:\n - [ssh] {node.host['ssh']['address']}: starting etcd: {result.stderr.decode().strip()}"
            log(f"[ssh] {node.host['ssh']['address']}: etcd {node.hostname} started, peer URL https://{node.address}:2380, "
                f"peer certificate for IP {node.address} only, --peer-client-cert-auth")
    leader = controllers[0]
    started = time.time()
    last = ""
    while time.time() - started < TIMEOUT:
        result = etcdctl(leader, "endpoint health --cluster")
        last = (result.stdout + result.stderr).decode().strip()
        healthy = [line for line in last.splitlines() if " is healthy" in line]
        if result.returncode == 0 and len(healthy) == len(controllers):
            for line in healthy:
                log(f"[ssh] {leader.host['ssh']['address']}: {line}")
            members = etcdctl(leader, "member list").stdout.decode().strip()
            log(f"etcd cluster healthy: {len(healthy)} of {len(controllers)} members ({int(time.time() - started)}s); members: "
                + "; ".join(members.splitlines()))
            return None
        time.sleep(5)
    evidence = [f"etcdctl endpoint health --cluster on {leader.hostname}: {last}"]
    for node in controllers:
        journal = ssh(node, f"sudo journalctl -u {UNIT} --no-pager -o cat | grep -E 'rejected connection|bad certificate|i/o timeout|no route|lost leader|failed to|remote error' | tail -n 3")
        for line in journal.stdout.decode().strip().splitlines():
            evidence.append(f"{node.hostname}: {line}")
    return (f"etcd did not become healthy with {len(controllers)} members within {TIMEOUT}s:\n - " + "\n - ".join(evidence))
