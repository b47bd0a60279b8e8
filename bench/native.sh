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
cargo bench --locked -q -p kiln-sandbox --bench sandbox

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
python3 - "$out" <<'PY'
import os, shutil, statistics, subprocess, sys, time
out, kiln = sys.argv[1], os.environ["KILN"]
times = {"native": [], "wasm": []}
for engine in ["native", "wasm"] * 3:  # alternate, so load drift hits both
    dest = os.path.join(out, f"thumbs-{engine}")
    shutil.rmtree(dest, ignore_errors=True)
    t = time.perf_counter()
    r = subprocess.run([kiln, "batch", "resize width=800 | encode format=jpeg quality=80", os.path.join(out, "jpegs"),
                        "--out", dest, "--engine", engine], capture_output=True, text=True)
    times[engine].append(time.perf_counter() - t)
    assert r.returncode == 0, r.stderr
n, w = statistics.median(times["native"]), statistics.median(times["wasm"])
print(f"batch of 200 JPEGs -> 800 px: median native {n:.2f} s, wasm {w:.2f} s (wasm/native {w / n:.2f}x)")
PY
