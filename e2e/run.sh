#!/usr/bin/env bash
# The VM end-to-end test: real k0slua, real Vagrant + vagrant-libvirt, real QEMU VMs, all inside a
# private network namespace; k0s/k0sctl are the only stand-ins (e2e/bin/k0sctl does k0sctl's real
# SSH checks and runs real etcd, and a VXLAN pod overlay when the k0s config asks for Calico VXLAN).
#
# Scenarios (e2e/scenarios/<name>/{cluster.lua,scenario.env}), chosen with
# E2E_SCENARIOS="vmnet-shared softnet lifecycle" (the default; also libvirt-static, legacy-secondary
# and legacy-secondary-open). Each one: network set-up, `k0slua up`, assertions on the VMs (the
# lifecycle scenario then grows, shrinks, stops and starts the cluster), `k0slua destroy`, nothing
# left. Per-scenario, per-phase timings at the end.
#
# k0s comes from the host cache, as for users: a release-shaped mirror (Tests/StandIns/mirror/layout.py) served
# on 127.0.0.1 inside the namespace is K0SLUA_MIRROR, the cache (XDG_CACHE_HOME) starts empty, and
# the k0sctl stand-in uploads the cached binary and image bundle to the VMs over SSH.
set -euo pipefail
# With pipefail, a reader that stops early (`awk '{…; exit}'`, `head`) can end the writer with
# SIGPIPE and the script with exit 141, depending on timing: host-side pipelines read all input.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/env.sh"
started=$(date +%s)
unset worker_count worker_memory  # the lifecycle scenario sets them; no scenario takes them from the caller's shell
step() { echo "e2e [$(( $(date +%s) - started ))s] $*"; }
# One run at a time on a machine: runs share the namespace, libvirtd, its pool and the work
# directory, so a second run's set-up or tear-down would pull them from under the first.
exec 9>>/var/lock/k0slua-e2e.lock
if ! flock -n 9; then
  step "waiting for the e2e run that holds /var/lock/k0slua-e2e.lock"
  flock 9
fi
scenarios=${E2E_SCENARIOS:-vmnet-shared softnet lifecycle}
for name in $scenarios; do
  [ -f "$here/scenarios/$name/scenario.env" ] || { echo "e2e: unknown scenario $name (see e2e/scenarios/)" >&2; exit 64; }
done

need=()
for pkg in libvirt-daemon-system dnsmasq-base debootstrap qemu-system-x86 qemu-utils vagrant vagrant-libvirt iproute2 openssh-client python3-yaml python3-cryptography nftables; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

k0slua="$root/.build/debug/k0slua"
(cd "$root" && swift build --product k0slua >/dev/null)  # incremental: never a stale binary

box_started=$(date +%s)
boxes=$("$here/build-box.sh" "$K0SLUA_E2E_CACHE" | tail -n1)
box_seconds=$(( $(date +%s) - box_started ))
step "boxes: $boxes (${box_seconds}s)"

transcript="$K0SLUA_E2E_WORK/k0sctl-calls.jsonl"
timings="$K0SLUA_E2E_WORK/timings.txt"
softnet_pid=
mirror_pid=
current_state=
current_env=()

stop_softnet() {
  if [ -n "$softnet_pid" ] && kill -0 "$softnet_pid" 2>/dev/null; then
    kill -TERM "$softnet_pid"
    for _ in $(seq 50); do kill -0 "$softnet_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  softnet_pid=
}

