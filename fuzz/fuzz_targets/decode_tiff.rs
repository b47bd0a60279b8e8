//! The TIFF, little-endian (the tiff crate); big-endian files differ only in byte order decoder, through `run`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kiln_fuzz::check_decoder(b"II*\0", data));
