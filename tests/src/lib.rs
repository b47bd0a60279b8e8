//! kiln's conformance runner: runs cases (loaded by `kiln-case-format`) on every
//! chosen target, and compares the result with the case's expectation and with the
//! native kernel's bytes.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;

pub use kiln_case_format::{Case, Expect, error_cases, kiln_cases_dir, load_cases};
use sha2::{Digest, Sha256};

/// What a target returned for one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Output bytes and the meta JSON.
    Ok(Vec<u8>, serde_json::Value),
    /// An error code and message.
    Err(String, String),
    /// The target itself failed (a crash, a trap, a lost connection).
    Crash(String),
}

/// A place the kernel runs.
pub trait Target {
    /// Short name for the matrix.
    fn name(&self) -> &str;
    /// Runs one job.
    fn run(&mut self, pipeline: &str, input: &[u8]) -> Outcome;
    /// Runs one job through the target's streaming session, the input pushed in pieces
    /// of `chunks` bytes (cycled), the outputs joined.
    fn stream(&mut self, pipeline: &str, input: &[u8], chunks: &[usize]) -> Outcome;
    /// Why this target cannot run this case, if it cannot (listed, never silent).
    fn skip(&self, _case: &Case) -> Option<String> {
        None
    }
}

/// The kernel linked natively: the reference every other target must match.
pub struct Native;

impl Target for Native {
    fn name(&self) -> &str {
        "native"
    }
    fn run(&mut self, pipeline: &str, input: &[u8]) -> Outcome {
        std::panic::catch_unwind(|| kiln_kernel::run(pipeline, input)).map_or_else(|_| panicked(), outcome)
    }
    fn stream(&mut self, pipeline: &str, input: &[u8], chunks: &[usize]) -> Outcome {
        std::panic::catch_unwind(|| {
            let session = kiln_kernel::Session::open(pipeline, &kiln_kernel::Limits::default())?;
            streamed(
                session,
                input,
                chunks,
                kiln_kernel::Session::push,
                kiln_kernel::Session::finish,
            )
        })
        .map_or_else(|_| panicked(), outcome)
    }
}

fn panicked() -> Outcome {
    Outcome::Crash("panicked".into())
}

/// What a kernel call gave: its output and meta, or its error (`internal`, a kernel bug,
/// is a crash).
fn outcome(result: Result<kiln_kernel::Output, kiln_kernel::Error>) -> Outcome {
    match result {
        Ok(out) => Outcome::Ok(out.data, serde_json::from_str(&out.meta.to_json()).unwrap_or_default()),
        Err(e) if e.code == kiln_kernel::ErrorCode::Internal => Outcome::Crash(e.message),
        Err(e) => Outcome::Err(e.code.as_str().to_owned(), e.message),
    }
}

/// Pushes `input`, cut by `chunks`, through `session`, then finishes it: the output of
/// every push and of the finish, joined, with the finish's meta.
fn streamed<S>(
    mut session: S,
    input: &[u8],
    chunks: &[usize],
    push: impl Fn(&mut S, &[u8]) -> Result<Vec<u8>, kiln_kernel::Error>,
    finish: impl FnOnce(S) -> Result<kiln_kernel::Output, kiln_kernel::Error>,
) -> Result<kiln_kernel::Output, kiln_kernel::Error> {
    let mut data = Vec::new();
    for piece in pieces(input, chunks) {
        data.extend(push(&mut session, piece)?);
    }
    let mut out = finish(session)?;
    data.extend(std::mem::take(&mut out.data));
    out.data = data;
    Ok(out)
}

/// `input` cut into pieces of `chunks` bytes, cycled (the last piece may be shorter).
pub fn pieces<'a>(input: &'a [u8], chunks: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut sizes = chunks.iter().copied().map(|n| n.max(1)).cycle();
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= input.len() {
            return None;
        }
        let n = sizes.next().unwrap_or(input.len()).min(input.len() - at);
        at += n;
        Some(&input[at - n..at])
    })
}

