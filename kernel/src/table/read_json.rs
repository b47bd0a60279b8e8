//! `parse_json`: a JSON array of objects, or NDJSON, into a table.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::grid::Grid;
use super::{Cell, Table};
use crate::{Error, Limits, Result, json_text};

/// The deepest nesting `parse_json` reads (the array of rows counts as one level):
/// serde_json's recursion limit when it builds values. A larger `max_json_depth` is
/// capped to it.
pub const MAX_DEPTH: u32 = 127;

/// The rows whose keys make the columns: a later row with another key is `bad_input`.
/// Rows can then be written before the last is read (a streaming session holds these
/// rows, then one at a time).
pub const KEY_ROWS: usize = 100;

/// Parses rows of JSON objects into a table.
///
/// The input is a JSON array of objects (its first non-whitespace byte is `[`) or
/// NDJSON: a stream of objects, normally one per line (blank lines are fine; like
/// serde_json's `StreamDeserializer`, objects may also span lines or share one). The
/// columns are the union of the keys of the first [`KEY_ROWS`] rows, in first-seen
/// order; a later row with a key outside them is `bad_input`; a missing key is `Null`;
/// a key repeated within one object keeps its last value.
///
/// Values: `null` -> `Null`; booleans -> `Bool`; integers that fit in i64 -> `Int`;
/// other numbers (fractions, exponents, `-0`, integers beyond i64) -> `Float`;
/// strings -> `Str`; arrays and objects -> `Json` (minified, keys in input order; a key
/// repeated inside a nested object keeps its first position and last value).
///
/// Errors: invalid JSON -> `bad_input` with serde_json's line and column; a row that
/// is not an object -> `bad_input` naming the row (1-based); nesting deeper than
/// `max_json_depth` (capped at [`MAX_DEPTH`]), more than `max_rows` rows,
/// more than `max_columns` keys, or more cells (missing keys padded) than the input has
/// bytes plus 2^20, or than `max_input_bytes` -> `too_large`.
/// Empty input (or only whitespace) and `[]` are an empty table.
pub fn parse_json(input: &[u8], limits: &Limits) -> Result<Table> {
    let Some(first) = input.iter().position(|b| !is_ws(*b)) else {
        return Ok(Table::default());
    };
    json_text::check_depth(input, limits.max_json_depth.min(MAX_DEPTH))?;
    let mut builder = Builder::new(limits, input.len());
    let mut de = serde_json::Deserializer::from_slice(input);
    let parsed = if input.get(first) == Some(&b'[') {
        RowsSeed(&mut builder).deserialize(&mut de).and_then(|()| de.end())
    } else {
        // NDJSON: objects one after another until only whitespace is left (`end` skips
        // whitespace and fails on anything else).
        let mut rows = Ok(());
        while rows.is_ok() && de.end().is_err() {
            rows = RowSeed(&mut builder).deserialize(&mut de);
        }
        rows
    };
    if let Err(e) = parsed {
        return Err(builder.error.take().unwrap_or_else(|| json_error(&e)));
    }
    Ok(builder.finish())
}

/// `parse_json` a piece at a time, for a streaming session: the same rows and error
/// codes as [`parse_json`] on the whole text, however it is cut. NDJSON is read a row
/// at a time (the first [`KEY_ROWS`] rows are held until the columns are known); an
/// array is held whole (one record) and read at the end.
pub(crate) struct JsonStream {
    limits: Limits,
    depth: json_text::DepthScan,
    /// `None` until the first byte that is not whitespace; then whether it is `[`.
    array: Option<bool>,
    /// Text after the last whole row (the whole text, for an array).
    pending: Vec<u8>,
    /// How far `pending` is scanned for the ends of rows, and the scanner's state.
    scanned: usize,
    nesting: u64,
    string: json_text::InString,
    builder: Builder,
    /// Bytes of text read into the batch being built.
    batch_input: usize,
    /// A row's error, kept until the end: the depth check, which reads the whole text
    /// first in `parse_json`, may yet fail.
    failed: Option<Error>,
}

impl JsonStream {
    pub(crate) fn new(limits: &Limits) -> JsonStream {
        JsonStream {
            limits: *limits,
            depth: json_text::DepthScan::new(limits.max_json_depth.min(MAX_DEPTH)),
            array: None,
            pending: Vec::new(),
            scanned: 0,
            nesting: 0,
            string: json_text::InString::default(),
            builder: Builder::new(limits, 0),
            batch_input: 0,
            failed: None,
        }
    }