cleanup() {
  local code=$?
  if [ -n "$current_state" ] && [ -f "$current_state/Vagrantfile" ]; then
    (cd "$(dirname "$(dirname "$current_state")")" && "${NS[@]}" "${current_env[@]}" "$k0slua" destroy --quiet >/dev/null 2>&1) || true
  fi
  stop_softnet
  [ -z "$mirror_pid" ] || kill -TERM "$mirror_pid" 2>/dev/null || true
  "$here/vmnet.sh" undefine k0slua-e2e-vmnet 2>/dev/null || true
  "$here/host-down.sh"
  [ $code -eq 0 ] || echo "e2e FAILED (exit $code); logs kept in $K0SLUA_E2E_WORK" >&2
  exit $code
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$here/host-up.sh"
# Machines an interrupted or failed earlier run left (the cluster ids are the same every run, so
# they would block this run's `vagrant up`): only domains whose disks are in the e2e's own pool.
for domain in $(virsh list --all --name); do
  virsh domblklist --details "$domain" 2>/dev/null | awk -v pool="$K0SLUA_E2E_WORK/pool/" '$2 == "disk" && index($4, pool) == 1 {found=1} END {exit !found}' || continue
  step "removing $domain, left by an earlier run"
  virsh -q destroy "$domain" >/dev/null 2>&1 || true
  virsh -q undefine --remove-all-storage "$domain" >/dev/null
done
mkdir -p "$VAGRANT_HOME"
# Re-add the boxes when the build changed (the cache key is part of the path).
if [ "$(cat "$VAGRANT_HOME/k0slua-boxes" 2>/dev/null)" != "$boxes" ]; then
  step "adding the boxes to $VAGRANT_HOME"
  for box in debian12-test tartlike-test; do
    vagrant box add --force --name "k0slua/$box" "$boxes/k0slua-$box.box" >/dev/null
  done
  for volume in $(virsh vol-list default 2>/dev/null | awk '$1 ~ /^k0slua-VAGRANTSLASH-/ {print $1}'); do
    virsh -q vol-delete --pool default "$volume" >/dev/null 2>&1 || true
  done
  echo "$boxes" > "$VAGRANT_HOME/k0slua-boxes"
fi
rm -f "$transcript" "$timings"

# The release mirror and an empty cache: the first scenario downloads k0s, later ones find it cached.
k0s_version=v1.34.2+k0s.0
mirror="$K0SLUA_E2E_WORK/mirror"
export XDG_CACHE_HOME="$K0SLUA_E2E_WORK/xdg-cache"
rm -rf "$mirror" "$XDG_CACHE_HOME" && mkdir -p "$mirror"
python3 "$root/Tests/StandIns/mirror/layout.py" "$mirror" --version "$k0s_version" --arch amd64 --k0s e2e --bundle tar:12
"${NS[@]}" python3 "$root/Tests/StandIns/mirror/serve.py" "$mirror" &
mirror_pid=$!
for _ in $(seq 50); do [ -s "$mirror/.port" ] && break; sleep 0.1; done
export K0SLUA_MIRROR="http://127.0.0.1:$(cat "$mirror/.port")"
cached_k0s="$XDG_CACHE_HOME/k0slua/k0s/$k0s_version/linux-amd64"
mirror_requests() { if [ -f "$mirror/.requests" ]; then wc -l <"$mirror/.requests"; else echo 0; fi; }
echo "release mirror $K0SLUA_MIRROR (k0s $k0s_version), cache $XDG_CACHE_HOME"

failures=0
check() { # description command…
  local what=$1; shift
  if "$@"; then echo "  ok   $what"; else echo "  FAIL $what" >&2; failures=$((failures + 1)); fi
}
timed() { # prefix: timestamps every line (seconds since start) so phase times survive a failure
  python3 -u -c '
import sys, time
t0 = time.time()
for line in sys.stdin:
    sys.stdout.write(f"{time.time() - t0:7.1f} {line}")'
}
record_phases() { # scenario up.txt exit-code
  python3 - "$@" >>"$timings" <<'PY'
import re, sys
scenario, path, code = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(path).read().splitlines()
rows, current, last_t = [], None, 0.0
for line in lines:
    m = re.match(r"\s*([\d.]+) (.*)", line)
    if not m:
        continue
    t, text = float(m.group(1)), m.group(2)
    last_t = t
    if (s := re.match(r"==> \[\d+/\d+\] (\S+):", text)):
        current = (s.group(1), t)
    elif (d := re.match(r"\s+(\S+) done in ([\d.]+)s", text)):
        rows.append((d.group(1), float(d.group(2)), "ok"))
        current = None
    elif (k := re.match(r"==> (\S+): skipped", text)):
        rows.append((k.group(1), 0.0, "skipped"))
if current and code != 0:
    rows.append((current[0], last_t - current[1], "FAILED"))
for phase, seconds, status in rows:
    print(f"{scenario}\tup:{phase}\t{seconds:.1f}\t{status}")
PY
}

# Leases of the vmnet network by node: "name ip" lines (domain <cluster id>-<node>, its MAC, its lease).
leases_by_node() { # cluster-id
  local prefix="$1-"
  for domain in $(virsh list --name | grep "^$prefix" || true); do
    mac=$(virsh domiflist "$domain" | awk '$3 == "k0slua-e2e-vmnet" && !seen {print $5; seen = 1}')
    ip=$(virsh net-dhcp-leases k0slua-e2e-vmnet --mac "$mac" | awk '$4 == "ipv4" && !seen {sub("/.*", "", $5); print $5; seen = 1}')
    echo "${domain#"$prefix"} $ip"
  done
}

# k0slua up/start in the namespace with the stand-ins; output timestamped into <work>/<name>.txt,
# exit code into <work>/<name>.code. The Kubernetes checks need k0s, which no VM here runs.
k0slua_up() { # work name [command and options…]
  local work=$1 name=$2; shift 2
  local command=("$@")
  [ "${command[0]:-up}" != up ] || command=(up --skip kubeconfig "${command[@]:1}")
  (cd "$work" && if "${NS[@]}" "${current_env[@]}" "$k0slua" "${command[@]}" --skip-checks k0s-status,api,nodes-ready,taints,system-pods 2>&1; \
     then echo 0 > "$work/$name.code"; else echo $? > "$work/$name.code"; fi) | timed | tee "$work/$name.txt"
}

run_scenario() { # name
  local scenario=$1 dir="$here/scenarios/$1"
  local NETWORK= SOFTNET=0 ADDRESSING=static EXPECT=pass CLUSTER_LUA=cluster.lua CLUSTER_NAME= STANDIN_PRIVATE_ADDRESSES= POD_NETWORK= ETCD_TIMEOUT=240 DESTROY_ENV=
  . "$dir/scenario.env"
  local scenario_started=$(date +%s)
  local work="$K0SLUA_E2E_WORK/$scenario"
  local lua="$dir/$CLUSTER_LUA"
  rm -rf "$work" && mkdir -p "$work"
  cp "$lua" "$work/cluster.lua"
  mkdir "$work/lib" && cp -R "$root/lib/." "$here/lib/." "$work/lib/"  # the product's modules and e2e.lua
  local name=${CLUSTER_NAME:-$(python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])' <<<"$("$k0slua" plan --json --file "$work/cluster.lua")")}
  [ -n "$name" ] || { echo "e2e: $scenario: cannot read the cluster name from $lua" >&2; return 1; }
  local state="$work/.k0slua/$name"
  current_state=$state
  current_env=(env PATH="$here/bin:$PATH" K0SLUA_STANDIN_LOG="$transcript" K0SLUA_E2E_NAME="$name"
               K0SLUA_E2E_PRIVATE_ADDRESSES="$STANDIN_PRIVATE_ADDRESSES" K0SLUA_E2E_POD_NETWORK="$POD_NETWORK"
               K0SLUA_E2E_ETCD_TIMEOUT="$ETCD_TIMEOUT")
  echo
  step "==== scenario $scenario ($EXPECT) ===="
  if [ -n "$NETWORK" ]; then
    "$here/vmnet.sh" define k0slua-e2e-vmnet "$NETWORK"
  fi
  if [ "$SOFTNET" = 1 ]; then
    "${NS[@]}" python3 "$here/softnet.py" k0slua-vmnet "$work/softnet.log" &
    softnet_pid=$!
    for _ in $(seq 50); do "${NS[@]}" nft list table bridge softnet >/dev/null 2>&1 && break; sleep 0.1; done
    echo "softnet enforcement on k0slua-vmnet (pid $softnet_pid, log $work/softnet.log)"
  fi

  step "k0slua up ($scenario)"
  local requests_before
  requests_before=$(mirror_requests)
  k0slua_up "$work" up
  local code
  code=$(cat "$work/up.code")
  record_phases "$scenario" "$work/up.txt" "$code"
  echo "  release mirror: $(( $(mirror_requests) - requests_before )) request(s) during this up"
  # The cluster's identity (state.json): its libvirt domains and volumes are named <id>-<node>.
  cluster_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$state/state.json")

  "scenario_$EXPECT" "$scenario" "$name" "$state" "$work" "$code"

  step "k0slua destroy ($scenario)"
  local destroy_started=$(date +%s)
  (cd "$work" && "${NS[@]}" "${current_env[@]}" ${DESTROY_ENV:+env $DESTROY_ENV} "$k0slua" destroy)
  printf '%s\tdestroy\t%s\tok\n' "$scenario" "$(( $(date +%s) - destroy_started ))" >>"$timings"
  current_state=
  stop_softnet
  check "$scenario: no domain left" test -z "$(virsh list --all --name | grep -e "^${cluster_id}-" -e "^${name}_" || true)"
  check "$scenario: no volume left" test -z "$(virsh vol-list default | awk '{print $1}' | grep -e "^${cluster_id}-" -e "^${name}_" || true)"
  check "$scenario: no network left" test -z "$(virsh net-list --all --name | grep -E '^(k0slua-e2e-vmnet|k0slua-e2e-net|k0slua-e2e-mgmt)$' || true)"
  check "$scenario: no state left" test ! -e "$state"
  "$here/vmnet.sh" undefine k0slua-e2e-vmnet
  printf '%s\ttotal\t%s\t-\n' "$scenario" "$(( $(date +%s) - scenario_started ))" >>"$timings"
}

# A path as the value of an ssh -o file option, as k0slua writes it (NodeSSH.configValue): in double
# quotes so that whitespace does not split it, \\ for \, %% for %.
ssh_file_value() { local v=${1//\\/\\\\}; v=${v//%/%%}; printf '"%s"' "$v"; }

ssh_node() { # state user address command (stdin is not forwarded: callers loop over here-strings)
  "${NS[@]}" ssh -i "$1/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=20 -o StrictHostKeyChecking=yes \
    -o "UserKnownHostsFile=$(ssh_file_value "$1/known_hosts")" -o ControlMaster=auto -o ControlPath=/tmp/k0slua-e2e-check-%C -o ControlPersist=20 \
    "$2@$3" -- "$4" </dev/null
}

# "name address role" per node: DHCP nodes by their lease on the vmnet network, static ones by plan.
node_table() { # name addressing cluster.lua
  if [ "$2" = dhcp ]; then
    leases_by_node "$cluster_id" | while read -r node ip; do
      role=$(python3 -c 'import json,sys; print([n for n in json.load(sys.stdin)["nodes"] if n["name"]==sys.argv[1]][0]["role"])' "$node" <<<"$("$k0slua" plan --json --file "$3")")
      echo "$node $ip $role"
    done | sort
  else
    "$k0slua" plan --json --file "$3" | python3 -c 'import json,sys; [print(n["name"], n["ip"], n["role"]) for n in json.load(sys.stdin)["nodes"]]'
  fi
}

# The k0sctl.yaml host whose ssh.address is ADDRESS: "user privateAddress role", or nothing.
k0sctl_host() { # state address
  python3 - "$1/k0sctl.yaml" "$2" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]).read().replace("$$", "$"))
for h in doc["spec"]["hosts"]:
    if h["ssh"]["address"] == sys.argv[2]:
        print(h["ssh"].get("user", "root"), h.get("privateAddress", "-"), h["role"])
PY
}

