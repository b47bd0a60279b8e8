//! How the kernel guest is built and made a component: shared by build.rs (the embedded
//! kernel) and bindings-native/tests/e2e/common/kernels.rs (its `fault-injection` variant), so both build
//! it the same way.
//!
//! The nested cargo uses its own target folder (`target/guest`) so it never waits on
//! the outer build's lock, and a clean environment so the outer build's flags (clippy's
//! wrapper, host RUSTFLAGS, a test run's variables) do not leak into the wasm build;
//! `.cargo/config.toml` still supplies `+simd128`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Inputs that make the `fault-injection` build of the guest trap.
pub const FAULT_TRIGGER: &[u8] = b"KILN-FAULT";

/// Builds `kiln-guest` for wasm32-unknown-unknown with `features` (comma-separated, may
/// be empty) and returns the core module's path. Both variants share `target/guest`:
/// only the guest crate differs between them, the kernel's wasm build is reused.
pub fn build_core(workspace: &Path, features: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = workspace.join("target").join("guest");
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--release", "--locked", "-p", "kiln-guest"])
        .args(["--target", "wasm32-unknown-unknown", "--features", features])
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

/// Whether a core module is the `fault-injection` build.
pub fn is_fault_injection(module: &[u8]) -> bool {
    module.windows(FAULT_TRIGGER.len()).any(|w| w == FAULT_TRIGGER)
}

/// The core module at `core` as a component.
pub fn componentize(core: &Path) -> Vec<u8> {
    let module = std::fs::read(core).unwrap_or_else(|e| panic!("reading {}: {e}", core.display()));
    wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|e| e.validate(true).encode())
        .unwrap_or_else(|e| panic!("componentizing {}: {e:#}", core.display()))
}
