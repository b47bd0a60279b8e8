//! The catalogue: every op of this kernel, each defined once — name, kinds, parameters
//! (type, default, range, doc) and how its typed [`Op`] is built.

use super::Op;
use super::params::{Checked, Params};
use super::spec::{Default, Kind, OpSpec, ParamSpec, ParamType};
use crate::choice::Choice;
use crate::compress::Container;
use crate::image::codec::{DecodeFormat, DecodeIcc, EncodeExif, EncodeFormat, EncodeIcc};
use crate::image::extend::Border;
use crate::image::geometry::Axis;
use crate::image::position::Position;
use crate::image::resize::{Fit, ResizeFilter};
use crate::json_text::JsonMode;
use crate::table::group::Aggregate;
use crate::table::predicate::Predicate;
use crate::table::query::rename_pairs;
use crate::table::read_csv::CsvOptions;
use crate::table::sort::SortKey;
use crate::table::write_csv::QuoteStyle;
use crate::table::write_json::JsonLayout;
use crate::{Error, Result};

/// Every op, in the order `describe()` lists them.
pub const OPS: &[OpSpec] = if cfg!(feature = "test-ops") {
    &CATALOGUE
} else {
    CATALOGUE.split_at(CATALOGUE.len() - 1).0
};

/// The catalogue with the test-only op last (`OPS` leaves it out unless the `test-ops`
/// feature is on).
const CATALOGUE: [OpSpec; 41] = [
    DECODE, RESIZE, CROP, ROTATE, EXTEND, TRIM, FLIP, GRAYSCALE, BLUR, SHARPEN, BRIGHTNESS, CONTRAST, GAMMA, INVERT,
    MODULATE, TINT, FLATTEN, THRESHOLD, LINEAR, NORMALIZE, MEDIAN, CONVOLVE, SOBEL, ENCODE, INFO, COMPRESS, DECOMPRESS,
    JSON, PARSE_CSV, PARSE_JSON, SELECT, FILTER, STATS, SORT, LIMIT, DISTINCT, RENAME, GROUP_BY, TO_JSON, TO_CSV, ECHO,
];

/// The definition of an op by name.
pub fn find(name: &str) -> Option<&'static OpSpec> {
    OPS.iter().find(|o| o.name == name)
}

/// A parameter with a default, or required when `default` is `None`.
const fn p(name: &'static str, ty: ParamType, default: Option<Default>, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        default,
        required: default.is_none(),
        only_with: None,
        doc,
    }
}

/// A parameter that is neither defaulted nor required on its own (the op's
/// `needs_one_of` may require it with others).
const fn optional(name: &'static str, ty: ParamType, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        default: None,
        required: false,
        only_with: None,
        doc,
    }
}

/// A parameter given exactly when parameter `other` is `value`.
const fn only_with(
    name: &'static str,
    ty: ParamType,
    (other, value): (&'static str, &'static str),
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        only_with: Some((other, value)),
        ..optional(name, ty, doc)
    }
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

/// An image -> image op without parameters.
const fn plain_image_op(name: &'static str, doc: &'static str, build: fn(&Params) -> Result<Op>) -> OpSpec {
    OpSpec {
        name,
        streams: false,
        input: Kind::Image,
        output: Kind::Image,
        params: &[],
        needs_one_of: &[],
        doc,
        build,
    }
}

/// `decode` (also implied before the first image op).
pub const DECODE: OpSpec = OpSpec {
    name: "decode",
    streams: false,
    input: Kind::Bytes,
    output: Kind::Image,
    doc: "Decodes PNG, JPEG, WebP, GIF (first frame), BMP or TIFF, sniffed from the bytes, with EXIF orientation applied; or raw RGBA8 with format=rgba and width/height. An ICC profile embedded in a JPEG (APP2), PNG (iCCP) or WebP (ICCP) converts the pixels to sRGB (RGB matrix/TRC, grey and LUT profiles; CMYK and YCCK JPEGs through their CMYK profile); a profile that does not parse or does not fit the pixels is ignored, as browsers do. Implied before the first image op.",
    params: &[
        p(
            "format",
            ParamType::Choice(DecodeFormat::NAMES),
            Some(Default::Str("auto")),
            "auto: sniff the format; rgba: raw RGBA8 pixels",
        ),
        only_with(
            "width",
            DIM,
            ("format", "rgba"),
            "width of raw RGBA8 input (format=rgba only)",
        ),
        only_with(
            "height",
            DIM,
            ("format", "rgba"),
            "height of raw RGBA8 input (format=rgba only)",
        ),
        p(
            "icc",
            ParamType::Choice(DecodeIcc::NAMES),
            Some(Default::Str("convert")),
            "convert: an embedded ICC profile converts the pixels to sRGB; ignore: the decoded values as they are",
        ),
    ],
    needs_one_of: &[],
    build: |p| {
        let raw = match p.choice::<DecodeFormat>("format")? {
            DecodeFormat::Rgba => Some((p.u32("width")?, p.u32("height")?)),
            DecodeFormat::Auto => None,
        };
        Ok(Op::Decode {
            raw,
            icc: p.choice("icc")?,
        })
    },
};

