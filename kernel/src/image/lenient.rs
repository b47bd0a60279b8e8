//! Files that browsers show and a strict decoder refuses, made decodable where that is
//! safe: the fixes happen on the header bytes before decoding, or on the pixels after.
//!
//! - BMP: a `planes` field other than 1 (browsers and Pillow ignore it); an RLE bitmap
//!   stored top-down (negative height), decoded as bottom-up and flipped; an RLE stream
//!   that ends early, padded with end-of-line codes and an end-of-bitmap code (what is
//!   missing is black, as for RLE's own skipped pixels); a 32-bit bitmap whose alpha
//!   mask is present but zero in every pixel, shown opaque.
//! - TIFF: associated (premultiplied) alpha, un-premultiplied as Pillow does; YCbCr
//!   samples (photometric 6, which image-rs refuses), read with the tiff crate and
//!   converted as JFIF does.

use std::borrow::Cow;

use super::Image;
use crate::{Error, Limits, Result};

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

/// A TIFF whose first image has YCbCr samples, decoded to RGBA8: `None` when it has
/// other samples (image-rs decodes those). The tiff crate gives the samples (upsampling
/// the chroma of JPEG-compressed images; other compressions with subsampled chroma are
/// `unsupported`); they are converted with the full-range BT.601 equations of JFIF, the
/// TIFF default (`ReferenceBlackWhite` 0/255/128/255/128/255; other `YCbCrCoefficients`
/// are not applied).
pub fn tiff_ycbcr(bytes: &[u8], limits: &Limits) -> Option<Result<Image>> {
    use tiff::ColorType;
    let mut decoder = tiff::decoder::Decoder::new(std::io::Cursor::new(bytes)).ok()?;
    if !matches!(decoder.colortype(), Ok(ColorType::YCbCr(8))) {
        return None;
    }
    Some(decode_ycbcr(decoder, limits))
}

fn decode_ycbcr(decoder: tiff::decoder::Decoder<std::io::Cursor<&[u8]>>, limits: &Limits) -> Result<Image> {
    use tiff::decoder::DecodingResult;
    let tiff_error = |e: tiff::TiffError| match e {
        tiff::TiffError::UnsupportedError(e) => Error::unsupported(format!("YCbCr TIFF: {e}")),
        tiff::TiffError::LimitsExceeded => Error::too_large("YCbCr TIFF: over the image limits"),
        e => Error::bad_input(format!("corrupt YCbCr TIFF: {e}")),
    };
    let mut tiff_limits = tiff::decoder::Limits::default();
    tiff_limits.decoding_buffer_size = usize::try_from(limits.max_pixels.saturating_mul(3)).unwrap_or(usize::MAX);
    let mut decoder = decoder.with_limits(tiff_limits);
    let (width, height) = decoder.dimensions().map_err(tiff_error)?;
    limits.check_image(width, height)?;
    if width == 0 || height == 0 {
        return Err(Error::bad_input(format!("image has no pixels ({width}x{height})")));
    }
    let DecodingResult::U8(samples) = decoder.read_image().map_err(tiff_error)? else {
        return Err(Error::unsupported("YCbCr TIFF with samples of more than 8 bits"));
    };
    let pixels = width as usize * height as usize;
    if samples.len() < pixels * 3 {
        return Err(Error::bad_input("YCbCr TIFF: fewer samples than pixels"));
    }
    let mut rgba = Vec::with_capacity(pixels * 4);
    for p in samples.chunks_exact(3).take(pixels) {
        rgba.extend_from_slice(&ycbcr_to_rgb(p[0], p[1], p[2]));
        rgba.push(255);
    }
    Image::from_raw(width, height, rgba).ok_or_else(|| Error::internal("YCbCr buffer size"))
}

/// JFIF's full-range YCbCr -> RGB, in 16.16 fixed point, rounded to nearest.
fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    const HALF: i32 = 1 << 15;
    let (y, cb, cr) = (i32::from(y) << 16, i32::from(cb) - 128, i32::from(cr) - 128);
    let r = y + 91_881 * cr; // 1.402
    let g = y - 22_554 * cb - 46_802 * cr; // 0.344136, 0.714136
    let b = y + 116_130 * cb; // 1.772
    [r, g, b].map(|c| ((c + HALF) >> 16).clamp(0, 255) as u8)
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

    #[test]
    fn ycbcr_converts_as_jfif() {
        assert_eq!(ycbcr_to_rgb(128, 128, 128), [128, 128, 128]);
        assert_eq!(ycbcr_to_rgb(255, 128, 128), [255, 255, 255]);
        assert_eq!(ycbcr_to_rgb(0, 128, 128), [0, 0, 0]);
        // JFIF's red, green and blue (rounded there): back within one step.
        assert_eq!(ycbcr_to_rgb(76, 85, 255), [254, 0, 0]);
        assert_eq!(ycbcr_to_rgb(150, 44, 21), [0, 255, 1]);
        assert_eq!(ycbcr_to_rgb(29, 255, 107), [0, 0, 254]); // Cb was clamped at 255
    }

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
            let (image, _) =
                crate::image::codec::decode(&rle8(600, stream), &limits).unwrap_or_else(|e| panic!("{stream:?}: {e}"));
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
