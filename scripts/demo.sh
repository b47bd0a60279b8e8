#!/usr/bin/env bash
# Sets everything up and runs kiln's main job on embedded defaults: `kiln serve`, the
# HTTP API v1 with the kernel in a wasmtime sandbox, on http://127.0.0.1:8080 (and the
# demo page at /, built from www/ first). Extra arguments go to `kiln serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build-web.sh   # the npm package and the demo page (www/dist, served at /)
cargo build --locked --release -p kiln-native
exec ./target/release/kiln serve "$@"
