//! Decoding (format sniffed, limits checked before allocating, EXIF orientation applied)
//! and encoding of images.

use std::borrow::Cow;
use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader};

use super::geometry::Axis;
use super::icc::{Channels, ToSrgb};
use super::metadata::Metadata;
use super::resize::{Request, Shrunk};
use super::sink::Sink;
use super::{Image, geometry, icc, lenient, png_encode, png16, tiff_ycbcr};
use crate::choice::{Choice, choices};
use crate::limits::SLACK;
use crate::{Error, Limits, Result};

/// The format an image was decoded from; decides the implied final encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// Nothing decoded yet.
    Unknown,
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    Webp,
    /// GIF (its first frame).
    Gif,
    /// BMP.
    Bmp,
    /// TIFF.
    Tiff,
    /// Raw RGBA8 pixels.
    Rgba,
}

impl SourceFormat {
    /// The format the implied final encode writes: the source's own where this kernel
    /// can write it, PNG otherwise (GIF, BMP, TIFF).
    pub fn reencode_as(self) -> EncodeFormat {
        match self {
            SourceFormat::Jpeg => EncodeFormat::Jpeg,
            SourceFormat::Webp => EncodeFormat::Webp,
            SourceFormat::Rgba => EncodeFormat::Rgba,
            _ => EncodeFormat::Png,
        }
    }
}

choices! {
    /// What `decode` reads: a sniffed file format, or raw RGBA8 pixels.
    pub enum DecodeFormat {
        Auto = "auto",
        Rgba = "rgba",
    }
}

choices! {
    /// What `decode` does with an embedded ICC profile (JPEG APP2, PNG iCCP, WebP ICCP).
    pub enum DecodeIcc {
        /// Converts the pixels to sRGB with it (image/icc.rs).
        Convert = "convert",
        /// Keeps the decoded values as they are (and a CMYK JPEG's naive conversion).
        Ignore = "ignore",
    }
}

choices! {
    /// What `encode` does with the source's ICC profile.
    pub enum EncodeIcc {
        /// No profile in the output: its pixels are sRGB.
        Strip = "strip",
        /// The pixels stay in the source's colour space (its decode does not convert
        /// them) and the output carries its profile, as sharp's `keepIccProfile`.
        Keep = "keep",
    }
}

choices! {
    /// What `encode` does with the source's EXIF.
    pub enum EncodeExif {
        /// None in the output (the default: no camera, date or GPS leaks).
        Strip = "strip",
        /// The source's EXIF block (JPEG, PNG or WebP sources), its orientation set to
        /// 1 since the decode turned the pixels upright.
        Keep = "keep",
    }
}

/// How one decode treats an embedded profile: `decode icc=`, or `Keep` when the encode
/// of the image says `icc=keep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IccUse {
    /// To sRGB.
    Convert,
    /// Not read.
    Ignore,
    /// Not applied, handed to the encode (an RGB profile only: kiln's pixels are RGB,
    /// so a grey or CMYK source is converted to sRGB and its profile dropped).
    Keep,
}

/// A decoded image, its format and the profile it keeps for `encode icc=keep`.
#[derive(Debug)]
pub struct Decoded {
    /// The RGBA8 image, upright.
    pub image: Image,
    /// What it was decoded from.
    pub source: SourceFormat,
    /// The source's RGB profile, when the decode kept it (`IccUse::Keep`).
    pub icc: Option<Vec<u8>>,
    /// Set when a JPEG was decoded at a reduced scale for the resize after it.
    pub shrunk: Option<Shrunk>,
}

choices! {
    /// The formats `encode` writes (their names are also meta's `format`).
    pub enum EncodeFormat {
        Png = "png",
        Jpeg = "jpeg",
        /// Lossless WebP.
        Webp = "webp",
        /// Raw RGBA8 pixels, rows top to bottom.
        Rgba = "rgba",
    }
}

impl EncodeFormat {
    /// The MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            EncodeFormat::Png => "image/png",
            EncodeFormat::Jpeg => "image/jpeg",
            EncodeFormat::Webp => "image/webp",
            EncodeFormat::Rgba => "application/octet-stream",
        }
    }
}

