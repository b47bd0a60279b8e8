#!/usr/bin/env bash
# Sets everything up and runs every test: formatting, clippy, the kernel and runner
# test suites (with and without threads), a wasm build of the kernel, and the
# conformance cases on every target this repo has so far.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

step() { printf '\n\033[1;32m== %s\033[0m\n' "$*" >&2; }

step "rustfmt --check"
cargo fmt --all -- --check

step "clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests (native, rayon on)"
cargo test --workspace --locked

step "kernel tests and cases without rayon (output must be byte-identical)"
cargo test --locked -p kiln-kernel --no-default-features
cargo test --locked -p kiln-cases --no-default-features

step "kernel builds for wasm32 with simd128"
cargo build --locked -p kiln-kernel --no-default-features --target wasm32-unknown-unknown --release

step "conformance matrix"
cargo run --locked --release -q -p kiln-cases -- --cases tests/cases --targets native
