//! `kiln`: serve HTTP API v1, run one pipeline, describe the ops, or batch-process files.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use kiln_kernel::Limits;
use kiln_native::{Kernel, SandboxConfig, batch, server};

/// kiln: one compute kernel (images, compression, CSV/JSON) with the same bytes everywhere.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP API v1 (POST /v1/run, GET /v1/ops, /v1/openapi.json, /healthz, /metrics)
    /// and the demo page.
    Serve(ServeArgs),
    /// Run one pipeline: INPUT (default stdin) -> OUTPUT (default stdout).
    Run {
        /// Pipeline, text form (`resize width=800 | encode format=webp`) or JSON.
        pipeline: String,
        /// Input file, or - for stdin.
        #[arg(default_value = "-")]
        input: String,
        /// Output file, or - for stdout. Written whole or not at all.
        #[arg(default_value = "-")]
        output: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Print describe(): every op with its parameters, and the limits in force.
    Ops {
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Run one pipeline over many files (files, folders, globs) in parallel. Ctrl-C (or
    /// SIGTERM) starts no new file and finishes those in flight, then reports what was
    /// done and exits 130; a second Ctrl-C exits at once.
    Batch {
        /// Pipeline, text form or JSON.
        pipeline: String,
        /// Files, folders (walked recursively) and glob patterns.
        #[arg(required = true)]
        inputs: Vec<String>,
        /// Output folder; outputs keep their relative paths and get the extension of
        /// their format.
        #[arg(long, short)]
        out: PathBuf,
        /// Files processed at once (default: one per core).
        #[arg(long, short)]
        jobs: Option<usize>,
        #[command(flatten)]
        engine: EngineArgs,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineKind {
    /// The kernel component in wasmtime, a fresh sandbox per job.
    Wasm,
    /// The kernel linked in, with threads: faster, not sandboxed.
    Native,
}

#[derive(Args)]
struct EngineArgs {
    /// Where jobs run.
    #[arg(long, value_enum, default_value = "wasm")]
    engine: EngineKind,
    /// Load this kernel component instead of the embedded one.
    #[arg(long, value_name = "PATH")]
    kernel: Option<PathBuf>,
    /// Memory per job, in MiB.
    #[arg(long, default_value_t = 1024)]
    job_memory_mib: usize,
    /// CPU time per job, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    job_timeout_ms: u64,
    /// Jobs at once (default: twice the cores).
    #[arg(long)]
    max_jobs: Option<u32>,
    /// Do not read or write the compiled-code cache.
    #[arg(long)]
    no_cache: bool,
    /// Largest input, in MiB.
    #[arg(long, default_value_t = 256)]
    max_input_mib: u64,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The built demo page to serve at / (when it has an index.html).
    #[arg(long, default_value = "www/dist")]
    www: PathBuf,
    /// Whole-request deadline, in seconds.
    #[arg(long, default_value_t = 60)]
    request_timeout_s: u64,
    /// Requests that may wait for a job slot (default: 8 per slot); more get 503 busy.
    #[arg(long)]
    max_queue: Option<usize>,
    #[command(flatten)]
    engine: EngineArgs,
}

impl EngineArgs {
    fn kernel(&self) -> anyhow::Result<Kernel> {
        match self.engine {
            EngineKind::Native => Ok(Kernel::Native),
            EngineKind::Wasm => {
                let mut config = SandboxConfig {
                    job_memory: self.job_memory_mib << 20,
                    job_timeout: Duration::from_millis(self.job_timeout_ms),
                    ..SandboxConfig::default()
                };
                if let Some(n) = self.max_jobs {
                    config.max_jobs = n.max(1);
                }
                if self.no_cache {
                    config.cache_dir = None;
                }
                Kernel::wasm(self.kernel.as_deref(), config)
            }
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_input_bytes: self.max_input_mib << 20,
            ..Limits::default()
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Run {
            pipeline,
            input,
            output,
            engine,
        } => run(&pipeline, &input, &output, &engine),
        Command::Ops { engine } => ops(&engine),
        Command::Batch {
            pipeline,
            inputs,
            out,
            jobs,
            engine,
        } => batch_cmd(&pipeline, &inputs, &out, jobs, &engine),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiln: {e:#}");
            ExitCode::from(70)
        }
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logs();
    let started = Instant::now();
    let kernel = Arc::new(args.engine.kernel()?);
    if let Kernel::Wasm(k) = kernel.as_ref() {
        tracing::info!(
            code = k.code_source,
            max_jobs = k.config().max_jobs,
            "kernel ready in {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    let config = server::ServerConfig {
        max_body: usize::try_from(args.engine.max_input_mib << 20).unwrap_or(usize::MAX),
        request_timeout: Duration::from_secs(args.request_timeout_s),
        limits: args.engine.limits(),
        www: Some(args.www.clone()),
        max_queue: args.max_queue.unwrap_or(kernel.max_jobs() * 8),
    };
    let router = server::router(kernel, &config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr).await?;
        let addr = listener.local_addr()?;
        // The one line on stdout: scripts and tests read the address from it.
        println!("kiln listening on http://{addr}");
        let _ = std::io::stdout().flush();
        tracing::info!(%addr, engine = "ready", "serving HTTP API v1 after {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
        server::serve(listener, router, server::shutdown_signal()).await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run(pipeline: &str, input: &str, output: &str, engine: &EngineArgs) -> anyhow::Result<ExitCode> {
    // Check the pipeline before reading a byte or starting the engine.
    if let Err(e) = kiln_kernel::Pipeline::parse(pipeline) {
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
    let kernel = engine.kernel()?;
    match kernel.run(pipeline, &data, &engine.limits()) {
        Ok(out) => {
            if output == "-" {
                std::io::stdout().write_all(&out.data)?;
                std::io::stdout().flush()?;
            } else if let Err(e) = batch::write_atomically(std::path::Path::new(output), &out.data) {
                eprintln!("kiln: {output}: {e}");
                return Ok(ExitCode::from(73));
            }
            eprintln!("{}", out.meta.to_json());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report(&e)),
    }
}

fn report(e: &kiln_kernel::Error) -> ExitCode {
    eprintln!("{}", serde_json::json!({ "error": e.to_json() }));
    ExitCode::from(e.code.exit_code() as u8)
}

fn ops(engine: &EngineArgs) -> anyhow::Result<ExitCode> {
    let kernel = engine.kernel()?;
    match kernel.describe(&engine.limits()) {
        Ok(json) => {
            let value: serde_json::Value = serde_json::from_str(&json)?;
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report(&e)),
    }
}

fn batch_cmd(
    pipeline: &str,
    inputs: &[String],
    out: &std::path::Path,
    jobs: Option<usize>,
    engine: &EngineArgs,
) -> anyhow::Result<ExitCode> {
    if let Err(e) = kiln_kernel::Pipeline::parse(pipeline) {
        return Ok(report(&e));
    }
    let items = match batch::expand(inputs, out) {
        Ok(items) => items,
        Err(e) => {
            eprintln!("kiln: {e}");
            return Ok(ExitCode::from(66));
        }
    };
    let kernel = engine.kernel()?;
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let jobs = jobs.clamp(1, kernel.max_jobs());
    // The first SIGINT/SIGTERM stops the batch starting files; the files in flight finish
    // and are written whole. A second one exits at once (shutdown is armed by the first;
    // it must be registered before the flag, see signal_hook::flag).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())?;
        signal_hook::flag::register(signal, stop.clone())?;
    }
    let summary = batch::run(&kernel, pipeline, &items, &engine.limits(), jobs, &stop);
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
