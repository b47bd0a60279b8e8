//! `info`: what an image file is, from its headers only (no pixel is decoded).
//!
//! PNG, JPEG, WebP and GIF are read here, chunk by chunk or marker by marker, up to the
//! first image data (PNG, JPEG) or over every block's length (WebP, GIF: frames are
//! counted without decoding them); BMP and TIFF through their decoders' header reads.
//! EXIF is parsed with `kamadak-exif`; an ICC profile's description is read here (its
//! `desc` tag). What a file does not say is `null`; an EXIF block or ICC profile that
//! cannot be read is `null` too (the decoder ignores them as well), while a header the
//! decoder would refuse is `bad_input`.

use std::borrow::Cow;
use std::io::{Cursor, Read};

use image::{ColorType, ExtendedColorType, ImageDecoder, ImageFormat, ImageReader};
use serde_json::{Value, json};

use super::lenient;
use crate::limits::SLACK;
use crate::{Error, Limits, Result};

/// The largest ICC profile read (as the decoder's limit for PNG's).
const MAX_ICC_BYTES: u64 = 4 << 20;
/// The longest text kept from a profile description or an EXIF field, in characters.
const MAX_TEXT: usize = 256;

/// What the headers say, before it is written as JSON.
#[derive(Debug, Default)]
struct Header<'a> {
    format: &'static str,
    width: u32,
    height: u32,
    has_alpha: bool,
    bit_depth: u8,
    color_type: &'static str,
    frames: u32,
    progressive: bool,
    icc: Option<Cow<'a, [u8]>>,
    /// EXIF as TIFF bytes (from `II*\0` or `MM\0*`).
    exif: Option<Cow<'a, [u8]>>,
    /// The orientation from the container itself (TIFF's tag), before EXIF's.
    orientation: Option<u8>,
}

/// The JSON description of the image file `bytes`.
///
/// Memory: the input, and at most a copy of it (BMP's lenient copy, or TIFF's EXIF,
/// which is the whole file), the parsed EXIF values (no more than the input) and an ICC
/// profile.
pub fn info(bytes: &[u8], limits: &Limits) -> Result<Vec<u8>> {
    if bytes.is_empty() {
        return Err(Error::bad_input("empty input; expected an image"));
    }
    limits.check_memory(3 * bytes.len() as u64 + MAX_ICC_BYTES + SLACK, || {
        format!("reading the headers of {} bytes", bytes.len())
    })?;
    let format = image::guess_format(bytes)
        .map_err(|_| Error::bad_input("not a recognised image format (PNG, JPEG, WebP, GIF, BMP, TIFF)"))?;
    let header = match format {
        ImageFormat::Png => png(bytes)?,
        ImageFormat::Jpeg => jpeg(bytes)?,
        ImageFormat::WebP => webp(bytes)?,
        ImageFormat::Gif => gif(bytes)?,
        ImageFormat::Bmp => bmp(bytes)?,
        ImageFormat::Tiff => tiff(bytes)?,
        other => {
            return Err(Error::unsupported(format!(
                "{} images are not supported; this build reads PNG, JPEG, WebP, GIF, BMP and TIFF",
                other.extensions_str().first().copied().unwrap_or("these")
            )));
        }
    };
    if header.width == 0 || header.height == 0 {
        return Err(Error::bad_input(format!(
            "image has no pixels ({}x{})",
            header.width, header.height
        )));
    }
    Ok(to_json(header).to_string().into_bytes())
}

/// The EXIF block (TIFF-structured bytes) of a JPEG, PNG or WebP file, for `encode
/// exif=keep`; `None` for other formats (a TIFF's tags are the file itself) or when the
/// headers cannot be read.
pub fn exif_block(bytes: &[u8]) -> Option<Cow<'_, [u8]>> {
    let header = match image::guess_format(bytes).ok()? {
        ImageFormat::Png => png(bytes),
        ImageFormat::Jpeg => jpeg(bytes),
        ImageFormat::WebP => webp(bytes),
        _ => return None,
    };
    header.ok()?.exif
}

