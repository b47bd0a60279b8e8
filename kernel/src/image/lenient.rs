//! Files that browsers show and a strict decoder refuses, made decodable where that is
//! safe: the fixes happen on the header bytes before decoding, or on the pixels after.
//!
//! - BMP: a `planes` field other than 1 (browsers and Pillow ignore it); an RLE bitmap
//!   stored top-down (negative height), decoded as bottom-up and flipped; an RLE stream
//!   that ends early, padded with end-of-line codes and an end-of-bitmap code (what is
//!   missing is black, as for RLE's own skipped pixels); a 32-bit bitmap whose alpha
//!   mask is present but zero in every pixel, shown opaque.
//! - TIFF: associated (premultiplied) alpha, un-premultiplied as Pillow does. (YCbCr
//!   samples, which image-rs refuses, are read in `tiff_ycbcr`.)

use std::borrow::Cow;

use super::Image;

/// What [`bmp`] changed that the decoded image must undo.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BmpFixes {
    /// The rows were stored top-down: flip the decoded image.
    pub flip: bool,
}

/// BMP `compression` values of run-length encoded bitmaps: RLE8, RLE4.
const BI_RLE8: u32 = 1;
const BI_RLE4: u32 = 2;

/// Zeros after an RLE stream that may have stopped early: enough to finish any
/// instruction in progress (an absolute run is at most 255 bytes and a pad), then read
/// as end-of-line codes (`00 00`) for every row, whatever the byte parity the cut left;
/// the decoder stops once every row is filled.
fn rle_padding(height: u32) -> usize {
    // Taller bitmaps are refused by the decoder (and the limits) anyway.
    256 + 2 * height.min(u32::from(u16::MAX)) as usize + 2
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The BMP `bytes`, with the header fixes a strict decoder needs (a copy only when one
/// applies), and what to undo after decoding.
pub fn bmp(bytes: &[u8]) -> (Cow<'_, [u8]>, BmpFixes) {
    let mut out = Cow::Borrowed(bytes);
    let mut fixes = BmpFixes::default();
    // After the 14-byte file header: the DIB header's size, then its fields.
    let planes_at = match u32_at(bytes, 14) {
        Some(12) => 22,
        Some(size) if size >= 40 => 26,
        _ => return (out, fixes),
    };
    if u16_at(bytes, planes_at).is_some_and(|planes| planes != 1) {
        out.to_mut()[planes_at..planes_at + 2].copy_from_slice(&1u16.to_le_bytes());
    }
    if planes_at == 26
        && let (Some(height), Some(compression)) = (u32_at(bytes, 22), u32_at(bytes, 30))
        && (compression == BI_RLE8 || compression == BI_RLE4)
    {
        let height = height as i32;
        if height < 0 && height != i32::MIN {
            out.to_mut()[22..26].copy_from_slice(&height.unsigned_abs().to_le_bytes());
            fixes.flip = true;
        }
        let padding = rle_padding(height.unsigned_abs());
        out.to_mut().resize(bytes.len() + padding, 0);
    }
    (out, fixes)
}

/// Whether every pixel of `image` has alpha 0 (a BMP whose alpha mask is unused).
pub fn alpha_all_zero(image: &Image) -> bool {
    image.as_raw().chunks_exact(4).all(|p| p[3] == 0)
}

/// Makes every pixel opaque.
pub fn make_opaque(image: &mut Image) {
    for p in image.as_mut().chunks_exact_mut(4) {
        p[3] = 255;
    }
}

/// Whether the TIFF `bytes` has associated (premultiplied) alpha: its first image's
/// `ExtraSamples` is 1.
pub fn tiff_alpha_is_associated(bytes: &[u8]) -> bool {
    let Ok(mut decoder) = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)) else {
        return false;
    };
    matches!(
        decoder.find_tag_unsigned_vec::<u16>(tiff::tags::Tag::ExtraSamples),
        Ok(Some(samples)) if samples.first() == Some(&1)
    )
}

