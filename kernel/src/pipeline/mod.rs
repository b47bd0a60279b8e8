//! Pipelines: parsing both forms, checking every step against the op catalogue, and
//! planning the kinds (implied decode, implied final encode or writer) before any work.

mod text;

use serde_json::{Map, Value as Json};

use crate::image::codec::EncodeFormat;
use crate::ops::{Axis, Container, Fit, JsonMode, Op, ResizeFilter};
use crate::spec::{self, Kind, OpSpec, ParamType};
use crate::table::csv::CsvOptions;
use crate::table::query::Predicate;
use crate::{Error, Limits, Result};

/// A checked pipeline, ready to run.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The steps to run, implied ones included.
    pub(crate) plan: Vec<Planned>,
    /// Limits requested by the pipeline (only ever tightening the host's).
    requested: Map<String, Json>,
}

/// One step of the plan.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// Index of the step as written; for an implied step, the step that implied it
    /// (`None` for the final encode or writer).
    pub step: Option<usize>,
    pub op: Op,
}

impl Pipeline {
    /// Parses and checks a pipeline in JSON form (starts with `{`) or text form.
    pub fn parse(source: &str) -> Result<Pipeline> {
        let trimmed = source.trim_start();
        let json = if trimmed.starts_with('{') {
            serde_json::from_str::<Json>(source)
                .map_err(|e| Error::bad_pipeline(format!("pipeline is not valid JSON: {e}")))?
        } else {
            text::to_json(source)?
        };
        Pipeline::from_json(&json)
    }

    /// Checks a pipeline in its canonical JSON form.
    pub fn from_json(json: &Json) -> Result<Pipeline> {
        let Some(root) = json.as_object() else {
            return Err(Error::bad_pipeline("pipeline must be a JSON object with \"steps\""));
        };
        for key in root.keys() {
            if key != "steps" && key != "limits" {
                return Err(Error::bad_pipeline(format!(
                    "unknown pipeline field `{key}` (expected \"steps\" and optionally \"limits\")"
                )));
            }
        }
        let Some(steps) = root.get("steps").and_then(Json::as_array) else {
            return Err(Error::bad_pipeline("pipeline needs \"steps\": an array of steps"));
        };
        let requested = match root.get("limits") {
            None => Map::new(),
            Some(Json::Object(m)) => check_requested_limits(m)?,
            Some(_) => return Err(Error::bad_pipeline("\"limits\" must be an object")),
        };

        let mut plan = Vec::with_capacity(steps.len() + 2);
        let mut kind = Kind::Bytes;
        let mut last_image_step = None;
        for (index, step) in steps.iter().enumerate() {
            let (spec, op) = check_step(step).map_err(|e| e.at_step(index))?;
            if spec.input == Kind::Image && kind == Kind::Bytes {
                plan.push(Planned {
                    step: Some(index),
                    op: Op::Decode { raw: None },
                });
                kind = Kind::Image;
            }
            if spec.input != kind {
                return Err(Error::bad_pipeline(format!(
                    "`{}` takes {} but receives {} from the step before",
                    spec.name,
                    article(spec.input),
                    article(kind)
                ))
                .at_step(index));
            }
            if spec.output == Kind::Image {
                last_image_step = Some(index);
            }
            kind = spec.output;
            plan.push(Planned { step: Some(index), op });
        }
        match kind {
            Kind::Image => plan.push(Planned {
                step: last_image_step,
                op: Op::Encode {
                    format: None,
                    quality: 80,
                    level: 6,
                },
            }),
            Kind::Table => plan.push(Planned {
                step: None,
                op: Op::ToJson {
                    ndjson: false,
                    pretty: false,
                },
            }),
            Kind::Bytes => {}
        }
        Ok(Pipeline { plan, requested })
    }

    /// The limits in force: the host's, tightened by the pipeline's.
    pub fn limits(&self, host: &Limits) -> Limits {
        let mut merged = serde_json::to_value(host).unwrap_or_default();
        if let Some(m) = merged.as_object_mut() {
            for (key, value) in &self.requested {
                if let (Some(current), Some(wanted)) = (m.get(key).and_then(Json::as_u64), value.as_u64()) {
                    m.insert(key.clone(), Json::from(current.min(wanted)));
                }
            }
        }
        serde_json::from_value(merged).unwrap_or(*host)
    }
}

