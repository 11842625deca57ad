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

# Runs the shell functions $1 and $2 alternately $runs times and prints "medianA medianB
# medianRatio" (ms, ms, the median of the pairs' A/B): pairing keeps the ratio true while the
# machine's speed drifts, which on a shared VM moves single runs by a third.
paired_ms() {
  local as=() bs=() rs=() start mid end
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$1" >/dev/null 2>/tmp/k0slua-bench.err || { echo "benchmark command failed: $1" >&2; cat /tmp/k0slua-bench.err >&2; exit 1; }
    mid=$(date +%s%N)
    "$2" >/dev/null 2>/tmp/k0slua-bench.err || { echo "benchmark command failed: $2" >&2; cat /tmp/k0slua-bench.err >&2; exit 1; }
    end=$(date +%s%N)
    as+=($(( (mid - start) / 1000 ))); bs+=($(( (end - mid) / 1000 )))
    rs+=($(awk -v a=$(( mid - start )) -v b=$(( end - mid )) 'BEGIN {printf "%.4f", a/b}'))
  done
  local median='{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
  printf '%s %s %s\n' "$(printf '%s\n' "${as[@]}" | sort -n | awk "$median")" "$(printf '%s\n' "${bs[@]}" | sort -n | awk "$median")" \
    "$(printf '%s\n' "${rs[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
}

report() { # name measured_ms target_ms
  awk -v n="$1" -v m="$2" -v t="$3" 'BEGIN {printf "%-44s %9.1f ms   target < %5d ms   ratio %.2f  %s\n", n, m, t, m/t, (m < t ? "ok" : "SLOW")}'
}

ratio() { # name measured_ms reference_name reference_ms target_ratio
  awk -v n="$1" -v m="$2" -v rn="$3" -v r="$4" -v t="$5" 'BEGIN {printf "%-44s %9.1f ms = %6.3f x %s (%.1f ms)   target <= %s x  %s\n", n, m, m/r, rn, r, t, (m/r <= t ? "ok" : "SLOW")}'
}

echo "k0slua benchmarks ($runs runs each, median wall time, $(nproc) cores)"
version_only() { "$k0slua" --version; }
plan_of_default() { "$k0slua" plan; }
cd "$root"
read -r plan_default version plan_ratio < <(paired_ms plan_of_default version_only)
echo "k0slua --version                             $(printf '%9.1f' "$version") ms"
validate_dir=$(mktemp -d)
trap 'rm -rf "$validate_dir"' EXIT
(cd "$root" && "$k0slua" render --out "$validate_dir" >/dev/null 2>&1) || true
if [ -f "$validate_dir/Vagrantfile" ] && command -v vagrant >/dev/null; then
  # The reference: real Vagrant reading the rendered 1+1 Vagrantfile (what `up` starts with).
  validate=$(cd "$validate_dir" && VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1 runs=$(( runs < 5 ? runs : 5 )) median_ms vagrant validate)
  echo "vagrant validate of the 1+1 Vagrantfile      $(printf '%9.1f' "$validate") ms"
fi
awk -v m="$plan_default" -v r="$version" -v q="$plan_ratio" -v n="$runs" 'BEGIN {printf "%-44s %9.1f ms = %6.3f x --version (%.1f ms; median of %s paired runs)   target <= 1.5 x  %s\n", "plan, default cluster.lua (1+1)", m, q, r, n, (q <= 1.5 ? "ok" : "SLOW")}'
plan_3_2=$(cd "$root" && control_plane_count=3 worker_count=2 median_ms "$k0slua" plan --json)
report "plan --json, 3+2" "$plan_3_2" 50
plan_1000=$(cd "$root" && median_ms "$k0slua" plan --file "$here/cluster-1000.lua" --lib "$root/lib")
report "plan, 1,000 nodes (evaluate+validate+plan)" "$plan_1000" 60
if [ -n "${validate:-}" ]; then ratio "plan, 1,000 nodes" "$plan_1000" "vagrant validate" "$validate" 0.08; fi
plan_10000=$(cd "$root" && runs=$(( runs < 5 ? runs : 5 )) median_ms "$k0slua" plan --file "$here/cluster-10000.lua" --lib "$root/lib")
ratio "plan, 10,000 nodes" "$plan_10000" "1,000 nodes" "$plan_1000" 10

# Runaway patterns under --max-seconds 1: how far past the limit the plan ends, as (wall time −
# the same plan without the pattern) / limit, the worst of 3 runs; "finished" means the matcher
# completed before the limit.
pattern_plan() { # lua-line → "MS OUTCOME": wall ms of `plan --max-seconds 1` on a cluster.lua running it
  local file=/tmp/k0slua-bench-pattern.lua start end status=0 outcome
  printf '%s\n%s\n%s\n' "local s = ('a'):rep(4000) local b = ('b'):rep(5e6)" "$1" \
    'return { provider = "libvirt", nodes = { { name = "c1", role = "controller", ip = "192.168.64.10", cpus = 2, memory = 2048, disk = 32, workloads = true } } }' >"$file"
  start=$(date +%s%N)
  "$k0slua" plan --quiet --file "$file" --max-seconds 1 >/dev/null 2>/tmp/k0slua-bench.err || status=$?
  end=$(date +%s%N)
  rm -f "$file"
  if [ "$status" -eq 0 ]; then outcome=finished
  elif grep -q "time limit of 1 s exceeded" /tmp/k0slua-bench.err; then outcome="stopped at the limit"
  # The matcher charges its work to the instruction budget too, which can run out first.
  elif grep -q "instruction budget of [0-9]* exhausted" /tmp/k0slua-bench.err; then outcome="stopped at the instruction budget"
  else echo "benchmark pattern failed: $1" >&2; cat /tmp/k0slua-bench.err >&2; exit 1
  fi
  echo "$(( (end - start) / 1000000 )) $outcome"
}
pattern_baseline=$(for _ in 1 2 3; do pattern_plan "local r = nil"; done | sort -n | head -n 1 | cut -d' ' -f1)
pattern_overrun() { # name lua-line
  local worst=0 ms outcome result
  for _ in 1 2 3; do
    result=$(pattern_plan "$2")
    ms=${result%% *}
    outcome=${result#* }
    worst=$(( ms > worst ? ms : worst ))
  done
  awk -v n="$1" -v m="$((worst - pattern_baseline))" -v o="$outcome" 'BEGIN {printf "%-44s %9.1f ms   limit   1000 ms   overrun ratio %.2f  %s (%s)\n", n, m, m/1000, (m <= 1100 ? "ok" : "OVER"), o}'
}
pattern_overrun "pattern: match [b×5e6 a]* on a×4000" "local r = s:match('[' .. b .. 'a]*')"
pattern_overrun "pattern: find %f[b×5e6 a]x" "local r = s:find('%f[' .. b .. 'a]x')"
pattern_overrun "pattern: gsub [b×5e6 a]" "local r = s:gsub('[' .. b .. 'a]', 'x')"
pattern_overrun "pattern: find, 100 different 50 kB sets" \
  "local sets = {} for i = 1, 100 do sets[i] = '[' .. ('b'):rep(50000 + i) .. 'a]' end local r = s:find(table.concat(sets) .. 'x')"
pattern_overrun "pattern: backtracking (a?)^40 a^40" "local r = ('a'):rep(40):match(('a?'):rep(40) .. ('a'):rep(40))"

if [ -x "$here/up-bench.sh" ]; then
  "$here/up-bench.sh" "$k0slua"
fi
if [ -x "$here/fleet-bench.sh" ]; then
  "$here/fleet-bench.sh" "$k0slua"
fi
if [ -x "$here/snapshot-disk-bench.sh" ]; then
  "$here/snapshot-disk-bench.sh"
fi
