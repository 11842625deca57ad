#!/usr/bin/env python3
"""Lays out release-shaped files the way K0SLUA_MIRROR expects them (<root>/<host>/<path>): the one
mirror layout of the unit tests (Tests/K0sLuaKitTests/Support/ReleaseMirror.swift), the cache
benchmark (Benchmarks/cache-cold-warm.sh) and the VM e2e (e2e/run.sh); serve.py serves it.

  docs.k0sproject.io/stable.txt                                                 the first --version
  github.com/k0sproject/k0s/releases/download/<v>/k0s-<v>-<arch>                the k0s binary
  github.com/k0sproject/k0s/releases/download/<v>/k0s-airgap-bundle-<v>-linux-<arch>.tar
  github.com/k0sproject/k0s/releases/download/<v>/sha256sums.txt                `sha256sum -b` lines
  with --tools DIR: k0sctl (checksums.txt) and kubectl (.sha256) releases whose executables run
  DIR/k0sctl and DIR/kubectl (the stand-ins)

layout.py ROOT --version V [--version V …] [--arch A …] [--k0s KIND] [--bundle KIND] [--tools DIR
          --k0sctl-version V --kubectl-version V]

  --k0s   echo          a script that prints "<v> <arch>" (unit tests; default)
          e2e           a stand-in k0s for the VMs (version, status, reset, ctr images import/ls over a
                list in a file, kubectl from fixtures via e2e/lb_kubectl.py), padded to 2 MiB
          random:MB     MB megabytes of random bytes (benchmarks)
  --bundle text         "<arch> image layer" lines, 256 KiB (unit tests; default)
          tar:MIB       a tar of MIB incompressible 1 MiB "layers" (the e2e)
          random:MB     MB megabytes of random bytes (benchmarks)
Every file is written once; a path that exists is an error (a mirror is never modified).
"""
import argparse
import hashlib
import io
import os
import random
import tarfile


def write(root, path, data):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "xb") as f:
        f.write(data)
    return f"{hashlib.sha256(data).hexdigest()} *{os.path.basename(path)}\n"


