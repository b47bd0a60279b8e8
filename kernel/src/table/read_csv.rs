//! `parse_csv`: CSV text (RFC 4180, with type inference) into a table.
//!
//! Parsing runs on csv-core, the `csv` crate's parser, straight from the input
//! (`csv_records`: one reused record buffer, counted by the memory model; ragged rows
//! are this module's to judge) and builds cells straight into the table's arena: no
//! `String` per cell.

use std::collections::{HashMap, HashSet};

use super::csv_records::{Fed, Records, unclosed_quote};
pub use super::dialect::CsvOptions;
use super::dialect::{check_byte, skip_lines, sniff_delimiter, sniffed_whole};
use super::grid::Grid;
use super::infer::{Scalar, infer};
use super::{Cell, Table};
use crate::{Error, Limits, Result};

/// Parses CSV into a table.
///
/// - RFC 4180 quoting (a quote at the start of a field opens it, a doubled quote inside
///   is a literal quote); records end at `\n`, `\r\n` or `\r`; empty lines are skipped;
///   a UTF-8 BOM at the start is skipped. An unclosed quote at the end is `bad_input`.
/// - Text must be UTF-8 (`bad_input` naming the line otherwise).
/// - `header=true`: the first record names the columns; an empty name becomes
///   `column{N}` (1-based position), a repeated name gets `_2`, `_3`, ... appended.
///   A record with more fields than the header is `bad_input`.
///   `header=false`: the columns are `column1..columnN`, N the first record's fields;
///   a wider record is `bad_input` there too (the first record fixes the columns, so a
///   streaming session can write rows before the input ends). Records with fewer fields
///   are padded with `Null`.
/// - `infer=true`, per cell: empty -> `Null`; `true`/`false` (any ASCII case) -> `Bool`;
///   a number in JSON's grammar -> `Int` (no fraction or exponent, fits in i64) or
///   `Float` (finite); anything else (`007`, `+1`, ` 1`, `NaN`, `1.`, `1e400`) -> `Str`.
///   `infer=false`: every field is `Str` (an empty field is an empty `Str`).
/// - Limits (`too_large`): more than `max_rows` data rows, more than `max_columns`
///   fields in a record, or more cells (rows x columns, padding included) than the
///   input has bytes plus 2^20, or than `max_input_bytes` (every real field costs at
///   least one byte; it stops a few short rows under a wide header from padding out to
///   gigabytes).
/// - Empty input is a table with no columns and no rows.
/// - `skip_lines=N`: the first N lines (after a BOM) are dropped before parsing, whatever
///   they hold (a line ends at `\n`, `\r\n` or a lone `\r`, even inside quotes); the
///   header, if any, is the first record after them. Error messages count lines from
///   the start of the input.
/// - `comment=C`: a record whose first character is C is skipped up to the next `\n`
///   (C inside a record, or after leading spaces, is text).
/// - `delimiter=None` (`auto`): sniffed from the first 10 records, see
///   [`sniff_delimiter`](super::dialect::sniff_delimiter).
///
/// A delimiter, quote or comment character that is not ASCII or is `\r`/`\n`, or two of
/// them equal, is `bad_pipeline` (param `delimiter` / `quote` / `comment`).
pub fn parse_csv(input: &[u8], opts: &CsvOptions, limits: &Limits) -> Result<Table> {
    check_options(opts)?;
    let offset = skip_lines(input, opts.skip_lines);
    let body = input.get(offset..).unwrap_or_default();
    let delimiter = opts
        .delimiter
        .unwrap_or_else(|| sniff_delimiter(body, opts.quote, opts.comment));
    // The line of a record starting at byte `start` of the body.
    let line_of = |start: u64| line_of(input, start.saturating_add(offset as u64));

    let mut records = Records::new(body, delimiter, opts.quote, opts.comment);
    let mut arena = Table::new(Vec::new());
    arena.reserve_text(input.len());
    let mut columns: Option<Vec<String>> = None;
    // The grid's width is set by the first record (the header, or the first row).
    let mut grid = Grid::empty(limits, input.len());
    let mut first = true;
    let mut last_start = 0u64;
    let max_columns = usize::try_from(limits.max_columns).unwrap_or(usize::MAX);

    while let Some(start) =
        records.next(|bytes| grid.hold(bytes, || format!("the CSV record after line {}", line_of(last_start))))?
    {
        last_start = start;
        let width = records.len();
        if width == 0 {
            continue;
        }
        if width > max_columns {
            return Err(Error::too_large(format!(
                "CSV record at line {} has {width} fields, over the limit of {max_columns} columns",
                line_of(start)
            )));
        }
        if first {
            first = false;
            grid.widen(width)?;
            if opts.header {
                columns = Some(header_names(records.fields(), width, line_of(start))?);
                continue;
            }
        }
        if width > grid.width() {
            return Err(wider(width, grid.width(), opts.header, line_of(start)));
        }
        grid.start_row()?;
        if grid.rows() == 1 {
            reserve_for(&mut grid, input.len(), records.bytes_len() + width);
        }
        for field in records.fields() {
            let cell = typed_cell(field, opts.infer, &mut arena, || line_of(start))?;
            grid.cells.push(cell);
        }
        grid.finish_row(width);
    }
    if unclosed_quote(body, last_start, delimiter, opts.quote, opts.comment) {
        return Err(Error::bad_input(format!(
            "CSV has an unclosed quote in the record at line {}",
            line_of(last_start)
        )));
    }

    if first {
        return Ok(Table::new(Vec::new()));
    }
    let width = grid.width();
    let columns = columns.unwrap_or_else(|| (1..=width).map(|i| format!("column{i}")).collect());
    Ok(arena.into_derived_with_cells(columns, grid.finish()))
}

