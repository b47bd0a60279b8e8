//! `kiln`: serve HTTP API v1, run one pipeline, describe the ops, or batch-process files.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use kiln_kernel::Limits;
use kiln_native::live::{CanaryPolicy, Live, Loaded};
use kiln_native::metrics::Metrics;
use kiln_native::{Kernel, SandboxConfig, Trust, batch, server, signing};

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
    /// Make an ed25519 key pair for signing kernels: OUT.key (secret, mode 0600) and
    /// OUT.pub (give it to `kiln serve --trust`).
    Keygen {
        /// Path prefix of the two files.
        #[arg(long, default_value = "kiln")]
        out: PathBuf,
    },
    /// Sign a kernel component: writes KERNEL.sig, which `kiln serve --trust` checks.
    Sign {
        /// The kernel component (.wasm).
        kernel: PathBuf,
        /// The secret key (from `kiln keygen`, or any ed25519 PKCS#8 PEM).
        #[arg(long)]
        key: PathBuf,
    },
    /// Write the kernel component built into this binary, to sign and roll out to
    /// running servers.
    ExportKernel {
        /// Where to write it.
        out: PathBuf,
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
    /// A public key (PEM, from `kiln keygen`) whose signatures are trusted; repeatable.
    /// A kernel loaded from a file must be signed by one of them (`KERNEL.sig`). The
    /// embedded kernel is part of this binary and needs no signature.
    #[arg(long, value_name = "KEY")]
    trust: Vec<PathBuf>,
    /// Load kernel files that are unsigned or not signed by a trusted key. For
    /// development only; every such load is logged as a warning.
    #[arg(long)]
    allow_unsigned: bool,
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
    /// Watch this directory for DIR/kernel.wasm (+ DIR/kernel.wasm.sig): a new kernel
    /// there is verified, loaded and swapped in while serving (checked every second). If
    /// one is there at start, it is the primary.
    #[arg(long, value_name = "DIR")]
    kernel_dir: Option<PathBuf>,
    /// A second kernel (signature: PATH.sig) that takes --canary-percent of the jobs.
    #[arg(long, value_name = "PATH", requires = "canary_percent")]
    canary: Option<PathBuf>,
    /// Share of jobs for the canary, 0-100.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=100), requires = "canary")]
    canary_percent: Option<u32>,
    /// Roll the canary back when its fault rate (internal errors, traps) passes the
    /// primary's by more than this many percentage points...
    #[arg(long, default_value_t = 1.0, value_parser = percentage_points)]
    canary_fault_threshold: f64,
    /// ...once it has run at least this many jobs.
    #[arg(long, default_value_t = 100)]
    canary_min_jobs: u64,
    /// Enable the admin API (/v1/admin/...: swap the kernel, run a canary) for requests
    /// with `authorization: Bearer <the first line of this file>`.
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

/// A number of percentage points, 0 to 100.
fn percentage_points(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("{text:?} is not a number of percentage points from 0 to 100")),
    }
}

impl EngineArgs {
    fn trust(&self) -> anyhow::Result<Trust> {
        let trust = Trust::new(&self.trust, self.allow_unsigned)?;
        if self.allow_unsigned {
            tracing::warn!("--allow-unsigned: kernels that are not signed by a trusted key will load");
        }
        Ok(trust)
    }

    fn kernel(&self) -> anyhow::Result<Kernel> {
        self.kernel_at(self.kernel.as_deref(), &self.trust()?)
    }

    /// The kernel at `path` (default: the embedded one) on this engine.
    fn kernel_at(&self, path: Option<&std::path::Path>, trust: &Trust) -> anyhow::Result<Kernel> {
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
                Kernel::wasm(path, trust, config)
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
    // The server logs its life; other commands only warnings (an unverified kernel).
    init_logs(if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    });
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
        Command::Keygen { out } => signing::keygen(&out).map(|(secret, public)| {
            eprintln!(
                "wrote {} (secret: keep it off servers) and {} (for kiln serve --trust)",
                secret.display(),
                public.display()
            );
            ExitCode::SUCCESS
        }),
        Command::Sign { kernel, key } => signing::sign(&kernel, &key).map(|sig| {
            eprintln!("wrote {}", sig.display());
            ExitCode::SUCCESS
        }),
        Command::ExportKernel { out } => batch::write_atomically(&out, kiln_native::EMBEDDED_KERNEL)
            .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))
            .map(|_| {
                eprintln!(
                    "wrote {} (sha256 {})",
                    out.display(),
                    signing::sha256_hex(kiln_native::EMBEDDED_KERNEL)
                );
                ExitCode::SUCCESS
            }),
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

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let engine = &args.engine;
    // The primary: the watched directory's kernel if there is one, else --kernel, else
    // the embedded one. A kernel that is refused stops the start.
    let watched = args.kernel_dir.as_deref().map(kiln_native::live::watched_kernel);
    let first = watched.as_deref().filter(|p| p.exists()).or(engine.kernel.as_deref());
    let limits = engine.limits();
    let trust = engine.trust()?;
    let primary = Loaded::new(engine.kernel_at(first, &trust)?, &limits)?;
    if let Kernel::Wasm(k) = &primary.kernel {
        tracing::info!(
            code = k.code_source,
            max_jobs = k.config().max_jobs,
            version = primary.version,
            sha256 = primary.sha256,
            "kernel ready in {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    let metrics = Arc::new(Metrics::new());
    let policy = CanaryPolicy {
        threshold_pp: args.canary_fault_threshold,
        min_jobs: args.canary_min_jobs,
    };
    let max_jobs = primary.kernel.max_jobs();
    let live = Live::new(primary, trust, limits, policy, metrics.clone());
    if let (Some(path), Some(percent)) = (&args.canary, args.canary_percent) {
        live.install_file(path, Some(percent))
            .map_err(|e| anyhow::anyhow!("canary {}: {e}", path.display()))?;
    }
    let admin_token = match &args.admin_token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading admin token {}: {e}", path.display()))?;
            let token = text.lines().next().unwrap_or_default().trim().to_owned();
            anyhow::ensure!(
                token.len() >= 16,
                "the admin token in {} is shorter than 16 characters",
                path.display()
            );
            Some(token)
        }
        None => None,
    };
    let config = server::ServerConfig {
        max_body: usize::try_from(engine.max_input_mib << 20).unwrap_or(usize::MAX),
        request_timeout: Duration::from_secs(args.request_timeout_s),
        www: Some(args.www.clone()),
        max_queue: args.max_queue.unwrap_or(max_jobs * 8),
        admin_token,
    };
    let router = server::router(live.clone(), metrics, &config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        if let Some(dir) = args.kernel_dir.clone() {
            tracing::info!(dir = %dir.display(), "watching for kernel.wasm");
            tokio::spawn(kiln_native::live::watch(live, dir, Duration::from_secs(1)));
        }
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