/// Checks a PNG's chunks before the first IDAT and returns the bytes its ICC profile
/// inflates to (the png crate inflates and keeps it while the pixels are decoded).
///
/// Refuses a PLTE chunk that is not whole RGB entries (1 to 256 of them): png 0.18.1
/// indexes such a palette out of bounds and panics while expanding it (found by the
/// `decode_png` fuzz target; tests/cases/fuzz/png-plte-not-triples.toml), and an ICC
/// profile of more than [`MAX_ICC_BYTES`]. The decoder checks everything else.
fn check_png_chunks(bytes: &[u8]) -> Result<u64> {
    let mut at = 8; // after the signature
    let mut icc = 0;
    while let Some(header) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        match &header[4..8] {
            b"PLTE" if !len.is_multiple_of(3) || !(3..=768).contains(&len) => {
                return Err(Error::bad_input(format!(
                    "PNG palette of {len} bytes: not 1 to 256 RGB entries"
                )));
            }
            b"iCCP" => {
                let chunk = bytes.get(at + 8..at.saturating_add(8).saturating_add(len));
                icc = icc_size(chunk.unwrap_or_default())?;
            }
            b"IDAT" => return Ok(icc),
            _ => {}
        }
        at = at.saturating_add(12).saturating_add(len); // length, type, data, CRC
    }
    Ok(icc)
}

/// The largest ICC profile a PNG may carry (real ones are a few KiB to a few hundred).
const MAX_ICC_BYTES: u64 = 4 << 20;

/// The inflated size of an iCCP chunk's profile (`name NUL method zlib-data`); a
/// profile that does not inflate counts 0 (the decoder says what is wrong with it).
fn icc_size(chunk: &[u8]) -> Result<u64> {
    use std::io::Read;
    let Some(nul) = chunk.iter().position(|&b| b == 0) else {
        return Ok(0);
    };
    let data = chunk.get(nul + 2..).unwrap_or_default();
    let mut inflate = flate2::read::ZlibDecoder::new(data).take(MAX_ICC_BYTES + 1);
    let size = std::io::copy(&mut inflate, &mut std::io::sink()).unwrap_or(0);
    if size > MAX_ICC_BYTES {
        return Err(Error::too_large(format!(
            "the PNG's ICC profile inflates past {MAX_ICC_BYTES} bytes"
        )));
    }
    Ok(size)
}

/// Sniffs, checks limits and decodes an encoded image to RGBA8, upright, with its ICC
/// profile used as `icc` says. With `shrink_for` (the resize that follows), a JPEG is
/// decoded at the smallest of 1/2, 1/4, 1/8 of its size that is not smaller than the
/// resize's target ([`Decoded::shrunk`]).
pub fn decode(bytes: &[u8], limits: &Limits, icc: IccUse, shrink_for: Option<Request>) -> Result<Decoded> {
    let (mut image, source, profile, shrunk) = decode_pixels(bytes, limits, icc, shrink_for)?;
    let mut kept = None;
    if let Some((profile, channels)) = profile {
        check_icc_size(Some(&profile))?;
        match icc {
            IccUse::Keep if channels == Channels::Rgb => kept = Some(profile),
            IccUse::Ignore => {}
            _ => {
                if let Some(transform) = ToSrgb::new(&profile, channels) {
                    transform.apply(&mut image);
                }
            }
        }
    }
    Ok(Decoded {
        image,
        source,
        icc: kept,
        shrunk,
    })
}

/// Refuses an ICC profile past [`MAX_ICC_BYTES`] (a WebP's or JPEG's is otherwise
/// bounded by the input only).
fn check_icc_size(profile: Option<&[u8]>) -> Result<()> {
    match profile {
        Some(p) if p.len() as u64 > MAX_ICC_BYTES => Err(Error::too_large(format!(
            "the image's ICC profile is past {MAX_ICC_BYTES} bytes"
        ))),
        _ => Ok(()),
    }
}

/// An image's ICC profile and the colour space of the samples it was decoded from.
type Profile = Option<(Vec<u8>, Channels)>;

