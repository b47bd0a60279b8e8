//! Test inputs generated in code.

#![allow(dead_code)]

use std::io::Cursor;

/// A smooth test pattern with some texture, `w` x `h`, optionally with varying alpha.
pub fn pattern(w: u32, h: u32, alpha: bool) -> image::RgbaImage {
    image::RgbaImage::from_fn(w, h, |x, y| {
        let v = (x * 31 + y * 17) ^ (x * y);
        image::Rgba([
            (x * 255 / w.max(1)) as u8,
            (y * 255 / h.max(1)) as u8,
            (v % 256) as u8,
            if alpha { ((x + y) * 255 / (w + h)) as u8 } else { 255 },
        ])
    })
}

/// `pattern` encoded by image-rs in `format`.
pub fn encoded(w: u32, h: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgba8(pattern(w, h, false));
    let img = if format == image::ImageFormat::Jpeg {
        image::DynamicImage::ImageRgb8(img.to_rgb8())
    } else {
        img
    };
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

/// The repo's sample files.
pub fn data(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Decodes output bytes with image-rs (an independent check of what kiln wrote).
pub fn decode(bytes: &[u8]) -> image::RgbaImage {
    image::load_from_memory(bytes).expect("output decodes").to_rgba8()
}
