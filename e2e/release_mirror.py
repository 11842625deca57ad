#!/usr/bin/env python3
"""Lays out a k0s release the way K0SLUA_MIRROR expects it (<root>/<host>/<path>), for the VM e2e:

  docs.k0sproject.io/stable.txt
  github.com/k0sproject/k0s/releases/download/<v>/k0s-<v>-amd64                   the "k0s binary"
  github.com/k0sproject/k0s/releases/download/<v>/k0s-airgap-bundle-<v>-linux-amd64.tar
  github.com/k0sproject/k0s/releases/download/<v>/sha256sums.txt                 `sha256sum -b` lines

No real k0s is reachable here, so the binary is a stand-in script that answers `k0s version` and
`k0s reset` (what the e2e's k0sctl asks of it); the bundle is a tar of incompressible "layers". Both
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
  *) echo "k0s stand-in: only 'version' and 'reset'" >&2; exit 1 ;;
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
