//! The executor: runs a checked plan on one input and gives one output.

use std::borrow::Cow;

use crate::image::codec::{self, DecodeIcc, Decoded, EncodeExif, EncodeFormat, EncodeIcc, IccUse, SourceFormat};
use crate::image::metadata::Metadata;
use crate::image::resize::Fit;
use crate::image::trim::Trimmed;
use crate::image::{self as img, Image};
use crate::json_text::JsonMode;
use crate::op::Kind;
use crate::op::Op;
use crate::output::{Meta, Output};
use crate::pipeline::{MAX_IMAGE_PASSES, Pipeline, Planned};
use crate::table::{self, Table};
use crate::{Error, Limits, Result, compress, json_text, memory};

/// A value between steps.
enum Value<'a> {
    Bytes(Cow<'a, [u8]>, Meta),
    Image(Image),
    Table(Table),
}

/// Runs a checked pipeline on `input` under `host` limits (tightened by the pipeline).
pub fn execute(pipeline: &Pipeline, input: Cow<'_, [u8]>, host: &Limits) -> Result<Output> {
    let limits = pipeline.limits(host);
    if input.len() as u64 > limits.max_input_bytes {
        return Err(Error::too_large(format!(
            "input of {} bytes exceeds the limit of {} bytes",
            input.len(),
            limits.max_input_bytes
        )));
    }
    let mut carry = Carry {
        source: SourceFormat::Unknown,
        trim: None,
        keep_icc: false,
        icc: None,
        exif: None,
        shrink_for: None,
        shrunk: None,
    };
    let mut value = Value::Bytes(input, Meta::bytes("application/octet-stream"));
    let max_work = limits.max_pixels.saturating_mul(MAX_IMAGE_PASSES);
    let mut work = 0u64;
    for (index, planned) in pipeline.plan.iter().enumerate() {
        let decoding = !matches!(value, Value::Image(_));
        if decoding {
            // A JPEG may be decoded smaller for the resize right after it (not for
            // `nearest`, whose users ask for exact source pixels).
            carry.shrink_for = match pipeline.plan.get(index + 1).map(|p| &p.op) {
                Some(Op::Resize {
                    width,
                    height,
                    fit,
                    filter,
                    ..
                }) if *filter != img::resize::ResizeFilter::Nearest => Some(img::resize::Request {
                    width: *width,
                    height: *height,
                    fit: *fit,
                }),
                _ => None,
            };
            carry.keep_icc = matches!(
                ending_encode(&pipeline.plan[index..]),
                Some(Op::Encode {
                    icc: EncodeIcc::Keep,
                    ..
                })
            );
        }
        let keep_exif = matches!(
            ending_encode(&pipeline.plan[index..]),
            Some(Op::Encode {
                exif: EncodeExif::Keep,
                ..
            })
        );
        if let (true, true, Value::Bytes(bytes, _)) = (decoding, keep_exif, &value) {
            // Taken from the file before its decode; its orientation is the decode's.
            carry.exif = img::info::exif_block(bytes).and_then(|tiff| img::metadata::upright_exif(&tiff));
        }
        value = apply(&planned.op, planned.spec.name, value, &limits, &mut carry).map_err(|e| locate(planned, e))?;
        if let (true, Value::Image(image)) = (decoding, &value) {
            // An image was decoded: the work of the image steps that follow is known
            // from its size, and checked before any of them runs.
            let decoded = (image.dimensions(), img::is_opaque(image));
            work = image_work(
                &pipeline.plan[index..],
                decoded,
                carry.source.reencode_as(),
                work,
                max_work,
                &limits,
            )?;
        }
    }
    let Value::Bytes(data, meta) = value else {
        return Err(Error::internal("the plan did not end in bytes"));
    };
    if data.len() as u64 > limits.max_output_bytes {
        return Err(Error::too_large(format!(
            "output of {} bytes exceeds the limit of {} bytes",
            data.len(),
            limits.max_output_bytes
        )));
    }
    Ok(Output {
        data: data.into_owned(),
        meta,
    })
}

/// The op that ends the image decoded by `plan`'s first step (its encode), if the
/// image is encoded.
fn ending_encode(plan: &[Planned]) -> Option<&Op> {
    plan.iter()
        .skip(1)
        .find(|planned| planned.spec.output != Kind::Image)
        .map(|planned| &planned.op)
}

