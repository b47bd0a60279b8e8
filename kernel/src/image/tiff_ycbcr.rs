//! TIFFs with YCbCr samples (photometric 6), which image-rs refuses, decoded to RGBA8.
//!
//! The tiff crate reads the samples when the chroma is not subsampled, and when the
//! strips are JPEG (libjpeg-style decoders upsample the chroma themselves). It refuses
//! subsampled chroma under any other compression, so those strips are read here: each
//! is decompressed (none, LZW, Deflate or PackBits), then its data units (the `h x v`
//! luma samples of a block, then one Cb and one Cr) are spread over the block's pixels,
//! as libtiff's `TIFFRGBAImage` does. Samples are converted with the full-range BT.601
//! equations of JFIF, the TIFF default (`ReferenceBlackWhite` 0/255/128/255/128/255;
//! other `YCbCrCoefficients` are not applied). The `Orientation` tag is applied.

use std::io::{Cursor, Read};

use image::metadata::Orientation;
use tiff::decoder::{ChunkType, Decoder, DecodingResult};
use tiff::tags::Tag;

use super::Image;
use crate::limits::SLACK;
use crate::{Error, Limits, Result};

/// TIFF `Compression` values read here.
const NONE: u16 = 1;
const LZW: u16 = 5;
const OLD_JPEG: u16 = 6;
const JPEG: u16 = 7;
const DEFLATE: u16 = 8;
const ADOBE_DEFLATE: u16 = 32946;
const PACKBITS: u16 = 32773;

/// A TIFF whose first image has 8-bit YCbCr samples, decoded and turned upright: `None`
/// when it has other samples (image-rs decodes those).
pub fn decode(bytes: &[u8], limits: &Limits) -> Option<Result<(Image, Orientation)>> {
    let mut decoder = Decoder::new(Cursor::new(bytes)).ok()?;
    if !matches!(decoder.colortype(), Ok(tiff::ColorType::YCbCr(8))) {
        return None;
    }
    Some(read(decoder, bytes, limits))
}

fn tiff_error(e: tiff::TiffError) -> Error {
    match e {
        tiff::TiffError::UnsupportedError(e) => Error::unsupported(format!("YCbCr TIFF: {e}")),
        tiff::TiffError::LimitsExceeded => Error::too_large("YCbCr TIFF: over the image limits"),
        e => Error::bad_input(format!("corrupt YCbCr TIFF: {e}")),
    }
}

fn read(mut decoder: Decoder<Cursor<&[u8]>>, bytes: &[u8], limits: &Limits) -> Result<(Image, Orientation)> {
    let (width, height) = decoder.dimensions().map_err(tiff_error)?;
    limits.check_image(width, height)?;
    if width == 0 || height == 0 {
        return Err(Error::bad_input(format!("image has no pixels ({width}x{height})")));
    }
    let orientation = decoder
        .find_tag_unsigned::<u8>(Tag::Orientation)
        .ok()
        .flatten()
        .and_then(Orientation::from_exif)
        .unwrap_or(Orientation::NoTransforms);
    let compression = decoder
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(tiff_error)?
        .unwrap_or(NONE);
    // The tag's default is 2 x 2 (TIFF 6.0, section 21).
    let subsampling = match decoder
        .find_tag_unsigned_vec::<u16>(Tag::ChromaSubsampling)
        .map_err(tiff_error)?
    {
        None => (2, 2),
        Some(v) if v.len() == 2 => (v[0], v[1]),
        Some(_) => {
            return Err(Error::bad_input(
                "corrupt YCbCr TIFF: YCbCrSubsampling needs two values",
            ));
        }
    };
    let pixels = u64::from(width) * u64::from(height);
    let image = if subsampling == (1, 1) || matches!(compression, OLD_JPEG | JPEG) {
        // The tiff crate's samples (3 bytes a pixel), then RGBA8.
        limits.check_memory(bytes.len() as u64 + 7 * pixels + SLACK, || {
            format!("decoding this {width}x{height} YCbCr TIFF")
        })?;
        let mut tiff_limits = tiff::decoder::Limits::default();
        tiff_limits.decoding_buffer_size = usize::try_from(limits.max_pixels.saturating_mul(3)).unwrap_or(usize::MAX);
        let DecodingResult::U8(samples) = decoder.with_limits(tiff_limits).read_image().map_err(tiff_error)? else {
            return Err(Error::unsupported("YCbCr TIFF with samples of more than 8 bits"));
        };
        if samples.len() < pixels as usize * 3 {
            return Err(Error::bad_input("YCbCr TIFF: fewer samples than pixels"));
        }
        let rgba = samples
            .chunks_exact(3)
            .take(pixels as usize)
            .flat_map(|p| rgba_of(p[0], p[1], p[2]))
            .collect();
        Image::from_raw(width, height, rgba).ok_or_else(|| Error::internal("YCbCr buffer size"))?
    } else {
        Subsampled::new(&mut decoder, width, height, subsampling, compression)?.read(bytes, limits)?
    };
    Ok((image, orientation))
}

