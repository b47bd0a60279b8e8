#!/usr/bin/env bash
# Builds the npm package @kiln/kernel into bindings-web/npm/dist and the demo page into
# www/dist (served by `kiln serve`). Needs what scripts/setup.sh installs: wasm-pack,
# wasm-bindgen-cli (the version in Cargo.lock) and binaryen@132 from npm.
#
#   scripts/build-web.sh            # package + demo page
#   scripts/build-web.sh --package  # package only
#
# 1. wasm-pack build --target web: the kernel for wasm32-unknown-unknown with simd128
#    (.cargo/config.toml), release profile — the same target, flags and profile as the
#    wasmtime guest, so every JS runtime gives the native kernel's bytes. `web` is the
#    most portable glue: its init takes a URL, a Response, bytes or a Module, so one
#    build serves browsers, Node, Deno and workerd. wasm-pack's own wasm-opt step is off
#    (Cargo.toml metadata): it would download binaryen from GitHub.
# 2. wasm-opt -O3 from binaryen@132 (npm), never Debian's binaryen 108 (its output
#    crashes at load). -O3, not -Oz: the package exists to be fast, and -O3 stays well
#    inside the size budget. Feature flags are exactly what rustc emits for this target.
# 3. The package: the glue (kiln.js), our entry points (index.js, node.js, workerd.js over
#    one core.js; stream.js, node-stream.js), types, the worker helper, package.json
#    and README.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$root/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

log() { printf '\033[1;34m[build-web]\033[0m %s\n' "$*" >&2; }

command -v wasm-pack >/dev/null || { echo "wasm-pack missing: run scripts/setup.sh" >&2; exit 1; }
command -v wasm-opt >/dev/null || { echo "wasm-opt (binaryen@132) missing: run scripts/setup.sh" >&2; exit 1; }

raw="$root/target/wasm-pack/kiln-web"
dist="$root/bindings-web/npm/dist"

log "wasm-pack build (release, target web)"
wasm-pack --quiet build bindings-web --release --target web --no-pack --no-typescript \
    --out-dir "$raw" --out-name kiln

rm -rf "$dist"
mkdir -p "$dist"
log "wasm-opt -O3 (binaryen $(wasm-opt --version | awk '{print $3}'))"
wasm-opt -O3 \
    --enable-simd --enable-bulk-memory --enable-bulk-memory-opt --enable-sign-ext \
    --enable-mutable-globals --enable-nontrapping-float-to-int --enable-reference-types \
    --enable-multivalue --strip-debug --strip-producers \
    "$raw/kiln_bg.wasm" -o "$dist/kiln_bg.wasm"

cp "$raw/kiln.js" "$dist/kiln.js"
cp bindings-web/npm/src/*.js bindings-web/npm/src/*.d.ts "$dist/"
cp bindings-web/npm/package.json bindings-web/npm/README.md "$dist/"
# The op and parameter types, from the built kernel's own describe().
node bindings-web/npm/gen-types.mjs "$dist"

size=$(stat -c %s "$dist/kiln_bg.wasm")
gz=$(gzip -9 -c "$dist/kiln_bg.wasm" | wc -c)
log "package: bindings-web/npm/dist  (kiln_bg.wasm $((size / 1024)) KiB raw, $((gz / 1024)) KiB gzipped)"

[ "${1:-}" = "--package" ] && exit 0

# The demo page: its sources plus the package's runtime files under www/dist/kiln/,
# so the page needs no CDN and `kiln serve` (default --www www/dist) serves all of it.
log "demo page: www/dist"
rm -rf www/dist
mkdir -p www/dist/kiln
cp -r www/src/. www/dist/
for f in index.js core.js builder.js stream.js kiln.js kiln_bg.wasm worker.js worker-entry.js; do
    cp "$dist/$f" www/dist/kiln/
done
log "done: ./target/release/kiln serve  (or scripts/demo.sh) serves it on http://127.0.0.1:8080"
