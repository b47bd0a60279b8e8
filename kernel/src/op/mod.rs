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
use crate::image::codec::{DecodeIcc, EncodeExif, EncodeFormat, EncodeIcc};
use crate::image::extend::Border;
use crate::image::geometry::Axis;
use crate::image::position::Position;
use crate::image::resize::{Fit, ResizeFilter};
use crate::json_text::JsonMode;
use crate::table::group::Aggregate;
use crate::table::predicate::Predicate;
use crate::table::read_csv::CsvOptions;
use crate::table::sort::SortKey;
use crate::table::write_csv::QuoteStyle;

/// One checked step with typed parameters: what the executor runs. Each variant is
/// built by its op's definition in the catalogue, whose doc says what it does.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `decode`. `raw`: width and height of raw RGBA8 input; `None`: sniff the format.
    Decode {
        /// Raw RGBA8 input of this size.
        raw: Option<(u32, u32)>,
        /// What is done with an embedded ICC profile.
        icc: DecodeIcc,
    },
    /// `resize` to `width` and/or `height`.
    Resize {
        /// Target width, if given.
        width: Option<u32>,
        /// Target height, if given.
        height: Option<u32>,
        /// How both fit.
        fit: Fit,
        /// The resampling filter.
        filter: ResizeFilter,
        /// `cover`: the part kept; `contain` with a background: where the image sits.
        position: Position,
        /// `contain` only: pad to exactly `width` x `height` with this colour.
        background: Option<[u8; 4]>,
    },
    /// `trim` a uniform border.
    Trim {
        /// Largest difference (any channel) still counted as background.
        threshold: u8,
        /// The background; the top-left pixel when `None`.
        background: Option<[u8; 4]>,
    },
    /// `extend`: a border.
    Extend {
        /// How much is added.
        border: Border,
        /// Its colour (RGBA).
        background: [u8; 4],
    },
    /// `crop` the `width` x `height` rectangle at (`x`, `y`).
    Crop {
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Rectangle width.
        width: u32,
        /// Rectangle height.
        height: u32,
    },
    /// `rotate` clockwise.
    Rotate {
        /// The angle in degrees.
        degrees: f64,
        /// The colour of the uncovered corners.
        background: [u8; 4],
    },
    /// `median` over a window of this size.
    Median(u32),
    /// `flip` about this axis.
    Flip(Axis),
    /// `grayscale`.
    Grayscale,
    /// `blur` with this standard deviation.
    Blur {
        /// Standard deviation in pixels.
        sigma: f32,
    },
    /// `sharpen` (unsharp mask).
    Sharpen {
        /// Blur radius of the mask.
        sigma: f32,
        /// Strength.
        amount: f32,
    },
    /// `brightness` factor.
    Brightness(f32),
    /// `contrast` factor.
    Contrast(f32),
    /// `gamma`.
    Gamma(f32),
    /// `invert` colour.
    Invert,
    /// `modulate` in LCh.
    Modulate {
        /// L factor.
        brightness: f64,
        /// Chroma factor.
        saturation: f64,
        /// Hue turn in degrees.
        hue: f64,
        /// Added to L.
        lightness: f64,
    },
    /// `tint` with this colour.
    Tint([u8; 4]),
    /// `flatten` onto this colour.
    Flatten([u8; 4]),
    /// `threshold`.
    Threshold {
        /// The threshold.
        value: u8,
        /// Of the luma rather than per channel.
        greyscale: bool,
    },
    /// `linear`: `a * c + b`.
    Linear {
        /// Multipliers (1, 3 or 4).
        a: Vec<f64>,
        /// Offsets (1, 3 or 4).
        b: Vec<f64>,
    },
    /// `normalize` between these luma percentiles.
    Normalize {
        /// Becomes 0.
        lower: f64,
        /// Becomes 255.
        upper: f64,
    },
    /// `convolve` with this 3x3 or 5x5 kernel, row-major.
    Convolve(Vec<f32>),
    /// `sobel` edge magnitude.
    Sobel,
    /// `encode`; `format: None` is the input's format (the implied final encode).
    Encode {
        /// The format to write.
        format: Option<EncodeFormat>,
        /// JPEG quality.
        quality: u8,
        /// PNG compression level.
        level: u8,
        /// What a translucent image is flattened onto for a format without alpha.
        background: [u8; 4],
        /// Whether the source's ICC profile is kept (pixels unconverted) or not.
        icc: EncodeIcc,
        /// Whether the source's EXIF is kept or not.
        exif: EncodeExif,
    },
    /// `info`: an image file's headers as JSON.
    Info,
    /// `compress`.
    Compress {
        /// The container.
        container: Container,
        /// 0 stores, 9 compresses most.
        level: u32,
    },
    /// `decompress`.
    Decompress {
        /// The container.
        container: Container,
    },
    /// `json`: validate, minify or pretty-print.
    Json(JsonMode),
    /// `parse_csv`.
    ParseCsv(CsvOptions),
    /// `parse_json`.
    ParseJson,
    /// `select` these columns, in this order.
    Select(Vec<String>),
    /// `filter` rows by this predicate.
    Filter(Predicate),
    /// `stats` of every column.
    Stats,
    /// `sort` rows by these keys.
    Sort(Vec<SortKey>),
    /// `limit` rows to a window.
    Limit {
        /// Rows kept at most.
        count: u64,
        /// Rows skipped first.
        offset: u64,
    },
    /// `distinct` rows by these columns (all when `None`).
    Distinct(Option<Vec<String>>),
    /// `rename` columns: (old, new) pairs.
    Rename(Vec<(String, String)>),
    /// `group_by` key columns, with aggregates.
    GroupBy {
        /// The key columns.
        by: Vec<String>,
        /// The aggregates, in output order.
        aggregates: Vec<Aggregate>,
    },
    /// `to_json`.
    ToJson {
        /// NDJSON rather than one array.
        ndjson: bool,
        /// Indent the array form.
        pretty: bool,
    },
    /// `to_csv`.
    ToCsv {
        /// The field separator.
        delimiter: u8,
        /// Which fields are quoted.
        quote: QuoteStyle,
    },
    /// The `test-ops` feature's pass-through.
    Echo,
}
