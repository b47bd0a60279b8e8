//! gunzip / zlib / raw inflate: the first byte picks the container, the rest is the stream.
#![no_main]
use libfuzzer_sys::fuzz_target;

const PIPELINES: &[&str] = &[
    "decompress format=gzip",
    "decompress format=zlib",
    "decompress format=deflate",
];

fuzz_target!(|data: &[u8]| kiln_fuzz::check_selected(PIPELINES, data));
