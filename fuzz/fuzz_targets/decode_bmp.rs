//! The BMP (image's bmp decoder) decoder, through `run`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kiln_fuzz::check_decoder(b"BM", data));
