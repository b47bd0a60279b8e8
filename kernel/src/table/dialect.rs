//! The CSV dialect: the options of `parse_csv` and the rule for delimiter and quote
//! characters, shared by the reader and the writer.

use crate::{Error, Result};

/// Options of `parse_csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOptions {
    /// The field delimiter (`,` by default): ASCII, not the quote, not `\r` or `\n`;
    /// `None` to sniff it from the first records (`delimiter=auto`).
    pub delimiter: Option<u8>,
    /// The quote character (`"` by default): ASCII, not `\r` or `\n`.
    pub quote: u8,
    /// Whether the first record names the columns (default `true`).
    pub header: bool,
    /// Whether cells are typed by their text (default `true`); see [`parse_csv`].
    pub infer: bool,
    /// Lines skipped before parsing, after a BOM (default 0).
    pub skip_lines: u64,
    /// A record starting with this character is a comment, skipped (default none).
    pub comment: Option<u8>,
}

impl Default for CsvOptions {
    fn default() -> CsvOptions {
        CsvOptions {
            delimiter: Some(b','),
            quote: b'"',
            header: true,
            infer: true,
            skip_lines: 0,
            comment: None,
        }
    }
}

/// The delimiters `delimiter=auto` tries, in this order (papaparse's list): comma, tab,
/// pipe, semicolon, and the ASCII record and unit separators.
const SNIFFED: [u8; 6] = [b',', b'\t', b'|', b';', 0x1E, 0x1F];

/// Records `delimiter=auto` looks at.
const SNIFF_RECORDS: u64 = 10;

/// Bytes `delimiter=auto` looks at, at most.
const SNIFF_BYTES: usize = 1 << 20;

/// Sniffs the delimiter of `input` (as papaparse's `guessDelimiter` does with
/// `skipEmptyLines`, since `parse_csv` skips empty lines): each
/// candidate of [`SNIFFED`] other than the quote and comment characters reads the first
/// 10 records (within the first MiB, with the quote and comment rules); the candidate
/// whose records vary least in field count (the sum of the changes from one record to
/// the next) wins, ties going to more fields per record, then to the earlier
/// candidate. A candidate needs more than 1.99 fields per record on average; when none
/// has, the delimiter is `,`.
pub(super) fn sniff_delimiter(input: &[u8], quote: u8, comment: Option<u8>) -> u8 {
    let sample = input.get(..SNIFF_BYTES).unwrap_or(input);
    // (delta, fields, records, delimiter) of the best candidate so far.
    let mut best: Option<(u64, u64, u64, u8)> = None;
    for delimiter in SNIFFED {
        if delimiter == quote || Some(delimiter) == comment {
            continue;
        }
        let mut reader = ::csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .quote(quote)
            .comment(comment)
            .has_headers(false)
            .flexible(true)
            .from_reader(sample);
        let mut record = ::csv::ByteRecord::new();
        let (mut records, mut fields, mut delta, mut previous) = (0u64, 0u64, 0u64, None);
        while records < SNIFF_RECORDS && matches!(reader.read_byte_record(&mut record), Ok(true)) {
            let width = record.len() as u64;
            if width == 0 {
                continue;
            }
            records += 1;
            fields += width;
            if let Some(p) = previous {
                delta += width.abs_diff(p);
            }
            previous = Some(width);
        }
        // Average above 1.99: fields / records > 199 / 100.
        if records == 0 || fields * 100 <= 199 * records {
            continue;
        }
        let better = match best {
            None => true,
            Some((d, f, r, _)) => delta < d || (delta == d && fields * r > f * records),
        };
        if better {
            best = Some((delta, fields, records, delimiter));
        }
    }
    best.map_or(b',', |(_, _, _, d)| d)
}

/// Whether `sniff_delimiter` on `input` gives what it gives on any longer text starting
/// with it: `input` holds the bytes it samples, or, for every candidate, 10 complete
/// records (the line break after the tenth read).
pub(super) fn sniffed_whole(input: &[u8], quote: u8, comment: Option<u8>) -> bool {
    if input.len() >= SNIFF_BYTES {
        return true;
    }
    SNIFFED
        .into_iter()
        .filter(|&d| d != quote && Some(d) != comment)
        .all(|delimiter| {
            let mut core = csv_core::ReaderBuilder::new()
                .delimiter(delimiter)
                .quote(quote)
                .comment(comment)
                .build();
            let (mut out, mut ends) = (vec![0u8; input.len() + 1], vec![0usize; input.len() + 1]);
            let (mut at, mut records) = (0, 0);
            while records < SNIFF_RECORDS {
                let (result, read, _, _) = core.read_record(&input[at..], &mut out, &mut ends);
                at += read;
                match result {
                    csv_core::ReadRecordResult::Record => records += 1,
                    _ => return false,
                }
            }
            true
        })
}

/// The offset of the text after a UTF-8 BOM and the first `lines` lines of `input`
/// (a line ends at `\n`, `\r\n` or a lone `\r`, quotes or not); the end of `input` when
/// it has no more lines.
pub(super) fn skip_lines(input: &[u8], lines: u64) -> usize {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if lines == 0 {
        return 0;
    }
    let mut at = if input.starts_with(BOM) { BOM.len() } else { 0 };
    for _ in 0..lines {
        let Some(end) = input
            .get(at..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n' || b == b'\r'))
        else {
            return input.len();
        };
        at += end;
        at += if input.get(at..at + 2) == Some(b"\r\n") { 2 } else { 1 };
    }
    at
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
