//! `kiln batch`: one pipeline over many files, in parallel, each job in its own
//! instance. A failed file never stops the batch and never leaves a partial output:
//! every output is written to a temporary name in the output folder and renamed.
//!
//! An interrupted batch (the `stop` flag, set by SIGINT/SIGTERM in the CLI) starts no
//! new file, lets the files in flight finish and be written whole, and reports how many
//! it did not start.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kiln_kernel::Limits;
use rayon::prelude::*;

use crate::Kernel;

/// One input and where its output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub input: PathBuf,
    /// Output path without extension (added from the output's meta).
    pub stem: PathBuf,
}

/// What happened to one file.
#[derive(Debug)]
pub struct Failure {
    pub input: PathBuf,
    pub code: &'static str,
    pub message: String,
}

/// The summary of a batch.
#[derive(Debug, Default)]
pub struct Summary {
    pub ok: usize,
    pub failed: Vec<Failure>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub elapsed: Duration,
    /// The batch was interrupted (`stop` was set).
    pub interrupted: bool,
    /// Files not started because the batch was interrupted.
    pub not_started: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.interrupted {
            write!(f, "interrupted: {} not started; ", self.not_started)?;
        }
        write!(
            f,
            "{} ok, {} failed; {:.1} MB in, {:.1} MB out; {:.2} s",
            self.ok,
            self.failed.len(),
            self.bytes_in as f64 / 1e6,
            self.bytes_out as f64 / 1e6,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Expands files, folders (recursively) and glob patterns into items whose outputs
/// keep each file's path relative to the argument that named it.
pub fn expand(args: &[String], out_dir: &Path) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    for arg in args {
        let path = PathBuf::from(arg);
        if path.is_dir() {
            let mut files = Vec::new();
            walk(&path, &mut files).map_err(|e| format!("{arg}: {e}"))?;
            for file in files {
                let rel = file.strip_prefix(&path).unwrap_or(&file).to_path_buf();
                items.push(Item {
                    stem: out_dir.join(rel.with_extension("")),
                    input: file,
                });
            }
        } else if path.is_file() {
            items.push(Item {
                stem: out_dir.join(Path::new(path.file_stem().unwrap_or_default())),
                input: path,
            });
        } else if arg.contains(['*', '?', '[']) {
            let matches = glob::glob(arg).map_err(|e| format!("{arg}: {e}"))?;
            let mut any = false;
            for m in matches.flatten().filter(|p| p.is_file()) {
                any = true;
                items.push(Item {
                    stem: out_dir.join(Path::new(m.file_stem().unwrap_or_default())),
                    input: m,
                });
            }
            if !any {
                return Err(format!("{arg}: no files match"));
            }
        } else {
            return Err(format!("{arg}: no such file or folder"));
        }
    }
    items.sort_by(|a, b| a.input.cmp(&b.input));
    items.dedup_by(|a, b| a.input == b.input);
    Ok(items)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Runs `pipeline` over `items` on `jobs` threads until done or `stop` is set.
pub fn run(
    kernel: &Kernel,
    pipeline: &str,
    items: &[Item],
    limits: &Limits,
    jobs: usize,
    stop: &AtomicBool,
) -> Summary {
    let started = Instant::now();
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(items.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} eta {eta} {msg}") {
        bar.set_style(style);
    }
    let (bytes_in, bytes_out) = (AtomicU64::new(0), AtomicU64::new(0));
    let claimed = std::sync::Mutex::new(std::collections::HashSet::new());
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build();
    let work = || {
        items
            .par_iter()
            .map(|item| {
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
                let r = one(kernel, pipeline, item, limits, &claimed, &bytes_in, &bytes_out);
                bar.inc(1);
                Some(r)
            })
            .collect::<Vec<_>>()
    };
    let results = match pool {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    };
    bar.finish_and_clear();
    let mut summary = Summary {
        bytes_in: bytes_in.into_inner(),
        bytes_out: bytes_out.into_inner(),
        elapsed: started.elapsed(),
        interrupted: stop.load(Ordering::SeqCst),
        ..Summary::default()
    };
    for r in results {
        match r {
            Some(Ok(())) => summary.ok += 1,
            Some(Err(f)) => summary.failed.push(f),
            None => summary.not_started += 1,
        }
    }
    summary
}

fn one(
    kernel: &Kernel,
    pipeline: &str,
    item: &Item,
    limits: &Limits,
    claimed: &std::sync::Mutex<std::collections::HashSet<PathBuf>>,
    bytes_in: &AtomicU64,
    bytes_out: &AtomicU64,
) -> Result<(), Failure> {
    let fail = |code: &'static str, message: String| Failure {
        input: item.input.clone(),
        code,
        message,
    };
    let size = std::fs::metadata(&item.input)
        .map_err(|e| fail("io", e.to_string()))?
        .len();
    if size > limits.max_input_bytes {
        return Err(fail(
            "too_large",
            format!("{size} bytes exceeds the input limit of {}", limits.max_input_bytes),
        ));
    }
    let input = std::fs::read(&item.input).map_err(|e| fail("io", e.to_string()))?;
    bytes_in.fetch_add(input.len() as u64, Ordering::Relaxed);
    let out = kernel
        .run(pipeline, &input, limits)
        .map_err(|e| fail(e.code.as_str(), e.message))?;
    let target = item.stem.with_extension(extension(&out.meta));
    if !claimed
        .lock()
        .map_err(|_| fail("internal", "lock poisoned".into()))?
        .insert(target.clone())
    {
        return Err(fail(
            "io",
            format!("output {} would overwrite another input's output", target.display()),
        ));
    }
    crate::fs::write_atomically(&target, &out.data).map_err(|e| fail("io", format!("{}: {e}", target.display())))?;
    bytes_out.fetch_add(out.data.len() as u64, Ordering::Relaxed);
    Ok(())
}

/// The file extension for an output, from its meta.
pub fn extension(meta: &kiln_kernel::Meta) -> &'static str {
    match (meta.format.as_deref(), meta.content_type.as_str()) {
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
