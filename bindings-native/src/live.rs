//! The kernels a server runs, changed while it serves: the primary, and maybe a canary
//! that takes a share of the jobs and is rolled back when it faults more than the
//! primary.
//!
//! What serves — primary, canary, `/v1/ops` — is one value behind an `ArcSwap`,
//! replaced whole by each change. Each job takes the kernel it runs on once, at its
//! start ([`Live::pick`]), and holds it to the end: a swap changes what later jobs get,
//! never a running one, and the old kernel is dropped with its last job. Loading — verify the
//! signature, compile, `describe()` — happens before the swap and off the job path.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use kiln_kernel::{Error, ErrorCode, Limits, Output};

use crate::metrics::{JobLabels, KernelLabels, Metrics};
use crate::signing::{self, Trust};
use kiln_sandbox::{Budget, Sandbox, WasmKernel};

use crate::Kernel;

/// A kernel ready to serve, with what names it.
pub struct Loaded {
    pub kernel: Kernel,
    /// The kernel's own version (its `describe()`).
    pub version: String,
    /// sha256 of the component, hex; empty for the native engine.
    pub sha256: String,
    /// `describe()` under the server's limits, with `"kernel"`.
    describe: serde_json::Value,
    jobs: AtomicU64,
    faults: AtomicU64,
}

impl Loaded {
    /// Describes `kernel` under `limits`; a kernel that cannot is refused.
    pub fn new(kernel: Kernel, limits: &Limits) -> anyhow::Result<Loaded> {
        let describe = kernel
            .describe(limits)
            .map_err(|e| anyhow::anyhow!("the kernel's describe() failed: {e}"))?;
        let version = describe["version"]
            .as_str()
            .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic() && b != b';'))
            .ok_or_else(|| {
                anyhow::anyhow!("the kernel's describe() names no version of 1-64 visible ASCII characters")
            })?
            .to_owned();
        let sha256 = match &kernel {
            Kernel::Wasm(k) => k.sha256.clone(),
            Kernel::Native => String::new(),
        };
        Ok(Loaded {
            kernel,
            version,
            sha256,
            describe,
            jobs: AtomicU64::new(0),
            faults: AtomicU64::new(0),
        })
    }

    /// `version=…; sha256=…` (or `engine=native`): the `kiln-kernel` response header.
    pub fn label(&self) -> String {
        if self.sha256.is_empty() {
            format!("version={}; engine=native", self.version)
        } else {
            format!("version={}; sha256={}", self.version, self.sha256)
        }
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "version": self.version,
            "sha256": self.sha256,
            "jobs": self.jobs.load(Ordering::Relaxed),
            "faults": self.faults.load(Ordering::Relaxed),
        })
    }
}

/// Which kernel ran a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Primary,
    Canary,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Canary => "canary",
        }
    }
}

/// When a canary is rolled back: after `min_jobs` of its jobs, once its fault rate
/// (`internal` errors and traps, and jobs cut at their deadline or memory cap) passes
/// the primary's over the same period by
/// more than `threshold_pp` percentage points.
#[derive(Debug, Clone, Copy)]
pub struct CanaryPolicy {
    pub threshold_pp: f64,
    pub min_jobs: u64,
}

impl Default for CanaryPolicy {
    fn default() -> Self {
        CanaryPolicy {
            threshold_pp: 1.0,
            min_jobs: 100,
        }
    }
}

/// A canary: its kernel, its share, and both kernels' jobs and faults since it started.
pub struct Canary {
    pub loaded: Arc<Loaded>,
    pub percent: u32,
    /// Jobs picked since the canary started: job n goes to the canary when
    /// `⌊(n+1)·p/100⌋ > ⌊n·p/100⌋`, an exact, evenly spread share.
    picked: AtomicU64,
    canary: Tally,
    primary: Tally,
}

#[derive(Default)]
struct Tally {
    jobs: AtomicU64,
    faults: AtomicU64,
}

impl Tally {
    fn add(&self, fault: bool) -> (u64, u64) {
        let jobs = self.jobs.fetch_add(1, Ordering::Relaxed) + 1;
        let faults = self.faults.fetch_add(u64::from(fault), Ordering::Relaxed) + u64::from(fault);
        (jobs, faults)
    }