/// How the matrix runs each job: whole (`run`), or through each target's streaming
/// session with the input cut by a plan drawn from `seed` (`--stream`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Whole,
    Stream { seed: u64 },
}

/// The piece sizes a case's input is pushed in, in stream mode: one of 1 byte (inputs up
/// to 64 KiB), primes, 64 KiB, the whole input, or eight random sizes, drawn from `seed`
/// and the case's name, the same for every target of the row.
pub fn chunk_plan(seed: u64, case: &Case) -> Vec<usize> {
    // SplitMix64 over the seed and the name: no dependency, the same on every machine.
    let mut x = seed
        ^ case.name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let mut next = move || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    match next() % 5 {
        0 if case.input.len() <= 64 << 10 => vec![1],
        0 | 1 => vec![7, 13, 4093],
        2 => vec![64 << 10],
        3 => vec![case.input.len().max(1)],
        _ => (0..8).map(|_| 1 + (next() % 100_000) as usize).collect(),
    }
}

/// Why a case does not take part in stream mode, if it does not: its pipeline does not
/// stream (`run` takes it), or it expects the error of a bound on what `run` holds at
/// once (the memory model, the cells cap), which does not bind a session (DESIGN.md,
/// "Streaming").
pub fn not_streamed(case: &Case) -> Option<String> {
    let limits = kiln_kernel::Limits::default();
    if kiln_kernel::Session::open(&case.pipeline, &limits).is_err() && kiln_kernel::check(&case.pipeline).is_ok() {
        return Some("does not stream (run takes it)".into());
    }
    match kiln_kernel::run_with_limits(&case.pipeline, &case.input[..], &limits) {
        Err(e)
            if e.code == kiln_kernel::ErrorCode::TooLarge
                && (e.message.contains("max_memory_bytes") || e.message.contains("cells")) =>
        {
            Some("expects run's bound on what it holds, which does not bind a session".into())
        }
        _ => None,
    }
}

/// The code the HTTP drivers give a streamed answer cut short after it started.
pub const CUT_SHORT: &str = "cut_short";

/// Whether a case's error comes after more output than an HTTP host holds before it
/// starts a streamed answer (`kiln_http_api::stream::WINDOW`, with a margin for how the
/// host cuts the body): then the answer is cut short, not an error status.
pub fn late_error(case: &Case) -> bool {
    if case.expect.error.is_none() {
        return false;
    }
    let Ok(mut session) = kiln_kernel::Session::open(&case.pipeline, &kiln_kernel::Limits::default()) else {
        return false;
    };
    let mut given = 0;
    for piece in case.input.chunks(16 << 10) {
        match session.push(piece) {
            Ok(out) => given += out.len(),
            Err(_) => break,
        }
    }
    given > kiln_http_api::stream::WINDOW / 2
}

/// The verdict of one cell of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    /// Output differs from the expectation or from native.
    WrongOutput(String),
    /// An error where output was expected, or another code.
    ErrorMismatch(String),
    Crash(String),
    Skipped(String),
}

impl Verdict {
    fn mark(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::WrongOutput(_) => "WRONG",
            Verdict::ErrorMismatch(_) => "ERROR",
            Verdict::Crash(_) => "CRASH",
            Verdict::Skipped(_) => "skip",
        }
    }
}

/// Hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Judges one outcome against the case (and, for non-native targets, native's bytes).
pub fn judge(case: &Case, outcome: &Outcome, reference: Option<&Outcome>) -> Verdict {
    let e = &case.expect;
    let verdict = match (outcome, &e.error) {
        (Outcome::Crash(why), _) => return Verdict::Crash(why.clone()),
        (Outcome::Err(code, _), Some(want)) if code == want => Verdict::Pass,
        // An HTTP answer that started streaming and was then cut short: its code could
        // not be sent (DESIGN.md, "Streamed requests"), the cut is the error.
        (Outcome::Err(code, _), Some(_)) if code == CUT_SHORT => Verdict::Pass,
        (Outcome::Err(code, msg), Some(want)) => Verdict::ErrorMismatch(format!("expected {want}, got {code}: {msg}")),
        (Outcome::Err(code, msg), None) => Verdict::ErrorMismatch(format!("unexpected {code}: {msg}")),
        (Outcome::Ok(data, _), Some(want)) => {
            Verdict::ErrorMismatch(format!("expected error {want}, got {} bytes of output", data.len()))
        }
        (Outcome::Ok(data, meta), None) => judge_output(case, data, meta),
    };
    if verdict != Verdict::Pass {
        return verdict;
    }
    match (outcome, reference) {
        (Outcome::Ok(a, ma), Some(Outcome::Ok(b, mb))) if a != b || ma != mb => Verdict::WrongOutput(format!(
            "differs from native (sha256 {} vs {})",
            sha256_hex(a),
            sha256_hex(b)
        )),
        _ => Verdict::Pass,
    }
}

fn judge_output(case: &Case, data: &[u8], meta: &serde_json::Value) -> Verdict {
    let e = &case.expect;
    if let Some(want) = &e.meta {
        for (k, v) in want {
            if meta.get(k) != Some(v) {
                return Verdict::WrongOutput(format!(
                    "meta.{k}: expected {v}, got {}",
                    meta.get(k).unwrap_or(&serde_json::Value::Null)
                ));
            }
        }
    }
    if let Some(want) = &e.sha256 {
        let got = sha256_hex(data);
        return if &got == want {
            Verdict::Pass
        } else {
            Verdict::WrongOutput(format!("sha256 {got}"))
        };
    }
    if let Some(want) = &e.text {
        return match std::str::from_utf8(data) {
            Ok(t) if t == want => Verdict::Pass,
            Ok(t) => Verdict::WrongOutput(format!("text {:?}", truncate(t))),
            Err(_) => Verdict::WrongOutput("output is not UTF-8".into()),
        };
    }
    if let Some(want) = &case.expect_json {
        return match serde_json::from_slice::<serde_json::Value>(data) {
            Ok(v) if &v == want => Verdict::Pass,
            Ok(v) => Verdict::WrongOutput(format!("json {}", truncate(&v.to_string()))),
            Err(err) => Verdict::WrongOutput(format!("output is not JSON: {err}")),
        };
    }
    Verdict::WrongOutput("case has no expectation".into())
}

