//! PNG encoding that compresses its rows straight into the output. The png crate's
//! `write_image_data` takes the whole image in the PNG's pixel layout (an RGB copy of an
//! opaque image) and compresses it into a buffer of its own before writing it out: up to
//! about three times the output held besides the image. Here each row is made RGB (if
//! opaque), filtered and deflated into the output as it goes, within the output's limit.
//!
//! The bytes are the png crate's as image-rs's `PngEncoder` drives it: the crate's own
//! signature, IHDR and IEND; one IDAT chunk; its adaptive filter choice (the least sum of
//! absolute values among Up, Sub, Avg and Paeth, a later one winning a tie, the first
//! that costs 0 taken at once); the same zlib stream (flate2 at the same level, fed the
//! same writes). A test compares the two encoders' bytes.

use std::io::Write;

use std::borrow::Cow;

use super::Image;
use super::metadata::Metadata;
use super::sink::Sink;
use crate::{Error, Result};

/// Writes `image` as an 8-bit PNG, RGB if `opaque` (its alpha is dropped) else RGBA, at
/// zlib `level` (1 ..= 9), with `metadata`'s ICC profile (iCCP) and EXIF (eXIf) if
/// given, into `out`. An `internal` error if `out` refuses a write (the caller knows it
/// is full).
pub(super) fn encode(image: &Image, opaque: bool, level: u8, metadata: Metadata<'_>, out: &mut Sink) -> Result<()> {
    let (width, height) = image.dimensions();
    let color = if opaque {
        png::ColorType::Rgb
    } else {
        png::ColorType::Rgba
    };
    // The png crate's signature, IHDR (and iCCP, eXIf), and the IEND its writer ends with.
    let mut head = Vec::new();
    let mut info = png::Info::with_size(width, height);
    info.icc_profile = metadata.icc.map(Cow::Borrowed);
    info.exif_metadata = metadata.exif.map(Cow::Borrowed);
    let mut encoder =
        png::Encoder::with_info(&mut head, info).map_err(|e| Error::internal(format!("PNG header: {e}")))?;
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_deflate_compression(png::DeflateCompression::Level(level));
    encoder.set_filter(png::Filter::Adaptive);
    encoder
        .write_header()
        .and_then(png::Writer::finish)
        .map_err(|e| Error::internal(format!("PNG header: {e}")))?;
    let (header, iend) = head.split_at(head.len() - 12);
    out.write_all(header).map_err(io)?;
    let start = out.data.len();
    out.write_all(&[0, 0, 0, 0]).map_err(io)?;
    out.write_all(b"IDAT").map_err(io)?;
    let mut zlib = flate2::write::ZlibEncoder::new(&mut *out, flate2::Compression::new(u32::from(level)));
    let bpp = if opaque { 3 } else { 4 };
    let line_len = width as usize * bpp;
    let (mut prev, mut line, mut filtered) = (vec![0u8; line_len], vec![0u8; line_len], vec![0u8; line_len]);
    for row in image.as_raw().chunks_exact(width as usize * 4) {
        if opaque {
            for (rgb, rgba) in line.chunks_exact_mut(3).zip(row.chunks_exact(4)) {
                rgb.copy_from_slice(&rgba[..3]);
            }
        } else {
            line.copy_from_slice(row);
        }
        let filter = adaptive(bpp, &prev, &line, &mut filtered);
        zlib.write_all(&[filter as u8]).map_err(io)?;
        zlib.write_all(&filtered).map_err(io)?;
        std::mem::swap(&mut prev, &mut line);
    }
    zlib.finish().map_err(io)?;
    let length = out.data.len() - start - 8;
    let length = u32::try_from(length)
        .ok()
        .filter(|&n| n <= u32::MAX >> 1)
        .ok_or_else(|| Error::too_large("a PNG's image data is at most 2 GiB"))?;
    out.data[start..start + 4].copy_from_slice(&length.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&out.data[start + 4..]);
    out.write_all(&crc.sum().to_be_bytes()).map_err(io)?;
    out.write_all(iend).map_err(io)
}

fn io(e: std::io::Error) -> Error {
    Error::internal(format!("PNG output: {e}"))
}

/// The row filters of PNG (the filter type byte is the discriminant).
#[derive(Clone, Copy, PartialEq)]
enum RowFilter {
    Sub = 1,
    Up = 2,
    Avg = 3,
    Paeth = 4,
}

/// The png crate's `Filter::Adaptive`: `out` gets `cur` filtered with the chosen filter.
fn adaptive(bpp: usize, prev: &[u8], cur: &[u8], out: &mut [u8]) -> RowFilter {
    use RowFilter::{Avg, Paeth, Sub, Up};
    let mut least = u64::MAX;
    let mut choice = Up;
    for filter in [Up, Sub, Avg, Paeth] {
        apply(filter, bpp, prev, cur, out);
        let cost = out.iter().map(|&b| u64::from((b as i8).unsigned_abs())).sum();
        if cost <= least {
            least = cost;
            choice = filter;
            if cost == 0 {
                return choice;
            }
        }
    }
    if choice != Paeth {
        apply(choice, bpp, prev, cur, out);
    }
    choice
}

