//! `kiln batch`: one pipeline over many files, in parallel, each job in its own
//! instance. A failed file never stops the batch and never leaves a partial output:
//! every output is written to a temporary name in the output folder, synced and renamed;
//! temporary files of a batch that died are removed by the next one into that folder.
//!
//! A batch never writes over its inputs: an output whose target is one of the inputs
//! (the same device and inode, so hard links and other spellings count) fails. Folders
//! and patterns are walked without following symbolic links unless asked
//! (`follow_links`, with each folder entered once, so a loop ends); a link named on the
//! command line is followed, as a shell would.
//!
//! An interrupted batch (the `stop` flag, set by SIGINT/SIGTERM in the CLI) starts no
//! new file, lets the files in flight finish and be written whole, and reports how many
//! it did not start.

use std::collections::HashSet;
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
    /// Its path relative to the argument that named it (a file's own name when named
    /// itself or by a pattern): what its [`Shard`] is chosen by.
    pub rel: PathBuf,
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
/// keep each file's path relative to the argument that named it. In folders and pattern
/// matches, symbolic links are skipped (counted in `skipped`) unless `follow_links`.
pub fn expand(args: &[String], out_dir: &Path, follow_links: bool) -> Result<Expanded, String> {
    let mut skipped_links = 0;
    let mut items = Vec::new();
    for arg in args {
        // Each argument is walked on its own: two that name the same folder both find
        // its files (a loop inside one walk is still entered once).
        let mut walker = Walker {
            follow_links,
            entered: HashSet::new(),
            skipped_links: 0,
        };
        let path = PathBuf::from(arg);
        if path.is_dir() {
            let mut files = Vec::new();
            walker
                .walk(&path, None, &mut files)
                .map_err(|e| format!("{arg}: {e}"))?;
            for file in files {
                let rel = file.strip_prefix(&path).unwrap_or(&file).to_path_buf();
                items.push(Item {
                    stem: out_dir.join(rel.with_extension("")),
                    input: file,
                    rel,
                });
            }
        } else if path.is_file() {
            items.push(Item {
                stem: out_dir.join(Path::new(path.file_stem().unwrap_or_default())),
                rel: PathBuf::from(path.file_name().unwrap_or_default()),
                input: path,
            });
        } else if arg.contains(['*', '?', '[']) {
            let pattern = glob::Pattern::new(arg).map_err(|e| format!("{arg}: {e}"))?;
            // Walk the part before the first pattern character, as deep as the pattern
            // goes (any depth for `**`), and match what is found.
            let (base, depth) = pattern_base(arg);
            let mut files = Vec::new();
            if base.is_dir() {
                walker
                    .walk(&base, depth, &mut files)
                    .map_err(|e| format!("{arg}: {e}"))?;
            }
            let before = items.len();
            // As a shell does: `*` never crosses a `/`, and `./` (when the pattern names
            // no folder) is not part of what is matched.
            let options = glob::MatchOptions {
                require_literal_separator: true,
                ..glob::MatchOptions::new()
            };
            let matches = |f: &PathBuf| pattern.matches_path_with(f.strip_prefix(".").unwrap_or(f), options);
            for m in files.into_iter().filter(|f| matches(f)) {
                items.push(Item {
                    stem: out_dir.join(Path::new(m.file_stem().unwrap_or_default())),
                    rel: PathBuf::from(m.file_name().unwrap_or_default()),
                    input: m,
                });
            }
            if items.len() == before {
                return Err(format!("{arg}: no files match"));
            }
        } else {
            return Err(format!("{arg}: no such file or folder"));
        }
        skipped_links += walker.skipped_links;
    }
    items.sort_by(|a, b| a.input.cmp(&b.input));
    items.dedup_by(|a, b| a.input == b.input);
    let inputs = items.iter().filter_map(|i| FileId::of(&i.input)).collect();
    Ok(Expanded {
        items,
        inputs,
        skipped_links,
    })
}

