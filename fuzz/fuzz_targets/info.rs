//! `info`: the header readers of every image format, EXIF (kamadak-exif) and ICC
//! profile descriptions; and `encode exif=keep`, which reads the EXIF block the same way
//! and rewrites its orientation (image/metadata.rs), through `run`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kiln_fuzz::check_fixed("info", data);
    if data.starts_with(b"\xff\xd8\xff") || data.starts_with(b"\x89PNG") || data.starts_with(b"RIFF") {
        kiln_fuzz::check_fixed("resize width=8 height=8 fit=fill | encode format=jpeg exif=keep", data);
    }
});
