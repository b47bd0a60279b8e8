//! `to_csv`: a table as CSV text.

use super::dialect::check_byte;
use super::write_json::{push_f64, push_i64};
use super::{Cell, Table};
use crate::choice::choices;
use crate::{Error, Result};

choices! {
    /// Which fields `to_csv` quotes.
    pub enum QuoteStyle {
        /// Only fields that need it: with the delimiter, a quote, CR or LF inside (and a
        /// record of one empty field, which would read as an empty line).
        Needed = "needed",
        /// Every field, the header's and empty ones (`""`) included.
        Always = "always",
    }
}

/// Writes a table as CSV: a header row, then one record per row.
///
/// Records end in `\n` (not RFC 4180's `\r\n`: what Unix tools and most peers write;
/// `parse_csv` reads both). Fields are quoted only when needed ([`QuoteStyle`]; see
/// [`write_csv`] for `always`).
/// `Null` is an empty field, `Bool` is `true`/`false`, `Int` is decimal, `Float` is the
/// shortest text that reads back to the same value, exactly as `to_json` writes it
/// (`1.5`, `1.0`, `1e+21`; a non-finite float, which a well-formed table never has, is
/// empty), `Str` is its text and `Json` its JSON text. A table without columns is empty
/// output. The delimiter is one ASCII character other than CR, LF and `"`
/// (`bad_pipeline` otherwise).
pub fn to_csv(table: &Table, delimiter: u8) -> Result<Vec<u8>> {
    to_csv_with_limit(table, delimiter, u64::MAX)
}

/// [`to_csv`], failing with `too_large` once the output passes `max_bytes`.
pub fn to_csv_with_limit(table: &Table, delimiter: u8, max_bytes: u64) -> Result<Vec<u8>> {
    write_csv(table, delimiter, QuoteStyle::Needed, max_bytes)
}

/// [`to_csv_with_limit`] with a choice of quoting: `always` quotes every field as
/// Python's `csv.QUOTE_ALL` does (a `Null` is `""`, like an empty string; a quote
/// inside is doubled).
pub fn write_csv(table: &Table, delimiter: u8, quote: QuoteStyle, max_bytes: u64) -> Result<Vec<u8>> {
    check_byte(delimiter, "delimiter")?;
    if delimiter == b'"' {
        return Err(Error::bad_pipeline("the CSV delimiter cannot be the quote '\"'").with_param("delimiter"));
    }
    if table.n_cols() == 0 {
        return Ok(Vec::new());
    }
    let too_large = || {
        Error::too_large(format!(
            "the CSV output is over {max_bytes} bytes: the output limit, or the memory left for the output (max_memory_bytes)"
        ))
    };
    let internal = |e: ::csv::Error| Error::internal(format!("writing CSV: {e}"));
    // A lower bound of the output: every cell has at least its separator.
    let estimate = table.n_rows().saturating_mul(table.n_cols());
    let capacity = estimate.min(usize::try_from(max_bytes).unwrap_or(usize::MAX));
    let mut writer = ::csv::WriterBuilder::new()
        .delimiter(delimiter)
        .quote_style(match quote {
            QuoteStyle::Needed => ::csv::QuoteStyle::Necessary,
            QuoteStyle::Always => ::csv::QuoteStyle::Always,
        })
        .terminator(::csv::Terminator::Any(b'\n'))
        .flexible(true)
        .from_writer(Vec::with_capacity(capacity));
    writer.write_record(table.columns()).map_err(internal)?;
    let mut scratch: Vec<u8> = Vec::with_capacity(32);
    for row in table.rows() {
        for &cell in row {
            match cell {
                Cell::Null => writer.write_field(b""),
                Cell::Bool(true) => writer.write_field(b"true"),
                Cell::Bool(false) => writer.write_field(b"false"),
                Cell::Int(i) => {
                    scratch.clear();
                    push_i64(&mut scratch, i);
                    writer.write_field(&scratch)
                }
                Cell::Float(f) if f.is_finite() => {
                    scratch.clear();
                    push_f64(&mut scratch, f);
                    writer.write_field(&scratch)
                }
                Cell::Float(_) => writer.write_field(b""),
                Cell::Str(span) | Cell::Json(span) => writer.write_field(table.text(span)),
            }
            .map_err(internal)?;
            // Checked after each field, not only each row: quoting at most doubles one.
            if writer.get_ref().len() as u64 > max_bytes {
                return Err(too_large());
            }
        }
        writer.write_record(std::iter::empty::<&[u8]>()).map_err(internal)?;
        if writer.get_ref().len() as u64 > max_bytes {
            return Err(too_large());
        }
    }
    let out = writer
        .into_inner()
        .map_err(|e| Error::internal(format!("writing CSV: {e}")))?;
    if out.len() as u64 > max_bytes {
        return Err(too_large());
    }
    Ok(out)
}