    /// Reads `chunk` (`end`: the last), setting `batch` to the rows it completes (once
    /// the columns are known), and at the end to the last rows (perhaps none).
    pub(crate) fn push(&mut self, chunk: &[u8], end: bool, batch: &mut Option<Table>) -> Result<()> {
        self.depth.feed(chunk)?;
        if end {
            self.depth.finish()?;
            if let Some(e) = self.failed.take() {
                return Err(e);
            }
        }
        if self.failed.is_some() || self.depth.too_deep() {
            return Ok(());
        }
        if self.array.is_none() {
            self.array = chunk.iter().find(|&&b| !is_ws(b)).map(|&b| b == b'[');
        }
        if self.array != Some(false) {
            // An array (or only whitespace so far): held to the end.
            self.pending.extend_from_slice(chunk);
            if end {
                *batch = Some(parse_json(&std::mem::take(&mut self.pending), &self.limits)?);
            }
            return Ok(());
        }
        if self.pending.is_empty() && end {
            return self.rows(chunk, end, batch);
        }
        self.pending.extend_from_slice(chunk);
        let whole = if end { self.pending.len() } else { self.split() };
        let pending = std::mem::take(&mut self.pending);
        let result = self.rows(pending.get(..whole).unwrap_or_default(), end, batch);
        self.pending = pending;
        self.pending.drain(..whole);
        self.scanned -= whole.min(self.scanned);
        match result {
            Err(e) if !end => {
                self.failed = Some(e);
                self.pending = Vec::new();
                Ok(())
            }
            result => {
                if self.pending.len() as u64 > self.limits.max_memory_bytes / 4 {
                    return Err(Error::too_large(
                        "a JSON row needs more than a quarter of max_memory_bytes in a stream",
                    ));
                }
                result
            }
        }
    }

    /// Reads whole rows; sets `batch` once the columns are known (or at the end).
    fn rows(&mut self, text: &[u8], end: bool, batch: &mut Option<Table>) -> Result<()> {
        self.batch_input += text.len();
        let b = &mut self.builder;
        b.grid.set_input(&self.limits, self.batch_input);
        b.arena.reserve_text(text.len());
        b.text_allowance = b.arena.text_capacity();
        b.read_rows(text)?;
        if end || b.rows >= KEY_ROWS {
            *batch = Some(b.take_batch(&self.limits));
            self.batch_input = 0;
        }
        Ok(())
    }

