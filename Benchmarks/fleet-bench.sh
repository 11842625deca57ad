#!/usr/bin/env bash
# `k0slua up` and `k0slua health` of a 200-node `hosts` cluster against stand-ins where every ssh
# connection takes a fixed time: wall time against the ideal for the --parallel bound, and
# k0slua's own overhead (wall time while no child process runs). The download phase is skipped;
# every node has a pre_join and a post_join hook that runs one command (hooks fan out too).
set -euo pipefail
k0slua=$(realpath "${1:?usage: fleet-bench.sh PATH-TO-K0SLUA}")
root=$(cd "$(dirname "$0")/.." && pwd)
nodes=${BENCH_FLEET_NODES:-200}
ssh_seconds=${BENCH_SSH_SECONDS:-0.3}
bound=${BENCH_PARALLEL:-16}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ln -s "$root/lib" "$dir/lib"
printf 'not a real key\n' >"$dir/id_bench"
cat >"$dir/cluster.lua" <<LUA
local nodes = require "k0slua.nodes"
local function hook(node, ctx) ctx.run("echo " .. ctx.phase .. " " .. node.name) end
return {
  name = "fleet", provider = "hosts", network = { cidr = "10.30.0.0/16" },
  ssh = { user = "ops", key_path = "id_bench" },
  nodes = nodes.concat(
    nodes.class { prefix = "control-plane", role = "controller", count = 3, first_ip = "10.30.0.10", cpus = 2, memory = 2048, disk = 20,
                  hooks = { pre_join = hook, post_join = hook } },
    nodes.class { prefix = "worker", role = "worker", count = $((nodes - 3)), first_ip = "10.30.1.10", cpus = 2, memory = 2048, disk = 20,
                  hooks = { pre_join = hook, post_join = hook } }),
}
LUA

run() { # name, k0slua arguments… → one report line
  local name=$1 start end
  shift
  rm -f "$dir/log.jsonl"
  start=$(date +%s.%N)
  (cd "$dir" && env -i PATH="$root/Tests/StandIns/bin:/usr/bin:/bin" HOME="$dir" PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1 \
      K0SLUA_STANDIN_STATE="$dir/state" K0SLUA_STANDIN_LOG="$dir/log.jsonl" K0SLUA_STANDIN_HOSTS=1 \
      K0SLUA_STANDIN_DELAY="ssh:call=$ssh_seconds" "$k0slua" "$@" >"$dir/out.txt" 2>&1) \
    || { echo "$name failed:" >&2; cat "$dir/out.txt" >&2; exit 1; }
  end=$(date +%s.%N)
  local measured
  measured=$(python3 "$root/Benchmarks/intervals.py" "$dir/log.jsonl" "$start" "$end" --tool ssh)
  python3 - "$measured" "$name" "$nodes" "$ssh_seconds" "$bound" <<'PY'
import math, sys
wall, overhead, ssh_calls, ssh_busy = (float(x) for x in sys.argv[1].split())
name, nodes, ssh_seconds, bound = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
fanouts = ssh_calls / nodes
ideal = fanouts * math.ceil(nodes / bound) * ssh_seconds
ideal_measured = ssh_busy / bound
print(f"  {name:<8} {wall:7.2f} s wall, {ssh_calls:.0f} ssh calls ({fanouts:.0f} fan-outs over {nodes} nodes)")
print(f"           ideal for --parallel {bound}: {ideal:.2f} s at {ssh_seconds} s a call, {ideal_measured:.2f} s for the calls' measured time"
      f" (with the stand-in's own start-up); wall / ideal = {wall / ideal_measured:.2f}")
print(f"           k0slua overhead (no child process running): {overhead:.3f} s = {100 * overhead / wall:.2f}% (target < 1%)  "
      + ("ok" if overhead / wall < 0.01 else "HIGH"))
PY
}

echo "fleet: $nodes hosts, every ssh call ${ssh_seconds}s, --parallel $bound (stand-ins)"
run up up --quiet --skip download --parallel "$bound" --health-wait 0
# Every node's hooks ran, each once (a release build once dropped most of them: HookStage.swift).
python3 - "$dir/log.jsonl" "$nodes" <<'PY'
import collections, json, sys
runs = collections.Counter()
for line in open(sys.argv[1]):
    entry = json.loads(line)
    command = (entry.get("argv") or [""])[-1]
    if entry.get("tool") == "ssh" and "end" not in entry and "signal" not in entry and command.startswith("echo "):
        runs[command.split()[1]] += 1
nodes = int(sys.argv[2])
if runs != {"pre_join": nodes, "post_join": nodes}:
    sys.exit(f"fleet: expected {nodes} pre_join and {nodes} post_join hooks, the stand-ins saw {dict(runs)}")
print(f"  hooks    {nodes} pre_join and {nodes} post_join hooks ran, each once")
PY
run health health --parallel "$bound"