/// Decodes the pixels; a profile still to apply (grey or RGB) is returned with them.
fn decode_pixels(
    bytes: &[u8],
    limits: &Limits,
    icc: IccUse,
    shrink_for: Option<Request>,
) -> Result<(Image, SourceFormat, Profile, Option<Shrunk>)> {
    if bytes.is_empty() {
        return Err(Error::bad_input("empty input; expected an image"));
    }
    let format = image::guess_format(bytes)
        .map_err(|_| Error::bad_input("not a recognised image format (PNG, JPEG, WebP, GIF, BMP, TIFF)"))?;
    let source = match format {
        ImageFormat::Png => SourceFormat::Png,
        ImageFormat::Jpeg => SourceFormat::Jpeg,
        ImageFormat::WebP => SourceFormat::Webp,
        ImageFormat::Gif => SourceFormat::Gif,
        ImageFormat::Bmp => SourceFormat::Bmp,
        ImageFormat::Tiff => SourceFormat::Tiff,
        other => {
            return Err(Error::unsupported(format!(
                "{} images are not supported; this build reads PNG, JPEG, WebP, GIF, BMP and TIFF",
                other.extensions_str().first().copied().unwrap_or("these")
            )));
        }
    };
    if source == SourceFormat::Jpeg {
        let (image, profile, shrunk) = decode_jpeg(bytes, limits, icc, shrink_for)?;
        return Ok((image, source, profile, shrunk));
    }
    let mut icc_bytes = 0;
    if source == SourceFormat::Png {
        icc_bytes = check_png_chunks(bytes)?;
        if let Some(decoded) = png16::decode(bytes, limits, icc != IccUse::Ignore, icc_bytes) {
            let (image, orientation, profile) = decoded?;
            return Ok((upright(image, orientation), source, profile, None));
        }
    }
    if source == SourceFormat::Tiff
        && let Some(decoded) = tiff_ycbcr::decode(bytes, limits)
    {
        let (image, orientation) = decoded?;
        return Ok((upright(image, orientation), source, None, None));
    }
    let (lenient_bytes, bmp_fixes) = if source == SourceFormat::Bmp {
        lenient::bmp(bytes)
    } else {
        (Cow::Borrowed(bytes), lenient::BmpFixes::default())
    };
    let mut reader = ImageReader::with_format(Cursor::new(&*lenient_bytes), format);
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(limits.max_dimension);
    decode_limits.max_image_height = Some(limits.max_dimension);
    // The decoder may hold 16-bit samples and a conversion buffer before RGBA8.
    decode_limits.max_alloc = Some(limits.max_pixels.saturating_mul(16).saturating_add(1 << 20));
    reader.limits(decode_limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    let (width, height) = decoder.dimensions();
    limits.check_image(width, height)?;
    if width == 0 || height == 0 {
        return Err(Error::bad_input(format!("image has no pixels ({width}x{height})")));
    }
    let orientation = decoder.orientation().map_err(image_error)?;
    // A PNG's or WebP's profile (image-rs reads other formats' too, which kiln does
    // not apply yet).
    let profile = match source {
        SourceFormat::Png | SourceFormat::Webp if icc != IccUse::Ignore => {
            let gray = matches!(
                decoder.color_type(),
                image::ColorType::L8 | image::ColorType::La8 | image::ColorType::L16 | image::ColorType::La16
            );
            let channels = if gray { Channels::Gray } else { Channels::Rgb };
            decoder.icc_profile().ok().flatten().map(|p| (p, channels))
        }
        _ => None,
    };
    let managed = profile.as_ref().map_or(0, |(p, _)| icc::held(p.len()));
    // The memory model: the input (and its lenient copy), a PNG's ICC profile, the
    // decoder's own pixels unless they are RGBA8 already, the RGBA8 image, a turned copy
    // for an EXIF rotation, GIF's canvas and WebP's working planes; a profile to apply:
    // its copy and the transform (`icc::held`).
    let pixels = u64::from(width) * u64::from(height);
    let native = decoder.color_type();
    let converted = if native == image::ColorType::Rgba8 {
        0
    } else {
        4 * pixels
    };
    let canvas = match source {
        SourceFormat::Gif => 4 * pixels,
        SourceFormat::Webp => webp_working(bytes, width, height),
        _ => 0,
    };
    let held = bytes.len() as u64 * if matches!(lenient_bytes, Cow::Owned(_)) { 2 } else { 1 }
        + icc_bytes
        + managed
        + u64::from(native.bytes_per_pixel()) * pixels
        + converted
        + canvas
        + turned(orientation, pixels)
        + SLACK;
    limits.check_memory(held, || format!("decoding this {width}x{height} image"))?;
    let decoded = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    let has_alpha = decoded.color().has_alpha();
    let mut image = decoded.into_rgba8();
    match source {
        SourceFormat::Bmp => {
            if bmp_fixes.flip {
                geometry::flip(&mut image, Axis::Vertical);
            }
            if has_alpha && lenient::alpha_all_zero(&image) {
                lenient::make_opaque(&mut image);
            }
        }
        SourceFormat::Tiff if has_alpha && lenient::tiff_alpha_is_associated(bytes) => {
            lenient::unpremultiply(&mut image);
        }
        _ => {}
    }
    Ok((upright(image, orientation), source, profile, None))
}

/// Decodes a JPEG straight to RGBA8 (one output buffer), upright. A CMYK or YCCK JPEG
/// with a CMYK profile is converted with it here (from the decoder's CMYK samples); a
/// grey or RGB JPEG's profile is returned, to be applied by the caller. A grey, YCbCr
/// or RGB JPEG is decoded at a reduced scale when `shrink_for` allows (shrink-on-load,
/// in the DCT domain: third_party/zune-jpeg/KILN-PATCH.md).
fn decode_jpeg(
    bytes: &[u8],
    limits: &Limits,
    icc: IccUse,
    shrink_for: Option<Request>,
) -> Result<(Image, Profile, Option<Shrunk>)> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    use zune_jpeg::ScaleError;

    if !jpeg_has_end(bytes) {
        return Err(Error::bad_input(
            "truncated JPEG: no end-of-image marker after the image data",
        ));
    }
    // The output colour space must be set before the headers are read: set later,
    // zune-jpeg keeps the converter chosen for the original space.
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(limits.max_dimension as usize)
        .set_max_height(limits.max_dimension as usize)
        .jpeg_set_out_colorspace(ColorSpace::RGBA);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(jpeg_error)?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| Error::bad_input("JPEG has no frame header"))?;
    let (width, height) = (width as u32, height as u32);
    limits.check_image(width, height)?;
    if width == 0 || height == 0 {
        return Err(Error::bad_input(format!("image has no pixels ({width}x{height})")));
    }
    let orientation = decoder
        .exif()
        .and_then(|exif| Orientation::from_exif_chunk(exif))
        .unwrap_or(Orientation::NoTransforms);
    let input = decoder.input_colorspace();
    let channels = match input {
        Some(ColorSpace::Luma) => Channels::Gray,
        Some(ColorSpace::CMYK | ColorSpace::YCCK) => Channels::Cmyk,
        _ => Channels::Rgb,
    };
    let profile = match icc {
        IccUse::Ignore => None,
        _ => decoder.icc_profile(),
    };
    check_icc_size(profile.as_deref())?;
    // A CMYK JPEG is decoded to its samples (zune-jpeg's output colour space CMYK; for
    // YCCK its Y, Cb, Cr and K planes, converted here), which its CMYK profile converts;
    // without one, naively. (zune-jpeg 0.5.15's own CMYK and YCCK to RGBA conversions
    // step 3 bytes a pixel through a 4-byte buffer: garbled pixels.)
    let cmyk = match &profile {
        Some(p) if channels == Channels::Cmyk => ToSrgb::new(p, Channels::Cmyk),
        _ => None,
    };
    // The memory model: the input and the decoder's copies of its metadata (at most the
    // input again), the RGBA8 image (or the CMYK samples, converted in place), a turned
    // copy for an EXIF rotation, a profile and its transform (`icc::held`) and, for a
    // progressive JPEG, every component's coefficients (zune-jpeg keeps them at full
    // resolution, 2 bytes each, over whole MCUs: at most 32 x 32 pixels).
    let pixels = u64::from(width) * u64::from(height);
    let coefficients = match decoder.info() {
        Some(info) if info.sof.is_progressive() => {
            let padded = u64::from(width.next_multiple_of(32)) * u64::from(height.next_multiple_of(32));
            u64::from(info.components) * 2 * padded
        }
        _ => 0,
    };
    let managed = profile.as_ref().map_or(0, |p| icc::held(p.len()));
    let held = 2 * bytes.len() as u64 + 4 * pixels + coefficients + turned(orientation, pixels) + managed + SLACK;
    limits.check_memory(held, || format!("decoding this {width}x{height} JPEG"))?;
    if channels == Channels::Cmyk {
        let ycck = input == Some(ColorSpace::YCCK);
        let out = if ycck { ColorSpace::YCCK } else { ColorSpace::CMYK };
        drop(decoder);
        let mut decoder =
            zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options.jpeg_set_out_colorspace(out));
        decoder.decode_headers().map_err(jpeg_error)?;
        let mut samples = decoder.decode().map_err(jpeg_error)?;
        if samples.len() as u64 != pixels * 4 {
            return Err(Error::bad_input("JPEG decoded to an unexpected size"));
        }
        to_ink(&mut samples, ycck);
        match cmyk {
            Some(transform) => transform.apply_cmyk(&mut samples, width as usize),
            None => naive_cmyk(&mut samples),
        }
        let image = Image::from_raw(width, height, samples).ok_or_else(|| Error::internal("JPEG buffer size"))?;
        return Ok((upright(image, orientation), None, None));
    }
    let swaps = !matches!(
        orientation,
        Orientation::NoTransforms | Orientation::Rotate180 | Orientation::FlipHorizontal | Orientation::FlipVertical
    );
    let upright_size = if swaps { (height, width) } else { (width, height) };
    let shift = shrink_for.map_or(0, |r| r.shrink_shift(upright_size.0, upright_size.1));
    if shift > 0
        && let Some((w, h)) = decoder.scaled_dimensions(shift)
    {
        // The scaled image replaces the full one in the memory model; a progressive
        // JPEG's coefficients are still gathered at full size.
        let scaled = w as u64 * h as u64;
        let held = 2 * bytes.len() as u64 + 4 * scaled + coefficients + turned(orientation, scaled) + managed + SLACK;
        limits.check_memory(held, || {
            format!("decoding this {width}x{height} JPEG at 1/{}", 1 << shift)
        })?;
        match decoder.decode_scaled(shift) {
            Ok(rgba) => {
                let image =
                    Image::from_raw(w as u32, h as u32, rgba).ok_or_else(|| Error::internal("JPEG buffer size"))?;
                let shrunk = Shrunk {
                    source: upright_size,
                    shift,
                };
                return Ok((
                    upright(image, orientation),
                    profile.map(|p| (p, channels)),
                    Some(shrunk),
                ));
            }
            Err(ScaleError::Decode(e)) => return Err(jpeg_error(e)),
            // A layout the scaled decode does not take: at full size below.
            Err(ScaleError::Unsupported(_)) => {
                decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
                decoder.decode_headers().map_err(jpeg_error)?;
            }
        }
    }
    let rgba = decoder.decode().map_err(jpeg_error)?;
    if rgba.len() as u64 != u64::from(width) * u64::from(height) * 4 {
        return Err(Error::bad_input("JPEG decoded to an unexpected size"));
    }
    let image = Image::from_raw(width, height, rgba).ok_or_else(|| Error::internal("JPEG buffer size"))?;
    Ok((upright(image, orientation), profile.map(|p| (p, channels)), None))
}