scenario_pass() { # scenario name state work code [output of the command, default <work>/up.txt]
  local scenario=$1 name=$2 state=$3 work=$4 code=$5 addressing=$ADDRESSING output=${6:-$4/up.txt}
  check "$scenario: k0slua $(basename "$output" .txt) succeeded" test "$code" = 0
  [ "$code" = 0 ] || return 0
  local bundle_name="k0s-airgap-bundle-$k0s_version-linux-amd64.tar" binary_sum bundle_sum
  binary_sum=$(sha256sum "$cached_k0s/k0s" | awk '{print $1}')
  bundle_sum=$(sha256sum "$cached_k0s/$bundle_name" | awk '{print $1}')
  check "$scenario: the cluster's k0s.version is the cached $k0s_version" grep -q "version: \"\?$k0s_version" "$state/k0sctl.yaml"
  local table
  table=$(node_table "$name" "$addressing" "$work/cluster.lua")
  echo "$table" | sed 's/^/  node /'
  local count controllers leader= user=
  count=$(grep -c . <<<"$table")
  controllers=$(awk '$3 ~ /controller/' <<<"$table" | wc -l)
  check "$scenario: every node has an address ($count nodes)" test -z "$(awk 'NF < 3 || $2 == ""' <<<"$table")"
  while read -r node ip role; do
    read -r user private k0s_role < <(k0sctl_host "$state" "$ip") || true
    check "$scenario: $node: k0sctl.yaml ssh.address = privateAddress = $ip" test "${private:-}" = "$ip"
    [ -n "$leader" ] || { [ "${k0s_role:-}" = worker ] || leader="$user $ip"; }
    facts=$(ssh_node "$state" "$user" "$ip" 'hostname; echo ---; ip -o -4 addr show scope global | grep -v " k0slua-"; echo ---; cat /etc/hosts; echo ---; sha256sum /usr/local/bin/k0s /var/lib/k0s/images/* 2>/dev/null; echo ---; sudo -n true && echo SUDO-OK; sudo cat /var/tmp/k0slua-hooks') || true
    hostname_=$(awk 'NR==1' <<<"$facts")
    addresses=$(awk '/^---$/ {n++; next} n==1' <<<"$facts")
    hosts=$(awk '/^---$/ {n++; next} n==2' <<<"$facts")
    sums=$(awk '/^---$/ {n++; next} n==3' <<<"$facts")
    check "$scenario: $node: /usr/local/bin/k0s is the host's cached k0s (sha256 ${binary_sum:0:12}…)" \
      test "$(awk '$2 == "/usr/local/bin/k0s" {print $1}' <<<"$sums")" = "$binary_sum"
    if [ "${k0s_role:-}" = controller ]; then
      check "$scenario: $node: no image bundle on a controller without kubelet" test -z "$(grep /var/lib/k0s/images/ <<<"$sums" || true)"
    else
      check "$scenario: $node: the cached airgap bundle sits in /var/lib/k0s/images/ (sha256 ${bundle_sum:0:12}…)" \
        test "$(awk -v p="/var/lib/k0s/images/$bundle_name" '$2 == p {print $1}' <<<"$sums")" = "$bundle_sum"
    fi
    hooks=$(sed -n '/^SUDO-OK$/,$p' <<<"$facts" | tail -n +2)
    check "$scenario: $node: hostname is $node (not the image's)" test "$hostname_" = "$node"
    if [ "$addressing" = dhcp ]; then
      check "$scenario: $node: exactly one IPv4 address, its lease $ip (no secondary)" \
        test "$(awk '{print $4}' <<<"$addresses")" = "$ip/24"
    else
      check "$scenario: $node: $ip/24 sits on the private interface" grep -Eq "^[0-9]+: eth1 +inet $ip/24 " <<<"$addresses"
    fi
    while read -r other other_ip _; do
      check "$scenario: $node: /etc/hosts names $other as $other_ip" grep -Eq "^$other_ip +$other\$" <<<"$hosts"
      [ "$other" = "$node" ] || check "$scenario: $node reaches $other ($other_ip)" ssh_node "$state" "$user" "$ip" "ping -c 1 -W 3 $other_ip >/dev/null"
    done <<<"$table"
    check "$scenario: $node: the cluster key logs in with passwordless sudo" grep -qx SUDO-OK <<<"$facts"
    check "$scenario: $node: pre_join then post_join ran once each, on this node" \
      test "$hooks" = "$(printf '1 pre_join %s %s\n2 post_join %s %s' "$node" "$node" "$node" "$node")"
  done <<<"$table"
  # etcd, checked here again from the leader with the stand-in's client certificate.
  read -r leader_user leader_ip <<<"$leader"
  healthy=$(ssh_node "$state" "$leader_user" "$leader_ip" "sudo ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/var/lib/k0slua-etcd/pki/ca.crt --cert=/var/lib/k0slua-etcd/pki/client.crt --key=/var/lib/k0slua-etcd/pki/client.key endpoint health --cluster 2>&1" || true)
  echo "$healthy" | sed 's/^/  etcd: /'
  check "$scenario: etcd healthy with $controllers member(s), every one on its node address" \
    test "$(grep -c ' is healthy' <<<"$healthy")" = "$controllers"
  check "$scenario: k0s phases are reported as skipped, not passed" grep -q "skipped (no k0s on this machine)" "$state/logs/k0sctl-apply.log"
  case $output in */up*.txt) check "$scenario: up reported kubeconfig and health's Kubernetes checks as skipped" grep -Eq '^ *[0-9.]+ ==> kubeconfig: skipped' "$output" ;; esac
  [ "$SOFTNET" = 1 ] && softnet_checks "$scenario" "$state" "$table"
  return 0
}

nft_drops() { "${NS[@]}" nft list counters table bridge softnet | awk '/packets/ {n += $2} END {print n + 0}'; }