fn to_json(h: Header<'_>) -> Value {
    let exif = h.exif.as_deref().and_then(Exif::read);
    let orientation = h
        .orientation
        .or_else(|| exif.as_ref().and_then(|e| e.orientation))
        .filter(|o| (1..=8).contains(o));
    // Orientations 5 to 8 turn the image a quarter.
    let (ow, oh) = match orientation {
        Some(5..=8) => (h.height, h.width),
        _ => (h.width, h.height),
    };
    let icc = h
        .icc
        .as_deref()
        .map(|p| icc_description(p).map_or(Value::Null, Value::from));
    json!({
        "format": h.format,
        "width": h.width,
        "height": h.height,
        "oriented_width": ow,
        "oriented_height": oh,
        "orientation": orientation,
        "has_alpha": h.has_alpha,
        "bit_depth": h.bit_depth,
        "color_type": h.color_type,
        "icc": h.icc.is_some(),
        "icc_description": icc.unwrap_or(Value::Null),
        "frames": h.frames,
        "progressive": h.progressive,
        "exif": exif.map(|e| json!({
            "make": e.make,
            "model": e.model,
            "date_taken": e.date_taken,
            "gps": e.gps,
        })),
    })
}

fn truncated(format: &str) -> Error {
    Error::bad_input(format!("truncated {format} header"))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// EXIF bytes as TIFF: some writers put JPEG's `Exif\0\0` before them in PNG and WebP.
fn tiff_of_exif(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"Exif\0\0").unwrap_or(data)
}

/// PNG: IHDR, then the chunks before the first IDAT (where the decoder reads iCCP,
/// eXIf, tRNS and APNG's acTL).
fn png(b: &[u8]) -> Result<Header<'_>> {
    let ihdr = b
        .get(8..33)
        .filter(|h| &h[4..8] == b"IHDR")
        .ok_or_else(|| truncated("PNG"))?;
    let (width, height) = (be32(ihdr, 8).unwrap_or(0), be32(ihdr, 12).unwrap_or(0));
    let (depth, colour, interlace) = (ihdr[16], ihdr[17], ihdr[20]);
    let color_type = match colour {
        0 => "gray",
        2 => "rgb",
        3 => "palette",
        4 => "gray_alpha",
        6 => "rgba",
        other => return Err(Error::bad_input(format!("PNG colour type {other} does not exist"))),
    };
    let mut h = Header {
        format: "png",
        width,
        height,
        has_alpha: matches!(colour, 4 | 6),
        bit_depth: depth,
        color_type,
        frames: 1,
        progressive: interlace == 1,
        ..Header::default()
    };
    let mut at = 33;
    while let (Some(len), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) {
        if matches!(kind, b"IDAT" | b"IEND") {
            break;
        }
        let data = b
            .get(at + 8..(at + 8).saturating_add(len as usize))
            .ok_or_else(|| truncated("PNG"))?;
        match kind {
            b"tRNS" => h.has_alpha = true,
            b"acTL" => h.frames = be32(data, 0).unwrap_or(1),
            b"eXIf" => h.exif = Some(Cow::Borrowed(tiff_of_exif(data))),
            b"iCCP" => h.icc = inflate_icc(data).map(Cow::Owned),
            _ => {}
        }
        at += 12 + len as usize;
    }
    Ok(h)
}

/// An iCCP chunk's profile: a name, a NUL, the method (0), zlib data.
fn inflate_icc(chunk: &[u8]) -> Option<Vec<u8>> {
    let nul = chunk.iter().position(|&c| c == 0)?;
    let data = chunk.get(nul + 2..)?;
    let mut profile = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(MAX_ICC_BYTES + 1)
        .read_to_end(&mut profile)
        .ok()?;
    (profile.len() as u64 <= MAX_ICC_BYTES).then_some(profile)
}

