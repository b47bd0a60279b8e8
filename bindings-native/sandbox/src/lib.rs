//! # kiln-sandbox
//!
//! The kernel component in wasmtime: one Engine (a [`Sandbox`]) for the life of the
//! process, a Linker and `InstancePre` per kernel loaded on it, and a fresh Store and
//! instance per job, so nothing crosses from one job to the next (wasmtime's
//! `examples/fast_instantiation.rs` and `wasmtime serve`).
//!
//! Per job: memory is capped by a [`ResourceLimiter`], CPU time by an epoch deadline (a
//! ticker thread advances the epoch every [`TICK`]), and a trap ends the job — the
//! instance is dropped and the engine carries on. Instances come from the pooling
//! allocator with `linear_memory_keep_resident` ([`SandboxConfig::keep_resident`]) and
//! `pagemap_scan`: a slot's touched pages are zeroed and kept for the next job instead of
//! unmapped and faulted in again, which keeps a tiny job near 50 µs instead of ~190 µs and
//! halves a 16 MB image job (41 -> 20 ms for `grayscale` at 2000x2000, 64 MiB kept;
//! 16 ms with the kernel reusing its owned input).

#![warn(missing_docs)]

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kiln_kernel::{Error, ErrorCode, Limits, Meta, Output};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store, Trap,
};

mod cache;

mod bindings {
    wasmtime::component::bindgen!({ world: "kiln", path: "../../kernel/wit" });
}

use bindings::exports::kiln::kernel::api as wit;

/// The kernel component built by `build.rs`, embedded in the binary.
pub const EMBEDDED_KERNEL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kiln-kernel.component.wasm"));

/// The core instances one kernel instance is made of.
const CORE_INSTANCES: u32 = 3;

/// How often the epoch advances: the granularity of job deadlines.
pub const TICK: Duration = Duration::from_millis(5);

/// Sandbox settings.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Jobs that may run at once (instances in the pool).
    pub max_jobs: u32,
    /// Linear memory one job may use.
    pub job_memory: usize,
    /// CPU time one job may use.
    pub job_timeout: Duration,
    /// Linear memory per pool slot that stays mapped between jobs (zeroed, not
    /// unmapped): the next job reuses those pages instead of faulting fresh ones in.
    /// Costs up to this much resident memory per slot (`max_jobs + 1` slots).
    pub keep_resident: usize,
    /// Where compiled code is cached (`None`: compile at every start).
    pub cache_dir: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            max_jobs: std::thread::available_parallelism().map_or(2, |n| n.get() as u32) * 2,
            job_memory: 1 << 30,
            job_timeout: Duration::from_secs(30),
            keep_resident: 64 << 20,
            cache_dir: default_cache_dir(),
        }
    }
}

/// `$XDG_CACHE_HOME/kiln` or `~/.cache/kiln`.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("kiln"))
}

/// Per-job state: the memory cap, and whether the job hit it.
struct Job {
    memory_cap: usize,
    hit_memory_cap: bool,
}

impl ResourceLimiter for Job {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        let ok = desired <= self.memory_cap;
        self.hit_memory_cap |= !ok;
        Ok(ok)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 16)
    }
}

/// The engine kernels run on: one wasmtime `Engine` with its instance pool and epoch
/// ticker. Every kernel a server loads (the primary, a canary, the next version) shares
/// it, so the pool bounds the jobs of all of them together.
pub struct Sandbox {
    engine: Engine,
    config: SandboxConfig,
    _ticker: Ticker,
}

impl Sandbox {
    /// Builds the engine: a pool of `max_jobs` instances plus one for loading the next
    /// kernel while every slot runs a job.
    pub fn new(config: SandboxConfig) -> anyhow::Result<Arc<Sandbox>> {
        let instances = config.max_jobs + 1;
        let mut pool = PoolingAllocationConfig::default();
        // A kernel instance is three core instances (the kernel's module, and
        // wit-component's shim and fixup modules for the `session` resource's
        // destructor) with one memory and two tables.
        pool.total_component_instances(instances)
            .total_core_instances(instances * CORE_INSTANCES)
            .total_memories(instances)
            .total_tables(instances * 2)
            .max_memory_size(config.job_memory)
            .linear_memory_keep_resident(config.keep_resident.min(config.job_memory))
            .table_keep_resident(64 << 10)
            .pagemap_scan(Enabled::Auto);
        let mut wasm_config = Config::new();
        wasm_config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm_config).map_err(wt)?;
        let ticker = start_ticker(&engine);
        Ok(Arc::new(Sandbox {
            engine,
            config,
            _ticker: ticker,
        }))
    }

    /// The sandbox settings in force.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }
}

