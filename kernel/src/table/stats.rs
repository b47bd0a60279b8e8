//! `stats`: a summary table with one row per column.

use std::cmp::Ordering;

use super::{Cell, Span, Table};

/// Summarises each column of `table`: one row per column, with columns
/// `column, count, nulls, min, max, mean`.
///
/// - `count`: non-null cells; `nulls`: `Null` cells.
/// - `min`/`max`: over the numeric cells (`Int` and `Float`, compared as `filter`
///   compares them; the cell is kept as it is) if the column has any, else over the
///   `Str` cells by bytes, else `Null`. On ties the first cell wins.
/// - `mean`: of the numeric cells, as a `Float` (`Null` if there are none). Integers
///   are summed exactly in i128 and floats in row order, so the result is
///   deterministic; a mean that overflows f64 is `Null`.
pub fn stats(table: &Table) -> Table {
    let mut summary = Summary::new(table.columns());
    summary.add(table);
    summary.finish()
}

/// `stats` a batch of rows at a time (the tables added share the columns of the
/// first): [`stats`] is one `add` and `finish`.
pub struct Summary {
    columns: Vec<String>,
    acc: Vec<Acc>,
}

impl Summary {
    /// A summary of no rows yet, for these columns.
    pub fn new(columns: &[String]) -> Summary {
        Summary {
            columns: columns.to_vec(),
            acc: vec![Acc::default(); columns.len()],
        }
    }

    /// Adds the rows of `table`.
    pub fn add(&mut self, table: &Table) {
        for row in table.rows() {
            for (a, &cell) in self.acc.iter_mut().zip(row) {
                a.add(table, cell);
            }
        }
    }

    /// The summary table.
    pub fn finish(self) -> Table {
        let columns = ["column", "count", "nulls", "min", "max", "mean"];
        let mut out = Table::new(columns.iter().map(|c| (*c).to_owned()).collect());
        out.reserve_rows(self.acc.len());
        for (name, a) in self.columns.iter().zip(&self.acc) {
            let name = out.str_cell(name);
            let mut cell = |number: Option<Cell>, text: &Option<String>| match (number, text) {
                (Some(n), _) => n,
                (None, Some(s)) => out.str_cell(s),
                (None, None) => Cell::Null,
            };
            let (min, max) = (cell(a.num_min, &a.str_min), cell(a.num_max, &a.str_max));
            out.push_row(&[
                name,
                Cell::Int(i64::try_from(a.count).unwrap_or(i64::MAX)),
                Cell::Int(i64::try_from(a.nulls).unwrap_or(i64::MAX)),
                min,
                max,
                a.sum.mean().map_or(Cell::Null, Cell::Float),
            ]);
        }
        out
    }
}

/// Running statistics of one column; its least and greatest text is kept (copied), so
/// rows may come from many tables.
#[derive(Debug, Clone, Default)]
struct Acc {
    count: u64,
    nulls: u64,
    sum: Sum,
    num_min: Option<Cell>,
    num_max: Option<Cell>,
    str_min: Option<String>,
    str_max: Option<String>,
}

impl Acc {
    fn add(&mut self, table: &Table, cell: Cell) {
        match cell {
            Cell::Null => {
                self.nulls += 1;
                return;
            }
            Cell::Int(_) | Cell::Float(_) => {
                self.sum.add(cell);
                widen(&mut self.num_min, &mut self.num_max, cell);
            }
            Cell::Str(span) => {
                let text = table.text(span);
                // On ties the first cell wins.
                if self.str_min.as_deref().is_none_or(|m| text.as_bytes() < m.as_bytes()) {
                    replace(&mut self.str_min, text);
                }
                if self.str_max.as_deref().is_none_or(|m| text.as_bytes() > m.as_bytes()) {
                    replace(&mut self.str_max, text);
                }
            }
            Cell::Bool(_) | Cell::Json(_) => {}
        }
        self.count += 1;
    }
}

/// Sets `slot` to `text`, reusing its buffer.
fn replace(slot: &mut Option<String>, text: &str) {
    let s = slot.get_or_insert_with(String::new);
    s.clear();
    s.push_str(text);
}

