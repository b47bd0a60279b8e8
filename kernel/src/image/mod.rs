//! The `image` kind (RGBA8, straight alpha) and the ops on it.

pub mod adjust;
pub mod attention;
pub mod blur;
pub mod codec;
pub mod color;
pub mod convolve;
pub mod extend;
pub mod geometry;
pub mod icc;
pub mod info;
pub mod lab;
mod lenient;
pub mod median;
pub mod metadata;
pub mod parallel;
mod png16;
mod png_encode;
pub mod position;
pub mod resize;
pub mod rotate;
mod sink;
mod tiff_ycbcr;
pub mod trim;

/// An RGBA8 image with straight (not premultiplied) alpha, rows top to bottom.
pub type Image = image::RgbaImage;

/// A colour parameter, `#rrggbb` (opaque) or `#rrggbbaa` (hex digits, either case).
pub fn parse_color(text: &str) -> Option<[u8; 4]> {
    let hex = text.strip_prefix('#')?;
    if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    let alpha = if hex.len() == 8 { byte(6)? } else { 255 };
    Some([byte(0)?, byte(2)?, byte(4)?, alpha])
}

/// Whether every pixel of `image` has alpha 255. Tests 16 pixels at a time with no
/// branch inside a block, so it vectorises (AVX2, simd128) and still stops early.
pub fn is_opaque(image: &Image) -> bool {
    let raw = image.as_raw();
    let blocks = raw.chunks_exact(64);
    let tail = blocks.remainder();
    let all = |b: &[u8]| b.chunks_exact(4).fold(255u8, |a, p| a & p[3]) == 255;
    blocks.into_iter().all(all) && all(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert_eq!(parse_color("#0a0B0c"), Some([10, 11, 12, 255]));
        assert_eq!(parse_color("#ff000080"), Some([255, 0, 0, 128]));
        for bad in [
            "",
            "#",
            "ff0000",
            "#ff00",
            "#ff00000",
            "#gg0000",
            "#ff0000ff00",
            "#+f0000",
        ] {
            assert_eq!(parse_color(bad), None, "{bad}");
        }
    }

    #[test]
    fn opaque_only_when_every_alpha_is_255() {
        // Sizes around the 16-pixel block, a translucent pixel at every position.
        for n in [1u32, 15, 16, 17, 33] {
            let img = Image::from_pixel(n, 1, image::Rgba([1, 2, 3, 255]));
            assert!(is_opaque(&img), "{n}");
            for x in 0..n {
                let mut t = img.clone();
                t.put_pixel(x, 0, image::Rgba([1, 2, 3, 254]));
                assert!(!is_opaque(&t), "{n} {x}");
            }
        }
    }
}