/// A YCbCr image with subsampled chroma stored in strips, one plane of data units.
struct Subsampled {
    width: u32,
    height: u32,
    /// Luma samples across and down one chroma sample.
    h: u32,
    v: u32,
    compression: u16,
    rows_per_strip: u32,
    offsets: Vec<u64>,
    counts: Vec<u64>,
}

impl Subsampled {
    fn new(
        decoder: &mut Decoder<Cursor<&[u8]>>,
        width: u32,
        height: u32,
        (h, v): (u16, u16),
        compression: u16,
    ) -> Result<Self> {
        if !matches!(h, 1 | 2 | 4) || !matches!(v, 1 | 2 | 4) || v > h {
            return Err(Error::bad_input(format!(
                "corrupt YCbCr TIFF: chroma subsampling {h}x{v}"
            )));
        }
        if !matches!(compression, NONE | LZW | DEFLATE | ADOBE_DEFLATE | PACKBITS) {
            return Err(Error::unsupported(format!(
                "YCbCr TIFF with subsampled chroma and compression {compression}"
            )));
        }
        if decoder.get_chunk_type() != ChunkType::Strip {
            return Err(Error::unsupported("YCbCr TIFF with subsampled chroma in tiles"));
        }
        let planar = decoder
            .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
            .map_err(tiff_error)?;
        let predictor = decoder.find_tag_unsigned::<u16>(Tag::Predictor).map_err(tiff_error)?;
        if planar.unwrap_or(1) != 1 || predictor.unwrap_or(1) != 1 {
            return Err(Error::unsupported(
                "YCbCr TIFF with subsampled chroma in planes or with a predictor",
            ));
        }
        let (v32, h32) = (u32::from(v), u32::from(h));
        let rows_per_strip = decoder
            .find_tag_unsigned::<u32>(Tag::RowsPerStrip)
            .map_err(tiff_error)?
            .unwrap_or(height)
            .clamp(1, height);
        // A strip holds whole rows of data units (the last one may be cut by the image).
        if rows_per_strip % v32 != 0 && rows_per_strip != height {
            return Err(Error::bad_input(format!(
                "corrupt YCbCr TIFF: {rows_per_strip} rows a strip is not a multiple of the chroma's {v}"
            )));
        }
        let offsets = decoder.get_tag_u64_vec(Tag::StripOffsets).map_err(tiff_error)?;
        let counts = decoder.get_tag_u64_vec(Tag::StripByteCounts).map_err(tiff_error)?;
        let strips = height.div_ceil(rows_per_strip) as usize;
        if offsets.len() < strips || counts.len() < strips {
            return Err(Error::bad_input(format!(
                "corrupt YCbCr TIFF: {strips} strips, fewer offsets or sizes"
            )));
        }
        Ok(Subsampled {
            width,
            height,
            h: h32,
            v: v32,
            compression,
            rows_per_strip,
            offsets,
            counts,
        })
    }

    /// Bytes of data units for `rows` rows of pixels.
    fn strip_bytes(&self, rows: u32) -> usize {
        let units = u64::from(self.width.div_ceil(self.h)) * u64::from(rows.div_ceil(self.v));
        (units * u64::from(self.h * self.v + 2)) as usize
    }