fn truncate(s: &str) -> String {
    let mut t: String = s.chars().take(200).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

/// The results of a run: one row per case, one verdict per target.
pub struct Matrix {
    pub targets: Vec<String>,
    pub rows: Vec<(String, Vec<Verdict>)>,
    pub mode: Mode,
}

impl Matrix {
    /// True when every cell passed or was skipped with a reason.
    pub fn ok(&self) -> bool {
        self.rows
            .iter()
            .all(|(_, v)| v.iter().all(|v| matches!(v, Verdict::Pass | Verdict::Skipped(_))))
    }

    /// (passed, failed, skipped) cells.
    pub fn counts(&self) -> (usize, usize, usize) {
        let cells = self.rows.iter().flat_map(|(_, v)| v);
        let (mut p, mut f, mut s) = (0, 0, 0);
        for v in cells {
            match v {
                Verdict::Pass => p += 1,
                Verdict::Skipped(_) => s += 1,
                _ => f += 1,
            }
        }
        (p, f, s)
    }

    /// The matrix as text: failures in full, passes compressed, then a summary line.
    pub fn render(&self, verbose: bool) -> String {
        let mut out = String::new();
        let width = self.rows.iter().map(|(n, _)| n.len()).max().unwrap_or(4).max(4);
        let _ = write!(out, "{:width$}", "case");
        for t in &self.targets {
            let _ = write!(out, "  {t:>8}");
        }
        out.push('\n');
        let mut details = String::new();
        // Rows skipped on every target for one reason: counted by reason (listed with
        // --verbose), so stream mode's many pipelines that do not stream stay readable.
        let mut skipped_rows: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
        for (name, verdicts) in &self.rows {
            if let [Verdict::Skipped(why), rest @ ..] = verdicts.as_slice()
                && rest.iter().all(|v| matches!(v, Verdict::Skipped(w) if w == why))
            {
                skipped_rows.entry(why).or_default().push(name);
                continue;
            }
            let all_pass = verdicts.iter().all(|v| *v == Verdict::Pass);
            if verbose || !all_pass {
                let _ = write!(out, "{name:width$}");
                for v in verdicts {
                    let _ = write!(out, "  {:>8}", v.mark());
                }
                out.push('\n');
            }
            for (t, v) in self.targets.iter().zip(verdicts) {
                match v {
                    Verdict::Pass => {}
                    Verdict::WrongOutput(d) | Verdict::ErrorMismatch(d) | Verdict::Crash(d) | Verdict::Skipped(d) => {
                        let _ = writeln!(details, "  {name} [{t}] {}: {d}", v.mark());
                    }
                }
            }
        }
        if !verbose {
            let passing = self
                .rows
                .iter()
                .filter(|(_, v)| v.iter().all(|v| *v == Verdict::Pass))
                .count();
            let _ = writeln!(
                out,
                "({passing} cases passing on every target not listed; --verbose lists them)"
            );
        }
        for (why, names) in &skipped_rows {
            let _ = writeln!(out, "({} cases skipped on every target: {why})", names.len());
            if verbose {
                for name in names {
                    let _ = writeln!(out, "  {name}");
                }
            }
        }
        if !details.is_empty() {
            out.push_str("\nnot passing:\n");
            out.push_str(&details);
        }
        let (p, f, s) = self.counts();
        let mode = match self.mode {
            Mode::Whole => String::new(),
            Mode::Stream { seed } => format!(", streamed: KILN_STREAM_SEED={seed}"),
        };
        let _ = writeln!(
            out,
            "\n{} cases x {} targets ({}{mode})",
            self.rows.len(),
            self.targets.len(),
            self.targets.join(", ")
        );
        let _ = writeln!(out, "{p} passed, {f} failed, {s} skipped");
        out
    }
}

/// Runs every case on every target. The first target should be native: the others
/// must match its bytes. In stream mode every job goes through the target's streaming
/// session, and is judged against the case's (one-shot) expectation.
pub fn run_matrix(cases: &[Case], targets: &mut [Box<dyn Target>], mode: Mode) -> Matrix {
    let names = targets.iter().map(|t| t.name().to_owned()).collect();
    let mut rows = Vec::with_capacity(cases.len());
    for case in cases {
        let mut verdicts = Vec::with_capacity(targets.len());
        let mut reference: Option<Outcome> = None;
        let (plan, unstreamed) = match mode {
            Mode::Whole => (Vec::new(), None),
            Mode::Stream { seed } => (chunk_plan(seed, case), not_streamed(case)),
        };
        for (i, target) in targets.iter_mut().enumerate() {
            if let Some(why) = case
                .skip
                .clone()
                .or_else(|| unstreamed.clone())
                .or_else(|| target.skip(case))
            {
                verdicts.push(Verdict::Skipped(why));
                continue;
            }
            let outcome = match mode {
                Mode::Whole => target.run(&case.pipeline, &case.input),
                Mode::Stream { .. } => target.stream(&case.pipeline, &case.input, &plan),
            };
            verdicts.push(judge(case, &outcome, reference.as_ref()));
            if i == 0 {
                reference = Some(outcome);
            }
        }
        rows.push((case.name.clone(), verdicts));
    }
    Matrix {
        targets: names,
        rows,
        mode,
    }
}

/// The kernel component in wasmtime, through kiln-sandbox (a fresh instance per job),
/// exactly as `kiln serve` runs it.
pub struct Wasmtime(kiln_sandbox::WasmKernel);

impl Wasmtime {
    pub fn new() -> Result<Wasmtime, String> {
        kiln_sandbox::WasmKernel::new(kiln_sandbox::EMBEDDED_KERNEL, kiln_sandbox::SandboxConfig::default())
            .map(Wasmtime)
            .map_err(|e| format!("wasmtime: {e:#}"))
    }
}

impl Target for Wasmtime {
    fn name(&self) -> &str {
        "wasmtime"
    }
    fn run(&mut self, pipeline: &str, input: &[u8]) -> Outcome {
        outcome(self.0.run(pipeline, input, &kiln_kernel::Limits::default()))
    }
    fn stream(&mut self, pipeline: &str, input: &[u8], chunks: &[usize]) -> Outcome {
        outcome(
            self.0
                .open_session(pipeline, &kiln_kernel::Limits::default())
                .and_then(|session| {
                    streamed(
                        session,
                        input,
                        chunks,
                        kiln_sandbox::WasmSession::push,
                        kiln_sandbox::WasmSession::finish,
                    )
                }),
        )
    }
}

/// The built npm package (`bindings-web/npm/dist`, from `scripts/build-web.sh`) in a
/// JS runtime, driven over JSON lines by a Node script in `tests/js/`: `node` runs the
/// package's Node entry in-process, `chromium` its browser entry in Debian's headless
/// Chromium through playwright-core. One job per line: `{"pipeline", "input"}` (base64)
/// in; `{"ok": true, "data", "meta"}`, `{"ok": false, "code", "message"}` or
/// `{"crash"}` out. `NODE` overrides the node binary, `CHROMIUM` the browser.
pub struct Js {
    name: &'static str,
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Js {
    /// Starts `tests/js/<script>` on the built package.
    pub fn spawn(name: &'static str, script: &str) -> Result<Js, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
        let dist = root.join("bindings-web/npm/dist");
        if !dist.join("kiln_bg.wasm").is_file() {
            return Err(format!(
                "{name}: the npm package is not built ({}); run scripts/build-web.sh --package",
                dist.display()
            ));
        }
        Js::start(name, &root.join("tests/js").join(script), &[dist.as_os_str()])
    }

    /// Starts `node SCRIPT ARGS...` in the repo root, speaking JSON lines.
    fn start(name: &'static str, script: &Path, args: &[&std::ffi::OsStr]) -> Result<Js, String> {
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
        Js::start_with(name, node.as_ref(), script, args)
    }

    /// Starts `PROGRAM SCRIPT ARGS...` (node, or another interpreter speaking the same
    /// JSON lines) in the repo root.
    fn start_with(
        name: &'static str,
        program: &std::ffi::OsStr,
        script: &Path,
        args: &[&std::ffi::OsStr],
    ) -> Result<Js, String> {
        use std::process::{Command, Stdio};
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
        let node = program.to_string_lossy();
        let mut child = Command::new(program)
            .arg(script)
            .args(args)
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{name}: cannot start `{node}`: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(std::io::BufReader::new);
        match (stdin, stdout) {
            (Some(stdin), Some(stdout)) => Ok(Js {
                name,
                child,
                stdin: Some(stdin),
                stdout,
            }),
            _ => Err(format!("{name}: no pipes to the driver process")),
        }
    }

    fn exchange(
        &mut self,
        pipeline: &str,
        input: &[u8],
        chunks: Option<&[usize]>,
    ) -> Result<serde_json::Value, String> {
        use std::io::{BufRead, Write};
        let mut request = serde_json::json!({
            "pipeline": pipeline,
            "input": base64::engine::general_purpose::STANDARD.encode(input),
        });
        if let Some(chunks) = chunks {
            request["chunks"] = serde_json::json!(chunks);
        }
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "{request}")
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("{} driver: {e}", self.name))?;
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err(format!("{} driver exited", self.name)),
            Ok(_) => serde_json::from_str(&line).map_err(|e| format!("{} driver: bad reply: {e}", self.name)),
            Err(e) => Err(format!("{} driver: {e}", self.name)),
        }
    }
}

