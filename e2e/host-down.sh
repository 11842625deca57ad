#!/usr/bin/env bash
# Stops what host-up.sh started (by recorded PID), then deletes the namespace.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
for daemon in libvirtd virtlogd; do
  record="$K0SLUA_E2E_WORK/$daemon.pid"
  [ -f "$record" ] || continue
  pid=$(cat "$record")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$record"
done
ip netns del "$K0SLUA_E2E_NETNS" 2>/dev/null
exit 0
