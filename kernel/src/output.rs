//! The result of `run`: output bytes and a small `meta` object.

use serde::Serialize;

use crate::choice::Choice;
use crate::image::Image;
use crate::image::codec::EncodeFormat;
use crate::table::Table;

/// The output of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The output bytes.
    pub data: Vec<u8>,
    /// What the bytes are.
    pub meta: Meta,
}

/// What the output bytes are. Serialises (see [`Meta::to_json`]) with its fields in
/// this order, absent ones omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meta {
    /// `image` (an encoded image), `table` (a written table) or `bytes`.
    pub kind: String,
    /// The MIME type of the bytes.
    pub content_type: String,
    /// An image's width.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// An image's height.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// `png`, `jpeg`, `webp` or `rgba`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// After `trim`: the columns it removed on the left (of the last `trim`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trim_left: Option<u32>,
    /// After `trim`: the rows it removed at the top.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trim_top: Option<u32>,
    /// A table's rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// A table's columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<u64>,
    /// The version of the kernel that made the output.
    pub version: String,
}

impl Meta {
    pub(crate) fn bytes(content_type: &str) -> Meta {
        Meta {
            kind: "bytes".into(),
            content_type: content_type.into(),
            width: None,
            height: None,
            format: None,
            trim_left: None,
            trim_top: None,
            rows: None,
            columns: None,
            version: crate::VERSION.into(),
        }
    }

    pub(crate) fn image(image: &Image, format: EncodeFormat) -> Meta {
        Meta {
            width: Some(image.width()),
            height: Some(image.height()),
            format: Some(format.name().into()),
            ..Meta::of_kind("image", format.content_type())
        }
    }

    pub(crate) fn table(table: &Table, content_type: &str) -> Meta {
        Meta {
            rows: Some(table.n_rows() as u64),
            columns: Some(table.n_cols() as u64),
            ..Meta::of_kind("table", content_type)
        }
    }

    fn of_kind(kind: &str, content_type: &str) -> Meta {
        Meta {
            kind: kind.into(),
            ..Meta::bytes(content_type)
        }
    }

    /// The meta as compact JSON (the `kiln-meta` header of HTTP API v1).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}