    fn get(&self) -> (u64, u64) {
        (self.jobs.load(Ordering::Relaxed), self.faults.load(Ordering::Relaxed))
    }
}

fn rate((jobs, faults): (u64, u64)) -> f64 {
    if jobs == 0 { 0.0 } else { faults as f64 / jobs as f64 }
}

impl Canary {
    fn takes_next(&self) -> bool {
        let n = self.picked.fetch_add(1, Ordering::Relaxed);
        let p = u64::from(self.percent);
        (n + 1) * p / 100 > n * p / 100
    }

    /// The reason to roll back, if there is one now.
    fn fault_verdict(&self, policy: &CanaryPolicy) -> Option<String> {
        let (canary, primary) = (self.canary.get(), self.primary.get());
        let (c, p) = (rate(canary) * 100.0, rate(primary) * 100.0);
        (canary.0 >= policy.min_jobs && c > p + policy.threshold_pp).then(|| {
            format!(
                "canary fault rate {c:.2}% ({} of {} jobs) exceeds the primary's {p:.2}% ({} of {}) by more than {} points",
                canary.1, canary.0, primary.1, primary.0, policy.threshold_pp
            )
        })
    }

    fn summary(&self) -> serde_json::Value {
        let (canary, primary) = (self.canary.get(), self.primary.get());
        serde_json::json!({
            "kernel": self.loaded.summary(),
            "percent": self.percent,
            "since_start": {
                "canary": { "jobs": canary.0, "faults": canary.1 },
                "primary": { "jobs": primary.0, "faults": primary.1 },
            },
        })
    }
}

/// The kernel a job runs on, and the canary that was active when it was picked.
pub struct Pick {
    pub loaded: Arc<Loaded>,
    pub role: Role,
    canary: Option<Arc<Canary>>,
}

