//! ICC profiles: moxcms's parser and kiln's transforms (image/icc.rs), straight. The
//! input is a profile, built into a transform for grey, RGB and CMYK samples and
//! applied to every sample value: never a panic, whatever the profile.
#![no_main]
use kiln_kernel::image::Image;
use kiln_kernel::image::icc::{Channels, ToSrgb};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ramp: Vec<u8> = (0..256u32).flat_map(|v| [v as u8, (v * 7) as u8, 255 - v as u8, (v * 3) as u8]).collect();
    for channels in [Channels::Gray, Channels::Rgb, Channels::Cmyk] {
        if let Some(transform) = ToSrgb::new(data, channels) {
            let mut image = Image::from_raw(256, 1, ramp.clone()).expect("256 x 1 RGBA");
            transform.apply(&mut image);
            let mut cmyk = ramp.clone();
            transform.apply_cmyk(&mut cmyk, 256);
        }
    }
});
