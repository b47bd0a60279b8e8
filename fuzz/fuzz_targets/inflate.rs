//! gunzip / zlib / raw inflate: the first byte picks the container, the rest is the stream.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else { return };
    let format = ["gzip", "zlib", "deflate"][usize::from(selector % 3)];
    kiln_fuzz::check_fixed(&format!("decompress format={format}"), stream);
});