pub const RESIZE: OpSpec = OpSpec {
    name: "resize",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Resizes. With only width or only height the aspect ratio is kept. fit=contain: as large as possible inside width x height, aspect kept (with background, and both width and height: then placed on a width x height canvas of that colour at position, a letterbox); cover: fills width x height exactly, aspect kept, cropped to the part position names (centre by default); fill: exactly width x height, stretched.",
    params: &[
        optional("width", DIM, "target width in pixels"),
        optional("height", DIM, "target height in pixels"),
        p(
            "fit",
            ParamType::Choice(Fit::NAMES),
            Some(Default::Str("contain")),
            "how to fit both width and height",
        ),
        p(
            "filter",
            ParamType::Choice(ResizeFilter::NAMES),
            Some(Default::Str("lanczos3")),
            "resampling filter",
        ),
        p(
            "position",
            ParamType::Choice(Position::NAMES),
            Some(Default::Str("centre")),
            "fit=cover: the part kept (attention: the most salient, by luma edges, saturation and skin tones); fit=contain with background: where the image sits",
        ),
        optional(
            "background",
            ParamType::Color,
            "fit=contain only: pad to exactly width x height with this colour, #rrggbb or #rrggbbaa",
        ),
    ],
    needs_one_of: &["width", "height"],
    build: |p| {
        let fit = p.choice("fit")?;
        let background = p.opt_color("background");
        if background.is_some() && fit != Fit::Contain {
            return Err(Error::bad_pipeline("`resize` takes background only with fit=contain").with_param("background"));
        }
        let position = p.choice("position")?;
        if position == Position::Attention && fit != Fit::Cover {
            return Err(
                Error::bad_pipeline("`resize` takes position=attention only with fit=cover").with_param("position"),
            );
        }
        Ok(Op::Resize {
            width: p.opt_u32("width"),
            height: p.opt_u32("height"),
            fit,
            filter: p.choice("filter")?,
            position,
            background,
        })
    },
};

pub const CROP: OpSpec = OpSpec {
    name: "crop",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Keeps the rectangle at x, y of width x height; it must lie inside the image.",
    params: &[
        p("x", POS, Some(Default::Int(0)), "left edge"),
        p("y", POS, Some(Default::Int(0)), "top edge"),
        p("width", DIM, None, "width of the rectangle"),
        p("height", DIM, None, "height of the rectangle"),
    ],
    needs_one_of: &[],
    build: |p| {
        Ok(Op::Crop {
            x: p.u32("x")?,
            y: p.u32("y")?,
            width: p.u32("width")?,
            height: p.u32("height")?,
        })
    },
};

pub const ROTATE: OpSpec = OpSpec {
    name: "rotate",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Rotates clockwise (negative: counter-clockwise). Multiples of 90 are exact pixel moves; any other angle grows the canvas to the rotated bounding box (rounded to the nearest pixel, as sharp), fills the uncovered corners with background and resamples bicubically (Catmull-Rom), the image's edges blended into the background.",
    params: &[
        p("degrees", float(-360.0, 360.0), None, "clockwise angle"),
        p(
            "background",
            ParamType::Color,
            Some(Default::Str("#000000")),
            "colour of the uncovered corners, #rrggbb or #rrggbbaa",
        ),
    ],
    needs_one_of: &[],
    build: |p| {
        Ok(Op::Rotate {
            degrees: p.f64("degrees")?,
            background: p.color("background")?,
        })
    },
};

