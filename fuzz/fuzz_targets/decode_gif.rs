//! The GIF, first frame (the gif crate) decoder, through `run`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kiln_fuzz::check_decoder(b"GIF8", data));
