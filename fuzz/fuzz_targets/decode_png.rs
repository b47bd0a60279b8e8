//! The PNG (the png crate) decoder, through `run`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kiln_fuzz::check_decoder(b"\x89PNG\r\n\x1a\n", data));