/// The delimiter, quote and comment characters' rules (`bad_pipeline`).
fn check_options(opts: &CsvOptions) -> Result<()> {
    check_byte(opts.quote, "quote")?;
    if let Some(delimiter) = opts.delimiter {
        check_byte(delimiter, "delimiter")?;
        if opts.quote == delimiter {
            return Err(Error::bad_pipeline("the CSV quote and delimiter must differ").with_param("quote"));
        }
    }
    if let Some(comment) = opts.comment {
        check_byte(comment, "comment")?;
        if comment == opts.quote || Some(comment) == opts.delimiter {
            return Err(
                Error::bad_pipeline("the CSV comment character must differ from the delimiter and the quote")
                    .with_param("comment"),
            );
        }
    }
    Ok(())
}

/// A field's cell (its text stored in `arena`), typed by its text with `infer`;
/// `bad_input` naming the record's `line` if the field is not UTF-8.
fn typed_cell(field: &[u8], infer_types: bool, arena: &mut Table, line: impl FnOnce() -> usize) -> Result<Cell> {
    let Ok(text) = std::str::from_utf8(field) else {
        return Err(Error::bad_input(format!(
            "CSV record at line {} is not valid UTF-8",
            line()
        )));
    };
    Ok(if infer_types {
        match infer(text) {
            Scalar::Null => Cell::Null,
            Scalar::Bool(b) => Cell::Bool(b),
            Scalar::Int(i) => Cell::Int(i),
            Scalar::Float(f) => Cell::Float(f),
            Scalar::Text => arena.str_cell(text),
        }
    } else {
        arena.str_cell(text)
    })
}

/// A record wider than the first (the header, or the first row without one).
fn wider(width: usize, columns: usize, header: bool, line: usize) -> Error {
    let first = if header { "the header" } else { "the first record" };
    Error::bad_input(format!(
        "CSV record at line {line} has {width} fields but {first} has {columns}: the first record fixes the columns"
    ))
}

/// `parse_csv` a piece at a time, for a streaming session: the same rows, cells and
/// errors as [`parse_csv`] on the whole text, however it is cut. It holds the text
/// until the dialect is known (a BOM, `skip_lines`, `delimiter=auto`'s first 10
/// records), then one record: rows go to the caller's batch as they complete.
pub(crate) struct CsvStream {
    opts: CsvOptions,
    max_rows: u64,
    max_columns: usize,
    max_record: u64,
    /// The text before the dialect is known.
    head: Vec<u8>,
    /// When to look at `head` again (it doubles, so looking stays linear).
    look_at: usize,
    delimiter: Option<u8>,
    records: Records<'static>,
    columns: Option<Vec<String>>,
    width: usize,
    rows: u64,
    /// Line breaks read so far, for messages.
    lines: usize,
}

impl CsvStream {
    /// A reader with `opts` under `limits`.
    pub(crate) fn new(opts: &CsvOptions, limits: &Limits) -> Result<CsvStream> {
        check_options(opts)?;
        Ok(CsvStream {
            opts: *opts,
            max_rows: limits.max_rows,
            max_columns: usize::try_from(limits.max_columns).unwrap_or(usize::MAX),
            max_record: limits.max_memory_bytes / 4,
            head: Vec::new(),
            look_at: 0,
            delimiter: None,
            records: Records::new(&[], b',', opts.quote, opts.comment),
            columns: None,
            width: 0,
            rows: 0,
            lines: 0,
        })
    }

    /// The columns, once the first record is read.
    pub(crate) fn columns(&self) -> Option<&[String]> {
        self.columns.as_deref()
    }

    /// Reads `chunk` (`end`: the last), adding complete rows to `batch` (a table with
    /// [`columns`](CsvStream::columns), made by the caller once they are known: call
    /// again with an empty chunk after they appear).
    pub(crate) fn push(&mut self, chunk: &[u8], end: bool, batch: &mut Option<Table>) -> Result<()> {
        if self.delimiter.is_none() {
            self.head.extend_from_slice(chunk);
            let Some((offset, delimiter)) = self.dialect(end) else {
                return Ok(());
            };
            self.delimiter = Some(delimiter);
            self.lines = self
                .head
                .get(..offset)
                .unwrap_or_default()
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.records = Records::pieces(delimiter, self.opts.quote, self.opts.comment);
            let head = std::mem::take(&mut self.head);
            return self.read(head.get(offset..).unwrap_or_default(), end, batch);
        }
        self.read(chunk, end, batch)
    }

