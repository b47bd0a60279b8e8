//! kiln on servers: the kernel in a wasmtime sandbox ([`engine`]), HTTP API v1
//! ([`server`]) and batch runs ([`batch`]). The `kiln` binary (src/main.rs) is the CLI.

pub mod batch;
pub mod engine;
pub mod live;
pub mod metrics;
pub mod server;
pub mod signing;

use std::path::Path;

use kiln_kernel::{Error, Limits, Output};

pub use engine::{EMBEDDED_KERNEL, Sandbox, SandboxConfig, WasmKernel};
pub use signing::Trust;

/// Where jobs run.
pub enum Kernel {
    /// The kernel component in wasmtime, one fresh instance per job (the default).
    Wasm(WasmKernel),
    /// The kernel linked into this binary, with threads: faster, not sandboxed.
    Native,
}

impl Kernel {
    /// The sandboxed kernel: the embedded component (trusted: it is part of this
    /// binary), or the one at `path`, which `trust` must accept (its signature is
    /// `path.sig`).
    pub fn wasm(path: Option<&Path>, trust: &Trust, config: SandboxConfig) -> anyhow::Result<Kernel> {
        let sandbox = &Sandbox::new(config)?;
        let kernel = match path {
            Some(p) => {
                let (bytes, signature) = live::read_kernel_file(p).map_err(anyhow::Error::msg)?;
                trust
                    .admit(&bytes, signature.as_deref(), &p.display().to_string())
                    .map_err(|e| anyhow::anyhow!("kernel {} refused: {e}", p.display()))?;
                WasmKernel::load(sandbox, &bytes)?
            }
            None => WasmKernel::load(sandbox, EMBEDDED_KERNEL)?,
        };
        Ok(Kernel::Wasm(kernel))
    }

    /// Runs one job.
    pub fn run(&self, pipeline: &str, input: &[u8], limits: &Limits) -> Result<Output, Error> {
        match self {
            Kernel::Wasm(k) => k.run(pipeline, input, limits),
            Kernel::Native => kiln_kernel::run_with_limits(pipeline, input, limits),
        }
    }

    /// `describe()` under `limits`, plus `"kernel"`: the engine and, for the sandbox,
    /// the sha256 of the component that runs the jobs.
    pub fn describe(&self, limits: &Limits) -> Result<String, Error> {
        let (json, kernel) = match self {
            Kernel::Wasm(k) => (
                k.describe(limits)?,
                serde_json::json!({ "engine": "wasm", "sha256": k.sha256 }),
            ),
            Kernel::Native => (
                kiln_kernel::describe_with_limits(limits),
                serde_json::json!({ "engine": "native" }),
            ),
        };
        let mut value: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| Error::internal(format!("describe() is not JSON: {e}")))?;
        value["kernel"] = kernel;
        Ok(value.to_string())
    }

    /// Jobs that may run at once.
    pub fn max_jobs(&self) -> usize {
        match self {
            Kernel::Wasm(k) => k.config().max_jobs as usize,
            Kernel::Native => std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }

    /// "wasm" or "native".
    pub fn name(&self) -> &'static str {
        match self {
            Kernel::Wasm(_) => "wasm",
            Kernel::Native => "native",
        }
    }
}

/// The file extension for an output, from its meta.
pub fn extension(meta: &kiln_kernel::Meta) -> &'static str {
    match (meta.format, meta.content_type) {
        (Some("jpeg"), _) => "jpg",
        (Some("png"), _) => "png",
        (Some("webp"), _) => "webp",
        (Some("rgba"), _) => "rgba",
        (_, "application/json") => "json",
        (_, "application/x-ndjson") => "ndjson",
        (_, "text/csv") => "csv",
        (_, "application/gzip") => "gz",
        (_, "application/zlib") => "zz",
        _ => "bin",
    }
}