fn article(kind: Kind) -> &'static str {
    match kind {
        Kind::Bytes => "bytes",
        Kind::Image => "an image",
        Kind::Table => "a table",
    }
}

fn check_requested_limits(m: &Map<String, Json>) -> Result<Map<String, Json>> {
    let known = serde_json::to_value(Limits::default()).unwrap_or_default();
    for (key, value) in m {
        if known.get(key).is_none() {
            return Err(Error::bad_pipeline(format!("unknown limit `{key}`")).with_param(key.clone()));
        }
        if value.as_u64().is_none() {
            return Err(
                Error::bad_pipeline(format!("limit `{key}` must be a non-negative integer, got {value}"))
                    .with_param(key.clone()),
            );
        }
    }
    Ok(m.clone())
}

/// A parameter value after checking, defaults filled in.
#[derive(Debug, Clone)]
enum Checked {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Char(u8),
    Numbers(Vec<f64>),
    Names(Vec<String>),
}

/// The checked parameters of one step.
struct Params {
    values: Vec<(&'static str, Checked)>,
}

impl Params {
    fn get(&self, name: &str) -> Option<&Checked> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
    fn int(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(Checked::Int(v)) => Some(*v),
            _ => None,
        }
    }
    fn uint(&self, name: &str) -> Option<u32> {
        self.int(name).and_then(|v| u32::try_from(v).ok())
    }
    fn float(&self, name: &str) -> f32 {
        match self.get(name) {
            Some(Checked::Float(v)) => *v as f32,
            _ => 0.0,
        }
    }
    fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), Some(Checked::Bool(true)))
    }
    fn str(&self, name: &str) -> &str {
        match self.get(name) {
            Some(Checked::Str(v)) => v,
            _ => "",
        }
    }
    fn char(&self, name: &str) -> u8 {
        match self.get(name) {
            Some(Checked::Char(v)) => *v,
            _ => b',',
        }
    }
    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

fn check_step(step: &Json) -> Result<(&'static OpSpec, Op)> {
    let Some(object) = step.as_object() else {
        return Err(Error::bad_pipeline(
            "a step must be an object like {\"op\": \"blur\", \"sigma\": 2}",
        ));
    };
    let name = match object.get("op") {
        Some(Json::String(name)) => name.as_str(),
        Some(other) => return Err(Error::bad_pipeline(format!("`op` must be a string, got {other}"))),
        None => return Err(Error::bad_pipeline("step has no `op`")),
    };
    let Some(spec) = spec::op(name) else {
        let names: Vec<&str> = spec::OPS.iter().map(|o| o.name).collect();
        return Err(Error::bad_pipeline(format!(
            "unknown op `{name}`; ops are: {}",
            names.join(", ")
        )));
    };
    for key in object.keys() {
        if key != "op" && spec.param(key).is_none() {
            let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            let known = if names.is_empty() {
                "it takes none".to_owned()
            } else {
                format!("it takes: {}", names.join(", "))
            };
            return Err(
                Error::bad_pipeline(format!("`{name}` has no parameter `{key}`; {known}")).with_param(key.clone()),
            );
        }
    }
    let mut values = Vec::with_capacity(spec.params.len());
    for param in spec.params {
        let checked = match object.get(param.name) {
            Some(value) => Some(check_value(param.ty, value).map_err(|msg| {
                Error::bad_pipeline(format!("`{name}` parameter `{}`: {msg}", param.name)).with_param(param.name)
            })?),
            None => param.default.map(|d| match d {
                spec::Default::Int(v) => Checked::Int(v),
                spec::Default::Float(v) => Checked::Float(v),
                spec::Default::Bool(v) => Checked::Bool(v),
                spec::Default::Str(v) => match param.ty {
                    ParamType::Char => Checked::Char(v.as_bytes().first().copied().unwrap_or(b',')),
                    _ => Checked::Str(v.to_owned()),
                },
            }),
        };
        match checked {
            Some(v) => values.push((param.name, v)),
            None if spec::optional_without_default(name, param.name) => {}
            None => {
                return Err(
                    Error::bad_pipeline(format!("`{name}` needs parameter `{}` ({})", param.name, param.doc))
                        .with_param(param.name),
                );
            }
        }
    }
    let params = Params { values };
    let op = build(name, &params)?;
    Ok((spec, op))
}

