//! `kiln keygen`: an ed25519 key pair for signing kernels.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kiln_native::signing;

#[derive(Args)]
pub struct KeygenArgs {
    /// Path prefix of the two files.
    #[arg(long, default_value = "kiln")]
    pub out: PathBuf,
}

pub fn keygen(args: &KeygenArgs) -> anyhow::Result<ExitCode> {
    let (secret, public) = signing::keygen(&args.out)?;
    eprintln!(
        "wrote {} (secret: keep it off servers) and {} (for kiln serve --trust)",
        secret.display(),
        public.display()
    );
    Ok(ExitCode::SUCCESS)
}
