//! The `table` kind: named columns and rows of typed cells.
//!
//! Text lives in one arena per table (`Cell::Str` and `Cell::Json` hold spans into it),
//! so a 50 MB CSV becomes one string buffer and one flat cell vector, not millions of
//! small allocations.

mod csv_records;
mod dialect;
mod grid;
pub mod group;
mod infer;
mod keys;
pub mod predicate;
pub mod query;
pub mod read_csv;
pub mod read_json;
pub mod sort;
pub mod stats;
pub mod write_csv;
pub mod write_json;

/// A span of text in a table's arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u32,
    len: u32,
}

/// One typed cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// Empty / missing / JSON null.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in i64.
    Int(i64),
    /// Any other finite number.
    Float(f64),
    /// Text.
    Str(Span),
    /// A nested JSON array or object, kept as minified JSON text.
    Json(Span),
}

/// Rows of typed cells under named columns, row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    columns: Vec<String>,
    cells: Vec<Cell>,
    text: String,
}

impl Table {
    /// An empty table with these (unique) column names.
    pub fn new(columns: Vec<String>) -> Table {
        Table {
            columns,
            cells: Vec::new(),
            text: String::new(),
        }
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Index of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.columns.len()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.cells.len().checked_div(self.columns.len()).unwrap_or(0)
    }

    /// Row `i` (panics if out of range, like slice indexing).
    pub fn row(&self, i: usize) -> &[Cell] {
        let n = self.columns.len();
        &self.cells[i * n..(i + 1) * n]
    }

    /// All rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[Cell]> + '_ {
        // `max(1)`: a table without columns has no rows, and chunks(0) would panic.
        self.cells.chunks_exact(self.columns.len().max(1))
    }

    /// Makes room for `bytes` of cell text at once: the text of a table read from `bytes`
    /// of CSV, or of JSON strings, is never longer (unescaping only shrinks), so it is not
    /// reallocated (the memory model counts it once). A nested JSON value, re-serialised,
    /// can be longer than its input (`9e15` is `9000000000000000.0`): `parse_json` counts
    /// the text past the reservation before it grows.
    pub fn reserve_text(&mut self, bytes: usize) {
        self.text.reserve_exact(bytes);
    }

    /// Bytes of text stored so far.
    pub(super) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Bytes of text the arena holds room for.
    pub(super) fn text_capacity(&self) -> usize {
        self.text.capacity()
    }

    /// The text stored from byte `start` on.
    pub(super) fn text_from(&self, start: usize) -> &str {
        &self.text[start..]
    }

    /// Appends text that a cell will take with [`json_cell_from`](Table::json_cell_from).
    pub(super) fn push_text(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Drops the text from byte `len` on (a cell-to-be that is written again).
    pub(super) fn truncate_text(&mut self, len: usize) {
        self.text.truncate(len);
    }

    /// The minified JSON text pushed since byte `start`, as a `Cell::Json`.
    pub(super) fn json_cell_from(&self, start: usize) -> Cell {
        Cell::Json(Span {
            start: start as u32,
            len: (self.text.len() - start) as u32,
        })
    }

    /// Stores text in the arena and returns it as a `Cell::Str`.
    pub fn str_cell(&mut self, s: &str) -> Cell {
        Cell::Str(self.intern(s))
    }

    /// Stores minified JSON text in the arena and returns it as a `Cell::Json`.
    pub fn json_cell(&mut self, s: &str) -> Cell {
        Cell::Json(self.intern(s))
    }

    fn intern(&mut self, s: &str) -> Span {
        // Inputs are capped far below 4 GiB by `Limits`, so spans fit in u32.
        let start = self.text.len() as u32;
        self.text.push_str(s);
        Span {
            start,
            len: s.len() as u32,
        }
    }

    /// The text of a span of this table.
    pub fn text(&self, span: Span) -> &str {
        &self.text[span.start as usize..(span.start + span.len) as usize]
    }

    /// The bytes of a span of this table (empty for a span of another table).
    pub(crate) fn bytes(&self, span: Span) -> &[u8] {
        let (start, end) = (
            span.start as usize,
            (span.start as usize).saturating_add(span.len as usize),
        );
        self.text.as_bytes().get(start..end).unwrap_or_default()
    }

    /// The heap bytes this table holds (its cells, text and column names): what the
    /// memory model counts for it.
    pub fn heap_bytes(&self) -> u64 {
        let names: usize = self.columns.iter().map(|c| c.capacity() + size_of::<String>()).sum();
        (self.cells.capacity() * size_of::<Cell>() + self.text.capacity() + names) as u64
    }

    /// Appends a row; `cells` must have exactly `n_cols()` cells made by this table.
    pub fn push_row(&mut self, cells: &[Cell]) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.cells.extend_from_slice(cells);
    }

    /// Appends one cell; rows are complete after every `n_cols()` pushes.
    pub fn push_cell(&mut self, cell: Cell) {
        self.cells.push(cell);
    }

    /// Reserves room for `rows` more rows.
    pub fn reserve_rows(&mut self, rows: usize) {
        self.cells.reserve(rows.saturating_mul(self.columns.len()));
    }

    /// A new table with the same arena, the given columns, and no rows: for ops that
    /// keep cells of this table (select, filter) without copying its text.
    pub fn derive(&self, columns: Vec<String>) -> Table {
        Table {
            columns,
            cells: Vec::new(),
            text: self.text.clone(),
        }
    }

    /// Consumes the table, keeping its arena for a derived table (no copy).
    pub fn into_derived(self, columns: Vec<String>) -> Table {
        Table {
            columns,
            cells: Vec::new(),
            text: self.text,
        }
    }

    /// Consumes the table, keeping its arena, as a table with `columns` and the
    /// row-major `cells` (made by this table): for builders and ops that lay out cells
    /// themselves (parsers, select, filter) without a second copy. A trailing partial
    /// row is dropped.
    pub fn into_derived_with_cells(self, columns: Vec<String>, mut cells: Vec<Cell>) -> Table {
        let whole = match columns.len() {
            0 => 0,
            n => cells.len() - cells.len() % n,
        };
        cells.truncate(whole);
        Table {
            columns,
            cells,
            text: self.text,
        }
    }
}