/// A kernel component, compiled and linked on a [`Sandbox`]. Each job gets a fresh
/// instance.
pub struct WasmKernel {
    sandbox: Arc<Sandbox>,
    pre: bindings::KilnPre<Job>,
    /// Where the compiled code came from, for logs: "cache" or "compiled".
    pub code_source: &'static str,
    /// sha256 of the component's bytes, in hex: which kernel this is.
    pub sha256: String,
}

struct Ticker {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl WasmKernel {
    /// A kernel on a sandbox of its own.
    pub fn new(component: &[u8], config: SandboxConfig) -> anyhow::Result<WasmKernel> {
        WasmKernel::load(&Sandbox::new(config)?, component)
    }

    /// Loads (or compiles and caches) the component on `sandbox` and links it. A
    /// component that is not a kiln kernel (another world, imports) is refused here.
    pub fn load(sandbox: &Arc<Sandbox>, component: &[u8]) -> anyhow::Result<WasmKernel> {
        let engine = &sandbox.engine;
        let digest = Sha256::digest(component);
        let (component, code_source) = load_component(engine, component, &digest, sandbox.config.cache_dir.as_deref())?;
        let linker = Linker::<Job>::new(engine);
        let instance_pre = linker.instantiate_pre(&component).map_err(wt)?;
        let pre = bindings::KilnPre::new(instance_pre).map_err(wt)?;
        Ok(WasmKernel {
            sandbox: sandbox.clone(),
            pre,
            code_source,
            sha256: format!("{digest:x}"),
        })
    }

    /// The sandbox this kernel runs on.
    pub fn sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    /// The sandbox settings in force.
    pub fn config(&self) -> &SandboxConfig {
        &self.sandbox.config
    }