/// An error of the step `planned`, with the step's index and name.
fn locate(planned: &Planned, e: Error) -> Error {
    match planned.step {
        Some(step) => {
            let message = format!("steps[{step}] ({}): {}", planned.spec.name, e.message);
            Error { message, ..e }.at_step(step)
        }
        None => e,
    }
}

/// `work` plus the pixels taken by the steps of `plan` (its first one decoded an image
/// of `size`, `opaque` or not, whose encode by default is `implied`; the image steps
/// after it, until the image is encoded), or `too_large` at
/// the first step that would pass `max_work` or hold more than `max_memory_bytes` (the
/// memory model; an encode is taken at the most of opaque and translucent).
fn image_work(
    plan: &[Planned],
    (size, mut opaque): ((u32, u32), bool),
    implied: EncodeFormat,
    mut work: u64,
    max_work: u64,
    limits: &Limits,
) -> Result<u64> {
    let (mut width, mut height) = size;
    for (index, planned) in plan.iter().enumerate() {
        if index > 0 && planned.spec.input != Kind::Image {
            break;
        }
        work = work.saturating_add(u64::from(width) * u64::from(height));
        if work > max_work {
            return Err(locate(
                planned,
                Error::too_large(format!(
                    "the pipeline's image steps would take more than {MAX_IMAGE_PASSES} x the pixel \
                     limit ({max_work} pixels in all); nothing past the decode ran"
                )),
            ));
        }
        let next = size_after(&planned.op, width, height);
        if index > 0 {
            let held = match &planned.op {
                Op::Encode { format, level, .. } => {
                    let format = format.unwrap_or(implied);
                    let at = |opaque| memory::encode(format, (width, height), opaque, *level, limits.max_output_bytes);
                    at(true).max(at(false))
                }
                op => memory::image_step(op, (width, height), next, opaque),
            };
            opaque &= memory::keeps_opaque(&planned.op);
            limits
                .check_memory(held, || format!("this step on a {width}x{height} image"))
                .map_err(|e| locate(planned, e))?;
        }
        (width, height) = next;
    }
    Ok(work)
}

/// The size of the image an op gives for one of `width` x `height`.
fn size_after(op: &Op, width: u32, height: u32) -> (u32, u32) {
    match op {
        Op::Resize {
            width: Some(w),
            height: Some(h),
            fit: Fit::Contain,
            background: Some(_),
            ..
        } => (*w, *h),
        Op::Resize {
            width: w,
            height: h,
            fit,
            ..
        } => img::resize::output_size(width, height, *w, *h, *fit),
        Op::Extend { border, .. } => img::extend::output_size(width, height, *border),
        Op::Crop {
            width: w, height: h, ..
        } => (*w, *h),
        Op::Rotate { degrees, .. } => img::rotate::output_size(width, height, *degrees),
        // Every other op keeps the size (or is not an image op).
        _ => (width, height),
    }
}

/// What an image carries from its decode and its steps to its encode.
struct Carry {
    /// The format it was decoded from (the implied encode's format).
    source: SourceFormat,
    /// The offsets of the last `trim`, for the meta.
    trim: Option<Trimmed>,
    /// Whether the image's encode keeps its ICC profile (set before its decode).
    keep_icc: bool,
    /// The source's ICC profile, kept for that encode.
    icc: Option<Vec<u8>>,
    /// The source's EXIF (orientation reset), kept for an encode with `exif=keep`
    /// (set before its decode).
    exif: Option<Vec<u8>>,
    /// The resize right after the decode, which a JPEG may shrink towards (set before
    /// its decode).
    shrink_for: Option<img::resize::Request>,
    /// How the decode shrank the image for that resize.
    shrunk: Option<img::resize::Shrunk>,
}

