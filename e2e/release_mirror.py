#!/usr/bin/env python3
"""Lays out a k0s release the way K0SLUA_MIRROR expects it (<root>/<host>/<path>), for the VM e2e:

  docs.k0sproject.io/stable.txt
  github.com/k0sproject/k0s/releases/download/<v>/k0s-<v>-amd64                   the "k0s binary"
  github.com/k0sproject/k0s/releases/download/<v>/k0s-airgap-bundle-<v>-linux-amd64.tar
  github.com/k0sproject/k0s/releases/download/<v>/sha256sums.txt                 `sha256sum -b` lines

No real k0s is reachable here, so the binary is a stand-in script that answers `k0s version`,
`k0s reset` (what the e2e's k0sctl asks of it), `k0s status` (what k0slua asks a resized node) and
`k0s ctr -n k8s.io images import/ls` (what `k0slua image load` asks, over a list kept in a file); the bundle is a tar of incompressible "layers". Both
are large enough (BINARY_MIB, BUNDLE_MIB) that copying them to a VM is real work.

release_mirror.py ROOT VERSION
"""
import hashlib
import io
import os
import random
import sys
import tarfile

BINARY_MIB = 2
BUNDLE_MIB = 12


def write(root, path, data):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)
    return f"{hashlib.sha256(data).hexdigest()} *{os.path.basename(path)}\n"


def binary(version):
    script = f"""#!/bin/sh
# k0slua e2e stand-in for the k0s binary (no real k0s is reachable from the e2e machine).
case "$1" in
  version) echo "{version}" ;;
  reset) rm -rf /var/lib/k0s /etc/k0s && echo "k0s reset: /var/lib/k0s and /etc/k0s removed" ;;
  status) printf 'Version: %s\nProcess ID: -\nRole: (k0slua e2e stand-in: the node is up, no k0s runs)\n' "{version}" ;;
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
  *) echo "k0s stand-in: only 'version', 'status', 'reset' and 'ctr -n k8s.io images'" >&2; exit 1 ;;
esac
exit 0
""".encode()
    # Padding after `exit 0`: never read by sh, present so the upload moves megabytes as k0s would.
    rng = random.Random(version)
    lines = [b"#" + rng.randbytes(48).hex().encode() for _ in range(BINARY_MIB * 1024 * 1024 // 98)]
    return script + b"\n".join(lines) + b"\n"


def bundle(version):
    rng = random.Random("bundle " + version)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for index in range(BUNDLE_MIB):
            data = rng.randbytes(1024 * 1024)
            info = tarfile.TarInfo(f"blobs/sha256/layer-{index:02d}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def main(root, version):
    release = f"github.com/k0sproject/k0s/releases/download/{version}"
    write(root, "docs.k0sproject.io/stable.txt", f"{version}\n".encode())
    sums = write(root, f"{release}/k0s-{version}-amd64", binary(version))
    sums += write(root, f"{release}/k0s-airgap-bundle-{version}-linux-amd64.tar", bundle(version))
    write(root, f"{release}/sha256sums.txt", sums.encode())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