/// `--shard K/N`: the K-th (from 0) of N disjoint slices of a batch's files, for running
/// one batch on N machines (a Kubernetes Indexed Job: K is the completion index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not K/N"))?;
        let (Ok(index), Ok(count)) = (k.trim().parse::<u64>(), n.trim().parse::<u64>()) else {
            return Err(format!("`{s}` is not K/N with whole numbers"));
        };
        if count == 0 || index >= count {
            return Err(format!("`{s}`: K counts from 0 to N - 1, and N is at least 1"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether the file at `rel` (its path relative to the argument that named it, so
    /// where the inputs are mounted does not matter) is in this slice: the first 8 bytes
    /// of the SHA-256 of its path, modulo N. A file's slice follows from its own path
    /// alone: adding or removing files moves no other file to another slice.
    pub fn holds(&self, rel: &Path) -> bool {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(rel.as_os_str().as_encoded_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % self.count == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What [`expand`] found.
#[derive(Debug)]
pub struct Expanded {
    pub items: Vec<Item>,
    /// Every input file, by identity: no output may be written over one.
    pub inputs: HashSet<FileId>,
    /// Symbolic links left out of folders and pattern matches.
    pub skipped_links: usize,
}

/// A file's identity: its device and inode (its canonical path where there are none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileId(#[cfg(unix)] (u64, u64), #[cfg(not(unix))] PathBuf);

impl FileId {
    /// The identity of the file at `path` (following links), if there is one.
    pub fn of(path: &Path) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(path).ok().map(|m| FileId((m.dev(), m.ino())))
        }
        #[cfg(not(unix))]
        {
            std::fs::canonicalize(path).ok().map(FileId)
        }
    }
}

/// The folder a pattern's matches are under (its components before the first one with
/// a pattern character) and how many levels below it they can be (`None`: any, `**`).
fn pattern_base(pattern: &str) -> (PathBuf, Option<usize>) {
    let path = Path::new(pattern);
    let mut base = PathBuf::new();
    let mut rest = path.components().peekable();
    while let Some(c) = rest.next_if(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '['])) {
        base.push(c);
    }
    let rest: Vec<_> = rest.collect();
    let depth = if rest.iter().any(|c| c.as_os_str() == "**") {
        None
    } else {
        Some(rest.len())
    };
    if base.as_os_str().is_empty() {
        base.push(".");
    }
    (base, depth)
}

/// Walks folders in name order, skipping or following symbolic links.
struct Walker {
    follow_links: bool,
    /// Folders entered (by identity), so a link loop is walked once.
    entered: HashSet<FileId>,
    skipped_links: usize,
}

impl Walker {
    /// The files under `dir`, at most `depth` levels down (1: its own files).
    fn walk(&mut self, dir: &Path, depth: Option<usize>, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        if depth == Some(0) || FileId::of(dir).is_some_and(|id| !self.entered.insert(id)) {
            return Ok(());
        }
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(std::fs::DirEntry::path);
        for entry in entries {
            let path = entry.path();
            let mut kind = entry.file_type()?;
            if kind.is_symlink() {
                if !self.follow_links {
                    self.skipped_links += 1;
                    continue;
                }
                // A dangling link is left out.
                match std::fs::metadata(&path) {
                    Ok(m) => kind = m.file_type(),
                    Err(_) => continue,
                }
            }
            if kind.is_dir() {
                self.walk(&path, depth.map(|d| d - 1), out)?;
            } else if kind.is_file() && crate::fs::temporary_owner(&entry.file_name()).is_none() {
                out.push(path);
            }
        }
        Ok(())
    }
}

/// Removes the temporary files that batches which died left under `dir`: those of
/// [`crate::fs::write_atomically`] whose process is gone. Returns how many.
pub fn clean_temporaries(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        let path = entry.path();
        if kind.is_dir() {
            removed += clean_temporaries(&path);
        } else if kind.is_file()
            && crate::fs::temporary_owner(&entry.file_name())
                .is_some_and(|pid| pid == std::process::id() || !crate::fs::process_alive(pid))
            && std::fs::remove_file(&path).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Runs `pipeline` over `items` on `jobs` threads until done or `stop` is set.
pub fn run(
    kernel: &Kernel,
    pipeline: &str,
    batch: &Expanded,
    limits: &Limits,
    jobs: usize,
    stop: &AtomicBool,
) -> Summary {
    let started = Instant::now();
    let items = &batch.items;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(items.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} eta {eta} {msg}") {
        bar.set_style(style);
    }
    let job = Job {
        kernel,
        pipeline,
        limits,
        inputs: &batch.inputs,
        claimed: std::sync::Mutex::new(HashSet::new()),
        bytes_in: AtomicU64::new(0),
        bytes_out: AtomicU64::new(0),
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build();
    let work = || {
        items
            .par_iter()
            .map(|item| {
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
                let r = job.one(item);
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
        bytes_in: job.bytes_in.into_inner(),
        bytes_out: job.bytes_out.into_inner(),
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

/// What every file of a batch shares.
struct Job<'a> {
    kernel: &'a Kernel,
    pipeline: &'a str,
    limits: &'a Limits,
    inputs: &'a HashSet<FileId>,
    /// Outputs written so far, so two inputs never write the same one.
    claimed: std::sync::Mutex<HashSet<PathBuf>>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

impl Job<'_> {
    fn one(&self, item: &Item) -> Result<(), Failure> {
        let fail = |code: &'static str, message: String| Failure {
            input: item.input.clone(),
            code,
            message,
        };
        let size = std::fs::metadata(&item.input)
            .map_err(|e| fail("io", e.to_string()))?
            .len();
        if size > self.limits.max_input_bytes {
            return Err(fail(
                "too_large",
                format!(
                    "{size} bytes exceeds the input limit of {}",
                    self.limits.max_input_bytes
                ),
            ));
        }
        let input = std::fs::read(&item.input).map_err(|e| fail("io", e.to_string()))?;
        self.bytes_in.fetch_add(input.len() as u64, Ordering::Relaxed);
        let out = self
            .kernel
            .run(self.pipeline, &input, self.limits)
            .map_err(|e| fail(e.code.as_str(), e.message))?;
        let target = item.stem.with_extension(extension(&out.meta));
        if !self
            .claimed
            .lock()
            .map_err(|_| fail("internal", "lock poisoned".into()))?
            .insert(target.clone())
        {
            return Err(fail(
                "io",
                format!("output {} would overwrite another input's output", target.display()),
            ));
        }
        if FileId::of(&target).is_some_and(|id| self.inputs.contains(&id)) {
            return Err(fail(
                "io",
                format!("output {} is an input of this batch: not overwritten", target.display()),
            ));
        }
        // Followed through a link too: a link in the output folder to a FIFO or a device
        // would be written through (or block).
        if std::fs::metadata(&target).is_ok_and(|m| !m.is_file()) {
            return Err(fail(
                "io",
                format!("output {} exists and is not a file", target.display()),
            ));
        }
        crate::fs::write_atomically(&target, &out.data)
            .map_err(|e| fail("io", format!("{}: {e}", target.display())))?;
        self.bytes_out.fetch_add(out.data.len() as u64, Ordering::Relaxed);
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_walked_from_their_fixed_part_as_deep_as_they_reach() {
        assert_eq!(pattern_base("in/*.jpg"), (PathBuf::from("in"), Some(1)));
        assert_eq!(pattern_base("/a/b/*/x?.png"), (PathBuf::from("/a/b"), Some(2)));
        assert_eq!(pattern_base("*.jpg"), (PathBuf::from("."), Some(1)));
        assert_eq!(pattern_base("photos/**/*.jpg"), (PathBuf::from("photos"), None));
    }
}
