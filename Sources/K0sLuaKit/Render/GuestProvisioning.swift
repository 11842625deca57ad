/// The shell scripts k0slua runs inside every VM, as root.
public enum GuestProvisioning {
    /// Runs once the VM boots, through a Vagrant shell provisioner: hostname, the cluster's SSH key,
    /// and on bridged Tart the static address that vagrant-tart cannot configure. Idempotent:
    /// `vagrant provision` may run it again.
    ///
    /// Arguments: NAME USER PUBLIC_KEY STATIC_MODE IP PREFIX GATEWAY
    /// STATIC_MODE is `netplan` (the static address replaces DHCP on the NIC) or `none` (the node
    /// keeps its DHCP lease, or the provider configured the address).
    public static let script = #"""
set -eu
name="$1"; user="$2"; key="$3"; static_mode="$4"; ip="$5"; prefix="$6"; gateway="$7"

# Hostname: every Tart clone boots as "ubuntu"; k0sctl and etcd need distinct names.
hostname "$name"
echo "$name" > /etc/hostname
tmp=$(mktemp)
sed -e '/^127\.0\.1\.1[[:space:]]/d' /etc/hosts > "$tmp"
{ echo "127.0.1.1 $name"; cat "$tmp"; } > /etc/hosts
rm -f "$tmp"

# The cluster's own key, for k0slua and k0sctl.
home=$(getent passwd "$user" | cut -d: -f6)
group=$(id -gn "$user")
install -d -m 700 -o "$user" -g "$group" "$home/.ssh"
touch "$home/.ssh/authorized_keys"
grep -qxF "$key" "$home/.ssh/authorized_keys" || echo "$key" >> "$home/.ssh/authorized_keys"
chown "$user:$group" "$home/.ssh/authorized_keys"
chmod 600 "$home/.ssh/authorized_keys"

if [ "$static_mode" = "netplan" ]; then
  # The static address replaces DHCP on the image's netplan definition, so it is the NIC's only
  # address: an address added next to a lease in the same subnet would be a secondary address,
  # never used as a source (etcd peers would then connect from the lease). netplan applies it
  # after this provisioner returns, because Vagrant's SSH session still rides on the lease.
  iface=$(ip -o -4 route show default | awk '{print $5; exit}')
  [ -n "$iface" ] || iface=$(ip -o link show | awk -F': ' '$2 ~ /^en/ {print $2; exit}')
  id=$(netplan get ethernets 2>/dev/null | awk -F: '/^[^ #]/ {print $1; exit}')
  [ -n "$id" ] || id="$iface"
  umask 077
  cat > /etc/netplan/60-k0slua.yaml <<NETPLAN
network:
  version: 2
  ethernets:
    $id:
      dhcp4: false
      dhcp6: false
      addresses: ["$ip/$prefix"]
      routes:
        - to: default
          via: "$gateway"
      nameservers:
        addresses: ["$gateway"]
NETPLAN
  netplan generate
  if [ "$(ip -o -4 addr show dev "$iface" | awk '{print $4}')" != "$ip/$prefix" ]; then
    if command -v systemd-run >/dev/null 2>&1; then
      systemd-run --quiet --on-active=3 --unit=k0slua-static-address netplan apply
    else
      (sleep 3; netplan apply) >/dev/null 2>&1 &
    fi
  fi
fi
"""#

    /// Writes the k0slua block of /etc/hosts: every node by its one address. Runs over SSH once
    /// the addresses are known (boot-assigned addresses exist only after the machines start).
    /// Idempotent. Standard input: the lines "IP NAME" (on stdin, not the command line, so that
    /// a fleet of any size fits; `hostsLines`).
    public static let hostsScript = #"""
set -eu
hosts=$(cat)
tmp=$(mktemp)
sed -e '/^# k0slua begin$/,/^# k0slua end$/d' /etc/hosts > "$tmp"
{ cat "$tmp"; echo "# k0slua begin"; printf '%s\n' "$hosts"; echo "# k0slua end"; } > /etc/hosts
rm -f "$tmp"
"""#

    /// The /etc/hosts lines for a cluster whose addresses are all known.
    static func hostsLines(_ cluster: Cluster) -> String {
        cluster.nodes.compactMap { node in node.ip.map { "\($0) \(node.name)" } }.joined(separator: "\n")
    }
}
