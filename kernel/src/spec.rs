//! The op catalogue: every op, the kind it takes and gives, and its parameters with
//! type, default and range. Pipeline checking and [`describe`](crate::describe) both
//! read this one table, so they cannot disagree.

use serde_json::{Value as Json, json};

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
    Int { min: i64, max: i64 },
    /// A finite number in `min..=max` (`exclusive_min`: strictly greater than `min`).
    Float { min: f64, max: f64, exclusive_min: bool },
    /// `true` or `false`.
    Bool,
    /// One of these names.
    Choice(&'static [&'static str]),
    /// One of these integers.
    IntChoice(&'static [i64]),
    /// One character (CSV delimiter and quote): a single ASCII byte.
    Char,
    /// Free text (a filter predicate).
    Text,
    /// A list of numbers whose length is one of these.
    Numbers(&'static [usize]),
    /// A non-empty list of names (column names).
    Names,
}

/// A default value.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(&'static str),
}

/// One parameter of an op.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ParamType,
    /// `None`: required, unless the op says otherwise (resize needs width or height).
    pub default: Option<Default>,
    pub doc: &'static str,
}

/// One op.
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    pub name: &'static str,
    pub input: Kind,
    pub output: Kind,
    pub params: &'static [ParamSpec],
    pub doc: &'static str,
}

impl OpSpec {
    /// The spec of one parameter.
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }
}

const fn p(name: &'static str, ty: ParamType, default: Option<Default>, doc: &'static str) -> ParamSpec {
    ParamSpec { name, ty, default, doc }
}

const fn float(min: f64, max: f64) -> ParamType {
    ParamType::Float {
        min,
        max,
        exclusive_min: false,
    }
}

const fn int(min: i64, max: i64) -> ParamType {
    ParamType::Int { min, max }
}

const DIM: ParamType = int(1, 65_535);
const POS: ParamType = int(0, 65_535);
const COMPRESSION: &[&str] = &["gzip", "zlib", "deflate"];

