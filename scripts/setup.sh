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

# Debian packages (none needed by the kernel yet; later targets add theirs here).
apt_packages=()
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
log "ready"
