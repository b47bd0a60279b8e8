//! Table queries: `select` columns and `filter` rows by a simple predicate.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;

use super::csv::{Scalar, infer};
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
/// See [`Predicate`] for the semantics.
pub fn filter(table: Table, predicate: &Predicate) -> Result<Table> {
    let index = column(&table, &predicate.column)?;
    let mut cells = Vec::new();
    for row in table.rows() {
        if row.get(index).is_some_and(|&cell| predicate.matches(&table, cell)) {
            cells.extend_from_slice(row);
        }
    }
    let columns = table.columns().to_vec();
    Ok(table.into_derived_with_cells(columns, cells))
}

/// The index of column `name`, or `bad_input` listing the columns (the first 20).
fn column(table: &Table, name: &str) -> Result<usize> {
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

/// A comparison operator of a [`Predicate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==` (also `=`)
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `contains`
    Contains,
    /// `starts_with`
    StartsWith,
    /// `ends_with`
    EndsWith,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::StartsWith => "starts_with",
            Op::EndsWith => "ends_with",
        }
    }

    fn is_text(self) -> bool {
        matches!(self, Op::Contains | Op::StartsWith | Op::EndsWith)
    }

    fn is_order(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Eq => ordering == Ordering::Equal,
            Op::Ne => ordering != Ordering::Equal,
            Op::Lt => ordering == Ordering::Less,
            Op::Le => ordering != Ordering::Greater,
            Op::Gt => ordering == Ordering::Greater,
            Op::Ge => ordering != Ordering::Less,
            Op::Contains | Op::StartsWith | Op::EndsWith => false,
        }
    }
}

/// The value a [`Predicate`] compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer number.
    Int(i64),
    /// Any other finite number.
    Float(f64),
    /// Text: a quoted value, or a bare word that is not a number, bool or `null`.
    Str(String),
}

/// A row predicate `COLUMN OP VALUE`, e.g. `age >= 18`, `name starts_with 'Jo'`,
/// `"unit price" < 9.5`, `deleted == null`.
///
/// Syntax: COLUMN is a bare word (up to whitespace or one of `= ! < >`) or a quoted
/// string (`'..'` or `".."`, a backslash takes the next character literally). OP is
/// `==` (or `=`), `!=`, `<`, `<=`, `>`, `>=`, `contains`, `starts_with` or `ends_with`.
/// VALUE is a quoted string (always text), `null`, or one bare word typed like a CSV
/// cell: `true`/`false` (any case) -> bool, a JSON-grammar number -> number, anything
/// else (`007`, `+1`, `abc`) -> text. A value with spaces must be quoted. Ordering
/// operators with `null` or a bool are rejected.
///
/// Semantics, per cell of COLUMN:
/// - numbers compare numerically: Int with Int exactly, otherwise as f64;
/// - text compares by bytes (UTF-8 order); bools only with `==`/`!=`;
/// - `== null` matches `Null` cells, `!= null` matches every other cell;
/// - any other comparison with a `Null` cell, or between different types (text vs
///   number, bool vs number, anything vs a `Json` cell), is false, `!=` included;
/// - `contains`/`starts_with`/`ends_with` hold only for `Str` cells, with the value
///   taken as text (`code starts_with 00` looks for the text `00`).
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    column: String,
    op: Op,
    value: Value,
    /// The value as text, for the text operators.
    text: String,
}

impl Predicate {
    /// Parses `COLUMN OP VALUE`; the error says what is wrong, for people.
    pub fn parse(text: &str) -> std::result::Result<Predicate, String> {
        let rest = text.trim_start();
        if rest.trim_end().is_empty() {
            return Err("empty predicate; expected COLUMN OP VALUE, e.g. `age >= 18`".to_owned());
        }
        let (column, rest) = if rest.starts_with(['\'', '"']) {
            quoted(rest)?
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, '=' | '!' | '<' | '>'))
                .unwrap_or(rest.len());
            let (word, rest) = rest.split_at(end);
            (word.to_owned(), rest)
        };
        if column.is_empty() {
            return Err("expected a column name before the operator".to_owned());
        }
        let rest = rest.trim_start();
        let (op, rest) = operator(rest)?;
        let rest = rest.trim_start();
        if rest.is_empty() {
            return Err(format!("expected a value after `{}`", op.as_str()));
        }
        let (value, value_text, rest) = if rest.starts_with(['\'', '"']) {
            let (s, rest) = quoted(rest)?;
            (Value::Str(s.clone()), s, rest)
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let (word, rest) = rest.split_at(end);
            let value = match infer(word) {
                _ if word == "null" => Value::Null,
                Scalar::Bool(b) => Value::Bool(b),
                Scalar::Int(i) => Value::Int(i),
                Scalar::Float(f) => Value::Float(f),
                Scalar::Null | Scalar::Text => Value::Str(word.to_owned()),
            };
            (value, word.to_owned(), rest)
        };
        let trailing = rest.trim();
        if !trailing.is_empty() {
            return Err(format!(
                "unexpected `{trailing}` after the value; quote a value that has spaces"
            ));
        }
        if op.is_order() && matches!(value, Value::Null | Value::Bool(_)) {
            return Err(format!(
                "`{}` compares numbers or text, not `{value_text}`",
                op.as_str()
            ));
        }
        Ok(Predicate {
            column,
            op,
            value,
            text: value_text,
        })
    }

    /// The column tested.
    pub fn column(&self) -> &str {
        &self.column
    }

    /// The operator.
    pub fn op(&self) -> Op {
        self.op
    }

    /// The value compared with.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Whether the predicate holds for `cell` (a cell of `table`).
    fn matches(&self, table: &Table, cell: Cell) -> bool {
        if self.op.is_text() {
            let Cell::Str(span) = cell else {
                return false;
            };
            let text = table.text(span);
            return match self.op {
                Op::Contains => text.contains(self.text.as_str()),
                Op::StartsWith => text.starts_with(self.text.as_str()),
                _ => text.ends_with(self.text.as_str()),
            };
        }
        let ordering = match (cell, &self.value) {
            (cell, Value::Null) => {
                let is_null = cell == Cell::Null;
                return match self.op {
                    Op::Eq => is_null,
                    Op::Ne => !is_null,
                    _ => false,
                };
            }
            (Cell::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Cell::Int(a), Value::Float(b)) => (a as f64).partial_cmp(b),
            (Cell::Float(a), Value::Int(b)) => a.partial_cmp(&(*b as f64)),
            (Cell::Float(a), Value::Float(b)) => a.partial_cmp(b),
            (Cell::Str(span), Value::Str(b)) => Some(table.text(span).cmp(b.as_str())),
            (Cell::Bool(a), Value::Bool(b)) if !self.op.is_order() => Some(a.cmp(b)),
            _ => None,
        };
        ordering.is_some_and(|o| self.op.holds(o))
    }
}