/// Ink values (CMYK, 0 = no ink) to RGB without a profile, as browsers and zune-jpeg
/// do: each of R, G, B is (255 - ink) x (255 - black) / 255, rounded.
fn naive_cmyk(samples: &mut [u8]) {
    let times = |a: u8, b: u8| {
        let t = i32::from(a) * i32::from(b) + 128;
        ((t + (t >> 8)) >> 8) as u8
    };
    for px in samples.chunks_exact_mut(4) {
        let white = 255 - px[3];
        px[0] = times(255 - px[0], white);
        px[1] = times(255 - px[1], white);
        px[2] = times(255 - px[2], white);
        px[3] = 255;
    }
}

/// A CMYK JPEG's samples (Adobe's inverted CMYK, as Photoshop writes them and as
/// browsers, libjpeg-based readers and Pillow take every CMYK JPEG to be) to ink
/// values, 0 = no ink. YCCK samples (Y, Cb, Cr, K) are first taken to inverted CMYK as
/// libjpeg does (its fixed-point YCbCr -> RGB, then C = 255 - R): the inks are then
/// R, G, B themselves.
fn to_ink(samples: &mut [u8], ycck: bool) {
    const HALF: i32 = 1 << 15;
    let fix = |v: f64| (v * 65536.0 + 0.5) as i32;
    for px in samples.chunks_exact_mut(4) {
        if ycck {
            let y = i32::from(px[0]);
            let (cb, cr) = (i32::from(px[1]) - 128, i32::from(px[2]) - 128);
            let r = y + ((fix(1.402) * cr + HALF) >> 16);
            let g = y + ((-fix(0.344_14) * cb - fix(0.714_14) * cr + HALF) >> 16);
            let b = y + ((fix(1.772) * cb + HALF) >> 16);
            px[0] = r.clamp(0, 255) as u8;
            px[1] = g.clamp(0, 255) as u8;
            px[2] = b.clamp(0, 255) as u8;
        } else {
            px[0] = 255 - px[0];
            px[1] = 255 - px[1];
            px[2] = 255 - px[2];
        }
        px[3] = 255 - px[3];
    }
}