/// JPEG: the markers before the first scan (SOS): the frame header, APP1 EXIF, APP2
/// ICC profile chunks (in their sequence order).
fn jpeg(b: &[u8]) -> Result<Header<'_>> {
    let mut h = Header {
        format: "jpeg",
        frames: 1,
        ..Header::default()
    };
    let mut icc: Vec<(u8, &[u8])> = Vec::new();
    let mut frame = false;
    let mut at = 2;
    loop {
        // Fill bytes (0xFF) may come before a marker.
        while b.get(at) == Some(&0xff) && b.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        let (Some(&0xff), Some(&marker)) = (b.get(at), b.get(at + 1)) else {
            return Err(if at + 1 < b.len() {
                Error::bad_input("JPEG: no marker where one was expected")
            } else {
                truncated("JPEG")
            });
        };
        at += 2;
        if matches!(marker, 0x01 | 0xd0..=0xd7) {
            continue; // no length
        }
        let len = usize::from(be16(b, at).ok_or_else(|| truncated("JPEG"))?);
        let data = b
            .get(at + 2..(at + len).max(at + 2))
            .filter(|_| len >= 2)
            .ok_or_else(|| truncated("JPEG"))?;
        match marker {
            0xda | 0xd9 => break,
            // SOF0-15 but DHT (C4), JPG (C8) and DAC (CC).
            0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) => {
                let precision = *data.first().ok_or_else(|| truncated("JPEG"))?;
                h.bit_depth = precision;
                h.height = u32::from(be16(data, 1).ok_or_else(|| truncated("JPEG"))?);
                h.width = u32::from(be16(data, 3).ok_or_else(|| truncated("JPEG"))?);
                h.color_type = match data.get(5) {
                    Some(1) => "gray",
                    Some(3) => "rgb",
                    Some(4) => "cmyk",
                    _ => return Err(Error::unsupported("JPEG with other than 1, 3 or 4 components")),
                };
                // SOF2, 6, 10 and 14 are progressive.
                h.progressive = matches!(marker, 0xc2 | 0xc6 | 0xca | 0xce);
                frame = true;
            }
            0xe1 if data.starts_with(b"Exif\0\0") && h.exif.is_none() => {
                h.exif = Some(Cow::Borrowed(&data[6..]));
            }
            0xe2 if data.starts_with(b"ICC_PROFILE\0") && data.len() >= 14 => icc.push((data[12], &data[14..])),
            _ => {}
        }
        at += len;
    }
    if !frame {
        return Err(Error::bad_input("JPEG has no frame header"));
    }
    if !icc.is_empty() {
        icc.sort_by_key(|(seq, _)| *seq);
        h.icc = Some(Cow::Owned(icc.iter().flat_map(|(_, d)| d.iter().copied()).collect()));
    }
    Ok(h)
}

/// WebP: the RIFF chunks. A simple file is one VP8 (lossy) or VP8L (lossless) chunk;
/// an extended one starts with VP8X (canvas size, flags) and may carry ICCP, EXIF and
/// animation frames (ANMF).
fn webp(b: &[u8]) -> Result<Header<'_>> {
    let riff_end = le32(b, 4).map_or(b.len(), |n| (n as usize).saturating_add(8).min(b.len()));
    let mut h = Header {
        format: "webp",
        bit_depth: 8,
        frames: 1,
        ..Header::default()
    };
    let (mut animation, mut anmf, mut sized) = (false, 0u32, false);
    let mut at = 12;
    while at + 8 <= riff_end {
        let (kind, len) = (&b[at..at + 4], le32(b, at + 4).unwrap_or(0) as usize);
        let data = b.get(at + 8..(at + 8).saturating_add(len).min(riff_end)).unwrap_or(&[]);
        match kind {
            b"VP8X" => {
                let flags = *data.first().ok_or_else(|| truncated("WebP"))?;
                h.has_alpha = flags & 0x10 != 0;
                animation = flags & 0x02 != 0;
                h.width = le24(data, 4).ok_or_else(|| truncated("WebP"))? + 1;
                h.height = le24(data, 7).ok_or_else(|| truncated("WebP"))? + 1;
                sized = true;
            }
            b"VP8 " if !sized => {
                // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit sizes.
                if data.get(3..6) != Some(&[0x9d, 0x01, 0x2a]) {
                    return Err(Error::bad_input("WebP: VP8 frame without its start code"));
                }
                h.width = u32::from(le16(data, 6).ok_or_else(|| truncated("WebP"))? & 0x3fff);
                h.height = u32::from(le16(data, 8).ok_or_else(|| truncated("WebP"))? & 0x3fff);
                sized = true;
            }
            b"VP8L" if !sized => {
                if data.first() != Some(&0x2f) {
                    return Err(Error::bad_input("WebP: VP8L data without its signature"));
                }
                let bits = le32(data, 1).ok_or_else(|| truncated("WebP"))?;
                h.width = (bits & 0x3fff) + 1;
                h.height = (bits >> 14 & 0x3fff) + 1;
                h.has_alpha = bits >> 28 & 1 == 1;
                sized = true;
            }
            b"ICCP" => h.icc = Some(Cow::Borrowed(data)),
            b"EXIF" => h.exif = Some(Cow::Borrowed(tiff_of_exif(data))),
            b"ANMF" => anmf += 1,
            _ => {}
        }
        // Chunks are padded to an even size.
        at = at.saturating_add(8).saturating_add(len).saturating_add(len & 1);
    }
    if !sized {
        return Err(Error::bad_input("WebP without an image chunk"));
    }
    if animation {
        h.frames = anmf;
    }
    h.color_type = if h.has_alpha { "rgba" } else { "rgb" };
    Ok(h)
}

