#!/usr/bin/env bash
# Creates the e2e network namespace (loopback only: no link, no route out) and starts virtlogd and
# libvirtd inside it, with a storage pool in the work directory. Their PIDs go to the work
# directory so host-down.sh stops exactly these processes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
mkdir -p "$K0SLUA_E2E_WORK/pool"

if ! ip netns list | grep -qx "$K0SLUA_E2E_NETNS\( .*\)\?"; then
  ip netns add "$K0SLUA_E2E_NETNS"
fi
"${NS[@]}" ip link set lo up

start_daemon() { # name
  local pidfile="/run/$1.pid" record="$K0SLUA_E2E_WORK/$1.pid"
  if [ -f "$record" ] && kill -0 "$(cat "$record")" 2>/dev/null; then return; fi
  rm -f "$pidfile"
  "${NS[@]}" "$1" -d
  for _ in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
  cp "$pidfile" "$record"
}
start_daemon virtlogd
start_daemon libvirtd
for _ in $(seq 50); do virsh -q list >/dev/null 2>&1 && break; sleep 0.2; done

if ! virsh -q pool-info default >/dev/null 2>&1; then
  virsh -q pool-define-as default dir --target "$K0SLUA_E2E_WORK/pool" >/dev/null
fi
virsh -q pool-start default >/dev/null 2>&1 || true
echo "netns $K0SLUA_E2E_NETNS: virtlogd $(cat "$K0SLUA_E2E_WORK/virtlogd.pid"), libvirtd $(cat "$K0SLUA_E2E_WORK/libvirtd.pid")"
