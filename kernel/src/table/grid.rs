//! The cells of a table while it is built, its width growing between rows.

use super::Cell;
use crate::limits::SLACK;
use crate::{Error, Limits, Result};

/// Row-major cells of a table being built whose width can grow between rows (CSV
/// without a header, JSON rows with new keys). Rows are stored at the width current
/// when they were added; [`Grid::finish`] pads them once, so widening is never
/// quadratic.
pub(super) struct Grid {
    pub(super) cells: Vec<Cell>,
    width: usize,
    rows: usize,
    /// Earlier stretches of rows stored narrower than `width`: (row count, width).
    stretches: Vec<(usize, usize)>,
    rows_at_width: usize,
    pub(super) max_rows: u64,
    max_columns: u64,
    /// Cells by the input's size and `max_input_bytes`.
    max_cells: u64,
    /// What `max_memory_bytes` leaves beside the input and the table's text (each at most
    /// the input's size): for the cells and [`held`](Grid::hold).
    memory_room: u64,
    /// Bytes the parser holds beside the cells: its record buffer, text past the
    /// input's size.
    held: u64,
}

/// Cells a table may have beyond one per input byte: the padding of short rows under a
/// wide header, or of records missing keys (24 MiB of `Null`s).
const PADDING_CELLS: u64 = 1 << 20;

/// What the cells' buffer holds at most for `cells` cells: it grows by doubling, so up
/// to three times its cells are held during a reallocation.
fn cell_bytes(cells: u64) -> u64 {
    cells.saturating_mul(3 * size_of::<Cell>() as u64)
}

impl Grid {
    /// A grid with no columns yet, under `limits`, for an input of `input_len` bytes.
    /// Every real cell costs at least one byte of input, so cells are capped at the
    /// input's size plus [`PADDING_CELLS`] (and `max_input_bytes`): a few kilobytes of
    /// short rows under a wide header cannot pad out to gigabytes.
    pub(super) fn empty(limits: &Limits, input_len: usize) -> Grid {
        Grid {
            cells: Vec::new(),
            width: 0,
            rows: 0,
            stretches: Vec::new(),
            rows_at_width: 0,
            max_rows: limits.max_rows,
            max_columns: u64::from(limits.max_columns),
            max_cells: limits.max_input_bytes.min(input_len as u64 + PADDING_CELLS),
            memory_room: limits.max_memory_bytes.saturating_sub(2 * input_len as u64 + SLACK),
            held: 0,
        }
    }

    /// Counts the cells and memory for `input_len` bytes of input in all (a streaming
    /// session's batch, which grows as its text arrives).
    pub(super) fn set_input(&mut self, limits: &Limits, input_len: usize) {
        self.max_cells = limits.max_input_bytes.min(input_len as u64 + PADDING_CELLS);
        self.memory_room = limits.max_memory_bytes.saturating_sub(2 * input_len as u64 + SLACK);
    }

    /// Counts `bytes` the parser is about to hold beside the cells (the most it holds at
    /// once so far: the count never shrinks): `too_large`, naming `what`, if the cells so
    /// far and these do not fit what `max_memory_bytes` leaves.
    pub(super) fn hold(&mut self, bytes: u64, what: impl FnOnce() -> String) -> Result<()> {
        let cells = cell_bytes((self.rows as u64).saturating_mul(self.width as u64));
        if cells.saturating_add(bytes) > self.memory_room {
            return Err(Error::too_large(format!(
                "{} needs about {:.1} MiB beside the table's {:.1} MiB of cells, over what the memory limit \
                 leaves (max_memory_bytes)",
                what(),
                bytes as f64 / f64::from(1 << 20),
                cells as f64 / f64::from(1 << 20)
            )));
        }
        self.held = self.held.max(bytes);
        Ok(())
    }

    /// The current width.
    pub(super) fn width(&self) -> usize {
        self.width
    }

    /// Rows started so far.
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// Widens the grid (between rows) to `width` columns.
    pub(super) fn widen(&mut self, width: usize) -> Result<()> {
        if width <= self.width {
            return Ok(());
        }
        if width as u64 > self.max_columns {
            return Err(Error::too_large(format!(
                "the table has more than the limit of {} columns",
                self.max_columns
            )));
        }
        self.check_cells(self.rows, width)?;
        if self.rows_at_width > 0 {
            self.stretches.push((self.rows_at_width, self.width));
        }
        self.rows_at_width = 0;
        self.width = width;
        Ok(())
    }

    /// Counts a new row against the limits; push its cells, then call `finish_row`.
    pub(super) fn start_row(&mut self) -> Result<()> {
        if self.rows as u64 >= self.max_rows {
            return Err(Error::too_large(format!(
                "the table has more than the limit of {} rows",
                self.max_rows
            )));
        }
        self.check_cells(self.rows + 1, self.width)?;
        self.rows += 1;
        self.rows_at_width += 1;
        Ok(())
    }

    fn check_cells(&self, rows: usize, width: usize) -> Result<()> {
        let cells = (rows as u64).saturating_mul(width as u64);
        let by_memory = self.memory_room.saturating_sub(self.held) / cell_bytes(1);
        if cells > self.max_cells.min(by_memory) {
            return Err(Error::too_large(format!(
                "the table would have {rows} rows x {width} columns, over the limit of {} cells \
                 (the input's bytes plus 1048576, at most max_input_bytes and what max_memory_bytes holds)",
                self.max_cells.min(by_memory)
            )));
        }
        Ok(())
    }

    /// Pads the row just pushed (`pushed` cells) with `Null` to the current width.
    pub(super) fn finish_row(&mut self, pushed: usize) {
        let missing = self.width.saturating_sub(pushed);
        self.cells.resize(self.cells.len() + missing, Cell::Null);
    }

    /// The cells laid out at the final width.
    pub(super) fn finish(self) -> Vec<Cell> {
        if self.stretches.is_empty() {
            return self.cells;
        }
        let mut out = Vec::with_capacity(self.rows.saturating_mul(self.width));
        let mut rest = self.cells.as_slice();
        for &(rows, width) in &self.stretches {
            for _ in 0..rows {
                let (row, tail) = rest.split_at(width.min(rest.len()));
                out.extend_from_slice(row);
                out.resize(out.len() + self.width.saturating_sub(row.len()), Cell::Null);
                rest = tail;
            }
        }
        out.extend_from_slice(rest);
        out
    }
}