/// Applies an EXIF orientation with the kernel's own RGBA8 moves (image-rs's
/// `DynamicImage::apply_orientation` would compile them for every pixel type).
fn upright(image: Image, orientation: Orientation) -> Image {
    match orientation {
        Orientation::NoTransforms => image,
        Orientation::Rotate90 => geometry::rotate(&image, 90),
        Orientation::Rotate180 => geometry::rotate(&image, 180),
        Orientation::Rotate270 => geometry::rotate(&image, 270),
        Orientation::FlipHorizontal => flipped(image, Axis::Horizontal),
        Orientation::FlipVertical => flipped(image, Axis::Vertical),
        Orientation::Rotate90FlipH => flipped(geometry::rotate(&image, 90), Axis::Horizontal),
        Orientation::Rotate270FlipH => flipped(geometry::rotate(&image, 270), Axis::Horizontal),
    }
}

/// What image-webp holds besides the decoded pixels while it decodes a WebP of
/// `width x height`: a lossy image's Y, U and V planes (384 bytes a 16x16 macroblock)
/// next to its alpha plane (compressed losslessly, it is first decoded as a whole RGBA image:
/// `5p`), and for an animation the frame it decodes before drawing it on the canvas.
fn webp_working(bytes: &[u8], width: u32, height: u32) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    let planes = u64::from(width.div_ceil(16)) * u64::from(height.div_ceil(16)) * 384;
    let (mut lossy, mut alpha, mut animated) = (false, 0, false);
    let mut at = 12;
    while let Some(head) = bytes.get(at..at + 8) {
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let data = &bytes[at + 8..];
        match &head[..4] {
            b"VP8 " => lossy = true,
            b"VP8X" => animated = data.first().is_some_and(|flags| flags & 0x02 != 0),
            b"ALPH" => {
                alpha = if data.first().is_some_and(|info| info & 0x03 == 1) {
                    5 * pixels
                } else {
                    pixels
                }
            }
            _ => {}
        }
        if animated {
            // Every frame's own chunks: take the most any frame can hold.
            return 4 * pixels + planes + 5 * pixels;
        }
        at = at.saturating_add(8).saturating_add(size).saturating_add(size & 1);
    }
    // Without alpha the planes are gone before the RGB pixels become RGBA (`4p`).
    if lossy && alpha > 0 { planes + alpha } else { 0 }
}

