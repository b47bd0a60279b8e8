//! `kiln serve`: HTTP API v1 and the demo page.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use kiln_native::live::{self, CanaryPolicy, Live, Loaded};
use kiln_native::metrics::Metrics;
use kiln_native::{Kernel, server};

use super::{EngineArgs, EngineKind};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The built demo page to serve at / (when it has an index.html).
    #[arg(long, default_value = "www/dist")]
    pub www: PathBuf,
    /// Whole-request deadline, in seconds.
    #[arg(long, default_value_t = 60)]
    pub request_timeout_s: u64,
    /// Deadline for receiving a request body, in seconds: an upload slower than that is
    /// answered 408. Bodies are read before their request takes a place in the queue.
    #[arg(long, default_value_t = 30)]
    pub body_timeout_s: u64,
    /// A response whose client takes nothing for this many seconds is dropped with its
    /// connection (so a client that never reads cannot pin its output).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub send_timeout_s: u64,
    /// Slowest upload accepted, in KiB per second, after a grace of 5 s: a slower one is
    /// answered 408 without waiting for the body deadline.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    pub min_upload_kib_s: u64,
    /// Requests that may wait for a job slot (default: 8 per slot); more get 503 busy.
    #[arg(long)]
    pub max_queue: Option<usize>,
    /// Watch this directory for DIR/kernel.wasm (+ DIR/kernel.wasm.sig): a new kernel
    /// there is verified, loaded and swapped in while serving (checked every second). If
    /// one is there at start, it is the primary.
    #[arg(long, value_name = "DIR")]
    pub kernel_dir: Option<PathBuf>,
    /// Allow `--engine native` here: jobs then run in this process with no CPU deadline
    /// and no memory cap. Without it, `serve --engine native` refuses to start.
    #[arg(long)]
    pub unsandboxed: bool,
    /// A second kernel (signature: PATH.sig) that takes --canary-percent of the jobs.
    #[arg(long, value_name = "PATH", requires = "canary_percent")]
    pub canary: Option<PathBuf>,
    /// Share of jobs for the canary, 0-100.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=100), requires = "canary")]
    pub canary_percent: Option<u32>,
    /// Roll the canary back when its fault rate (internal errors, traps, jobs cut at
    /// their deadline or memory cap) passes the primary's by more than this many
    /// percentage points...
    #[arg(long, default_value_t = 1.0, value_parser = percentage_points)]
    pub canary_fault_threshold: f64,
    /// ...once it has run at least this many jobs.
    #[arg(long, default_value_t = 100)]
    pub canary_min_jobs: u64,
    /// Serve /metrics and the admin API on this address only (with /healthz and
    /// /readyz), not on --addr: keep them off the public network.
    #[arg(long, value_name = "ADDR")]
    pub admin_addr: Option<SocketAddr>,
    /// Enable the admin API (/v1/admin/...: swap the kernel, run a canary) for requests
    /// with `authorization: Bearer <the first line of this file>`.
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// A number of percentage points, 0 to 100.
fn percentage_points(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("{text:?} is not a number of percentage points from 0 to 100")),
    }
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let engine = &args.engine;
    if matches!(engine.engine, EngineKind::Native) && !args.unsandboxed {
        anyhow::bail!(
            "--engine native gives a server's jobs no CPU deadline and no memory cap; add --unsandboxed to serve with it anyway"
        );
    }
    // The primary: the watched directory's kernel if there is one, else --kernel, else
    // the embedded one. A kernel that is refused stops the start.
    let watched = args.kernel_dir.as_deref().map(live::watched_kernel);
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
        max_body: usize::try_from(engine.max_input_mib() << 20).unwrap_or(usize::MAX),
        request_timeout: Duration::from_secs(args.request_timeout_s),
        body_timeout: Duration::from_secs(args.body_timeout_s),
        www: Some(args.www.clone()),
        max_queue: args.max_queue.unwrap_or(max_jobs * 8),
        admin_token,
        send_timeout: Duration::from_secs(args.send_timeout_s),
        min_upload_rate: args.min_upload_kib_s << 10,
        admin_apart: args.admin_addr.is_some(),
        stream_limits: engine.stream_limits(),
    };
    let routers = server::router(live.clone(), metrics.clone(), &config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        if let Some(dir) = args.kernel_dir.clone() {
            tracing::info!(dir = %dir.display(), "watching for kernel.wasm");
            tokio::spawn(live::watch(live, dir, Duration::from_secs(1)));
        }
        let tcp = tokio::net::TcpListener::bind(args.addr).await?;
        let addr = tcp.local_addr()?;
        let admin = match (args.admin_addr, routers.admin) {
            (Some(admin_addr), Some(router)) => {
                let tcp = tokio::net::TcpListener::bind(admin_addr).await?;
                tracing::info!(addr = %tcp.local_addr()?, "serving /metrics and the admin API");
                Some((tcp, router))
            }
            _ => None,
        };
        // The one line on stdout: scripts and tests read the address from it.
        println!("kiln listening on http://{addr}");
        let _ = std::io::stdout().flush();
        tracing::info!(%addr, engine = "ready", "serving HTTP API v1 after {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
        // One signal stops both listeners.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            server::shutdown_signal().await;
            let _ = stop.send(true);
        });
        let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let public = server::serve(
            server::conn::WatchedListener::new(tcp, config.send_timeout, metrics.clone()),
            routers.public,
            until_stopped(stopped.clone()),
        );
        match admin {
            Some((tcp, router)) => {
                let admin = server::serve(
                    server::conn::WatchedListener::new(tcp, config.send_timeout, metrics),
                    router,
                    until_stopped(stopped),
                );
                tokio::try_join!(public, admin)?;
            }
            None => public.await?,
        }
        tracing::info!("stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