fn apply<'a>(op: &Op, name: &str, value: Value<'a>, limits: &Limits, carry: &mut Carry) -> Result<Value<'a>> {
    Ok(match (op, value) {
        (Op::Decode { raw, icc }, Value::Bytes(bytes, _)) => {
            let use_icc = match icc {
                _ if carry.keep_icc => IccUse::Keep,
                DecodeIcc::Convert => IccUse::Convert,
                DecodeIcc::Ignore => IccUse::Ignore,
            };
            let decoded = match raw {
                Some((w, h)) => Decoded {
                    image: codec::decode_raw(bytes, *w, *h, limits)?,
                    source: SourceFormat::Rgba,
                    icc: None,
                    shrunk: None,
                },
                None => codec::decode(&bytes, limits, use_icc, carry.shrink_for)?,
            };
            *carry = Carry {
                source: decoded.source,
                trim: None,
                keep_icc: false,
                icc: decoded.icc,
                exif: carry.exif.take(),
                shrink_for: None,
                shrunk: decoded.shrunk,
            };
            Value::Image(decoded.image)
        }
        (
            Op::Encode {
                format,
                quality,
                level,
                background,
                icc,
                exif,
            },
            Value::Image(mut image),
        ) => {
            let profile = match icc {
                EncodeIcc::Keep => carry.icc.take(),
                EncodeIcc::Strip => None,
            };
            let exif = match exif {
                EncodeExif::Keep => carry.exif.take(),
                EncodeExif::Strip => None,
            };
            let format = format.unwrap_or_else(|| carry.source.reencode_as());
            let mut meta = Meta::image(&image, format);
            if let Some(trimmed) = carry.trim {
                (meta.trim_left, meta.trim_top) = (Some(trimmed.left), Some(trimmed.top));
            }
            // One look at the alpha (raw pixels need none).
            let opaque = format == EncodeFormat::Rgba || img::is_opaque(&image);
            if format == EncodeFormat::Jpeg && !opaque {
                // JPEG has no alpha: what shows is the image over the background.
                img::color::flatten(&mut image, *background);
            }
            // Raw pixels are the image's own buffer, moved: no room to grow into.
            let room = match format {
                EncodeFormat::Rgba => limits.max_output_bytes,
                _ => {
                    let held = memory::encode(format, image.dimensions(), opaque, *level, limits.max_output_bytes)
                        + profile.as_ref().map_or(0, |p| 2 * p.len() as u64)
                        + exif.as_ref().map_or(0, |e| 2 * e.len() as u64);
                    memory::output_room(limits.max_memory_bytes, held).min(limits.max_output_bytes)
                }
            };
            let metadata = Metadata {
                icc: profile.as_deref(),
                exif: exif.as_deref(),
            };
            let encoded = codec::encode(image, format, *quality, *level, metadata, room)?;
            Value::Bytes(Cow::Owned(encoded), meta)
        }
        (op, Value::Image(mut image)) => {
            image_op(op, name, &mut image, limits, &mut carry.trim, carry.shrunk.take())?;
            Value::Image(image)
        }
        (Op::Info, Value::Bytes(bytes, _)) => Value::Bytes(
            Cow::Owned(img::info::info(&bytes, limits)?),
            Meta::bytes("application/json"),
        ),
        (Op::Compress { container, level }, Value::Bytes(bytes, _)) => {
            let data = compress::compress(&bytes, *container, *level)?;
            Value::Bytes(Cow::Owned(data), Meta::bytes(compress::content_type(*container)))
        }
        (Op::Decompress { container }, Value::Bytes(bytes, _)) => {
            let data = compress::decompress(&bytes, *container, limits.max_decompressed_bytes)?;
            Value::Bytes(Cow::Owned(data), Meta::bytes("application/octet-stream"))
        }
        (Op::Json(mode), Value::Bytes(bytes, _)) => {
            let bytes = match mode {
                JsonMode::Validate => {
                    json_text::validate(&bytes, limits)?;
                    bytes
                }
                JsonMode::Minify => Cow::Owned(json_text::minify(&bytes, limits)?),
                JsonMode::Pretty => Cow::Owned(json_text::pretty(&bytes, limits)?),
            };
            Value::Bytes(bytes, Meta::bytes("application/json"))
        }
        (Op::ParseCsv(options), Value::Bytes(bytes, _)) => {
            Value::Table(table::read_csv::parse_csv(&bytes, options, limits)?)
        }
        (Op::Echo, bytes @ Value::Bytes(..)) => bytes,
        (Op::ParseJson, Value::Bytes(bytes, _)) => Value::Table(table::read_json::parse_json(&bytes, limits)?),
        (Op::Select(columns), Value::Table(t)) => Value::Table(table::query::select(t, columns)?),
        (Op::Filter(predicate), Value::Table(t)) => Value::Table(table::query::filter(t, predicate)?),
        (Op::Stats, Value::Table(t)) => Value::Table(table::stats::stats(&t)),
        (Op::Sort(keys), Value::Table(t)) => Value::Table(table::sort::sort(t, keys)?),
        (Op::Limit { count, offset }, Value::Table(t)) => Value::Table(table::query::limit(t, *count, *offset)),
        (Op::Distinct(columns), Value::Table(t)) => Value::Table(table::group::distinct(t, columns.as_deref())?),
        (Op::Rename(pairs), Value::Table(t)) => Value::Table(table::query::rename(t, pairs)?),
        (Op::GroupBy { by, aggregates }, Value::Table(t)) => {
            Value::Table(table::group::group_by(t, by, aggregates, limits)?)
        }
        (Op::ToJson { ndjson, pretty }, Value::Table(t)) => {
            let data = table::write_json::to_json_with_limit(&t, *ndjson, *pretty, table_output_room(&t, limits))?;
            let content_type = if *ndjson {
                "application/x-ndjson"
            } else {
                "application/json"
            };
            Value::Bytes(Cow::Owned(data), Meta::table(&t, content_type))
        }
        (Op::ToCsv { delimiter, quote }, Value::Table(t)) => {
            let data = table::write_csv::write_csv(&t, *delimiter, *quote, table_output_room(&t, limits))?;
            Value::Bytes(Cow::Owned(data), Meta::table(&t, "text/csv"))
        }
        (_, _) => return Err(Error::internal(format!("`{name}` got a kind the plan did not check"))),
    })
}

