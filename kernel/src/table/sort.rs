//! `sort`: rows ordered by one or more columns.

use std::cmp::Ordering;

use super::query::column;
use super::{Cell, Table, keys};
use crate::{Error, Result};

/// One key of a sort: a column, ascending or descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// The column.
    pub column: String,
    /// Largest first.
    pub descending: bool,
}

impl SortKey {
    /// Reads the keys of `by=`: `name` ascending, `-name` descending, `+name` ascending
    /// (for a column whose name starts with `-`). An empty name or a column named twice
    /// is `bad_pipeline` (param `by`).
    pub fn parse_list(names: &[String]) -> Result<Vec<SortKey>> {
        let mut keys: Vec<SortKey> = Vec::with_capacity(names.len());
        for name in names {
            let (column, descending) = match name.as_bytes().first() {
                Some(b'-') => (&name[1..], true),
                Some(b'+') => (&name[1..], false),
                _ => (name.as_str(), false),
            };
            if column.is_empty() {
                return Err(Error::bad_pipeline(format!("`sort` key `{name}` names no column")).with_param("by"));
            }
            if keys.iter().any(|k| k.column == column) {
                return Err(Error::bad_pipeline(format!("`sort` names column `{column}` twice")).with_param("by"));
            }
            keys.push(SortKey {
                column: column.to_owned(),
                descending,
            });
        }
        Ok(keys)
    }
}