/// The bytes of the turned copy [`upright`] makes of an RGBA8 image of `pixels`.
fn turned(orientation: Orientation, pixels: u64) -> u64 {
    match orientation {
        Orientation::NoTransforms | Orientation::FlipHorizontal | Orientation::FlipVertical => 0,
        _ => 4 * pixels,
    }
}

fn flipped(mut image: Image, axis: Axis) -> Image {
    geometry::flip(&mut image, axis);
    image
}

fn jpeg_error(e: zune_jpeg::errors::DecodeErrors) -> Error {
    use zune_jpeg::errors::DecodeErrors;
    match e {
        DecodeErrors::LargeDimensions(_) => Error::too_large(format!("JPEG exceeds a limit: {e}")),
        DecodeErrors::Unsupported(_) => Error::unsupported(format!("unsupported JPEG: {e}")),
        _ => Error::bad_input(format!("corrupt JPEG: {e}")),
    }
}

/// Wraps raw RGBA8 bytes of `width` x `height`.
pub fn decode_raw(bytes: Cow<'_, [u8]>, width: u32, height: u32, limits: &Limits) -> Result<Image> {
    limits.check_image(width, height)?;
    let expected = u64::from(width) * u64::from(height) * 4;
    if bytes.len() as u64 != expected {
        return Err(Error::bad_input(format!(
            "raw RGBA8 {width}x{height} needs {expected} bytes, got {}",
            bytes.len()
        )));
    }
    Image::from_raw(width, height, bytes.into_owned())
        .ok_or_else(|| Error::internal("raw buffer size was checked but rejected"))
}

/// Encodes an image into at most `max_bytes` (`too_large` past them: the output limit,
/// or the room the memory model leaves the output). `quality` applies to JPEG, `level`
/// to PNG; `icc` is embedded (PNG iCCP, JPEG APP2, WebP ICCP; raw pixels carry none).
/// Fully opaque images are written without an alpha channel where the format allows
/// (PNG, JPEG always).
pub fn encode(
    image: Image,
    format: EncodeFormat,
    quality: u8,
    level: u8,
    metadata: Metadata<'_>,
    max_bytes: u64,
) -> Result<Vec<u8>> {
    let opaque = super::is_opaque(&image);
    if format == EncodeFormat::Rgba {
        if image.as_raw().len() as u64 > max_bytes {
            return Err(sink_full(format, max_bytes));
        }
        return Ok(image.into_raw());
    }
    if format == EncodeFormat::Png && level == 0 {
        // Stored: the png crate builds the whole stream in a buffer of its own before
        // anything reaches the output, so its size (the rows with their filter bytes, 5
        // bytes a deflate block, zlib's and the PNG's framing) is checked first.
        let (width, height) = image.dimensions();
        let raw = (1 + u64::from(width) * if opaque { 3 } else { 4 }) * u64::from(height);
        if raw + 5 * raw.div_ceil(65_535) + 6 + 57 > max_bytes {
            return Err(sink_full(format, max_bytes));
        }
    }
    let mut out = Sink::new(max_bytes);
    let encoded = encode_into(&image, format, quality, level, opaque, metadata, &mut out);
    match encoded {
        Err(_) if out.full => Err(sink_full(format, max_bytes)),
        Err(e) => Err(e),
        Ok(()) => Ok(out.data),
    }
}

fn sink_full(format: EncodeFormat, max_bytes: u64) -> Error {
    Error::too_large(format!(
        "the {} output would pass {max_bytes} bytes: the output limit, or the memory left for the output \
         (max_memory_bytes)",
        format.name()
    ))
}