softnet_checks() { # scenario state table
  local scenario=$1 state=$2 table=$3 a a_ip b b_ip user
  read -r a a_ip _ < <(sed -n 1p <<<"$table")
  read -r b b_ip _ < <(sed -n 2p <<<"$table")
  user=$(k0sctl_host "$state" "$a_ip" | awk '{print $1}')
  echo "  softnet: $(grep -c 'may send from' "$K0SLUA_E2E_WORK/$scenario/softnet.log") lease(s) learned; drops so far: $(nft_drops)"
  local before after
  before=$(nft_drops)
  check "$scenario: softnet: $a reaches $b from its lease" ssh_node "$state" "$user" "$a_ip" "ping -c 2 -W 3 $b_ip >/dev/null"
  # A second address no node holds as its lease (DHCP hands out .2-.254: a run gave a node .250).
  local second=192.168.64.250
  while awk '{print $2}' <<<"$table" | grep -qx "$second"; do second=192.168.64.$(( ${second##*.} - 1 )); done
  check "$scenario: softnet: $a cannot reach $b from a second address ($second) next to its lease" \
    ssh_node "$state" "$user" "$a_ip" "iface=\$(ip -o -4 route show 192.168.64.0/24 | awk '{print \$3; exit}'); sudo ip addr add $second/24 dev \$iface; ! ping -c 2 -W 3 -I $second $b_ip >/dev/null; r=\$?; sudo ip addr del $second/24 dev \$iface; exit \$r"
  after=$(nft_drops)
  check "$scenario: softnet: the bridge dropped those frames ($before -> $after dropped)" test "$after" -gt "$before"
  local apply="$state/logs/k0sctl-apply.log"
  if grep -q "Pod network: Calico VXLAN" "$apply"; then
    grep -q "simulating calico vxlan" "$apply" && echo "  note: k0slua renders Calico VXLAN for Tart softnet only; on libvirt the scenario sets K0SLUA_E2E_POD_NETWORK"
    grep "pod network summary" "$apply" | sed 's/^/  /'
    check "$scenario: pod-range traffic crosses nodes through the VXLAN overlay" grep -Eq 'VXLAN overlay ([0-9]+)/\1 pairs' "$apply"
    check "$scenario: natively routed pod-range packets are dropped (0 pairs pass)" grep -Eq 'native routing 0/[1-9][0-9]* pairs' "$apply"
    check "$scenario: $a's pod address reaches $b's through the overlay, from the e2e" \
      ssh_node "$state" "$user" "$a_ip" "ping -c 2 -W 3 -I 10.244.1.1 10.244.2.1 >/dev/null"
  else
    check "$scenario: the stand-in built the Calico VXLAN pod network" false
  fi
  support_checks "$scenario" "$state" "$table"
  image_load_checks "$scenario" "$state" "$table"
  load_balancer_checks "$scenario" "$state" "$table"
  moved_lease_checks "$scenario" "$state" "$table"
}

# A controller whose DHCP lease moved when it rebooted (issue 18.4), on real etcd: libvirt's
# dnsmasq plays bootpd, and a reservation for the last controller's MAC hands it another address
# when it boots again. `k0slua start` must refuse before k0sctl runs, naming the node and both
# addresses; etcd keeps its members and data. Then the reservation gives the old address back (the
# fix the refusal offers: a bootptab reservation) and the cluster comes back with etcd healthy on 3
# members. Only that controller reboots (a hard reset, as a crash or a host reboot does); the
# others keep running. Ends with the cluster running.
#
# The reservation goes into dnsmasq's dhcp-hostsfile, which dnsmasq re-reads on SIGHUP, not through
# `virsh net-update --live`: that, made while domains run, makes libvirt (9.0) forget the network's
# connection count, and vagrant-libvirt's destroy then undefines a network its other machines
# still use ("Network not found"; the destroy of the run on 7e96cdf failed exactly so).
moved_lease_checks() { # scenario state table
  local scenario=$1 state=$2 table=$3 work="$K0SLUA_E2E_WORK/$1" network=k0slua-e2e-vmnet
  local leader_user leader_ip node old mac new=192.168.64.201 members marker applies sums t0 code healthy domain
  local hostsfile=/var/lib/libvirt/dnsmasq/$network.hostsfile dnsmasq_pid
  dnsmasq_pid=$(cat "/run/libvirt/network/$network.pid")
  read -r _ leader_ip _ < <(awk '$3 ~ /controller/' <<<"$table" | sed -n 1p)
  read -r node old _ < <(awk '$3 ~ /controller/' <<<"$table" | tail -n 1)
  domain="$cluster_id-$node"
  leader_user=$(k0sctl_host "$state" "$leader_ip" | awk '{print $1}')
  etcd_leader() { ssh_node "$state" "$leader_user" "$leader_ip" "sudo ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/var/lib/k0slua-etcd/pki/ca.crt --cert=/var/lib/k0slua-etcd/pki/client.crt --key=/var/lib/k0slua-etcd/pki/client.key $1"; }
  reserve() { printf '%s,%s\n' "$mac" "$1" >"$hostsfile" && kill -HUP "$dnsmasq_pid"; }
  # Resets the controller and waits until DHCP gave it $1 and it answers SSH there (from the leader).
  reboot_onto() {
    virsh -q reset "$domain"
    local deadline=$(( $(date +%s) + 600 ))
    until virsh net-dhcp-leases "$network" --mac "$mac" | awk -v ip="$1" '$4 == "ipv4" {sub("/.*", "", $5); if ($5 == ip) found=1} END {exit !found}' &&
          ssh_node "$state" "$leader_user" "$leader_ip" "nc -z -w 3 $1 22" >/dev/null 2>&1; do
      [ "$(date +%s)" -lt "$deadline" ] || { echo "  $node did not come back on $1 within 600 s" >&2; return 1; }
      sleep 3
    done
  }
  mac=$(virsh domiflist "$domain" | awk -v n="$network" '$3 == n && !seen {print $5; seen = 1}')
  echo "  moved lease: $node ($mac) leaves $old for $new when it reboots; etcd read on $leader_ip"
  marker="moved-lease-$cluster_id"
  check "$scenario: moved lease: a marker written to etcd" etcd_leader "put k0slua-e2e/moved-lease $marker"
  members=$(etcd_leader "member list" | sort)
  echo "$members" | sed 's/^/  etcd member: /'
  check "$scenario: moved lease: etcd lists 3 members before" test "$(grep -c . <<<"$members")" = 3

  t0=$(date +%s)
  reserve "$new"
  check "$scenario: moved lease: $node rebooted onto $new" reboot_onto "$new"
  applies=$(grep -c '"argv": \["apply"' "$transcript" || true)
  sums=$(sha256sum "$state/state.json" "$state/k0sctl.yaml")
  k0slua_up "$work" moved-start start
  code=$(cat "$work/moved-start.code")
  printf '%s\tstep:moved lease (reboot, start refused)\t%s\texit %s\n' "$scenario" "$(( $(date +%s) - t0 ))" "$code" >>"$timings"
  check "$scenario: moved lease: start exited 1" test "$code" = 1
  check "$scenario: moved lease: start refused naming the moved controller" \
    grep -q "the DHCP address of controller $node moved; etcd cannot follow a moved controller" "$work/moved-start.txt"
  check "$scenario: moved lease: the refusal names both addresses and the old peer URL" \
    grep -qF "$node: recorded address $old, DHCP gave it $new now (etcd still lists its peer https://$old:2380)" "$work/moved-start.txt"
  check "$scenario: moved lease: k0sctl did not run" test "$(grep -c '"argv": \["apply"' "$transcript" || true)" = "$applies"
  check "$scenario: moved lease: state.json and k0sctl.yaml unchanged" test "$(sha256sum "$state/state.json" "$state/k0sctl.yaml")" = "$sums"
  check "$scenario: moved lease: $node answers on $new (from $leader_ip)" ssh_node "$state" "$leader_user" "$leader_ip" "ping -c 2 -W 3 $new >/dev/null"
  check "$scenario: moved lease: nothing answers on $old" ssh_node "$state" "$leader_user" "$leader_ip" "! ping -c 2 -W 3 $old >/dev/null"
  check "$scenario: moved lease: etcd members unchanged (read with quorum of 2)" test "$(etcd_leader "member list" | sort)" = "$members"
  check "$scenario: moved lease: the etcd marker is intact" test "$(etcd_leader "get --print-value-only k0slua-e2e/moved-lease")" = "$marker"

  step "moved lease: the reservation gives $node $old back; it reboots; start"
  t0=$(date +%s)
  reserve "$old"
  check "$scenario: moved lease: $node rebooted onto $old" reboot_onto "$old"
  k0slua_up "$work" moved-restored start
  code=$(cat "$work/moved-restored.code")
  printf '%s\tstep:moved lease (reboot, start restored)\t%s\texit %s\n' "$scenario" "$(( $(date +%s) - t0 ))" "$code" >>"$timings"
  check "$scenario: moved lease: start with the old lease back exited 0" test "$code" = 0
  check "$scenario: moved lease: the record keeps every address" \
    test "$(recorded_nodes "$state" | tr ';' '\n' | awk '{print $1, $2}' | sort)" = "$(awk '{print $1, $2}' <<<"$table" | sort)"
  healthy=$(etcd_leader "endpoint health --cluster 2>&1" || true)
  echo "$healthy" | sed 's/^/  etcd: /'
  check "$scenario: moved lease: etcd healthy again with 3 members" test "$(grep -c ' is healthy' <<<"$healthy")" = 3
  check "$scenario: moved lease: etcd members unchanged" test "$(etcd_leader "member list" | sort)" = "$members"
  check "$scenario: moved lease: the etcd marker survived" test "$(etcd_leader "get --print-value-only k0slua-e2e/moved-lease")" = "$marker"
}

# k0slua's LoadBalancer controller (issue 25, docs/services.md). `up` installed it on every
# controller; here it runs against the e2e k0s stand-in's `k0s kubectl` (e2e/lb_kubectl.py over
# JSON fixtures: the workers as Ready nodes with kube-proxy, a service on 8080 and one on the
# reserved port 22) and must write the workers' addresses as the status, and an event for port 22.
# Then the first worker gets what kube-proxy would program for that status (nftables DNAT of
# <lease>:8080 to a listener on a pod-like address) plus a MetalLB-style VIP with the same DNAT:
# the host reaches the listener at the lease through the softnet simulation, and not at the VIP
# (its ARP answers carry the VIP as sender; softnet drops them).
load_balancer_checks() { # scenario state table
  local scenario=$1 state=$2 table=$3 c c_ip w w_ip user expected vip=192.168.64.240 bundle setup node ip role got=
  read -r c c_ip _ < <(awk '$3 == "controller"' <<<"$table" | head -n1)
  read -r w w_ip _ < <(awk '$3 == "worker"' <<<"$table" | head -n1)
  user=$(k0sctl_host "$state" "$c_ip" | awk '{print $1}')
  while read -r node ip role; do
    [ "$role" = controller ] && check "$scenario: load balancer: k0slua-lb.service runs on $node" \
      ssh_node "$state" "$user" "$ip" "systemctl is-active --quiet k0slua-lb.service && test -x /usr/local/lib/k0slua/lb_controller.py"
  done <<<"$table"
  expected=$(awk '$3 == "worker" {print $2}' <<<"$table" | sort -t. -k4,4n | paste -sd, -)
  bundle=$(python3 - "$here/lb_kubectl.py" "$table" <<'PY'
import base64, io, json, sys, tarfile
nodes = [line.split() for line in sys.argv[2].splitlines() if line.split()[2:3] == ["worker"]]
listing = lambda items: json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
service = lambda name, port: {"metadata": {"name": name, "namespace": "default", "uid": "e2e-" + name, "creationTimestamp": "2026-01-01T00:00:00Z"},
                              "spec": {"type": "LoadBalancer", "ports": [{"port": port, "protocol": "TCP"}]}}
files = {
    "nodes.json": listing([{"metadata": {"name": n}, "status": {"conditions": [{"type": "Ready", "status": "True"}],
                                                                 "addresses": [{"type": "InternalIP", "address": ip}]}} for n, ip, _ in nodes]),
    "pods.json": listing([{"metadata": {"name": "kube-proxy-" + n, "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
                           "spec": {"nodeName": n}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}} for n, _, _ in nodes]),
    "endpointslices.json": listing([]),
    "services.json": listing([service("e2e-web", 8080), service("e2e-ssh", 22)]),
    "lb_kubectl.py": open(sys.argv[1]).read(),
}
buffer = io.BytesIO()
with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
    for name, text in files.items():
        data = text.encode()
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
print(base64.b64encode(buffer.getvalue()).decode())
PY
)
  check "$scenario: load balancer: fixtures for k0s kubectl on $c" ssh_node "$state" "$user" "$c_ip" \
    "sudo mkdir -p /var/lib/k0slua-e2e/kubectl && echo $bundle | base64 -d | sudo tar -xz -C /var/lib/k0slua-e2e/kubectl"
  # The controller patches statuses first and records refusals after, one kubectl call each:
  # wait for both, or the event check races the controller's next call.
  local refused=no
  for _ in $(seq 30); do
    got=$(ssh_node "$state" "$user" "$c_ip" "python3 -c 'import json; s = [i for i in json.load(open(\"/var/lib/k0slua-e2e/kubectl/services.json\"))[\"items\"] if i[\"metadata\"][\"name\"] == \"e2e-web\"][0]; print(\",\".join(x[\"ip\"] for x in s.get(\"status\", {}).get(\"loadBalancer\", {}).get(\"ingress\", [])))'" || true)
    ssh_node "$state" "$user" "$c_ip" "grep -qs ReservedPort /var/lib/k0slua-e2e/kubectl/events.log" && refused=yes
    [ "$got" = "$expected" ] && [ "$refused" = yes ] && break
    sleep 1
  done
  check "$scenario: load balancer: the controller on $c gave e2e-web the workers' addresses ($expected; got ${got:-none})" test "$got" = "$expected"
  check "$scenario: load balancer: e2e-ssh (port 22) refused with a ReservedPort event" \
    ssh_node "$state" "$user" "$c_ip" "grep -q '\"reason\": \"ReservedPort\"' /var/lib/k0slua-e2e/kubectl/events.log && ! grep -q e2e-ssh /var/lib/k0slua-e2e/kubectl/patches.log"
  setup=$(base64 -w0 <<SH
set -e
ip link add k0slua-e2e-pod type dummy && ip addr add 10.250.0.5/32 dev k0slua-e2e-pod && ip link set k0slua-e2e-pod up
mkdir -p /run/k0slua-e2e-web && echo k0slua-e2e-lb > /run/k0slua-e2e-web/index.html
systemd-run --quiet --unit k0slua-e2e-web python3 -m http.server --bind 10.250.0.5 --directory /run/k0slua-e2e-web 80
iface=\$(ip -o -4 route show 192.168.64.0/24 | awk '{print \$3; exit}')
ip addr add $vip/32 dev \$iface
nft -f - <<'NFT'
table ip k0slua_e2e_lb {
  chain prerouting { type nat hook prerouting priority -100; ip daddr { $w_ip, $vip } tcp dport 8080 dnat to 10.250.0.5:80; }
}
NFT
SH
)
  check "$scenario: load balancer: kube-proxy's DNAT for $w_ip:8080 (and a VIP $vip) and a listener on $w" \
    ssh_node "$state" "$user" "$w_ip" "echo $setup | base64 -d | sudo sh"
  sleep 1
  check "$scenario: load balancer: the host reaches e2e-web at $w_ip:8080 through softnet" "${NS[@]}" python3 -c \
    "import sys, urllib.request; sys.exit(0 if b'k0slua-e2e-lb' in urllib.request.urlopen('http://$w_ip:8080/', timeout=10).read() else 1)"
  local before after
  before=$("${NS[@]}" nft list counter bridge softnet dropped_arp | awk '/packets/ {print $2}')
  check "$scenario: load balancer: a MetalLB-style VIP $vip on $w does not answer the host (negative control)" "${NS[@]}" python3 -c \
    "import socket, sys; s = socket.socket(); s.settimeout(5); sys.exit(1 if s.connect_ex(('$vip', 8080)) == 0 else 0)"
  after=$("${NS[@]}" nft list counter bridge softnet dropped_arp | awk '/packets/ {print $2}')
  check "$scenario: load balancer: softnet dropped the VIP's ARP answers ($before -> $after)" test "${after:-0}" -gt "${before:-0}"
  ssh_node "$state" "$user" "$w_ip" "sudo nft delete table ip k0slua_e2e_lb; sudo systemctl stop k0slua-e2e-web; sudo ip link del k0slua-e2e-pod; \
    iface=\$(ip -o -4 route show 192.168.64.0/24 | awk '{print \$3; exit}'); sudo ip addr del $vip/32 dev \$iface" || true
  ssh_node "$state" "$user" "$c_ip" "sudo rm -rf /var/lib/k0slua-e2e/kubectl" || true
}

# `k0slua image load` (issue 20): a small OCI archive built here reaches the image list of every
# node that runs a kubelet (the k0s stand-in's `k0s ctr images`, Tests/StandIns/mirror/layout.py --k0s e2e) with its
# manifest digest; pure controllers get nothing.
image_load_checks() { # scenario state table
  local scenario=$1 state=$2 table=$3 work="$K0SLUA_E2E_WORK/$1" digest node ip user role listed
  digest=$(python3 - "$work/hello-oci.tar" <<'PY'
import hashlib, io, json, sys, tarfile
def add(t, name, data):
    info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
layer = b"hello from the e2e host\n"
config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + hashlib.sha256(layer).hexdigest(), "size": len(layer)}]}).encode()
digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": len(manifest),
                                            "annotations": {"io.containerd.image.name": "example.com/k0slua-e2e/hello:1"}}]}
