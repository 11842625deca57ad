#!/usr/bin/env bash
# The VM end-to-end test: real k0slua, real Vagrant + vagrant-libvirt, real QEMU VMs, all inside a
# private network namespace; k0s/k0sctl are the only stand-ins (e2e/bin/k0sctl does k0sctl's real
# SSH checks). Asserts on the running VMs, then destroys everything it made.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/env.sh"
started=$(date +%s)
step() { echo "e2e [$(( $(date +%s) - started ))s] $*"; }

need=()
for pkg in libvirt-daemon-system dnsmasq-base debootstrap qemu-system-x86 qemu-utils vagrant vagrant-libvirt iproute2 openssh-client python3-yaml; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

k0slua="$root/.build/debug/k0slua"
[ -x "$k0slua" ] || (cd "$root" && swift build --product k0slua)

box=$("$here/build-box.sh" "$K0SLUA_E2E_CACHE" | tail -n1)
step "box: $box"

cluster="$K0SLUA_E2E_WORK/cluster"
state="$cluster/.k0slua/e2e"
transcript="$K0SLUA_E2E_WORK/k0sctl-calls.jsonl"
k0s_env=(env PATH="$here/bin:$PATH" K0SLUA_STANDIN_LOG="$transcript")

cleanup() {
  local code=$?
  if [ -f "$state/Vagrantfile" ]; then
    (cd "$cluster" && "${NS[@]}" "${k0s_env[@]}" "$k0slua" destroy --quiet >/dev/null 2>&1) || true
  fi
  "$here/host-down.sh"
  [ $code -eq 0 ] || echo "e2e FAILED (exit $code); logs kept in $K0SLUA_E2E_WORK" >&2
  exit $code
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$here/host-up.sh"
mkdir -p "$VAGRANT_HOME"
if ! vagrant box list 2>/dev/null | grep -q '^k0slua/debian12-test '; then
  step "adding the box to $VAGRANT_HOME"
  vagrant box add --force --name k0slua/debian12-test "$box" >/dev/null
fi

rm -rf "$cluster" "$transcript"
mkdir -p "$cluster"
cp "$here/cluster.lua" "$cluster/cluster.lua"
ln -s "$root/lib" "$cluster/lib"

step "k0slua up (libvirt, QEMU TCG)"
(cd "$cluster" && "${NS[@]}" "${k0s_env[@]}" "$k0slua" up \
   --skip kubeconfig --skip-checks k0s-status,api,nodes-ready,taints,system-pods) | tee "$K0SLUA_E2E_WORK/up.txt"

# ---- assertions on the running VMs, over SSH with the cluster's own key (not Vagrant's) ----
ssh_node() { # ip command
  "${NS[@]}" ssh -i "$state/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$state/known_hosts" "vagrant@$1" -- "$2"
}
check() { # description command…
  local what=$1; shift
  if "$@"; then echo "  ok   $what"; else echo "  FAIL $what" >&2; failures=$((failures + 1)); fi
}
failures=0
plan=$("$k0slua" plan --json --file "$cluster/cluster.lua")
names=$(python3 -c 'import json,sys; print(" ".join(n["name"] for n in json.load(sys.stdin)["nodes"]))' <<<"$plan")
for name in $names; do
  read -r ip cpus memory < <(python3 -c 'import json,sys; n=[n for n in json.load(sys.stdin)["nodes"] if n["name"]==sys.argv[1]][0]; print(n["ip"], n["cpus"], n["memory_mb"])' "$name" <<<"$plan")
  facts=$(ssh_node "$ip" 'hostname; nproc; awk "/MemTotal/ {print int(\$2/1024)}" /proc/meminfo; ip -o -4 addr show; cat /etc/hosts; sudo -n true && echo SUDO-OK; sudo cat /var/tmp/k0slua-hooks')
  check "$name: hostname is $name" grep -qx "$name" <<<"$(sed -n 1p <<<"$facts")"
  check "$name: $cpus CPU(s)" test "$(sed -n 2p <<<"$facts")" = "$cpus"
  got_memory=$(sed -n 3p <<<"$facts")
  check "$name: about $memory MiB of memory (guest sees $got_memory)" test "$got_memory" -gt $((memory * 85 / 100)) -a "$got_memory" -le "$memory"
  check "$name: $ip/24 sits on the private interface" grep -Eq "^[0-9]+: eth1 +inet $ip/24 " <<<"$facts"
  for other in $names; do
    other_ip=$(python3 -c 'import json,sys; print([n for n in json.load(sys.stdin)["nodes"] if n["name"]==sys.argv[1]][0]["ip"])' "$other" <<<"$plan")
    check "$name: /etc/hosts names $other" grep -Eq "^$other_ip +$other\$" <<<"$facts"
    [ "$other" = "$name" ] || check "$name reaches $other ($other_ip)" ssh_node "$ip" "ping -c 1 -W 3 $other_ip >/dev/null"
  done
  check "$name: the cluster key logs in with passwordless sudo" grep -qx SUDO-OK <<<"$facts"
  hooks=$(sed -n '/^SUDO-OK$/,$p' <<<"$facts" | tail -n +2)
  check "$name: pre_join then post_join ran once each, on this node" test "$hooks" = "$(printf '1 pre_join %s %s\n2 post_join %s %s' "$name" "$name" "$name" "$name")"
done
check "Vagrant's insecure key does not log in as the cluster key" test "$(grep -c 'vagrant insecure' "$state/id_ed25519.pub" || true)" = 0
check "k0sctl got the cluster's known_hosts" grep -q "\"SSH_KNOWN_HOSTS\": \"$state/known_hosts\"" "$transcript"
check "k0s phases are reported as skipped, not passed" grep -q "skipped (no k0s on this machine)" "$state/logs/k0sctl-apply.log"
check "up reported kubeconfig and health's Kubernetes checks as skipped" grep -Eq '^  kubeconfig +skipped' "$K0SLUA_E2E_WORK/up.txt"

step "k0slua destroy"
(cd "$cluster" && "${NS[@]}" "${k0s_env[@]}" "$k0slua" destroy)
check "no e2e domain left" test -z "$(virsh list --all --name | grep '^e2e_' || true)"
check "no e2e volume left" test -z "$(virsh vol-list default | awk '{print $1}' | grep '^e2e_' || true)"
check "no state left" test ! -e "$state"

[ $failures -eq 0 ] || { echo "e2e: $failures check(s) failed" >&2; exit 1; }
step "all checks passed"
