#!/usr/bin/env bash
# Builds the minimal Debian 12 libvirt box the VM end-to-end test boots: debootstrap (Debian's
# mirror only), direct kernel boot, user vagrant with passwordless sudo and Vagrant's insecure key
# (shipped inside the Debian vagrant package), host keys made at first boot, slow units masked.
# The box is cached outside the repository under a key derived from this script's content.
#
# usage: build-box.sh [CACHE_DIR]     prints the path of the .box on its last line
set -euo pipefail

cache=${1:-${K0SLUA_E2E_CACHE:-/var/cache/k0slua-e2e}}
key=$(sha256sum "$0" | cut -c1-16)
out="$cache/box-$key"
box="$out/k0slua-debian12-test.box"
if [ -f "$box" ]; then
  echo "box cached: $box" >&2
  echo "$box"
  exit 0
fi

mirror=${K0SLUA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/k0slua-box.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
started=$(date +%s)

insecure_pub=$(dpkg -L vagrant | grep -E '/keys/vagrant\.pub$' | head -n1)
[ -n "$insecure_pub" ] || { echo "build-box: the vagrant package's insecure key is missing (apt-get install vagrant)" >&2; exit 1; }

debootstrap --variant=minbase \
  --include=systemd-sysv,udev,openssh-server,sudo,ifupdown,iproute2,isc-dhcp-client,ca-certificates,iputils-ping,procps,netbase,linux-image-amd64,initramfs-tools,kmod,e2fsprogs,less,netcat-openbsd \
  bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
echo "debootstrap: $(( $(date +%s) - started ))s" >&2

echo debian12-test > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 debian12-test\n' > "$root/etc/hosts"
echo '/dev/vda / ext4 defaults,noatime 0 1' > "$root/etc/fstab"
cat > "$root/etc/network/interfaces" <<'NET'
auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp
NET
chroot "$root" useradd -m -s /bin/bash vagrant
echo 'vagrant:vagrant' | chroot "$root" chpasswd
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > "$root/etc/sudoers.d/vagrant"
chmod 440 "$root/etc/sudoers.d/vagrant"
install -d -m 700 "$root/home/vagrant/.ssh"
install -m 600 "$insecure_pub" "$root/home/vagrant/.ssh/authorized_keys"
chroot "$root" chown -R vagrant:vagrant /home/vagrant/.ssh

# Unique host keys and machine-id per VM: made at first boot, ed25519/ecdsa only (RSA is slow under TCG).
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id"
cat > "$root/etc/systemd/system/ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N "" -f /etc/ssh/ssh_host_ecdsa_key

[Install]
WantedBy=multi-user.target
UNIT
cat > "$root/etc/systemd/system/resize-rootfs.service" <<'UNIT'
[Unit]
Description=Grow the root filesystem to the disk
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/sbin/resize2fs /dev/vda

[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable ssh-hostkeys.service resize-rootfs.service >/dev/null 2>&1
chroot "$root" systemctl mask e2scrub_reap.service e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer fstrim.timer >/dev/null 2>&1 || true
echo 'UseDNS no' > "$root/etc/ssh/sshd_config.d/k0slua.conf"

printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\ncrc32c_generic\n' >> "$root/etc/initramfs-tools/modules"
sed -i 's/^MODULES=.*/MODULES=list/' "$root/etc/initramfs-tools/initramfs.conf"
kernel=$(basename "$(ls "$root"/boot/vmlinuz-* | head -n1)")
version=${kernel#vmlinuz-}
chroot "$root" update-initramfs -u -k "$version" >/dev/null 2>&1

pkg="$work/pkg"
mkdir -p "$pkg"
cp "$root/boot/$kernel" "$pkg/vmlinuz"
cp "$root/boot/initrd.img-$version" "$pkg/initrd.img"
# The ELF kernel inside the bzImage (PVH entry), so QEMU boots it directly.
python3 - "$pkg/vmlinuz" "$pkg/vmlinux" <<'PY'
import lzma, sys
data = open(sys.argv[1], "rb").read()
start = data.find(b"\xfd7zXZ\x00")
elf = lzma.LZMADecompressor().decompress(data[start:])
assert elf.startswith(b"\x7fELF"), "no ELF kernel inside the bzImage"
open(sys.argv[2], "wb").write(elf)
PY
rm -rf "$root/boot"/* "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*
truncate -s 10G "$work/disk.raw"
mkfs.ext4 -q -F -L rootfs -d "$root" "$work/disk.raw"
qemu-img convert -O qcow2 -c "$work/disk.raw" "$pkg/box.img"
echo '{"provider":"libvirt","format":"qcow2","virtual_size":10}' > "$pkg/metadata.json"
cat > "$pkg/Vagrantfile" <<'VF'
Vagrant.configure("2") do |config|
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.provider :libvirt do |lv|
    lv.kernel = File.join(File.dirname(__FILE__), "vmlinux")
    lv.initrd = File.join(File.dirname(__FILE__), "initrd.img")
    lv.cmd_line = "root=/dev/vda rw console=ttyS0,115200 net.ifnames=0 biosdevname=0 quiet"
    lv.disk_bus = "virtio"
    lv.nic_model_type = "virtio"
  end
end
VF
mkdir -p "$out"
tar -C "$pkg" -cf "$box.tmp" metadata.json Vagrantfile box.img vmlinux initrd.img
mv "$box.tmp" "$box"
echo "box built in $(( $(date +%s) - started ))s: $box ($(du -h "$box" | cut -f1))" >&2
echo "$box"
