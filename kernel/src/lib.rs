//! # kiln-kernel
//!
//! kiln's portable compute kernel: image filters and transforms, compression and
//! parsing, in pure Rust with no host crate, shipped unchanged to every target (native,
//! wasmtime, browsers, Node, Workers).
//!
//! ## The boundary
//!
//! Every target exposes exactly three calls (DESIGN.md, "The one boundary"):
//!
//! - [`run`]`(pipeline, input)` — runs a whole pipeline on one input and returns the
//!   output bytes and a small [`Meta`], or an [`Error`] with a stable [`ErrorCode`], the
//!   step at fault and, for pipeline checks, the parameter. [`run_with_limits`] is the
//!   same under a host's [`Limits`].
//! - [`check`]`(pipeline)` — the pipeline checked without running it: its canonical
//!   JSON form, or the same error `run` would give before any work.
//! - [`describe`]`()` — JSON: kernel version, every op with its parameters (type,
//!   default, range), the data kinds, the error codes and the limits in force.
//!
//! A fourth call streams: [`Session`] (`open(pipeline, limits)`, `push(chunk) -> bytes`,
//! `finish() -> output`) runs a pipeline whose steps all stream (`describe()`'s
//! `streams`) over input given in chunks, in memory bounded by a chunk and a record,
//! with the bytes `run` gives for the whole input.
//!
//! Each op is defined once, in the catalogue ([`op::OPS`]): the checker, `describe()`
//! and the executor all read that definition.
//!
//! A pipeline is JSON (`{"steps": [{"op": "resize", "width": 800}, ...]}`) or the
//! equivalent text (`resize width=800 | blur sigma=1.5 | encode format=webp`); both go
//! through one checker ([`Pipeline::parse`]) that rejects unknown ops, bad parameters
//! and kinds that do not chain before any work is done. Values between steps are
//! `bytes`, `image` (RGBA8) or `table`; a decode is implied before the first image op,
//! the last image is encoded to the input's format (PNG if that cannot be written) and
//! a final table is written as a JSON array.
//!
//! Same pipeline and input give the same bytes on every target: no clocks, no
//! randomness, no hash-map order in output, and float code only in fixed-order IEEE
//! operations (transcendentals come from the `libm` crate, never the platform's).
//!
//! ```
//! let out = kiln_kernel::run("compress format=gzip level=9 | decompress", b"hello").unwrap();
//! assert_eq!(out.data, b"hello");
//! assert_eq!(out.meta.content_type, "application/octet-stream");
//! ```

#![warn(missing_docs)]

mod choice;
pub mod compress;
mod error;
pub mod image;
mod json_stream;
pub mod json_text;
mod limits;
mod memory;
pub mod op;
mod output;
mod pipeline;
mod run;
mod stream;
pub mod table;

use std::borrow::Cow;

pub use choice::Choice;
pub use compress::Container;
pub use error::{Error, ErrorCode, Result};
pub use image::geometry::Axis;
pub use image::resize::{Fit, ResizeFilter};
pub use json_text::JsonMode;
pub use limits::Limits;
pub use op::Op;
pub use output::{Meta, Output};
pub use pipeline::Pipeline;
pub use stream::Session;

/// The kernel version (the crate version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs `pipeline` (JSON or text form) on `input` with the default [`Limits`].
///
/// `input` is borrowed (`&[u8]`) or owned (`Vec<u8>`): an owned buffer is reused where a
/// step would otherwise copy it (raw pixels become the image; bytes pass through).
pub fn run<'a>(pipeline: &str, input: impl Into<Cow<'a, [u8]>>) -> Result<Output> {
    run_with_limits(pipeline, input, &Limits::default())
}

/// Runs `pipeline` on `input` under the host's `limits`, which the pipeline may only
/// tighten. `input` as in [`run`].
pub fn run_with_limits<'a>(pipeline: &str, input: impl Into<Cow<'a, [u8]>>, limits: &Limits) -> Result<Output> {
    let pipeline = Pipeline::parse(pipeline)?;
    run::execute(&pipeline, input.into(), limits)
}

/// Checks `pipeline` (JSON or text form) without running it and returns its canonical
/// JSON form: every step as written with all its parameters (defaults filled in), and
/// the limits it asks for. Hosts check a job with the kernel that will run it.
pub fn check(pipeline: &str) -> Result<String> {
    Ok(Pipeline::parse(pipeline)?.to_json().to_string())
}

/// `describe()` with the default limits: see [`describe_with_limits`].
pub fn describe() -> String {
    describe_with_limits(&Limits::default())
}

/// The kernel's self-description as JSON: version, kinds, ops with their parameters,
/// error codes, and the `limits` in force on this host.
pub fn describe_with_limits(limits: &Limits) -> String {
    let errors: Vec<serde_json::Value> = ErrorCode::ALL
        .iter()
        .map(|c| serde_json::json!({"code": c.as_str(), "http_status": c.http_status(), "exit_code": c.exit_code()}))
        .collect();
    serde_json::json!({
        "name": "kiln",
        "version": VERSION,
        "kinds": ["bytes", "image", "table"],
        "ops": op::spec::ops_json(),
        "errors": errors,
        "limits": limits,
        "pipeline": {
            "max_steps": pipeline::MAX_STEPS,
            "max_image_passes": pipeline::MAX_IMAGE_PASSES,
        },
    })
    .to_string()
}
