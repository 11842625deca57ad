#!/usr/bin/env bash
# The macOS side of Tart's networking, simulated inside the e2e namespace with libvirt:
#
#   vmnet.sh define NAME shared    vmnet "shared" as Tart uses it on macOS 13+: one bridge, host side
#                                  192.168.64.1/24, DHCP .2–.254 with bootpd's 86,400 s leases, no
#                                  forwarding, and every VM port isolated (<port isolated='yes'/>:
#                                  VM↔VM frames are dropped by the bridge, VM↔host pass)
#   vmnet.sh define NAME softnet   the same network as softnet sees it with --net-softnet-allow=0.0.0.0/0:
#                                  bridge isolation off, 600 s leases (softnet shortens them); the
#                                  source-address enforcement is e2e/softnet.py
#   vmnet.sh undefine NAME         destroys and undefines it if it is still there
#
# vagrant-libvirt reuses a network it finds by address (management network address = network
# address of 192.168.64.0/24) only if the names also match and DHCP is on, so the network is made
# with exactly the name k0slua renders as lv.management_network_name (cluster.lua's
# network.libvirt_network). vagrant-libvirt records it as created and undefines it at destroy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

action=$1 name=$2
case $action in
  define)
    mode=$3
    case $mode in
      shared) isolated="<port isolated='yes'/>" lease="<lease expiry='24' unit='hours'/>" ;;
      softnet) isolated="" lease="<lease expiry='10' unit='minutes'/>" ;;
      *) echo "vmnet.sh: unknown mode $mode" >&2; exit 64 ;;
    esac
    xml="$K0SLUA_E2E_WORK/$name.xml"
    cat > "$xml" <<XML
<network>
  <name>$name</name>
  <bridge name='k0slua-vmnet' stp='off' delay='0'/>
  $isolated
  <ip address='192.168.64.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.64.2' end='192.168.64.254'>$lease</range>
    </dhcp>
  </ip>
</network>
XML
    "$0" undefine "$name"
    virsh -q net-define "$xml" >/dev/null
    virsh -q net-start "$name" >/dev/null
    echo "network $name ($mode): bridge k0slua-vmnet 192.168.64.1/24, DHCP .2-.254${isolated:+, ports isolated}"
    ;;
  undefine)
    virsh -q net-destroy "$name" >/dev/null 2>&1 || true
    virsh -q net-undefine "$name" >/dev/null 2>&1 || true
    ;;
  *) echo "usage: vmnet.sh define NAME shared|softnet | undefine NAME" >&2; exit 64 ;;
esac
