#!/usr/bin/env bash
# kiln against its peers in one run: kiln native, kiln in wasmtime, kiln's npm package in
# Node and in headless Chromium, and sharp, wasm-vips, photon-node, jimp, node:zlib,
# fflate, pako, papaparse, d3-dsv (same Node) and CompressionStream (Chromium), on
# tasks (a)-(h). Writes bench/RESULTS.md and bench/results.svg (see bench/compare.mjs).
# Not a test: about 5 minutes here, most of it in the slow peers.
#
#   bench/compare.sh [--runs N] [--only a,b,...]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build-web.sh --package
# The peers, pinned by bench/peers/package-lock.json (not in the root package: tests
# do not need them, and sharp + wasm-vips are 70 MB).
(cd bench/peers && npm ci --no-audit --no-fund --loglevel=error)
cargo build --locked --release -q -p kiln-native --example bench_worker
node --expose-gc bench/compare.mjs "$@"