with tarfile.open(sys.argv[1], "w") as t:
    add(t, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
    add(t, "index.json", json.dumps(index).encode())
    for data in (config, layer, manifest):
        add(t, "blobs/sha256/" + hashlib.sha256(data).hexdigest(), data)
print(digest)
PY
  )
  (cd "$work" && "${NS[@]}" "${current_env[@]}" "$k0slua" image load hello-oci.tar >"$work/image-load.txt" 2>&1; echo $? >"$work/image-load.code")
  sed 's/^/  image load: /' "$work/image-load.txt"
  check "$scenario: image load: exit 0" test "$(cat "$work/image-load.code")" = 0
  while read -r node ip _; do
    read -r user _ role < <(k0sctl_host "$state" "$ip")
    listed=$(ssh_node "$state" "$user" "$ip" "sudo k0s ctr -n k8s.io images ls" || true)
    if [ "$role" = controller ]; then
      check "$scenario: image load: $node (no kubelet) got nothing" test -z "$(grep 'k0slua-e2e/hello' <<<"$listed")"
    else
      check "$scenario: image load: $node lists example.com/k0slua-e2e/hello:1 with $digest" \
        grep -Eq "^example.com/k0slua-e2e/hello:1 +[^ ]+ +$digest " <<<"$listed"
      check "$scenario: image load: nothing left in $node's /tmp" \
        test -z "$(ssh_node "$state" "$user" "$ip" "ls /tmp/k0slua-image-*.tar 2>/dev/null" || true)"
    fi
  done <<<"$table"
}

no_match() { ! grep -rq "$@"; }

# `k0slua support` on the running cluster (issue 20): a bundle (0600) with every node's section,
# no key material and nothing of the cluster's private key.
support_checks() { # scenario state table
  local scenario=$1 state=$2 table=$3 out="$K0SLUA_E2E_WORK/$1/support" bundle root node file
  rm -rf "$out" && mkdir -p "$out/unpacked"
  (cd "$K0SLUA_E2E_WORK/$scenario" && "${NS[@]}" "${current_env[@]}" "$k0slua" support --out "$out" 2>&1) | sed 's/^/  support: /' || true
  bundle=$(find "$out" -maxdepth 1 -name 'k0slua-support-*.tar.gz' -print -quit)
  check "$scenario: support: a bundle was written, mode 0600" test -n "$bundle" -a "$(stat -c %a "${bundle:-/nonexistent}" 2>/dev/null)" = 600
  [ -n "$bundle" ] || return 0
  tar -xzf "$bundle" -C "$out/unpacked" || true
  root="$out/unpacked/$(basename "$bundle" .tar.gz)"
  while read -r node _; do
    for file in k0s-status.txt k0s-sysinfo.txt journal.txt ip-addr.txt ip-route.txt df.txt free.txt images.txt hosts.txt; do
      check "$scenario: support: $node/$file" test -f "$root/nodes/$node/$file"
    done
  done <<<"$table"
  check "$scenario: support: no node skipped" no_match -E "^  ($(awk '{print $1}' <<<"$table" | paste -sd'|')): skipped" "$root/SUMMARY.txt"
  check "$scenario: support: no key material (PEM, base64 PEM, OpenSSH key, join token)" \
    no_match -E -e '-----BEGIN [A-Z ]*PRIVATE KEY-----' -e 'LS0tLS1CRUdJT' -e 'b3BlbnNzaC1rZXktdjE' -e 'H4sI[A-Za-z0-9+/=]{16,}' "$root"
  check "$scenario: support: no line of the cluster's private key" \
    no_match -F -f <(grep -v -e '^-----' -e '^$' "$state/id_ed25519") "$root"
}