/// Sorts the rows by `keys`: by the first key, ties by the second, and so on; rows
/// equal on every key keep their order (a stable sort).
///
/// Per key, cells order as `filter` compares them: numbers numerically (`Int` and
/// `Float` by exact value), text by bytes (UTF-8 order, so `B` < `a` < `é`), `false` <
/// `true`. A column mixing types orders booleans, then numbers, then text, then nested
/// JSON (by its text). `Null` is last, descending too. An unknown column is `bad_input`.
///
/// Cost: O(n log n). Each key column's cells are sorted once on a 128-bit key that
/// orders them (numbers exactly; text by 15 bytes after the prefix they all share,
/// compared in full only on ties; other mixes compared cell by cell), the row number
/// breaking ties. With one key that is the order; with more, each column's cells are
/// numbered densely in their order and the rows sorted on those ranks (packed in one
/// integer when they fit, then radix-sorted), a column of at most 1024 distinct values
/// ranked by hashing its cells instead. Then the rows are moved once, in place.
pub fn sort(table: Table, keys: &[SortKey]) -> Result<Table> {
    if keys.is_empty() {
        return Err(Error::bad_pipeline("`sort` needs at least one column").with_param("by"));
    }
    let indices = keys
        .iter()
        .map(|k| column(&table, &k.column))
        .collect::<Result<Vec<usize>>>()?;
    let n = table.n_rows();
    let Ok(n32) = u32::try_from(n) else {
        return Err(Error::too_large("`sort` takes at most 2^32 - 1 rows"));
    };
    let ranks: Vec<(Vec<u32>, u32)> = match (keys, indices.as_slice()) {
        // One key: its sorted cells are the order.
        ([key], &[i]) => {
            let order = sorted_cells(&table, i, key.descending).0;
            return Ok(gather(table, &order));
        }
        _ => keys
            .iter()
            .zip(&indices)
            .map(|(key, &i)| {
                rank_few(&table, i, key.descending).unwrap_or_else(|| rank_column(&table, i, key.descending))
            })
            .collect(),
    };
    let bits: u32 = ranks.iter().map(|(_, top)| u32::BITS - top.leading_zeros()).sum();

    let order: Vec<u32> = if bits <= 64 {
        // Every key's rank side by side in one integer, the first key highest.
        let mut packed: Vec<(u64, u32)> = (0..n32).map(|row| (0, row)).collect();
        for (rank, top) in &ranks {
            let width = u32::BITS - top.leading_zeros();
            for (p, &r) in packed.iter_mut().zip(rank) {
                p.0 = (p.0.checked_shl(width).unwrap_or(0)) | u64::from(r);
            }
        }
        radix_sort(&mut packed, bits);
        packed.into_iter().map(|(_, row)| row).collect()
    } else {
        let mut rows: Vec<u32> = (0..n32).collect();
        rows.sort_unstable_by(|&a, &b| {
            for (rank, _) in &ranks {
                let o = rank[a as usize].cmp(&rank[b as usize]);
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.cmp(&b)
        });
        rows
    };

    Ok(gather(table, &order))
}

/// Sorts (key, row) pairs by the low `bits` bits of the key, stably: a least
/// significant digit radix sort, 11 bits a pass (so 64 bits take 6 passes over the
/// pairs, and a few distinct ranks one or two).
fn radix_sort(pairs: &mut Vec<(u64, u32)>, bits: u32) {
    const DIGIT: u32 = 11;
    let mut scratch = vec![(0u64, 0u32); pairs.len()];
    let mut shift = 0;
    while shift < bits {
        let width = DIGIT.min(bits - shift);
        let mask = (1u64 << width) - 1;
        let mut starts = vec![0usize; (1 << width) + 1];
        for &(key, _) in pairs.iter() {
            starts[((key >> shift) & mask) as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        for &pair in pairs.iter() {
            let digit = ((pair.0 >> shift) & mask) as usize;
            scratch[starts[digit]] = pair;
            starts[digit] += 1;
        }
        std::mem::swap(pairs, &mut scratch);
        shift += width;
    }
}

/// Columns with at most this many distinct values are ranked by hashing, not sorting.
const FEW: usize = 1024;

/// [`rank_column`] for a column of few distinct values (at most [`FEW`]): the values
/// found by hashing each cell once, then only they are sorted. `None` (after looking at
/// the rows up to the one with the value past `FEW`) when the column has more.
fn rank_few(table: &Table, col: usize, descending: bool) -> Option<(Vec<u32>, u32)> {
    let mut groups = keys::RowGroups::new(1);
    let mut group_of_row = Vec::with_capacity(table.n_rows());
    for i in 0..table.n_rows() {
        let (g, new) = groups.group_of(table, &[col], i);
        if new && g >= FEW {
            return None;
        }
        // At most FEW groups.
        group_of_row.push(g as u32);
    }
    let values: Vec<Cell> = groups.first_rows().map(|row| table.row(row)[col]).collect();
    let mut by_value: Vec<usize> = (0..values.len()).collect();
    // Distinct values: no two compare equal, so the position in order is the rank.
    by_value.sort_unstable_by(|&a, &b| match (values[a], values[b]) {
        (Cell::Null, Cell::Null) => Ordering::Equal,
        (Cell::Null, _) => Ordering::Greater,
        (_, Cell::Null) => Ordering::Less,
        (x, y) if descending => keys::compare(table, y, x),
        (x, y) => keys::compare(table, x, y),
    });
    let mut rank_of_group = vec![0u32; values.len()];
    for (rank, &g) in by_value.iter().enumerate() {
        rank_of_group[g] = rank as u32;
    }
    let ranks = group_of_row.iter().map(|&g| rank_of_group[g as usize]).collect();
    Some((ranks, values.len().saturating_sub(1) as u32))
}

/// The table's rows in this order (`order[i]` is the row that goes to place `i`),
/// moved in place along the permutation's cycles: each row is copied once, and no
/// second table of cells is allocated. Then the text is copied in the rows' new order
/// (the random reads happen in one tight loop, and writers read the text front to
/// back: faster overall than leaving it in input order).
fn gather(mut table: Table, order: &[u32]) -> Table {
    let width = table.n_cols();
    let cells = &mut table.cells;
    if width == 0 || order.len() * width != cells.len() {
        return table;
    }
    let mut done = vec![false; order.len()];
    let mut held = vec![Cell::Null; width];
    for start in 0..order.len() {
        if done[start] {
            continue;
        }
        held.copy_from_slice(&cells[start * width..(start + 1) * width]);
        let mut place = start;
        loop {
            done[place] = true;
            let from = order[place] as usize;
            if from == start {
                cells[place * width..(place + 1) * width].copy_from_slice(&held);
                break;
            }
            cells.copy_within(from * width..(from + 1) * width, place * width);
            place = from;
        }
    }
    // The text in the rows' new order, so writers read it front to back.
    let mut text = String::with_capacity(table.text.len());
    for cell in &mut table.cells {
        if let Cell::Str(span) | Cell::Json(span) = cell {
            let start = text.len() as u32;
            text.push_str(
                table
                    .text
                    .get(span.start as usize..(span.start + span.len) as usize)
                    .unwrap_or_default(),
            );
            span.start = start;
        }
    }
    table.text = text;
    table
}

/// How a column's cells map to a 128-bit sort key.
#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    /// Only `Int`s (or only `Bool`s): the key orders them exactly.
    Ints,
    /// Only numbers, every `Int` within 2^53 (exact as f64): the key orders them exactly.
    Floats,
    /// Only `Str` (or only `Json`) cells, all starting with the same `prefix` bytes:
    /// the key is the next 15 bytes and the length of the rest (up to 16); equal keys
    /// under length 16 are equal texts, others are compared in full.
    Text { prefix: usize },
    /// Anything else: no key, every pair compared.
    Mixed,
}

/// The rows with a non-null cell in column `col` sorted by it (ties by row, so in a
/// stable order) followed by the rows with `Null`; and, per sorted row, whether its
/// cell equals the one before. `descending` reverses the order of the non-null cells.
fn sorted_cells(table: &Table, col: usize, descending: bool) -> (Vec<u32>, Vec<bool>) {
    let cells: Vec<Cell> = table.rows().map(|row| row[col]).collect();
    let encoding = encoding_of(table, &cells);
    // Rows are fewer than 2^32 (checked by the caller).
    let mut items: Vec<(u128, u32)> = Vec::with_capacity(cells.len());
    let mut nulls: Vec<u32> = Vec::new();
    for (row, &c) in cells.iter().enumerate() {
        if c == Cell::Null {
            nulls.push(row as u32);
        } else {
            let key = sort_key(table, c, encoding);
            items.push((if descending { !key } else { key }, row as u32));
        }
    }
    let exact = |k: u128| match encoding {
        Encoding::Ints | Encoding::Floats => true,
        // The length is in the low byte, inverted for descending keys.
        Encoding::Text { .. } => (if descending { !k } else { k }) & 0xFF < 16,
        Encoding::Mixed => false,
    };
    let full = |a: u32, b: u32| {
        let o = keys::compare(table, cells[a as usize], cells[b as usize]);
        if descending { o.reverse() } else { o }
    };
    let same = |a: &(u128, u32), b: &(u128, u32)| match a.0.cmp(&b.0) {
        Ordering::Equal if !exact(a.0) => full(a.1, b.1),
        o => o,
    };
    items.sort_unstable_by(|a, b| same(a, b).then(a.1.cmp(&b.1)));
    let mut equal_to_previous = Vec::with_capacity(cells.len());
    for (i, item) in items.iter().enumerate() {
        equal_to_previous.push(i > 0 && same(&items[i - 1], item) == Ordering::Equal);
    }
    equal_to_previous.extend(nulls.iter().enumerate().map(|(i, _)| i > 0));
    let order = items.into_iter().map(|(_, row)| row).chain(nulls).collect();
    (order, equal_to_previous)
}

/// The dense rank of each row's cell in column `col` (0 for the first in order; equal
/// cells share a rank, `Null` ranked after all), and the largest rank given.
fn rank_column(table: &Table, col: usize, descending: bool) -> (Vec<u32>, u32) {
    let (order, equal) = sorted_cells(table, col, descending);
    let mut ranks = vec![0u32; order.len()];
    let mut rank = 0u32;
    for (i, (&row, &same)) in order.iter().zip(&equal).enumerate() {
        if i > 0 && !same {
            rank += 1;
        }
        ranks[row as usize] = rank;
    }
    (ranks, rank)
}

/// The encoding a column's non-null cells allow.
fn encoding_of(table: &Table, cells: &[Cell]) -> Encoding {
    const EXACT: i64 = 1 << 53;
    let (mut ints, mut floats, mut big, mut strs, mut jsons, mut bools) = (false, false, false, false, false, false);
    // The bytes every text so far starts with.
    let mut common: Option<&[u8]> = None;
    for &c in cells {
        match c {
            Cell::Null => {}
            Cell::Int(i) => {
                ints = true;
                big |= !(-EXACT..=EXACT).contains(&i);
            }
            Cell::Float(_) => floats = true,
            Cell::Str(span) | Cell::Json(span) => {
                if matches!(c, Cell::Str(_)) {
                    strs = true;
                } else {
                    jsons = true;
                }
                let text = table.bytes(span);
                common = Some(match common {
                    None => text,
                    Some(p) => {
                        let n = p.iter().zip(text).take_while(|(a, b)| a == b).count();
                        &p[..n]
                    }
                });
            }
            Cell::Bool(_) => bools = true,
        }
    }
    match (ints || floats, strs, jsons, bools) {
        (true, false, false, false) if !floats => Encoding::Ints,
        (true, false, false, false) if !big => Encoding::Floats,
        (false, true, false, false) | (false, false, true, false) => Encoding::Text {
            prefix: common.map_or(0, <[u8]>::len),
        },
        (false, false, false, _) => Encoding::Ints,
        _ => Encoding::Mixed,
    }
}

/// The 128-bit key of a non-null cell under `encoding` (see [`Encoding`]).
fn sort_key(table: &Table, cell: Cell, encoding: Encoding) -> u128 {
    const SIGN: u64 = 1 << 63;
    match (encoding, cell) {
        (Encoding::Ints, Cell::Int(i)) => u128::from((i as u64) ^ SIGN),
        (Encoding::Ints, Cell::Bool(b)) => u128::from(b),
        (Encoding::Floats, Cell::Int(i)) => u128::from(float_key(i as f64)),
        (Encoding::Floats, Cell::Float(f)) => u128::from(float_key(f)),
        (Encoding::Text { prefix }, Cell::Str(span) | Cell::Json(span)) => {
            let rest = table.bytes(span).get(prefix..).unwrap_or_default();
            let mut key = [0u8; 16];
            for (k, b) in key.iter_mut().zip(rest.iter().take(15)) {
                *k = *b;
            }
            key[15] = rest.len().min(16) as u8;
            u128::from_be_bytes(key)
        }
        _ => 0,
    }
}

/// A float's bits, made to order as the floats do (`-0.0` as `0.0`).
fn float_key(f: f64) -> u64 {
    let bits = if f == 0.0 { 0 } else { f.to_bits() };
    if bits >> 63 == 1 { !bits } else { bits | (1 << 63) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use crate::table::read_csv::tests::show;
    use crate::table::read_csv::{CsvOptions, parse_csv};
    use crate::{Limits, table::write_csv::to_csv};

    fn csv(text: &str) -> Table {
        parse_csv(text.as_bytes(), &CsvOptions::default(), &Limits::default()).unwrap()
    }

    fn by(names: &str) -> Vec<SortKey> {
        SortKey::parse_list(&names.split(',').map(str::to_owned).collect::<Vec<_>>()).unwrap()
    }

    fn sorted(t: &str, keys: &str) -> String {
        String::from_utf8(to_csv(&sort(csv(t), &by(keys)).unwrap(), b',').unwrap()).unwrap()
    }

    #[test]
    fn multi_key_stable_nulls_last() {
        let t = "k,v,id\nb,2,1\na,,2\nb,1,3\n,5,4\na,3,5\nb,2,6\n";
        assert_eq!(sorted(t, "k"), "k,v,id\na,,2\na,3,5\nb,2,1\nb,1,3\nb,2,6\n,5,4\n");
        assert_eq!(sorted(t, "-k"), "k,v,id\nb,2,1\nb,1,3\nb,2,6\na,,2\na,3,5\n,5,4\n");
        assert_eq!(sorted(t, "k,-v"), "k,v,id\na,3,5\na,,2\nb,2,1\nb,2,6\nb,1,3\n,5,4\n");
        assert_eq!(
            sorted(t, "+k,v,-id"),
            "k,v,id\na,3,5\na,,2\nb,1,3\nb,2,6\nb,2,1\n,5,4\n"
        );
        assert_eq!(sorted(t, "v"), "k,v,id\nb,1,3\nb,2,1\nb,2,6\na,3,5\n,5,4\na,,2\n");
        assert_eq!(sorted(t, "-v"), "k,v,id\n,5,4\na,3,5\nb,2,1\nb,2,6\nb,1,3\na,,2\n");
    }

    #[test]
    fn numbers_numerically_text_by_bytes_mixed_by_type() {
        let t = "x,n\n10,1\n9.5,2\n-2,3\nB,4\na,5\né,6\n1e1,7\ntrue,8\nfalse,9\n,10\n007,11\n";
        let order = |keys: &str| -> Vec<String> {
            sorted(t, keys)
                .lines()
                .skip(1)
                .map(|l| l.split_once(',').unwrap().1.to_owned())
                .collect()
        };
        // false, true, -2, 9.5, 10, 1e1 (equal to 10: kept in order), 007, B, a, é, null.
        assert_eq!(order("x"), ["9", "8", "3", "2", "1", "7", "11", "4", "5", "6", "10"]);
        assert_eq!(order("-x"), ["6", "5", "4", "11", "1", "7", "2", "3", "8", "9", "10"]);
    }

    #[test]
    fn parse_keys() {
        assert_eq!(
            by("-a,+-b,c"),
            [
                SortKey {
                    column: "a".into(),
                    descending: true
                },
                SortKey {
                    column: "-b".into(),
                    descending: false
                },
                SortKey {
                    column: "c".into(),
                    descending: false
                },
            ]
        );
        for bad in ["-", "+", "a,-a", "a,+a"] {
            let names: Vec<String> = bad.split(',').map(str::to_owned).collect();
            let e = SortKey::parse_list(&names).unwrap_err();
            assert_eq!(
                (e.code, e.param.as_deref()),
                (ErrorCode::BadPipeline, Some("by")),
                "{bad}"
            );
        }
    }

    #[test]
    fn errors_and_empty_tables() {
        let e = sort(csv("a\n1\n"), &by("b")).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        let e = sort(csv("a\n1\n"), &by("a,-b")).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        assert_eq!(sort(csv("a,b\n"), &by("b")).unwrap().columns(), ["a", "b"]);
        assert_eq!(sort(Table::default(), &by("a")).unwrap_err().code, ErrorCode::BadInput);
        assert_eq!(sort(csv("a\n"), &[]).unwrap_err().code, ErrorCode::BadPipeline);
    }

    /// Against a naive reference: an insertion sort (stable by construction) with the
    /// order written out independently (type rank, then value as f64 or text).
    #[test]
    fn matches_a_naive_insertion_sort() {
        let mut r = 0x2545_f491_u32;
        let mut next = move || {
            r ^= r << 13;
            r ^= r >> 17;
            r ^= r << 5;
            r
        };
        let mut text = String::from("a,b,c\n");
        for _ in 0..300 {
            let cell = |v: u32| match v % 6 {
                0 => String::new(),
                1 => format!("{}", v % 7),
                2 => format!("{}.5", v % 5),
                3 => ["x", "y", "Y", "xx"][(v % 4) as usize].to_owned(),
                4 => ["true", "false"][(v % 2) as usize].to_owned(),
                _ => format!("-{}", v % 3 + 1),
            };
            text.push_str(&format!("{},{},{}\n", cell(next()), cell(next()), cell(next())));
        }
        let t = csv(&text);
        let rank = |c: &str| -> (u8, f64, String) {
            match c {
                "" => (9, 0.0, String::new()),
                "true" | "false" => (0, f64::from(u8::from(c == "true")), String::new()),
                _ => match c.parse::<f64>() {
                    Ok(f) => (1, f, String::new()),
                    Err(_) => (2, 0.0, c.to_owned()),
                },
            }
        };
        for keys in ["a", "-b", "a,-b", "c,b,a", "-c,-a"] {
            let keys = by(keys);
            let rows: Vec<Vec<String>> = text
                .lines()
                .skip(1)
                .map(|l| l.split(',').map(str::to_owned).collect())
                .collect();
            let cmp = |x: &Vec<String>, y: &Vec<String>| {
                for k in &keys {
                    let i = ["a", "b", "c"].iter().position(|c| *c == k.column).unwrap();
                    let (rx, ry) = (rank(&x[i]), rank(&y[i]));
                    let mut o =
                        rx.0.cmp(&ry.0)
                            .then(rx.1.partial_cmp(&ry.1).unwrap())
                            .then(rx.2.cmp(&ry.2));
                    if k.descending && rx.0 != 9 && ry.0 != 9 {
                        o = o.reverse();
                    }
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            };
            let mut want: Vec<Vec<String>> = Vec::new();
            for row in rows {
                let at = want
                    .iter()
                    .position(|w| cmp(&row, w) == Ordering::Less)
                    .unwrap_or(want.len());
                want.insert(at, row);
            }
            let got = sort(t.clone(), &keys).unwrap();
            let want_csv: String = want.iter().map(|r| r.join(",") + "\n").collect();
            let got_csv = String::from_utf8(to_csv(&got, b',').unwrap()).unwrap();
            assert_eq!(got_csv.split_once('\n').unwrap().1, want_csv, "{keys:?}");
            assert_eq!(show(&got).len(), 300);
        }
    }

    /// The ranked sort against the plain one: a stable `sort_by` comparing cells
    /// directly, on columns of every encoding (ints with their extremes, floats with
    /// -0.0 and integers, text sharing prefixes, with NUL bytes and lengths 7 and 8,
    /// big integers beside floats, mixed types), one to many keys (past 64 bits of
    /// packed ranks).
    #[test]
    fn ranked_sort_matches_direct_comparison() {
        let mut r = 0x9e37_79b9_u32;
        let mut next = move || {
            r ^= r << 13;
            r ^= r >> 17;
            r ^= r << 5;
            r
        };
        let names: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
        let mut t = Table::new(names.clone());
        let texts = [
            "",
            "a",
            "abcdefg",
            "abcdefgh",
            "abcdefgha",
            "abcdefg\0",
            "abcdefga",
            "b",
            "\0",
            "é",
            "B",
        ];
        for _ in 0..1100 {
            let v = next();
            let null = v % 9 == 0;
            let mut row = Vec::new();
            for c in 0..12 {
                let w = next();
                let cell = match c {
                    _ if null && c % 2 == 0 => Cell::Null,
                    0 => Cell::Int([i64::MIN, i64::MAX, -1, 0, 1, 7][(w % 6) as usize]),
                    1 => [
                        Cell::Float(-0.0),
                        Cell::Float(0.0),
                        Cell::Int(0),
                        Cell::Float(-2.5),
                        Cell::Int(-3),
                        Cell::Float(1e300),
                    ][(w % 6) as usize],
                    2 => t.str_cell(texts[(w % texts.len() as u32) as usize]),
                    3 => [
                        Cell::Int(9_007_199_254_740_993),
                        Cell::Float(9_007_199_254_740_992.0),
                        Cell::Int(1),
                        Cell::Float(0.5),
                    ][(w % 4) as usize],
                    4 => [Cell::Bool(true), Cell::Int(2), Cell::Null, Cell::Float(1.5)][(w % 4) as usize],
                    5 => Cell::Bool(w % 2 == 0),
                    6 => t.json_cell(&format!("[{}]", w % 2000)),
                    // All share the prefix `pre\0` (a NUL): ranked past it.
                    7 => t.str_cell(&format!("pre\0{}", texts[(w % texts.len() as u32) as usize])),
                    // About 1100 distinct values each: 11 bits of rank.
                    _ => Cell::Int(i64::from(w)),
                };
                row.push(cell);
            }
            t.push_row(&row);
        }
        // Rows as text, spans read in `arena`.
        let render = |arena: &Table, rows: Vec<&[Cell]>| -> Vec<Vec<String>> {
            rows.into_iter()
                .map(|row| {
                    row.iter()
                        .map(|&c| match c {
                            Cell::Str(span) | Cell::Json(span) => format!("t:{}", arena.text(span)),
                            other => format!("{other:?}"),
                        })
                        .collect()
                })
                .collect()
        };
        let direct = |keys: &[SortKey]| -> Vec<Vec<String>> {
            let idx: Vec<usize> = keys.iter().map(|k| t.column_index(&k.column).unwrap()).collect();
            let mut rows: Vec<&[Cell]> = t.rows().collect();
            rows.sort_by(|a, b| {
                for (k, &i) in keys.iter().zip(&idx) {
                    let o = match (a[i], b[i]) {
                        (Cell::Null, Cell::Null) => Ordering::Equal,
                        (Cell::Null, _) => Ordering::Greater,
                        (_, Cell::Null) => Ordering::Less,
                        (x, y) if k.descending => keys::compare(&t, y, x),
                        (x, y) => keys::compare(&t, x, y),
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
            render(&t, rows)
        };
        let sorted = |keys: &[SortKey]| -> Vec<Vec<String>> {
            let out = sort(t.clone(), keys).unwrap();
            render(&out, out.rows().collect())
        };
        let mut lists: Vec<String> = names.iter().flat_map(|n| [n.clone(), format!("-{n}")]).collect();
        lists.extend(
            [
                "c2,-c1",
                "-c3,c0,c2",
                "c4,c6,-c5",
                "c7,-c8,c9,-c10,c11,c1,c0",
                "-c0,c1,c2,c3,c4,c5,c6",
            ]
            .map(str::to_owned),
        );
        for list in lists {
            let keys = by(&list);
            assert_eq!(sorted(&keys), direct(&keys), "{list}");
        }
        // Ranks of 64-bit ints and 12 keys do not fit in 64 bits: the other path.
        let all: Vec<String> = names.iter().rev().cloned().collect();
        let keys = SortKey::parse_list(&all).unwrap();
        let bits: u32 = keys
            .iter()
            .map(|k| rank_column(&t, t.column_index(&k.column).unwrap(), false).1)
            .map(|top| u32::BITS - top.leading_zeros())
            .sum();
        assert!(bits > 64, "{bits}");
        assert_eq!(sorted(&keys), direct(&keys));
    }
}
