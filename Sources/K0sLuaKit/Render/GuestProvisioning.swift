/// The shell script every VM runs once it boots (as root, through a Vagrant shell provisioner):
/// hostname, /etc/hosts, the cluster's SSH key, and for Tart the static address that vagrant-tart
/// cannot configure. Idempotent: `vagrant provision` may run it again.
enum GuestProvisioning {
    /// Arguments: NAME IP PREFIX USER PUBLIC_KEY STATIC_MODE HOSTS
    /// STATIC_MODE is `netplan` (add the static address next to DHCP) or `none` (the provider did it).
    static let script = #"""
set -eu
name="$1"; ip="$2"; prefix="$3"; user="$4"; key="$5"; static_mode="$6"; hosts="$7"

# Hostname: every Tart clone boots as "ubuntu"; k0sctl and etcd need distinct names.
hostname "$name"
echo "$name" > /etc/hostname

# /etc/hosts: one k0slua block naming every node.
tmp=$(mktemp)
sed -e '/^# k0slua begin$/,/^# k0slua end$/d' -e '/^127\.0\.1\.1[[:space:]]/d' /etc/hosts > "$tmp"
{ cat "$tmp"; echo "# k0slua begin"; echo "127.0.1.1 $name"; printf '%s\n' "$hosts"; echo "# k0slua end"; } > /etc/hosts
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
  # Keep DHCP (and dhcp-identifier: mac, so the provider still finds the VM) and add the static
  # address to the same netplan definition.
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
      dhcp4: true
      dhcp-identifier: mac
      addresses: ["$ip/$prefix"]
NETPLAN
  netplan generate
  ip addr replace "$ip/$prefix" dev "$iface"
fi
"""#
}