/// Every op of this kernel, in the order `describe()` lists them.
pub const OPS: &[OpSpec] = &[
    OpSpec {
        name: "decode",
        input: Kind::Bytes,
        output: Kind::Image,
        doc: "Decodes PNG, JPEG, WebP, GIF (first frame), BMP or TIFF, sniffed from the bytes, with EXIF orientation applied; or raw RGBA8 with format=rgba and width/height. Implied before the first image op.",
        params: &[
            p(
                "format",
                ParamType::Choice(&["auto", "rgba"]),
                Some(Default::Str("auto")),
                "auto: sniff the format; rgba: raw RGBA8 pixels",
            ),
            p("width", DIM, None, "width of raw RGBA8 input (format=rgba only)"),
            p("height", DIM, None, "height of raw RGBA8 input (format=rgba only)"),
        ],
    },
    OpSpec {
        name: "resize",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Resizes. With only width or only height the aspect ratio is kept. fit=contain: as large as possible inside width x height, aspect kept; cover: fills width x height exactly, aspect kept, centre-cropped; fill: exactly width x height, stretched.",
        params: &[
            p("width", DIM, None, "target width in pixels"),
            p("height", DIM, None, "target height in pixels"),
            p(
                "fit",
                ParamType::Choice(&["contain", "cover", "fill"]),
                Some(Default::Str("contain")),
                "how to fit both width and height",
            ),
            p(
                "filter",
                ParamType::Choice(&["nearest", "bilinear", "catmull_rom", "lanczos3"]),
                Some(Default::Str("lanczos3")),
                "resampling filter",
            ),
        ],
    },
    OpSpec {
        name: "crop",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Keeps the rectangle at x, y of width x height; it must lie inside the image.",
        params: &[
            p("x", POS, Some(Default::Int(0)), "left edge"),
            p("y", POS, Some(Default::Int(0)), "top edge"),
            p("width", DIM, None, "width of the rectangle"),
            p("height", DIM, None, "height of the rectangle"),
        ],
    },
    OpSpec {
        name: "rotate",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Rotates clockwise by a multiple of 90 degrees.",
        params: &[p(
            "degrees",
            ParamType::IntChoice(&[90, 180, 270]),
            None,
            "clockwise angle",
        )],
    },
    OpSpec {
        name: "flip",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Mirrors the image: horizontal swaps left and right, vertical swaps top and bottom.",
        params: &[p(
            "axis",
            ParamType::Choice(&["horizontal", "vertical"]),
            Some(Default::Str("horizontal")),
            "mirror axis",
        )],
    },
    OpSpec {
        name: "grayscale",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Rec. 709 luma; alpha kept.",
        params: &[],
    },
    OpSpec {
        name: "blur",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Gaussian blur; the cost per pixel does not grow with sigma (recursive filter for large sigma).",
        params: &[p("sigma", float(0.1, 1000.0), None, "standard deviation in pixels")],
    },
    OpSpec {
        name: "sharpen",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Unsharp mask: out = in + amount x (in - blur(in, sigma)); alpha kept.",
        params: &[
            p(
                "sigma",
                float(0.1, 1000.0),
                Some(Default::Float(1.0)),
                "blur radius of the mask",
            ),
            p("amount", float(0.0, 10.0), Some(Default::Float(1.0)), "strength"),
        ],
    },
    OpSpec {
        name: "brightness",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Multiplies colour by value, like CSS brightness(): 1 is unchanged.",
        params: &[p("value", float(0.0, 10.0), None, "factor")],
    },
    OpSpec {
        name: "contrast",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Scales colour around mid-grey, like CSS contrast(): 1 is unchanged, 0 is grey.",
        params: &[p("value", float(0.0, 10.0), None, "factor")],
    },
    OpSpec {
        name: "gamma",
        input: Kind::Image,
        output: Kind::Image,
        doc: "out = in^(1/value): values above 1 brighten mid-tones, 1 is unchanged.",
        params: &[p(
            "value",
            ParamType::Float {
                min: 0.0,
                max: 10.0,
                exclusive_min: true,
            },
            None,
            "gamma",
        )],
    },
    OpSpec {
        name: "invert",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Inverts colour; alpha kept.",
        params: &[],
    },
    OpSpec {
        name: "convolve",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Convolves colour with a 3x3 or 5x5 kernel (row-major), divided by the sum of its weights unless that is 0; edges clamped; alpha kept.",
        params: &[p("kernel", ParamType::Numbers(&[9, 25]), None, "9 or 25 weights")],
    },
    OpSpec {
        name: "sobel",
        input: Kind::Image,
        output: Kind::Image,
        doc: "Sobel edge magnitude of the luma, as an opaque grey image.",
        params: &[],
    },
    OpSpec {
        name: "encode",
        input: Kind::Image,
        output: Kind::Bytes,
        doc: "Encodes. Without it, the last image is encoded to the input's format (PNG when that format cannot be written).",
        params: &[
            p(
                "format",
                ParamType::Choice(&["png", "jpeg", "webp", "rgba"]),
                None,
                "png, jpeg, webp (lossless) or raw rgba",
            ),
            p("quality", int(1, 100), Some(Default::Int(80)), "JPEG quality"),
            p("level", int(0, 9), Some(Default::Int(6)), "PNG compression level"),
        ],
    },
    OpSpec {
        name: "compress",
        input: Kind::Bytes,
        output: Kind::Bytes,
        doc: "Compresses with DEFLATE in a gzip, zlib or raw container.",
        params: &[
            p(
                "format",
                ParamType::Choice(COMPRESSION),
                Some(Default::Str("gzip")),
                "container",
            ),
            p("level", int(0, 9), Some(Default::Int(6)), "0 stores, 9 compresses most"),
        ],
    },
    OpSpec {
        name: "decompress",
        input: Kind::Bytes,
        output: Kind::Bytes,
        doc: "Decompresses gzip (all members), zlib or raw DEFLATE; the output is bounded by max_decompressed_bytes.",
        params: &[p(
            "format",
            ParamType::Choice(COMPRESSION),
            Some(Default::Str("gzip")),
            "container",
        )],
    },
    OpSpec {
        name: "json",
        input: Kind::Bytes,
        output: Kind::Bytes,
        doc: "Checks JSON text (RFC 8259). validate passes it through unchanged; minify and pretty rewrite only whitespace.",
        params: &[p(
            "mode",
            ParamType::Choice(&["validate", "minify", "pretty"]),
            Some(Default::Str("validate")),
            "what to do",
        )],
    },
    OpSpec {
        name: "parse_csv",
        input: Kind::Bytes,
        output: Kind::Table,
        doc: "Parses CSV (RFC 4180 quoting). With infer, empty is null, true/false are booleans and JSON-style numbers are numbers.",
        params: &[
            p(
                "delimiter",
                ParamType::Char,
                Some(Default::Str(",")),
                "field separator; \\t for tab",
            ),
            p("quote", ParamType::Char, Some(Default::Str("\"")), "quote character"),
            p(
                "header",
                ParamType::Bool,
                Some(Default::Bool(true)),
                "first record names the columns",
            ),
            p(
                "infer",
                ParamType::Bool,
                Some(Default::Bool(true)),
                "infer nulls, booleans and numbers",
            ),
        ],
    },
    OpSpec {
        name: "parse_json",
        input: Kind::Bytes,
        output: Kind::Table,
        doc: "Parses a JSON array of objects, or NDJSON (one object per line). Columns are the keys in first-seen order.",
        params: &[],
    },
    OpSpec {
        name: "select",
        input: Kind::Table,
        output: Kind::Table,
        doc: "Keeps these columns, in this order.",
        params: &[p("columns", ParamType::Names, None, "column names")],
    },
    OpSpec {
        name: "filter",
        input: Kind::Table,
        output: Kind::Table,
        doc: "Keeps rows where `COLUMN OP VALUE` holds; OP is == != < <= > >= contains starts_with ends_with.",
        params: &[p("where", ParamType::Text, None, "predicate, e.g. \"age >= 18\"")],
    },
    OpSpec {
        name: "stats",
        input: Kind::Table,
        output: Kind::Table,
        doc: "One row per column: column, count (non-null), nulls, min, max, mean.",
        params: &[],
    },
    OpSpec {
        name: "to_json",
        input: Kind::Table,
        output: Kind::Bytes,
        doc: "Writes a JSON array of objects or NDJSON. Without a final writer, a table is written as a JSON array.",
        params: &[
            p(
                "format",
                ParamType::Choice(&["array", "ndjson"]),
                Some(Default::Str("array")),
                "array or ndjson",
            ),
            p(
                "pretty",
                ParamType::Bool,
                Some(Default::Bool(false)),
                "indent the array form",
            ),
        ],
    },
    OpSpec {
        name: "to_csv",
        input: Kind::Table,
        output: Kind::Bytes,
        doc: "Writes CSV with a header row, quoting only where needed, lines ending in \\n.",
        params: &[p(
            "delimiter",
            ParamType::Char,
            Some(Default::Str(",")),
            "field separator; \\t for tab",
        )],
    },
];

