#!/usr/bin/env bash
# The web benchmark (not a test): the kernel benchmark tasks through the npm package in
# Node vs the native kernel, the .wasm size, and page load to first result in Chromium.
# Needs the package and page built (scripts/build-web.sh) and a kiln binary.
#   bench/web/run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
runs=${1:-7}
out=bench/web/out
mkdir -p "$out"
cargo run --locked --release -q -p kiln-web --example bench_native -- "$out" "$runs" > "$out/native.jsonl"
cargo run --locked --release -q -p kiln-web --example bench_native --features rayon -- "$out" "$runs" > "$out/native-rayon.jsonl"
node bench/web/bench.mjs "$out"
[ -x target/release/kiln ] || cargo build --locked --release -q -p kiln-native
node bench/web/page.mjs 5
