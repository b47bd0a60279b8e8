//! `kiln sign`: sign a kernel component for `kiln serve --trust`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kiln_native::signing;

#[derive(Args)]
pub struct SignArgs {
    /// The kernel component (.wasm).
    pub kernel: PathBuf,
    /// The secret key (from `kiln keygen`, or any ed25519 PKCS#8 PEM).
    #[arg(long)]
    pub key: PathBuf,
}

pub fn sign(args: &SignArgs) -> anyhow::Result<ExitCode> {
    let sig = signing::sign(&args.kernel, &args.key)?;
    eprintln!("wrote {}", sig.display());
    Ok(ExitCode::SUCCESS)
}
