//! What every fuzz target checks: the kernel's `run` on hostile bytes returns an output
//! within its limits or a clean error — never a panic, never `internal` (a bug by
//! DESIGN.md's definition), never an output past `max_output_bytes`.
//!
//! The limits are tighter than the server's so one execution stays in the millisecond
//! range; every limit still bites, which is the point.

use kiln_kernel::{ErrorCode, Limits};

/// Limits of every fuzz run.
pub const LIMITS: Limits = Limits {
    max_input_bytes: 1 << 20,
    max_output_bytes: 8 << 20,
    max_pixels: 1 << 20,
    max_dimension: 4096,
    max_decompressed_bytes: 4 << 20,
    max_rows: 20_000,
    max_columns: 512,
    max_json_depth: 64,
    max_memory_bytes: 256 << 20,
};

/// Runs `pipeline` on `input` and checks the result.
pub fn check(pipeline: &str, input: &[u8]) {
    match kiln_kernel::run_with_limits(pipeline, input, &LIMITS) {
        Ok(out) => assert!(
            out.data.len() as u64 <= LIMITS.max_output_bytes,
            "output of {} bytes past the limit",
            out.data.len()
        ),
        Err(e) => assert_ne!(e.code, ErrorCode::Internal, "internal error: {e}"),
    }
}

/// Runs one of the target's own pipelines, which must be valid: a typo would make the
/// target test nothing.
pub fn check_fixed(pipeline: &str, input: &[u8]) {
    if let Err(e) = kiln_kernel::Pipeline::parse(pipeline) {
        panic!("the fuzz target's own pipeline {pipeline:?} is invalid: {e}");
    }
    check(pipeline, input);
}

/// Runs one of `pipelines`, picked by the input's first byte, on the rest of it.
pub fn check_selected(pipelines: &[&str], input: &[u8]) {
    if let Some((&selector, rest)) = input.split_first() {
        check_fixed(pipelines[usize::from(selector) % pipelines.len()], rest);
    }
}

/// Decodes an image whose bytes start with `magic` (other inputs are skipped, so the
/// fuzzer stays inside one decoder) and writes raw pixels.
pub fn check_decoder(magic: &[u8], input: &[u8]) {
    if input.starts_with(magic) {
        check_fixed("decode | encode format=rgba", input);
    }
}
