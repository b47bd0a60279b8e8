#!/usr/bin/env bash
# Sets everything up and runs kiln's main job on embedded defaults. Until the native
# server (`kiln serve`) lands, that is a real pipeline on a sample photo:
# resize to 160 px, sharpen, write WebP.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
mkdir -p target/demo
pipeline=${1:-"resize width=160 | sharpen sigma=1 amount=0.8 | encode format=webp"}
cargo run --locked --release -q -p kiln-kernel --example run -- "$pipeline" tests/data/photo.jpg target/demo/photo-160.webp
echo "wrote target/demo/photo-160.webp"