    /// The start of the records and the delimiter, once `head` tells them for certain.
    fn dialect(&mut self, end: bool) -> Option<(usize, u8)> {
        let head = &self.head;
        if !end && head.len() < self.look_at.max(4) {
            return None;
        }
        self.look_at = head.len().saturating_mul(2);
        let offset = skip_lines(head, self.opts.skip_lines);
        // At the end of `head` a line may still be going on (or a `\r` be one of `\r\n`);
        // csv-core takes a BOM only in its first read, and no byte after it as the end.
        if !end && (offset + 4 > head.len()) {
            return None;
        }
        let body = head.get(offset..).unwrap_or_default();
        let delimiter = match self.opts.delimiter {
            Some(d) => d,
            None if end || sniffed_whole(body, self.opts.quote, self.opts.comment) => {
                sniff_delimiter(body, self.opts.quote, self.opts.comment)
            }
            None => return None,
        };
        Some((offset, delimiter))
    }

    fn read(&mut self, mut input: &[u8], end: bool, batch: &mut Option<Table>) -> Result<()> {
        loop {
            let max_record = self.max_record;
            let lines = self.lines;
            let (read, fed) = self.records.feed(input, end, |bytes| {
                if bytes > max_record {
                    return Err(Error::too_large(format!(
                        "the CSV record after line {lines} needs more than a quarter of max_memory_bytes"
                    )));
                }
                Ok(())
            })?;
            self.lines += input
                .get(..read)
                .unwrap_or_default()
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            input = input.get(read..).unwrap_or_default();
            match fed {
                Fed::Record => self.record(batch)?,
                Fed::Empty => return Ok(()),
                Fed::End => {
                    if self.records.unclosed() {
                        return Err(Error::bad_input(format!(
                            "CSV has an unclosed quote in the last record (before line {})",
                            self.lines + 1
                        )));
                    }
                    if self.columns.is_none() {
                        self.columns = Some(Vec::new());
                    }
                    return Ok(());
                }
            }
        }
    }

    fn record(&mut self, batch: &mut Option<Table>) -> Result<()> {
        let width = self.records.len();
        let line = self.lines;
        if width == 0 {
            return Ok(());
        }
        if width > self.max_columns {
            return Err(Error::too_large(format!(
                "CSV record at line {line} has {width} fields, over the limit of {} columns",
                self.max_columns
            )));
        }
        if self.columns.is_none() {
            self.width = width;
            if self.opts.header {
                self.columns = Some(header_names(self.records.fields(), width, line)?);
                return Ok(());
            }
            self.columns = Some((1..=width).map(|i| format!("column{i}")).collect());
        }
        if width > self.width {
            return Err(wider(width, self.width, self.opts.header, line));
        }
        if self.rows >= self.max_rows {
            return Err(Error::too_large(format!(
                "the table has more than the limit of {} rows",
                self.max_rows
            )));
        }
        self.rows += 1;
        let table = batch.get_or_insert_with(|| Table::new(self.columns.clone().unwrap_or_default()));
        for field in self.records.fields() {
            let cell = typed_cell(field, self.opts.infer, table, || line)?;
            table.push_cell(cell);
        }
        for _ in width..self.width {
            table.push_cell(Cell::Null);
        }
        Ok(())
    }
}

/// Reserves cells for the rows the input likely holds, judged by the first data row
/// (`row_bytes` long); capped so an odd first row cannot reserve far more than needed.
fn reserve_for(grid: &mut Grid, input_len: usize, row_bytes: usize) {
    let rows = input_len / row_bytes.max(1) + 1;
    let rows = rows.min(usize::try_from(grid.max_rows).unwrap_or(usize::MAX));
    let cells = rows
        .saturating_mul(grid.width())
        .saturating_add(rows / 16)
        .min(input_len / 2 + grid.width());
    grid.cells.reserve(cells);
}

/// Column names from a header record: empty -> `column{N}`, repeats -> `_2`, `_3`, ...
fn header_names<'a>(fields: impl Iterator<Item = &'a [u8]>, width: usize, line: usize) -> Result<Vec<String>> {
    let mut seen: HashSet<String> = HashSet::with_capacity(width);
    // Per name, the next suffix to try: 16384 copies of one name cost linear time, not
    // quadratic.
    let mut next: HashMap<String, u64> = HashMap::new();
    let mut names = Vec::with_capacity(width);
    for (i, field) in fields.enumerate() {
        let Ok(name) = std::str::from_utf8(field) else {
            return Err(Error::bad_input(format!(
                "CSV header at line {line} is not valid UTF-8"
            )));
        };
        let base = if name.is_empty() {
            format!("column{}", i + 1)
        } else {
            name.to_owned()
        };
        let unique = if seen.contains(&base) {
            let n = next.entry(base.clone()).or_insert(2);
            loop {
                let candidate = format!("{base}_{n}");
                *n += 1;
                if !seen.contains(&candidate) {
                    break candidate;
                }
            }
        } else {
            base
        };
        seen.insert(unique.clone());
        names.push(unique);
    }
    Ok(names)
}

