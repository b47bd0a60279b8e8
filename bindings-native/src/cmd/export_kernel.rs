//! `kiln export-kernel`: write the kernel component built into this binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kiln_native::{fs, signing};
use kiln_sandbox::EMBEDDED_KERNEL;

#[derive(Args)]
pub struct ExportKernelArgs {
    /// Where to write it.
    pub out: PathBuf,
}

pub fn export_kernel(args: &ExportKernelArgs) -> anyhow::Result<ExitCode> {
    let out = &args.out;
    fs::write_atomically(out, EMBEDDED_KERNEL).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    eprintln!(
        "wrote {} (sha256 {})",
        out.display(),
        signing::sha256_hex(EMBEDDED_KERNEL)
    );
    Ok(ExitCode::SUCCESS)
}
