//! Table queries: `select` columns, `filter` rows by a [`Predicate`], `limit` rows to
//! a window, `rename` columns.

use std::collections::HashSet;

use super::predicate::Predicate;
use super::{Cell, Table};
use crate::{Error, Result};

/// Keeps `columns`, in that order. The arena is reused, not copied.
///
/// An unknown column is `bad_input` (it depends on the data) listing the columns there
/// are; an empty list or a column named twice is `bad_pipeline` (param `columns`).
pub fn select(table: Table, columns: &[String]) -> Result<Table> {
    if columns.is_empty() {
        return Err(Error::bad_pipeline("`select` needs at least one column").with_param("columns"));
    }
    let mut indices = Vec::with_capacity(columns.len());
    let mut seen = HashSet::with_capacity(columns.len());
    for name in columns {
        if !seen.insert(name.as_str()) {
            return Err(Error::bad_pipeline(format!("`select` names column `{name}` twice")).with_param("columns"));
        }
        indices.push(column(&table, name)?);
    }
    let mut cells = Vec::with_capacity(table.n_rows().saturating_mul(indices.len()));
    for row in table.rows() {
        cells.extend(indices.iter().map(|&i| row.get(i).copied().unwrap_or(Cell::Null)));
    }
    Ok(table.into_derived_with_cells(columns.to_vec(), cells))
}

