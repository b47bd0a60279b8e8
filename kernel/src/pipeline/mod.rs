//! Pipelines: parsing both forms, checking every step against the op catalogue, and
//! planning the kinds (implied decode, implied final encode or writer) before any work.

mod text;

use serde_json::{Map, Value as Json};

use crate::image::codec::{DecodeIcc, EncodeExif, EncodeIcc};
use crate::op::{self, Kind, Op, OpSpec, Params};
use crate::{Error, Limits, Result};

/// The most steps a pipeline may have (as written).
pub const MAX_STEPS: usize = 64;

/// The image work a pipeline may do: the pixels taken by all its image steps (decode and
/// encode included) together, in multiples of `max_pixels`. Checked before each step,
/// so a pipeline that would do more stops before the step that would pass it.
pub const MAX_IMAGE_PASSES: u64 = 32;

/// A checked pipeline, ready to run.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The steps to run, implied ones included.
    pub(crate) plan: Vec<Planned>,
    /// The steps as written, checked (every parameter, defaults filled in): the
    /// canonical form, made into JSON only when asked for.
    steps: Vec<(&'static OpSpec, Params)>,
    /// Limits requested by the pipeline (only ever tightening the host's); fields it
    /// does not name are unlimited.
    requested: Limits,
    /// The limit names the pipeline gave, for its canonical form.
    requested_names: Vec<String>,
}

/// One step of the plan.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// Index of the step as written; for an implied step, the step that implied it
    /// (`None` for the final encode or writer).
    pub step: Option<usize>,
    /// The op's definition (its name for messages).
    pub spec: &'static OpSpec,
    pub op: Op,
}

