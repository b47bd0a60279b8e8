//! `kiln run`: one pipeline on one input (a file or stdin) to one output.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::Args;
use kiln_native::fs;

use super::{EngineArgs, report};

#[derive(Args)]
pub struct RunArgs {
    /// Pipeline, text form (`resize width=800 | encode format=webp`) or JSON.
    pub pipeline: String,
    /// Input file, or - for stdin.
    #[arg(default_value = "-")]
    pub input: String,
    /// Output file, or - for stdout. Written whole or not at all.
    #[arg(default_value = "-")]
    pub output: String,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let (pipeline, input, output) = (args.pipeline.as_str(), args.input.as_str(), args.output.as_str());
    let engine = &args.engine;
    // Check the pipeline, with the kernel that will run it, before reading a byte.
    let kernel = engine.kernel()?;
    if let Err(e) = kernel.check(pipeline) {
        return Ok(report(&e));
    }
    let data = if input == "-" {
        let mut d = Vec::new();
        std::io::stdin().read_to_end(&mut d)?;
        d
    } else {
        match std::fs::read(input) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("kiln: {input}: {e}");
                return Ok(ExitCode::from(66));
            }
        }
    };
    match kernel.run(pipeline, &data, &engine.limits()) {
        Ok(out) => {
            if output == "-" {
                std::io::stdout().write_all(&out.data)?;
                std::io::stdout().flush()?;
            } else if let Err(e) = fs::write_atomically(std::path::Path::new(output), &out.data) {
                eprintln!("kiln: {output}: {e}");
                return Ok(ExitCode::from(73));
            }
            eprintln!("{}", out.meta.to_json());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report(&e)),
    }
}
