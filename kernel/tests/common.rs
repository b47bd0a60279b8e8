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

/// A `w x h` YCbCr TIFF with 2 x 2 subsampled chroma, uncompressed, in one strip (the
/// tiff crate refuses these; the kernel reads the strips itself), with an `Orientation`
/// tag if given. Luma and chroma follow ramps of the position.
pub fn ycbcr_tiff(w: u32, h: u32, orientation: Option<u16>) -> Vec<u8> {
    let mut units = Vec::new();
    for band in 0..h.div_ceil(2) {
        for across in 0..w.div_ceil(2) {
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                units.push(((across * 2 + dx) * 3 + (band * 2 + dy) * 5) as u8);
            }
            units.extend([(across * 7) as u8, (band * 11) as u8]);
        }
    }
    // (tag, type, count, value), in tag order; the strip offset is filled in below.
    let mut entries: Vec<(u16, u16, u32, u32)> = vec![
        (256, 4, 1, w),                  // ImageWidth
        (257, 4, 1, h),                  // ImageLength
        (258, 3, 1, 8),                  // BitsPerSample
        (259, 3, 1, 1),                  // Compression: none
        (262, 3, 1, 6),                  // Photometric: YCbCr
        (273, 4, 1, 0),                  // StripOffsets
        (277, 3, 1, 3),                  // SamplesPerPixel
        (278, 4, 1, h),                  // RowsPerStrip
        (279, 4, 1, units.len() as u32), // StripByteCounts
        (284, 3, 1, 1),                  // PlanarConfiguration
        (530, 3, 2, 2 | 2 << 16),        // YCbCrSubsampling 2, 2
    ];
    if let Some(o) = orientation {
        entries.insert(6, (274, 3, 1, u32::from(o))); // Orientation
    }
    let data_at = 8 + 2 + 12 * entries.len() as u32 + 4;
    entries[5].3 = data_at;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        tiff.extend(tag.to_le_bytes());
        tiff.extend(kind.to_le_bytes());
        tiff.extend(count.to_le_bytes());
        tiff.extend(value.to_le_bytes());
    }
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(units);
    tiff
}
