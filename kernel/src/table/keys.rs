//! Cells as keys: the order `sort` uses and the equality and hash `distinct` and
//! `group_by` use, one set of rules for all three.
//!
//! - Types rank `Bool` < numbers < `Str` < `Json` (a column of one type never mixes
//!   them); `Null` is handled by the callers (sorted last, equal to `Null`).
//! - Numbers compare by their exact value: `Int` with `Int` exactly, `Int` with `Float`
//!   exactly too (no rounding to f64, so the order is a true total order: 2^53 + 1 sorts
//!   above 2^53 as a float), `1` equals `1.0`, `-0.0` equals `0.0`.
//! - `Str` and `Json` compare by bytes (UTF-8 order); `false` < `true`.

use std::cmp::Ordering;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::{Cell, Table};

/// The rank of a cell's type in the order.
fn rank(cell: Cell) -> u8 {
    match cell {
        Cell::Bool(_) => 0,
        Cell::Int(_) | Cell::Float(_) => 1,
        Cell::Str(_) => 2,
        Cell::Json(_) => 3,
        Cell::Null => 4,
    }
}

/// Orders two cells of `table` (`Null` after everything, equal to `Null`).
pub(super) fn compare(table: &Table, a: Cell, b: Cell) -> Ordering {
    match (a, b) {
        (Cell::Int(x), Cell::Int(y)) => x.cmp(&y),
        (Cell::Float(x), Cell::Float(y)) => compare_floats(x, y),
        (Cell::Int(x), Cell::Float(y)) => compare_int_float(x, y),
        (Cell::Float(x), Cell::Int(y)) => compare_int_float(y, x).reverse(),
        (Cell::Str(x), Cell::Str(y)) | (Cell::Json(x), Cell::Json(y)) => table.bytes(x).cmp(table.bytes(y)),
        (Cell::Bool(x), Cell::Bool(y)) => x.cmp(&y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Floats by value; a NaN (which a table never holds) after every number.
fn compare_floats(x: f64, y: f64) -> Ordering {
    x.partial_cmp(&y).unwrap_or_else(|| x.is_nan().cmp(&y.is_nan()))
}

/// An integer against a float, exactly.
fn compare_int_float(i: i64, f: f64) -> Ordering {
    // 2^63: the first float above every i64.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    // In range and integral, so the conversion is exact.
    match i.cmp(&(whole as i64)) {
        Ordering::Equal => compare_floats(whole, f),
        unequal => unequal,
    }
}

/// Whether two cells are the same key (`Null` equals `Null`).
pub(super) fn equal(table: &Table, a: Cell, b: Cell) -> bool {
    compare(table, a, b) == Ordering::Equal
}

/// Hashes a cell consistently with [`equal`]: equal cells hash alike (`1` and `1.0`
/// included).
pub(super) fn hash(table: &Table, cell: Cell, state: &mut DefaultHasher) {
    match cell {
        Cell::Null => state.write_u8(0),
        Cell::Bool(b) => {
            state.write_u8(1);
            b.hash(state);
        }
        Cell::Int(i) => {
            state.write_u8(2);
            state.write_i64(i);
        }
        Cell::Float(f) => {
            // An integral float in i64's range hashes as that integer; any other float
            // equals no integer.
            const TWO_63: f64 = 9_223_372_036_854_775_808.0;
            if f.trunc() == f && (-TWO_63..TWO_63).contains(&f) {
                state.write_u8(2);
                state.write_i64(f as i64);
            } else {
                state.write_u8(3);
                let bits = if f.is_nan() { f64::NAN.to_bits() } else { f.to_bits() };
                state.write_u64(bits);
            }
        }
        Cell::Str(span) => {
            state.write_u8(4);
            state.write(table.bytes(span));
            state.write_u8(0xFF);
        }
        Cell::Json(span) => {
            state.write_u8(5);
            state.write(table.bytes(span));
            state.write_u8(0xFF);
        }
    }
}

/// Rows of one table grouped by the cells of some columns: each group is known by its
/// first row, numbered in the order groups first appear. A hash of the key cells finds
/// the candidates (SipHash with fixed keys; groups whose hashes collide are chained and
/// compared cell by cell), so a lookup costs one hash and, usually, one comparison.
pub(super) struct RowGroups {
    /// The group (its number) of each key hash: the head of a chain through `next`.
    heads: std::collections::HashMap<u64, u32>,
    /// Per group: its first row and the next group with the same hash (`u32::MAX`: none).
    groups: Vec<(usize, u32)>,
}

impl RowGroups {
    pub(super) fn new() -> RowGroups {
        RowGroups {
            heads: std::collections::HashMap::new(),
            groups: Vec::new(),
        }
    }

    /// The number of groups so far.
    pub(super) fn len(&self) -> usize {
        self.groups.len()
    }

    /// The first row of each group, in order.
    pub(super) fn first_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.groups.iter().map(|&(row, _)| row)
    }

    /// The group of row `i` of `table` by the cells of `columns`, and whether it is new
    /// (then numbered `len() - 1`).
    pub(super) fn group_of(&mut self, table: &Table, columns: &[usize], i: usize) -> (usize, bool) {
        let row = table.row(i);
        let mut state = DefaultHasher::new();
        for &c in columns {
            hash(table, row.get(c).copied().unwrap_or(Cell::Null), &mut state);
        }
        let key = state.finish();
        let same = |other: usize| {
            let other = table.row(other);
            columns.iter().all(|&c| {
                let a = row.get(c).copied().unwrap_or(Cell::Null);
                let b = other.get(c).copied().unwrap_or(Cell::Null);
                equal(table, a, b)
            })
        };
        let new = self.groups.len();
        // Groups are numbered in u32 (a table has far fewer rows).
        let new32 = u32::try_from(new).unwrap_or(u32::MAX);
        match self.heads.entry(key) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(new32);
            }
            std::collections::hash_map::Entry::Occupied(slot) => {
                let mut g = *slot.get();
                while let Some(&(first, next)) = self.groups.get(g as usize) {
                    if same(first) {
                        return (g as usize, false);
                    }
                    if next == u32::MAX {
                        // Chain the new group after the last one.
                        if let Some(last) = self.groups.get_mut(g as usize) {
                            last.1 = new32;
                        }
                        break;
                    }
                    g = next;
                }
            }
        }
        self.groups.push((i, u32::MAX));
        (new, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Table, Vec<Cell>) {
        let mut t = Table::new(vec!["x".into()]);
        let cells = vec![
            Cell::Null,
            Cell::Bool(true),
            Cell::Bool(false),
            Cell::Int(1),
            Cell::Float(1.0),
            Cell::Float(-0.0),
            Cell::Int(0),
            Cell::Float(0.5),
            Cell::Int(i64::MAX),
            Cell::Float(9_223_372_036_854_775_808.0),
            Cell::Int(i64::MIN),
            Cell::Float(-9_223_372_036_854_775_808.0),
            Cell::Int(9_007_199_254_740_993),
            Cell::Float(9_007_199_254_740_992.0),
            Cell::Float(-1e300),
            Cell::Float(1e300),
            t.str_cell(""),
            t.str_cell("a"),
            t.str_cell("B"),
            t.str_cell("é"),
            t.json_cell("[1]"),
            t.json_cell("{}"),
        ];
        (t, cells)
    }

    /// The numeric value of a number cell, exactly, as a fraction n / 2^k held in i128
    /// by halves: a reference order for numbers computed another way.
    fn exact(cell: Cell) -> Option<(i128, i128)> {
        match cell {
            Cell::Int(i) => Some((i128::from(i), 0)),
            // Every float here is a multiple of 1/2 or beyond i128's reach as halves.
            Cell::Float(f) if f.abs() < 1e30 => Some(((f * 2.0) as i128 / 2, (f * 2.0) as i128 % 2)),
            _ => None,
        }
    }

    #[test]
    fn order_is_total_and_consistent_with_hash() {
        let (t, cells) = sample();
        for &a in &cells {
            for &b in &cells {
                let ab = compare(&t, a, b);
                assert_eq!(ab, compare(&t, b, a).reverse(), "{a:?} {b:?}");
                if equal(&t, a, b) {
                    let (mut ha, mut hb) = (DefaultHasher::new(), DefaultHasher::new());
                    hash(&t, a, &mut ha);
                    hash(&t, b, &mut hb);
                    assert_eq!(ha.finish(), hb.finish(), "{a:?} {b:?}");
                }
                if let (Some(x), Some(y)) = (exact(a), exact(b)) {
                    assert_eq!(ab, x.cmp(&y), "{a:?} {b:?}");
                }
                for &c in &cells {
                    // Transitivity.
                    if ab != Ordering::Greater && compare(&t, b, c) != Ordering::Greater {
                        assert_ne!(compare(&t, a, c), Ordering::Greater, "{a:?} {b:?} {c:?}");
                    }
                }
            }
        }
        assert!(equal(&t, Cell::Int(1), Cell::Float(1.0)));
        assert!(equal(&t, Cell::Int(0), Cell::Float(-0.0)));
        assert_eq!(
            compare(
                &t,
                Cell::Int(9_007_199_254_740_993),
                Cell::Float(9_007_199_254_740_992.0)
            ),
            Ordering::Greater
        );
        assert_eq!(
            compare(&t, Cell::Int(i64::MAX), Cell::Float(9_223_372_036_854_775_808.0)),
            Ordering::Less
        );
        assert!(equal(
            &t,
            Cell::Int(i64::MIN),
            Cell::Float(-9_223_372_036_854_775_808.0)
        ));
        assert_eq!(compare(&t, cells[1], cells[3]), Ordering::Less);
        assert_eq!(compare(&t, cells[15], cells[16]), Ordering::Less);
        assert_eq!(compare(&t, cells[21], cells[0]), Ordering::Less);
    }
}
