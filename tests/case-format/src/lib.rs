//! # kiln-case-format
//!
//! kiln's test cases as data (DESIGN.md, "Tests as data"): loads `tests/cases/**/*.toml`
//! into [`Case`]s. No host crate: the conformance runner (`kiln-cases`), the native
//! end-to-end and sandbox tests, and (through `kiln-cases --list`) the Worker's
//! hostile test all read cases through this one loader.
//!
//! A case:
//!
//! ```toml
//! pipeline = "resize width=64 | encode format=png"   # text or JSON form
//! input = "../data/photo.jpg"       # or input_text = "...", input_base64 = "..."
//! [expect]
//! sha256 = "..."          # exact output bytes
//! # error = "too_large"   # or: the error code expected
//! # json = "expected.json"   # or: output is JSON equal to this file
//! # text = "..."            # or: output is exactly this UTF-8 text
//! # meta = { width = 64 }    # and optionally: these meta fields
//! ```
//!
//! A top-level `skip = "why"` keeps a case in the matrix as skipped on every target
//! (for a defect in a public suite's own expectation, say), never silently.

#![warn(missing_docs)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// One case file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    pipeline: String,
    input: Option<String>,
    input_text: Option<String>,
    input_base64: Option<String>,
    skip: Option<String>,
    expect: Expect,
}

/// What a case expects.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The output's sha256, hex.
    pub sha256: Option<String>,
    /// The error code.
    pub error: Option<String>,
    /// A file (beside the case) whose JSON the output equals.
    pub json: Option<String>,
    /// The output as UTF-8 text.
    pub text: Option<String>,
    /// Meta fields the output must have.
    pub meta: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A loaded case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Path relative to its cases folder, without `.toml`.
    pub name: String,
    /// The case file.
    pub path: PathBuf,
    /// The pipeline, as written.
    pub pipeline: String,
    /// The input bytes.
    pub input: Vec<u8>,
    /// What it expects.
    pub expect: Expect,
    /// Parsed `expect.json` file, if any.
    pub expect_json: Option<serde_json::Value>,
    /// Why the case is skipped on every target, if it is.
    pub skip: Option<String>,
}

/// Loads every `*.toml` under `dir`, sorted by path.
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files = Vec::new();
    collect(dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
    files.sort();
    files.iter().map(|f| load_case(dir, f)).collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

fn load_case(root: &Path, path: &Path) -> Result<Case, String> {
    let err = |e: String| format!("{}: {e}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let file: CaseFile = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    let here = path.parent().unwrap_or(Path::new("."));
    let input = match (&file.input, &file.input_text, &file.input_base64) {
        (Some(p), None, None) => std::fs::read(here.join(p)).map_err(|e| err(format!("input {p}: {e}")))?,
        (None, Some(t), None) => t.clone().into_bytes(),
        (None, None, Some(b)) => base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|e| err(format!("input_base64: {e}")))?,
        (None, None, None) => Vec::new(),
        _ => return Err(err("give one of input, input_text, input_base64".into())),
    };
    let e = &file.expect;
    let n = [
        e.sha256.is_some(),
        e.error.is_some(),
        e.json.is_some(),
        e.text.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if n != 1 {
        return Err(err("[expect] needs exactly one of sha256, error, json, text".into()));
    }
    let expect_json = match &e.json {
        Some(p) => {
            let raw = std::fs::read(here.join(p)).map_err(|e| err(format!("json {p}: {e}")))?;
            Some(serde_json::from_slice(&raw).map_err(|e| err(format!("json {p}: {e}")))?)
        }
        None => None,
    };
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .with_extension("")
        .to_string_lossy()
        .replace('\\', "/");
    Ok(Case {
        name,
        path: path.to_path_buf(),
        pipeline: file.pipeline,
        input,
        expect: file.expect,
        expect_json,
        skip: file.skip,
    })
}

/// The hostile corpus: every case under `dir` that expects an error (`tests/cases/hostile/`
/// and the error cases of every other folder), as the conformance matrix runs them.
pub fn error_cases(dir: &Path) -> Result<Vec<Case>, String> {
    Ok(load_cases(dir)?
        .into_iter()
        .filter(|c| c.expect.error.is_some() && c.skip.is_none())
        .collect())
}

/// kiln's own cases folder, `tests/cases` of this repository.
pub fn kiln_cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cases")
}

/// kiln's own hostile corpus ([`error_cases`] of [`kiln_cases_dir`]), for tests: panics
/// if the cases cannot be read or are implausibly few.
pub fn kiln_error_cases() -> Vec<Case> {
    let cases = error_cases(&kiln_cases_dir()).unwrap_or_else(|e| panic!("reading kiln's cases: {e}"));
    assert!(cases.len() >= 30, "only {} error cases found", cases.len());
    cases
}

impl Case {
    /// The error code the case expects, if it expects one.
    pub fn expected_error(&self) -> Option<&str> {
        self.expect.error.as_deref()
    }

    /// The loaded case as one JSON object — `name`, `pipeline`, `input_base64`, `expect`
    /// (absent fields omitted; `json` is the expected JSON itself), `skip` — for tools in
    /// other languages (`kiln-cases --list`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut expect = serde_json::to_value(&self.expect).unwrap_or_default();
        if let Some(map) = expect.as_object_mut() {
            map.retain(|_, v| !v.is_null());
            if let Some(json) = &self.expect_json {
                map.insert("json".into(), json.clone());
            }
        }
        serde_json::json!({
            "name": self.name,
            "pipeline": self.pipeline,
            "input_base64": base64::engine::general_purpose::STANDARD.encode(&self.input),
            "expect": expect,
            "skip": self.skip,
        })
    }
}