impl Target for Js {
    fn name(&self) -> &str {
        self.name
    }
    fn run(&mut self, pipeline: &str, input: &[u8]) -> Outcome {
        self.job(pipeline, input, None)
    }
    fn stream(&mut self, pipeline: &str, input: &[u8], chunks: &[usize]) -> Outcome {
        self.job(pipeline, input, Some(chunks))
    }
}

impl Js {
    /// One job over the driver: whole, or streamed in `chunks` (the driver replies
    /// `crash` when it cannot stream, never a whole run in its place).
    fn job(&mut self, pipeline: &str, input: &[u8], chunks: Option<&[usize]>) -> Outcome {
        let reply = match self.exchange(pipeline, input, chunks) {
            Ok(r) => r,
            Err(e) => return Outcome::Crash(e),
        };
        let text = |k: &str| reply.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        match reply.get("ok").and_then(serde_json::Value::as_bool) {
            Some(true) => match base64::engine::general_purpose::STANDARD.decode(text("data")) {
                Ok(data) => Outcome::Ok(data, reply.get("meta").cloned().unwrap_or_default()),
                Err(e) => Outcome::Crash(format!("bad base64 from the driver: {e}")),
            },
            Some(false) => Outcome::Err(text("code"), text("message")),
            None => Outcome::Crash(text("crash")),
        }
    }
}

