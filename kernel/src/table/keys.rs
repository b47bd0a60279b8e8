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
/// first row, numbered in the order groups first appear.
///
/// An open-addressing table (linear probing, at most half full) holds each group's
/// 64-bit key hash (SipHash with fixed keys) beside its number, and the groups' key
/// cells are kept side by side: a lookup costs one hash, a probe that compares hashes
/// in place, and for a matching hash one comparison of cells kept together, not of a
/// row somewhere in the table.
pub(super) struct RowGroups {
    /// (hash, group) slots; `u32::MAX` marks an empty slot. The length is a power of two.
    slots: Vec<(u64, u32)>,
    /// The key cells of each group, `width` per group, in group order.
    keys: Vec<Cell>,
    /// The first row of each group.
    first_rows: Vec<usize>,
    width: usize,
}

impl RowGroups {
    /// An empty grouping by `width` key cells.
    pub(super) fn new(width: usize) -> RowGroups {
        RowGroups {
            slots: vec![(0, u32::MAX); 16],
            keys: Vec::new(),
            first_rows: Vec::new(),
            width,
        }
    }

    /// The number of groups so far.
    pub(super) fn len(&self) -> usize {
        self.first_rows.len()
    }

    /// The first row of each group, in order.
    pub(super) fn first_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.first_rows.iter().copied()
    }

    /// The group of row `i` of `table` by the cells of `columns` (as many as the width
    /// given to [`RowGroups::new`]), and whether it is new (then numbered `len() - 1`).
    pub(super) fn group_of(&mut self, table: &Table, columns: &[usize], i: usize) -> (usize, bool) {
        let row = table.row(i);
        let cell = |c: usize| row.get(c).copied().unwrap_or(Cell::Null);
        let mut state = DefaultHasher::new();
        for &c in columns {
            hash(table, cell(c), &mut state);
        }
        let key = state.finish();
        let mask = self.slots.len() - 1;
        let mut at = (key as usize) & mask;
        loop {
            let (h, g) = self.slots[at];
            if g == u32::MAX {
                break;
            }
            if h == key {
                let start = g as usize * self.width;
                let same = self
                    .keys
                    .get(start..start + self.width)
                    .is_some_and(|keys| keys.iter().zip(columns).all(|(&k, &c)| equal(table, k, cell(c))));
                if same {
                    return (g as usize, false);
                }
            }
            at = (at + 1) & mask;
        }
        let group = self.first_rows.len();
        // Groups are numbered in u32: a table has far fewer rows.
        self.slots[at] = (key, u32::try_from(group).unwrap_or(u32::MAX - 1));
        self.keys.extend(columns.iter().map(|&c| cell(c)));
        self.first_rows.push(i);
        if (group + 1) * 2 > self.slots.len() {
            self.grow();
        }
        (group, true)
    }

    /// Doubles the slots, placing every group again by its hash.
    fn grow(&mut self) {
        let mut slots = vec![(0, u32::MAX); self.slots.len() * 2];
        let mask = slots.len() - 1;
        for &(h, g) in &self.slots {
            if g == u32::MAX {
                continue;
            }
            let mut at = (h as usize) & mask;
            while slots[at].1 != u32::MAX {
                at = (at + 1) & mask;
            }
            slots[at] = (h, g);
        }
        self.slots = slots;
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

    /// Many groups (the slots grow several times) against a map from each key's text to
    /// its first row.
    #[test]
    fn row_groups_against_a_map() {
        let mut t = Table::new(vec!["a".into(), "b".into()]);
        let mut want: std::collections::BTreeMap<(String, i64), usize> = std::collections::BTreeMap::new();
        let mut order = Vec::new();
        for i in 0..20_000usize {
            let (a, b) = (format!("k{}", (i * 7919) % 5003), ((i * 31) % 3) as i64);
            let cell = t.str_cell(&a);
            // Every third key's number as a float: 1.0 groups with 1.
            let number = if i % 3 == 0 {
                Cell::Float(b as f64)
            } else {
                Cell::Int(b)
            };
            t.push_row(&[cell, number]);
            want.entry((a, b)).or_insert_with(|| {
                order.push(i);
                i
            });
        }
        let mut groups = RowGroups::new(2);
        let mut seen = Vec::new();
        for i in 0..t.n_rows() {
            let (g, new) = groups.group_of(&t, &[0, 1], i);
            if new {
                assert_eq!(g, seen.len());
                seen.push(i);
            } else {
                assert!(g < seen.len());
            }
        }
        assert_eq!(groups.len(), want.len());
        assert_eq!(groups.first_rows().collect::<Vec<_>>(), order);
        assert_eq!(seen, order);
    }
}
