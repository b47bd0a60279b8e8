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
/// Cost: O(n log n) comparisons on keys gathered once (the first key beside each row
/// number; the others in columns read only on ties), then one pass to move the rows.
pub fn sort(table: Table, keys: &[SortKey]) -> Result<Table> {
    let Some((first, rest)) = keys.split_first() else {
        return Err(Error::bad_pipeline("`sort` needs at least one column").with_param("by"));
    };
    let first_index = column(&table, &first.column)?;
    let rest_columns = rest
        .iter()
        .map(|k| {
            let i = column(&table, &k.column)?;
            Ok(table.rows().map(|row| row[i]).collect::<Vec<Cell>>())
        })
        .collect::<Result<Vec<_>>>()?;

    let mut order: Vec<(Cell, usize)> = table.rows().enumerate().map(|(i, row)| (row[first_index], i)).collect();
    order.sort_by(|&(a, i), &(b, j)| {
        compare_key(&table, a, b, first.descending).then_with(|| {
            for (cells, key) in rest_columns.iter().zip(rest) {
                let o = compare_key(&table, cells[i], cells[j], key.descending);
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        })
    });

    let mut cells = Vec::with_capacity(table.n_rows().saturating_mul(table.n_cols()));
    for &(_, i) in &order {
        cells.extend_from_slice(table.row(i));
    }
    let columns = table.columns().to_vec();
    Ok(table.into_derived_with_cells(columns, cells))
}

/// One key's order: `Null` last either way.
fn compare_key(table: &Table, a: Cell, b: Cell, descending: bool) -> Ordering {
    match (a, b) {
        (Cell::Null, Cell::Null) => Ordering::Equal,
        (Cell::Null, _) => Ordering::Greater,
        (_, Cell::Null) => Ordering::Less,
        _ if descending => keys::compare(table, b, a),
        _ => keys::compare(table, a, b),
    }
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
}
