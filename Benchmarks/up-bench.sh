#!/usr/bin/env bash
# `k0slua up` for 3+2 against stand-ins that each take a fixed time: parallel against a forced
# sequential run, and k0slua's own overhead (wall time not spent inside a child process). The
# download phase is skipped: Benchmarks/cache-cold-warm.sh measures it.
set -euo pipefail
k0slua=$(realpath "${1:?usage: up-bench.sh PATH-TO-K0SLUA}")
root=$(cd "$(dirname "$0")/.." && pwd)
machine_seconds=${BENCH_MACHINE_SECONDS:-2}
apply_seconds=${BENCH_APPLY_SECONDS:-2}

run_up() { # mode(parallel|sequential) → prints "wall_seconds overhead_seconds"
  local dir
  dir=$(mktemp -d)
  cp "$root/cluster.lua" "$dir/" && ln -s "$root/lib" "$dir/lib"
  local flags=()
  [ "$1" = sequential ] && flags=(--no-parallel)
  local start end
  start=$(date +%s.%N)
  (cd "$dir" && env -i PATH="$root/Tests/StandIns/bin:/usr/bin:/bin" HOME="$dir" PYTHONDONTWRITEBYTECODE=1 \
      K0SLUA_STANDIN_STATE="$dir/state" K0SLUA_STANDIN_LOG="$dir/log.jsonl" \
      K0SLUA_STANDIN_DELAY="vagrant:up=$machine_seconds,k0sctl:apply=$apply_seconds" \
      control_plane_count=3 worker_count=2 "$k0slua" up --quiet --skip download "${flags[@]}" >/dev/null) \
    || { echo "up failed in $dir" >&2; exit 1; }
  end=$(date +%s.%N)
  local wall overhead
  read -r wall overhead _ _ < <(python3 "$root/Benchmarks/intervals.py" "$dir/log.jsonl" "$start" "$end")
  echo "$wall $overhead"
  rm -rf "$dir"
}

read -r parallel parallel_overhead < <(run_up parallel)
read -r sequential _ < <(run_up sequential)
awk -v p="$parallel" -v s="$sequential" -v o="$parallel_overhead" -v m="$machine_seconds" -v a="$apply_seconds" 'BEGIN {
  printf "up 3+2, stand-ins: each machine %ss, k0sctl apply %ss\n", m, a
  printf "  parallel   %7.2f s   (slowest machine %s s + apply %s s = %.1f s of waiting)\n", p, m, a, m + a
  printf "  sequential %7.2f s   (5 machines one by one)\n", s
  printf "  parallel / sequential = %.2f\n", p / s
  printf "  k0slua overhead (wall time outside child processes): %.3f s = %.2f%% of the total (target < 2%%)  %s\n", o, 100 * o / p, (o / p < 0.02 ? "ok" : "HIGH")
}'