    /// Names of the component's imports (the kernel must have none).
    pub fn imports(&self) -> Vec<String> {
        self.pre
            .instance_pre()
            .component()
            .component_type()
            .imports(&self.sandbox.engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    fn store(&self) -> Store<Job> {
        let config = &self.sandbox.config;
        let mut store = Store::new(
            &self.sandbox.engine,
            Job {
                memory_cap: config.job_memory,
                hit_memory_cap: false,
            },
        );
        store.limiter(|job| job as &mut dyn ResourceLimiter);
        // The bytes a guest may hand the host in one call (its output among them):
        // wasmtime's default of 128 MiB would refuse legal outputs, and the guest cannot
        // return more than its memory holds, which the limiter already caps.
        store.set_hostcall_fuel(config.job_memory);
        store.set_epoch_deadline(ticks(config));
        store
    }

    /// Runs one job in a fresh instance.
    pub fn run(&self, pipeline: &str, input: &[u8], limits: &Limits) -> Result<Output, Error> {
        self.run_job(pipeline, input, limits).0
    }

    /// Runs one job in a fresh instance; also says which of the job's budgets it hit,
    /// if one (then the error is `too_large`).
    pub fn run_job(&self, pipeline: &str, input: &[u8], limits: &Limits) -> (Result<Output, Error>, Option<Budget>) {
        let mut store = self.store();
        let result = self.pre.instantiate(&mut store).and_then(|kiln| {
            kiln.kiln_kernel_api()
                .call_run(&mut store, pipeline, input, wit_limits(limits))
        });
        match result {
            Ok(Ok(out)) => (Ok(output(out)), None),
            Ok(Err(e)) => (Err(error(e)), None),
            Err(trap) => {
                let budget = budget_hit(&store, &trap);
                (Err(self.trap_error(&store, &trap)), budget)
            }
        }
    }

    /// `check()` in a fresh instance: the pipeline's canonical JSON form, or why not.
    pub fn check(&self, pipeline: &str) -> Result<String, Error> {
        let mut store = self.store();
        match self
            .pre
            .instantiate(&mut store)
            .and_then(|kiln| kiln.kiln_kernel_api().call_check(&mut store, pipeline))
        {
            Ok(result) => result.map_err(error),
            Err(trap) => Err(self.trap_error(&store, &trap)),
        }
    }

    /// `describe()` in a fresh instance.
    pub fn describe(&self, limits: &Limits) -> Result<String, Error> {
        let mut store = self.store();
        self.pre
            .instantiate(&mut store)
            .and_then(|kiln| kiln.kiln_kernel_api().call_describe(&mut store, wit_limits(limits)))
            .map_err(|trap| self.trap_error(&store, &trap))
    }

    /// Opens a streaming session in a fresh instance, which is the session's alone
    /// until it is finished or dropped. Each call on it has the job's CPU time budget;
    /// its memory budget holds for the whole session.
    pub fn open_session(&self, pipeline: &str, limits: &Limits) -> Result<WasmSession, Error> {
        let mut store = self.store();
        let opened = self.pre.instantiate(&mut store).and_then(|kiln| {
            let api = kiln.kiln_kernel_api().clone();
            let session = api.session().call_open(&mut store, pipeline, wit_limits(limits))?;
            Ok((api, session))
        });
        match opened {
            Ok((api, Ok(session))) => Ok(WasmSession {
                store,
                api,
                session,
                sandbox: self.sandbox.clone(),
            }),
            Ok((_, Err(e))) => Err(error(e)),
            Err(trap) => Err(trap_error(&self.sandbox, &store, &trap)),
        }
    }

    fn trap_error(&self, store: &Store<Job>, e: &wasmtime::Error) -> Error {
        trap_error(&self.sandbox, store, e)
    }
}

/// A streaming session of the kernel ([`WasmKernel::open_session`]) in an instance of
/// its own; dropping it drops the instance.
pub struct WasmSession {
    store: Store<Job>,
    api: bindings::exports::kiln::kernel::api::Guest,
    session: wasmtime::component::ResourceAny,
    sandbox: Arc<Sandbox>,
}

impl WasmSession {
    /// Pushes the next input chunk: the output it completes.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, Error> {
        self.renew_deadline();
        match self.api.session().call_push(&mut self.store, self.session, chunk) {
            Ok(result) => result.map_err(error),
            Err(trap) => Err(trap_error(&self.sandbox, &self.store, &trap)),
        }
    }

    /// What is known of the output's meta before `finish`: kind, content type, version.
    pub fn meta(&mut self) -> Result<Meta, Error> {
        self.renew_deadline();
        match self.api.session().call_meta(&mut self.store, self.session) {
            Ok(m) => Ok(meta(m)),
            Err(trap) => Err(trap_error(&self.sandbox, &self.store, &trap)),
        }
    }

    /// Ends the input: the rest of the output and the meta.
    pub fn finish(mut self) -> Result<Output, Error> {
        self.renew_deadline();
        match self.api.session().call_finish(&mut self.store, self.session) {
            Ok(result) => result.map(output).map_err(error),
            Err(trap) => Err(trap_error(&self.sandbox, &self.store, &trap)),
        }
    }

    /// Gives the next call the job's whole CPU time budget.
    fn renew_deadline(&mut self) {
        self.store.set_epoch_deadline(ticks(&self.sandbox.config));
    }
}

/// The job deadline in epoch ticks.
fn ticks(config: &SandboxConfig) -> u64 {
    (config.job_timeout.as_micros() / TICK.as_micros()).max(1) as u64
}

/// A trap is the host's business: the CPU and memory budgets are limits
/// (`too_large`); anything else is a kernel bug (`internal`).
fn trap_error(sandbox: &Sandbox, store: &Store<Job>, e: &wasmtime::Error) -> Error {
    match (budget_hit(store, e), e.downcast_ref::<Trap>()) {
        (Some(Budget::Memory), _) => Error::too_large(format!(
            "job exceeded its memory budget of {} MiB",
            sandbox.config.job_memory >> 20
        )),
        (Some(Budget::Time), _) => Error::too_large(format!(
            "job exceeded its CPU time budget of {} ms",
            sandbox.config.job_timeout.as_millis()
        )),
        // The client gets the trap's kind; the wasm backtrace (the kernel's
        // internals) goes to the log only.
        (None, Some(trap)) => {
            tracing::error!("kernel trapped: {e:?}");
            Error::internal(format!("kernel trapped: {trap}"))
        }
        (None, None) => {
            tracing::error!("kernel call failed: {e:?}");
            Error::internal("kernel trapped")
        }
    }
}

/// A job budget of the sandbox (not a limit of the kernel's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// `job_memory`.
    Memory,
    /// `job_timeout`.
    Time,
}

/// The budget a trap came from, if it came from one.
fn budget_hit(store: &Store<Job>, e: &wasmtime::Error) -> Option<Budget> {
    if store.data().hit_memory_cap {
        Some(Budget::Memory)
    } else if matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
        Some(Budget::Time)
    } else {
        None
    }
}

