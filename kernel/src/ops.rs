//! Typed ops and the engine that runs a checked plan: one input, one output.

use std::borrow::Cow;

use crate::image::codec::{self, EncodeFormat, SourceFormat};
use crate::image::{self as img, Image};
use crate::output::{Meta, Output};
use crate::pipeline::Pipeline;
use crate::table::csv::CsvOptions;
use crate::table::query::Predicate;
use crate::table::{self, Table};
use crate::{Error, Limits, Result, compress, json_text};

/// How `resize` fits both width and height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Contain,
    Cover,
    Fill,
}

/// The resampling filter of `resize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeFilter {
    Nearest,
    Bilinear,
    CatmullRom,
    Lanczos3,
}

/// The mirror axis of `flip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Horizontal,
    Vertical,
}

/// The container of `compress` / `decompress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Gzip,
    Zlib,
    Deflate,
}

/// What `json` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonMode {
    Validate,
    Minify,
    Pretty,
}

/// One checked step with typed parameters.
#[derive(Debug, Clone)]
pub enum Op {
    /// `raw`: width and height of raw RGBA8 input; `None`: sniff the format.
    Decode {
        raw: Option<(u32, u32)>,
    },
    Resize {
        width: Option<u32>,
        height: Option<u32>,
        fit: Fit,
        filter: ResizeFilter,
    },
    Crop {
        x: u32,
        y: u32,
        width: u32,
        height: u32,
    },
    Rotate(u32),
    Flip(Axis),
    Grayscale,
    Blur {
        sigma: f32,
    },
    Sharpen {
        sigma: f32,
        amount: f32,
    },
    Brightness(f32),
    Contrast(f32),
    Gamma(f32),
    Invert,
    Convolve(Vec<f32>),
    Sobel,
    /// `format: None`: the input's format (the implied final encode).
    Encode {
        format: Option<EncodeFormat>,
        quality: u8,
        level: u8,
    },
    Compress {
        container: Container,
        level: u32,
    },
    Decompress {
        container: Container,
    },
    Json(JsonMode),
    ParseCsv(CsvOptions),
    ParseJson,
    Select(Vec<String>),
    Filter(Predicate),
    Stats,
    ToJson {
        ndjson: bool,
        pretty: bool,
    },
    ToCsv {
        delimiter: u8,
    },
}

impl Op {
    /// The op's name as written in pipelines.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Decode { .. } => "decode",
            Op::Resize { .. } => "resize",
            Op::Crop { .. } => "crop",
            Op::Rotate(_) => "rotate",
            Op::Flip(_) => "flip",
            Op::Grayscale => "grayscale",
            Op::Blur { .. } => "blur",
            Op::Sharpen { .. } => "sharpen",
            Op::Brightness(_) => "brightness",
            Op::Contrast(_) => "contrast",
            Op::Gamma(_) => "gamma",
            Op::Invert => "invert",
            Op::Convolve(_) => "convolve",
            Op::Sobel => "sobel",
            Op::Encode { .. } => "encode",
            Op::Compress { .. } => "compress",
            Op::Decompress { .. } => "decompress",
            Op::Json(_) => "json",
            Op::ParseCsv(_) => "parse_csv",
            Op::ParseJson => "parse_json",
            Op::Select(_) => "select",
            Op::Filter(_) => "filter",
            Op::Stats => "stats",
            Op::ToJson { .. } => "to_json",
            Op::ToCsv { .. } => "to_csv",
        }
    }
}

/// A value between steps.
enum Value<'a> {
    Bytes(Cow<'a, [u8]>, Meta),
    Image(Image),
    Table(Table),
}