/// GIF: the logical screen, then every block: frames are counted by their image
/// descriptors, skipping the LZW data's sub-blocks without decoding them.
fn gif(b: &[u8]) -> Result<Header<'_>> {
    let screen = b.get(6..13).ok_or_else(|| truncated("GIF"))?;
    let packed = screen[4];
    let mut h = Header {
        format: "gif",
        width: u32::from(le16(screen, 0).unwrap_or(0)),
        height: u32::from(le16(screen, 2).unwrap_or(0)),
        color_type: "palette",
        bit_depth: (packed & 7) + 1,
        ..Header::default()
    };
    let mut at = 13;
    if packed & 0x80 != 0 {
        at += 3 << ((packed & 7) + 1);
    }
    // Skips sub-blocks from `at` to the block terminator; the offset after it.
    let skip = |mut at: usize| -> Result<usize> {
        loop {
            let n = usize::from(*b.get(at).ok_or_else(|| truncated("GIF"))?);
            at += 1 + n;
            if n == 0 {
                return Ok(at);
            }
        }
    };
    loop {
        match b.get(at) {
            // Trailer, or data cut after at least one frame (decoders show what came).
            Some(0x3b) => break,
            None if h.frames > 0 => break,
            None => return Err(truncated("GIF")),
            Some(0x21) => {
                let label = *b.get(at + 1).ok_or_else(|| truncated("GIF"))?;
                // Graphic control: packed byte bit 0 is "has a transparent index".
                if label == 0xf9 && b.get(at + 3).is_some_and(|p| p & 1 == 1) {
                    h.has_alpha = true;
                }
                at = skip(at + 2)?;
            }
            Some(0x2c) => {
                let d = b.get(at + 1..at + 10).ok_or_else(|| truncated("GIF"))?;
                if h.frames == 0 {
                    h.progressive = d[8] & 0x40 != 0;
                    if packed & 0x80 == 0 && d[8] & 0x80 != 0 {
                        h.bit_depth = (d[8] & 7) + 1;
                    }
                }
                at += 10;
                if d[8] & 0x80 != 0 {
                    at += 3 << ((d[8] & 7) + 1);
                }
                // LZW minimum code size, then the data's sub-blocks.
                match skip(at + 1) {
                    Ok(next) => at = next,
                    Err(_) if h.frames > 0 => break,
                    Err(e) => return Err(e),
                }
                h.frames += 1;
            }
            Some(other) => {
                if h.frames > 0 {
                    break;
                }
                return Err(Error::bad_input(format!("GIF: unknown block 0x{other:02x}")));
            }
        }
    }
    if h.frames == 0 {
        return Err(Error::bad_input("GIF without an image"));
    }
    Ok(h)
}