pub const EXTEND: OpSpec = OpSpec {
    name: "extend",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Adds a border of background colour: top, right, bottom and left pixels, or up to width x height with the image centred (an odd pixel goes right or below; smaller than the image is bad_input). Pixels are copied exactly.",
    params: &[
        optional("top", POS, "rows added above (default 0)"),
        optional("right", POS, "columns added to the right (default 0)"),
        optional("bottom", POS, "rows added below (default 0)"),
        optional("left", POS, "columns added to the left (default 0)"),
        optional(
            "width",
            DIM,
            "the new width, the image centred (instead of left and right)",
        ),
        optional(
            "height",
            DIM,
            "the new height, the image centred (instead of top and bottom)",
        ),
        p(
            "background",
            ParamType::Color,
            Some(Default::Str("#000000")),
            "border colour, #rrggbb or #rrggbbaa",
        ),
    ],
    needs_one_of: &["top", "right", "bottom", "left", "width", "height"],
    build: |p| {
        let edge = |name| p.opt_u32(name);
        let edges = ["top", "right", "bottom", "left"];
        let border = if p.has("width") || p.has("height") {
            if let Some(given) = edges.iter().find(|e| p.has(e)) {
                return Err(Error::bad_pipeline(format!(
                    "`extend` takes either width / height or top / right / bottom / left, not both (`{given}`)"
                ))
                .with_param(*given));
            }
            Border::Size {
                width: p.opt_u32("width"),
                height: p.opt_u32("height"),
            }
        } else {
            Border::Edges {
                top: edge("top").unwrap_or(0),
                right: edge("right").unwrap_or(0),
                bottom: edge("bottom").unwrap_or(0),
                left: edge("left").unwrap_or(0),
            }
        };
        Ok(Op::Extend {
            border,
            background: p.color("background")?,
        })
    },
};

pub const TRIM: OpSpec = OpSpec {
    name: "trim",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Removes a uniform border, as sharp's trim: keeps the smallest rectangle holding every pixel that differs from the background (the top-left pixel unless given) by more than threshold in any of R, G, B and A. An image that is all background is kept whole. The encoded output's meta gives trim_left and trim_top: the columns and rows removed on the left and at the top (of the last trim).",
    params: &[
        p(
            "threshold",
            int(0, 255),
            Some(Default::Int(10)),
            "largest difference still counted as background",
        ),
        optional(
            "background",
            ParamType::Color,
            "the border colour, #rrggbb or #rrggbbaa (default: the top-left pixel)",
        ),
    ],
    needs_one_of: &[],
    build: |p| {
        Ok(Op::Trim {
            threshold: p.u32("threshold")? as u8,
            background: p.opt_color("background"),
        })
    },
};

pub const FLIP: OpSpec = OpSpec {
    name: "flip",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Mirrors the image: horizontal swaps left and right, vertical swaps top and bottom.",
    params: &[p(
        "axis",
        ParamType::Choice(Axis::NAMES),
        Some(Default::Str("horizontal")),
        "mirror axis",
    )],
    needs_one_of: &[],
    build: |p| Ok(Op::Flip(p.choice("axis")?)),
};

pub const GRAYSCALE: OpSpec = plain_image_op("grayscale", "Rec. 709 luma; alpha kept.", |_| Ok(Op::Grayscale));

pub const BLUR: OpSpec = OpSpec {
    name: "blur",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Gaussian blur; the cost per pixel does not grow with sigma (recursive filter for large sigma).",
    params: &[p("sigma", float(0.1, 1000.0), None, "standard deviation in pixels")],
    needs_one_of: &[],
    build: |p| Ok(Op::Blur { sigma: p.f32("sigma")? }),
};

pub const SHARPEN: OpSpec = OpSpec {
    name: "sharpen",
    streams: false,
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
    needs_one_of: &[],
    build: |p| {
        Ok(Op::Sharpen {
            sigma: p.f32("sigma")?,
            amount: p.f32("amount")?,
        })
    },
};

pub const BRIGHTNESS: OpSpec = OpSpec {
    name: "brightness",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Multiplies colour by value, like CSS brightness(): 1 is unchanged.",
    params: &[p("value", float(0.0, 10.0), None, "factor")],
    needs_one_of: &[],
    build: |p| Ok(Op::Brightness(p.f32("value")?)),
};

pub const CONTRAST: OpSpec = OpSpec {
    name: "contrast",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Scales colour around mid-grey, like CSS contrast(): 1 is unchanged, 0 is grey.",
    params: &[p("value", float(0.0, 10.0), None, "factor")],
    needs_one_of: &[],
    build: |p| Ok(Op::Contrast(p.f32("value")?)),
};

pub const GAMMA: OpSpec = OpSpec {
    name: "gamma",
    streams: false,
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
    needs_one_of: &[],
    build: |p| Ok(Op::Gamma(p.f32("value")?)),
};

pub const INVERT: OpSpec = plain_image_op(
    "invert",
    "Inverts colour (255 - c); alpha kept. sharp calls it negate.",
    |_| Ok(Op::Invert),
);

pub const MEDIAN: OpSpec = OpSpec {
    name: "median",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Median of each channel over a size x size window (edges repeat; alpha too unless the image is opaque). A sliding histogram: the cost grows with size, not size squared.",
    params: &[p(
        "size",
        ParamType::IntChoice(&[3, 5, 7, 9, 11, 13, 15]),
        Some(Default::Int(3)),
        "window width and height (odd)",
    )],
    needs_one_of: &[],
    build: |p| Ok(Op::Median(p.u32("size")?)),
};