impl fmt::Display for Predicate {
    /// The predicate in its text form (column and text values quoted as needed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bare = |s: &str| {
            !s.is_empty()
                && !s.starts_with(['\'', '"'])
                && !s.contains(|c: char| c.is_whitespace() || matches!(c, '=' | '!' | '<' | '>'))
        };
        let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
        if bare(&self.column) {
            write!(f, "{}", self.column)?;
        } else {
            write!(f, "{}", quote(&self.column))?;
        }
        write!(f, " {} ", self.op.as_str())?;
        match &self.value {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(_) | Value::Float(_) => f.write_str(&self.text),
            Value::Str(s) if bare(s) && infer(s) == Scalar::Text && s != "null" => f.write_str(s),
            Value::Str(s) => f.write_str(&quote(s)),
        }
    }
}

/// Reads a quoted string at the start of `s`; returns it (unescaped) and the rest.
fn quoted(s: &str) -> std::result::Result<(String, &str), String> {
    let mut chars = s.char_indices();
    let Some((_, quote)) = chars.next() else {
        return Err("expected a quoted string".to_owned());
    };
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((out, s.get(i + c.len_utf8()..).unwrap_or_default()));
        }
        if c == '\\' {
            match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => break,
            }
        } else {
            out.push(c);
        }
    }
    Err(format!("unclosed quote {quote} in `{s}`"))
}

/// Reads the operator at the start of `s`; returns it and the rest.
fn operator(s: &str) -> std::result::Result<(Op, &str), String> {
    const SYMBOLS: [(&str, Op); 7] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("=", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    for (symbol, op) in SYMBOLS {
        if let Some(rest) = s.strip_prefix(symbol) {
            return Ok((op, rest));
        }
    }
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    let (word, rest) = s.split_at(end);
    let op = match word {
        "contains" => Op::Contains,
        "starts_with" => Op::StartsWith,
        "ends_with" => Op::EndsWith,
        _ => {
            let found = if s.is_empty() {
                "nothing".to_owned()
            } else {
                format!("`{}`", s.split_whitespace().next().unwrap_or(s))
            };
            return Err(format!(
                "expected an operator (==, !=, <, <=, >, >=, contains, starts_with, ends_with), found {found}"
            ));
        }
    };
    Ok((op, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::csv::tests::show;
    use crate::table::csv::{CsvOptions, parse_csv};
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
        ];
        for (predicate, want) in cases {
            assert_eq!(keep(predicate), *want, "{predicate}");
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

    #[test]
    fn parse_forms() {
        let p = Predicate::parse("  \"unit price\"<=9.5 ").unwrap();
        assert_eq!(
            (p.column(), p.op(), p.value()),
            ("unit price", Op::Le, &Value::Float(9.5))
        );
        let p = Predicate::parse("a==b").unwrap();
        assert_eq!((p.column(), p.op(), p.value()), ("a", Op::Eq, &Value::Str("b".into())));
        let p = Predicate::parse(r#"'it\'s' contains "say \"hi\"""#).unwrap();
        assert_eq!(
            (p.column(), p.op(), p.value()),
            ("it's", Op::Contains, &Value::Str("say \"hi\"".into()))
        );
        let p = Predicate::parse("x != null").unwrap();
        assert_eq!(p.value(), &Value::Null);
        let p = Predicate::parse("x == 'null'").unwrap();
        assert_eq!(p.value(), &Value::Str("null".into()));
        let p = Predicate::parse("x == -12").unwrap();
        assert_eq!(p.value(), &Value::Int(-12));
        let p = Predicate::parse("x == False").unwrap();
        assert_eq!(p.value(), &Value::Bool(false));
        let p = Predicate::parse("x == +1").unwrap();
        assert_eq!(p.value(), &Value::Str("+1".into()));
        let p = Predicate::parse("x starts_with ''").unwrap();
        assert_eq!(p.value(), &Value::Str(String::new()));
        let p = Predicate::parse("é>1").unwrap();
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
        ] {
            let p = Predicate::parse(text).unwrap();
            assert_eq!(p.to_string(), text);
            assert_eq!(Predicate::parse(&p.to_string()).unwrap(), p);
        }
        for text in ["n contains 'it\\'s'", "\"a\\\\b\" == \"\"", "x<'<'"] {
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
