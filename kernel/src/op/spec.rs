//! The shape of an op's definition: the kinds it takes and gives, its parameters with
//! type, default and range, and how its typed [`Op`] is built. The definitions
//! themselves are the [catalogue](super::OPS).

use serde_json::{Value as Json, json};

use super::Op;
use super::params::{Checked, Params};
use crate::Result;

/// The kind of value flowing between steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Opaque bytes (files, compressed data, JSON/CSV text).
    Bytes,
    /// RGBA8 pixels with width and height.
    Image,
    /// Rows of typed cells under named columns.
    Table,
}

impl Kind {
    /// The name used in `describe()` and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bytes => "bytes",
            Kind::Image => "image",
            Kind::Table => "table",
        }
    }
}

/// The type and range of a parameter.
#[derive(Debug, Clone, Copy)]
pub enum ParamType {
    /// An integer in `min..=max`.
    Int {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// A finite number in `min..=max` (`exclusive_min`: strictly greater than `min`).
    Float {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
        /// Whether `min` itself is out of range.
        exclusive_min: bool,
    },
    /// `true` or `false`.
    Bool,
    /// One of these names.
    Choice(&'static [&'static str]),
    /// One of these integers.
    IntChoice(&'static [i64]),
    /// One character (CSV delimiter and quote): a single ASCII byte.
    Char,
    /// One character as [`ParamType::Char`], or `auto` (`parse_csv`'s delimiter,
    /// sniffed); `describe()` calls it a character too, its doc names `auto`.
    CharOrAuto,
    /// Free text (a filter predicate).
    Text,
    /// A list of numbers whose length is one of these.
    Numbers(&'static [usize]),
    /// A non-empty list of names (column names).
    Names,
    /// A colour, `#rrggbb` or `#rrggbbaa` (hex; `describe()` calls it a string, its doc
    /// names the form).
    Color,
}

/// A default value.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A name or a character.
    Str(&'static str),
    /// A list of names.
    Names(&'static [&'static str]),
}

/// One parameter of an op.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// The name in pipelines.
    pub name: &'static str,
    /// Its type and range.
    pub ty: ParamType,
    /// The value when the step does not give one.
    pub default: Option<Default>,
    /// Whether a step must give it (a parameter may have neither a default nor be
    /// required on its own: `resize` needs `width`, `height` or both).
    pub required: bool,
    /// `(other, value)`: this parameter is given exactly when parameter `other` is
    /// `value` (`decode`'s `width` and `height` with `format=rgba`).
    pub only_with: Option<(&'static str, &'static str)>,
    /// What it means, for `describe()`.
    pub doc: &'static str,
}

/// One op: its whole definition.
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    /// The name in pipelines.
    pub name: &'static str,
    /// Whether a streaming session ([`crate::Session`]) takes it: it needs one record
    /// (or one chunk) at a time, never the whole input.
    pub streams: bool,
    /// The kind it takes.
    pub input: Kind,
    /// The kind it gives.
    pub output: Kind,
    /// Its parameters, in the order `describe()` and the canonical form list them.
    pub params: &'static [ParamSpec],
    /// Parameters of which a step must give at least one (`resize`: width, height).
    pub needs_one_of: &'static [&'static str],
    /// What it does, for `describe()`.
    pub doc: &'static str,
    /// Builds the typed op from checked parameters (defaults filled in), with the
    /// checks that span parameters.
    pub build: fn(&Params) -> Result<Op>,
}

impl ParamSpec {
    /// The value a parameter takes when a step does not give it.
    pub fn default_value(&self) -> Option<Checked> {
        self.default.map(|d| match d {
            Default::Int(v) => Checked::Int(v),
            Default::Float(v) => Checked::Float(v),
            Default::Bool(v) => Checked::Bool(v),
            Default::Names(v) => Checked::Names(v.iter().map(|n| (*n).to_owned()).collect()),
            Default::Str(v) => match self.ty {
                ParamType::Char | ParamType::CharOrAuto if v != "auto" => {
                    Checked::Char(v.as_bytes().first().copied().unwrap_or(b','))
                }
                _ => Checked::Str(v.to_owned()),
            },
        })
    }
}