# The cluster as a living thing (issue 10), on the libvirt static layout: 1+1 as built, then 1+2,
# 1+1 again, worker-1 resized, stop, start; run_scenario then destroys it with another worker_count. Each step's time
# goes to the timings table.
scenario_lifecycle() { # scenario name state work code
  local scenario=$1 name=$2 state=$3 work=$4 code=$5 t0 table user before after requests
  scenario_pass "$scenario/1+1" "$name" "$state" "$work" "$code"
  [ "$code" = 0 ] || return 0
  table=$(node_table "$name" static "$work/cluster.lua")
  user=$(k0sctl_host "$state" 192.168.64.10 | awk '{print $1}')
  check "$scenario: a marker written to etcd" etcdctl_on "$state" "$user" "put k0slua-e2e/marker $cluster_id"
  check "$scenario: vagrant-libvirt made the cluster network's bridge without STP (no forward delay for a restored port)" \
    grep -q "stp='off'" <<<"$(virsh net-dumpxml k0slua-e2e-net)"
  snapshot_checks
  before=$(boot_ids "$state" "$table")

  step "lifecycle: worker_count=2 (1+1 -> 1+2, offline)"
  export worker_count=2
  lifecycle_plan grow
  check "$scenario: plan shows + worker-2 (joins)" grep -qx '+ worker-2 (joins)' "$work/plan-grow.txt"
  check "$scenario: plan shows the others unchanged" test "$(grep -cxE '= (control-plane-1|worker-1)' "$work/plan-grow.txt")" = 2
  requests=$(mirror_requests)
  lifecycle_up grow
  check "$scenario: up --offline made no request to the release mirror" test "$(mirror_requests)" = "$requests"
  check "$scenario: only worker-2's machine was brought up" grep -Eq '^\$ vagrant up .* worker-2$' "$state/logs/vagrant-up.log"
  check "$scenario: the connectivity check included worker-2 (192.168.64.21)" grep -q '192\.168\.64\.21' "$state/logs/connectivity.log"
  check "$scenario: k0sctl.yaml now has worker-2 and resets no one" \
    test "$(last_apply_hosts)" = "192.168.64.10 controller+worker False;192.168.64.20 worker False;192.168.64.21 worker False"
  scenario_pass "$scenario/1+2" "$name" "$state" "$work" "$code" "$work/up-grow.txt"
  check "$scenario: control-plane-1 and worker-1 kept running (same boot ids)" test "$(boot_ids "$state" "$table")" = "$before"
  check "$scenario: the record has worker-2, joined" test "$(recorded_nodes "$state")" = "control-plane-1 192.168.64.10 True;worker-1 192.168.64.20 True;worker-2 192.168.64.21 True"
  snapshot_1_2

  step "lifecycle: worker_count=1 (1+2 -> 1+1, offline)"
  export worker_count=1
  lifecycle_plan shrink
  check "$scenario: plan shows - worker-2 leaving" grep -q '^- worker-2 (leaves' "$work/plan-shrink.txt"
  lifecycle_up shrink
  check "$scenario: k0sctl apply ran with reset: true on worker-2 only" \
    test "$(last_apply_hosts)" = "192.168.64.10 controller+worker False;192.168.64.20 worker False;192.168.64.21 worker True"
  check "$scenario: k0sctl reset worker-2 (k0s reset on the node)" grep -q '192\.168\.64\.21: k0s reset' "$state/logs/k0sctl-apply.log"
  check "$scenario: worker-2's machine was destroyed by name" grep -Eq '^\$ vagrant destroy -f worker-2$' "$state/logs/leave.log"
  check "$scenario: no $cluster_id-worker-2 domain left" test -z "$(virsh list --all --name | grep -x "$cluster_id-worker-2" || true)"
  check "$scenario: no $cluster_id-worker-2 volume left" test -z "$(virsh vol-list default | awk '{print $1}' | grep "^$cluster_id-worker-2" || true)"
  check "$scenario: the record no longer has worker-2" test "$(recorded_nodes "$state")" = "control-plane-1 192.168.64.10 True;worker-1 192.168.64.20 True"
  check "$scenario: k0sctl.yaml and the Vagrantfile no longer name worker-2" test -z "$(grep -l -e 192.168.64.21 -e worker-2 "$state/k0sctl.yaml" "$state/Vagrantfile" || true)"
  scenario_pass "$scenario/1+1 again" "$name" "$state" "$work" "$code" "$work/up-shrink.txt"
  check "$scenario: control-plane-1 and worker-1 kept running through the shrink" test "$(boot_ids "$state" "$table")" = "$before"

  step "lifecycle: worker_memory=1280 (resize worker-1, offline)"
  export worker_memory=1280
  lifecycle_plan resize
  check "$scenario: plan shows ~ worker-1 memory: 1024 → 1280" grep -q '^~ worker-1 memory: 1024 → 1280' "$work/plan-resize.txt"
  lifecycle_up resize
  check "$scenario: worker-1 was halted, then brought up with its new size" \
    test "$(grep -E '^\$ vagrant (halt|up)' "$state/logs/resize-worker-1.log" | tr '\n' ';')" = '$ vagrant halt worker-1;$ vagrant up --provider libvirt --no-provision worker-1;'
  check "$scenario: libvirt gave the worker-1 domain 1280 MiB" grep -Eq '^Max memory: +1310720 KiB' <<<"$(virsh dominfo "$cluster_id-worker-1")"
  check "$scenario: the record has worker-1 at 1280 MiB" \
    test "$(python3 -c 'import json,sys; print([n["memory_mib"] for n in json.load(open(sys.argv[1]))["nodes"] if n["name"] == "worker-1"][0])' "$state/state.json")" = 1280
  after=$(boot_ids "$state" "$table")
  check "$scenario: worker-1 restarted, control-plane-1 did not" \
    test "$(comm -12 <(sort <<<"$before") <(sort <<<"$after") | awk '{print $1}')" = control-plane-1
  scenario_pass "$scenario/resized" "$name" "$state" "$work" "$code" "$work/up-resize.txt"
  before=$after

  step "lifecycle: stop"
  t0=$(date +%s)
  (cd "$work" && "${NS[@]}" "${current_env[@]}" "$k0slua" stop 2>&1) | timed | tee "$work/stop.txt"
  printf '%s\tstep:stop\t%s\t%s\n' "$scenario" "$(( $(date +%s) - t0 ))" "-" >>"$timings"
  check "$scenario: stop halted worker-1 before control-plane-1" \
    test "$(grep -E '^\$ vagrant halt' "$state/logs/vagrant-halt.log" | sed 's/.* //' | tr '\n' ' ')" = "worker-1 control-plane-1 "
  check "$scenario: every domain is shut off" test "$(virsh list --all --name | grep "^$cluster_id-" | xargs -r -n1 virsh domstate | sort -u | grep .)" = "shut off"
  local status
  status=$(cd "$work" && "${NS[@]}" "${current_env[@]}" "$k0slua" status --json 2>/dev/null || true)
  check "$scenario: status --json says stopped" test "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' <<<"$status" 2>/dev/null)" = stopped

  step "lifecycle: start"
  t0=$(date +%s)
  k0slua_up "$work" start start
  code=$(cat "$work/start.code")
  printf '%s\tstep:start\t%s\t%s\n' "$scenario" "$(( $(date +%s) - t0 ))" "exit $code" >>"$timings"
  check "$scenario: start brought control-plane-1 up before worker-1" \
    test "$(grep -E '^\$ vagrant up' "$state/logs/vagrant-up.log" | sed 's/.* //' | tr '\n' ' ')" = "control-plane-1 worker-1 "
  check "$scenario: start ran the connectivity check" grep -Eq 'connectivity: [0-9]+ pairs answer' "$work/start.txt"
  check "$scenario: the record keeps the same addresses" test "$(recorded_nodes "$state")" = "control-plane-1 192.168.64.10 True;worker-1 192.168.64.20 True"
  scenario_pass "$scenario/after start" "$name" "$state" "$work" "$code" "$work/start.txt"
  after=$(boot_ids "$state" "$table")
  check "$scenario: both machines really restarted (new boot ids)" test -z "$(comm -12 <(sort <<<"$before") <(sort <<<"$after"))"
  check "$scenario: the etcd marker survived stop/start" test "$(etcdctl_on "$state" "$user" "get --print-value-only k0slua-e2e/marker")" = "$cluster_id"
  status=$(cd "$work" && "${NS[@]}" "${current_env[@]}" "$k0slua" status --json 2>/dev/null || true)
  check "$scenario: status --json says running" test "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' <<<"$status" 2>/dev/null)" = running
  lifecycle_drills "$scenario" "$state" "$work"
  echo "  destroy follows with worker_count=3 (the record, not today's environment, says what to remove)"
}

# Snapshots (issue 21), on the lifecycle cluster as built (1+1): save base, change the cluster (a
# file on each node, an etcd key) and grow it by a worker, restore base: the file, the key and the
# worker are gone, etcd is healthy with one cluster id, the addresses are the recorded ones. The
# scenario goes on from 1+1 with worker_count unset, as before. Save, restore and the first up's
# times go to the timings table.
snapshot_checks() { # (scenario_lifecycle's scenario name state work code table user)
  local t0 nodes_before save_seconds restore_seconds node ip boots_saved
  nodes_before=$(recorded_nodes "$state")
  boots_saved=$(boot_ids "$state" "$table")
  step "lifecycle: snapshot save base"
  t0=$(date +%s)
  k0slua_up "$work" snapshot-save snapshot save base
  save_seconds=$(( $(date +%s) - t0 ))
  printf '%s\tstep:snapshot save (2 nodes)\t%s\t%s\n' "$scenario" "$save_seconds" "exit $(cat "$work/snapshot-save.code")" >>"$timings"
  check "$scenario: snapshot save succeeded" test "$(cat "$work/snapshot-save.code")" = 0
  snapshot_memory_checks save
  check "$scenario: the snapshot holds both domains and their disks" \
    test "$(ls "$state/snapshots/base/domains" | tr '\n' ' ')" = "control-plane-1.xml worker-1.xml "
  ls -ls "$state/snapshots/base/disks" | sed 's/^/  snapshot disk: /'
  check "$scenario: the cluster runs again after the save" test "$(recorded_nodes "$state")" = "$nodes_before"
  while read -r node ip _; do
    check "$scenario: $node: a file written after the snapshot" ssh_node "$state" "$user" "$ip" "echo after | sudo tee /var/tmp/k0slua-after-snapshot >/dev/null && sync"
  done <<<"$table"
  check "$scenario: an etcd key written after the snapshot" etcdctl_on "$state" "$user" "put k0slua-e2e/after-snapshot yes"
  step "lifecycle: worker_count=2 before the restore"
  export worker_count=2
  lifecycle_up snapshot-grow
  check "$scenario: the extra worker-2 runs" test -n "$(virsh list --name | grep -x "$cluster_id-worker-2" || true)"
  unset worker_count
  step "lifecycle: snapshot restore base"
  t0=$(date +%s)
  k0slua_up "$work" snapshot-restore snapshot restore base
  code=$(cat "$work/snapshot-restore.code")
  restore_seconds=$(( $(date +%s) - t0 ))
  printf '%s\tstep:snapshot restore (1+2 -> 1+1)\t%s\t%s\n' "$scenario" "$restore_seconds" "exit $code" >>"$timings"
  check "$scenario: snapshot restore succeeded" test "$code" = 0
  check "$scenario: the extra worker's domain is gone" test -z "$(virsh list --all --name | grep -x "$cluster_id-worker-2" || true)"
  check "$scenario: no $cluster_id-worker-2 volume left" test -z "$(virsh vol-list default | awk '{print $1}' | grep "^$cluster_id-worker-2" || true)"
  snapshot_memory_checks restore
  check "$scenario: restore ran the connectivity check" grep -Eq 'connectivity: [0-9]+ pairs answer' "$work/snapshot-restore.txt"
  check "$scenario: the record and addresses are those of the snapshot" test "$(recorded_nodes "$state")" = "$nodes_before"
  while read -r node ip _; do
    check "$scenario: $node: the file written after the snapshot is gone" ssh_node "$state" "$user" "$ip" "test ! -e /var/tmp/k0slua-after-snapshot"
  done <<<"$table"
  check "$scenario: the etcd key written after the snapshot is gone" test -z "$(etcdctl_on "$state" "$user" "get --print-value-only k0slua-e2e/after-snapshot")"
  check "$scenario: the etcd marker written before the snapshot is there" test "$(etcdctl_on "$state" "$user" "get --print-value-only k0slua-e2e/marker")" = "$cluster_id"
  check "$scenario: etcd reports every member healthy after the restore" \
    test "$(etcdctl_on "$state" "$user" "endpoint health --cluster" 2>&1 | grep -c ' is healthy')" = 1
  check "$scenario: etcd has one cluster id on every endpoint" \
    test "$(etcdctl_on "$state" "$user" "endpoint status --cluster -w json" | python3 -c 'import json,sys; print(len({e["Status"]["header"]["cluster_id"] for e in json.load(sys.stdin)}))')" = 1
  scenario_pass "$scenario/restored" "$name" "$state" "$work" "$code" "$work/snapshot-restore.txt"
  check "$scenario: snapshot list --json names base" \
    test "$(cd "$work" && "$k0slua" snapshot list --json | python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(sys.stdin)["snapshots"]))')" = base
  snapshot_bench 1+1 2 "$save_seconds" "$restore_seconds"
  (cd "$work" && "${NS[@]}" "${current_env[@]}" "$k0slua" snapshot delete base)
  check "$scenario: snapshot delete removed it" test ! -e "$state/snapshots/base"
}

