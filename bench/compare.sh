#!/usr/bin/env bash
# kiln against its peers in one run: kiln native, kiln in wasmtime, kiln's npm package in
# Node and in headless Chromium, and sharp, wasm-vips, photon-node, jimp, node:zlib,
# fflate, pako, papaparse, d3-dsv (same Node) and CompressionStream (Chromium), on
# tasks (a)-(h). Writes bench/RESULTS.md and bench/results.svg (see bench/compare.mjs).
# Then the streaming section of bench/RESULTS.md (bench/stream.mjs): gunzip and
# CSV -> NDJSON of 256 MiB inputs read from disk, kiln's stream()/KilnStream/nodeStream()
# against fflate's, pako's and papaparse's streaming APIs, DecompressionStream and
# node:zlib, each run a fresh Node process, throughput and peak memory.
# Not a test: about 5 minutes here for the tasks, most of it in the slow peers, and about
# 4 more for the streaming section.
#
#   bench/compare.sh [--runs N] [--only a,b,...]   # both; --runs applies to both, --only to the tasks
#   bench/compare.sh --no-stream [...]             # the tasks only
#   bench/compare.sh --stream-only [--runs N] [--mib M] [--quick]
#                      # the streaming section only; --quick: 8 MiB, 1 run, printed only
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=1
streaming=1
task_args=()
stream_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --no-stream) streaming=0; shift ;;
        --stream-only) tasks=0; shift ;;
        --quick) stream_args+=("$1"); shift ;;
        --mib) stream_args+=("$1" "$2"); shift 2 ;;
        --runs) task_args+=("$1" "$2"); stream_args+=("$1" "$2"); shift 2 ;;
        *) task_args+=("$1"); shift ;;
    esac
done
./scripts/setup.sh
./scripts/build-web.sh --package
# The peers, pinned by bench/peers/package-lock.json (not in the root package: tests
# do not need them, and sharp + wasm-vips are 70 MB).
(cd bench/peers && npm ci --no-audit --no-fund --loglevel=error)
if [ "$tasks" = 1 ]; then
    cargo build --locked --release -q -p kiln-native --example bench_worker
    node --expose-gc bench/compare.mjs "${task_args[@]+"${task_args[@]}"}"
fi
# After compare.mjs, which writes RESULTS.md whole: this adds (or replaces) its section.
if [ "$streaming" = 1 ]; then
    node bench/stream.mjs "${stream_args[@]+"${stream_args[@]}"}"
fi