fn check_value(ty: ParamType, value: &Json) -> std::result::Result<Checked, String> {
    match ty {
        ParamType::Int { min, max } => match value.as_i64() {
            Some(v) if (min..=max).contains(&v) => Ok(Checked::Int(v)),
            Some(v) => Err(format!("{v} is out of range {min}..={max}")),
            None => Err(format!("expected an integer {min}..={max}, got {value}")),
        },
        ParamType::IntChoice(choices) => match value.as_i64() {
            Some(v) if choices.contains(&v) => Ok(Checked::Int(v)),
            _ => Err(format!("expected one of {choices:?}, got {value}")),
        },
        ParamType::Float {
            min,
            max,
            exclusive_min,
        } => match value.as_f64() {
            Some(v) if v.is_finite() && v <= max && (v > min || (!exclusive_min && v == min)) => Ok(Checked::Float(v)),
            Some(v) => Err(format!(
                "{v} is out of range {}{min}..={max}",
                if exclusive_min { "above " } else { "" }
            )),
            None => Err(format!("expected a number {min}..={max}, got {value}")),
        },
        ParamType::Bool => value
            .as_bool()
            .map(Checked::Bool)
            .ok_or_else(|| format!("expected true or false, got {value}")),
        ParamType::Choice(choices) => match value.as_str() {
            Some(v) if choices.contains(&v) => Ok(Checked::Str(v.to_owned())),
            _ => Err(format!("expected one of {}, got {value}", choices.join(" | "))),
        },
        ParamType::Char => match value.as_str() {
            Some("\\t" | "tab") => Ok(Checked::Char(b'\t')),
            Some(s) if s.len() == 1 && s.as_bytes()[0].is_ascii() && !matches!(s, "\n" | "\r") => {
                Ok(Checked::Char(s.as_bytes()[0]))
            }
            _ => Err(format!("expected one ASCII character (or \\t), got {value}")),
        },
        ParamType::Text => match value.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(Checked::Str(s.to_owned())),
            _ => Err(format!("expected a non-empty string, got {value}")),
        },
        ParamType::Numbers(lengths) => {
            let numbers: Option<Vec<f64>> = value
                .as_array()
                .map(|a| a.iter().map(|n| n.as_f64().filter(|f| f.is_finite())).collect())
                .unwrap_or(None);
            match numbers {
                Some(n) if lengths.contains(&n.len()) => Ok(Checked::Numbers(n)),
                Some(n) => Err(format!("expected {lengths:?} numbers, got {}", n.len())),
                None => Err(format!("expected a list of numbers, got {value}")),
            }
        }
        ParamType::Names => {
            let names: Option<Vec<String>> = value
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|n| n.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                        .collect()
                })
                .unwrap_or(None);
            match names {
                Some(n) if !n.is_empty() => Ok(Checked::Names(n)),
                _ => Err(format!("expected a non-empty list of names, got {value}")),
            }
        }
    }
}

