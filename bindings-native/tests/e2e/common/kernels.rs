//! Kernel files for the swap, canary and signing tests: keys and signatures made by the
//! `kiln` CLI itself, and a second, deliberately faulty kernel build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::TempDir;

#[path = "../../../sandbox/guest_build.rs"]
pub mod guest_build;

/// Inputs that make the fault-injection kernel spin until the job's deadline.
pub const SPIN_TRIGGER: &[u8] = b"KILN-SPIN";

/// The `kiln-guest` component built with its `fault-injection` feature: every job runs
/// as in the embedded kernel except those whose input starts with [`guest_build::FAULT_TRIGGER`],
/// which trap, or with [`SPIN_TRIGGER`], which spin. A different build, so a different sha256. Built once per test process
/// (only the guest crate recompiles: the kernel's wasm build is shared with build.rs).
pub fn fault_injection_kernel() -> &'static [u8] {
    static KERNEL: OnceLock<Vec<u8>> = OnceLock::new();
    KERNEL.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace");
        let core = guest_build::build_core(workspace, "fault-injection");
        let module = std::fs::read(&core).unwrap_or_else(|e| panic!("{}: {e}", core.display()));
        assert!(
            guest_build::is_fault_injection(&module),
            "the guest was not built with fault-injection"
        );
        guest_build::componentize(&core)
    })
}

/// Runs the `kiln` binary with `args`; panics unless it exits 0. Returns stderr.
pub fn kiln_ok(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .expect("run kiln");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "kiln {args:?} failed: {stderr}");
    stderr
}

/// A folder with a key pair made by `kiln keygen` (`rel.key`, `rel.pub`) and kernels
/// signed with it by `kiln sign`.
pub struct Keys {
    pub dir: TempDir,
}

impl Keys {
    pub fn new() -> Keys {
        let dir = TempDir::new("keys");
        kiln_ok(&["keygen".as_ref(), "--out".as_ref(), dir.join("rel").as_os_str()]);
        Keys { dir }
    }

    pub fn public(&self) -> PathBuf {
        self.dir.join("rel.pub")
    }

    /// Writes `bytes` as `name` in this folder and signs it: `name.sig`.
    pub fn signed(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.put(name, bytes);
        kiln_ok(&[
            "sign".as_ref(),
            path.as_os_str(),
            "--key".as_ref(),
            self.dir.join("rel.key").as_os_str(),
        ]);
        path
    }

    /// Writes `bytes` as `name` and signs it as a kernel of `version`, without asking the
    /// kernel (for files `kiln sign` refuses, which are not kernels).
    pub fn signed_as(&self, name: &str, bytes: &[u8], version: &str) -> PathBuf {
        let path = self.dir.put(name, bytes);
        kiln_native::signing::sign(&path, version, &self.dir.join("rel.key")).expect("sign");
        path
    }

    /// The signature file's content for a kernel signed with [`Keys::signed`].
    pub fn signature(&self, kernel: &Path) -> String {
        let mut sig = kernel.as_os_str().to_owned();
        sig.push(".sig");
        std::fs::read_to_string(PathBuf::from(sig))
            .expect("read the signature")
            .trim()
            .to_owned()
    }
}
