//! Helpers shared by the end-to-end tests.

#![allow(dead_code)]

pub mod kernels;
pub mod server;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A sample file of tests/data.
pub fn data_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data").join(name)
}

pub fn data(name: &str) -> Vec<u8> {
    let path = data_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The native kernel's output for `pipeline` on `input`.
pub fn native(pipeline: &str, input: &[u8]) -> kiln_kernel::Output {
    kiln_kernel::run(pipeline, input).unwrap_or_else(|e| panic!("native kernel failed on {pipeline:?}: {e:?}"))
}

/// A fresh folder under Cargo's temporary folder for integration tests, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "kiln-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temporary folder");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// Writes `bytes` at `rel`, creating folders.
    pub fn put(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A case of tests/cases that expects an error.
pub struct ErrorCase {
    /// Its path under tests/cases.
    pub name: String,
    pub pipeline: String,
    pub input: Vec<u8>,
    /// The error code it expects.
    pub code: String,
}

/// The hostile corpus: every case of tests/cases that expects an error (tests/cases/
/// hostile/ and the error cases of every other folder) — the files the conformance
/// matrix runs on every target, the Worker in workerd included.
pub fn error_cases() -> Vec<ErrorCase> {
    use base64::Engine;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read tests/cases") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let case: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Some(code) = case.get("expect").and_then(|e| e.get("error")).and_then(|e| e.as_str()) else {
            continue;
        };
        let text = |k: &str| case.get(k).and_then(|v| v.as_str());
        let input = match (text("input"), text("input_text"), text("input_base64")) {
            (Some(file), _, _) => std::fs::read(path.parent().unwrap().join(file)).unwrap(),
            (_, Some(t), _) => t.as_bytes().to_vec(),
            (_, _, Some(b)) => base64::engine::general_purpose::STANDARD.decode(b).unwrap(),
            _ => Vec::new(),
        };
        cases.push(ErrorCase {
            name: path.strip_prefix(&root).unwrap().display().to_string(),
            pipeline: text("pipeline").expect("a pipeline").to_owned(),
            input,
            code: code.to_owned(),
        });
    }
    assert!(cases.len() >= 30, "only {} error cases found", cases.len());
    cases
}