# A snapshot's save and restore in the timings table (`bench:save per node (LABEL)`, `bench:restore
# LABEL vs up 1+1`) and one line, set against the scenario's first `up`, of 1+1.
snapshot_bench() { # label nodes save_seconds restore_seconds (scenario_lifecycle's variables)
  local up_seconds percent
  up_seconds=$(awk 'END {printf "%d", $1}' "$work/up.txt")
  percent=$(( 100 * $4 / (up_seconds > 0 ? up_seconds : 1) ))
  printf '%s\tbench:save per node (%s)\t%s\t%s\n' "$scenario" "$1" "$(( $3 / $2 ))" "target <= 10 s per node" >>"$timings"
  printf '%s\tbench:restore %s vs up 1+1\t%s\t%s\n' "$scenario" "$1" "$4" "up ${up_seconds}s, restore ${percent}% of it (target <= 15%)" >>"$timings"
  echo "  snapshot $1: save $3s ($(( $3 / $2 ))s per node), restore $4s = ${percent} % of the 1+1 up (${up_seconds}s)"
}

# Issue 21's benchmark shape: save and restore of the grown 1+2 cluster in place (three memory
# images), timed against the scenario's first `up`, of 1+1 — an `up` of 1+2 boots one machine more,
# so the ratio to it is lower still. No machine boots; every guest's clock is right afterwards.
snapshot_1_2() { # (scenario_lifecycle's variables)
  local t0 save_seconds restore_seconds code nodes grown boots
  nodes=$(recorded_nodes "$state")
  grown=$(node_table "$name" static "$work/cluster.lua")
  boots=$(boot_ids "$state" "$grown")
  step "lifecycle: snapshot save grown (1+2)"
  t0=$(date +%s)
  k0slua_up "$work" snapshot-save-grown snapshot save grown
  save_seconds=$(( $(date +%s) - t0 ))
  check "$scenario: snapshot save grown (1+2) succeeded" test "$(cat "$work/snapshot-save-grown.code")" = 0
  check "$scenario: the 1+2 snapshot holds three memory images" \
    test "$(ls "$state/snapshots/grown/memory" 2>/dev/null | tr '\n' ' ')" = "control-plane-1.save worker-1.save worker-2.save "
  step "lifecycle: snapshot restore grown (1+2, in place)"
  t0=$(date +%s)
  k0slua_up "$work" snapshot-restore-grown snapshot restore grown
  restore_seconds=$(( $(date +%s) - t0 ))
  code=$(cat "$work/snapshot-restore-grown.code")
  check "$scenario: snapshot restore grown (1+2) succeeded" test "$code" = 0
  check "$scenario: the 1+2 restore booted no machine (the boot ids of the save)" test "$(boot_ids "$state" "$grown")" = "$boots"
  check "$scenario: the record after the 1+2 restore is the snapshot's" test "$(recorded_nodes "$state")" = "$nodes"
  guest_clock_checks "1+2 restore" "$grown"
  snapshot_bench 1+2 3 "$save_seconds" "$restore_seconds"
  (cd "$work" && "${NS[@]}" "${current_env[@]}" "$k0slua" snapshot delete grown)
  check "$scenario: snapshot delete grown removed it" test ! -e "$state/snapshots/grown"
}

# A running libvirt cluster is saved and restored with its memory (docs/snapshots.md): the domains
# were paused workers first and resumed controllers first (snapshot.log), no machine booted (the boot
# ids are those of the save), and each guest's clock is the host's again.
snapshot_memory_checks() { # save|restore (snapshot_checks' variables)
  local what=$1
  if [ "$what" = save ]; then
    check "$scenario: save paused worker-1, then control-plane-1, before the first virsh save" \
      test "$(grep -E '^\$ virsh (suspend|save) ' "$state/logs/snapshot.log" | head -3 | sed -E 's/^\$ virsh ([a-z]+) .*(worker-1|control-plane-1).*/\1 \2/' | tr '\n' ';')" = "suspend worker-1;suspend control-plane-1;save control-plane-1;"
    check "$scenario: the snapshot holds both memory images" test "$(ls "$state/snapshots/base/memory" | tr '\n' ' ')" = "control-plane-1.save worker-1.save "
    ls -ls "$state/snapshots/base/memory" | sed 's/^/  snapshot memory: /'
  fi
  check "$scenario: $what resumed control-plane-1 before worker-1" \
    test "$(grep -E '^\$ virsh resume ' "$state/logs/snapshot.log" | sed -E 's/.*-(worker-[0-9]+|control-plane-[0-9]+)$/\1/' | tr '\n' ' ')" = "control-plane-1 worker-1 "
  check "$scenario: $what booted no machine (the boot ids of the save)" test "$(boot_ids "$state" "$table")" = "$boots_saved"
  check "$scenario: every domain runs after the $what" test "$(virsh list --all --name | grep "^$cluster_id-" | xargs -r -n1 virsh domstate | sort -u | grep .)" = running
  guest_clock_checks "$what" "$table"
}

# What k0slua logged of each guest's clock after a save or restore, then each guest's clock against
# the host's: within 1 s.
guest_clock_checks() { # what table (snapshot_checks' variables)
  local what=$1 node ip drift
  grep '^clock of' "$state/logs/snapshot.log" | sed "s/^/  $what: /" || true
  while read -r node ip _; do
    # The guest's reading against the host's once it is back: the return trip only (milliseconds).
    drift=$(awk -v g="$(ssh_node "$state" "$user" "$ip" 'date -u +%s.%N' || echo 0)" -v h="$(date -u +%s.%N)" 'BEGIN {printf "%.3f", g - h}')
    echo "  $what: $node's clock is ${drift} s off the host's"
    check "$scenario: $node's clock is within 1 s of the host's after the $what" awk -v d="$drift" 'BEGIN {exit !(d < 1 && d > -1)}'
  done <<<"$2"
}