/// Why a kernel could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// Unsigned, tampered or signed by an untrusted key.
    Untrusted(String),
    /// Not a kiln kernel component, or it failed to start.
    Invalid(String),
    /// This server cannot change kernels (the native engine).
    Unsupported(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Untrusted(m) => write!(f, "kernel refused: {m}"),
            LoadError::Invalid(m) => write!(f, "not a usable kiln kernel: {m}"),
            LoadError::Unsupported(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for LoadError {}

/// What serves now. Swapped whole, so a reader never sees half a change.
struct Serving {
    primary: Arc<Loaded>,
    canary: Option<Arc<Canary>>,
    /// `/v1/ops`: the primary's `describe()` with the canary.
    ops: Arc<String>,
}

/// The live kernels of a server.
pub struct Live {
    serving: ArcSwap<Serving>,
    /// `None` for the native engine, which cannot change kernels.
    sandbox: Option<Arc<Sandbox>>,
    trust: Trust,
    limits: Limits,
    policy: CanaryPolicy,
    metrics: Arc<Metrics>,
    /// Serialises changes; holds their last [`EVENTS_KEPT`] events, oldest first.
    changes: Mutex<Vec<serde_json::Value>>,
    /// Serialises installs, load and change together, so they apply in the order they
    /// were made (and the pool's one spare instance serves one `describe()` at a time).
    installing: Mutex<()>,
}

impl Live {
    pub fn new(
        primary: Loaded,
        trust: Trust,
        limits: Limits,
        policy: CanaryPolicy,
        metrics: Arc<Metrics>,
    ) -> Arc<Live> {
        let sandbox = match &primary.kernel {
            Kernel::Wasm(k) => Some(k.sandbox().clone()),
            Kernel::Native => None,
        };
        let primary = Arc::new(primary);
        let live = Arc::new(Live {
            serving: ArcSwap::from_pointee(Serving {
                primary: primary.clone(),
                canary: None,
                ops: Arc::default(),
            }),
            sandbox,
            trust,
            limits,
            policy,
            metrics,
            changes: Mutex::new(Vec::new()),
            installing: Mutex::new(()),
        });
        live.publish(&mut live.lock_changes(), primary, None);
        live
    }

    /// Verifies and loads a kernel component and makes it the primary or the canary
    /// (`as_canary`: its percent). CPU-heavy (compiling), so call it off the async
    /// runtime. `signature` is the content of its `.sig` file.
    pub fn install(
        &self,
        bytes: &[u8],
        signature: Option<&str>,
        source: &str,
        as_canary: Option<u32>,
    ) -> Result<(), LoadError> {
        let _one_at_a_time = self
            .installing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let loaded = self.load(bytes, signature, source)?;
        match as_canary {
            Some(percent) => self.start_canary(loaded, percent, source),
            None => self.swap_primary(loaded, source),
        }
        Ok(())
    }

    /// [`Live::install`] of the kernel file at `path` and its `path.sig` (if any).
    pub fn install_file(&self, path: &Path, as_canary: Option<u32>) -> Result<(), LoadError> {
        let (bytes, signature) = signing::read_kernel_file(path).map_err(LoadError::Invalid)?;
        self.install(&bytes, signature.as_deref(), &path.display().to_string(), as_canary)
    }

    fn load(&self, bytes: &[u8], signature: Option<&str>, source: &str) -> Result<Loaded, LoadError> {
        let sandbox = self.sandbox.as_ref().ok_or_else(|| {
            LoadError::Unsupported("kernels can be changed only with the wasm engine (--engine wasm)".into())
        })?;
        let manifest = self
            .trust
            .admit(bytes, signature, source)
            .map_err(|e| LoadError::Untrusted(e.to_string()))?;
        let kernel = WasmKernel::load(sandbox, bytes).map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        let loaded =
            Loaded::new(Kernel::Wasm(kernel), &self.limits).map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        self.trust
            .check_version(manifest.as_ref(), &loaded.version)
            .map_err(|e| LoadError::Untrusted(e.to_string()))?;
        tracing::info!(
            source,
            version = loaded.version,
            sha256 = loaded.sha256,
            "kernel loaded"
        );
        Ok(loaded)
    }

    /// The kernel for the next job.
    pub fn pick(&self) -> Pick {
        let serving = self.serving.load();
        match &serving.canary {
            Some(c) if c.takes_next() => Pick {
                loaded: c.loaded.clone(),
                role: Role::Canary,
                canary: Some(c.clone()),
            },
            canary => Pick {
                loaded: serving.primary.clone(),
                role: Role::Primary,
                canary: canary.clone(),
            },
        }
    }

    /// Runs a job on the kernel picked for it, counts it, and rolls the canary back if
    /// this job tipped it over the policy.
    pub fn run(&self, pick: &Pick, pipeline: &str, input: &[u8]) -> Result<Output, Error> {
        let (result, budget) = pick.loaded.kernel.run_job(pipeline, input, &self.limits);
        self.record(pick, result.as_ref().map(|_| ()), budget);
        result
    }

    /// Counts a job's outcome (a run or a streaming session) on the kernel it ran on,
    /// and rolls the canary back if this job tipped it over the policy.
    pub fn record(&self, pick: &Pick, result: Result<(), &Error>, budget: Option<Budget>) {
        // Kernel bugs (`internal`, traps) and the sandbox's budgets hit (deadline,
        // memory cap: a kernel slower or hungrier than the other shows there).
        let fault = budget.is_some() || matches!(&result, Err(e) if e.code == ErrorCode::Internal);
        pick.loaded.jobs.fetch_add(1, Ordering::Relaxed);
        pick.loaded.faults.fetch_add(u64::from(fault), Ordering::Relaxed);
        self.metrics
            .jobs
            .get_or_create(&JobLabels {
                role: pick.role.as_str(),
                version: pick.loaded.version.clone(),
                sha256: pick.loaded.sha256.clone(),
                outcome: match &result {
                    Ok(_) => "ok",
                    Err(e) => e.code.as_str(),
                },
            })
            .inc();
        if let Some(c) = &pick.canary {
            match pick.role {
                Role::Primary => {
                    c.primary.add(fault);
                }
                Role::Canary => {
                    c.canary.add(fault);
                    if let Some(reason) = c.fault_verdict(&self.policy) {
                        self.roll_back(c, &reason);
                    }
                }
            }
        }
    }

    /// Makes `loaded` the primary.
    fn swap_primary(&self, loaded: Loaded, source: &str) {
        let mut events = self.lock_changes();
        let (old, new) = (self.serving.load_full(), Arc::new(loaded));
        tracing::info!(
            source,
            from = old.primary.sha256,
            to = new.sha256,
            version = new.version,
            "primary kernel swapped"
        );
        self.metrics.swaps.inc();
        events.push(event("swap", source, &new, None));
        // A canary older than the new primary would be a downgrade if promoted: stopped.
        self.trust.raise_floor(&new.version);
        let canary = old.canary.clone().filter(|c| {
            let keep = self.trust.check_version(None, &c.loaded.version).is_ok();
            if !keep {
                tracing::warn!(sha256 = c.loaded.sha256, "canary stopped: older than the new primary");
                events.push(event(
                    "stop",
                    source,
                    &c.loaded,
                    Some("older than the new primary".into()),
                ));
            }
            keep
        });
        self.publish(&mut events, new, canary);
    }

    /// Routes `percent` of jobs to `loaded`, replacing any canary.
    fn start_canary(&self, loaded: Loaded, percent: u32, source: &str) {
        let mut events = self.lock_changes();
        let canary = Arc::new(Canary {
            loaded: Arc::new(loaded),
            percent: percent.min(100),
            picked: AtomicU64::new(0),
            canary: Tally::default(),
            primary: Tally::default(),
        });
        tracing::info!(
            source,
            sha256 = canary.loaded.sha256,
            version = canary.loaded.version,
            percent,
            "canary started"
        );
        events.push(event(
            "canary",
            source,
            &canary.loaded,
            Some(format!("{percent}% of jobs")),
        ));
        let primary = self.serving.load().primary.clone();
        self.publish(&mut events, primary, Some(canary));
    }

    /// Stops the canary (if any); returns whether there was one.
    pub fn stop_canary(&self, source: &str) -> bool {
        let mut events = self.lock_changes();
        let serving = self.serving.load_full();
        let Some(old) = &serving.canary else {
            return false;
        };
        tracing::info!(source, sha256 = old.loaded.sha256, "canary stopped");
        events.push(event("canary_stopped", source, &old.loaded, None));
        self.publish(&mut events, serving.primary.clone(), None);
        true
    }

    /// Makes the canary the primary; returns whether there was one.
    /// Makes the canary the primary: `Ok(false)` when there is none; refused when its
    /// version is below the floor (a newer primary served since it was loaded).
    pub fn promote_canary(&self, source: &str) -> Result<bool, LoadError> {
        let mut events = self.lock_changes();
        let Some(old) = self.serving.load().canary.clone() else {
            return Ok(false);
        };
        self.trust
            .check_version(None, &old.loaded.version)
            .map_err(|e| LoadError::Untrusted(e.to_string()))?;
        tracing::info!(source, sha256 = old.loaded.sha256, "canary promoted to primary");
        self.metrics.swaps.inc();
        events.push(event("promote", source, &old.loaded, None));
        self.publish(&mut events, old.loaded.clone(), None);
        Ok(true)
    }

    fn roll_back(&self, canary: &Arc<Canary>, reason: &str) {
        let mut events = self.lock_changes();
        // Only the canary that was judged, and only once.
        let serving = self.serving.load_full();
        if !serving.canary.as_ref().is_some_and(|c| Arc::ptr_eq(c, canary)) {
            return;
        }
        tracing::error!(sha256 = canary.loaded.sha256, "canary ROLLED BACK: {reason}");
        self.metrics.rollbacks.inc();
        events.push(event("rollback", "policy", &canary.loaded, Some(reason.to_owned())));
        self.publish(&mut events, serving.primary.clone(), None);
    }

    /// The primary now.
    pub fn primary(&self) -> Arc<Loaded> {
        self.serving.load().primary.clone()
    }

    /// `GET /v1/ops`.
    pub fn ops(&self) -> Arc<String> {
        self.serving.load().ops.clone()
    }

    /// The state for `GET /v1/admin/kernels`: both kernels, their counts, the changes.
    pub fn state(&self) -> serde_json::Value {
        let events = self.lock_changes();
        let serving = self.serving.load();
        serde_json::json!({
            "primary": serving.primary.summary(),
            "canary": serving.canary.as_ref().map(|c| c.summary()),
            "policy": { "threshold_pp": self.policy.threshold_pp, "min_jobs": self.policy.min_jobs },
            "events": *events,
        })
    }

    /// The limits every job runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Jobs that may run at once.
    pub fn max_jobs(&self) -> usize {
        self.serving.load().primary.kernel.max_jobs()
    }

    fn lock_changes(&self) -> std::sync::MutexGuard<'_, Vec<serde_json::Value>> {
        self.changes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes `primary` and `canary` what serves, with their `/v1/ops`, sets the
    /// `kiln_kernel` gauge and trims the events; called with `changes` held.
    fn publish(&self, events: &mut Vec<serde_json::Value>, primary: Arc<Loaded>, canary: Option<Arc<Canary>>) {
        // No kernel older than a primary is loaded again (unless downgrades are allowed).
        self.trust.raise_floor(&primary.version);
        let excess = events.len().saturating_sub(EVENTS_KEPT);
        events.drain(..excess);
        let mut ops = primary.describe.clone();
        self.metrics.kernels.clear();
        let mut serving = vec![("primary", &primary)];
        if let Some(c) = canary.as_ref() {
            ops["kernel"]["canary"] = serde_json::json!({
                "version": c.loaded.version,
                "sha256": c.loaded.sha256,
                "percent": c.percent,
            });
            serving.push(("canary", &c.loaded));
        }
        for (role, loaded) in serving {
            let labels = KernelLabels {
                role,
                version: loaded.version.clone(),
                sha256: loaded.sha256.clone(),
            };
            self.metrics.kernels.get_or_create(&labels).set(1);
        }
        self.serving.store(Arc::new(Serving {
            primary,
            canary,
            ops: Arc::new(ops.to_string()),
        }));
    }
}

/// Events kept for `GET /v1/admin/kernels`.
const EVENTS_KEPT: usize = 100;

fn event(kind: &str, source: &str, loaded: &Loaded, detail: Option<String>) -> serde_json::Value {
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    serde_json::json!({
        "event": kind,
        "source": source,
        "version": loaded.version,
        "sha256": loaded.sha256,
        "detail": detail,
        "unix_time": at,
    })
}

/// The kernel file of a watched directory.
pub fn watched_kernel(dir: &Path) -> PathBuf {
    dir.join("kernel.wasm")
}

/// Watches `dir` for a new `kernel.wasm` (+ `kernel.wasm.sig`): every `every`, when
/// either file changed (inode, size or modification time), reads both and, for a kernel
/// other than the primary, installs it as the primary. A refused kernel is logged and
/// tried again when its files change (a half-copied file is retried); a kernel that
/// could not be read is tried again at the next tick.
pub async fn watch(live: Arc<Live>, dir: PathBuf, every: Duration) {
    let kernel = watched_kernel(&dir);
    let sig = signing::signature_path(&kernel);
    let mut seen = (stamp(&kernel), stamp(&sig));
    loop {
        tokio::time::sleep(every).await;
        let now = (stamp(&kernel), stamp(&sig));
        if now == seen || now.0.is_none() {
            seen = now;
            continue;
        }
        let (live, path) = (live.clone(), kernel.clone());
        let outcome = tokio::task::spawn_blocking(move || {
            let (bytes, signature) = signing::read_kernel_file(&path)?;
            if signing::sha256_hex(&bytes) == live.primary().sha256 {
                return Ok(Ok(()));
            }
            Ok::<_, String>(live.install(&bytes, signature.as_deref(), &path.display().to_string(), None))
        })
        .await;
        match outcome {
            Ok(Ok(installed)) => {
                seen = now;
                if let Err(e) = installed {
                    tracing::error!(dir = %dir.display(), "watched kernel not swapped in: {e}");
                }
            }
            // Not read (gone again, unreadable): the next tick tries again.
            Ok(Err(e)) => tracing::warn!(dir = %dir.display(), "watched kernel not read: {e}"),
            Err(e) => tracing::error!("kernel watcher task failed: {e}"),
        }
    }
}

/// What tells a file changed: inode (a rename into place), size, modification time.
fn stamp(path: &Path) -> Option<(u64, u64, Option<std::time::SystemTime>)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((inode, meta.len(), meta.modified().ok()))
}
