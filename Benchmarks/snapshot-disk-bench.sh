#!/usr/bin/env bash
# What a libvirt snapshot costs per node, by the ways it could copy a node's disk: vagrant-libvirt
# gives each machine a qcow2 overlay over the box volume; `k0slua snapshot` copies that overlay as
# the file it is (virsh vol-download/vol-upload --sparse stream the same bytes). Compared with a
# fresh overlay on top of the saved one (instant, but the running disk then depends on the
# snapshot) and with flattening the whole chain. BENCH_OVERLAY_MB: data written into the overlay
# (default 512, about what k0s, its image bundle and a day of a node's writes take).
set -euo pipefail
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || { echo "snapshot disk copy: qemu-img/qemu-io not installed, skipped"; exit 0; }
mb=${BENCH_OVERLAY_MB:-512}
dir=$(mktemp -d /var/tmp/k0slua-snapshot-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
qemu-img create -q -f qcow2 "$dir/box.img" 20G
qemu-io -c "write -P 0x11 0 1G" "$dir/box.img" >/dev/null
qemu-img create -q -f qcow2 -b "$dir/box.img" -F qcow2 "$dir/node.img" 20G
qemu-io -c "write -P 0x5a 256M ${mb}M" "$dir/node.img" >/dev/null
sync
save=$(ms cp --sparse=always "$dir/node.img" "$dir/saved.img")
sync
rm -f "$dir/node.img"
restore=$(ms cp --sparse=always "$dir/saved.img" "$dir/node.img")
overlay=$(ms qemu-img create -q -f qcow2 -b "$dir/saved.img" -F qcow2 "$dir/layered.img" 20G)
flatten=$(ms qemu-img convert -O qcow2 "$dir/node.img" "$dir/flat.img")
qemu-img compare -q "$dir/node.img" "$dir/saved.img"
echo "snapshot disk copy, one node (${mb} MB in the overlay over a 1 GB box; $(du -h "$dir/saved.img" | cut -f1) on disk):"
printf '  %-52s %6d ms   target <= 10000 ms per node  %s\n' "save: copy the overlay (the disk part of k0slua's)" "$save" "$([ "$save" -le 10000 ] && echo ok || echo SLOW)"
printf '  %-52s %6d ms\n' "restore: copy it back" "$restore"
printf '  %-52s %6d ms   (not chosen: the disk would depend on the snapshot)\n' "restore alternative: new overlay on the saved one" "$overlay"
printf '  %-52s %6d ms   (not chosen: copies the box too)\n' "save alternative: flatten the chain (qemu-img convert)" "$flatten"
echo "  (disks only: a running libvirt cluster's save also writes each node's memory image, and its restore resumes it;"
echo "   the end-to-end save and restore times come from the VM e2e's lifecycle scenario, docs/snapshots.md)"
