//! `kiln sign`: sign a kernel component for `kiln serve --trust`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kiln_native::{Kernel, signing};

#[derive(Args)]
pub struct SignArgs {
    /// The kernel component (.wasm).
    pub kernel: PathBuf,
    /// The secret key (from `kiln keygen`, or any ed25519 PKCS#8 PEM).
    #[arg(long)]
    pub key: PathBuf,
}

pub fn sign(args: &SignArgs) -> anyhow::Result<ExitCode> {
    // The manifest names the version the kernel itself reports.
    let version = Kernel::version_of_file(&args.kernel)?;
    let sig = signing::sign(&args.kernel, &version, &args.key)?;
    eprintln!("wrote {} (version {version})", sig.display());
    Ok(ExitCode::SUCCESS)
}