# Fault drills (issue 22) on the lifecycle's running 1+1, no new VM: the shipped worker-stop drill,
# then e2e/drills/partition.lua, whose nftables drops are probed from the guests while it holds and
# must be gone afterwards. No k0s runs here: e2e/drill-bin/kubectl answers readiness from the
# machines (docs/e2e.md, "Drills"); the drills get a stub kubeconfig for the duration.
lifecycle_drills() { # scenario state work
  local scenario=$1 state=$2 work=$3 user cp wk drill_env pid stub=0 i
  read -r cp wk <<<"192.168.64.10 192.168.64.20"
  user=$(k0sctl_host "$state" "$cp" | awk '{print $1}')
  drill_env=("${current_env[@]}" PATH="$here/drill-bin:$here/bin:$PATH")
  [ -e "$state/kubeconfig" ] || { printf 'apiVersion: v1\nkind: Config\n' >"$state/kubeconfig"; stub=1; }

  step "lifecycle: drill worker-stop"
  (cd "$work" && if "${NS[@]}" "${drill_env[@]}" "$k0slua" drill "$root/drills/worker-stop.lua" --timeout 10m 2>&1; \
   then echo "exit 0"; else echo "exit $?"; fi) | timed | tee "$work/drill-worker-stop.txt"
  check "$scenario: drill worker-stop passed (exit 0)" grep -q 'exit 0$' "$work/drill-worker-stop.txt"
  check "$scenario: drill worker-stop halted worker-1 and waited for it to go NotReady" \
    grep -Eq 'wait worker-1 NotReady +met after' "$work/drill-worker-stop.txt"
  check "$scenario: drill worker-stop brought worker-1 back Ready" grep -Eq 'wait worker-1 Ready again +met after' "$work/drill-worker-stop.txt"
  check "$scenario: drill worker-stop: vagrant halt, then up --no-provision, of worker-1 only" \
    test "$(grep -cE '[0-9.]+s +:[0-9]+ +(stop|start) worker-1 +ok$' "$work/drill-worker-stop.txt")" = 2
  check "$scenario: drill worker-stop: the $cluster_id-worker-1 domain runs again" test "$(virsh domstate "$cluster_id-worker-1")" = running
  check "$scenario: drill worker-stop left no undo journal" test ! -e "$state/drill-undo.json"

  step "lifecycle: drill partition (control-plane-1 | worker-1)"
  (cd "$work" && if "${NS[@]}" "${drill_env[@]}" "$k0slua" drill "$here/drills/partition.lua" --timeout 5m >"$work/drill-partition.txt" 2>&1; \
   then echo "exit 0"; else echo "exit $?"; fi >>"$work/drill-partition.txt") &
  pid=$!
  for i in $(seq 1 60); do
    ssh_node "$state" "$user" "$wk" "sudo nft list table inet k0slua_drill_1" >/dev/null 2>&1 \
      && ssh_node "$state" "$user" "$cp" "sudo nft list table inet k0slua_drill_1" >/dev/null 2>&1 && break
    sleep 1
  done
  check "$scenario: partition: both guests have the table, dropping both directions" \
    test "$(ssh_node "$state" "$user" "$cp" "sudo nft list table inet k0slua_drill_1" | grep -cE "ip (saddr|daddr) $wk drop")" = 2
  check "$scenario: partition: control-plane-1 cannot ping worker-1" ssh_node "$state" "$user" "$cp" "! ping -c 2 -W 2 $wk >/dev/null"
  check "$scenario: partition: worker-1 cannot ping control-plane-1" ssh_node "$state" "$user" "$wk" "! ping -c 2 -W 2 $cp >/dev/null"
  check "$scenario: partition: worker-1 cannot open control-plane-1's etcd peer port" ssh_node "$state" "$user" "$wk" "! nc -z -w 3 $cp 2380"
  wait "$pid" || true
  sed 's/^/  drill: /' "$work/drill-partition.txt"
  check "$scenario: drill partition passed (exit 0)" grep -q '^exit 0$' "$work/drill-partition.txt"
  check "$scenario: partition: the drill saw the drops itself" test "$(grep -cE 'expect .* cannot ping .* +ok$' "$work/drill-partition.txt")" = 2
  check "$scenario: partition: the table is gone from control-plane-1" ssh_node "$state" "$user" "$cp" "! sudo nft list table inet k0slua_drill_1 >/dev/null 2>&1"
  check "$scenario: partition: the table is gone from worker-1" ssh_node "$state" "$user" "$wk" "! sudo nft list table inet k0slua_drill_1 >/dev/null 2>&1"
  check "$scenario: partition lifted: control-plane-1 pings worker-1" ssh_node "$state" "$user" "$cp" "ping -c 2 -W 2 $wk >/dev/null"
  check "$scenario: partition lifted: worker-1 reaches control-plane-1's etcd peer port" ssh_node "$state" "$user" "$wk" "nc -z -w 3 $cp 2380"
  check "$scenario: drill partition left no undo journal" test ! -e "$state/drill-undo.json"
  [ "$stub" = 0 ] || rm -f "$state/kubeconfig"
}

# Helpers of scenario_lifecycle (bash's dynamic scope: they see its scenario, work and code).
lifecycle_plan() { # step: `k0slua plan` into <work>/plan-<step>.txt, its first lines shown
  (cd "$work" && "$k0slua" plan >"$work/plan-$1.txt" 2>&1) || true
  sed -n '1,4s/^/  plan: /p' "$work/plan-$1.txt"
}

lifecycle_up() { # step: `k0slua up --offline` into <work>/up-<step>.txt; sets code, records its time and phases
  local t0
  t0=$(date +%s)
  k0slua_up "$work" "up-$1" up --offline
  code=$(cat "$work/up-$1.code")
  printf '%s\tstep:%s (up --offline)\t%s\t%s\n' "$scenario" "$1" "$(( $(date +%s) - t0 ))" "exit $code" >>"$timings"
  record_phases "$scenario/$1" "$work/up-$1.txt" "$code"
}

etcdctl_on() { # state user etcdctl-arguments (on control-plane-1)
  ssh_node "$1" "$2" 192.168.64.10 "sudo ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/var/lib/k0slua-etcd/pki/ca.crt --cert=/var/lib/k0slua-etcd/pki/client.crt --key=/var/lib/k0slua-etcd/pki/client.key $3"
}

boot_ids() { # state table: "node boot-id" per node
  while read -r node ip _; do
    echo "$node $(ssh_node "$1" "$(k0sctl_host "$1" "$ip" | awk '{print $1}')" "$ip" 'cat /proc/sys/kernel/random/boot_id' || echo unreachable)"
  done <<<"$2"
}

recorded_nodes() { # state: "name address joined;…" from state.json
  python3 -c 'import json,sys; print(";".join("%s %s %s" % (n["name"], n.get("address"), n.get("joined")) for n in json.load(open(sys.argv[1]))["nodes"]))' "$1/state.json"
}

last_apply_hosts() { # "address role reset;…" of the last k0sctl apply in the transcript
  python3 -c '
import json, sys
applies = [e for e in map(json.loads, open(sys.argv[1])) if e.get("argv", [""])[0] == "apply" and "hosts" in e]
print(";".join("%s %s %s" % (h["address"], h["role"], h["reset"]) for h in applies[-1]["hosts"]) if applies else "")' "$transcript"
}

scenario_connectivity-failure() { # scenario name state work code
  local scenario=$1 name=$2 state=$3 work=$4 code=$5
  check "$scenario: k0slua up exited 1" test "$code" = 1
  check "$scenario: up stopped at the connectivity phase" grep -Eq '==> \[[0-9]+/[0-9]+\] connectivity:' "$work/up.txt"
  check "$scenario: no phase after connectivity ran" test -z "$(grep -E '==> \[[0-9]+/[0-9]+\] (pre-join|prejoin|pre_join|k0sctl):' "$work/up.txt" || true)"
  check "$scenario: the failure names the node pairs that cannot talk" grep -q "cannot talk" "$work/up.txt"
  grep -iE "hint|isolat" "$work/up.txt" | sed 's/^/  /' || true
  check "$scenario: the connectivity log is kept" test -s "$state/logs/connectivity.log"
  local table a a_ip b b_ip user
  table=$(node_table "$name" dhcp "$work/cluster.lua")
  read -r a a_ip _ < <(sed -n 1p <<<"$table")
  read -r b b_ip _ < <(sed -n 2p <<<"$table")
  user=$(python3 -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["spec"]["hosts"][0]["ssh"]["user"])' "$state/k0sctl.yaml" 2>/dev/null || echo admin)
  check "$scenario: the isolation is the cause: $a reaches the host (192.168.64.1)" ssh_node "$state" "$user" "$a_ip" "ping -c 1 -W 3 192.168.64.1 >/dev/null"
  check "$scenario: the isolation is the cause: $a cannot reach $b ($b_ip)" ssh_node "$state" "$user" "$a_ip" "! ping -c 2 -W 3 $b_ip >/dev/null"
}

scenario_etcd-failure() { # scenario name state work code
  local scenario=$1 name=$2 state=$3 work=$4 code=$5
  check "$scenario: k0slua up exited 1" test "$code" = 1
  check "$scenario: up failed in the k0sctl phase" grep -Eq '==> \[[0-9]+/[0-9]+\] k0sctl:' "$work/up.txt"
  check "$scenario: connectivity passed before" grep -Eq 'connectivity done in' "$work/up.txt"
  check "$scenario: the etcd quorum check is what failed" grep -q "etcd did not become healthy" "$state/logs/k0sctl-apply.log"
  grep -E "etcd did not|^ - |rejected|bad certificate|timeout" "$state/logs/k0sctl-apply.log" | head -n 12 | sed 's/^/  /'
}

for scenario in $scenarios; do
  run_scenario "$scenario"
done

echo
echo "timings (seconds; box build/cache: ${box_seconds}s; whole run: $(( $(date +%s) - started ))s)"
column -t -s $'\t' "$timings" | sed 's/^/  /'
[ $failures -eq 0 ] || { echo "e2e: $failures check(s) failed" >&2; exit 1; }
step "all checks passed ($scenarios)"
