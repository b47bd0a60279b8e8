//! The JSON form of the pipeline parser, then the pipeline itself on a small image.
#![no_main]
use libfuzzer_sys::fuzz_target;

const TINY_PNG: &[u8] = include_bytes!("../../tests/data/gray.png");

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    if !source.trim_start().starts_with(['{', '[']) {
        return; // the text form has its own target
    }
    if kiln_kernel::Pipeline::parse(source).is_ok() {
        kiln_fuzz::check(source, TINY_PNG);
    }
});