/// The sum of the numeric cells of a column (others are skipped): integers exactly in
/// i128, floats in row order, so the result is deterministic. Shared with `group_by`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sum {
    ints: u64,
    int_sum: i128,
    floats: u64,
    float_sum: f64,
}

impl Sum {
    /// Adds a cell if it is a number.
    pub(super) fn add(&mut self, cell: Cell) {
        match cell {
            Cell::Int(i) => {
                self.ints += 1;
                self.int_sum += i128::from(i);
            }
            Cell::Float(f) => {
                self.floats += 1;
                self.float_sum += f;
            }
            _ => {}
        }
    }

    /// The sum: `Int` while only integers were added and the sum fits in i64, else a
    /// `Float` (integers' exact sum rounded once, plus the floats' sum); `Null` when no
    /// number was added or the sum overflows f64.
    pub(super) fn total(&self) -> Cell {
        if self.ints + self.floats == 0 {
            return Cell::Null;
        }
        if self.floats == 0
            && let Ok(i) = i64::try_from(self.int_sum)
        {
            return Cell::Int(i);
        }
        let total = self.int_sum as f64 + self.float_sum;
        if total.is_finite() {
            Cell::Float(total)
        } else {
            Cell::Null
        }
    }

    /// The mean of the numbers added, `None` if there are none or it overflows f64.
    pub(super) fn mean(&self) -> Option<f64> {
        let n = self.ints + self.floats;
        if n == 0 {
            return None;
        }
        let mean = if self.floats == 0 {
            // Exact quotient, then the remainder's fraction: one rounding each.
            let n = i128::from(n);
            (self.int_sum / n) as f64 + (self.int_sum % n) as f64 / n as f64
        } else {
            (self.int_sum as f64 + self.float_sum) / n as f64
        };
        mean.is_finite().then_some(mean)
    }
}

/// Widens a column's numeric least and greatest to take `cell` (on ties the first
/// stays).
fn widen(min: &mut Option<Cell>, max: &mut Option<Cell>, cell: Cell) {
    if min.is_none_or(|m| compare_numbers(cell, m) == Ordering::Less) {
        *min = Some(cell);
    }
    if max.is_none_or(|m| compare_numbers(cell, m) == Ordering::Greater) {
        *max = Some(cell);
    }
}

/// The least and greatest cells of a column: over its numbers if it has any, else over
/// its `Str` cells by bytes; on ties the first cell wins. Shared with `group_by`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Extremes {
    num_min: Option<Cell>,
    num_max: Option<Cell>,
    str_min: Option<Span>,
    str_max: Option<Span>,
}

impl Extremes {
    /// Adds a cell of `table`.
    pub(super) fn add(&mut self, table: &Table, cell: Cell) {
        match cell {
            Cell::Int(_) | Cell::Float(_) => widen(&mut self.num_min, &mut self.num_max, cell),
            Cell::Str(span) => {
                let text = table.bytes(span);
                if self.str_min.is_none_or(|m| text < table.bytes(m)) {
                    self.str_min = Some(span);
                }
                if self.str_max.is_none_or(|m| text > table.bytes(m)) {
                    self.str_max = Some(span);
                }
            }
            Cell::Null | Cell::Bool(_) | Cell::Json(_) => {}
        }
    }

    /// The least cell (a cell of the table added from), `Null` if none.
    pub(super) fn min(&self) -> Cell {
        self.num_min.or(self.str_min.map(Cell::Str)).unwrap_or(Cell::Null)
    }

    /// The greatest cell (a cell of the table added from), `Null` if none.
    pub(super) fn max(&self) -> Cell {
        self.num_max.or(self.str_max.map(Cell::Str)).unwrap_or(Cell::Null)
    }
}