/// Builds the typed op from checked parameters, with the checks that span parameters.
fn build(name: &str, p: &Params) -> Result<Op> {
    let op = match name {
        "decode" => {
            let raw = p.str("format") == "rgba";
            match (raw, p.uint("width"), p.uint("height")) {
                (true, Some(w), Some(h)) => Op::Decode { raw: Some((w, h)) },
                (true, _, _) => {
                    return Err(Error::bad_pipeline("`decode format=rgba` needs width and height")
                        .with_param(if p.has("width") { "height" } else { "width" }));
                }
                (false, None, None) => Op::Decode { raw: None },
                (false, _, _) => {
                    return Err(
                        Error::bad_pipeline("`decode` takes width and height only with format=rgba")
                            .with_param("format"),
                    );
                }
            }
        }
        "resize" => {
            let (width, height) = (p.uint("width"), p.uint("height"));
            if width.is_none() && height.is_none() {
                return Err(Error::bad_pipeline("`resize` needs width, height or both").with_param("width"));
            }
            Op::Resize {
                width,
                height,
                fit: match p.str("fit") {
                    "cover" => Fit::Cover,
                    "fill" => Fit::Fill,
                    _ => Fit::Contain,
                },
                filter: match p.str("filter") {
                    "nearest" => ResizeFilter::Nearest,
                    "bilinear" => ResizeFilter::Bilinear,
                    "catmull_rom" => ResizeFilter::CatmullRom,
                    _ => ResizeFilter::Lanczos3,
                },
            }
        }
        "crop" => Op::Crop {
            x: p.uint("x").unwrap_or(0),
            y: p.uint("y").unwrap_or(0),
            width: p.uint("width").unwrap_or(1),
            height: p.uint("height").unwrap_or(1),
        },
        "rotate" => Op::Rotate(p.uint("degrees").unwrap_or(90)),
        "flip" => Op::Flip(if p.str("axis") == "vertical" {
            Axis::Vertical
        } else {
            Axis::Horizontal
        }),
        "grayscale" => Op::Grayscale,
        "blur" => Op::Blur {
            sigma: p.float("sigma"),
        },
        "sharpen" => Op::Sharpen {
            sigma: p.float("sigma"),
            amount: p.float("amount"),
        },
        "brightness" => Op::Brightness(p.float("value")),
        "contrast" => Op::Contrast(p.float("value")),
        "gamma" => Op::Gamma(p.float("value")),
        "invert" => Op::Invert,
        "convolve" => Op::Convolve(match p.get("kernel") {
            Some(Checked::Numbers(n)) => n.iter().map(|&v| v as f32).collect(),
            _ => Vec::new(),
        }),
        "sobel" => Op::Sobel,
        "encode" => Op::Encode {
            format: Some(match p.str("format") {
                "jpeg" => EncodeFormat::Jpeg,
                "webp" => EncodeFormat::Webp,
                "rgba" => EncodeFormat::Rgba,
                _ => EncodeFormat::Png,
            }),
            quality: p.uint("quality").unwrap_or(80) as u8,
            level: p.uint("level").unwrap_or(6) as u8,
        },
        "compress" => Op::Compress {
            container: container(p.str("format")),
            level: p.uint("level").unwrap_or(6),
        },
        "decompress" => Op::Decompress {
            container: container(p.str("format")),
        },
        "json" => Op::Json(match p.str("mode") {
            "minify" => JsonMode::Minify,
            "pretty" => JsonMode::Pretty,
            _ => JsonMode::Validate,
        }),
        "parse_csv" => {
            let options = CsvOptions {
                delimiter: p.char("delimiter"),
                quote: p.char("quote"),
                header: p.bool("header"),
                infer: p.bool("infer"),
            };
            if options.delimiter == options.quote {
                return Err(Error::bad_pipeline("`parse_csv` delimiter and quote must differ").with_param("quote"));
            }
            Op::ParseCsv(options)
        }
        "parse_json" => Op::ParseJson,
        "select" => Op::Select(match p.get("columns") {
            Some(Checked::Names(n)) => n.clone(),
            _ => Vec::new(),
        }),
        "filter" => Op::Filter(
            Predicate::parse(p.str("where"))
                .map_err(|msg| Error::bad_pipeline(format!("`filter` parameter `where`: {msg}")).with_param("where"))?,
        ),
        "stats" => Op::Stats,
        "to_json" => Op::ToJson {
            ndjson: p.str("format") == "ndjson",
            pretty: p.bool("pretty"),
        },
        "to_csv" => Op::ToCsv {
            delimiter: p.char("delimiter"),
        },
        other => {
            return Err(Error::internal(format!(
                "op `{other}` is in the catalogue but not built"
            )));
        }
    };
    Ok(op)
}

