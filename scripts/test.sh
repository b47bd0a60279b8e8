#!/usr/bin/env bash
# Sets everything up and runs every test: formatting, clippy, every crate's tests, the
# kernel's tests again without threads, and the conformance matrix on every target
# this repo has (native, and the wasm kernel in wasmtime, which is built without
# threads: equal bytes there prove threads never change output).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

step() { printf '\n\033[1;32m== %s\033[0m\n' "$*" >&2; }

step "rustfmt --check"
cargo fmt --all -- --check

step "clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
cargo test --workspace --locked

step "kernel tests without rayon"
cargo test --locked -p kiln-kernel --no-default-features

step "conformance matrix"
cargo run --locked -q -p kiln-cases -- --cases tests/cases --targets native,wasmtime
