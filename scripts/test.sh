#!/usr/bin/env bash
# Sets everything up and runs every test: formatting, clippy, every crate's tests, the
# kernel's tests again without threads, and the conformance matrix on every target
# this repo has (native, the wasm kernel in wasmtime, which is built without threads:
# equal bytes there prove threads never change output, and the npm package in Node and
# headless Chromium). The web part: the npm package build, wasm-bindgen-test in Node and
# Chromium, the package's own tests (Node, types, npm pack + install into a fresh
# project) and the demo page's end-to-end test in Chromium.
# Supply chain: cargo deny's offline checks and npm audit of the npm package. A fuzz
# smoke: every cargo-fuzz target for a few seconds.
# The Worker: worker-build (bundle size checked), its tests in workerd (every route and
# error identical to kiln serve, the image proxy) and a workerd column in the matrix.
# The kernel component elsewhere: jco (Node) against the npm package, wasmtime-py (a column
# of the matrix too); kiln-http, the wasi:http component, under `wasmtime serve` (its API
# identical to kiln serve, and a wasi-http column of the matrix).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$PWD/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

step() { printf '\n\033[1;32m== %s\033[0m\n' "$*" >&2; }
# A full run builds ~4 GB in target/ (and ~1 GB in fuzz/target/); a disk that fills up shows as a linker crash
# (SIGBUS), so say up front and at the end what there was.
disk() { printf 'disk: %s free here, target/ %s\n' "$(df -h --output=avail . | tail -1 | tr -d ' ')" "$( (du -sh target 2>/dev/null || echo none) | cut -f1)" >&2; }
# CI builds once from clean: the incremental cache would only take disk.
[[ "${CI:-}" == true ]] && export CARGO_INCREMENTAL=0
disk

step "rustfmt --check"
cargo fmt --all -- --check

step "the house: no import circle in the kernel, one MSRV (DESIGN.md, The house)"
python3 scripts/check-imports.py kernel/src
python3 scripts/check-msrv.py

step "the table cases' expected text against an independent Python reference"
python3 tests/cases/table/reference.py

step "clippy -D warnings (and the bench scripts parse)"
cargo clippy --workspace --all-targets --locked -- -D warnings
for f in bench/*.mjs bench/web/*.mjs; do node --check "$f"; done

step "supply chain: cargo deny (licences, bans, duplicate versions, sources; deny.toml)"
cargo deny --offline --locked check licenses bans sources

step "tests"
cargo test --workspace --locked

step "decoders as lenient as browsers: BMP and TIFF against Pillow (tests/pillow/lenient.py)"
python3 tests/pillow/lenient.py target/debug/kiln

step "image ops against Pillow or a reference computation (tests/pillow/ops.py)"
python3 tests/pillow/ops.py target/debug/kiln

step "colour management (ICC profiles) against littleCMS through Pillow's ImageCms (tests/pillow/icc.py)"
python3 tests/pillow/icc.py target/debug/kiln

step "info against Pillow's reading of each file (tests/pillow/info.py)"
python3 tests/pillow/info.py target/debug/kiln

step "deployment: yamllint, kubernetes-validate, hadolint, kiln's own rules (check-deploy-rules.py)"
./scripts/check-deploy.sh

step "kernel tests without rayon"
cargo test --locked -p kiln-kernel --no-default-features

step "npm package + demo page build (wasm-pack, wasm-opt)"
./scripts/build-web.sh

step "wasm-bindgen-test: Node"
(cd bindings-web && wasm-pack test --node -- --locked --test node)

step "wasm-bindgen-test: headless Chromium"
(cd bindings-web && wasm-pack test --headless --chrome -- --locked --test browser)

step "npm package: Node tests (streams: run's bytes under every chunking, 1 GiB in bounded memory), npm pack + install, bundlers in Chromium, Deno, Bun, workerd, types"
node --test bindings-web/npm/test/
tsc -p bindings-web/npm/test

step "the kernel component from other languages: jco in Node (against the npm package), wasmtime-py (examples/)"
node --test examples/js/test/
target/wasmtime-py-venv/bin/python -m unittest discover -s examples/python

step "npm audit --omit=dev of the npm package (its runtime dependencies, from the registry)"
audit=$(mktemp -d)
cp bindings-web/npm/dist/package.json "$audit/"
(cd "$audit" && npm install --package-lock-only --omit=dev --no-audit --no-fund --loglevel=error && npm audit --omit=dev)
rm -rf "$audit"

step "demo page end-to-end (kiln serve + Chromium)"
cargo test --locked -q --workspace --no-run  # the `kiln` binary the tests built: same features, no rebuild
node --test www/test/

step "Cloudflare Worker: worker-build + bundle size (fails above 1 MB gzipped)"
./scripts/build-edge.sh --check-size

step "Cloudflare Worker in workerd: bundle, API identical to kiln serve, image proxy, hostile corpus"
cargo test --locked -q --workspace --no-run  # the `kiln` binary the tests built: same features, no rebuild
node --test bindings-edge/test/*.test.mjs

step "kiln-http (bindings-wasi/): the wasi:http component under wasmtime serve, API identical to kiln serve"
./scripts/build-wasi-http.sh
cargo test --locked -q --workspace --no-run  # the `kiln` binary the tests built: same features, no rebuild
node --test bindings-wasi/test/

step "fuzz smoke: every cargo-fuzz target for 10 s (scripts/fuzz.sh; long runs: --seconds 600)"
./scripts/fuzz.sh --seconds 10 --jobs 2

step "conformance matrix: kiln's cases + public suites (csv-spectrum, JSONTestSuite, PngSuite, gzip/pigz interop)"
./scripts/conformance.sh --built

disk