impl OpSpec {
    /// The spec of one parameter.
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }
}

impl ParamType {
    /// Checks one JSON value against this type.
    pub fn check(self, value: &Json) -> std::result::Result<Checked, String> {
        match self {
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
                Some(v) if v.is_finite() && v <= max && (v > min || (!exclusive_min && v == min)) => {
                    Ok(Checked::Float(v))
                }
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
            ParamType::CharOrAuto => match value.as_str() {
                Some("auto") => Ok(Checked::Str("auto".to_owned())),
                _ => ParamType::Char
                    .check(value)
                    .map_err(|_| format!("expected one ASCII character (or \\t, or auto), got {value}")),
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
            ParamType::Color => match value.as_str() {
                Some(s) if crate::image::parse_color(s).is_some() => Ok(Checked::Str(s.to_ascii_lowercase())),
                _ => Err(format!("expected a colour #rrggbb or #rrggbbaa, got {value}")),
            },
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

    /// The type name used in `describe()` and messages.
    pub fn name(&self) -> &'static str {
        match self {
            ParamType::Int { .. } => "integer",
            ParamType::Float { .. } => "number",
            ParamType::Bool => "boolean",
            ParamType::Choice(_) => "choice",
            ParamType::IntChoice(_) => "integer",
            ParamType::Char | ParamType::CharOrAuto => "character",
            ParamType::Text | ParamType::Color => "string",
            ParamType::Numbers(_) => "numbers",
            ParamType::Names => "names",
        }
    }
}

impl Default {
    /// The default as a JSON value.
    pub fn to_json(self) -> Json {
        match self {
            Default::Int(v) => json!(v),
            Default::Float(v) => json!(v),
            Default::Bool(v) => json!(v),
            Default::Str(v) => json!(v),
            Default::Names(v) => json!(v),
        }
    }
}

/// The catalogue as JSON, for `describe()`.
pub fn ops_json() -> Json {
    Json::Array(
        super::OPS
            .iter()
            .map(|o| {
                let params: Vec<Json> = o
                    .params
                    .iter()
                    .map(|p| {
                        let mut v = json!({"name": p.name, "type": p.ty.name(), "doc": p.doc});
                        let m = v.as_object_mut().expect("literal object");
                        m.insert("required".into(), json!(p.required));
                        if let Some((other, value)) = p.only_with {
                            m.insert("only_with".into(), json!({ other: value }));
                        }
                        if let Some(d) = p.default {
                            m.insert("default".into(), d.to_json());
                        }
                        match p.ty {
                            ParamType::Int { min, max } => {
                                m.insert("min".into(), json!(min));
                                m.insert("max".into(), json!(max));
                            }
                            ParamType::Float {
                                min,
                                max,
                                exclusive_min,
                            } => {
                                m.insert("min".into(), json!(min));
                                m.insert("max".into(), json!(max));
                                if exclusive_min {
                                    m.insert("exclusive_min".into(), json!(true));
                                }
                            }
                            ParamType::Choice(values) => {
                                m.insert("values".into(), json!(values));
                            }
                            ParamType::IntChoice(values) => {
                                m.insert("values".into(), json!(values));
                            }
                            ParamType::Numbers(lengths) => {
                                m.insert("lengths".into(), json!(lengths));
                            }
                            _ => {}
                        }
                        v
                    })
                    .collect();
                let mut op = json!({
                    "name": o.name,
                    "input": o.input.as_str(),
                    "output": o.output.as_str(),
                    "doc": o.doc,
                    "streams": o.streams,
                    "params": params,
                });
                if !o.needs_one_of.is_empty() {
                    op["needs_one_of"] = json!(o.needs_one_of);
                }
                op
            })
            .collect(),
    )
}