fn container(name: &str) -> Container {
    match name {
        "zlib" => Container::Zlib,
        "deflate" => Container::Deflate,
        _ => Container::Gzip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn err(p: &str) -> Error {
        Pipeline::parse(p).expect_err(p)
    }

    #[test]
    fn text_and_json_forms_plan_the_same() {
        let text =
            Pipeline::parse("resize width=800 fit=contain filter=lanczos3 | blur sigma=1.5 | encode format=webp")
                .unwrap();
        let json = Pipeline::parse(
            r#"{"steps": [
                {"op": "resize", "width": 800, "fit": "contain", "filter": "lanczos3"},
                {"op": "blur", "sigma": 1.5},
                {"op": "encode", "format": "webp"}]}"#,
        )
        .unwrap();
        assert_eq!(format!("{:?}", text.plan), format!("{:?}", json.plan));
        // implied decode first
        assert!(matches!(text.plan[0].op, Op::Decode { raw: None }));
        assert_eq!(text.plan.len(), 4);
    }

    #[test]
    fn implied_final_steps() {
        let p = Pipeline::parse("grayscale").unwrap();
        assert!(matches!(p.plan.last().unwrap().op, Op::Encode { format: None, .. }));
        let p = Pipeline::parse("parse_csv").unwrap();
        assert!(matches!(p.plan.last().unwrap().op, Op::ToJson { ndjson: false, .. }));
        let p = Pipeline::parse("compress").unwrap();
        assert_eq!(p.plan.len(), 1);
        assert!(Pipeline::parse("").unwrap().plan.is_empty());
    }

    #[test]
    fn check_failures_name_step_and_param() {
        let e = err("grayscale | resize width=abc");
        assert_eq!(
            (e.code, e.step, e.param.as_deref()),
            (ErrorCode::BadPipeline, Some(1), Some("width"))
        );
        let e = err(r#"{"steps":[{"op":"blur","sigma":"2"}]}"#);
        assert_eq!((e.step, e.param.as_deref()), (Some(0), Some("sigma")));
        let e = err("blur sigma=0");
        assert_eq!(e.param.as_deref(), Some("sigma"));
        let e = err("blur");
        assert_eq!(e.param.as_deref(), Some("sigma"));
        let e = err("blur sigma=1 radius=2");
        assert_eq!(e.param.as_deref(), Some("radius"));
        let e = err("grayscale | sharpen_more");
        assert_eq!((e.code, e.step), (ErrorCode::BadPipeline, Some(1)));
        assert!(e.message.contains("unknown op"), "{}", e.message);
        let e = err("resize fit=cover");
        assert_eq!(e.param.as_deref(), Some("width"));
        let e = err("rotate degrees=45");
        assert_eq!(e.param.as_deref(), Some("degrees"));
        let e = err("convolve kernel=1,2,3");
        assert_eq!(e.param.as_deref(), Some("kernel"));
        let e = err("parse_csv delimiter=ab");
        assert_eq!(e.param.as_deref(), Some("delimiter"));
        let e = err("decode format=rgba width=2");
        assert_eq!(e.param.as_deref(), Some("height"));
        let e = err("parse_csv | filter where=\"age >\"");
        assert_eq!((e.step, e.param.as_deref()), (Some(1), Some("where")));
    }

    #[test]
    fn kinds_must_chain() {
        let e = err("parse_csv | blur sigma=2");
        assert_eq!((e.code, e.step), (ErrorCode::BadPipeline, Some(1)));
        assert!(
            e.message.contains("takes an image but receives a table"),
            "{}",
            e.message
        );
        let e = err("grayscale | encode format=png | to_csv");
        assert_eq!(e.step, Some(2));
        let e = err("compress | select columns=a");
        assert_eq!(e.step, Some(1));
    }

    #[test]
    fn bad_json_shapes() {
        for p in [
            r#"{"steps": 1}"#,
            r#"{"stepz": []}"#,
            r#"{"steps": [1]}"#,
            r#"{"steps": [{"op": 3}]}"#,
            "{",
            r#"{"steps":[], "limits": {"max_rows": -1}}"#,
            r#"{"steps":[], "limits": {"max_cats": 1}}"#,
        ] {
            assert_eq!(err(p).code, ErrorCode::BadPipeline, "{p}");
        }
    }

    #[test]
    fn limits_only_tighten() {
        let p = Pipeline::parse(r#"{"steps": [], "limits": {"max_pixels": 10, "max_rows": 99999999999}}"#).unwrap();
        let host = Limits::default();
        let l = p.limits(&host);
        assert_eq!(l.max_pixels, 10);
        assert_eq!(l.max_rows, host.max_rows);
        assert_eq!(l.max_input_bytes, host.max_input_bytes);
        let p = Pipeline::parse("limits max_output_bytes=5 | compress").unwrap();
        assert_eq!(p.limits(&host).max_output_bytes, 5);
    }
}
