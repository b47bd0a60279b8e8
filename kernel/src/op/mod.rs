//! The op vocabulary: each op's definition ([`OpSpec`]: name, kinds, parameters, doc
//! and builder) in one catalogue ([`OPS`]), and the typed step it builds ([`Op`]).
//!
//! The checker (`pipeline`), `describe()` and the executor (`run`) all read these
//! definitions; the parameter enums (`Fit`, `Container`, ...) live with the algorithms
//! they steer. Adding an op: see DESIGN.md, "Adding an op".

mod catalog;
pub mod params;
pub mod spec;

pub use catalog::{DECODE, ENCODE, OPS, TO_JSON, find};
pub use params::{Checked, Params};
pub use spec::{Kind, OpSpec, ParamSpec, ParamType};

use crate::compress::Container;
use crate::image::codec::EncodeFormat;
use crate::image::geometry::Axis;
use crate::image::resize::{Fit, ResizeFilter};
use crate::json_text::JsonMode;
use crate::table::predicate::Predicate;
use crate::table::read_csv::CsvOptions;

/// One checked step with typed parameters.
#[derive(Debug, Clone, PartialEq)]
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
    /// The `test-ops` feature's pass-through.
    Echo,
}
