#!/usr/bin/env bash
# Builds the two libvirt boxes the VM end-to-end test boots, from ONE debootstrap root filesystem
# (Debian's mirror only; direct kernel boot; host keys and machine-id made at first boot; slow units
# masked; Debian's etcd-server/etcd-client with the packaged service masked, for the k0sctl stand-in):
#
#   k0slua/debian12-test   ifupdown + dhclient on eth0 (net.ifnames=0), user vagrant/vagrant with
#                          passwordless sudo and Vagrant's insecure key (from the Debian vagrant package)
#   k0slua/tartlike-test   like the cirruslabs Ubuntu images Tart runs: netplan.io + systemd-networkd
#                          (ifupdown and dhclient purged), one netplan definition `all` matching en*
#                          with dhcp4 and dhcp-identifier: mac, predictable NIC names, hostname
#                          `ubuntu` on every clone, user admin/admin with passwordless sudo and no
#                          key (the box Vagrantfile logs in with the password; Vagrant inserts a key)
#
# The debootstrap tree is cached as a tarball keyed by its package list, the boxes under a key of
# this script's content, so editing the configuration below does not run debootstrap again.
#
# usage: build-box.sh [CACHE_DIR]     prints the directory holding both .box files on its last line
set -euo pipefail

cache=${1:-${K0SLUA_E2E_CACHE:-/var/cache/k0slua-e2e}}
key=$(sha256sum "$0" | cut -c1-16)
out="$cache/box-$key"
boxes=(k0slua-debian12-test k0slua-tartlike-test)
if [ -f "$out/${boxes[0]}.box" ] && [ -f "$out/${boxes[1]}.box" ]; then
  echo "boxes cached: $out" >&2
  echo "$out"
  exit 0
fi

