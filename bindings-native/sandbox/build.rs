//! Builds the kernel guest (`kiln-guest`) for wasm32-unknown-unknown and turns it into
//! a component, embedded as `kiln_sandbox::EMBEDDED_KERNEL` (how: guest_build.rs). The guest is never
//! committed: this is the one place the embedded kernel is made.

#[path = "guest_build.rs"]
mod guest_build;

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .ancestors()
        .nth(2)
        .expect("bindings-native/sandbox sits in the workspace")
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
        None => guest_build::build_core(&workspace, ""),
    };
    // bindings-native/tests/e2e/common/kernels.rs builds the guest's `fault-injection` variant into the same
    // folder: never embed that one.
    let module = std::fs::read(&core).unwrap_or_else(|e| panic!("reading {}: {e}", core.display()));
    assert!(
        !guest_build::is_fault_injection(&module),
        "{} is the fault-injection build of the guest; rebuild",
        core.display()
    );
    let component = guest_build::componentize(&core);
    std::fs::write(out_dir.join("kiln-kernel.component.wasm"), component).expect("write component");
}
