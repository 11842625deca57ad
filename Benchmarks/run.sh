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

ratio() { # name measured_ms reference_name reference_ms target_ratio
  awk -v n="$1" -v m="$2" -v rn="$3" -v r="$4" -v t="$5" 'BEGIN {printf "%-44s %9.1f ms = %6.3f x %s (%.1f ms)   target <= %s x  %s\n", n, m, m/r, rn, r, t, (m/r <= t ? "ok" : "SLOW")}'
}

echo "k0slua benchmarks ($runs runs each, median wall time, $(nproc) cores)"
version=$(median_ms "$k0slua" --version)
echo "k0slua --version                             $(printf '%9.1f' "$version") ms"
validate_dir=$(mktemp -d)
trap 'rm -rf "$validate_dir"' EXIT
(cd "$root" && "$k0slua" render --out "$validate_dir" >/dev/null 2>&1) || true
if [ -f "$validate_dir/Vagrantfile" ] && command -v vagrant >/dev/null; then
  # The reference: real Vagrant reading the rendered 1+1 Vagrantfile (what `up` starts with).
  validate=$(cd "$validate_dir" && VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1 runs=$(( runs < 5 ? runs : 5 )) median_ms vagrant validate)
  echo "vagrant validate of the 1+1 Vagrantfile      $(printf '%9.1f' "$validate") ms"
fi
plan_default=$(cd "$root" && median_ms "$k0slua" plan)
ratio "plan, default cluster.lua (1+1)" "$plan_default" "--version" "$version" 1.5
plan_3_2=$(cd "$root" && control_plane_count=3 worker_count=2 median_ms "$k0slua" plan --json)
report "plan --json, 3+2" "$plan_3_2" 50
plan_1000=$(cd "$root" && median_ms "$k0slua" plan --file "$here/cluster-1000.lua" --lib "$root/lib")
report "plan, 1,000 nodes (evaluate+validate+plan)" "$plan_1000" 60
if [ -n "${validate:-}" ]; then ratio "plan, 1,000 nodes" "$plan_1000" "vagrant validate" "$validate" 0.08; fi
plan_10000=$(cd "$root" && runs=$(( runs < 5 ? runs : 5 )) median_ms "$k0slua" plan --file "$here/cluster-10000.lua" --lib "$root/lib")
ratio "plan, 10,000 nodes" "$plan_10000" "1,000 nodes" "$plan_1000" 10

if [ -x "$here/up-bench.sh" ]; then
  "$here/up-bench.sh" "$k0slua"
fi
if [ -x "$here/fleet-bench.sh" ]; then
  "$here/fleet-bench.sh" "$k0slua"
fi
