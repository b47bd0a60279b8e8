//! The JSON reader (validate, rewrite, records): the first byte picks the pipeline.
#![no_main]
use libfuzzer_sys::fuzz_target;

const PIPELINES: &[&str] = &[
    "json mode=validate",
    "json mode=minify",
    "json mode=pretty",
    "parse_json | to_csv",
    "parse_json | to_json format=ndjson",
];

fuzz_target!(|data: &[u8]| kiln_fuzz::check_selected(PIPELINES, data));