/// Orders two numeric cells: Int with Int exactly, otherwise as f64.
fn compare_numbers(a: Cell, b: Cell) -> Ordering {
    let as_f64 = |c: Cell| match c {
        Cell::Int(i) => i as f64,
        Cell::Float(f) => f,
        _ => 0.0,
    };
    match (a, b) {
        (Cell::Int(x), Cell::Int(y)) => x.cmp(&y),
        _ => as_f64(a).partial_cmp(&as_f64(b)).unwrap_or(Ordering::Equal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::read_csv::tests::show;

    #[test]
    fn summary_values() {
        let mut t = Table::new(vec![
            "i".into(),
            "f".into(),
            "mix".into(),
            "s".into(),
            "none".into(),
            "b".into(),
        ]);
        let rows: [[&str; 6]; 4] = [
            ["3", "0.5", "2", "pear", "", "t"],
            ["-7", "", "1.5", "apple", "", "f"],
            ["", "2.25", "x", "Zoo", "", ""],
            ["10", "-1.0", "-4", "", "", "j"],
        ];
        for row in rows {
            let cells: Vec<Cell> = row
                .iter()
                .enumerate()
                .map(|(j, v)| match (j, *v) {
                    (_, "") => Cell::Null,
                    (5, "t") => Cell::Bool(true),
                    (5, "f") => Cell::Bool(false),
                    (5, _) => t.json_cell("[1]"),
                    (_, v) => match (v.parse::<i64>(), v.parse::<f64>()) {
                        (Ok(i), _) => Cell::Int(i),
                        (_, Ok(f)) => Cell::Float(f),
                        _ => t.str_cell(v),
                    },
                })
                .collect();
            t.push_row(&cells);
        }
        let s = stats(&t);
        assert_eq!(s.columns(), ["column", "count", "nulls", "min", "max", "mean"]);
        // i: 3 - 7 + 10 = 6 over 3; f: 0.5 + 2.25 - 1 = 1.75 over 3;
        // mix: numbers 2, 1.5, -4 -> -0.5 over 3, "x" counted but not in min/max.
        assert_eq!(
            show(&s),
            [
                ["s:i", "i:3", "i:1", "i:-7", "i:10", "f:2.0"],
                ["s:f", "i:3", "i:1", "f:-1.0", "f:2.25", &format!("f:{:?}", 1.75 / 3.0)],
                ["s:mix", "i:4", "i:0", "i:-4", "i:2", &format!("f:{:?}", -0.5 / 3.0)],
                ["s:s", "i:3", "i:1", "s:Zoo", "s:pear", "null"],
                ["s:none", "i:0", "i:4", "null", "null", "null"],
                ["s:b", "i:3", "i:1", "null", "null", "null"],
            ]
        );
    }

    #[test]
    fn integer_mean_is_exact() {
        let mut t = Table::new(vec!["n".into()]);
        for _ in 0..3 {
            t.push_row(&[Cell::Int(i64::MAX)]);
        }
        t.push_row(&[Cell::Int(i64::MAX - 1)]);
        // The sum overflows i64 but not i128; the mean is MAX - 0.25, which rounds to 2^63.
        let s = stats(&t);
        assert_eq!(s.row(0)[5], Cell::Float(9_223_372_036_854_775_807.0));
        let mut t = Table::new(vec!["n".into()]);
        t.push_row(&[Cell::Int(1)]);
        t.push_row(&[Cell::Int(2)]);
        assert_eq!(stats(&t).row(0)[5], Cell::Float(1.5));
        t.push_row(&[Cell::Int(-6)]);
        assert_eq!(stats(&t).row(0)[5], Cell::Float(-1.0));
    }

    #[test]
    fn ties_keep_the_first_cell_and_overflow_is_null() {
        let mut t = Table::new(vec!["n".into()]);
        t.push_row(&[Cell::Int(1)]);
        t.push_row(&[Cell::Float(1.0)]);
        t.push_row(&[Cell::Float(f64::MAX)]);
        t.push_row(&[Cell::Float(f64::MAX)]);
        let s = stats(&t);
        assert_eq!(s.row(0)[3], Cell::Int(1));
        assert_eq!(s.row(0)[4], Cell::Float(f64::MAX));
        assert_eq!(s.row(0)[5], Cell::Null);
    }

    #[test]
    fn empty_tables() {
        let s = stats(&Table::default());
        assert_eq!((s.n_cols(), s.n_rows()), (6, 0));
        let s = stats(&Table::new(vec!["a".into()]));
        assert_eq!(show(&s), [["s:a", "i:0", "i:0", "null", "null", "null"]]);
    }
}