/// The spec of an op by name.
pub fn op(name: &str) -> Option<&'static OpSpec> {
    OPS.iter().find(|o| o.name == name)
}

impl ParamType {
    /// The type name used in `describe()` and messages.
    pub fn name(&self) -> &'static str {
        match self {
            ParamType::Int { .. } => "integer",
            ParamType::Float { .. } => "number",
            ParamType::Bool => "boolean",
            ParamType::Choice(_) => "choice",
            ParamType::IntChoice(_) => "integer",
            ParamType::Char => "character",
            ParamType::Text => "string",
            ParamType::Numbers(_) => "numbers",
            ParamType::Names => "names",
        }
    }
}

impl Default {
    fn to_json(self) -> Json {
        match self {
            Default::Int(v) => json!(v),
            Default::Float(v) => json!(v),
            Default::Bool(v) => json!(v),
            Default::Str(v) => json!(v),
        }
    }
}

/// The catalogue as JSON, for `describe()`.
pub fn ops_json() -> Json {
    Json::Array(
        OPS.iter()
            .map(|o| {
                let params: Vec<Json> = o
                    .params
                    .iter()
                    .map(|p| {
                        let mut v = json!({"name": p.name, "type": p.ty.name(), "doc": p.doc});
                        let m = v.as_object_mut().expect("literal object");
                        m.insert(
                            "required".into(),
                            json!(p.default.is_none() && !optional_without_default(o.name, p.name)),
                        );
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
                json!({
                    "name": o.name,
                    "input": o.input.as_str(),
                    "output": o.output.as_str(),
                    "doc": o.doc,
                    "params": params,
                })
            })
            .collect(),
    )
}

/// Parameters that have no default yet are not required on their own (checked per op).
pub fn optional_without_default(op: &str, param: &str) -> bool {
    matches!(
        (op, param),
        ("resize", "width") | ("resize", "height") | ("decode", "width") | ("decode", "height")
    )
}
