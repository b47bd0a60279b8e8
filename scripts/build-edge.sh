#!/usr/bin/env bash
# Builds the Cloudflare Worker (bindings-edge) into bindings-edge/build/ (index.js +
# index_bg.wasm) with worker-build, offline, and prints the bundle size. Needs what
# scripts/setup.sh installs: worker-build 0.8, wasm-bindgen-cli (the version in
# Cargo.lock), binaryen@132 (root package.json) and esbuild (bindings-edge/package.json).
#
#   scripts/build-edge.sh               # build
#   scripts/build-edge.sh --check-size  # build, then fail when gzipped > 1 MB
#
# worker-build would download wasm-bindgen and wasm-opt from GitHub; the *_BIN variables
# point it at the local ones. wasm-opt flags: bindings-edge/Cargo.toml metadata.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$root/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

log() { printf '\033[1;34m[build-edge]\033[0m %s\n' "$*" >&2; }

command -v worker-build >/dev/null || { echo "worker-build missing: run scripts/setup.sh" >&2; exit 1; }
command -v wasm-bindgen >/dev/null || { echo "wasm-bindgen missing: run scripts/setup.sh" >&2; exit 1; }
[ -x "$root/node_modules/.bin/wasm-opt" ] || { echo "binaryen@132 missing: run scripts/setup.sh" >&2; exit 1; }
[ -x "$root/bindings-edge/node_modules/.bin/esbuild" ] || { echo "esbuild missing: run scripts/setup.sh" >&2; exit 1; }

# Rust opt-level: the release profile's (3), sharing target/ with the other wasm builds.
# KILN_EDGE_OPT_LEVEL=s trades ~10% speed on large images for ~95 KB gzipped, should the
# budget ever get tight; it builds in its own target dir so it never invalidates theirs.
if [ -n "${KILN_EDGE_OPT_LEVEL:-}" ]; then
    export CARGO_PROFILE_RELEASE_OPT_LEVEL="$KILN_EDGE_OPT_LEVEL"
    export CARGO_TARGET_DIR="$root/target/edge-opt-$KILN_EDGE_OPT_LEVEL"
fi

WASM_BINDGEN_BIN=$(command -v wasm-bindgen)
export WASM_BINDGEN_BIN
export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$root/bindings-edge/node_modules/.bin/esbuild"

log "worker-build --release ($(worker-build --version))"
(cd bindings-edge && worker-build --release)

wasm=bindings-edge/build/index_bg.wasm
js=bindings-edge/build/index.js
# worker-build keeps the wasm name section (function names for stack traces, ~150 KB,
# ~40 KB gzipped); the budget is tight, so drop it (a trap still says which export).
node -e '
const fs = require("fs");
const file = process.argv[1];
const b = fs.readFileSync(file);
const keep = [b.subarray(0, 8)];
let i = 8;
const leb = () => { let r = 0, s = 0, x; do { x = b[i++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80); return r; };
while (i < b.length) {
  const start = i; i++;
  const len = leb(); const body = i;
  let name = "";
  if (b[start] === 0) { const n = leb(); name = b.subarray(i, i + n).toString(); }
  if (name !== "name") keep.push(b.subarray(start, body + len));
  i = body + len;
}
fs.writeFileSync(file, Buffer.concat(keep));
' "$wasm"
raw=$(($(stat -c %s "$wasm") + $(stat -c %s "$js")))
gz=$(($(gzip -9 -c "$wasm" | wc -c) + $(gzip -9 -c "$js" | wc -c)))
log "bundle: $raw bytes raw, $gz bytes gzipped (index_bg.wasm + index.js; budget 1000000 gzipped, Free plan 3 MB)"
if [ "${1:-}" = "--check-size" ] && [ "$gz" -gt 1000000 ]; then
    echo "bundle too large: $gz bytes gzipped > 1000000" >&2
    exit 1
fi
