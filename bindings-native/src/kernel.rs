//! Where jobs run: the kernel component in the sandbox, or the kernel linked in.

use std::path::Path;

use kiln_kernel::{Error, Limits, Meta, Output};
use kiln_sandbox::{Budget, EMBEDDED_KERNEL, Sandbox, SandboxConfig, WasmKernel, WasmSession};

use crate::signing::{self, Trust};

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
                let (bytes, signature) = signing::read_kernel_file(p).map_err(anyhow::Error::msg)?;
                let refused = |e: signing::Refused| anyhow::anyhow!("kernel {} refused: {e}", p.display());
                let manifest = trust
                    .admit(&bytes, signature.as_deref(), &p.display().to_string())
                    .map_err(refused)?;
                let kernel = WasmKernel::load(sandbox, &bytes)?;
                trust
                    .check_version(manifest.as_ref(), &version_of(&kernel)?)
                    .map_err(refused)?;
                kernel
            }
            None => WasmKernel::load(sandbox, EMBEDDED_KERNEL)?,
        };
        Ok(Kernel::Wasm(kernel))
    }

    /// The version the kernel component's `describe()` names.
    pub fn version_of_file(path: &Path) -> anyhow::Result<String> {
        let (bytes, _) = signing::read_kernel_file(path).map_err(anyhow::Error::msg)?;
        signing::ensure_component(&bytes, path)?;
        let sandbox = Sandbox::new(SandboxConfig {
            max_jobs: 1,
            ..SandboxConfig::default()
        })?;
        let kernel = WasmKernel::load(&sandbox, &bytes)
            .map_err(|e| anyhow::anyhow!("{}: not a usable kiln kernel: {e:#}", path.display()))?;
        version_of(&kernel)
    }

    /// Runs one job.
    pub fn run(&self, pipeline: &str, input: &[u8], limits: &Limits) -> Result<Output, Error> {
        self.run_job(pipeline, input, limits).0
    }

    /// Runs a job, and says which sandbox budget it hit, if one (never for `native`,
    /// which has none).
    pub fn run_job(&self, pipeline: &str, input: &[u8], limits: &Limits) -> (Result<Output, Error>, Option<Budget>) {
        match self {
            Kernel::Wasm(k) => k.run_job(pipeline, input, limits),
            Kernel::Native => (kiln_kernel::run_with_limits(pipeline, input, limits), None),
        }
    }

    /// Opens a streaming session of `pipeline` under `limits` (a host's
    /// [`Limits::streaming`]), or the error that says why not: `bad_pipeline` for a step
    /// that cannot stream, which `run` takes instead.
    pub fn open_session(&self, pipeline: &str, limits: &Limits) -> Result<Session, Error> {
        match self {
            Kernel::Wasm(k) => k.open_session(pipeline, limits).map(|s| Session::Wasm(Box::new(s))),
            Kernel::Native => kiln_kernel::Session::open(pipeline, limits).map(|s| Session::Native(Box::new(s))),
        }
    }

    /// Checks a pipeline with this kernel: its canonical JSON form, or why not.
    pub fn check(&self, pipeline: &str) -> Result<String, Error> {
        match self {
            Kernel::Wasm(k) => k.check(pipeline),
            Kernel::Native => kiln_kernel::check(pipeline),
        }
    }

    /// `describe()` under `limits`, parsed, plus `"kernel"`: the engine and, for the
    /// sandbox, the sha256 of the component that runs the jobs.
    pub fn describe(&self, limits: &Limits) -> Result<serde_json::Value, Error> {
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
        Ok(value)
    }

    /// Jobs that may run at once.
    pub fn max_jobs(&self) -> usize {
        match self {
            Kernel::Wasm(k) => k.config().max_jobs as usize,
            Kernel::Native => std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
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

/// A streaming session on a [`Kernel`]: `push` chunks, then `finish`; dropping it aborts.
pub enum Session {
    /// In an instance of its own in the sandbox.
    Wasm(Box<WasmSession>),
    /// The kernel linked in.
    Native(Box<kiln_kernel::Session>),
}

impl Session {
    /// Pushes the next input chunk: the output it completes.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, Error> {
        match self {
            Session::Wasm(s) => s.push(chunk),
            Session::Native(s) => s.push(chunk),
        }
    }

    /// What is known of the output's meta before `finish`: kind, content type, version.
    pub fn meta(&mut self) -> Result<Meta, Error> {
        match self {
            Session::Wasm(s) => s.meta(),
            Session::Native(s) => Ok(s.meta()),
        }
    }

    /// Ends the input: the rest of the output and the meta.
    pub fn finish(self) -> Result<Output, Error> {
        match self {
            Session::Wasm(s) => (*s).finish(),
            Session::Native(s) => s.finish(),
        }
    }
}

/// The version a kernel component's `describe()` names.
fn version_of(kernel: &WasmKernel) -> anyhow::Result<String> {
    let describe: serde_json::Value = serde_json::from_str(
        &kernel
            .describe(&Limits::default())
            .map_err(|e| anyhow::anyhow!("the kernel's describe() failed: {e}"))?,
    )?;
    describe["version"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the kernel's describe() names no version"))
}