def e2e_k0s(version):
    script = f"""#!/bin/sh
# k0slua e2e stand-in for the k0s binary (no real k0s is reachable from the e2e machine).
case "$1" in
  version) echo "{version}" ;;
  reset) rm -rf /var/lib/k0s /etc/k0s && echo "k0s reset: /var/lib/k0s and /etc/k0s removed" ;;
  status) printf 'Version: %s\\nProcess ID: -\\nRole: (k0slua e2e stand-in: the node is up, no k0s runs)\\n' "{version}" ;;
  ctr)
    # `k0s ctr -n k8s.io images import [--] FILE` and `images ls [-q]` (k0slua image load): an OCI
    # layout tar's first manifest (digest, io.containerd.image.name) goes to a list kept in a file,
    # printed in ctr's REF TYPE DIGEST SIZE PLATFORMS LABELS columns.
    list=/var/lib/k0slua-e2e/images.txt
    [ "$2 $3 $4" = "-n k8s.io images" ] || {{ echo "k0s stand-in: only 'ctr -n k8s.io images import|ls'" >&2; exit 1; }}
    case "$5" in
      import)
        file=$6; [ "$file" = "--" ] && file=$7
        index=$(tar -xOf "$file" index.json 2>/dev/null) || {{ echo "ctr: unrecognized image format" >&2; exit 1; }}
        digest=$(printf '%s' "$index" | grep -o '"digest": *"sha256:[0-9a-f]*"' | head -1 | cut -d'"' -f4)
        ref=$(printf '%s' "$index" | grep -o '"io.containerd.image.name": *"[^"]*"' | head -1 | cut -d'"' -f4)
        [ -n "$digest" ] && [ -n "$ref" ] || {{ echo "ctr: unrecognized image format" >&2; exit 1; }}
        mkdir -p "$(dirname "$list")"
        {{ grep -v "^$ref " "$list" 2>/dev/null; echo "$ref application/vnd.oci.image.manifest.v1+json $digest 1.0KiB linux/amd64 -"; }} >"$list.new"
        mv "$list.new" "$list"
        echo "unpacking $ref ($digest)...done" ;;
      ls)
        if [ "$6" = "-q" ]; then cut -d' ' -f1 "$list" 2>/dev/null
        else echo "REF TYPE DIGEST SIZE PLATFORMS LABELS"; cat "$list" 2>/dev/null; fi ;;
      *) echo "k0s stand-in: only 'ctr -n k8s.io images import|ls'" >&2; exit 1 ;;
    esac ;;
  kubectl)
    # k0slua's LoadBalancer controller: JSON fixtures the e2e puts on the node (e2e/lb_kubectl.py).
    shift
    [ -f /var/lib/k0slua-e2e/kubectl/lb_kubectl.py ] || {{ echo "k0s stand-in: no kubectl fixtures on this node" >&2; exit 1; }}
    exec python3 /var/lib/k0slua-e2e/kubectl/lb_kubectl.py "$@" ;;
  *) echo "k0s stand-in: only 'version', 'status', 'reset', 'ctr -n k8s.io images' and 'kubectl' (fixtures)" >&2; exit 1 ;;
esac
exit 0
""".encode()
    # Padding after `exit 0`: never read by sh, present so the upload moves megabytes as k0s would.
    rng = random.Random(version)
    lines = [b"#" + rng.randbytes(48).hex().encode() for _ in range(2 * 1024 * 1024 // 98)]
    return script + b"\n".join(lines) + b"\n"


def k0s_binary(kind, version, arch):
    if kind == "echo":
        return f"#!/bin/sh\necho {version} {arch}\n".encode()
    if kind == "e2e":
        return e2e_k0s(version)
    if kind.startswith("random:"):
        return os.urandom(int(kind.split(":")[1]) * 1000000)
    raise SystemExit(f"layout.py: unknown --k0s {kind}")


def bundle(kind, version, arch):
    if kind == "text":
        return f"{arch} image layer\n".encode() * (256 * 1024 // 16)
    if kind.startswith("tar:"):
        rng = random.Random("bundle " + version)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for index in range(int(kind.split(":")[1])):
                data = rng.randbytes(1024 * 1024)
                info = tarfile.TarInfo(f"blobs/sha256/layer-{index:02d}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()
    if kind.startswith("random:"):
        return os.urandom(int(kind.split(":")[1]) * 1000000)
    raise SystemExit(f"layout.py: unknown --bundle {kind}")


def main():
    parser = argparse.ArgumentParser(description="Release-shaped files for K0SLUA_MIRROR.")
    parser.add_argument("root")
    parser.add_argument("--version", action="append", required=True)
    parser.add_argument("--arch", action="append")
    parser.add_argument("--k0s", default="echo")
    parser.add_argument("--bundle", default="text")
    parser.add_argument("--tools")
    parser.add_argument("--k0sctl-version")
    parser.add_argument("--kubectl-version")
    args = parser.parse_args()
    root = args.root
    write(root, "docs.k0sproject.io/stable.txt", f"{args.version[0]}\n".encode())
    for version in args.version:
        release = f"github.com/k0sproject/k0s/releases/download/{version}"
        sums = ""
        for arch in args.arch or ["amd64"]:
            sums += write(root, f"{release}/k0s-{version}-{arch}", k0s_binary(args.k0s, version, arch))
            sums += write(root, f"{release}/k0s-airgap-bundle-{version}-linux-{arch}.tar", bundle(args.bundle, version, arch))
        write(root, f"{release}/sha256sums.txt", sums.encode())
    if args.tools:
        if not (args.k0sctl_version and args.kubectl_version):
            raise SystemExit("layout.py: --tools needs --k0sctl-version and --kubectl-version")
        k0sctl = f"github.com/k0sproject/k0sctl/releases/download/{args.k0sctl_version}"
        run_k0sctl = f'#!/bin/sh\nexec {args.tools}/k0sctl "$@"\n'.encode()
        sums = write(root, f"{k0sctl}/k0sctl-linux-amd64", run_k0sctl) + write(root, f"{k0sctl}/k0sctl-darwin-arm64", run_k0sctl)
        write(root, f"{k0sctl}/checksums.txt", sums.encode())
        kubectl = f"dl.k8s.io/release/{args.kubectl_version}/bin/linux/amd64/kubectl"
        digest = write(root, kubectl, f'#!/bin/sh\nexec {args.tools}/kubectl "$@"\n'.encode()).split(" ")[0]
        write(root, kubectl + ".sha256", digest.encode())


if __name__ == "__main__":
    main()
