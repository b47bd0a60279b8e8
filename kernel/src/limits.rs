//! Resource limits, checked before allocating.
//!
//! A host builds a [`Limits`] (or takes [`Limits::default`]) and passes it to
//! [`run_with_limits`](crate::run_with_limits); a pipeline may tighten any of them
//! (`"limits": {...}` in JSON, a `limits` step in text form) but never loosen them.

use serde::{Deserialize, Serialize};

/// The limits in force for one job. Every field is a hard cap; hitting one is `too_large`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Input size in bytes.
    pub max_input_bytes: u64,
    /// Output size in bytes.
    pub max_output_bytes: u64,
    /// Width x height of any decoded or produced image.
    pub max_pixels: u64,
    /// Width or height of any decoded or produced image.
    pub max_dimension: u32,
    /// Bytes produced by `decompress` (stops gzip bombs).
    pub max_decompressed_bytes: u64,
    /// Rows of a table.
    pub max_rows: u64,
    /// Columns of a table (fields per CSV record).
    pub max_columns: u32,
    /// Nesting depth of JSON arrays and objects.
    pub max_json_depth: u32,
    /// Bytes a job may hold at once, as the memory model estimates them before each
    /// step allocates (images, their scratch, table cells; DESIGN.md, "Memory").
    pub max_memory_bytes: u64,
}

/// What every estimate of the memory model adds for row buffers, tables and the
/// allocator's slack.
pub(crate) const SLACK: u64 = 1 << 20;

const MIB: f64 = (1 << 20) as f64;

impl Default for Limits {
    /// Safe defaults for a server: a 256 MiB input, 64 Mpx images (8192 x 8192),
    /// 256 MiB decompressed, 10 million rows, 16384 columns, JSON 128 deep, 1 GiB held
    /// at once (`kiln serve`'s default job memory).
    fn default() -> Limits {
        Limits {
            max_input_bytes: 256 << 20,
            max_output_bytes: 256 << 20,
            max_pixels: 64 << 20,
            max_dimension: 65_535,
            max_decompressed_bytes: 256 << 20,
            max_rows: 10_000_000,
            max_columns: 16_384,
            max_json_depth: 128,
            max_memory_bytes: 1 << 30,
        }
    }
}

impl Limits {
    /// No limit at all: what a pipeline's own request starts from before it names any.
    pub const UNLIMITED: Limits = Limits {
        max_input_bytes: u64::MAX,
        max_output_bytes: u64::MAX,
        max_pixels: u64::MAX,
        max_dimension: u32::MAX,
        max_decompressed_bytes: u64::MAX,
        max_rows: u64::MAX,
        max_columns: u32::MAX,
        max_json_depth: u32::MAX,
        max_memory_bytes: u64::MAX,
    };

    /// The most bytes a streaming session takes in or gives out, under the hosts'
    /// [`streaming`](Limits::streaming) limits: 1 TiB.
    pub const STREAM_BYTES: u64 = 1 << 40;

    /// The limits a host gives a streaming session where `self` are its one-shot limits
    /// (DESIGN.md, "Streaming"): a session holds neither its input, its output, its
    /// decompressed bytes nor its rows, so those caps rise to [`Limits::STREAM_BYTES`];
    /// the caps on what is held at once (memory, and with it a record, columns, depth,
    /// pixels) stay. A pipeline's own `limits` still tighten them.
    pub fn streaming(&self) -> Limits {
        Limits {
            max_input_bytes: Limits::STREAM_BYTES,
            max_output_bytes: Limits::STREAM_BYTES,
            max_decompressed_bytes: Limits::STREAM_BYTES,
            max_rows: Limits::STREAM_BYTES,
            ..*self
        }
    }

    /// These limits with the field named `name` (its serialised name) set to `value`,
    /// saturating at the field's type; `None` for a name that is not a limit.
    pub fn with(mut self, name: &str, value: u64) -> Option<Limits> {
        let narrow = u32::try_from(value).unwrap_or(u32::MAX);
        match name {
            "max_input_bytes" => self.max_input_bytes = value,
            "max_output_bytes" => self.max_output_bytes = value,
            "max_pixels" => self.max_pixels = value,
            "max_dimension" => self.max_dimension = narrow,
            "max_decompressed_bytes" => self.max_decompressed_bytes = value,
            "max_rows" => self.max_rows = value,
            "max_columns" => self.max_columns = narrow,
            "max_json_depth" => self.max_json_depth = narrow,
            "max_memory_bytes" => self.max_memory_bytes = value,
            _ => return None,
        }
        Some(self)
    }

    /// The stricter of `self` and `other`, field by field.
    pub fn tighten(&self, other: &Limits) -> Limits {
        Limits {
            max_input_bytes: self.max_input_bytes.min(other.max_input_bytes),
            max_output_bytes: self.max_output_bytes.min(other.max_output_bytes),
            max_pixels: self.max_pixels.min(other.max_pixels),
            max_dimension: self.max_dimension.min(other.max_dimension),
            max_decompressed_bytes: self.max_decompressed_bytes.min(other.max_decompressed_bytes),
            max_rows: self.max_rows.min(other.max_rows),
            max_columns: self.max_columns.min(other.max_columns),
            max_json_depth: self.max_json_depth.min(other.max_json_depth),
            max_memory_bytes: self.max_memory_bytes.min(other.max_memory_bytes),
        }
    }

    /// Checks an image size against `max_dimension` and `max_pixels`.
    pub fn check_image(&self, width: u32, height: u32) -> crate::Result<()> {
        if width > self.max_dimension || height > self.max_dimension {
            return Err(crate::Error::too_large(format!(
                "image {width}x{height} exceeds the dimension limit of {}",
                self.max_dimension
            )));
        }
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(crate::Error::too_large(format!(
                "image {width}x{height} ({pixels} pixels) exceeds the limit of {} pixels",
                self.max_pixels
            )));
        }
        Ok(())
    }

    /// Checks that `bytes`, what the memory model says `what` holds at once, fit
    /// `max_memory_bytes`.
    pub fn check_memory(&self, bytes: u64, what: impl FnOnce() -> String) -> crate::Result<()> {
        if bytes > self.max_memory_bytes {
            return Err(crate::Error::too_large(format!(
                "{} needs about {:.1} MiB at once, over the memory limit of {:.1} MiB (max_memory_bytes)",
                what(),
                bytes as f64 / MIB,
                self.max_memory_bytes as f64 / MIB
            )));
        }
        Ok(())
    }
}