/// The bytes a table's text may take: the output limit, or less when the memory model
/// leaves less room beside the table.
fn table_output_room(table: &Table, limits: &Limits) -> u64 {
    memory::output_room(limits.max_memory_bytes, table.heap_bytes()).min(limits.max_output_bytes)
}

/// Runs one image op; `shrunk` is how the decode just before it shrank the image.
fn image_op(
    op: &Op,
    name: &str,
    image: &mut Image,
    limits: &Limits,
    trim: &mut Option<Trimmed>,
    shrunk: Option<img::resize::Shrunk>,
) -> Result<()> {
    match op {
        Op::Resize {
            width,
            height,
            fit,
            filter,
            position,
            background,
        } => {
            *image = img::resize::resize(image, *width, *height, *fit, *position, *filter, limits, shrunk)?;
            if let (Some(w), Some(h), Some(bg)) = (width, height, background) {
                // fit=contain (the only fit a background is checked with): letterbox.
                *image = img::extend::place(image, *w, *h, position.align(), *bg, limits)?;
            }
        }
        Op::Trim { threshold, background } => {
            let (kept, at) = img::trim::trim(image, *threshold, *background);
            (*image, *trim) = (kept, Some(at));
        }
        Op::Extend { border, background } => *image = img::extend::extend(image, *border, *background, limits)?,
        Op::Crop { x, y, width, height } => *image = img::geometry::crop(image, *x, *y, *width, *height)?,
        Op::Rotate { degrees, background } => *image = img::rotate::rotate(image, *degrees, *background, limits)?,
        Op::Median(size) => *image = img::median::median(image, *size),
        Op::Flip(axis) => img::geometry::flip(image, *axis),
        Op::Grayscale => img::color::grayscale(image),
        Op::Blur { sigma } => img::blur::gaussian_blur(image, *sigma),
        Op::Sharpen { sigma, amount } => img::blur::sharpen(image, *sigma, *amount),
        Op::Brightness(v) => img::color::brightness(image, *v),
        Op::Contrast(v) => img::color::contrast(image, *v),
        Op::Gamma(v) => img::color::gamma(image, *v),
        Op::Invert => img::color::invert(image),
        Op::Modulate {
            brightness,
            saturation,
            hue,
            lightness,
        } => img::lab::modulate(image, *brightness, *saturation, *hue, *lightness),
        Op::Tint(color) => img::lab::tint(image, *color),
        Op::Flatten(background) => img::color::flatten(image, *background),
        Op::Threshold { value, greyscale } => img::adjust::threshold(image, *value, *greyscale),
        Op::Linear { a, b } => img::adjust::linear(image, a, b),
        Op::Normalize { lower, upper } => img::adjust::normalize(image, *lower, *upper),
        Op::Convolve(kernel) => img::convolve::convolve(image, kernel),
        Op::Sobel => img::convolve::sobel(image),
        _ => return Err(Error::internal(format!("`{name}` is not an image op"))),
    }
    Ok(())
}
