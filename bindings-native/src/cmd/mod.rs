//! The subcommands of `kiln`, one file each, and what they share: where jobs run
//! ([`EngineArgs`]) and how a kernel error is reported.

pub mod batch;
pub mod check;
pub mod export_kernel;
pub mod keygen;
pub mod ops;
pub mod run;
pub mod serve;
pub mod sign;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use kiln_kernel::Limits;
use kiln_native::Kernel;
use kiln_native::signing::Trust;
use kiln_sandbox::SandboxConfig;

/// Where jobs run.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineKind {
    /// The kernel component in wasmtime, a fresh sandbox per job.
    Wasm,
    /// The kernel linked in, with threads: faster, not sandboxed.
    Native,
}

#[derive(Args)]
pub struct EngineArgs {
    /// Where jobs run.
    #[arg(long, value_enum, default_value = "wasm")]
    pub engine: EngineKind,
    /// Load this kernel component instead of the embedded one.
    #[arg(long, value_name = "PATH")]
    pub kernel: Option<PathBuf>,
    /// Memory per job, in MiB.
    #[arg(long, default_value_t = 1024)]
    pub job_memory_mib: usize,
    /// CPU time per job, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub job_timeout_ms: u64,
    /// Linear memory per job slot kept mapped between jobs, in MiB: faster jobs up to
    /// that size, at up to this much resident memory per slot.
    #[arg(long, default_value_t = 64)]
    pub keep_resident_mib: usize,
    /// Jobs at once (default: twice the cores).
    #[arg(long)]
    pub max_jobs: Option<u32>,
    /// Do not read or write the compiled-code cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Largest input, in MiB [default: 256]. A streamed job (DESIGN.md, "Streaming"),
    /// which never holds its input, is capped by it only when it is given.
    #[arg(long)]
    pub max_input_mib: Option<u64>,
    /// Largest output of a job, in MiB [default: 256]. `kiln serve` holds at most
    /// `--max-jobs` times this in responses not yet sent. A streamed job, which never
    /// holds its output, is capped by it only when it is given.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_output_mib: Option<u64>,
    /// A public key (PEM, from `kiln keygen`) whose signatures are trusted; repeatable.
    /// A kernel loaded from a file must be signed by one of them (`KERNEL.sig`). The
    /// embedded kernel is part of this binary and needs no signature.
    #[arg(long, value_name = "KEY")]
    pub trust: Vec<PathBuf>,
    /// Load kernel files that are unsigned or not signed by a trusted key. For
    /// development only; every such load is logged as a warning.
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Load kernel files whose version is below the highest that has been the primary
    /// (at first, the kernel built into this binary).
    #[arg(long)]
    pub allow_downgrade: bool,
    /// A file of revoked kernel digests (sha256 hex, one per line, `#` comments): a kernel
    /// listed there never loads. Read again at every load.
    #[arg(long, value_name = "FILE")]
    pub revoked: Option<PathBuf>,
}

impl EngineArgs {
    pub fn trust(&self) -> anyhow::Result<Trust> {
        let trust = Trust::new(
            &self.trust,
            self.allow_unsigned,
            self.allow_downgrade,
            self.revoked.clone(),
        )?;
        if self.allow_unsigned {
            tracing::warn!("--allow-unsigned: kernels that are not signed by a trusted key will load");
        }
        Ok(trust)
    }

    pub fn kernel(&self) -> anyhow::Result<Kernel> {
        self.kernel_at(self.kernel.as_deref(), &self.trust()?)
    }

    /// The kernel at `path` (default: the embedded one) on this engine.
    pub fn kernel_at(&self, path: Option<&std::path::Path>, trust: &Trust) -> anyhow::Result<Kernel> {
        match self.engine {
            EngineKind::Native => Ok(Kernel::Native),
            EngineKind::Wasm => {
                let mut config = SandboxConfig {
                    job_memory: self.job_memory_mib << 20,
                    job_timeout: Duration::from_millis(self.job_timeout_ms),
                    keep_resident: self.keep_resident_mib.min(self.job_memory_mib) << 20,
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

    pub fn limits(&self) -> Limits {
        kiln_http_api::profiles::server(self.max_input_mib(), self.max_output_mib(), self.job_memory_mib as u64)
    }

    /// The limits of a streamed job: [`Limits::streaming`], with the input and output
    /// caps that were given.
    pub fn stream_limits(&self) -> Limits {
        let mut limits = self.limits().streaming();
        if let Some(mib) = self.max_input_mib {
            limits.max_input_bytes = mib << 20;
        }
        if let Some(mib) = self.max_output_mib {
            limits.max_output_bytes = mib << 20;
        }
        limits
    }

    /// `--max-input-mib`, or its default.
    pub fn max_input_mib(&self) -> u64 {
        self.max_input_mib.unwrap_or(256)
    }

    /// `--max-output-mib`, or its default.
    pub fn max_output_mib(&self) -> u64 {
        self.max_output_mib.unwrap_or(256)
    }
}

/// Prints a kernel error as `{"error": {...}}` on stderr; its exit code.
pub fn report(e: &kiln_kernel::Error) -> ExitCode {
    eprintln!("{}", serde_json::json!({ "error": e.to_json() }));
    ExitCode::from(e.code.exit_code() as u8)
}
