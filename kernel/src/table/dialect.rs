//! The CSV dialect: the options of `parse_csv` and the rule for delimiter and quote
//! characters, shared by the reader and the writer.

use crate::{Error, Result};

/// Options of `parse_csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOptions {
    /// The field delimiter (`,` by default): ASCII, not the quote, not `\r` or `\n`.
    pub delimiter: u8,
    /// The quote character (`"` by default): ASCII, not `\r` or `\n`.
    pub quote: u8,
    /// Whether the first record names the columns (default `true`).
    pub header: bool,
    /// Whether cells are typed by their text (default `true`); see [`parse_csv`].
    pub infer: bool,
}

impl Default for CsvOptions {
    fn default() -> CsvOptions {
        CsvOptions {
            delimiter: b',',
            quote: b'"',
            header: true,
            infer: true,
        }
    }
}

/// A delimiter or quote must be one ASCII character other than CR and LF.
pub(super) fn check_byte(byte: u8, param: &str) -> Result<()> {
    if !byte.is_ascii() || matches!(byte, b'\r' | b'\n') {
        return Err(Error::bad_pipeline(format!(
            "the CSV {param} must be one ASCII character other than CR or LF"
        ))
        .with_param(param));
    }
    Ok(())
}
