//! The CSV reader and the table ops behind it: the first byte picks the pipeline.
#![no_main]
use libfuzzer_sys::fuzz_target;

const PIPELINES: &[&str] = &[
    "parse_csv | to_json",
    "parse_csv delimiter=; | to_json format=ndjson",
    "parse_csv header=false | to_csv",
    "parse_csv infer=false | stats",
    "parse_csv delimiter=\\t | select columns=a,b | to_json",
];

fuzz_target!(|data: &[u8]| kiln_fuzz::check_selected(PIPELINES, data));
