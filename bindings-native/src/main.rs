//! `kiln`: serve HTTP API v1, run or check one pipeline, describe the ops, batch-process
//! files, and sign kernels. Each subcommand is a file of src/cmd/.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// kiln: one compute kernel (images, compression, CSV/JSON) with the same bytes everywhere.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP API v1 (POST /v1/run, POST /v1/check, GET /v1/ops, /v1/openapi.json,
    /// /healthz, /metrics) and the demo page.
    Serve(cmd::serve::ServeArgs),
    /// Run one pipeline: INPUT (default stdin) -> OUTPUT (default stdout).
    Run(cmd::run::RunArgs),
    /// Check a pipeline without running it: its canonical JSON (every parameter, defaults
    /// filled in) on stdout, or the error (exit 2).
    Check(cmd::check::CheckArgs),
    /// Print describe(): every op with its parameters, and the limits in force.
    Ops {
        #[command(flatten)]
        engine: cmd::EngineArgs,
    },
    /// Run one pipeline over many files (files, folders, globs) in parallel. Ctrl-C (or
    /// SIGTERM) starts no new file and finishes those in flight, then reports what was
    /// done and exits 130; a second Ctrl-C exits at once.
    Batch(cmd::batch::BatchArgs),
    /// Make an ed25519 key pair for signing kernels: OUT.key (secret, mode 0600) and
    /// OUT.pub (give it to `kiln serve --trust`).
    Keygen(cmd::keygen::KeygenArgs),
    /// Sign a kernel component: writes KERNEL.sig, which `kiln serve --trust` checks.
    Sign(cmd::sign::SignArgs),
    /// Write the kernel component built into this binary, to sign and roll out to
    /// running servers.
    ExportKernel(cmd::export_kernel::ExportKernelArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs its life; other commands only warnings (an unverified kernel).
    init_logs(if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    });
    let result = match cli.command {
        Command::Serve(args) => cmd::serve::serve(args),
        Command::Run(args) => cmd::run::run(&args),
        Command::Check(args) => cmd::check::check(&args),
        Command::Ops { engine } => cmd::ops::ops(&engine),
        Command::Batch(args) => cmd::batch::batch(&args),
        Command::Keygen(args) => cmd::keygen::keygen(&args),
        Command::Sign(args) => cmd::sign::sign(&args),
        Command::ExportKernel(args) => cmd::export_kernel::export_kernel(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiln: {e:#}");
            ExitCode::from(70)
        }
    }
}

fn init_logs(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