impl Drop for Js {
    /// Closes stdin so the driver shuts down cleanly (closing its browser), then
    /// waits a little before killing it.
    fn drop(&mut self) {
        drop(self.stdin.take());
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Cloudflare Worker (`bindings-edge/build`, from `scripts/build-edge.sh`) in workerd
/// through Miniflare: every job is a real `POST /v1/run?pipeline=` request, over the same
/// JSON lines as [`Js`] (driver: `bindings-edge/test/workerd-target.mjs`). Jobs run under
/// the Worker's limits (`kiln_http_api::profiles::worker`), so inputs over its 16 MiB are
/// skipped.
pub struct Workerd(Js);

/// The Worker's input limit.
const WORKERD_MAX_INPUT: usize = kiln_http_api::profiles::WORKER_MAX_BODY;

impl Workerd {
    pub fn spawn() -> Result<Workerd, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
        let edge = root.join("bindings-edge");
        if !edge.join("build/index_bg.wasm").is_file() {
            return Err("workerd: the Worker is not built (bindings-edge/build); run scripts/build-edge.sh".into());
        }
        Js::start("workerd", &edge.join("test/workerd-target.mjs"), &[]).map(Workerd)
    }
}

impl Target for Workerd {
    fn name(&self) -> &str {
        "workerd"
    }
    fn run(&mut self, pipeline: &str, input: &[u8]) -> Outcome {
        self.0.run(pipeline, input)
    }
    fn stream(&mut self, pipeline: &str, input: &[u8], chunks: &[usize]) -> Outcome {
        self.0.stream(pipeline, input, chunks)
    }
    fn skip(&self, case: &Case) -> Option<String> {
        if late_error(case) {
            return Some(
                "its error comes after the streamed answer started, and workerd ends an errored body cleanly \
                 (cloudflare/workerd#6818): the cut is not seen"
                    .into(),
            );
        }
        (case.input.len() > WORKERD_MAX_INPUT).then(|| "input over the Worker's 16 MiB limit".into())
    }
}

/// Every target name this build knows.
/// The `wasmtime-py` target: the embedded kernel component (what `kiln export-kernel`
/// writes) in wasmtime-py's component API (tests/py/wasmtime-py-target.py), with the
/// kernel's default limits. Its Python is `KILN_PYTHON`, else the venv scripts/setup.sh
/// makes (target/wasmtime-py-venv, from examples/python/requirements.txt).
pub struct WasmtimePy {
    driver: Js,
    kernel: std::path::PathBuf,
}

impl WasmtimePy {
    /// Writes the kernel to a temporary file and starts the driver on it.
    pub fn spawn() -> Result<WasmtimePy, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
        let python =
            std::env::var_os("KILN_PYTHON").map_or_else(|| root.join("target/wasmtime-py-venv/bin/python"), Into::into);
        if !python.is_file() {
            return Err(format!(
                "wasmtime-py: no {}; run scripts/setup.sh (or set KILN_PYTHON)",
                python.display()
            ));
        }
        let kernel = std::env::temp_dir().join(format!("kiln-cases-kernel-{}.wasm", std::process::id()));
        std::fs::write(&kernel, kiln_sandbox::EMBEDDED_KERNEL)
            .map_err(|e| format!("wasmtime-py: writing {}: {e}", kernel.display()))?;
        let script = root.join("tests/py/wasmtime-py-target.py");
        match Js::start_with("wasmtime-py", python.as_os_str(), &script, &[kernel.as_os_str()]) {
            Ok(driver) => Ok(WasmtimePy { driver, kernel }),
            Err(e) => {
                let _ = std::fs::remove_file(&kernel);
                Err(e)
            }
        }
    }
}