/// The 1-based line of the record that starts at byte `start` (line breaks before the
/// record's first byte, skipped as empty lines, are not its line).
fn line_of(input: &[u8], start: u64) -> usize {
    let start = usize::try_from(start).unwrap_or(usize::MAX).min(input.len());
    let first = input
        .get(start..)
        .and_then(|rest| rest.iter().position(|&b| b != b'\n' && b != b'\r'))
        .map_or(input.len(), |p| start + p);
    1 + input
        .get(..first)
        .map_or(0, |head| head.iter().filter(|&&b| b == b'\n').count())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ErrorCode;
    use crate::table::write_csv::{to_csv, to_csv_with_limit};

    /// The cells of a table as short strings: `null`, `true`, `i:3`, `f:1.5`, `s:abc`,
    /// `j:[1]`.
    pub(crate) fn show(t: &Table) -> Vec<Vec<String>> {
        t.rows()
            .map(|row| {
                row.iter()
                    .map(|&c| match c {
                        Cell::Null => "null".to_owned(),
                        Cell::Bool(b) => b.to_string(),
                        Cell::Int(i) => format!("i:{i}"),
                        Cell::Float(f) => format!("f:{f:?}"),
                        Cell::Str(s) => format!("s:{}", t.text(s)),
                        Cell::Json(s) => format!("j:{}", t.text(s)),
                    })
                    .collect()
            })
            .collect()
    }

    fn parse(input: &str) -> Table {
        parse_with(input, &CsvOptions::default()).unwrap()
    }

    fn parse_with(input: &str, opts: &CsvOptions) -> Result<Table> {
        parse_csv(input.as_bytes(), opts, &Limits::default())
    }

    fn cols(t: &Table) -> Vec<&str> {
        t.columns().iter().map(String::as_str).collect()
    }

    fn raw() -> CsvOptions {
        CsvOptions {
            infer: false,
            ..CsvOptions::default()
        }
    }

    #[test]
    fn rfc4180_quoting() {
        let input = "name,note,n\n\"Smith, J\",\"said \"\"hi\"\"\nthen left\",1\nplain,\"\",2\n";
        let t = parse(input);
        assert_eq!(cols(&t), ["name", "note", "n"]);
        assert_eq!(
            show(&t),
            [
                ["s:Smith, J", "s:said \"hi\"\nthen left", "i:1"],
                ["s:plain", "null", "i:2"],
            ]
        );
        // A quote inside an unquoted field is literal; text after a closing quote is kept.
        let t = parse_with("a,b\nx\"y,\"p\"q\n", &raw()).unwrap();
        assert_eq!(show(&t), [["s:x\"y", "s:pq"]]);
    }

    #[test]
    fn crlf_blank_lines_and_missing_final_newline() {
        let t = parse("a,b\r\n1,2\r\n\r\n\n3,4");
        assert_eq!(show(&t), [["i:1", "i:2"], ["i:3", "i:4"]]);
    }

    #[test]
    fn custom_delimiter_and_quote() {
        let semi = CsvOptions {
            delimiter: Some(b';'),
            ..CsvOptions::default()
        };
        let t = parse_with("a;b\n\"x;y\";1,5\n", &semi).unwrap();
        assert_eq!(show(&t), [["s:x;y", "s:1,5"]]);

        let tab = CsvOptions {
            delimiter: Some(b'\t'),
            ..CsvOptions::default()
        };
        let t = parse_with("a\tb\none, two\t2.5\n", &tab).unwrap();
        assert_eq!(cols(&t), ["a", "b"]);
        assert_eq!(show(&t), [["s:one, two", "f:2.5"]]);

        let single = CsvOptions {
            quote: b'\'',
            ..CsvOptions::default()
        };
        let t = parse_with("a,b\n'x,''y''',\"z\"\n", &single).unwrap();
        assert_eq!(show(&t), [["s:x,'y'", "s:\"z\""]]);

        let odd = CsvOptions {
            delimiter: Some(b'"'),
            quote: b'\'',
            ..CsvOptions::default()
        };
        let t = parse_with("a\"b\n'1\"2'\"3\n", &odd).unwrap();
        assert_eq!(show(&t), [["s:1\"2", "i:3"]]);
    }

    #[test]
    fn bad_options_are_bad_pipeline() {
        for (delimiter, quote) in [(b'"', b'"'), (b'\n', b'"'), (b',', b'\r'), (0xC3, b'"'), (b';', b';')] {
            let opts = CsvOptions {
                delimiter: Some(delimiter),
                quote,
                ..CsvOptions::default()
            };
            let e = parse_with("a\n", &opts).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadPipeline, "{delimiter} {quote}");
        }
        assert_eq!(
            to_csv(&Table::new(vec!["a".into()]), b'"').unwrap_err().code,
            ErrorCode::BadPipeline
        );
    }

    fn with(f: impl FnOnce(&mut CsvOptions)) -> CsvOptions {
        let mut opts = CsvOptions::default();
        f(&mut opts);
        opts
    }

    #[test]
    fn sniffed_delimiters() {
        use crate::table::dialect::sniff_delimiter;
        // Each of these (and the two with a comment character and 110 records below) was
        // also given to papaparse 5.7.1's `Papa.parse(text, {delimiter: '', skipEmptyLines:
        // true})` by hand: the same answers. (Without skipEmptyLines papaparse counts the
        // empty record after a final newline, and guesses `,` for "a\tb\n1\t2\n";
        // parse_csv skips empty lines, so it sniffs as papaparse does when it skips
        // them too.)
        let cases: &[(&str, u8)] = &[
            ("a,b,c\n1,2,3\n", b','),
            ("a;b;c\n1;2,5;3\n4;5;6\n", b';'),
            ("a\tb\n1\t2\n", b'\t'),
            ("a|b|c\n1|2|3\n", b'|'),
            ("a\x1eb\n1\x1e2\n", 0x1E),
            ("a\x1fb\n1\x1f2\n", 0x1F),
            // Commas inside quotes do not count.
            ("\"x,y\";b\n\"1,2\";3\n", b';'),
            // One column: no candidate has 2 fields a record: `,`.
            ("abc\ndef\n", b','),
            ("", b','),
            // Equal deltas: more fields wins (3 commas-fields over 2 semicolon-fields).
            ("a,b;c,d\n1,2;3,4\n", b','),
            ("a;b,c;d;e\n1;2,3;4;5\n", b';'),
            // Consistent field counts beat more fields that vary.
            ("a;b\n1,2,3;4\n5;6\n7,8;9\n", b';'),
            ("a,b,c;x\n1,2,3,4;y\n5,6,7;z\n", b';'),
            ("a;x,b\n1;y,2\n3;z\n", b';'),
            ("a|b|c\n1|2\n3|4|5\n6,7\n", b'|'),
            ("a\tb\tc\n1\t2\n\n3\t4\t5\n", b'\t'),
        ];
        for &(input, want) in cases {
            assert_eq!(sniff_delimiter(input.as_bytes(), b'"', None), want, "{input:?}");
        }
        // The comment character and the quote are never candidates; comment lines do not count.
        assert_eq!(sniff_delimiter(b"#a,b,c,d\na;b\n1;2\n", b'"', Some(b'#')), b';');
        assert_eq!(sniff_delimiter(b"a|b\n1|2\n", b'|', None), b',');
        // Only the first 10 records count.
        let mut input = "a;b\n".repeat(10);
        input.push_str(&"1,2,3,4\n".repeat(100));
        assert_eq!(sniff_delimiter(input.as_bytes(), b'"', None), b';');
        let t = parse_with("x;y\n1;2\n", &with(|o| o.delimiter = None)).unwrap();
        assert_eq!(cols(&t), ["x", "y"]);
        assert_eq!(show(&t), [["i:1", "i:2"]]);
    }

    #[test]
    fn skip_lines_comment_and_bom() {
        // A quote in a skipped line opens nothing.
        let t = parse_with("title\n\"a,\nb,c\n1,2\n", &with(|o| o.skip_lines = 2)).unwrap();
        assert_eq!(cols(&t), ["b", "c"]);
        assert_eq!(show(&t), [["i:1", "i:2"]]);
        // Lines end at \n, \r\n or \r; a BOM before them is not a line.
        for input in [
            "x\ny\na\n1\n",
            "x\r\ny\r\na\r\n1\r\n",
            "x\ry\ra\r1",
            "\u{feff}x\ny\na\n1\n",
        ] {
            let t = parse_with(input, &with(|o| o.skip_lines = 2)).unwrap();
            assert_eq!(
                (cols(&t), show(&t)),
                (vec!["a"], vec![vec!["i:1".to_owned()]]),
                "{input:?}"
            );
        }
        for n in [5, 6, u64::from(u32::MAX)] {
            let t = parse_with("a\n1\n2\n3\n", &with(|o| o.skip_lines = n)).unwrap();
            assert_eq!((t.n_cols(), t.n_rows()), (0, 0), "{n}");
        }
        let t = parse_with("a\n1\n2\n3\n", &with(|o| o.skip_lines = 3)).unwrap();
        assert_eq!((cols(&t), t.n_rows()), (vec!["3"], 0));
        // Error lines count from the start of the input.
        let e = parse_with("skip\nskip\na\n1,2\n", &with(|o| o.skip_lines = 2)).unwrap_err();
        assert!(e.message.contains("line 4"), "{}", e.message);
        let e = parse_with("skip\na\n\"1\n", &with(|o| o.skip_lines = 1)).unwrap_err();
        assert!(
            e.message.contains("line 3") && e.message.contains("unclosed"),
            "{}",
            e.message
        );

        let hash = with(|o| o.comment = Some(b'#'));
        let t = parse_with("# about\na,b\n1,#2\n#3,4\n # 5,6\n", &hash).unwrap();
        assert_eq!(show(&t), [["i:1", "s:#2"], ["s: # 5", "i:6"]]);
        // A quote in a comment line after the last record is no unclosed quote.
        let t = parse_with("a\n1\n# it's \"quoted\n", &hash).unwrap();
        assert_eq!(show(&t), [["i:1"]]);
        let e = parse_with("a\n\"1\n# x\n", &hash).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        for (comment, delimiter, quote) in [(b'"', Some(b','), b'"'), (b',', Some(b','), b'"'), (b'\n', None, b'"')] {
            let opts = with(|o| {
                o.comment = Some(comment);
                o.delimiter = delimiter;
                o.quote = quote;
            });
            let e = parse_with("a\n", &opts).unwrap_err();
            assert_eq!((e.code, e.param.as_deref()), (ErrorCode::BadPipeline, Some("comment")));
        }

        // A BOM is ignored, header or not.
        let t = parse("\u{feff}id,x\n1,2\n");
        assert_eq!(cols(&t), ["id", "x"]);
        let t = parse_with("\u{feff}1,2\n", &with(|o| o.header = false)).unwrap();
        assert_eq!(show(&t), [["i:1", "i:2"]]);
    }

    #[test]
    fn header_names_of_many_copies_are_linear() {
        // 16384 copies of one name (issue 18: the suffix search was quadratic).
        let input = vec!["a"; 16384].join(",") + "\n";
        let t = parse(&input);
        assert_eq!(t.columns()[16383], "a_16384");
        assert_eq!(t.columns().iter().collect::<HashSet<_>>().len(), 16384);
    }

    #[test]
    fn header_names() {
        let t = parse("a,,a,b,a,column2,\n1,2,3,4,5,6,7\n");
        assert_eq!(cols(&t), ["a", "column2", "a_2", "b", "a_3", "column2_2", "column7"]);
        let t = parse("x,x,x_2\n");
        assert_eq!(cols(&t), ["x", "x_2", "x_2_2"]);
        assert_eq!(t.n_rows(), 0);
    }

    #[test]
    fn no_header_takes_the_first_records_width() {
        let opts = CsvOptions {
            header: false,
            ..CsvOptions::default()
        };
        // The first record fixes the columns (so a stream can write rows before the
        // last is read): shorter rows are padded, a wider one is bad_input.
        let t = parse_with("1,2,3\n3\n4,5,6\n7,8\n", &opts).unwrap();
        assert_eq!(cols(&t), ["column1", "column2", "column3"]);
        assert_eq!(
            show(&t),
            [
                ["i:1", "i:2", "i:3"],
                ["i:3", "null", "null"],
                ["i:4", "i:5", "i:6"],
                ["i:7", "i:8", "null"],
            ]
        );
        let e = parse_with("1,2\n3\n4,5,6\n", &opts).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        assert!(e.message.contains("line 3"), "{}", e.message);
        let t = parse_with("a,b\n", &opts).unwrap();
        assert_eq!(cols(&t), ["column1", "column2"]);
        assert_eq!(show(&t), [["s:a", "s:b"]]);
    }

    #[test]
    fn ragged_rows() {
        let t = parse("a,b,c\n1\n1,2\n");
        assert_eq!(show(&t), [["i:1", "null", "null"], ["i:1", "i:2", "null"]]);
        // Padding is Null even without inference.
        let t = parse_with("a,b\nx\n", &raw()).unwrap();
        assert_eq!(show(&t), [["s:x", "null"]]);

        let e = parse_with("a,b\n1,2\n\"multi\nline\",2\n1,2,3\n", &CsvOptions::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        assert!(e.message.contains("line 5"), "{}", e.message);
        assert!(e.message.contains("3 fields"), "{}", e.message);
    }

    #[test]
    fn inference() {
        let cases: &[(&str, &str)] = &[
            ("", "null"),
            ("true", "true"),
            ("FALSE", "false"),
            ("True", "true"),
            ("yes", "s:yes"),
            ("0", "i:0"),
            ("-0", "i:0"),
            ("42", "i:42"),
            ("-17", "i:-17"),
            ("9223372036854775807", "i:9223372036854775807"),
            ("-9223372036854775808", "i:-9223372036854775808"),
            ("9223372036854775808", "f:9.223372036854776e18"),
            ("1.5", "f:1.5"),
            ("-0.25", "f:-0.25"),
            ("1.0", "f:1.0"),
            ("1e3", "f:1000.0"),
            ("2E-2", "f:0.02"),
            ("1e+2", "f:100.0"),
            ("1e400", "s:1e400"),
            ("007", "s:007"),
            ("+1", "s:+1"),
            (" 1", "s: 1"),
            ("1 ", "s:1 "),
            ("NaN", "s:NaN"),
            ("inf", "s:inf"),
            ("1.", "s:1."),
            (".5", "s:.5"),
            ("1e", "s:1e"),
            ("-", "s:-"),
            ("0x10", "s:0x10"),
            ("1_000", "s:1_000"),
            ("héllo", "s:héllo"),
        ];
        let mut input = String::from("v\n");
        for (text, _) in cases {
            input.push_str(&format!("\"{text}\"\n"));
        }
        let t = parse(&input);
        let got: Vec<String> = show(&t).into_iter().map(|mut r| r.remove(0)).collect();
        let want: Vec<&str> = cases.iter().map(|(_, w)| *w).collect();
        assert_eq!(got, want);

        let t = parse_with(&input, &raw()).unwrap();
        let got: Vec<String> = show(&t).into_iter().map(|mut r| r.remove(0)).collect();
        let want: Vec<String> = cases.iter().map(|(text, _)| format!("s:{text}")).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn bom_is_skipped() {
        let t = parse("\u{feff}a,b\n1,2\n");
        assert_eq!(cols(&t), ["a", "b"]);
        let t = parse("\u{feff}\"q\",b\n1,2\n");
        assert_eq!(cols(&t), ["q", "b"]);
        // Only at the start.
        let t = parse("a,b\n\u{feff}x,2\n");
        assert_eq!(show(&t), [["s:\u{feff}x", "i:2"]]);
    }

    #[test]
    fn unclosed_quote_is_bad_input() {
        for input in [
            "a,b\n1,\"abc",
            "a,b\n1,\"abc\n2,3\n",
            "\"a",
            "a\n\"x\"\"",
            "\u{feff}\"a,b\n",
            "a,\"b\nc,d",
        ] {
            let e = parse_with(input, &CsvOptions::default()).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadInput, "{input:?}");
        }
        let e = parse_with("a,b\n1,2\n3,\"x\ny", &CsvOptions::default()).unwrap_err();
        assert!(e.message.contains("line 3"), "{}", e.message);
        // Closed quotes, escaped quotes and quotes inside unquoted fields are fine.
        for input in ["a\n\"x\"\"\"", "a\n\"\"", "a\nx\"", "a\n\"x\"y\"", "a\n\"x\"\n"] {
            parse_with(input, &CsvOptions::default()).unwrap();
        }
        let quote = CsvOptions {
            quote: b'\'',
            ..CsvOptions::default()
        };
        assert_eq!(parse_with("a\n'x", &quote).unwrap_err().code, ErrorCode::BadInput);
        assert_eq!(show(&parse_with("a\n\"x", &quote).unwrap()), [["s:\"x"]]);
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let e = parse_csv(b"a,b\n1,2\n3,\xff\n", &CsvOptions::default(), &Limits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        assert!(e.message.contains("line 3"), "{}", e.message);
        let e = parse_csv(b"a,\xc3\n", &CsvOptions::default(), &Limits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
    }

    #[test]
    fn empty_inputs() {
        let t = parse("");
        assert_eq!((t.n_cols(), t.n_rows()), (0, 0));
        let t = parse("\n\r\n");
        assert_eq!((t.n_cols(), t.n_rows()), (0, 0));
        let t = parse("\u{feff}");
        assert_eq!((t.n_cols(), t.n_rows()), (0, 0));
        let opts = CsvOptions {
            header: false,
            ..CsvOptions::default()
        };
        let t = parse_with("", &opts).unwrap();
        assert_eq!((t.n_cols(), t.n_rows()), (0, 0));
        let t = parse("a,b\n");
        assert_eq!((cols(&t), t.n_rows()), (vec!["a", "b"], 0));
    }

    #[test]
    fn limits_are_too_large() {
        let limits = Limits {
            max_rows: 2,
            max_columns: 3,
            ..Limits::default()
        };
        let p = |s: &str, header| {
            let opts = CsvOptions {
                header,
                ..CsvOptions::default()
            };
            parse_csv(s.as_bytes(), &opts, &limits)
        };
        assert_eq!(p("a\n1\n2\n", true).unwrap().n_rows(), 2);
        assert_eq!(p("a\n1\n2\n3\n", true).unwrap_err().code, ErrorCode::TooLarge);
        assert_eq!(p("1\n2\n3\n", false).unwrap_err().code, ErrorCode::TooLarge);
        assert_eq!(p("a,b,c\n", true).unwrap().n_cols(), 3);
        assert_eq!(p("a,b,c,d\n", true).unwrap_err().code, ErrorCode::TooLarge);
        assert_eq!(p("1\n1,2,3,4\n", false).unwrap_err().code, ErrorCode::TooLarge);

        // Short rows under a wide header cannot pad out past the cell cap.
        let limits = Limits {
            max_input_bytes: 1000,
            ..Limits::default()
        };
        let header: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
        let mut input = header.join(",") + "\n";
        input.push_str(&"x\n".repeat(10));
        assert_eq!(
            parse_csv(input.as_bytes(), &CsvOptions::default(), &limits)
                .unwrap()
                .n_rows(),
            10
        );
        input.push_str("x\n");
        let e = parse_csv(input.as_bytes(), &CsvOptions::default(), &limits).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        // Issue 18: 64 KB (8192 names, then 8192 lines of `1`) used to pad out to 67 M
        // cells (1 GB) under the default limits; cells are capped by the input's size.
        let names: Vec<String> = (0..8192).map(|i| format!("c{i}")).collect();
        let input = names.join(",") + "\n" + &"1\n".repeat(8192);
        let e = parse_csv(input.as_bytes(), &CsvOptions::default(), &Limits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge, "{e}");
        // Padding up to 2^20 cells beyond the input's size is still a table.
        let input = names[..1000].join(",") + "\n" + &"1\n".repeat(1000);
        let t = parse_csv(input.as_bytes(), &CsvOptions::default(), &Limits::default()).unwrap();
        assert_eq!((t.n_rows(), t.n_cols()), (1000, 1000));
    }

    #[test]
    fn to_csv_writes_every_cell_kind() {
        let mut t = Table::new(vec!["a".into(), "b,c".into(), "d".into()]);
        let s1 = t.str_cell("x,y");
        let s2 = t.str_cell("say \"hi\"\nnow");
        let j = t.json_cell("{\"k\":[1,2]}");
        t.push_row(&[Cell::Null, Cell::Bool(true), Cell::Int(-12)]);
        t.push_row(&[Cell::Float(1.0), Cell::Float(1e21), Cell::Float(0.1)]);
        t.push_row(&[s1, s2, j]);
        t.push_row(&[Cell::Float(-2.5e-7), Cell::Bool(false), Cell::Float(f64::NAN)]);
        let out = String::from_utf8(to_csv(&t, b',').unwrap()).unwrap();
        assert_eq!(
            out,
            "a,\"b,c\",d\n,true,-12\n1.0,1e+21,0.1\n\"x,y\",\"say \"\"hi\"\"\nnow\",\"{\"\"k\"\":[1,2]}\"\n-2.5e-7,false,\n"
        );
        let out = String::from_utf8(to_csv(&t, b'\t').unwrap()).unwrap();
        assert!(out.starts_with("a\tb,c\td\n\ttrue\t-12\n"), "{out}");
    }

    #[test]
    fn to_csv_edge_tables() {
        assert_eq!(to_csv(&Table::default(), b',').unwrap(), b"");
        // A lone empty field is quoted so the record is not a blank line.
        let mut t = Table::new(vec!["a".into()]);
        t.push_row(&[Cell::Null]);
        t.push_row(&[Cell::Int(1)]);
        let out = to_csv(&t, b',').unwrap();
        assert_eq!(out, b"a\n\"\"\n1\n");
        let back = parse_csv(&out, &CsvOptions::default(), &Limits::default()).unwrap();
        assert_eq!(show(&back), [["null"], ["i:1"]]);
        assert_eq!(to_csv_with_limit(&t, b',', 4).unwrap_err().code, ErrorCode::TooLarge);
        assert_eq!(to_csv_with_limit(&t, b',', 7).unwrap().len(), 7);
    }

    /// A deterministic table with every cell kind and awkward text.
    fn generated(rows: usize) -> Table {
        let columns = ["id", "name", "score", "ok", "note", "blob", "empty"];
        let mut t = Table::new(columns.iter().map(|c| (*c).to_owned()).collect());
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let texts = [
            "plain",
            "comma, inside",
            "quote \" inside",
            "multi\nline",
            "crlf\r\nline",
            "tab\tsep",
            "ünïcödé ✓",
            "x007",
            " padded ",
            "semi;colon",
        ];
        let floats = [
            1.0,
            0.1,
            -2.5,
            1e21,
            1.5e-7,
            123456.789,
            -0.0,
            5e-324,
            1.7976931348623157e308,
        ];
        for i in 0..rows {
            let r = next();
            let id = Cell::Int(match i {
                0 => i64::MIN,
                1 => i64::MAX,
                _ => (r % 2_000_001) as i64 - 1_000_000,
            });
            let name = t.str_cell(texts[(r >> 8) as usize % texts.len()]);
            let score = match (r >> 16) % 4 {
                0 => Cell::Null,
                _ => {
                    let f = floats[(r >> 20) as usize % floats.len()];
                    Cell::Float(if f > 1e300 { f } else { f * ((r >> 40) % 7 + 1) as f64 })
                }
            };
            let ok = match (r >> 24) % 3 {
                0 => Cell::Bool(true),
                1 => Cell::Bool(false),
                _ => Cell::Null,
            };
            let note = t.str_cell(&format!("n{}-{}", i, texts[(r >> 32) as usize % texts.len()]));
            let blob = t.json_cell(&format!("{{\"k\":[{},\"v\\\"\"]}}", r % 100));
            t.push_row(&[id, name, score, ok, note, blob, Cell::Null]);
        }
        t
    }

    #[test]
    fn csv_json_csv_round_trip() {
        let original = generated(500);
        let csv0 = to_csv(&original, b',').unwrap();
        let t1 = parse_csv(&csv0, &CsvOptions::default(), &Limits::default()).unwrap();
        assert_eq!(t1.columns(), original.columns());
        assert_eq!(t1.n_rows(), 500);
        // Only `Json` cells change kind (CSV has no nested values): they come back as text.
        let shown: Vec<Vec<String>> = show(&original)
            .into_iter()
            .map(|row| row.into_iter().map(|c| c.replacen("j:", "s:", 1)).collect())
            .collect();
        assert_eq!(show(&t1), shown);
        let csv1 = to_csv(&t1, b',').unwrap();
        assert_eq!(csv1, csv0);

        for (ndjson, pretty) in [(false, false), (false, true), (true, false)] {
            let json = crate::table::write_json::to_json(&t1, ndjson, pretty);
            let t2 = crate::table::read_json::parse_json(&json, &Limits::default()).unwrap();
            assert_eq!(show(&t2), show(&t1));
            assert_eq!(to_csv(&t2, b',').unwrap(), csv0);
        }

        // The same through other delimiters.
        for delimiter in [b';', b'\t', b'|'] {
            let text = to_csv(&original, delimiter).unwrap();
            let opts = CsvOptions {
                delimiter: Some(delimiter),
                ..CsvOptions::default()
            };
            let back = parse_csv(&text, &opts, &Limits::default()).unwrap();
            assert_eq!(show(&back), show(&t1));
        }
    }

    #[test]
    fn differential_against_csv_crate_without_inference() {
        // Same records as the csv crate reading with default settings.
        let input = to_csv(&generated(200), b',').unwrap();
        let t = parse_csv(&input, &raw(), &Limits::default()).unwrap();
        let mut reader = ::csv::Reader::from_reader(input.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(t.columns(), header.as_slice());
        let records: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(|f| format!("s:{f}")).collect())
            .collect();
        assert_eq!(show(&t), records);
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let samples: [&[u8]; 10] = [
            b"\"",
            b"\"\"\"",
            b",,,\n,,,,,,",
            b"\r\r\r",
            b"\xef\xbb",
            b"\xef\xbb\xbf\xef\xbb\xbf",
            b"a\n\"\n\"\n\"",
            b"\x00,\x01\n",
            b"a,b\n\"x\"\"y\"z\",\"",
            b"\n\n\n\"a",
        ];
        for input in samples {
            for header in [true, false] {
                for infer in [true, false] {
                    let opts = CsvOptions {
                        header,
                        infer,
                        ..CsvOptions::default()
                    };
                    if let Ok(t) = parse_csv(input, &opts, &Limits::default()) {
                        let _ = to_csv(&t, b',');
                    }
                }
            }
        }
    }
}