    /// The end of the last whole row in `pending`: after a `}` or `]` that closes the
    /// outermost bracket, or at whitespace outside of any.
    fn split(&mut self) -> usize {
        let mut whole = 0;
        for (i, &b) in self.pending.iter().enumerate().skip(self.scanned) {
            if self.string.skip(b) {
                continue;
            }
            match b {
                b'{' | b'[' => self.nesting += 1,
                b'}' | b']' => {
                    self.nesting = self.nesting.saturating_sub(1);
                    if self.nesting == 0 {
                        whole = i + 1;
                    }
                }
                b if is_ws(b) && self.nesting == 0 => whole = i + 1,
                _ => {}
            }
        }
        self.scanned = self.pending.len();
        whole
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn json_error(e: &serde_json::Error) -> Error {
    Error::bad_input(format!("invalid JSON: {e}"))
}

/// Builds the table as rows are parsed: scalars become cells, strings and nested values
/// go straight into the table's text (nested values re-serialised as they are read, with
/// no tree of them in memory).
struct Builder {
    arena: Table,
    columns: Vec<String>,
    index: HashMap<String, usize>,
    grid: Grid,
    row: Vec<Cell>,
    rows: usize,
    max_columns: usize,
    /// The text the memory model sets aside: the input's size, reserved at once. Strings
    /// never outgrow their input; a nested value can (`9e15` is `9000000000000000.0`),
    /// and text past this is held against the memory room before it is allocated.
    text_allowance: usize,
    /// Bytes of the entry lists of the nested objects being read (for repeated keys).
    entries_bytes: usize,
    /// The error that stopped the parse (serde_json only carries text).
    error: Option<Error>,
}

impl Builder {
    fn new(limits: &Limits, input_len: usize) -> Builder {
        let mut arena = Table::new(Vec::new());
        arena.reserve_text(input_len);
        Builder {
            text_allowance: arena.text_capacity(),
            arena,
            columns: Vec::new(),
            index: HashMap::new(),
            grid: Grid::empty(limits, input_len),
            row: Vec::new(),
            rows: 0,
            max_columns: usize::try_from(limits.max_columns).unwrap_or(usize::MAX),
            entries_bytes: 0,
            error: None,
        }
    }

    /// The rows read since the last batch, as a table.
    fn take_batch(&mut self, limits: &Limits) -> Table {
        let mut grid = Grid::empty(limits, 0);
        grid.max_rows = limits.max_rows.saturating_sub(self.rows as u64);
        let grid = std::mem::replace(&mut self.grid, grid);
        let arena = std::mem::replace(&mut self.arena, Table::new(Vec::new()));
        arena.into_derived_with_cells(self.columns.clone(), grid.finish())
    }

    /// Parses the NDJSON rows of `text` (whole rows).
    fn read_rows(&mut self, text: &[u8]) -> Result<()> {
        let mut de = serde_json::Deserializer::from_slice(text);
        let mut rows = Ok(());
        while rows.is_ok() && de.end().is_err() {
            rows = RowSeed(&mut *self).deserialize(&mut de);
        }
        rows.map_err(|e| self.error.take().unwrap_or_else(|| json_error(&e)))
    }

    /// Keeps `e` for `parse_json` to return, and gives serde an error to stop with.
    fn fail<E: de::Error>(&mut self, e: Error) -> E {
        let message = E::custom(&e.message);
        self.error = Some(e);
        message
    }

    /// Counts what the parser holds beside the cells before the text grows by `more`.
    fn hold_text(&mut self, more: usize) -> Result<()> {
        let (len, capacity) = (self.arena.text_len(), self.arena.text_capacity());
        if len + more <= capacity {
            return Ok(());
        }
        // A growing buffer holds the old and the new one at once.
        let grown = capacity + (2 * capacity).max(len + more);
        self.hold(grown, "the table's text (nested JSON values re-serialised)")
    }

    /// Counts `text` bytes of text (beyond what the model sets aside for it) and the
    /// nested objects' entry lists against the room the cells leave.
    fn hold(&mut self, text: usize, what: &str) -> Result<()> {
        let held = text.saturating_sub(self.text_allowance) + self.entries_bytes;
        self.grid.hold(held as u64, || what.to_owned())
    }

    fn push_text(&mut self, text: &str) -> Result<()> {
        self.hold_text(text.len())?;
        self.arena.push_text(text);
        Ok(())
    }

    /// The column of the key at `position` in a row.
    fn column(&mut self, position: usize, key: Cow<'_, str>) -> Result<usize> {
        // Rows usually repeat the key order of the first row: try that before hashing.
        if self.columns.get(position).is_some_and(|name| *name == *key) {
            return Ok(position);
        }
        if let Some(&column) = self.index.get(&*key) {
            return Ok(column);
        }
        if self.rows > KEY_ROWS {
            return Err(Error::bad_input(format!(
                "JSON row {} has the key `{key}`, which none of the first {KEY_ROWS} rows has: the \
                 columns are the keys of the first {KEY_ROWS} rows",
                self.rows
            )));
        }
        if self.columns.len() >= self.max_columns {
            return Err(Error::too_large(format!(
                "the JSON rows have more than the limit of {} distinct keys",
                self.max_columns
            )));
        }
        let column = self.columns.len();
        self.index.insert(key.clone().into_owned(), column);
        self.columns.push(key.into_owned());
        self.row.push(Cell::Null);
        Ok(column)
    }

    fn finish_row(&mut self) -> Result<()> {
        self.grid.widen(self.row.len())?;
        self.grid.start_row()?;
        self.grid.cells.extend_from_slice(&self.row);
        self.grid.finish_row(self.row.len());
        Ok(())
    }

    fn finish(self) -> Table {
        self.arena.into_derived_with_cells(self.columns, self.grid.finish())
    }
}

/// The rows of a top-level array.
struct RowsSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(RowSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// One row: an object's entries placed in the builder's row, then the row added.
struct RowSeed<'b>(&'b mut Builder);

impl RowSeed<'_> {
    fn not_an_object<E: de::Error>(self, kind: &str) -> E {
        let b = self.0;
        b.rows += 1;
        let e = Error::bad_input(format!("JSON row {} is {kind}, not an object", b.rows));
        b.fail(e)
    }
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let b = self.0;
        b.rows += 1;
        b.row.clear();
        b.row.resize(b.columns.len(), Cell::Null);
        let mut position = 0;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let column = b.column(position, key).map_err(|e| b.fail(e))?;
            let cell = map.next_value_seed(CellSeed(&mut *b))?;
            // A key repeated within the row keeps its last value.
            if let Some(slot) = b.row.get_mut(column) {
                *slot = cell;
            }
            position += 1;
        }
        b.finish_row().map_err(|e| b.fail(e))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // Read it to its end first: a syntax error inside is the error to report.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Err(self.not_an_object("an array"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self.not_an_object("null"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.not_an_object("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.not_an_object("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.not_an_object("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.not_an_object("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.not_an_object("a string"))
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key<'de>, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// One value of a row, as a cell.
struct CellSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for CellSeed<'_> {
    type Value = Cell;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cell, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl CellSeed<'_> {
    fn text<E: de::Error>(self, s: &str) -> Result<Cell, E> {
        let b = self.0;
        b.hold_text(s.len()).map_err(|e| b.fail(e))?;
        Ok(b.arena.str_cell(s))
    }

    /// A nested array or object, written into the text by `write` as it is read.
    fn nested<E>(self, write: impl FnOnce(&mut Builder) -> Result<(), E>) -> Result<Cell, E> {
        let b = self.0;
        let start = b.arena.text_len();
        write(&mut *b)?;
        Ok(b.arena.json_cell_from(start))
    }
}

