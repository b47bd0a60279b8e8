#!/usr/bin/env bash
# Builds kiln-http, HTTP API v1 as a wasi:http 0.2 component (bindings-wasi/, crate
# kiln-wasi-http), into target/components/kiln-http.wasm: a release build for
# wasm32-unknown-unknown (the kernel linked in, +simd128 from .cargo/config.toml, as the
# kernel guest), made a component by bindings-wasi/componentize.mjs (`wasm-tools component
# new`, jco's build). It imports only wasi:io and wasi:http/types of the wasi:http/proxy
# world, WASI 0.2.12 (the wasip2 crate's WIT), and exports wasi:http/incoming-handler.
# Needs scripts/setup.sh (examples/js's npm ci).
#
#   scripts/build-wasi-http.sh
#   wasmtime serve --addr 127.0.0.1:8080 target/components/kiln-http.wasm
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1;34m[build-wasi-http]\033[0m %s\n' "$*" >&2; }

log "cargo build --release --target wasm32-unknown-unknown -p kiln-wasi-http"
cargo build --locked --release --target wasm32-unknown-unknown -p kiln-wasi-http
out=target/components
mkdir -p "$out"
node bindings-wasi/componentize.mjs \
    "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/kiln_wasi_http.wasm" "$out/kiln-http.wasm"
size=$(stat -c %s "$out/kiln-http.wasm")
gz=$(gzip -9 -c "$out/kiln-http.wasm" | wc -c)
log "$out/kiln-http.wasm ($((size / 1024)) KiB, $((gz / 1024)) KiB gzipped)"
