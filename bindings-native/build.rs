//! Builds the kernel guest (`kiln-guest`) for wasm32-unknown-unknown and turns it into
//! a component, embedded in the `kiln` binary. The guest is never committed: this is
//! the one place it is made.
//!
//! The nested cargo uses its own target folder (`target/guest`) so it never waits on
//! the outer build's lock, and a clean environment so the outer build's flags (clippy's
//! wrapper, host RUSTFLAGS) do not leak into the wasm build; `.cargo/config.toml`
//! still supplies `+simd128`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .expect("bindings-native sits in the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for watched in [
        "kernel/src",
        "kernel/wit",
        "kernel/Cargo.toml",
        "bindings-native/guest",
        "Cargo.lock",
        ".cargo/config.toml",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=KILN_GUEST_WASM");

    // A prebuilt core module may be handed in (for example by a packaging step).
    let core = match std::env::var_os("KILN_GUEST_WASM") {
        Some(path) => PathBuf::from(path),
        None => build_guest(&workspace),
    };
    let module = std::fs::read(&core).unwrap_or_else(|e| panic!("reading {}: {e}", core.display()));
    // tests/common/kernels.rs builds the guest's `fault-injection` variant into the same
    // folder: never embed that one.
    assert!(
        !module.windows(10).any(|w| w == b"KILN-FAULT"),
        "{} is the fault-injection build of the guest; rebuild",
        core.display()
    );
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|e| e.validate(true).encode())
        .unwrap_or_else(|e| panic!("componentizing {}: {e:#}", core.display()));
    std::fs::write(out_dir.join("kiln-kernel.component.wasm"), component).expect("write component");
}

fn build_guest(workspace: &std::path::Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = workspace.join("target").join("guest");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "kiln-guest",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("run cargo for the guest");
    assert!(
        status.success(),
        "building kiln-guest for wasm32-unknown-unknown failed; is the target installed? (scripts/setup.sh adds it)"
    );
    target_dir.join("wasm32-unknown-unknown/release/kiln_guest.wasm")
}
