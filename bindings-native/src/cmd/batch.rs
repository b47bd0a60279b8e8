//! `kiln batch`: one pipeline over many files, in parallel.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use kiln_native::batch;

use super::{EngineArgs, report};

#[derive(Args)]
pub struct BatchArgs {
    /// Pipeline, text form or JSON.
    pub pipeline: String,
    /// Files, folders (walked recursively) and glob patterns.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Output folder; outputs keep their relative paths and get the extension of
    /// their format.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Follow symbolic links inside folders and pattern matches (each folder is entered
    /// once, so a loop ends). Without it they are skipped; links named as arguments are
    /// always followed.
    #[arg(long)]
    pub follow_symlinks: bool,
    /// K/N: only the K-th (0 to N-1) of N disjoint slices of the files, chosen by a hash
    /// of each file's path relative to the argument that named it, so N machines can
    /// share one batch (a Kubernetes Indexed Job: `--shard $(INDEX)/N`; deploy/README.md).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<batch::Shard>,
    /// Files processed at once (default: one per core).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub fn batch(args: &BatchArgs) -> anyhow::Result<ExitCode> {
    let (pipeline, engine) = (args.pipeline.as_str(), &args.engine);
    // Check the pipeline, with the kernel that will run it, before touching a file.
    let kernel = engine.kernel()?;
    if let Err(e) = kernel.check(pipeline) {
        return Ok(report(&e));
    }
    // Before the walk, so an output folder inside the inputs gives no stale inputs.
    let cleaned = batch::clean_temporaries(&args.out);
    if cleaned > 0 {
        eprintln!("kiln: removed {cleaned} temporary file(s) an earlier batch left");
    }
    let mut found = match batch::expand(&args.inputs, &args.out, args.follow_symlinks) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("kiln: {e}");
            return Ok(ExitCode::from(66));
        }
    };
    // Outputs still may not be written over any input, in this slice or another.
    if let Some(shard) = args.shard {
        let all = found.items.len();
        found.items.retain(|item| shard.holds(&item.rel));
        eprintln!("kiln: shard {shard}: {} of {all} file(s)", found.items.len());
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get));
    let jobs = jobs.clamp(1, kernel.max_jobs());
    // The first SIGINT/SIGTERM stops the batch starting files; the files in flight finish
    // and are written whole. A second one exits at once (shutdown is armed by the first;
    // it must be registered before the flag, see signal_hook::flag).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())?;
        signal_hook::flag::register(signal, stop.clone())?;
    }
    if found.skipped_links > 0 {
        eprintln!(
            "kiln: skipped {} symbolic link(s) (--follow-symlinks follows them)",
            found.skipped_links
        );
    }
    let summary = batch::run(&kernel, pipeline, &found, &engine.limits(), jobs, &stop);
    for f in &summary.failed {
        eprintln!("failed: {}: {}: {}", f.input.display(), f.code, f.message);
    }
    eprintln!("batch ({} engine, {jobs} jobs): {summary}", kernel.name());
    Ok(if summary.interrupted {
        ExitCode::from(130)
    } else if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
