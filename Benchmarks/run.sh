#!/usr/bin/env bash
# Benchmarks for k0slua. Prints each figure measured in this run with its target and the ratio.
set -euo pipefail
k0slua=${1:?usage: run.sh PATH-TO-K0SLUA}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
runs=${BENCH_RUNS:-21}

# Median wall time in milliseconds of running "$@" $runs times.
median_ms() {
  local times=()
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>/tmp/k0slua-bench.err || { echo "benchmark command failed: $*" >&2; cat /tmp/k0slua-bench.err >&2; exit 1; }
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

report() { # name measured_ms target_ms
  awk -v n="$1" -v m="$2" -v t="$3" 'BEGIN {printf "%-44s %9.1f ms   target < %5d ms   ratio %.2f  %s\n", n, m, t, m/t, (m < t ? "ok" : "SLOW")}'
}

echo "k0slua benchmarks ($runs runs each, median wall time, $(nproc) cores)"
plan_default=$(cd "$root" && median_ms "$k0slua" plan)
report "plan, default cluster.lua (1+1)" "$plan_default" 50
plan_3_2=$(cd "$root" && control_plane_count=3 worker_count=2 median_ms "$k0slua" plan --json)
report "plan --json, 3+2" "$plan_3_2" 50
plan_1000=$(cd "$root" && median_ms "$k0slua" plan --file "$here/cluster-1000.lua" --lib "$root/lib")
report "plan, 1,000 nodes (evaluate+validate+plan)" "$plan_1000" 1000

if [ -x "$here/up-bench.sh" ]; then
  "$here/up-bench.sh" "$k0slua"
fi