impl Pipeline {
    /// The name of step `index` as written.
    pub(crate) fn step_name(&self, index: usize) -> Option<&'static str> {
        self.steps.get(index).map(|(spec, _)| spec.name)
    }

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
        if steps.len() > MAX_STEPS {
            return Err(Error::too_large(format!(
                "a pipeline of {} steps exceeds the limit of {MAX_STEPS}",
                steps.len()
            )));
        }
        let (requested, requested_names) = match root.get("limits") {
            None => (Limits::UNLIMITED, Vec::new()),
            Some(Json::Object(m)) => check_requested_limits(m)?,
            Some(_) => return Err(Error::bad_pipeline("\"limits\" must be an object")),
        };

        let mut plan = Vec::with_capacity(steps.len() + 2);
        let mut canonical = Vec::with_capacity(steps.len());
        let mut kind = Kind::Bytes;
        let mut last_image_step = None;
        for (index, step) in steps.iter().enumerate() {
            let (spec, op, params) = check_step(step).map_err(|e| e.at_step(index))?;
            if spec.input == Kind::Image && kind == Kind::Bytes {
                plan.push(Planned {
                    step: Some(index),
                    spec: &op::DECODE,
                    op: Op::Decode {
                        raw: None,
                        icc: DecodeIcc::Convert,
                    },
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
            plan.push(Planned {
                step: Some(index),
                spec,
                op,
            });
            canonical.push((spec, params));
        }
        match kind {
            Kind::Image => plan.push(Planned {
                step: last_image_step,
                spec: &op::ENCODE,
                op: Op::Encode {
                    format: None,
                    quality: 80,
                    level: 6,
                    background: [255; 4],
                    icc: EncodeIcc::Strip,
                    exif: EncodeExif::Strip,
                },
            }),
            Kind::Table => plan.push(Planned {
                step: None,
                spec: &op::TO_JSON,
                op: Op::ToJson {
                    ndjson: false,
                    pretty: false,
                },
            }),
            Kind::Bytes => {}
        }
        Ok(Pipeline {
            plan,
            steps: canonical,
            requested,
            requested_names,
        })
    }

    /// The limits in force: the host's, tightened by the pipeline's.
    pub fn limits(&self, host: &Limits) -> Limits {
        host.tighten(&self.requested)
    }

    /// The canonical JSON form: `{"steps": [...]}` with every step as written and all
    /// its parameters (defaults filled in, in the order of the op's definition), plus
    /// `"limits"` when the pipeline tightens any. Checking it again gives the same plan.
    pub fn to_json(&self) -> Json {
        let mut root = Map::new();
        let steps = self.steps.iter().map(|(spec, params)| {
            let mut step = Map::new();
            step.insert("op".into(), Json::from(spec.name));
            step.extend(params.values.iter().map(|(n, v)| ((*n).to_owned(), v.to_json())));
            Json::Object(step)
        });
        root.insert("steps".into(), steps.collect());
        if !self.requested_names.is_empty() {
            let all = serde_json::to_value(self.requested).unwrap_or_default();
            let limits: Map<String, Json> = self
                .requested_names
                .iter()
                .filter_map(|name| Some((name.clone(), all.get(name)?.clone())))
                .collect();
            root.insert("limits".into(), Json::Object(limits));
        }
        Json::Object(root)
    }
}

/// The rules of a definition that span parameters: `needs_one_of` and `only_with`.
fn check_combinations(spec: &OpSpec, params: &Params) -> Result<()> {
    let name = spec.name;
    if let Some(first) = spec.needs_one_of.first()
        && !spec.needs_one_of.iter().any(|p| params.has(p))
    {
        let names = spec.needs_one_of.join(", ");
        let message = if spec.needs_one_of.len() == 2 {
            format!("`{name}` needs {names} or both")
        } else {
            format!("`{name}` needs at least one of {names}")
        };
        return Err(Error::bad_pipeline(message).with_param(*first));
    }
    for param in spec.params {
        let Some((other, value)) = param.only_with else {
            continue;
        };
        let active = params.get(other).is_some_and(|v| v.to_json() == value);
        match (params.has(param.name), active) {
            (true, false) => {
                return Err(
                    Error::bad_pipeline(format!("`{name}` takes {} only with {other}={value}", param.name))
                        .with_param(other),
                );
            }
            (false, true) => {
                return Err(
                    Error::bad_pipeline(format!("`{name} {other}={value}` needs {}", param.name))
                        .with_param(param.name),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

fn article(kind: Kind) -> &'static str {
    match kind {
        Kind::Bytes => "bytes",
        Kind::Image => "an image",
        Kind::Table => "a table",
    }
}

/// The limits a pipeline asks for, each a non-negative integer naming a field of
/// [`Limits`]; the fields it does not name stay unlimited.
fn check_requested_limits(m: &Map<String, Json>) -> Result<(Limits, Vec<String>)> {
    let mut requested = Limits::UNLIMITED;
    for (key, value) in m {
        if requested.with(key, 0).is_none() {
            return Err(Error::bad_pipeline(format!("unknown limit `{key}`")).with_param(key.clone()));
        }
        let Some(value) = value.as_u64() else {
            return Err(
                Error::bad_pipeline(format!("limit `{key}` must be a non-negative integer, got {value}"))
                    .with_param(key.clone()),
            );
        };
        requested = requested.with(key, value).unwrap_or(requested);
    }
    Ok((requested, m.keys().cloned().collect()))
}

/// Checks one step against its op's definition and builds the typed op; also returns
/// its checked parameters (the step in canonical form).
fn check_step(step: &Json) -> Result<(&'static OpSpec, Op, Params)> {
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
    let Some(spec) = op::find(name) else {
        let names: Vec<&str> = op::OPS.iter().map(|o| o.name).collect();
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
    let mut params = Params::default();
    for param in spec.params {
        let checked = match object.get(param.name) {
            Some(value) => Some(param.ty.check(value).map_err(|msg| {
                Error::bad_pipeline(format!("`{name}` parameter `{}`: {msg}", param.name)).with_param(param.name)
            })?),
            None => param.default_value(),
        };
        match checked {
            Some(v) => params.values.push((param.name, v)),
            None if !param.required => {}
            None => {
                return Err(
                    Error::bad_pipeline(format!("`{name}` needs parameter `{}` ({})", param.name, param.doc))
                        .with_param(param.name),
                );
            }
        }
    }
    check_combinations(spec, &params)?;
    let op = (spec.build)(&params)?;
    Ok((spec, op, params))
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
        assert!(matches!(text.plan[0].op, Op::Decode { raw: None, .. }));
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
        let e = err("rotate degrees=400");
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

    #[test]
    fn canonical_form_fills_defaults_and_checks_to_the_same_plan() {
        let p = Pipeline::parse("limits max_rows=5 | resize width=8 | blur sigma=2 | encode format=png").unwrap();
        let canonical = p.to_json();
        assert_eq!(
            canonical,
            serde_json::json!({"steps": [
                {"op": "resize", "width": 8, "fit": "contain", "filter": "lanczos3", "position": "centre"},
                {"op": "blur", "sigma": 2.0},
                {"op": "encode", "format": "png", "quality": 80, "level": 6, "background": "#ffffff", "icc": "strip", "exif": "strip"}
            ], "limits": {"max_rows": 5}})
        );
        let again = Pipeline::from_json(&canonical).unwrap();
        assert_eq!(
            again.plan.iter().map(|s| &s.op).collect::<Vec<_>>(),
            p.plan.iter().map(|s| &s.op).collect::<Vec<_>>()
        );
        assert_eq!(again.to_json(), canonical);
        let p = Pipeline::parse("parse_csv delimiter=\\t").unwrap();
        assert_eq!(p.to_json()["steps"][0]["delimiter"], "\t");
    }

    #[test]
    fn implied_steps_are_their_ops_at_their_defaults() {
        use crate::op::{Checked, ParamSpec};
        let default = |spec: &OpSpec, name: &str| spec.param(name).and_then(ParamSpec::default_value);
        let p = Pipeline::parse("grayscale").unwrap();
        let Op::Encode { quality, level, .. } = p.plan.last().unwrap().op else {
            panic!("no implied encode");
        };
        assert_eq!(default(&op::ENCODE, "quality"), Some(Checked::Int(quality.into())));
        assert_eq!(default(&op::ENCODE, "level"), Some(Checked::Int(level.into())));
        let p = Pipeline::parse("parse_csv").unwrap();
        let Op::ToJson { ndjson, pretty } = p.plan.last().unwrap().op else {
            panic!("no implied writer");
        };
        assert_eq!(
            default(&op::TO_JSON, "format"),
            Some(Checked::Str(if ndjson { "ndjson" } else { "array" }.into()))
        );
        assert_eq!(default(&op::TO_JSON, "pretty"), Some(Checked::Bool(pretty)));
    }
}
