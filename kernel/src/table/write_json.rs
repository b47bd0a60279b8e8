//! `to_json`: a table as a JSON array of objects or NDJSON.

use serde_json::ser::{CompactFormatter, Formatter};

use super::{Cell, Table};
use crate::choice::choices;
use crate::{Error, Result, json_text};

choices! {
    /// The layout `to_json` writes.
    pub enum JsonLayout {
        /// One JSON array of objects.
        Array = "array",
        /// One object per line.
        Ndjson = "ndjson",
    }
}

/// Writes a table as JSON: an array of objects, or NDJSON (one object per line).
///
/// Keys are in column order; `Null` -> `null`; `Json` cells are embedded as JSON (not
/// as strings); floats are written as serde_json writes them (shortest round-trip:
/// `1.0`, `1.5`, `1e+21`). `ndjson=false`: one array, no trailing newline; `pretty`
/// lays it out like `serde_json::to_writer_pretty` (2-space indent, `"key": value`,
/// embedded `Json` cells re-indented to match). `ndjson=true`: each row is one minified
/// object followed by `\n`; `pretty` is ignored. An empty table is `[]` (array) or
/// empty output (NDJSON).
///
/// Output size is not bounded here; a host under a byte limit uses
/// [`to_json_with_limit`].
pub fn to_json(table: &Table, ndjson: bool, pretty: bool) -> Vec<u8> {
    // With no limit, writing cannot fail.
    to_json_with_limit(table, ndjson, pretty, u64::MAX).unwrap_or_default()
}

/// [`to_json`], failing with `too_large` once the output passes `max_bytes`.
pub fn to_json_with_limit(table: &Table, ndjson: bool, pretty: bool, max_bytes: u64) -> Result<Vec<u8>> {
    let pretty = pretty && !ndjson;
    let too_large = || {
        Error::too_large(format!(
            "the JSON output is over {max_bytes} bytes: the output limit, or the memory left for the output (max_memory_bytes)"
        ))
    };
    // `"key":` (or `"key": `) once per column, not once per cell.
    let keys: Vec<Vec<u8>> = table
        .columns()
        .iter()
        .map(|name| {
            let mut key = Vec::with_capacity(name.len() + 4);
            push_json_str(&mut key, name);
            key.extend_from_slice(if pretty { b": " } else { b":" });
            key
        })
        .collect();
    let key_bytes: usize = keys.iter().map(Vec::len).sum();
    // A lower bound of the output (every cell is at least its key, a byte of value and a
    // separator), so the reservation never exceeds what is written.
    let estimate = table.n_rows().saturating_mul(
        key_bytes
            .saturating_add(table.n_cols().saturating_mul(2))
            .saturating_add(2),
    );
    let mut out = Vec::with_capacity(estimate.min(usize::try_from(max_bytes).unwrap_or(usize::MAX)));

    if !ndjson {
        out.push(b'[');
    }
    for (i, row) in table.rows().enumerate() {
        if pretty {
            out.extend_from_slice(if i == 0 { b"\n  {" } else { b",\n  {" });
        } else if !ndjson && i > 0 {
            out.push(b',');
        }
        if !pretty {
            out.push(b'{');
        }
        for (j, (&cell, key)) in row.iter().zip(&keys).enumerate() {
            if pretty {
                out.extend_from_slice(if j == 0 { b"\n    " } else { b",\n    " });
            } else if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            match cell {
                Cell::Null => out.extend_from_slice(b"null"),
                Cell::Bool(true) => out.extend_from_slice(b"true"),
                Cell::Bool(false) => out.extend_from_slice(b"false"),
                Cell::Int(v) => push_i64(&mut out, v),
                Cell::Float(v) => push_f64(&mut out, v),
                Cell::Str(span) => {
                    // Escaping may grow a string six times: a cell that would pass the
                    // limit is refused before it is written, not after its row.
                    let text = table.text(span);
                    let room = max_bytes.saturating_sub(out.len() as u64);
                    if (text.len() as u64).saturating_mul(6) + 2 > room && json_str_len(text) > room {
                        return Err(too_large());
                    }
                    push_json_str(&mut out, text);
                }
                Cell::Json(span) if pretty => {
                    json_text::write_pretty(&mut out, table.text(span).as_bytes(), 2, max_bytes)?;
                }
                Cell::Json(span) => {
                    let text = table.text(span).as_bytes();
                    if (out.len() + text.len()) as u64 > max_bytes {
                        return Err(too_large());
                    }
                    out.extend_from_slice(text);
                }
            }
        }
        if pretty {
            out.extend_from_slice(b"\n  }");
        } else {
            out.push(b'}');
        }
        if ndjson {
            out.push(b'\n');
        }
        if out.len() as u64 > max_bytes {
            return Err(too_large());
        }
    }
    if !ndjson {
        out.extend_from_slice(if pretty && table.n_rows() > 0 { b"\n]" } else { b"]" });
    }
    if out.len() as u64 > max_bytes {
        return Err(too_large());
    }
    Ok(out)
}

/// Appends an i64 in decimal.
pub(super) fn push_i64(out: &mut Vec<u8>, v: i64) {
    // Writing into a Vec cannot fail.
    let _ = CompactFormatter.write_i64(out, v);
}

/// Appends a float as serde_json writes it (ryu's shortest round-trip form, `1.0` for
/// integral values); `null` for a non-finite value, which a well-formed table never has.
pub(super) fn push_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        // Writing into a Vec cannot fail.
        let _ = CompactFormatter.write_f64(out, v);
    } else {
        out.extend_from_slice(b"null");
    }
}

/// The bytes [`push_json_str`] appends for `s`.
pub(super) fn json_str_len(s: &str) -> u64 {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0C => 2,
            0x00..=0x1F => 6,
            _ => 1,
        })
        .sum::<u64>()
}

/// Appends `s` as a JSON string, escaped exactly as serde_json escapes it: `\"`, `\\`,
/// `\b \f \n \r \t`, other control characters as `\u00XX`; everything else as is.
pub(super) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0C => b"\\f",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xF)]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}