/// The kernel's `Output` from the boundary's record (the same fields).
fn output(out: wit::Output) -> Output {
    Output {
        meta: meta(out.meta),
        data: out.data,
    }
}

/// The kernel's `Meta` from the boundary's record (the same fields).
fn meta(m: wit::Meta) -> Meta {
    Meta {
        kind: m.kind,
        content_type: m.content_type,
        width: m.width,
        height: m.height,
        format: m.format,
        trim_left: m.trim_left,
        trim_top: m.trim_top,
        rows: m.rows,
        columns: m.columns,
        version: m.version,
    }
}

/// The kernel's `Error` from the boundary's record.
fn error(e: wit::Error) -> Error {
    use wit::ErrorCode as Wit;
    let code = match e.code {
        Wit::BadPipeline => ErrorCode::BadPipeline,
        Wit::BadInput => ErrorCode::BadInput,
        Wit::Unsupported => ErrorCode::Unsupported,
        Wit::TooLarge => ErrorCode::TooLarge,
        Wit::Internal => ErrorCode::Internal,
    };
    Error {
        code,
        message: e.message,
        step: e.step.map(|s| s as usize),
        param: e.param,
    }
}

fn wit_limits(l: &Limits) -> wit::Limits {
    wit::Limits {
        max_input_bytes: l.max_input_bytes,
        max_output_bytes: l.max_output_bytes,
        max_pixels: l.max_pixels,
        max_dimension: l.max_dimension,
        max_decompressed_bytes: l.max_decompressed_bytes,
        max_rows: l.max_rows,
        max_columns: l.max_columns,
        max_json_depth: l.max_json_depth,
        max_memory_bytes: l.max_memory_bytes,
    }
}

fn wt(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

/// Advances the epoch once per [`TICK`] of wall time since the start — catching up
/// after a late wake-up — so deadlines hold on a busy machine instead of drifting by
/// every late sleep.
fn start_ticker(engine: &Engine) -> Ticker {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (engine, flag) = (engine.clone(), stop.clone());
    std::thread::Builder::new()
        .name("kiln-epoch".into())
        .spawn(move || {
            let start = std::time::Instant::now();
            let mut ticks: u128 = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(TICK);
                let due = start.elapsed().as_micros() / TICK.as_micros();
                while ticks < due {
                    engine.increment_epoch();
                    ticks += 1;
                }
            }
        })
        .expect("spawn the epoch thread");
    Ticker { stop }
}

/// Loads compiled code from the cache, or compiles the component and caches it. The
/// cache key covers the component (its sha256) and everything of this engine that compiled
/// code depends on (`precompile_compatibility_hash`), so a stale entry is never used.
fn load_component(
    engine: &Engine,
    bytes: &[u8],
    digest: &[u8],
    cache: Option<&Path>,
) -> anyhow::Result<(Component, &'static str)> {
    let Some(dir) = cache else {
        return Ok((Component::new(engine, bytes).map_err(wt)?, "compiled"));
    };
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.update(digest);
    let key: String = format!("{:x}", hasher.0.finalize()).chars().take(32).collect();
    let name = format!("kernel-{key}.cwasm");
    // Compiled code runs as is: it is used only from a cache no one else could write
    // ([`cache`]).
    if let Some(code) = cache::load(dir, &name) {
        // SAFETY: the file was written by `precompile_component` below, in a cache folder
        // of this user that no one else may write, under a key that pins the engine and
        // the component; wasmtime also checks the header and refuses mismatched code.
        match unsafe { Component::deserialize(engine, &code) } {
            Ok(c) => return Ok((c, "cache")),
            Err(e) => tracing::warn!("ignoring unusable cached kernel {name} in {}: {e:?}", dir.display()),
        }
    }
    let compiled = engine.precompile_component(bytes).map_err(wt)?;
    if !cache::store(dir, &name, &compiled) {
        tracing::warn!(
            "not caching the compiled kernel: {} is not a folder of this user that only it may write",
            dir.display()
        );
    }
    // SAFETY: these bytes were just produced by `precompile_component` of this engine.
    let component = unsafe { Component::deserialize(engine, &compiled) }.map_err(wt)?;
    Ok((component, "compiled"))
}

struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