/// BMP: the decoder's header read (on the lenient copy the decoder reads).
fn bmp(bytes: &[u8]) -> Result<Header<'_>> {
    let (fixed, _) = lenient::bmp(bytes);
    let decoder = ImageReader::with_format(Cursor::new(&*fixed), ImageFormat::Bmp)
        .into_decoder()
        .map_err(|e| Error::bad_input(format!("BMP: {e}")))?;
    let (width, height) = decoder.dimensions();
    let (color_type, bit_depth) = match decoder.original_color_type() {
        ExtendedColorType::L1 | ExtendedColorType::Rgb1 => ("palette", 1),
        ExtendedColorType::L2 | ExtendedColorType::Rgb2 => ("palette", 2),
        ExtendedColorType::L4 | ExtendedColorType::Rgb4 => ("palette", 4),
        _ => match decoder.color_type() {
            ColorType::L8 => ("gray", 8),
            ColorType::Rgba8 => ("rgba", 8),
            _ => ("rgb", 8),
        },
    };
    Ok(Header {
        format: "bmp",
        width,
        height,
        has_alpha: decoder.color_type().has_alpha(),
        bit_depth,
        color_type,
        frames: 1,
        ..Header::default()
    })
}

/// TIFF: the first image's tags; EXIF fields from the file itself (a TIFF is EXIF's
/// own structure).
fn tiff(bytes: &[u8]) -> Result<Header<'_>> {
    use tiff::ColorType as T;
    use tiff::decoder::Decoder;
    use tiff::tags::Tag;

    let bad = |e: tiff::TiffError| Error::bad_input(format!("TIFF: {e}"));
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(bad)?;
    let (width, height) = decoder.dimensions().map_err(bad)?;
    let (color_type, bit_depth, has_alpha) = match decoder.colortype().map_err(bad)? {
        T::Gray(d) => ("gray", d, false),
        T::GrayA(d) => ("gray_alpha", d, true),
        T::RGB(d) | T::YCbCr(d) | T::Lab(d) => ("rgb", d, false),
        T::RGBA(d) => ("rgba", d, true),
        T::CMYK(d) => ("cmyk", d, false),
        T::CMYKA(d) => ("cmyk", d, true),
        T::Palette(d) => ("palette", d, false),
        other => return Err(Error::unsupported(format!("TIFF of colour type {other:?}"))),
    };
    let orientation = decoder.find_tag_unsigned::<u8>(Tag::Orientation).ok().flatten();
    let icc = decoder
        .get_tag_u8_vec(Tag::Unknown(34675))
        .ok()
        .filter(|p| p.len() as u64 <= MAX_ICC_BYTES);
    Ok(Header {
        format: "tiff",
        width,
        height,
        has_alpha,
        bit_depth,
        color_type,
        frames: 1,
        icc: icc.map(Cow::Owned),
        exif: Some(Cow::Borrowed(bytes)),
        orientation,
        ..Header::default()
    })
}

/// The EXIF fields `info` reports.
#[derive(Debug, Default)]
struct Exif {
    orientation: Option<u8>,
    make: Option<String>,
    model: Option<String>,
    date_taken: Option<String>,
    gps: bool,
}

impl Exif {
    /// Reads TIFF-structured EXIF; `None` when it cannot be read.
    fn read(tiff: &[u8]) -> Option<Exif> {
        use exif::{In, Tag, Value};
        let exif = exif::Reader::new().read_raw(tiff.to_vec()).ok()?;
        let text = |tag: Tag| match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(parts) => {
                let raw = parts.first()?;
                let s: String = String::from_utf8_lossy(raw).chars().take(MAX_TEXT).collect();
                let s = s.trim_end_matches(['\0', ' ']).trim_start().to_owned();
                (!s.is_empty()).then_some(s)
            }
            _ => None,
        };
        let orientation = exif
            .get_field(Tag::Orientation, In::PRIMARY)
            .and_then(|f| f.value.get_uint(0))
            .and_then(|o| u8::try_from(o).ok());
        Some(Exif {
            orientation,
            make: text(Tag::Make),
            model: text(Tag::Model),
            date_taken: text(Tag::DateTimeOriginal),
            gps: exif.get_field(Tag::GPSInfoIFDPointer, In::PRIMARY).is_some()
                || exif.fields().any(|f| f.tag.context() == exif::Context::Gps),
        })
    }
}