mirror=${K0SLUA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=systemd-sysv,udev,dbus,openssh-server,sudo,ifupdown,iproute2,isc-dhcp-client,netplan.io,etcd-server,etcd-client,ca-certificates,iputils-ping,procps,netbase,linux-image-amd64,initramfs-tools,kmod,e2fsprogs,less,netcat-openbsd,nftables
work=$(mktemp -d "${TMPDIR:-/var/tmp}/k0slua-box.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
mkdir -p "$cache"

insecure_pub=$(dpkg -L vagrant | grep -E '/keys/vagrant\.pub$' | head -n1)
[ -n "$insecure_pub" ] || { echo "build-box: the vagrant package's insecure key is missing (apt-get install vagrant)" >&2; exit 1; }

# ---- one debootstrap, cached by its inputs ----
rootfs_key=$(printf 'bookworm %s %s' "$mirror" "$packages" | sha256sum | cut -c1-16)
rootfs="$cache/rootfs-$rootfs_key.tar"
base="$work/base"
if [ ! -f "$rootfs" ]; then
  debootstrap --variant=minbase --include="$packages" bookworm "$base" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$base/var/cache/apt/archives"/*.deb "$base/var/lib/apt/lists"/*
  tar -C "$base" --numeric-owner -cf "$rootfs.tmp" . && mv "$rootfs.tmp" "$rootfs"
  echo "debootstrap: $(( $(date +%s) - started ))s" >&2
else
  mkdir -p "$base" && tar -C "$base" --numeric-owner -xf "$rootfs"
  echo "debootstrap tree cached: $rootfs" >&2
fi

# ---- what both boxes share ----
echo '/dev/vda / ext4 defaults,noatime 0 1' > "$base/etc/fstab"
# Unique host keys and machine-id per VM: made at first boot, ed25519/ecdsa only (RSA is slow under TCG).
rm -f "$base"/etc/ssh/ssh_host_*
: > "$base/etc/machine-id"
rm -f "$base/var/lib/dbus/machine-id"
cat > "$base/etc/systemd/system/ssh-hostkeys.service" <<'UNIT'
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
cat > "$base/etc/systemd/system/resize-rootfs.service" <<'UNIT'
[Unit]
Description=Grow the root filesystem to the disk
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/sbin/resize2fs /dev/vda

[Install]
WantedBy=multi-user.target
UNIT
chroot "$base" systemctl enable ssh-hostkeys.service resize-rootfs.service >/dev/null 2>&1
# Slow or unwanted under TCG; etcd is started by the e2e's k0sctl stand-in, never by its package.
chroot "$base" systemctl mask e2scrub_reap.service e2scrub_all.timer apt-daily.timer apt-daily-upgrade.timer fstrim.timer \
  etcd.service nftables.service >/dev/null 2>&1
echo 'UseDNS no' > "$base/etc/ssh/sshd_config.d/k0slua.conf"
printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\ncrc32c_generic\n' >> "$base/etc/initramfs-tools/modules"
sed -i 's/^MODULES=.*/MODULES=list/' "$base/etc/initramfs-tools/initramfs.conf"
kernel=$(basename "$(ls "$base"/boot/vmlinuz-* | head -n1)")
version=${kernel#vmlinuz-}
chroot "$base" update-initramfs -u -k "$version" >/dev/null 2>&1
kfiles="$work/kernel"
mkdir -p "$kfiles"
cp "$base/boot/initrd.img-$version" "$kfiles/initrd.img"
# The ELF kernel inside the bzImage (PVH entry), so QEMU boots it directly.
python3 - "$base/boot/$kernel" "$kfiles/vmlinux" <<'PY'
import lzma, sys
data = open(sys.argv[1], "rb").read()
start = data.find(b"\xfd7zXZ\x00")
elf = lzma.LZMADecompressor().decompress(data[start:])
assert elf.startswith(b"\x7fELF"), "no ELF kernel inside the bzImage"
open(sys.argv[2], "wb").write(elf)
PY
rm -rf "$base/boot"/*

# ---- derive the tartlike tree from a copy before the Debian one changes the base ----
tart="$work/tartlike"
cp -a "$base" "$tart"

# k0slua/debian12-test: as before (ifupdown on eth0, user vagrant with the insecure key), no netplan.
chroot "$base" dpkg --purge netplan.io >/dev/null
echo debian12-test > "$base/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 debian12-test\n' > "$base/etc/hosts"
cat > "$base/etc/network/interfaces" <<'NET'
auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp
NET
chroot "$base" useradd -m -s /bin/bash vagrant
echo 'vagrant:vagrant' | chroot "$base" chpasswd
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > "$base/etc/sudoers.d/vagrant"
chmod 440 "$base/etc/sudoers.d/vagrant"
install -d -m 700 "$base/home/vagrant/.ssh"
install -m 600 "$insecure_pub" "$base/home/vagrant/.ssh/authorized_keys"
chroot "$base" chown -R vagrant:vagrant /home/vagrant/.ssh

# k0slua/tartlike-test: netplan + systemd-networkd, configured like cirruslabs' Ubuntu images.
chroot "$tart" dpkg --purge ifupdown isc-dhcp-client isc-dhcp-common >/dev/null
rm -rf "$tart/etc/network/interfaces" "$tart/etc/network/interfaces.d"
echo ubuntu > "$tart/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 ubuntu\n' > "$tart/etc/hosts"
install -d -m 755 "$tart/etc/netplan"
cat > "$tart/etc/netplan/50-cloud-init.yaml" <<'NETPLAN'
network:
  version: 2
  ethernets:
    all:
      match:
        name: "en*"
      dhcp4: true
      dhcp-identifier: mac
NETPLAN
chmod 600 "$tart/etc/netplan/50-cloud-init.yaml"
chroot "$tart" systemctl enable systemd-networkd.service >/dev/null 2>&1
# Nothing here waits for network-online; the wait would only add boot time under TCG.
chroot "$tart" systemctl disable systemd-networkd-wait-online.service >/dev/null 2>&1 || true
chroot "$tart" useradd -m -s /bin/bash -G sudo admin
echo 'admin:admin' | chroot "$tart" chpasswd
echo 'admin ALL=(ALL) NOPASSWD:ALL' > "$tart/etc/sudoers.d/90-admin"
chmod 440 "$tart/etc/sudoers.d/90-admin"
# Vagrant's first login uses the password (net-ssh "password" method), so sshd must accept it.
printf 'UseDNS no\nPasswordAuthentication yes\n' > "$tart/etc/ssh/sshd_config.d/k0slua.conf"

package() { # tree name cmdline ssh-settings
  local tree=$1 name=$2 cmdline=$3 ssh=$4 pkg="$work/pkg-$2"
  mkdir -p "$pkg"
  cp "$kfiles/vmlinux" "$kfiles/initrd.img" "$pkg/"
  truncate -s 10G "$pkg/disk.raw"
  mkfs.ext4 -q -F -L rootfs -d "$tree" "$pkg/disk.raw"
  qemu-img convert -O qcow2 -c "$pkg/disk.raw" "$pkg/box.img"
  rm -f "$pkg/disk.raw"
  echo '{"provider":"libvirt","format":"qcow2","virtual_size":10}' > "$pkg/metadata.json"
  cat > "$pkg/Vagrantfile" <<VF
Vagrant.configure("2") do |config|
  config.vm.synced_folder ".", "/vagrant", disabled: true
$ssh
  config.vm.provider :libvirt do |lv|
    lv.kernel = File.join(File.dirname(__FILE__), "vmlinux")
    lv.initrd = File.join(File.dirname(__FILE__), "initrd.img")
    lv.cmd_line = "$cmdline"
    lv.disk_bus = "virtio"
    lv.nic_model_type = "virtio"
  end
end
VF
  mkdir -p "$out"
  tar -C "$pkg" -cf "$out/$name.box.tmp" metadata.json Vagrantfile box.img vmlinux initrd.img
  mv "$out/$name.box.tmp" "$out/$name.box"
  rm -rf "$pkg"
  echo "$name: $(du -h "$out/$name.box" | cut -f1)" >&2
}
package "$base" k0slua-debian12-test "root=/dev/vda rw console=ttyS0,115200 net.ifnames=0 biosdevname=0 quiet" ""
package "$tart" k0slua-tartlike-test "root=/dev/vda rw console=ttyS0,115200 quiet" \
  '  # The cirruslabs images: admin/admin, no key; Vagrant logs in with the password, then inserts its own key.
  config.ssh.username = "admin"
  config.ssh.password = "admin"'
echo "boxes built in $(( $(date +%s) - started ))s: $out" >&2
echo "$out"
