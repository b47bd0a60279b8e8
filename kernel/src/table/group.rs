//! `distinct` and `group_by`: rows grouped by the cells of some columns, groups in the
//! order they first appear.

use std::collections::HashSet;

use super::keys::RowGroups;
use super::query::column;
use super::stats::{Extremes, Sum};
use super::{Cell, Table};
use crate::{Error, Limits, Result};

/// Keeps the first row of each distinct combination of cells in `columns` (every
/// column when `None`), in order; all columns are kept.
///
/// Cells are the same as `sort` orders them: numbers by value (`1` and `1.0` are the
/// same), text by bytes, `Null` the same as `Null`, different types never the same.
/// An unknown column is `bad_input`; a column named twice is `bad_pipeline` (param
/// `columns`). Cost: one hash lookup per row.
pub fn distinct(table: Table, columns: Option<&[String]>) -> Result<Table> {
    let indices = match columns {
        Some(names) => key_columns(&table, names, "distinct", "columns")?,
        None => (0..table.n_cols()).collect(),
    };
    let mut groups = RowGroups::new(indices.len());
    let mut cells = Vec::new();
    for i in 0..table.n_rows() {
        if groups.group_of(&table, &indices, i).1 {
            cells.extend_from_slice(table.row(i));
        }
    }
    let columns = table.columns().to_vec();
    Ok(table.into_derived_with_cells(columns, cells))
}

/// An aggregate of `group_by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aggregate {
    /// `count`: the rows of the group.
    Count,
    /// `sum:COLUMN`
    Sum(String),
    /// `mean:COLUMN`
    Mean(String),
    /// `min:COLUMN`
    Min(String),
    /// `max:COLUMN`
    Max(String),
}

impl Aggregate {
    /// Reads `aggregates=` (`count`, `sum:col`, `mean:col`, `min:col`, `max:col`) for
    /// the key columns `by`: `bad_pipeline` (param `aggregates`) for another form, an
    /// aggregate given twice, or an output name that is also a `by` column.
    pub fn parse_list(names: &[String], by: &[String]) -> Result<Vec<Aggregate>> {
        let bad = |message: String| Error::bad_pipeline(message).with_param("aggregates");
        let mut out: Vec<Aggregate> = Vec::with_capacity(names.len());
        let mut outputs: HashSet<String> = by.iter().cloned().collect();
        for name in names {
            let aggregate = match name.split_once(':') {
                None if name == "count" => Aggregate::Count,
                Some((_, "")) => return Err(bad(format!("aggregate `{name}` names no column"))),
                Some(("sum", c)) => Aggregate::Sum(c.to_owned()),
                Some(("mean", c)) => Aggregate::Mean(c.to_owned()),
                Some(("min", c)) => Aggregate::Min(c.to_owned()),
                Some(("max", c)) => Aggregate::Max(c.to_owned()),
                _ => {
                    return Err(bad(format!(
                        "unknown aggregate `{name}`; expected count, sum:COLUMN, mean:COLUMN, min:COLUMN or max:COLUMN"
                    )));
                }
            };
            if out.contains(&aggregate) {
                return Err(bad(format!("aggregate `{name}` is given twice")));
            }
            let output = aggregate.output_name();
            if !outputs.insert(output.clone()) {
                return Err(bad(format!(
                    "aggregate `{name}` makes column `{output}`, which `by` already names"
                )));
            }
            out.push(aggregate);
        }
        Ok(out)
    }

    /// The name of its output column: `count`, `sum_COLUMN`, `mean_COLUMN`, ...
    pub fn output_name(&self) -> String {
        match self {
            Aggregate::Count => "count".to_owned(),
            Aggregate::Sum(c) => format!("sum_{c}"),
            Aggregate::Mean(c) => format!("mean_{c}"),
            Aggregate::Min(c) => format!("min_{c}"),
            Aggregate::Max(c) => format!("max_{c}"),
        }
    }
}

/// The running state of one aggregate over all groups (indexed by group).
enum State {
    Count(Vec<u64>),
    Sum(usize, Vec<Sum>),
    Extremes(usize, Vec<Extremes>),
}