impl Target for WasmtimePy {
    fn name(&self) -> &str {
        "wasmtime-py"
    }
    fn run(&mut self, pipeline: &str, input: &[u8]) -> Outcome {
        self.driver.run(pipeline, input)
    }
    fn stream(&mut self, pipeline: &str, input: &[u8], chunks: &[usize]) -> Outcome {
        self.driver.stream(pipeline, input, chunks)
    }
}

impl Drop for WasmtimePy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.kernel);
    }
}

/// The `wasi-http` target: kiln-http, HTTP API v1 as a wasi:http component
/// (`target/components/kiln-http.wasm`, from scripts/build-wasi-http.sh), under `wasmtime
/// serve` (`KILN_WASMTIME`, else `wasmtime` on PATH), every job a `POST /v1/run`
/// (tests/js/wasi-http-target.mjs). Its limits are `kiln serve`'s defaults.
pub struct WasiHttp(Js);

impl WasiHttp {
    /// Starts the driver, which starts `wasmtime serve`.
    pub fn spawn() -> Result<WasiHttp, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
        let component = root.join("target/components/kiln-http.wasm");
        if !component.is_file() {
            return Err(format!(
                "wasi-http: {} is not built; run scripts/build-wasi-http.sh",
                component.display()
            ));
        }
        Js::start("wasi-http", &root.join("tests/js/wasi-http-target.mjs"), &[]).map(WasiHttp)
    }
}

impl Target for WasiHttp {
    fn name(&self) -> &str {
        "wasi-http"
    }
    fn run(&mut self, pipeline: &str, input: &[u8]) -> Outcome {
        self.0.run(pipeline, input)
    }
    fn stream(&mut self, pipeline: &str, input: &[u8], chunks: &[usize]) -> Outcome {
        self.0.stream(pipeline, input, chunks)
    }
}

/// Every target's name, in the order of the matrix's columns.
pub const TARGETS: &[&str] = &[
    "native",
    "wasmtime",
    "node",
    "chromium",
    "workerd",
    "wasmtime-py",
    "wasi-http",
];

/// The targets this build knows, by name.
pub fn target(name: &str) -> Result<Box<dyn Target>, String> {
    match name {
        "native" => Ok(Box::new(Native)),
        "wasmtime" => Ok(Box::new(Wasmtime::new()?)),
        "node" => Ok(Box::new(Js::spawn("node", "node-target.mjs")?)),
        "chromium" => Ok(Box::new(Js::spawn("chromium", "chromium-target.mjs")?)),
        "workerd" => Ok(Box::new(Workerd::spawn()?)),
        "wasmtime-py" => Ok(Box::new(WasmtimePy::spawn()?)),
        "wasi-http" => Ok(Box::new(WasiHttp::spawn()?)),
        other => Err(format!(
            "unknown target `{other}`; this build has: {}",
            TARGETS.join(", ")
        )),
    }
}
