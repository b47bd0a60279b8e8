//! The JPEG (zune-jpeg) decoder, through `run`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kiln_fuzz::check_decoder(b"\xFF\xD8\xFF", data));