/// Keeps the rows where `predicate` holds, in order. An unknown column is `bad_input`.
/// Cost: one pass, each row testing its comparisons until one `and`-group holds.
/// See [`Predicate`] for the semantics.
pub fn filter(table: Table, predicate: &Predicate) -> Result<Table> {
    let any = predicate.any();
    let indices = any
        .iter()
        .map(|all| {
            all.iter()
                .map(|c| column(&table, c.column()))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let mut cells = Vec::new();
    for row in table.rows() {
        let holds = any.iter().zip(&indices).any(|(all, indices)| {
            all.iter()
                .zip(indices)
                .all(|(c, &i)| row.get(i).is_some_and(|&cell| c.matches(&table, cell)))
        });
        if holds {
            cells.extend_from_slice(row);
        }
    }
    let columns = table.columns().to_vec();
    Ok(table.into_derived_with_cells(columns, cells))
}

/// Keeps `count` rows starting at row `offset` (0-based), in order: fewer when the
/// table ends first, none when `offset` is past the end. Cost: the kept rows only.
pub fn limit(mut table: Table, count: u64, offset: u64) -> Table {
    let n = table.n_rows() as u64;
    let start = offset.min(n);
    let end = start.saturating_add(count).min(n);
    let width = table.n_cols();
    let mut cells = std::mem::take(&mut table.cells);
    // Both fit in usize: they are at most n_rows().
    cells.truncate(end as usize * width);
    cells.drain(..start as usize * width);
    let columns = table.columns().to_vec();
    table.into_derived_with_cells(columns, cells)
}

/// Reads `columns=` of `rename`: `old:new` pairs, split at the first `:` (so `old`
/// cannot hold a `:`, `new` can). `bad_pipeline` (param `columns`) for a pair without
/// `:`, an empty name, an old name given twice, or two pairs with the same new name.
pub fn rename_pairs(list: &[String]) -> Result<Vec<(String, String)>> {
    let bad = |message: String| Error::bad_pipeline(message).with_param("columns");
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(list.len());
    for item in list {
        let Some((old, new)) = item.split_once(':') else {
            return Err(bad(format!("`rename` expects old:new, got `{item}`")));
        };
        if old.is_empty() || new.is_empty() {
            return Err(bad(format!("`rename` pair `{item}` has an empty name")));
        }
        if pairs.iter().any(|(o, _)| o == old) {
            return Err(bad(format!("`rename` names column `{old}` twice")));
        }
        if pairs.iter().any(|(_, n)| n == new) {
            return Err(bad(format!("`rename` gives two columns the name `{new}`")));
        }
        pairs.push((old.to_owned(), new.to_owned()));
    }
    Ok(pairs)
}

/// Renames columns, all at once (`a:b,b:a` swaps two); the others keep their names and
/// every column its place. An unknown old name is `bad_input`, and so is a new name
/// that another, unrenamed column already has. The cells are not touched.
pub fn rename(mut table: Table, pairs: &[(String, String)]) -> Result<Table> {
    let mut columns = table.columns().to_vec();
    let mut renamed = vec![false; columns.len()];
    for (old, new) in pairs {
        let i = column(&table, old)?;
        columns[i].clone_from(new);
        renamed[i] = true;
    }
    let mut seen = HashSet::with_capacity(columns.len());
    for name in &columns {
        if !seen.insert(name.as_str()) {
            return Err(Error::bad_input(format!(
                "`rename` gives two columns the name `{name}`: one of them is not renamed"
            )));
        }
    }
    let cells = std::mem::take(&mut table.cells);
    Ok(table.into_derived_with_cells(columns, cells))
}

/// The index of column `name`, or `bad_input` listing the columns (the first 20).
pub(super) fn column(table: &Table, name: &str) -> Result<usize> {
    table.column_index(name).ok_or_else(|| {
        const SHOWN: usize = 20;
        let cols = table.columns();
        let mut list = cols
            .iter()
            .take(SHOWN)
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if cols.len() > SHOWN {
            list.push_str(&format!(" and {} more", cols.len() - SHOWN));
        }
        if cols.is_empty() {
            list = "none".to_owned();
        }
        Error::bad_input(format!("no column `{name}`; the columns are: {list}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::predicate::{Comparison, Op, Value};
    use crate::table::read_csv::tests::show;
    use crate::table::read_csv::{CsvOptions, parse_csv};
    use crate::{ErrorCode, Limits};

    fn table() -> Table {
        let csv = "name,age,score,ok,code,note\n\
                   ann,31,9.5,true,007,\n\
                   bob,25,7,false,12,x\n\
                   cy,,8.25,,abc,hello world\n\
                   dee,40,10,true,1e3,Hello\n";
        let mut t = parse_csv(csv.as_bytes(), &CsvOptions::default(), &Limits::default()).unwrap();
        // A Json cell, to check it never matches.
        let j = t.json_cell("[1]");
        let mut cells: Vec<Cell> = t.rows().flatten().copied().collect();
        cells.extend_from_slice(&[t.str_cell("eve"), j, Cell::Int(3), Cell::Null, Cell::Null, Cell::Null]);
        let columns = t.columns().to_vec();
        t.into_derived_with_cells(columns, cells)
    }

    fn names(t: &Table) -> Vec<String> {
        let i = t.column_index("name").unwrap();
        show(t)
            .into_iter()
            .map(|r| r[i].trim_start_matches("s:").to_owned())
            .collect()
    }

    fn keep(predicate: &str) -> Vec<String> {
        let p = Predicate::parse(predicate).unwrap_or_else(|e| panic!("{predicate}: {e}"));
        names(&filter(table(), &p).unwrap())
    }

    #[test]
    fn filter_semantics() {
        let cases: &[(&str, &[&str])] = &[
            ("age > 30", &["ann", "dee"]),
            ("age >= 31", &["ann", "dee"]),
            ("age < 31", &["bob"]),
            ("age <= 31", &["ann", "bob"]),
            ("age == 25", &["bob"]),
            ("age = 25", &["bob"]),
            ("age != 25", &["ann", "dee"]),
            ("age == 25.0", &["bob"]),
            ("age > 30.5", &["ann", "dee"]),
            ("score > 8", &["ann", "cy", "dee"]),
            ("score == 7", &["bob"]),
            ("score == 10", &["dee"]),
            ("score < 1e1", &["ann", "bob", "cy", "eve"]),
            ("age == null", &["cy"]),
            ("age != null", &["ann", "bob", "dee", "eve"]),
            ("note == null", &["ann", "eve"]),
            ("ok == true", &["ann", "dee"]),
            ("ok != TRUE", &["bob"]),
            ("ok == false", &["bob"]),
            ("code == 007", &["ann"]),
            ("code == 7", &[]),
            ("code == 12", &["bob"]),
            ("code == '12'", &[]),
            ("code == 1000", &["dee"]),
            ("name < bob", &["ann"]),
            ("name >= 'cy'", &["cy", "dee", "eve"]),
            ("name != ann", &["bob", "cy", "dee", "eve"]),
            ("name == 5", &[]),
            ("name != 5", &[]),
            ("note contains o", &["cy", "dee"]),
            ("note contains 'o w'", &["cy"]),
            ("note starts_with h", &["cy"]),
            ("note ends_with LLO", &[]),
            ("note ends_with llo", &["dee"]),
            ("code starts_with 00", &["ann"]),
            ("code contains 0", &["ann"]),
            // 12 and 1e3 are numbers, not text.
            ("code contains 1", &[]),
            ("age contains 3", &[]),
            ("score == 3", &["eve"]),
            ("age is_null", &["cy"]),
            ("age not_null", &["ann", "bob", "dee", "eve"]),
            ("ok is_null", &["cy", "eve"]),
            ("age > 30 and ok == true", &["ann", "dee"]),
            ("age < 30 or score == 3", &["bob", "eve"]),
            ("note is_null or age > 35 and ok == true", &["ann", "dee", "eve"]),
            ("name == ann OR name == bob AND age > 30", &["ann"]),
            ("ok == true and note not_null", &["dee"]),
            ("'ok'==true and\tnote not_null", &["dee"]),
            ("name == 'and' or name == or", &[]),
            ("age is_null or age not_null", &["ann", "bob", "cy", "dee", "eve"]),
            ("age is_null and age not_null", &[]),
        ];
        for (predicate, want) in cases {
            assert_eq!(keep(predicate), *want, "{predicate}");
        }
    }

    /// `and` is the rows both sides keep, `or` the rows either keeps, in table order:
    /// checked against the single comparisons run one at a time.
    #[test]
    fn and_or_match_set_operations() {
        let atoms = [
            "age > 30",
            "ok == true",
            "note is_null",
            "name >= cy",
            "score < 9",
            "code not_null",
        ];
        let all = names(&table());
        let kept = |p: &str| keep(p);
        for a in atoms {
            for b in atoms {
                let (ka, kb) = (kept(a), kept(b));
                let and: Vec<String> = all
                    .iter()
                    .filter(|n| ka.contains(n) && kb.contains(n))
                    .cloned()
                    .collect();
                let or: Vec<String> = all
                    .iter()
                    .filter(|n| ka.contains(n) || kb.contains(n))
                    .cloned()
                    .collect();
                assert_eq!(kept(&format!("{a} and {b}")), and, "{a} and {b}");
                assert_eq!(kept(&format!("{a} or {b}")), or, "{a} or {b}");
                for c in atoms {
                    let kc = kept(c);
                    // a or b and c == a or (b and c)
                    let want: Vec<String> = all
                        .iter()
                        .filter(|n| ka.contains(n) || (kb.contains(n) && kc.contains(n)))
                        .cloned()
                        .collect();
                    assert_eq!(kept(&format!("{a} or {b} and {c}")), want, "{a} or {b} and {c}");
                }
            }
        }
    }

    #[test]
    fn int_comparison_is_exact() {
        let mut t = Table::new(vec!["n".into()]);
        t.push_row(&[Cell::Int(9_007_199_254_740_993)]);
        t.push_row(&[Cell::Int(9_007_199_254_740_992)]);
        let p = Predicate::parse("n == 9007199254740993").unwrap();
        let out = filter(t.clone(), &p).unwrap();
        assert_eq!(show(&out), [["i:9007199254740993"]]);
        // Against a float, both are compared as f64.
        let p = Predicate::parse("n == 9007199254740992.0").unwrap();
        assert_eq!(filter(t, &p).unwrap().n_rows(), 2);
    }

    /// The one comparison of a predicate without `and` / `or`.
    fn one(text: &str) -> Comparison {
        let p = Predicate::parse(text).unwrap();
        assert_eq!((p.any().len(), p.any()[0].len()), (1, 1), "{text}");
        p.any()[0][0].clone()
    }

    #[test]
    fn parse_forms() {
        let p = one("  \"unit price\"<=9.5 ");
        assert_eq!(
            (p.column(), p.op(), p.value()),
            ("unit price", Op::Le, &Value::Float(9.5))
        );
        let p = one("x  is_null ");
        assert_eq!((p.column(), p.op()), ("x", Op::IsNull));
        let p = one("'a b' not_null");
        assert_eq!((p.column(), p.op()), ("a b", Op::NotNull));
        let p = Predicate::parse("a == 1 and b is_null or c != x AND d < 2 Or e not_null").unwrap();
        let shape: Vec<usize> = p.any().iter().map(Vec::len).collect();
        assert_eq!(shape, [2, 2, 1]);
        let p = one("a==b");
        assert_eq!((p.column(), p.op(), p.value()), ("a", Op::Eq, &Value::Str("b".into())));
        let p = one(r#"'it\'s' contains "say \"hi\"""#);
        assert_eq!(
            (p.column(), p.op(), p.value()),
            ("it's", Op::Contains, &Value::Str("say \"hi\"".into()))
        );
        let p = one("x != null");
        assert_eq!(p.value(), &Value::Null);
        let p = one("x == 'null'");
        assert_eq!(p.value(), &Value::Str("null".into()));
        let p = one("x == -12");
        assert_eq!(p.value(), &Value::Int(-12));
        let p = one("x == False");
        assert_eq!(p.value(), &Value::Bool(false));
        let p = one("x == +1");
        assert_eq!(p.value(), &Value::Str("+1".into()));
        let p = one("x starts_with ''");
        assert_eq!(p.value(), &Value::Str(String::new()));
        let p = one("é>1");
        assert_eq!((p.column(), p.op()), ("é", Op::Gt));
    }

    #[test]
    fn parse_errors() {
        for text in [
            "",
            "   ",
            "age",
            "age >",
            "age ~ 3",
            "age >> 3",
            "== 3",
            "'' == 3",
            "'age == 3",
            "age == 'x",
            "name == John Smith",
            "age < null",
            "ok >= true",
            "age containsx 3",
            "age == 1 and",
            "age == 1 or ",
            "age == 1 and or ok == true",
            "and",
            "age == 1 nand ok == true",
            "age == 1 andok == true",
            "age is_null 3",
            "age is_nullx",
            "is_null",
            "age == 1 or == 2",
        ] {
            let e = Predicate::parse(text).unwrap_err();
            assert!(!e.is_empty(), "{text}");
        }
        let e = Predicate::parse("name == John Smith").unwrap_err();
        assert!(e.contains("quote"), "{e}");
        let e = Predicate::parse("age ~ 3").unwrap_err();
        assert!(e.contains("operator"), "{e}");
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "age >= 18",
            "'unit price' < 9.5",
            "name == 'John Smith'",
            "x == '12'",
            "x == 'null'",
            "x != null",
            "ok == true",
            "code == 007",
            "n contains 'a \\'b\\''",
            "'a=b' ends_with x",
            "x is_null",
            "'a b' not_null",
            "a == 1 and b is_null or c != x and d < 2 or e not_null",
        ] {
            let p = Predicate::parse(text).unwrap();
            assert_eq!(p.to_string(), text);
            assert_eq!(Predicate::parse(&p.to_string()).unwrap(), p);
        }
        for text in [
            "x == 'and' or x == 'or'",
            "x == 'AND' and 'or' == x",
            "n contains 'it\\'s'",
            "\"a\\\\b\" == \"\"",
            "x<'<'",
        ] {
            let p = Predicate::parse(text).unwrap();
            assert_eq!(Predicate::parse(&p.to_string()).unwrap(), p, "{text}");
        }
    }

    #[test]
    fn filter_unknown_column_and_empty_table() {
        let p = Predicate::parse("nope == 1").unwrap();
        let e = filter(table(), &p).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        assert!(e.message.contains("`name`, `age`"), "{}", e.message);
        let empty = Table::new(vec!["nope".into()]);
        assert_eq!(filter(empty, &p).unwrap().n_rows(), 0);
        let e = filter(Table::default(), &p).unwrap_err();
        assert!(e.message.contains("none"), "{}", e.message);
    }

    #[test]
    fn select_columns() {
        let t = select(table(), &["note".into(), "name".into()]).unwrap();
        assert_eq!(t.columns(), ["note", "name"]);
        assert_eq!(
            show(&t),
            [
                ["null", "s:ann"],
                ["s:x", "s:bob"],
                ["s:hello world", "s:cy"],
                ["s:Hello", "s:dee"],
                ["null", "s:eve"],
            ]
        );
        // Filter then select keeps working on the shared arena.
        let p = Predicate::parse("note contains o").unwrap();
        let t = select(filter(table(), &p).unwrap(), &["name".into()]).unwrap();
        assert_eq!(show(&t), [["s:cy"], ["s:dee"]]);
    }

    #[test]
    fn limit_windows() {
        // Against the same window taken from a Vec of the rows.
        let rows = show(&table());
        for count in [0, 1, 2, 5, 6, u64::MAX] {
            for offset in [0, 1, 4, 5, 6, u64::MAX] {
                let want: Vec<Vec<String>> = rows
                    .iter()
                    .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                    .take(usize::try_from(count).unwrap_or(usize::MAX))
                    .cloned()
                    .collect();
                let got = limit(table(), count, offset);
                assert_eq!(show(&got), want, "{count} {offset}");
                assert_eq!(got.columns(), table().columns());
            }
        }
        assert_eq!(limit(Table::default(), 3, 1).n_rows(), 0);
        assert_eq!(limit(Table::new(vec!["a".into()]), 3, 0).columns(), ["a"]);
    }

    #[test]
    fn rename_columns() {
        let pairs = |list: &str| rename_pairs(&list.split(',').map(str::to_owned).collect::<Vec<_>>());
        let t = rename(table(), &pairs("name:who,age:years:old").unwrap()).unwrap();
        assert_eq!(t.columns(), ["who", "years:old", "score", "ok", "code", "note"]);
        assert_eq!(show(&t), show(&table()));
        let t = rename(table(), &pairs("name:age,age:name").unwrap()).unwrap();
        assert_eq!(t.columns(), ["age", "name", "score", "ok", "code", "note"]);
        let t = rename(table(), &pairs("name:name").unwrap()).unwrap();
        assert_eq!(t.columns(), table().columns());
        for bad in ["name", ":x", "name:", "name:a,name:b", "name:a,age:a"] {
            let e = pairs(bad).unwrap_err();
            assert_eq!(
                (e.code, e.param.as_deref()),
                (ErrorCode::BadPipeline, Some("columns")),
                "{bad}"
            );
        }
        let e = rename(table(), &pairs("nope:x").unwrap()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        let e = rename(table(), &pairs("name:age").unwrap()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        assert_eq!(
            rename(Table::default(), &pairs("a:b").unwrap()).unwrap_err().code,
            ErrorCode::BadInput
        );
    }

    #[test]
    fn select_errors() {
        let e = select(table(), &["name".into(), "nope".into()]).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        assert!(
            e.message.contains("`nope`") && e.message.contains("`score`"),
            "{}",
            e.message
        );
        let e = select(table(), &["name".into(), "name".into()]).unwrap_err();
        assert_eq!((e.code, e.param.as_deref()), (ErrorCode::BadPipeline, Some("columns")));
        let e = select(table(), &[]).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadPipeline);
        // Long column lists are cut short in the message.
        let wide = Table::new((0..100).map(|i| format!("c{i}")).collect());
        let e = select(wide, &["x".into()]).unwrap_err();
        assert!(e.message.ends_with("and 80 more"), "{}", e.message);
    }
}
