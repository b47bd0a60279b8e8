#!/usr/bin/env python3
"""Checks kiln's one MSRV: the root Cargo.toml's `rust-version`.

Every workspace crate must take it from the workspace (so there is one), and no
package in Cargo.lock's graph may need a newer Rust (cargo refuses to build a crate
whose `rust-version` is newer than the toolchain; this makes that a check of the
number we state rather than of the toolchain at hand). Code newer than the MSRV inside
our crates is clippy's `incompatible_msrv` lint, on in the clippy step.
"""
import json
import subprocess
import sys
import tomllib


def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


root = tomllib.load(open("Cargo.toml", "rb"))
msrv = root["workspace"]["package"]["rust-version"]
meta = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--offline"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
members = set(meta["workspace_members"])
problems = []
for package in meta["packages"]:
    wanted = package.get("rust_version")
    if package["id"] in members:
        manifest = tomllib.load(open(package["manifest_path"], "rb"))
        if manifest["package"].get("rust-version") != {"workspace": True}:
            problems.append(f"{package['name']}: rust-version must be `rust-version.workspace = true`")
    elif wanted and version(wanted) > version(msrv):
        problems.append(f"{package['name']} {package['version']} needs Rust {wanted}, past the MSRV {msrv}")
for p in problems:
    print(p)
if problems:
    sys.exit(1)
print(f"MSRV {msrv}: every crate states it, no dependency needs more ({len(meta['packages'])} packages)")