/// One row per group of rows with the same cells in `by` (compared as in
/// [`distinct`]), in the order groups first appear: the `by` cells of the group's first
/// row, then one column per aggregate, in the order given:
///
/// - `count`: the rows of the group (`Int`);
/// - `sum_COL`: the sum of the numbers in COL (other cells skipped): `Int` while all are
///   integers and the sum fits in i64, else `Float`; `Null` if the group has none;
/// - `mean_COL`: their mean as a `Float` (sum / count in f64, as `stats` computes it),
///   `Null` if none;
/// - `min_COL` / `max_COL`: as `stats`: over the numbers if the group has any, else over
///   the text by bytes, else `Null`; on ties the first cell.
///
/// `Null` keys form one group. An unknown column is `bad_input`; a `by` column named
/// twice is `bad_pipeline`. A result of more cells than `max_output_bytes` (every cell
/// writes at least one byte) is `too_large`, found while grouping. Cost: one hash
/// lookup per row and O(1) per aggregate per row.
pub fn group_by(table: Table, by: &[String], aggregates: &[Aggregate], limits: &Limits) -> Result<Table> {
    if by.is_empty() {
        return Err(Error::bad_pipeline("`group_by` needs at least one column").with_param("by"));
    }
    let keys = key_columns(&table, by, "group_by", "by")?;
    let mut states = aggregates
        .iter()
        .map(|a| {
            Ok(match a {
                Aggregate::Count => State::Count(Vec::new()),
                Aggregate::Sum(c) | Aggregate::Mean(c) => State::Sum(column(&table, c)?, Vec::new()),
                Aggregate::Min(c) | Aggregate::Max(c) => State::Extremes(column(&table, c)?, Vec::new()),
            })
        })
        .collect::<Result<Vec<State>>>()?;
    let width = (by.len() + aggregates.len()) as u64;
    let max_groups = limits.max_output_bytes / width.max(1);

    let mut groups = RowGroups::new(keys.len());
    for i in 0..table.n_rows() {
        let (g, new) = groups.group_of(&table, &keys, i);
        if new && g as u64 >= max_groups {
            return Err(Error::too_large(format!(
                "`group_by` makes more than {max_groups} groups of {width} columns, over the limit of {} \
                 cells (max_output_bytes)",
                limits.max_output_bytes
            )));
        }
        let row = table.row(i);
        for state in &mut states {
            match state {
                State::Count(counts) => {
                    if new {
                        counts.push(0);
                    }
                    if let Some(n) = counts.get_mut(g) {
                        *n += 1;
                    }
                }
                State::Sum(c, sums) => {
                    if new {
                        sums.push(Sum::default());
                    }
                    if let Some(s) = sums.get_mut(g) {
                        s.add(row[*c]);
                    }
                }
                State::Extremes(c, extremes) => {
                    if new {
                        extremes.push(Extremes::default());
                    }
                    if let Some(e) = extremes.get_mut(g) {
                        e.add(&table, row[*c]);
                    }
                }
            }
        }
    }

    let mut cells = Vec::with_capacity(groups.len().saturating_mul(by.len() + aggregates.len()));
    for (g, first) in groups.first_rows().enumerate() {
        let row = table.row(first);
        cells.extend(keys.iter().map(|&k| row[k]));
        for (state, aggregate) in states.iter().zip(aggregates) {
            let cell = match (state, aggregate) {
                (State::Count(counts), _) => {
                    Cell::Int(counts.get(g).map_or(0, |&n| i64::try_from(n).unwrap_or(i64::MAX)))
                }
                (State::Sum(_, sums), Aggregate::Mean(_)) => {
                    sums.get(g).and_then(Sum::mean).map_or(Cell::Null, Cell::Float)
                }
                (State::Sum(_, sums), _) => sums.get(g).map_or(Cell::Null, Sum::total),
                (State::Extremes(_, e), Aggregate::Min(_)) => e.get(g).map_or(Cell::Null, Extremes::min),
                (State::Extremes(_, e), _) => e.get(g).map_or(Cell::Null, Extremes::max),
            };
            cells.push(cell);
        }
    }
    let columns = by
        .iter()
        .cloned()
        .chain(aggregates.iter().map(Aggregate::output_name))
        .collect();
    Ok(table.into_derived_with_cells(columns, cells))
}