    fn read(&self, bytes: &[u8], limits: &Limits) -> Result<Image> {
        let (width, height) = (self.width, self.height);
        let pixels = u64::from(width) * u64::from(height);
        // The input, one decompressed strip, the RGBA8 image.
        let strip_max = self.strip_bytes(self.rows_per_strip);
        limits.check_memory(bytes.len() as u64 + strip_max as u64 + 4 * pixels + SLACK, || {
            format!("decoding this {width}x{height} YCbCr TIFF")
        })?;
        let mut rgba = vec![0u8; pixels as usize * 4];
        let mut strip = Vec::with_capacity(strip_max);
        let row_bytes = width as usize * 4;
        let unit = (self.h * self.v + 2) as usize;
        for (index, top) in (0..height).step_by(self.rows_per_strip as usize).enumerate() {
            let rows = self.rows_per_strip.min(height - top);
            let want = self.strip_bytes(rows);
            let start = usize::try_from(self.offsets[index]).unwrap_or(usize::MAX);
            let len = usize::try_from(self.counts[index]).unwrap_or(usize::MAX);
            let raw = start
                .checked_add(len)
                .and_then(|end| bytes.get(start..end))
                .ok_or_else(|| {
                    Error::bad_input(format!("corrupt YCbCr TIFF: strip {index} is past the end of the file"))
                })?;
            strip.clear();
            self.decompress(raw, want, &mut strip)
                .map_err(|e| Error::bad_input(format!("corrupt YCbCr TIFF: strip {index}: {e}")))?;
            if strip.len() < want {
                return Err(Error::bad_input(format!(
                    "corrupt YCbCr TIFF: strip {index} holds {} bytes of the {want} its rows need",
                    strip.len()
                )));
            }
            let out = &mut rgba[top as usize * row_bytes..(top + rows) as usize * row_bytes];
            for (band, units) in strip[..want]
                .chunks_exact(unit * width.div_ceil(self.h) as usize)
                .enumerate()
            {
                for (across, data) in units.chunks_exact(unit).enumerate() {
                    let (cb, cr) = (data[unit - 2], data[unit - 1]);
                    for dy in 0..self.v {
                        let y = band as u32 * self.v + dy;
                        for dx in 0..self.h {
                            let x = across as u32 * self.h + dx;
                            if x < width && y < rows {
                                let at = y as usize * row_bytes + x as usize * 4;
                                out[at..at + 4].copy_from_slice(&rgba_of(data[(dy * self.h + dx) as usize], cb, cr));
                            }
                        }
                    }
                }
            }
        }
        Image::from_raw(width, height, rgba).ok_or_else(|| Error::internal("YCbCr buffer size"))
    }

    /// Decompresses one strip into `out`: at most `want` bytes are kept.
    fn decompress(&self, raw: &[u8], want: usize, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        match self.compression {
            NONE => out.extend_from_slice(&raw[..raw.len().min(want)]),
            LZW => {
                let mut decoder = weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
                let stream = decoder.into_stream(LimitedWriter { out, room: want });
                // Once the strip has its bytes, what follows (padding, a missing end
                // code) does not matter, as for libtiff.
                if let Err(e) = stream.decode_all(raw).status
                    && out.len() < want
                {
                    return Err(format!("LZW: {e}"));
                }
            }
            DEFLATE | ADOBE_DEFLATE => {
                flate2::read::ZlibDecoder::new(raw)
                    .take(want as u64)
                    .read_to_end(out)
                    .map_err(|e| format!("Deflate: {e}"))?;
            }
            _ => packbits(raw, want, out),
        }
        Ok(())
    }
}

/// A writer that takes at most `room` bytes, then reports `WriteZero`.
struct LimitedWriter<'a> {
    out: &'a mut Vec<u8>,
    room: usize,
}

impl std::io::Write for LimitedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.room - self.out.len());
        if n == 0 && !buf.is_empty() {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// PackBits (TIFF 6.0, section 9): at most `want` bytes into `out`; a stream cut short
/// stops where it ends.
fn packbits(mut raw: &[u8], want: usize, out: &mut Vec<u8>) {
    while out.len() < want {
        let Some((&n, rest)) = raw.split_first() else { return };
        let n = n as i8;
        raw = rest;
        if n >= 0 {
            let take = (n as usize + 1).min(raw.len()).min(want - out.len());
            out.extend_from_slice(&raw[..take]);
            raw = &raw[(n as usize + 1).min(raw.len())..];
        } else if n != -128 {
            let Some((&byte, rest)) = raw.split_first() else { return };
            raw = rest;
            let take = (1 - n as isize) as usize;
            out.resize(out.len() + take.min(want - out.len()), byte);
        }
    }
}

/// One pixel's YCbCr as opaque RGBA.
fn rgba_of(y: u8, cb: u8, cr: u8) -> [u8; 4] {
    let [r, g, b] = ycbcr_to_rgb(y, cb, cr);
    [r, g, b, 255]
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
    fn packbits_reads_literals_and_runs_and_stops_at_want() {
        // TIFF 6.0's own example.
        let raw = [
            0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7, 0xAA,
        ];
        let mut out = Vec::new();
        packbits(&raw, 100, &mut out);
        let expected = [
            0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0x22, 0xAA, 0xAA, 0xAA, 0xAA,
            0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
        ];
        assert_eq!(out, expected);
        out.clear();
        packbits(&raw, 5, &mut out);
        assert_eq!(out, expected[..5]);
        // Cut short: what was there.
        out.clear();
        packbits(&raw[..4], 100, &mut out);
        assert_eq!(out, [0xAA, 0xAA, 0xAA, 0x80]);
    }
}
