#!/usr/bin/env bash
# The time `up` spends in its download phase on a cold and on a warm host cache, against the
# stand-ins and a release mirror on 127.0.0.1 serving release-shaped files of real-ish sizes
# (BINARY_MB, BUNDLE_MB). Prints the download phase's time for each run.
#   Benchmarks/cache-cold-warm.sh .build/debug/k0slua
set -euo pipefail
k0slua=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
binary_mb=${BINARY_MB:-120}
bundle_mb=${BUNDLE_MB:-250}
version=v1.34.2+k0s.0

work=$(mktemp -d /tmp/k0slua-cache-bench.XXXXXX)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/world"
python3 "$root/Tests/StandIns/mirror/layout.py" "$work/mirror" --version "$version" --arch amd64 --arch arm64 \
  --k0s "random:$binary_mb" --bundle "random:$bundle_mb"
python3 "$root/Tests/StandIns/mirror/serve.py" "$work/mirror" &
server=$!
for _ in $(seq 100); do [ -f "$work/mirror/.port" ] && break; sleep 0.1; done

cp "$root/cluster.lua" "$work/world/"
ln -s "$root/lib" "$work/world/lib"
run_up() {
  (cd "$work/world" && env -i PATH="$root/Tests/StandIns/bin:/usr/bin:/bin" HOME="$work/home" NO_COLOR=1 \
    PYTHONDONTWRITEBYTECODE=1 K0SLUA_STANDIN_STATE="$work/standin" K0SLUA_STANDIN_LOG="$work/transcript.jsonl" \
    XDG_CACHE_HOME="$work/cache" K0SLUA_MIRROR="http://127.0.0.1:$(cat "$work/mirror/.port")" \
    "$k0slua" up --skip health "$@" 2>/dev/null | awk '$1 == "download" {print $2}')
}
echo "k0s $version, binary ${binary_mb} MB + bundle ${bundle_mb} MB per architecture, mirror on 127.0.0.1, $(nproc) cores"
echo "cold cache:         download phase $(run_up)"
echo "warm cache:         download phase $(run_up)"
echo "warm, --offline:    download phase $(run_up --offline)"
