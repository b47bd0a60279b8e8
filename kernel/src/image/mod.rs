//! The `image` kind (RGBA8, straight alpha) and the ops on it.

pub mod blur;
pub mod codec;
pub mod color;
pub mod convolve;
pub mod geometry;
mod lenient;
pub mod parallel;
mod png16;
mod png_encode;
pub mod resize;

/// An RGBA8 image with straight (not premultiplied) alpha, rows top to bottom.
pub type Image = image::RgbaImage;

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