fn encode_into(
    image: &Image,
    format: EncodeFormat,
    quality: u8,
    level: u8,
    opaque: bool,
    metadata: Metadata<'_>,
    out: &mut Sink,
) -> Result<()> {
    let (width, height) = image.dimensions();
    let unsupported = |e| Error::internal(format!("metadata: {e}"));
    let Metadata { icc, exif } = metadata;
    match format {
        EncodeFormat::Rgba => unreachable!("raw pixels are moved, not encoded"),
        EncodeFormat::Png if level > 0 => png_encode::encode(image, opaque, level, metadata, out)?,
        EncodeFormat::Png => {
            // Level 0 (stored): the png crate's own stored blocks, through image-rs.
            let mut encoder = PngEncoder::new_with_quality(out, CompressionType::Uncompressed, FilterType::Adaptive);
            if let Some(profile) = icc {
                encoder.set_icc_profile(profile.to_vec()).map_err(unsupported)?;
            }
            if let Some(exif) = exif {
                encoder.set_exif_metadata(exif.to_vec()).map_err(unsupported)?;
            }
            if opaque {
                let rgb = rgb_of(image);
                encoder.write_image(&rgb, width, height, ExtendedColorType::Rgb8)
            } else {
                encoder.write_image(image.as_raw(), width, height, ExtendedColorType::Rgba8)
            }
            .map_err(image_error)?;
        }
        EncodeFormat::Jpeg => {
            let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
                return Err(Error::too_large(format!(
                    "JPEG is at most 65535x65535; image is {width}x{height}"
                )));
            };
            let mut encoder = jpeg_encoder::Encoder::new(out, quality);
            if let Some(profile) = icc {
                encoder
                    .add_icc_profile(profile)
                    .map_err(|e| Error::too_large(format!("JPEG can carry no ICC profile this large: {e}")))?;
            }
            if let Some(exif) = exif {
                // APP1: `Exif\0\0`, then the TIFF-structured block (one segment: 64 KiB).
                encoder
                    .add_app_segment(1, [b"Exif\0\0".as_slice(), exif].concat())
                    .map_err(|e| Error::too_large(format!("JPEG can carry no EXIF this large: {e}")))?;
            }
            encoder
                .encode(image.as_raw(), w, h, jpeg_encoder::ColorType::Rgba)
                .map_err(|e| Error::internal(format!("JPEG encoder: {e}")))?;
        }
        EncodeFormat::Webp => {
            if width > 16_383 || height > 16_383 {
                return Err(Error::too_large(format!(
                    "WebP is at most 16383x16383; image is {width}x{height}"
                )));
            }
            let mut encoder = WebPEncoder::new_lossless(out);
            if let Some(profile) = icc {
                encoder.set_icc_profile(profile.to_vec()).map_err(unsupported)?;
            }
            if let Some(exif) = exif {
                encoder.set_exif_metadata(exif.to_vec()).map_err(unsupported)?;
            }
            if opaque {
                let rgb = rgb_of(image);
                encoder.encode(&rgb, width, height, ExtendedColorType::Rgb8)
            } else {
                encoder.encode(image.as_raw(), width, height, ExtendedColorType::Rgba8)
            }
            .map_err(image_error)?;
        }
    }
    Ok(())
}

/// Whether a JPEG has its end-of-image marker after the first scan. zune-jpeg, like
/// browsers, fills a cut-off scan with grey and reports success; kiln, like libvips's
/// default, treats a truncated file as bad input rather than return half an image.
///
/// Walks the marker segments (each has a length) to the first start-of-scan, so an
/// EXIF thumbnail's own end marker is skipped; after it, entropy-coded data never
/// contains FF D9 (an FF there is always followed by 00 or a restart marker).
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return false;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if marker == 0xDA {
            return bytes[i + 2..].windows(2).any(|w| w == [0xFF, 0xD9]);
        }
        i += 2 + len;
    }
    false
}

fn rgb_of(image: &Image) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(image.as_raw().len() / 4 * 3);
    for px in image.as_raw().chunks_exact(4) {
        rgb.extend_from_slice(&px[..3]);
    }
    rgb
}