/// Runs a checked pipeline on `input` under `host` limits (tightened by the pipeline).
pub fn execute(pipeline: &Pipeline, input: &[u8], host: &Limits) -> Result<Output> {
    let limits = pipeline.limits(host);
    if input.len() as u64 > limits.max_input_bytes {
        return Err(Error::too_large(format!(
            "input of {} bytes exceeds the limit of {} bytes",
            input.len(),
            limits.max_input_bytes
        )));
    }
    let mut source = SourceFormat::Unknown;
    let mut value = Value::Bytes(Cow::Borrowed(input), Meta::bytes("application/octet-stream"));
    for planned in &pipeline.plan {
        let located = |e: Error| match planned.step {
            Some(step) => {
                let message = format!("steps[{step}] ({}): {}", planned.op.name(), e.message);
                Error { message, ..e }.at_step(step)
            }
            None => e,
        };
        value = apply(&planned.op, value, &limits, &mut source).map_err(located)?;
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

fn apply<'a>(op: &Op, value: Value<'a>, limits: &Limits, source: &mut SourceFormat) -> Result<Value<'a>> {
    Ok(match (op, value) {
        (Op::Decode { raw }, Value::Bytes(bytes, _)) => {
            let (image, format) = match raw {
                Some((w, h)) => (codec::decode_raw(bytes, *w, *h, limits)?, SourceFormat::Rgba),
                None => codec::decode(&bytes, limits)?,
            };
            *source = format;
            Value::Image(image)
        }
        (Op::Encode { format, quality, level }, Value::Image(image)) => {
            let format = format.unwrap_or_else(|| source.reencode_as());
            let meta = Meta::image(&image, format);
            Value::Bytes(Cow::Owned(codec::encode(image, format, *quality, *level)?), meta)
        }
        (op, Value::Image(mut image)) => {
            image_op(op, &mut image, limits)?;
            Value::Image(image)
        }
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
            Value::Table(table::csv::parse_csv(&bytes, options, limits)?)
        }
        (Op::ParseJson, Value::Bytes(bytes, _)) => Value::Table(table::json::parse_json(&bytes, limits)?),
        (Op::Select(columns), Value::Table(t)) => Value::Table(table::query::select(t, columns)?),
        (Op::Filter(predicate), Value::Table(t)) => Value::Table(table::query::filter(t, predicate)?),
        (Op::Stats, Value::Table(t)) => Value::Table(table::stats::stats(&t)),
        (Op::ToJson { ndjson, pretty }, Value::Table(t)) => {
            let data = table::json::to_json_with_limit(&t, *ndjson, *pretty, limits.max_output_bytes)?;
            let content_type = if *ndjson {
                "application/x-ndjson"
            } else {
                "application/json"
            };
            Value::Bytes(Cow::Owned(data), Meta::table(&t, content_type))
        }
        (Op::ToCsv { delimiter }, Value::Table(t)) => {
            let data = table::csv::to_csv_with_limit(&t, *delimiter, limits.max_output_bytes)?;
            Value::Bytes(Cow::Owned(data), Meta::table(&t, "text/csv"))
        }
        (op, _) => {
            return Err(Error::internal(format!(
                "`{}` got a kind the plan did not check",
                op.name()
            )));
        }
    })
}

fn image_op(op: &Op, image: &mut Image, limits: &Limits) -> Result<()> {
    match op {
        Op::Resize {
            width,
            height,
            fit,
            filter,
        } => *image = img::resize::resize(image, *width, *height, *fit, *filter, limits)?,
        Op::Crop { x, y, width, height } => *image = img::geometry::crop(image, *x, *y, *width, *height)?,
        Op::Rotate(degrees) => *image = img::geometry::rotate(image, *degrees),
        Op::Flip(axis) => img::geometry::flip(image, *axis),
        Op::Grayscale => img::color::grayscale(image),
        Op::Blur { sigma } => img::blur::gaussian_blur(image, *sigma),
        Op::Sharpen { sigma, amount } => img::blur::sharpen(image, *sigma, *amount),
        Op::Brightness(v) => img::color::brightness(image, *v),
        Op::Contrast(v) => img::color::contrast(image, *v),
        Op::Gamma(v) => img::color::gamma(image, *v),
        Op::Invert => img::color::invert(image),
        Op::Convolve(kernel) => img::convolve::convolve(image, kernel),
        Op::Sobel => img::convolve::sobel(image),
        other => return Err(Error::internal(format!("`{}` is not an image op", other.name()))),
    }
    Ok(())
}
