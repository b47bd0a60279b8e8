//! 16-bit PNGs decoded a row at a time straight into RGBA8, so the 16-bit image (up to
//! 8 bytes a pixel) is never held whole: a 4096x3072 16-bit PNG takes its 48 MiB of
//! RGBA8 instead of 144 MiB. The pixels are image-rs's (its decoder, then `into_rgba8`):
//! the same `EXPAND` transformation, samples rounded as `(v + 128) / 257`.

use std::io::Cursor;

use image::metadata::Orientation;

use super::Image;
use super::icc::{self, Channels};
use crate::limits::SLACK;
use crate::{Error, Limits, Result};

/// A decoded 16-bit PNG: the image, its EXIF orientation (not yet applied) and its ICC
/// profile (when read) with the colour space of its samples.
type Decoded = (Image, Orientation, Option<(Vec<u8>, Channels)>);

/// Decodes `bytes` if it is a non-interlaced 16-bit PNG (`None` otherwise: the general
/// path decodes it). With `read_icc` its ICC profile (`icc_bytes` inflated, counted in
/// the memory model with its transform) is read, inflated and kept while the pixels are
/// decoded; without, the chunk is skipped.
pub(super) fn decode(bytes: &[u8], limits: &Limits, read_icc: bool, icc_bytes: u64) -> Option<Result<Decoded>> {
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: 64 << 20 });
    decoder.set_ignore_iccp_chunk(!read_icc);
    let info = decoder.read_header_info().ok()?;
    if info.bit_depth != png::BitDepth::Sixteen || info.interlaced {
        return None;
    }
    let profile = if read_icc && icc_bytes > 0 {
        icc_bytes + icc::held(icc_bytes as usize)
    } else {
        0
    };
    Some(decode_rows(decoder, bytes.len() as u64 + profile, limits))
}

fn decode_rows(mut decoder: png::Decoder<Cursor<&[u8]>>, input: u64, limits: &Limits) -> Result<Decoded> {
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (width, height) = (reader.info().width, reader.info().height);
    limits.check_image(width, height)?;
    if width == 0 || height == 0 {
        return Err(Error::bad_input(format!("image has no pixels ({width}x{height})")));
    }
    let orientation = reader
        .info()
        .exif_metadata
        .as_deref()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let channels = match reader.output_color_type().0 {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(Error::bad_input("16-bit PNG with a palette")),
    };
    // The memory model: the input (and a profile with its transform), the RGBA8 image,
    // the reader's rows (current and previous, 16-bit) and inflate state, a turned copy.
    let pixels = u64::from(width) * u64::from(height);
    let turned = match orientation {
        Orientation::NoTransforms | Orientation::FlipHorizontal | Orientation::FlipVertical => 0,
        _ => 4 * pixels,
    };
    let held = input + 4 * pixels + 24 * u64::from(width) + turned + SLACK;
    limits.check_memory(held, || format!("decoding this {width}x{height} 16-bit PNG"))?;
    let stride = width as usize * 4;
    let mut rgba = vec![0u8; stride * height as usize];
    for out in rgba.chunks_exact_mut(stride) {
        let row = reader
            .next_row()
            .map_err(png_error)?
            .ok_or_else(|| Error::bad_input("truncated or unreadable image: the PNG ends before its last row"))?;
        let samples = row.data();
        let sample = |i: usize| {
            let v = u32::from(u16::from_be_bytes([samples[2 * i], samples[2 * i + 1]]));
            ((v + 128) / 257) as u8
        };
        for (x, px) in out.chunks_exact_mut(4).enumerate() {
            let at = x * channels;
            let rgba = match channels {
                1 => [sample(at), sample(at), sample(at), 255],
                2 => [sample(at), sample(at), sample(at), sample(at + 1)],
                3 => [sample(at), sample(at + 1), sample(at + 2), 255],
                _ => [sample(at), sample(at + 1), sample(at + 2), sample(at + 3)],
            };
            px.copy_from_slice(&rgba);
        }
    }
    let gray = channels <= 2;
    let profile = reader.info().icc_profile.as_ref().map(|p| {
        let channels = if gray { Channels::Gray } else { Channels::Rgb };
        (p.to_vec(), channels)
    });
    reader.finish().map_err(png_error)?;
    let image = Image::from_raw(width, height, rgba).ok_or_else(|| Error::internal("PNG buffer size"))?;
    Ok((image, orientation, profile))
}

/// As image-rs maps the png crate's errors, then kiln's codes for them.
fn png_error(e: png::DecodingError) -> Error {
    match e {
        png::DecodingError::IoError(e) => Error::bad_input(format!("truncated or unreadable image: {e}")),
        png::DecodingError::Format(e) => Error::bad_input(format!("corrupt image: {e}")),
        png::DecodingError::Parameter(e) => Error::bad_input(format!("invalid image: {e}")),
        png::DecodingError::LimitsExceeded => Error::too_large("image exceeds a limit: the PNG decoder's"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, ImageBuffer, ImageFormat, LumaA, Rgb, Rgba};

    fn png(image: DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        image.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    /// Every 16-bit colour type, every sample value near the rounding edges: the same
    /// pixels as image-rs's decoder and `into_rgba8`.
    #[test]
    fn same_pixels_as_image_rs() {
        let v = |x: u32, y: u32, c: u32| ((x * 257 + y * 4099 + c * 131) % 65536) as u16;
        let (w, h) = (67, 9);
        let images = [
            DynamicImage::ImageLuma16(ImageBuffer::from_fn(w, h, |x, y| image::Luma([v(x, y, 0)]))),
            DynamicImage::ImageLumaA16(ImageBuffer::from_fn(w, h, |x, y| LumaA([v(x, y, 0), v(x, y, 1)]))),
            DynamicImage::ImageRgb16(ImageBuffer::from_fn(w, h, |x, y| {
                Rgb([v(x, y, 0), v(x, y, 1), v(x, y, 2)])
            })),
            DynamicImage::ImageRgba16(ImageBuffer::from_fn(w, h, |x, y| {
                Rgba([v(x, y, 0), v(x, y, 1), v(x, y, 2), v(x, y, 3)])
            })),
        ];
        for image in images {
            let bytes = png(image.clone());
            let (got, orientation, _) = decode(&bytes, &Limits::default(), true, 0).unwrap().unwrap();
            assert_eq!(orientation, Orientation::NoTransforms);
            let reference = image::load_from_memory(&bytes).unwrap().into_rgba8();
            assert_eq!(got, reference, "{:?}", image.color());
        }
    }

    #[test]
    fn eight_bit_and_cut_pngs() {
        let eight = png(DynamicImage::ImageRgb8(ImageBuffer::from_pixel(3, 3, Rgb([1, 2, 3]))));
        assert!(decode(&eight, &Limits::default(), true, 0).is_none());
        let deep = png(DynamicImage::ImageRgb16(ImageBuffer::from_pixel(
            300,
            300,
            Rgb([1, 2, 3]),
        )));
        let cut = &deep[..deep.len() / 2];
        let e = decode(cut, &Limits::default(), true, 0).unwrap().unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::BadInput, "{e}");
    }
}