pub const MODULATE: OpSpec = OpSpec {
    name: "modulate",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "As sharp's modulate, in CIE LCh (D65): L = L x brightness + lightness, chroma x saturation, hue turned by hue degrees; alpha kept. The defaults change nothing.",
    params: &[
        p(
            "brightness",
            float(0.0, 10.0),
            Some(Default::Float(1.0)),
            "lightness factor (0: black)",
        ),
        p(
            "saturation",
            float(0.0, 10.0),
            Some(Default::Float(1.0)),
            "chroma factor (0: grey)",
        ),
        p(
            "hue",
            float(-360.0, 360.0),
            Some(Default::Float(0.0)),
            "hue turn in degrees",
        ),
        p(
            "lightness",
            float(-100.0, 100.0),
            Some(Default::Float(0.0)),
            "added to L (0..100)",
        ),
    ],
    needs_one_of: &[],
    build: |p| {
        Ok(Op::Modulate {
            brightness: p.f64("brightness")?,
            saturation: p.f64("saturation")?,
            hue: p.f64("hue")?,
            lightness: p.f64("lightness")?,
        })
    },
};

pub const TINT: OpSpec = OpSpec {
    name: "tint",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "As sharp's tint: each pixel's grey (relative luminance, as libvips's B_W) keeps its lightness L* and takes the colour's a*, b* (its chroma), fully in the mid-tones, fading to none at black and white; alpha kept.",
    params: &[p(
        "color",
        ParamType::Color,
        None,
        "the tint, #rrggbb (alpha is ignored)",
    )],
    needs_one_of: &[],
    build: |p| Ok(Op::Tint(p.color("color")?)),
};

pub const FLATTEN: OpSpec = OpSpec {
    name: "flatten",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "As sharp's flatten: composites the image onto a background colour and makes it opaque, each channel (c x alpha + background x (255 - alpha)) / 255, rounded. `encode format=jpeg` does the same onto its own `background=` (white).",
    params: &[p(
        "background",
        ParamType::Color,
        Some(Default::Str("#000000")),
        "the colour under the image, #rrggbb (alpha is ignored)",
    )],
    needs_one_of: &[],
    build: |p| Ok(Op::Flatten(p.color("background")?)),
};

pub const THRESHOLD: OpSpec = OpSpec {
    name: "threshold",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "255 where the value is at least value, else 0. greyscale=true: the value is the luma (as grayscale), giving black and white; false: R, G and B each on its own. Alpha kept.",
    params: &[
        p("value", int(0, 255), Some(Default::Int(128)), "the threshold"),
        p(
            "greyscale",
            ParamType::Bool,
            Some(Default::Bool(true)),
            "threshold the luma rather than each channel",
        ),
    ],
    needs_one_of: &[],
    build: |p| {
        Ok(Op::Threshold {
            value: p.u32("value")? as u8,
            greyscale: p.bool("greyscale")?,
        })
    },
};

pub const LINEAR: OpSpec = OpSpec {
    name: "linear",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "a x c + b for each channel c (rounded, clamped to 0..255). One value applies to R, G and B, three to R, G, B, four to R, G, B and alpha (alpha is kept otherwise). a in -256..256, b in -65536..65536.",
    params: &[
        optional("a", ParamType::Numbers(&[1, 3, 4]), "multiplier(s) (default 1)"),
        optional("b", ParamType::Numbers(&[1, 3, 4]), "offset(s) (default 0)"),
    ],
    needs_one_of: &["a", "b"],
    build: |p| {
        let list = |name, default: f64, bound: f64| -> Result<Vec<f64>> {
            let values = if p.has(name) {
                p.numbers(name)?.to_vec()
            } else {
                vec![default]
            };
            if let Some(v) = values.iter().find(|v| v.abs() > bound) {
                return Err(Error::bad_pipeline(format!(
                    "`linear` parameter `{name}`: {v} is out of range -{bound}..={bound}"
                ))
                .with_param(name));
            }
            Ok(values)
        };
        let (a, b) = (list("a", 1.0, 256.0)?, list("b", 0.0, 65_536.0)?);
        if a.len() > 1 && b.len() > 1 && a.len() != b.len() {
            return Err(
                Error::bad_pipeline(format!("`linear` a has {} values and b {}", a.len(), b.len())).with_param("b"),
            );
        }
        Ok(Op::Linear { a, b })
    },
};

