//! `info`: the header readers of every image format, EXIF (kamadak-exif) and ICC
//! profile descriptions, through `run`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kiln_fuzz::check_fixed("info", data));
