//! `kiln check`: a pipeline checked by the kernel that would run it, without running it.

use std::process::ExitCode;

use clap::Args;

use super::{EngineArgs, report};

#[derive(Args)]
pub struct CheckArgs {
    /// Pipeline, text form or JSON.
    pub pipeline: String,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Prints the canonical pipeline JSON on stdout, or the error (exit 2 for a bad pipeline).
pub fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    match args.engine.kernel()?.check(&args.pipeline) {
        Ok(canonical) => {
            println!("{canonical}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report(&e)),
    }
}