pub const NORMALIZE: OpSpec = OpSpec {
    name: "normalize",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Stretches contrast: one linear map on R, G and B takes the lower and upper percentiles of the luma (as grayscale, over every pixel) to 0 and 255, clipping beyond; an image whose percentiles are less than 2 apart is unchanged. Alpha kept. (sharp's normalise stretches L* in Lab instead, so its colours differ.)",
    params: &[
        p(
            "lower",
            float(0.0, 100.0),
            Some(Default::Float(1.0)),
            "percentile that becomes black",
        ),
        p(
            "upper",
            float(0.0, 100.0),
            Some(Default::Float(99.0)),
            "percentile that becomes white",
        ),
    ],
    needs_one_of: &[],
    build: |p| {
        let (lower, upper) = (p.f64("lower")?, p.f64("upper")?);
        if lower >= upper {
            return Err(Error::bad_pipeline("`normalize` lower must be below upper").with_param("lower"));
        }
        Ok(Op::Normalize { lower, upper })
    },
};

pub const CONVOLVE: OpSpec = OpSpec {
    name: "convolve",
    streams: false,
    input: Kind::Image,
    output: Kind::Image,
    doc: "Convolves colour with a 3x3 or 5x5 kernel (row-major), divided by the sum of its weights unless that is 0; edges clamped; alpha kept.",
    params: &[p("kernel", ParamType::Numbers(&[9, 25]), None, "9 or 25 weights")],
    needs_one_of: &[],
    build: |p| Ok(Op::Convolve(p.numbers("kernel")?.iter().map(|&v| v as f32).collect())),
};

pub const SOBEL: OpSpec = plain_image_op(
    "sobel",
    "Sobel edge magnitude of the luma, as an opaque grey image.",
    |_| Ok(Op::Sobel),
);

/// `encode` (also the implied final encode).
pub const ENCODE: OpSpec = OpSpec {
    name: "encode",
    streams: false,
    input: Kind::Image,
    output: Kind::Bytes,
    doc: "Encodes. Without it, the last image is encoded to the input's format (PNG when that format cannot be written). JPEG has no alpha: a translucent image is flattened onto `background=` (white) first. The output carries no ICC profile (its pixels are sRGB) unless icc=keep: then the pixels stay in the source's colour space (the decode does not convert them) and the output carries the source's RGB profile (PNG iCCP, JPEG APP2, WebP ICCP), as sharp's keepIccProfile; a grey or CMYK source is still converted to sRGB and carries none. No EXIF is written (no camera, date or GPS leaks) unless exif=keep: then the source's EXIF (JPEG, PNG or WebP sources) with its orientation set to 1, since the decode turned the pixels upright.",
    params: &[
        p(
            "format",
            ParamType::Choice(EncodeFormat::NAMES),
            None,
            "png, jpeg, webp (lossless) or raw rgba",
        ),
        p("quality", int(1, 100), Some(Default::Int(80)), "JPEG quality"),
        p("level", int(0, 9), Some(Default::Int(6)), "PNG compression level"),
        p(
            "background",
            ParamType::Color,
            Some(Default::Str("#ffffff")),
            "JPEG (no alpha): the colour a translucent image is flattened onto, #rrggbb",
        ),
        p(
            "icc",
            ParamType::Choice(EncodeIcc::NAMES),
            Some(Default::Str("strip")),
            "strip: no ICC profile, sRGB pixels; keep: the source's pixels and RGB profile, unconverted",
        ),
        p(
            "exif",
            ParamType::Choice(EncodeExif::NAMES),
            Some(Default::Str("strip")),
            "strip: no EXIF (no camera, date or GPS); keep: the source's EXIF (JPEG, PNG, WebP), orientation set to 1",
        ),
    ],
    needs_one_of: &[],
    build: |p| {
        Ok(Op::Encode {
            format: Some(p.choice("format")?),
            quality: p.u32("quality")? as u8,
            level: p.u32("level")? as u8,
            background: p.color("background")?,
            icc: p.choice("icc")?,
            exif: p.choice("exif")?,
        })
    },
};

pub const INFO: OpSpec = OpSpec {
    name: "info",
    streams: false,
    input: Kind::Bytes,
    output: Kind::Bytes,
    doc: "Describes an image file as JSON from its headers alone, decoding no pixel: format, width, height, oriented_width/oriented_height (after the EXIF orientation), orientation (1-8, null when the file has none), has_alpha, bit_depth (per sample; a palette's index size), color_type (gray, gray_alpha, rgb, rgba, palette or cmyk), icc (whether a profile is embedded) and icc_description, frames (GIF, animated WebP, APNG; 1 otherwise), progressive (progressive JPEG, interlaced PNG or GIF) and exif (null, or make, model, date_taken and gps: whether GPS data is present, never its value).",
    params: &[],
    needs_one_of: &[],
    build: |_| Ok(Op::Info),
};

pub const COMPRESS: OpSpec = OpSpec {
    name: "compress",
    streams: true,
    input: Kind::Bytes,
    output: Kind::Bytes,
    doc: "Compresses with DEFLATE in a gzip, zlib or raw container.",
    params: &[
        p(
            "format",
            ParamType::Choice(Container::NAMES),
            Some(Default::Str("gzip")),
            "container",
        ),
        p("level", int(0, 9), Some(Default::Int(6)), "0 stores, 9 compresses most"),
    ],
    needs_one_of: &[],
    build: |p| {
        Ok(Op::Compress {
            container: p.choice("format")?,
            level: p.u32("level")?,
        })
    },
};

pub const DECOMPRESS: OpSpec = OpSpec {
    name: "decompress",
    streams: true,
    input: Kind::Bytes,
    output: Kind::Bytes,
    doc: "Decompresses gzip (all members), zlib or raw DEFLATE; the output is bounded by max_decompressed_bytes.",
    params: &[p(
        "format",
        ParamType::Choice(Container::NAMES),
        Some(Default::Str("gzip")),
        "container",
    )],
    needs_one_of: &[],
    build: |p| {
        Ok(Op::Decompress {
            container: p.choice("format")?,
        })
    },
};

pub const JSON: OpSpec = OpSpec {
    name: "json",
    streams: true,
    input: Kind::Bytes,
    output: Kind::Bytes,
    doc: "Checks JSON text (RFC 8259). validate passes it through unchanged; minify and pretty rewrite only whitespace.",
    params: &[p(
        "mode",
        ParamType::Choice(JsonMode::NAMES),
        Some(Default::Str("validate")),
        "what to do",
    )],
    needs_one_of: &[],
    build: |p| Ok(Op::Json(p.choice("mode")?)),
};

pub const PARSE_CSV: OpSpec = OpSpec {
    name: "parse_csv",
    streams: true,
    input: Kind::Bytes,
    output: Kind::Table,
    doc: "Parses CSV (RFC 4180 quoting); a UTF-8 BOM at the start is ignored. With infer, empty is null, true/false are booleans and JSON-style numbers are numbers. delimiter=auto sniffs it from the first 10 records as papaparse does with skipEmptyLines (of , tab | ; and the ASCII record and unit separators, the one whose records vary least in field count, ties to more fields, then to that order; , when none gives more than 1.99 fields a record). skip_lines drops lines (after a BOM, quotes or not) before the header; comment skips records starting with that character. The first record fixes the columns (the header, or column1..N without one): a wider record is bad_input, a shorter one padded with nulls.",
    params: &[
        p(
            "delimiter",
            ParamType::CharOrAuto,
            Some(Default::Str(",")),
            "field separator; \\t for tab; auto: sniffed",
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
        p(
            "skip_lines",
            int(0, 4_294_967_295),
            Some(Default::Int(0)),
            "lines dropped before parsing",
        ),
        optional(
            "comment",
            ParamType::Char,
            "records starting with this character are skipped (default: none)",
        ),
    ],
    needs_one_of: &[],
    build: |p| {
        let delimiter = match p.get("delimiter") {
            Some(Checked::Str(auto)) if auto == "auto" => None,
            _ => Some(p.char("delimiter")?),
        };
        let comment = if p.has("comment") {
            Some(p.char("comment")?)
        } else {
            None
        };
        let options = CsvOptions {
            delimiter,
            quote: p.char("quote")?,
            header: p.bool("header")?,
            infer: p.bool("infer")?,
            skip_lines: u64::from(p.u32("skip_lines")?),
            comment,
        };
        if options.delimiter == Some(options.quote) {
            return Err(Error::bad_pipeline("`parse_csv` delimiter and quote must differ").with_param("quote"));
        }
        if let Some(c) = comment
            && (c == options.quote || Some(c) == options.delimiter)
        {
            return Err(
                Error::bad_pipeline("`parse_csv` comment must differ from the delimiter and the quote")
                    .with_param("comment"),
            );
        }
        Ok(Op::ParseCsv(options))
    },
};

pub const PARSE_JSON: OpSpec = OpSpec {
    name: "parse_json",
    streams: true,
    input: Kind::Bytes,
    output: Kind::Table,
    doc: "Parses a JSON array of objects, or NDJSON (one object per line). The columns are the keys of the first 100 rows in first-seen order (a later row with another key is bad_input; a missing key is null).",
    params: &[],
    needs_one_of: &[],
    build: |_| Ok(Op::ParseJson),
};

pub const SELECT: OpSpec = OpSpec {
    name: "select",
    streams: true,
    input: Kind::Table,
    output: Kind::Table,
    doc: "Keeps these columns, in this order.",
    params: &[p("columns", ParamType::Names, None, "column names")],
    needs_one_of: &[],
    build: |p| Ok(Op::Select(p.names("columns")?.to_vec())),
};

pub const FILTER: OpSpec = OpSpec {
    name: "filter",
    streams: true,
    input: Kind::Table,
    output: Kind::Table,
    doc: "Keeps rows where the predicate holds, in order: comparisons `COLUMN OP VALUE` (OP is == != < <= > >= contains starts_with ends_with) or `COLUMN is_null` / `COLUMN not_null`, joined by `and` / `or` (`and` binds tighter; no parentheses). Numbers compare numerically, text by bytes; a comparison with a null cell or across types is false.",
    params: &[p(
        "where",
        ParamType::Text,
        None,
        "predicate, e.g. \"age >= 18 and city == Oslo or vip is_null\"",
    )],
    needs_one_of: &[],
    build: |p| {
        Predicate::parse(p.str("where")?)
            .map(Op::Filter)
            .map_err(|msg| Error::bad_pipeline(format!("`filter` parameter `where`: {msg}")).with_param("where"))
    },
};

pub const STATS: OpSpec = OpSpec {
    name: "stats",
    streams: true,
    input: Kind::Table,
    output: Kind::Table,
    doc: "One row per column: column, count (non-null), nulls, min, max, mean.",
    params: &[],
    needs_one_of: &[],
    build: |_| Ok(Op::Stats),
};

pub const SORT: OpSpec = OpSpec {
    name: "sort",
    streams: false,
    input: Kind::Table,
    output: Kind::Table,
    doc: "Sorts rows by columns: by=a,-b sorts by a ascending, ties by b descending (+name: ascending, for a name starting with -). Stable: rows equal on every key keep their order. Numbers compare numerically (1 equals 1.0), text by bytes (UTF-8 order), false before true; a column of mixed types orders booleans, numbers, text, then nested JSON. Nulls are last, descending too. O(n log n).",
    params: &[p(
        "by",
        ParamType::Names,
        None,
        "sort keys: column, -column (descending)",
    )],
    needs_one_of: &[],
    build: |p| Ok(Op::Sort(SortKey::parse_list(p.names("by")?)?)),
};

pub const LIMIT: OpSpec = OpSpec {
    name: "limit",
    streams: true,
    input: Kind::Table,
    output: Kind::Table,
    doc: "Keeps count rows starting at row offset (0-based), in order: fewer when the table ends first, none when offset is past its end.",
    params: &[
        p("count", int(0, 4_294_967_295), None, "rows kept at most"),
        p(
            "offset",
            int(0, 4_294_967_295),
            Some(Default::Int(0)),
            "rows skipped first",
        ),
    ],
    needs_one_of: &[],
    build: |p| {
        Ok(Op::Limit {
            count: u64::from(p.u32("count")?),
            offset: u64::from(p.u32("offset")?),
        })
    },
};

pub const DISTINCT: OpSpec = OpSpec {
    name: "distinct",
    streams: false,
    input: Kind::Table,
    output: Kind::Table,
    doc: "Keeps the first row of each distinct combination of values in columns (every column when not given), in order; all columns are kept. Values compare as sort compares them (1 equals 1.0, nulls equal nulls, types never equal each other).",
    params: &[optional(
        "columns",
        ParamType::Names,
        "the columns compared (default: all)",
    )],
    needs_one_of: &[],
    build: |p| {
        let columns = p.get("columns").map(|_| p.names("columns")).transpose()?;
        if let Some(twice) = columns.and_then(named_twice) {
            return Err(Error::bad_pipeline(format!("`distinct` names column `{twice}` twice")).with_param("columns"));
        }
        Ok(Op::Distinct(columns.map(<[String]>::to_vec)))
    },
};

pub const RENAME: OpSpec = OpSpec {
    name: "rename",
    streams: true,
    input: Kind::Table,
    output: Kind::Table,
    doc: "Renames columns, all at once (a:b,b:a swaps them); each pair is old:new, split at the first colon. Other columns keep their names; every column keeps its place.",
    params: &[p("columns", ParamType::Names, None, "old:new pairs")],
    needs_one_of: &[],
    build: |p| Ok(Op::Rename(rename_pairs(p.names("columns")?)?)),
};

pub const GROUP_BY: OpSpec = OpSpec {
    name: "group_by",
    streams: false,
    input: Kind::Table,
    output: Kind::Table,
    doc: "One row per group of rows with equal values in the by columns (compared as distinct compares them; nulls form one group), in the order groups first appear: the by columns, then one column per aggregate. count: rows; sum:col (sum_col): sum of the numbers, an integer while all are integers and it fits, null if none; mean:col (mean_col): sum / count in f64, as stats; min:col / max:col (min_col, max_col): over the numbers, else the text by bytes, as stats.",
    params: &[
        p("by", ParamType::Names, None, "the key columns"),
        p(
            "aggregates",
            ParamType::Names,
            Some(Default::Names(&["count"])),
            "count, sum:col, mean:col, min:col, max:col",
        ),
    ],
    needs_one_of: &[],
    build: |p| {
        let by = p.names("by")?.to_vec();
        let aggregates = Aggregate::parse_list(p.names("aggregates")?, &by)?;
        if let Some(twice) = named_twice(&by) {
            return Err(Error::bad_pipeline(format!("`group_by` names column `{twice}` twice")).with_param("by"));
        }
        Ok(Op::GroupBy { by, aggregates })
    },
};

/// The first name given twice in a list, if any.
fn named_twice(names: &[String]) -> Option<&String> {
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    names.iter().find(|n| !seen.insert(n.as_str()))
}

/// `to_json` (also the implied final writer of a table).
pub const TO_JSON: OpSpec = OpSpec {
    name: "to_json",
    streams: true,
    input: Kind::Table,
    output: Kind::Bytes,
    doc: "Writes a JSON array of objects or NDJSON. Without a final writer, a table is written as a JSON array.",
    params: &[
        p(
            "format",
            ParamType::Choice(JsonLayout::NAMES),
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
    needs_one_of: &[],
    build: |p| {
        Ok(Op::ToJson {
            ndjson: p.choice::<JsonLayout>("format")? == JsonLayout::Ndjson,
            pretty: p.bool("pretty")?,
        })
    },
};

pub const TO_CSV: OpSpec = OpSpec {
    name: "to_csv",
    streams: true,
    input: Kind::Table,
    output: Kind::Bytes,
    doc: "Writes CSV with a header row, lines ending in \\n. quote=needed quotes only the fields that need it (with the delimiter, a quote, CR or LF inside); always quotes every field, the header's and empty ones (\"\") too. A quote inside a field is doubled.",
    params: &[
        p(
            "delimiter",
            ParamType::Char,
            Some(Default::Str(",")),
            "field separator; \\t for tab",
        ),
        p(
            "quote",
            ParamType::Choice(QuoteStyle::NAMES),
            Some(Default::Str("needed")),
            "which fields are quoted",
        ),
    ],
    needs_one_of: &[],
    build: |p| {
        Ok(Op::ToCsv {
            delimiter: p.char("delimiter")?,
            quote: p.choice("quote")?,
        })
    },
};

/// Only with the `test-ops` feature: passes bytes through. It gives tests a kernel
/// build whose catalogue differs from the default one.
pub const ECHO: OpSpec = OpSpec {
    name: "echo",
    streams: true,
    input: Kind::Bytes,
    output: Kind::Bytes,
    doc: "Passes the bytes through unchanged (test builds only).",
    params: &[],
    needs_one_of: &[],
    build: |_| Ok(Op::Echo),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_default_is_valid() {
        let mut names: Vec<&str> = OPS.iter().map(|o| o.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OPS.len());
        for op in OPS {
            for param in op.params {
                if let Some(default) = param.default {
                    let checked = param.ty.check(&default.to_json());
                    assert!(checked.is_ok(), "{}.{}: {checked:?}", op.name, param.name);
                }
            }
        }
    }

    #[test]
    fn every_op_builds_from_its_defaults_and_required_values() {
        // A sample value for each parameter type, for the parameters without a default.
        for op in OPS {
            let mut params = Params::default();
            for param in op.params {
                let value = match (param.default_value(), param.ty) {
                    (Some(v), _) => Some(v),
                    (None, ParamType::Int { min, .. }) => Some(Checked::Int(min.max(1))),
                    (None, ParamType::IntChoice(c)) => Some(Checked::Int(c[0])),
                    (None, ParamType::Float { max, .. }) => Some(Checked::Float(max / 2.0)),
                    (None, ParamType::Choice(c)) => Some(Checked::Str(c[0].to_owned())),
                    (None, ParamType::Numbers(n)) => Some(Checked::Numbers(vec![1.0; n[0]])),
                    (None, ParamType::Names) => Some(Checked::Names(vec!["a".into()])),
                    (None, ParamType::Text) => Some(Checked::Str("a == 1".into())),
                    (None, ParamType::Color) => Some(Checked::Str("#102030".into())),
                    (None, _) => None,
                };
                if let Some(v) = value.filter(|_| param.required || param.default.is_some()) {
                    params.values.push((param.name, v));
                }
            }
            if op.name == "resize" {
                params.values.push(("width", Checked::Int(8)));
            }
            if op.name == "rename" {
                params.values = vec![("columns", Checked::Names(vec!["a:b".into()]))];
            }
            let built = (op.build)(&params);
            assert!(built.is_ok(), "{}: {built:?}", op.name);
        }
    }
}