/// An ICC profile's description (its `desc` tag: ICC v2 `desc` ASCII or v4 `mluc`,
/// the first record), or `None`.
fn icc_description(profile: &[u8]) -> Option<String> {
    let count = be32(profile, 128)? as usize;
    let tag = (0..count.min(1024)).find_map(|i| {
        let at = 132 + 12 * i;
        (profile.get(at..at + 4)? == b"desc").then_some(())?;
        let (offset, size) = (be32(profile, at + 4)? as usize, be32(profile, at + 8)? as usize);
        profile.get(offset..offset.checked_add(size)?)
    })?;
    let text = match tag.get(0..4)? {
        b"desc" => {
            let n = be32(tag, 8)? as usize;
            let ascii = tag.get(12..12usize.checked_add(n)?)?;
            let end = ascii.iter().position(|&c| c == 0).unwrap_or(ascii.len());
            String::from_utf8_lossy(&ascii[..end]).into_owned()
        }
        b"mluc" => {
            let (records, record_size) = (be32(tag, 8)?, be32(tag, 12)? as usize);
            if records == 0 || record_size < 12 {
                return None;
            }
            let (len, offset) = (be32(tag, 20)? as usize, be32(tag, 24)? as usize);
            let utf16 = tag.get(offset..offset.checked_add(len)?)?;
            let units: Vec<u16> = utf16
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => return None,
    };
    let text: String = text.chars().take(MAX_TEXT).collect();
    let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info_json(bytes: &[u8]) -> Value {
        serde_json::from_slice(&info(bytes, &Limits::default()).unwrap()).unwrap()
    }

    /// A minimal ICC profile with one `desc` tag of `tag` bytes.
    fn profile_with(tag: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 132 + 12];
        p[128..132].copy_from_slice(&1u32.to_be_bytes());
        p[132..136].copy_from_slice(b"desc");
        p[136..140].copy_from_slice(&144u32.to_be_bytes());
        p[140..144].copy_from_slice(&(tag.len() as u32).to_be_bytes());
        p.extend_from_slice(tag);
        p
    }

    #[test]
    fn icc_descriptions_v2_and_v4() {
        let mut v2 = b"desc\0\0\0\0".to_vec();
        v2.extend_from_slice(&10u32.to_be_bytes());
        v2.extend_from_slice(b"Adobe RGB\0");
        assert_eq!(icc_description(&profile_with(&v2)).as_deref(), Some("Adobe RGB"));
        let text: Vec<u8> = "Display P3".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let mut v4 = b"mluc\0\0\0\0".to_vec();
        for v in [1u32, 12] {
            v4.extend_from_slice(&v.to_be_bytes());
        }
        v4.extend_from_slice(b"enUS");
        v4.extend_from_slice(&(text.len() as u32).to_be_bytes());
        v4.extend_from_slice(&28u32.to_be_bytes());
        v4.extend_from_slice(&text);
        assert_eq!(icc_description(&profile_with(&v4)).as_deref(), Some("Display P3"));
        // Cut anywhere: no description, no panic.
        for n in 0..profile_with(&v4).len() {
            let cut = &profile_with(&v4)[..n];
            assert_eq!(icc_description(cut), None, "{n}");
        }
    }

    #[test]
    fn png_headers() {
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, 3, 2);
            e.set_color(png::ColorType::Rgba);
            e.set_depth(png::BitDepth::Sixteen);
            let mut w = e.write_header().unwrap();
            w.write_image_data(&[0; 3 * 2 * 8]).unwrap();
        }
        let v = info_json(&out);
        assert_eq!(v["format"], "png");
        assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(3), Some(2)));
        assert_eq!(v["bit_depth"], 16);
        assert_eq!(v["color_type"], "rgba");
        assert_eq!(v["has_alpha"], true);
        assert_eq!(v["frames"], 1);
        assert_eq!(v["orientation"], Value::Null);
        assert_eq!(v["exif"], Value::Null);
        // Every cut of the header is an error, not a panic; after IHDR it still reads.
        for n in 0..out.len() {
            let r = info(&out[..n], &Limits::default());
            if n < 33 {
                assert!(r.is_err(), "{n}");
            }
        }
    }
}