/// The indices of key columns: `bad_pipeline` (param `param`) for a name given twice,
/// `bad_input` for an unknown one.
fn key_columns(table: &Table, names: &[String], op: &str, param: &str) -> Result<Vec<usize>> {
    let mut seen = HashSet::with_capacity(names.len());
    names
        .iter()
        .map(|name| {
            if !seen.insert(name.as_str()) {
                return Err(Error::bad_pipeline(format!("`{op}` names column `{name}` twice")).with_param(param));
            }
            column(table, name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use crate::table::read_csv::{CsvOptions, parse_csv};
    use crate::table::write_csv::to_csv;

    fn csv(text: &str) -> Table {
        parse_csv(text.as_bytes(), &CsvOptions::default(), &Limits::default()).unwrap()
    }

    fn out(t: &Table) -> String {
        String::from_utf8(to_csv(t, b',').unwrap()).unwrap()
    }

    fn names(list: &str) -> Vec<String> {
        list.split(',').map(str::to_owned).collect()
    }

    fn grouped(t: &str, by: &str, aggregates: &str) -> Result<String> {
        let by = names(by);
        let aggregates = Aggregate::parse_list(&names(aggregates), &by)?;
        group_by(csv(t), &by, &aggregates, &Limits::default()).map(|t| out(&t))
    }

    const T: &str = "k,j,v,s\nb,1,2,x\na,1,,y\nb,2,1.5,\n,1,5,z\na,1,3,B\nb,1,-4,x\n1,1,7,a\n1.0,1,1,b\n";

    #[test]
    fn distinct_rows_and_columns() {
        let t = "a,b\n1,x\n1.0,x\n2,\n2,\n1,y\n";
        assert_eq!(out(&distinct(csv(t), None).unwrap()), "a,b\n1,x\n2,\n1,y\n");
        assert_eq!(out(&distinct(csv(t), Some(&names("a"))).unwrap()), "a,b\n1,x\n2,\n");
        assert_eq!(
            out(&distinct(csv(t), Some(&names("b,a"))).unwrap()),
            "a,b\n1,x\n2,\n1,y\n"
        );
        assert_eq!(
            out(&distinct(csv(T), Some(&names("k"))).unwrap()),
            "k,j,v,s\nb,1,2,x\na,1,,y\n,1,5,z\n1,1,7,a\n"
        );
        assert_eq!(out(&distinct(csv("a,b\n"), None).unwrap()), "a,b\n");
        assert_eq!(distinct(Table::default(), None).unwrap().n_cols(), 0);
        let e = distinct(csv(t), Some(&names("c"))).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        let e = distinct(csv(t), Some(&names("a,a"))).unwrap_err();
        assert_eq!((e.code, e.param.as_deref()), (ErrorCode::BadPipeline, Some("columns")));
    }

    #[test]
    fn group_by_aggregates() {
        // Groups in first-seen order: b, a, null, 1 (1 and 1.0 are one group).
        assert_eq!(
            grouped(T, "k", "count,sum:v,mean:v,min:v,max:v,min:s,max:s").unwrap(),
            "k,count,sum_v,mean_v,min_v,max_v,min_s,max_s\n\
             b,3,-0.5,-0.16666666666666666,-4,2,x,x\n\
             a,2,3,3.0,3,3,B,y\n\
             ,1,5,5.0,5,5,z,z\n\
             1,2,8,4.0,1,7,a,b\n"
        );
        assert_eq!(
            grouped(T, "j,k", "count").unwrap(),
            "j,k,count\n1,b,2\n1,a,2\n2,b,1\n1,,1\n1,1,2\n"
        );
        assert_eq!(
            grouped(T, "k", "sum:s,mean:s").unwrap(),
            "k,sum_s,mean_s\nb,,\na,,\n,,\n1,,\n"
        );
        // The default aggregate list (the catalogue's) is `count`.
        assert_eq!(grouped("a\n", "a", "count").unwrap(), "a,count\n");
    }

    #[test]
    fn sums_are_exact_and_overflow_to_float() {
        let t = format!("k,v\na,{}\na,{}\nb,{}\nb,1\n", i64::MAX, i64::MAX, i64::MAX);
        // 2^64 - 2 and 2^63 do not fit in i64: each is rounded to f64 once.
        assert_eq!(
            grouped(&t, "k", "sum:v").unwrap(),
            "k,sum_v\na,1.8446744073709552e+19\nb,9.223372036854776e+18\n"
        );
        let t = format!("k,v\na,{}\na,-1\na,2.5\n", i64::MIN);
        assert_eq!(
            grouped(&t, "k", "sum:v").unwrap(),
            "k,sum_v\na,-9.223372036854776e+18\n"
        );
        let t = "k,v\na,1e308\na,1e308\nb,1\nb,-1\n";
        assert_eq!(
            grouped(t, "k", "sum:v,mean:v").unwrap(),
            "k,sum_v,mean_v\na,,\nb,0,0.0\n"
        );
    }

    #[test]
    fn aggregate_list_errors() {
        for (list, by) in [
            ("count,count", "k"),
            ("sum:", "k"),
            ("median:v", "k"),
            ("count:v", "k"),
            ("sum", "k"),
            ("sum:v,sum:v", "k"),
            ("count", "count"),
            ("sum:v", "sum_v"),
        ] {
            let e = Aggregate::parse_list(&names(list), &names(by)).unwrap_err();
            assert_eq!(
                (e.code, e.param.as_deref()),
                (ErrorCode::BadPipeline, Some("aggregates")),
                "{list}"
            );
        }
        let e = grouped(T, "k,k", "count").unwrap_err();
        assert_eq!((e.code, e.param.as_deref()), (ErrorCode::BadPipeline, Some("by")));
        assert_eq!(grouped(T, "nope", "count").unwrap_err().code, ErrorCode::BadInput);
        assert_eq!(grouped(T, "k", "max:nope").unwrap_err().code, ErrorCode::BadInput);
        let limits = Limits {
            max_output_bytes: 7,
            ..Limits::default()
        };
        let by = names("k");
        let aggregates = Aggregate::parse_list(&names("count"), &by).unwrap();
        // 4 groups x 2 columns = 8 cells > 7.
        let e = group_by(csv(T), &by, &aggregates, &limits).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        let limits = Limits {
            max_output_bytes: 8,
            ..Limits::default()
        };
        assert!(group_by(csv(T), &by, &aggregates, &limits).is_ok());
    }

    /// Against a naive reference: groups found by a linear search over the groups so
    /// far, sums and counts kept per group in f64 and i64 and compared by value.
    #[test]
    fn matches_a_naive_grouping() {
        let mut r = 0x1234_5678_u32;
        let mut next = move || {
            r ^= r << 13;
            r ^= r >> 17;
            r ^= r << 5;
            r
        };
        let mut text = String::from("a,b,v\n");
        let mut rows = Vec::new();
        for _ in 0..2000 {
            let a = ["x", "y", "z", ""][(next() % 4) as usize];
            let b = next() % 5;
            let v = i64::from(next() % 1000) - 500;
            text.push_str(&format!("{a},{b},{v}\n"));
            rows.push((a, b, v));
        }
        // Per group: key, count, sum, min, max.
        type Group<'a> = ((&'a str, u32), i64, i64, i64, i64);
        let mut want: Vec<Group> = Vec::new();
        for &(a, b, v) in &rows {
            match want.iter_mut().find(|g| g.0 == (a, b)) {
                Some(g) => {
                    g.1 += 1;
                    g.2 += v;
                    g.3 = g.3.min(v);
                    g.4 = g.4.max(v);
                }
                None => want.push(((a, b), 1, v, v, v)),
            }
        }
        let mut expected = String::from("a,b,count,sum_v,mean_v,min_v,max_v\n");
        for ((a, b), n, sum, min, max) in want {
            let mean = sum as f64 / n as f64;
            let mut mean = format!("{mean:?}");
            if !mean.contains('.') && !mean.contains('e') {
                mean.push_str(".0");
            }
            expected.push_str(&format!("{a},{b},{n},{sum},{mean},{min},{max}\n"));
        }
        assert_eq!(
            grouped(&text, "a,b", "count,sum:v,mean:v,min:v,max:v").unwrap(),
            expected
        );
    }
}