impl<'de> Visitor<'de> for CellSeed<'_> {
    type Value = Cell;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Cell, E> {
        Ok(Cell::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Cell, E> {
        Ok(Cell::Int(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Cell, E> {
        Ok(match i64::try_from(u) {
            Ok(i) => Cell::Int(i),
            Err(_) => Cell::Float(u as f64),
        })
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Cell, E> {
        Ok(Cell::Float(f))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Cell, E> {
        self.text(s)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Cell, A::Error> {
        self.nested(|b| Nested(b).visit_seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cell, A::Error> {
        self.nested(|b| Nested(b).visit_map(map))
    }
}

/// A nested value, written into the table's text minified exactly as
/// `serde_json::to_string` writes a `serde_json::Value` (with `preserve_order`): the same
/// numbers and escapes, and a key repeated inside an object keeps its first position
/// and its last value.
struct Nested<'b>(&'b mut Builder);

impl Nested<'_> {
    fn write<E: de::Error>(&mut self, text: &str) -> Result<(), E> {
        let b = &mut *self.0;
        b.push_text(text).map_err(|e| b.fail(e))
    }

    /// Writes `value` as serde_json does (numbers, escaped strings).
    fn write_json<E: de::Error, T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), E> {
        let mut out = TextOut(&mut *self.0);
        serde_json::to_writer(&mut out, value).map_err(|e| match self.0.error.as_ref() {
            Some(kept) => E::custom(&kept.message),
            None => E::custom(e),
        })
    }
}

/// Writes serde_json's output into the builder's text (each write is whole UTF-8: serde
/// splits strings only at ASCII escapes).
struct TextOut<'b>(&'b mut Builder);

impl std::io::Write for TextOut<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = std::str::from_utf8(buf).map_err(|_| std::io::Error::other("not UTF-8"))?;
        let b = &mut *self.0;
        if let Err(e) = b.push_text(text) {
            b.error = Some(e);
            return Err(std::io::Error::other("over the memory limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Nested<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Nested<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        self.write("null")
    }

    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<(), E> {
        self.write(if v { "true" } else { "false" })
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<(), E> {
        self.write_json(&v)
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        self.write_json(&v)
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        self.write_json(&v)
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        self.write_json(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.write("[")?;
        let mut first = true;
        loop {
            let comma = self.0.arena.text_len();
            if !first {
                self.write(",")?;
            }
            if seq.next_element_seed(Nested(&mut *self.0))?.is_none() {
                self.0.arena.truncate_text(comma);
                break;
            }
            first = false;
        }
        self.write("]")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let start = self.0.arena.text_len();
        self.write("{")?;
        // Where each entry's key and value start in the text, to find repeated keys.
        let mut entries: Vec<(usize, usize)> = Vec::new();
        let mut counted = 0;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if !entries.is_empty() {
                self.write(",")?;
            }
            if entries.len() == entries.capacity() {
                // The list doubles: the old and the new one are held at once.
                let b = &mut *self.0;
                let grown = (2 * entries.capacity()).max(4) * size_of::<(usize, usize)>();
                b.entries_bytes += grown;
                counted += grown;
                let text = b.arena.text_capacity();
                b.hold(text, "the keys of nested JSON objects").map_err(|e| b.fail(e))?;
                entries.reserve_exact(grown / size_of::<(usize, usize)>() - entries.len());
            }
            let key_at = self.0.arena.text_len();
            self.write_json(&*key)?;
            self.write(":")?;
            entries.push((key_at, self.0.arena.text_len()));
            map.next_value_seed(Nested(&mut *self.0))?;
        }
        self.write("}")?;
        let b = &mut *self.0;
        let merged = merge_repeated_keys(b, start, &entries);
        b.entries_bytes -= counted;
        merged.map_err(|e| b.fail(e))
    }
}

/// Rewrites the object written at `start` (its entries' key and value offsets in
/// `entries`) if a key repeats: each key once, at its first position, with its last
/// value, as `serde_json::Value` keeps it.
fn merge_repeated_keys(b: &mut Builder, start: usize, entries: &[(usize, usize)]) -> Result<()> {
    let end = b.arena.text_len();
    let text = b.arena.text_from(start);
    let at = |i: usize| i - start;
    // Entry i's key ends at its ':' and its value at the next entry's ',' or the '}'.
    let key = |i: usize| &text[at(entries[i].0)..at(entries[i].1) - 1];
    let value = |i: usize| {
        let value_end = entries.get(i + 1).map_or(end - 1, |next| next.0 - 1);
        &text[at(entries[i].1)..at(value_end)]
    };
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&x, &y| key(x).cmp(key(y)).then(x.cmp(&y)));
    if order.windows(2).all(|w| key(w[0]) != key(w[1])) {
        return Ok(());
    }
    // For each entry kept (the first of its key), the entry whose value it takes.
    let mut last = vec![usize::MAX; entries.len()];
    for run in order.chunk_by(|&x, &y| key(x) == key(y)) {
        last[run[0]] = run[run.len() - 1];
    }
    let mut object = String::with_capacity(end - start);
    object.push('{');
    for (i, &take) in last.iter().enumerate().filter(|(_, take)| **take != usize::MAX) {
        if object.len() > 1 {
            object.push(',');
        }
        object.push_str(key(i));
        object.push(':');
        object.push_str(value(take));
    }
    object.push('}');
    b.arena.truncate_text(start);
    b.push_text(&object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_rows_keys_are_the_columns() {
        // 4096 records with a key each of their own: the 101st is refused (it would pad
        // 16 M cells from 60 KB, and a stream would have written the rows before it).
        let input: String = (0..4096).map(|i| format!("{{\"k{i}\":1}}\n")).collect();
        let e = parse_json(input.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput, "{e}");
        assert!(e.message.contains("row 101") && e.message.contains("`k100`"), "{e}");
        let input: String = (0..KEY_ROWS).map(|i| format!("{{\"k{i}\":1}}\n")).collect();
        let t = parse_json(input.as_bytes(), &Limits::default()).unwrap();
        assert_eq!((t.n_rows(), t.n_cols()), (KEY_ROWS, KEY_ROWS));
        // Later rows may miss keys, and repeat them in another order.
        let later = format!("{input}{{}}\n{{\"k5\":2,\"k1\":3}}\n");
        let t = parse_json(later.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(t.n_rows(), KEY_ROWS + 2);
        // The same in an array.
        let array = format!("[{}, {{\"late\":1}}]", vec!["{\"a\":1}"; KEY_ROWS].join(","));
        assert_eq!(
            parse_json(array.as_bytes(), &Limits::default()).unwrap_err().code,
            ErrorCode::BadInput
        );
    }

    #[test]
    fn missing_keys_cannot_pad_out_to_gigabytes() {
        // One row of 16 000 keys, then 99 empty ones: 1.6 M cells from 170 KB.
        let keys: Vec<String> = (0..16_000).map(|i| format!("\"k{i}\":0")).collect();
        let mut input = format!("{{{}}}\n", keys.join(","));
        input.push_str(&"{}\n".repeat(99));
        let e = parse_json(input.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge, "{e}");
    }

    use crate::ErrorCode;
    use crate::table::read_csv::tests::show;
    use crate::table::write_json::{json_str_len, push_f64, push_json_str, to_json, to_json_with_limit};
    use serde_json::{Value, json};

    fn parse(input: &str) -> Table {
        parse_json(input.as_bytes(), &Limits::default()).unwrap()
    }

    fn parse_err(input: &str) -> Error {
        parse_json(input.as_bytes(), &Limits::default()).unwrap_err()
    }

    fn cols(t: &Table) -> Vec<&str> {
        t.columns().iter().map(String::as_str).collect()
    }

    #[test]
    fn array_of_objects_unions_keys_in_first_seen_order() {
        let t = parse(r#"[{"a": 1, "b": "x"}, {"c": true, "a": 2}, {}, {"b": null}]"#);
        assert_eq!(cols(&t), ["a", "b", "c"]);
        assert_eq!(
            show(&t),
            [
                ["i:1", "s:x", "null"],
                ["i:2", "null", "true"],
                ["null", "null", "null"],
                ["null", "null", "null"],
            ]
        );
    }

    #[test]
    fn ndjson_with_blank_lines_and_crlf() {
        let t = parse("{\"a\":1}\r\n\r\n\n{\"b\":2,\"a\":3}\n   \n{\"a\":4}");
        assert_eq!(cols(&t), ["a", "b"]);
        assert_eq!(show(&t), [["i:1", "null"], ["i:3", "i:2"], ["i:4", "null"]]);
        // Both forms give the same table.
        let array = parse("[{\"a\":1},{\"b\":2,\"a\":3},{\"a\":4}]");
        assert_eq!(show(&array), show(&t));
    }

    #[test]
    fn value_kinds() {
        let t = parse(
            r#"{"n":null,"t":true,"f":false,"i":-42,"big":9223372036854775807,
                "huge":9223372036854775808,"neg":-9223372036854775808,"x":1.5,"one":1.0,
"mz":-0,"e":1e3,"s":"h\u00e9\"llo\n","arr":[1, 2.50, {"z": 1, "a": [ ]}],
                "obj":{"b": 1, "a": "é"}}"#,
        );
        assert_eq!(
            show(&t),
            [[
                "null",
                "true",
                "false",
                "i:-42",
                "i:9223372036854775807",
                "f:9.223372036854776e18",
                "i:-9223372036854775808",
                "f:1.5",
                "f:1.0",
                "f:-0.0",
                "f:1000.0",
                "s:hé\"llo\n",
                "j:[1,2.5,{\"z\":1,\"a\":[]}]",
                "j:{\"b\":1,\"a\":\"é\"}",
            ]]
        );
    }

    #[test]
    fn nested_values_are_written_as_serde_json_writes_a_value() {
        for nested in [
            r#"[1, 2.50, {"z": 1, "a": [ ]}]"#,
            r#"{"b":1,"a":"\u00e9\"\n\/\u0001","b":[2,{"x":1,"x":{"y":1,"y":2}}],"c":{}}"#,
            r#"[1e15, 9e15, 1E2, -0, 0.1e1, 18446744073709551615, -9223372036854775808, 1.5e-7, 12345678901234567890]"#,
            r#"{"k":1,"j":2,"k":3,"i":4,"j":5}"#,
            r#"[[],[[]],{},{"":null,"":true}]"#,
        ] {
            let t = parse(&format!("{{\"n\":{nested}}}"));
            let expected = serde_json::to_string(&serde_json::from_str::<Value>(nested).unwrap()).unwrap();
            assert_eq!(show(&t), [[format!("j:{expected}")]], "{nested}");
        }
        // Many keys, some repeated far apart: first position, last value.
        let keys: Vec<String> = (0..100).map(|i| format!("\"k{}\":{i}", i % 37)).collect();
        let nested = format!("{{{}}}", keys.join(","));
        let t = parse(&format!("[{{\"n\":{nested}}}]"));
        let expected = serde_json::to_string(&serde_json::from_str::<Value>(&nested).unwrap()).unwrap();
        assert_eq!(show(&t), [[format!("j:{expected}")]]);
    }

    #[test]
    fn nested_text_past_the_input_counts_against_memory() {
        // 1e15 is 1000000000000000.0: the text outgrows the input 4.5 times.
        let input = format!("{{\"a\":[{}1e15]}}", "1e15,".repeat(200_000));
        let limits = |mib: u64| Limits {
            max_memory_bytes: mib << 20,
            ..Limits::default()
        };
        assert!(parse_json(input.as_bytes(), &limits(16)).is_ok());
        let e = parse_json(input.as_bytes(), &limits(6)).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge, "{e}");
        assert!(e.message.contains("max_memory_bytes"), "{e}");
    }

    #[test]
    fn repeated_key_keeps_last_value() {
        let t = parse(r#"{"a":1,"b":2,"a":3}"#);
        assert_eq!(cols(&t), ["a", "b"]);
        assert_eq!(show(&t), [["i:3", "i:2"]]);
    }

    #[test]
    fn escaped_keys() {
        let t = parse(r#"[{"a\"b":1,"\u00e9":2},{"é":3}]"#);
        assert_eq!(cols(&t), ["a\"b", "é"]);
        assert_eq!(show(&t), [["i:1", "i:2"], ["null", "i:3"]]);
    }

    #[test]
    fn non_object_rows_are_bad_input() {
        for (input, row, kind) in [
            ("[{\"a\":1}, [1,2]]", 2, "an array"),
            ("[{\"a\":1}, {\"a\":2}, 3]", 3, "a number"),
            ("{\"a\":1}\n\"x\"\n", 2, "a string"),
            ("null", 1, "null"),
            ("[true]", 1, "a boolean"),
        ] {
            let e = parse_err(input);
            assert_eq!(e.code, ErrorCode::BadInput, "{input}");
            assert!(e.message.contains(&format!("row {row} ")), "{}", e.message);
            assert!(e.message.contains(kind), "{}", e.message);
        }
    }

    #[test]
    fn invalid_json_is_bad_input_with_position() {
        for (input, position) in [
            ("[{\"a\":1},\n{\"a\":}]", "line 2 column 6"),
            ("{\"a\":1}\n{\"a\":2", "line 2"),
            ("[{\"a\":1}] x", "line 1 column 11"),
            ("{\"a\":1} {", "line 1"),
            ("[{\"a\":1e400}]", "line 1"),
            ("[{\"a\":\"\\ud800\"}]", "line 1"),
            ("{\"a\":\u{1}}", "line 1"),
        ] {
            let e = parse_err(input);
            assert_eq!(e.code, ErrorCode::BadInput, "{input}");
            assert!(e.message.contains(position), "{input}: {}", e.message);
        }
        let e = parse_json(b"{\"a\":\"\xff\"}", &Limits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
    }

    #[test]
    fn empty_inputs() {
        for input in ["", "  \n\t", "[]", " [ ] "] {
            let t = parse(input);
            assert_eq!((t.n_cols(), t.n_rows()), (0, 0), "{input:?}");
        }
        // Objects without keys are rows without cells: no columns, so no rows.
        let t = parse("[{}, {}]");
        assert_eq!((t.n_cols(), t.n_rows()), (0, 0));
    }

    #[test]
    fn limits_are_too_large() {
        let limits = Limits {
            max_rows: 2,
            max_columns: 2,
            max_json_depth: 3,
            ..Limits::default()
        };
        let p = |s: &str| parse_json(s.as_bytes(), &limits);
        assert_eq!(p("[{\"a\":1},{\"b\":2}]").unwrap().n_rows(), 2);
        assert_eq!(
            p("[{\"a\":1},{\"a\":2},{\"a\":3}]").unwrap_err().code,
            ErrorCode::TooLarge
        );
        assert_eq!(
            p("{\"a\":1}\n{\"a\":2}\n{\"a\":3}").unwrap_err().code,
            ErrorCode::TooLarge
        );
        assert_eq!(p("[{\"a\":1,\"b\":2,\"c\":3}]").unwrap_err().code, ErrorCode::TooLarge);
        assert_eq!(p("{\"a\":1}\n{\"c\":3,\"b\":1}").unwrap_err().code, ErrorCode::TooLarge);
        // The array of rows counts as one level.
        assert_eq!(p("[{\"a\":[1]}]").unwrap().n_rows(), 1);
        assert_eq!(p("[{\"a\":[[1]]}]").unwrap_err().code, ErrorCode::TooLarge);
        assert_eq!(p("{\"a\":[[1]]}").unwrap().n_rows(), 1);
        assert_eq!(p("{\"a\":[[[1]]]}").unwrap_err().code, ErrorCode::TooLarge);
        // Rows missing a late key cannot pad out past the cell cap.
        let limits = Limits {
            max_input_bytes: 100,
            ..Limits::default()
        };
        let keys: Vec<String> = (0..20).map(|i| format!("\"k{i}\":0")).collect();
        let mut input = "{}\n".repeat(4);
        input.push_str(&format!("{{{}}}\n", keys.join(",")));
        assert_eq!(parse_json(input.as_bytes(), &limits).unwrap().n_rows(), 5);
        input.push_str("{}\n");
        assert_eq!(
            parse_json(input.as_bytes(), &limits).unwrap_err().code,
            ErrorCode::TooLarge
        );
        // The default depth limit (128) is capped at what serde_json builds values for.
        let nest = |d: usize| format!("{{\"a\":{}1{}}}", "[".repeat(d - 1), "]".repeat(d - 1));
        assert_eq!(parse(&nest(127)).n_rows(), 1);
        assert_eq!(parse_err(&nest(128)).code, ErrorCode::TooLarge);
        // Deep input fails fast, before serde_json recurses.
        let deep = format!("[{{\"a\":{}1{}}}]", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse_json(deep.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
    }

    #[test]
    fn late_keys_pad_earlier_rows() {
        let t = parse("{\"a\":1}\n{\"a\":2}\n{\"b\":3}\n{\"c\":4,\"a\":5}\n{\"a\":6}");
        assert_eq!(cols(&t), ["a", "b", "c"]);
        assert_eq!(
            show(&t),
            [
                ["i:1", "null", "null"],
                ["i:2", "null", "null"],
                ["null", "i:3", "null"],
                ["i:5", "null", "i:4"],
                ["i:6", "null", "null"],
            ]
        );
    }

    fn sample() -> Table {
        let mut t = Table::new(vec!["id".into(), "name \"q\"".into(), "v".into(), "tags".into()]);
        let s = t.str_cell("tab\there\u{1}\u{7f}é\u{2028}");
        let j = t.json_cell("{\"a\":[1,{\"b\":[]},{}],\"c\":\"x\"}");
        t.push_row(&[Cell::Int(1), s, Cell::Float(1.0), j]);
        let s = t.str_cell("");
        let j = t.json_cell("[]");
        t.push_row(&[Cell::Null, s, Cell::Float(1e21), j]);
        t.push_row(&[Cell::Bool(true), Cell::Null, Cell::Float(-0.5), Cell::Bool(false)]);
        t
    }

    /// The same rows as serde_json values, written independently of `to_json`.
    fn sample_values() -> Vec<Value> {
        let mut rows = Vec::new();
        let mut row = serde_json::Map::new();
        row.insert("id".into(), json!(1));
        row.insert("name \"q\"".into(), json!("tab\there\u{1}\u{7f}é\u{2028}"));
        row.insert("v".into(), json!(1.0));
        row.insert("tags".into(), json!({"a": [1, {"b": []}, {}], "c": "x"}));
        rows.push(Value::Object(row));
        let mut row = serde_json::Map::new();
        row.insert("id".into(), Value::Null);
        row.insert("name \"q\"".into(), json!(""));
        row.insert("v".into(), json!(1e21));
        row.insert("tags".into(), json!([]));
        rows.push(Value::Object(row));
        let mut row = serde_json::Map::new();
        row.insert("id".into(), json!(true));
        row.insert("name \"q\"".into(), Value::Null);
        row.insert("v".into(), json!(-0.5));
        row.insert("tags".into(), json!(false));
        rows.push(Value::Object(row));
        rows
    }

    #[test]
    fn to_json_matches_serde_json() {
        let t = sample();
        let values = Value::Array(sample_values());
        assert_eq!(to_json(&t, false, false), serde_json::to_vec(&values).unwrap());
        assert_eq!(to_json(&t, false, true), serde_json::to_vec_pretty(&values).unwrap());
        let mut ndjson = Vec::new();
        for v in sample_values() {
            ndjson.extend(serde_json::to_vec(&v).unwrap());
            ndjson.push(b'\n');
        }
        assert_eq!(to_json(&t, true, false), ndjson);
        assert_eq!(to_json(&t, true, true), ndjson);
    }

    #[test]
    fn to_json_exact_text() {
        let mut t = Table::new(vec!["a".into(), "b".into()]);
        let j = t.json_cell("[1,{\"x\":null}]");
        t.push_row(&[Cell::Int(-3), j]);
        t.push_row(&[Cell::Float(2.5), Cell::Null]);
        assert_eq!(
            String::from_utf8(to_json(&t, false, false)).unwrap(),
            r#"[{"a":-3,"b":[1,{"x":null}]},{"a":2.5,"b":null}]"#
        );
        assert_eq!(
            String::from_utf8(to_json(&t, true, false)).unwrap(),
            "{\"a\":-3,\"b\":[1,{\"x\":null}]}\n{\"a\":2.5,\"b\":null}\n"
        );
        assert_eq!(
            String::from_utf8(to_json(&t, false, true)).unwrap(),
            "[\n  {\n    \"a\": -3,\n    \"b\": [\n      1,\n      {\n        \"x\": null\n      }\n    ]\n  },\n  {\n    \"a\": 2.5,\n    \"b\": null\n  }\n]"
        );
    }

    #[test]
    fn to_json_empty_tables() {
        let empty = Table::new(vec!["a".into()]);
        assert_eq!(to_json(&empty, false, false), b"[]");
        assert_eq!(to_json(&empty, false, true), b"[]");
        assert_eq!(to_json(&empty, true, false), b"");
        assert_eq!(to_json(&Table::default(), false, true), b"[]");
    }

    #[test]
    fn to_json_with_limit_is_too_large() {
        let t = sample();
        let full = to_json(&t, false, true);
        let n = full.len() as u64;
        assert_eq!(to_json_with_limit(&t, false, true, n).unwrap(), full);
        let e = to_json_with_limit(&t, false, true, n - 1).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        let e = to_json_with_limit(&t, true, false, 10).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
    }

    #[test]
    fn string_escaping_matches_serde_json() {
        let mut all = String::new();
        for c in (0u32..0x80).chain([0x7f, 0xe9, 0x2028, 0x2029, 0xfeff, 0x1f600]) {
            all.push(char::from_u32(c).unwrap());
        }
        let mut ours = Vec::new();
        push_json_str(&mut ours, &all);
        assert_eq!(ours, serde_json::to_vec(&all).unwrap());
        assert_eq!(json_str_len(&all), ours.len() as u64);
    }

    #[test]
    fn a_cell_that_escapes_past_the_limit_is_refused_in_its_row() {
        // One field of 1000 control bytes: 6002 bytes once escaped.
        let csv = format!("a\n{}\n", "\u{1}".repeat(1000));
        let t = crate::table::read_csv::parse_csv(csv.as_bytes(), &Default::default(), &Limits::default()).unwrap();
        let whole = to_json(&t, true, false);
        assert_eq!(whole.len(), 6009); // {"a":"..."}\n
        assert!(to_json_with_limit(&t, true, false, 6009).is_ok());
        // Refused after the row (one byte over), and before the cell (far over).
        for limit in [6008, 6000, 10] {
            let e = to_json_with_limit(&t, true, false, limit).unwrap_err();
            assert_eq!(e.code, ErrorCode::TooLarge);
        }
    }

    #[test]
    fn json_round_trip() {
        let t = sample();
        for (ndjson, pretty) in [(false, false), (false, true), (true, false)] {
            let text = to_json(&t, ndjson, pretty);
            let back = parse_json(&text, &Limits::default()).unwrap();
            assert_eq!(back.columns(), t.columns());
            assert_eq!(show(&back), show(&t));
        }
    }

    #[test]
    fn float_formatting() {
        let mut out = Vec::new();
        for v in [1.0, 1.5, 0.1, 1e21, 1e-7, -0.0, 123456789.0, f64::MAX, 5e-324] {
            out.clear();
            push_f64(&mut out, v);
            assert_eq!(out, serde_json::to_vec(&v).unwrap(), "{v}");
            let back: f64 = std::str::from_utf8(&out).unwrap().parse().unwrap();
            assert_eq!(back.to_bits(), v.to_bits());
        }
        out.clear();
        push_f64(&mut out, f64::INFINITY);
        assert_eq!(out, b"null");
    }
}
