#!/usr/bin/env bash
# kiln-native's numbers, in one run: per-job sandbox overhead, HTTP throughput at 64
# connections, start-up to first answer with cached code, RSS idle and under load, and
# a batch of 200 JPEGs -> 800 px thumbnails with --engine native vs --engine wasm.
# Medians over repeated runs; contenders alternate. Only 127.0.0.1 is used.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if ! command -v wrk >/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk
fi
cargo build --locked --release -q -p kiln-native
export KILN=$PWD/target/release/kiln
out=$PWD/target/bench-native
mkdir -p "$out"

echo "== per-job overhead of a fresh instance"
cargo bench --locked -q -p kiln-native --bench sandbox

echo "== start-up, throughput, RSS"
python3 bench/native_server.py "$out"

echo "== batch: 200 JPEGs -> 800 px thumbnails"
if [ ! -f "$out/jpegs/199.jpg" ]; then
    mkdir -p "$out/jpegs"
    for i in $(seq 0 199); do
        "$KILN" run "resize width=$((1600 + i * 4)) | encode format=jpeg quality=88" tests/data/photo.jpg "$out/jpegs/$i.jpg" 2>/dev/null
    done
fi
du -sh "$out/jpegs" | sed 's/^/input: /'
for engine in native wasm native wasm native wasm; do
    rm -rf "$out/thumbs-$engine"
    start=$(date +%s.%N)
    "$KILN" batch "resize width=800 | encode format=jpeg quality=80" "$out/jpegs" --out "$out/thumbs-$engine" --engine "$engine" 2>&1 | tail -1
    end=$(date +%s.%N)
    echo "$engine $(echo "$end - $start" | bc)" >> "$out/batch-times.txt"
done
python3 - "$out/batch-times.txt" <<'PY'
import statistics, sys, collections
t = collections.defaultdict(list)
for line in open(sys.argv[1]).read().split("\n")[-7:]:
    if line.strip():
        e, s = line.split(); t[e].append(float(s))
n, w = statistics.median(t["native"]), statistics.median(t["wasm"])
print(f"batch median: native {n:.2f} s, wasm {w:.2f} s, wasm/native {w / n:.2f}x")
PY
