//! Checked parameter values (each checked against its
//! [`ParamType`](super::ParamType), defaults filled in), as the op's builder gets them.

use serde_json::{Value as Json, json};

use crate::choice::Choice;
use crate::{Error, Result};

/// A parameter value after checking.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    /// An integer (also an integer choice).
    Int(i64),
    /// A finite number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A choice's name or free text.
    Str(String),
    /// One ASCII character.
    Char(u8),
    /// A list of numbers.
    Numbers(Vec<f64>),
    /// A list of names.
    Names(Vec<String>),
}

impl Checked {
    /// The value in the canonical JSON form of a pipeline (what `check` returns).
    pub fn to_json(&self) -> Json {
        match self {
            Checked::Int(v) => json!(v),
            Checked::Float(v) => json!(v),
            Checked::Bool(v) => json!(v),
            Checked::Str(v) => json!(v),
            Checked::Char(v) => json!(char::from(*v).to_string()),
            Checked::Numbers(v) => json!(v),
            Checked::Names(v) => json!(v),
        }
    }
}

/// The checked parameters of one step, in the order of the op's definition. A
/// parameter the definition gives a default always has a value here, so the builders'
/// accessors only fail on a catalogue bug (`internal`).
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub(crate) values: Vec<(&'static str, Checked)>,
}

impl Params {
    /// The value of `name`, if given or defaulted.
    pub fn get(&self, name: &str) -> Option<&Checked> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Whether `name` has a value.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// An integer parameter that fits in u32, if given.
    pub fn opt_u32(&self, name: &str) -> Option<u32> {
        match self.get(name) {
            Some(Checked::Int(v)) => u32::try_from(*v).ok(),
            _ => None,
        }
    }

    /// An integer parameter that fits in u32 (every integer range in the catalogue does).
    pub fn u32(&self, name: &str) -> Result<u32> {
        self.opt_u32(name).ok_or_else(|| missing(name))
    }

    /// A number parameter, as the f32 the image ops compute with.
    pub fn f32(&self, name: &str) -> Result<f32> {
        match self.get(name) {
            Some(Checked::Float(v)) => Ok(*v as f32),
            _ => Err(missing(name)),
        }
    }

    /// A number parameter.
    pub fn f64(&self, name: &str) -> Result<f64> {
        match self.get(name) {
            Some(Checked::Float(v)) => Ok(*v),
            _ => Err(missing(name)),
        }
    }

    /// A boolean parameter.
    pub fn bool(&self, name: &str) -> Result<bool> {
        match self.get(name) {
            Some(Checked::Bool(v)) => Ok(*v),
            _ => Err(missing(name)),
        }
    }

    /// A text parameter.
    pub fn str(&self, name: &str) -> Result<&str> {
        match self.get(name) {
            Some(Checked::Str(v)) => Ok(v),
            _ => Err(missing(name)),
        }
    }

    /// A one-byte character parameter.
    pub fn char(&self, name: &str) -> Result<u8> {
        match self.get(name) {
            Some(Checked::Char(v)) => Ok(*v),
            _ => Err(missing(name)),
        }
    }

    /// A list of numbers.
    pub fn numbers(&self, name: &str) -> Result<&[f64]> {
        match self.get(name) {
            Some(Checked::Numbers(v)) => Ok(v),
            _ => Err(missing(name)),
        }
    }

    /// A list of names.
    pub fn names(&self, name: &str) -> Result<&[String]> {
        match self.get(name) {
            Some(Checked::Names(v)) => Ok(v),
            _ => Err(missing(name)),
        }
    }

    /// A colour parameter (checked as `#rrggbb` or `#rrggbbaa`), if given.
    pub fn opt_color(&self, name: &str) -> Option<[u8; 4]> {
        match self.get(name) {
            Some(Checked::Str(v)) => crate::image::parse_color(v),
            _ => None,
        }
    }

    /// A colour parameter.
    pub fn color(&self, name: &str) -> Result<[u8; 4]> {
        self.opt_color(name).ok_or_else(|| missing(name))
    }

    /// A choice parameter as its enum (the checker only lets the enum's names through).
    pub fn choice<C: Choice>(&self, name: &str) -> Result<C> {
        self.str(name)
            .and_then(|v| C::from_name(v).ok_or_else(|| missing(name)))
    }
}

/// A builder asked for a value its definition does not guarantee: a catalogue bug.
fn missing(name: &str) -> Error {
    Error::internal(format!("parameter `{name}` has no value of its type (catalogue bug)"))
}