/// `cur` filtered with `filter` into `out`; `prev` is the row above (zeros for the first).
/// The first pixel (no left neighbour) apart, each loop is branch-free so it vectorises.
fn apply(filter: RowFilter, bpp: usize, prev: &[u8], cur: &[u8], out: &mut [u8]) {
    let n = cur.len();
    let (head, rest) = out.split_at_mut(bpp.min(n));
    let (cur_rest, prev_rest) = (&cur[head.len()..], &prev[head.len()..]);
    let (left, up_left) = (&cur[..n - head.len()], &prev[..n - head.len()]);
    match filter {
        RowFilter::Sub => {
            head.copy_from_slice(&cur[..head.len()]);
            for ((o, &c), &a) in rest.iter_mut().zip(cur_rest).zip(left) {
                *o = c.wrapping_sub(a);
            }
        }
        RowFilter::Up => {
            for ((o, &c), &b) in head.iter_mut().chain(rest.iter_mut()).zip(cur).zip(prev) {
                *o = c.wrapping_sub(b);
            }
        }
        RowFilter::Avg => {
            for ((o, &c), &b) in head.iter_mut().zip(cur).zip(prev) {
                *o = c.wrapping_sub(b / 2);
            }
            for (((o, &c), &b), &a) in rest.iter_mut().zip(cur_rest).zip(prev_rest).zip(left) {
                *o = c.wrapping_sub(((u16::from(a) + u16::from(b)) / 2) as u8);
            }
        }
        RowFilter::Paeth => {
            for ((o, &c), &b) in head.iter_mut().zip(cur).zip(prev) {
                *o = c.wrapping_sub(paeth(0, b, 0));
            }
            for ((((o, &c), &b), &a), &d) in rest.iter_mut().zip(cur_rest).zip(prev_rest).zip(left).zip(up_left) {
                *o = c.wrapping_sub(paeth(a, b, d));
            }
        }
    }
}

/// The PNG specification's Paeth predictor, without branches.
#[inline(always)]
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    let b_or_c = if pb <= pc { b } else { c };
    if pa <= pb && pa <= pc { a } else { b_or_c }
}

#[cfg(test)]
mod tests {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::{ExtendedColorType, ImageEncoder, Rgba};

    use super::*;

    fn image_rs(image: &Image, opaque: bool, level: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let encoder = PngEncoder::new_with_quality(&mut out, CompressionType::Level(level), FilterType::Adaptive);
        let (w, h) = image.dimensions();
        if opaque {
            let rgb: Vec<u8> = image
                .as_raw()
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            encoder.write_image(&rgb, w, h, ExtendedColorType::Rgb8).unwrap();
        } else {
            encoder
                .write_image(image.as_raw(), w, h, ExtendedColorType::Rgba8)
                .unwrap();
        }
        out
    }

    fn ours(image: &Image, opaque: bool, level: u8) -> Vec<u8> {
        let mut sink = Sink::new(u64::MAX);
        encode(image, opaque, level, Metadata::default(), &mut sink).unwrap();
        sink.data
    }

    /// Noise, gradients, flat areas and edges, every level: the same bytes as image-rs.
    #[test]
    fn same_bytes_as_image_rs() {
        let mut seed = 7u32;
        let mut noise = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        };
        for (w, h) in [(1, 1), (2, 3), (17, 5), (64, 9), (301, 13)] {
            let noisy = Image::from_fn(w, h, |_, _| Rgba([noise(), noise(), noise(), noise()]));
            let smooth = Image::from_fn(w, h, |x, y| {
                let edge = if x > w / 2 { 200 } else { 10 };
                Rgba([(x * 3) as u8, (y * 7) as u8, edge, if y % 3 == 0 { 255 } else { 128 }])
            });
            let flat = Image::from_pixel(w, h, Rgba([9, 9, 9, 255]));
            for image in [&noisy, &smooth, &flat] {
                for opaque in [true, false] {
                    for level in [1, 6, 9] {
                        assert!(
                            ours(image, opaque, level) == image_rs(image, opaque, level),
                            "{w}x{h} opaque {opaque} level {level}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn paeth_is_the_specification_s() {
        for a in (0..=255u8).step_by(5) {
            for b in (0..=255u8).step_by(7) {
                for c in (0..=255u8).step_by(3) {
                    let p = i32::from(a) + i32::from(b) - i32::from(c);
                    let d = |v: u8| (p - i32::from(v)).abs();
                    let want = [a, b, c].into_iter().min_by_key(|&v| d(v)).unwrap();
                    assert_eq!(paeth(a, b, c), want, "{a} {b} {c}");
                }
            }
        }
    }
}