/// Un-premultiplies RGBA8 pixels as Pillow does for TIFFs with associated alpha: each
/// colour times 255 over alpha, truncated and clamped; a pixel of alpha 0 is all zero.
pub fn unpremultiply(image: &mut Image) {
    for p in image.as_mut().chunks_exact_mut(4) {
        let alpha = u32::from(p[3]);
        match alpha {
            255 => {}
            0 => p.fill(0),
            _ => {
                for c in &mut p[..3] {
                    *c = (255 * u32::from(*c) / alpha).min(255) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[test]
    fn unpremultiply_matches_pillows_integer_maths() {
        let mut image = Image::from_raw(3, 1, vec![100, 50, 25, 128, 200, 0, 10, 255, 7, 8, 9, 0]).unwrap();
        unpremultiply(&mut image);
        // 255 * 100 / 128 = 199.2 -> 199; 255 * 50 / 128 = 99.6 -> 99; 255 * 25 / 128 = 49.8 -> 49
        assert_eq!(image.as_raw(), &[199, 99, 49, 128, 200, 0, 10, 255, 0, 0, 0, 0]);
    }

    /// An 8 x `height` RLE8 bitmap (palette: red, green) with this stream.
    fn rle8(height: i32, stream: &[u8]) -> Vec<u8> {
        let mut bmp = b"BM".to_vec();
        let offset = 14 + 40 + 8;
        bmp.extend_from_slice(&((offset + stream.len()) as u32).to_le_bytes());
        bmp.extend_from_slice(&[0; 4]);
        bmp.extend_from_slice(&(offset as u32).to_le_bytes());
        for v in [40u32, 8, height as u32] {
            bmp.extend_from_slice(&v.to_le_bytes());
        }
        bmp.extend_from_slice(&1u16.to_le_bytes());
        bmp.extend_from_slice(&8u16.to_le_bytes());
        for v in [BI_RLE8, stream.len() as u32, 2835, 2835, 2, 0] {
            bmp.extend_from_slice(&v.to_le_bytes());
        }
        bmp.extend_from_slice(&[0, 0, 255, 0, 0, 255, 0, 0]);
        bmp.extend_from_slice(stream);
        bmp
    }

    #[test]
    fn rle_cut_anywhere_decodes_what_is_there() {
        let limits = Limits::default();
        // Cut after a run's count byte, after an escape, inside an absolute run (odd and
        // even), at a row's end; 600 rows, more than the end-of-line codes of any fixed
        // padding would cover.
        for stream in [
            &[4, 1, 3][..],
            &[4, 1, 0],
            &[4, 1, 0, 3, 1],
            &[4, 1, 0, 4, 1, 0],
            &[4, 1, 0, 0],
        ] {
            let image =
                crate::image::codec::decode(&rle8(600, stream), &limits, crate::image::codec::IccUse::Convert, None)
                    .unwrap_or_else(|e| panic!("{stream:?}: {e}"))
                    .image;
            assert_eq!(image.dimensions(), (8, 600));
            // The bottom row starts with the first run: 4 x green.
            assert_eq!(image.get_pixel(0, 599).0, [0, 255, 0, 255], "{stream:?}");
            assert_eq!(image.get_pixel(7, 0).0, [0, 0, 0, 255], "{stream:?}: the rest is black");
        }
    }

    #[test]
    fn only_what_needs_a_fix_is_copied() {
        assert!(matches!(bmp(b"BM not a header").0, Cow::Borrowed(_)));
        // A core header with planes = 2.
        let mut core = vec![0u8; 26];
        core[..2].copy_from_slice(b"BM");
        core[14..18].copy_from_slice(&12u32.to_le_bytes());
        core[22..24].copy_from_slice(&2u16.to_le_bytes());
        let (fixed, fixes) = bmp(&core);
        assert_eq!(u16_at(&fixed, 22), Some(1));
        assert_eq!(fixes, BmpFixes::default());
    }
}
