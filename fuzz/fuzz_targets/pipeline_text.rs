//! The text form of the pipeline parser, then the pipeline itself on a small image.
#![no_main]
use libfuzzer_sys::fuzz_target;

/// A 2x2 RGBA PNG: every image op has something to work on.
const TINY_PNG: &[u8] = include_bytes!("../../tests/data/gray.png");

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    if source.trim_start().starts_with(['{', '[']) {
        return; // the JSON form has its own target
    }
    if kiln_kernel::Pipeline::parse(source).is_ok() {
        kiln_fuzz::check(source, TINY_PNG);
    }
});