/// Maps image-rs errors by who is at fault.
fn image_error(e: ImageError) -> Error {
    match e {
        ImageError::Limits(e) => Error::too_large(format!("image exceeds a limit: {e}")),
        ImageError::Unsupported(e) => Error::unsupported(format!("unsupported image: {e}")),
        ImageError::Decoding(e) => Error::bad_input(format!("corrupt image: {e}")),
        ImageError::IoError(e) => Error::bad_input(format!("truncated or unreadable image: {e}")),
        ImageError::Parameter(e) => Error::bad_input(format!("invalid image: {e}")),
        ImageError::Encoding(e) => Error::internal(format!("image encoder failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::resize::Fit;

    /// A photo-like JPEG of `w` x `h` (smooth gradients and an edge), 4:2:0.
    fn jpeg(w: u32, h: u32, progressive: bool) -> Vec<u8> {
        let mut rgb = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let edge = if (x / 37 + y / 23) % 2 == 0 { 40 } else { 0 };
                rgb.extend([(x * 255 / w) as u8, (y * 255 / h) as u8, (128 + edge) as u8]);
            }
        }
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
        encoder.set_progressive(progressive);
        encoder
            .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    #[test]
    fn a_jpeg_shrinks_on_load_to_no_less_than_the_resize_asks() {
        for progressive in [false, true] {
            let bytes = jpeg(803, 601, progressive);
            let full = decode(&bytes, &Limits::default(), IccUse::Convert, None).unwrap();
            assert_eq!(full.shrunk, None);
            for (width, shift, size) in [
                (400, 1, (402, 301)),
                (150, 2, (201, 151)),
                (90, 3, (101, 76)),
                (500, 0, (803, 601)),
            ] {
                let request = Request {
                    width: Some(width),
                    height: None,
                    fit: Fit::Contain,
                };
                let d = decode(&bytes, &Limits::default(), IccUse::Convert, Some(request)).unwrap();
                assert_eq!(d.image.dimensions(), size, "{width}");
                assert_eq!(d.shrunk.map_or(0, |s| s.shift), shift);
                if shift == 0 {
                    continue;
                }
                assert_eq!(d.shrunk.unwrap().source, (803, 601));
                // Within a few levels of the full decode box-averaged.
                let d_px = 1usize << shift;
                let (w, h) = (803 / d_px, 601 / d_px);
                let mut diff = 0u64;
                for y in 0..h {
                    for x in 0..w {
                        for c in 0..3 {
                            let mut sum = 0u64;
                            for yy in 0..d_px {
                                for xx in 0..d_px {
                                    sum += u64::from(
                                        full.image.get_pixel((x * d_px + xx) as u32, (y * d_px + yy) as u32)[c],
                                    );
                                }
                            }
                            let avg = (sum + (d_px * d_px / 2) as u64) / (d_px * d_px) as u64;
                            diff += avg.abs_diff(u64::from(d.image.get_pixel(x as u32, y as u32)[c]));
                        }
                    }
                }
                let mean = diff as f64 / (w * h * 3) as f64;
                assert!(mean < 2.0, "1/{d_px} progressive {progressive}: mean {mean}");
            }
        }
    }

    /// A 2x2 grey PNG carrying an ICC profile of `icc` bytes (zeros: a tiny chunk).
    fn png_with_icc(icc: usize, depth: png::BitDepth) -> Vec<u8> {
        let mut info = png::Info::with_size(2, 2);
        info.icc_profile = Some(Cow::Owned(vec![0; icc]));
        info.color_type = png::ColorType::Grayscale;
        info.bit_depth = depth;
        let mut out = Vec::new();
        let mut writer = png::Encoder::with_info(&mut out, info).unwrap().write_header().unwrap();
        let samples = if depth == png::BitDepth::Sixteen { 8 } else { 4 };
        writer.write_image_data(&vec![7; samples]).unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn icc_profiles_count_and_bombs_are_refused() {
        for depth in [png::BitDepth::Eight, png::BitDepth::Sixteen] {
            let image = decode(&png_with_icc(3000, depth), &Limits::default(), IccUse::Convert, None)
                .unwrap()
                .image;
            assert_eq!(image.dimensions(), (2, 2));
            let bomb = png_with_icc(64 << 20, depth);
            assert!(bomb.len() < 1 << 20, "{}", bomb.len());
            let e = decode(&bomb, &Limits::default(), IccUse::Convert, None).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::TooLarge, "{e}");
        }
        // The profile counts in the memory model.
        let small = Limits {
            max_memory_bytes: SLACK + (2 << 20),
            ..Limits::default()
        };
        assert!(decode(&png_with_icc(1000, png::BitDepth::Eight), &small, IccUse::Convert, None).is_ok());
        let e = decode(
            &png_with_icc(3 << 20, png::BitDepth::Eight),
            &small,
            IccUse::Convert,
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("max_memory_bytes"), "{e}");
    }

    #[test]
    fn upright_matches_image_rs_for_every_orientation() {
        let image = Image::from_fn(5, 3, |x, y| image::Rgba([x as u8, y as u8, (x * y) as u8, 255]));
        for n in 1..=8 {
            let orientation = Orientation::from_exif(n).unwrap();
            let mut reference = DynamicImage::ImageRgba8(image.clone());
            reference.apply_orientation(orientation);
            assert_eq!(
                upright(image.clone(), orientation),
                reference.into_rgba8(),
                "orientation {n}"
            );
        }
    }
}
