//! `filter` predicates: comparisons `COLUMN OP VALUE` (or `COLUMN is_null`) joined by
//! `and` / `or`, parsed once, matched per row.

use std::cmp::Ordering;
use std::fmt;

use super::infer::{Scalar, infer};
use super::{Cell, Table};

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
    /// `is_null` (no value)
    IsNull,
    /// `not_null` (no value)
    NotNull,
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
            Op::IsNull => "is_null",
            Op::NotNull => "not_null",
        }
    }

    fn is_text(self) -> bool {
        matches!(self, Op::Contains | Op::StartsWith | Op::EndsWith)
    }

    fn is_unary(self) -> bool {
        matches!(self, Op::IsNull | Op::NotNull)
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
            Op::Contains | Op::StartsWith | Op::EndsWith | Op::IsNull | Op::NotNull => false,
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

/// A row predicate: comparisons joined by `and` / `or`, e.g. `age >= 18`,
/// `name starts_with 'Jo' and "unit price" < 9.5`, `deleted is_null or deleted == false`.
///
/// Grammar: `COMPARISON (and|or COMPARISON)*`, where `and` binds tighter than `or`
/// (`a and b or c` is `(a and b) or c`; there are no parentheses: write the predicate
/// as an `or` of `and`s). `and`/`or` are words in any ASCII case, between whitespace.
///
/// A COMPARISON is `COLUMN OP VALUE` or `COLUMN is_null` / `COLUMN not_null`. COLUMN is
/// a bare word (up to whitespace or one of `= ! < >`) or a quoted string (`'..'` or
/// `".."`, a backslash takes the next character literally). OP is `==` (or `=`), `!=`,
/// `<`, `<=`, `>`, `>=`, `contains`, `starts_with` or `ends_with`. VALUE is a quoted
/// string (always text), `null`, or one bare word typed like a CSV cell:
/// `true`/`false` (any case) -> bool, a JSON-grammar number -> number, anything else
/// (`007`, `+1`, `abc`) -> text. A value with spaces must be quoted. Ordering operators
/// with `null` or a bool are rejected.
///
/// Semantics, per cell of COLUMN:
/// - numbers compare numerically: Int with Int exactly, otherwise as f64;
/// - text compares by bytes (UTF-8 order); bools only with `==`/`!=`;
/// - `== null` and `is_null` match `Null` cells, `!= null` and `not_null` match every
///   other cell;
/// - any other comparison with a `Null` cell, or between different types (text vs
///   number, bool vs number, anything vs a `Json` cell), is false, `!=` included;
/// - `contains`/`starts_with`/`ends_with` hold only for `Str` cells, with the value
///   taken as text (`code starts_with 00` looks for the text `00`).
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    /// An `or` of `and`s of comparisons: never empty, nor any of its `and`s.
    any: Vec<Vec<Comparison>>,
}

/// One comparison of a [`Predicate`]: `COLUMN OP VALUE` or `COLUMN is_null`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    column: String,
    op: Op,
    value: Value,
    /// The value as text, for the text operators.
    text: String,
}

impl Predicate {
    /// Parses a predicate (see [`Predicate`]); the error says what is wrong, for people.
    pub fn parse(text: &str) -> Result<Predicate, String> {
        if text.trim().is_empty() {
            return Err("empty predicate; expected COLUMN OP VALUE, e.g. `age >= 18`".to_owned());
        }
        let mut any = vec![Vec::new()];
        let mut rest = text;
        loop {
            let (comparison, tail) = Comparison::parse_one(rest)?;
            if let Some(all) = any.last_mut() {
                all.push(comparison);
            }
            let tail = tail.trim_start();
            if tail.is_empty() {
                break;
            }
            let (joiner, after) = keyword(tail).ok_or_else(|| {
                format!(
                    "unexpected `{}` after the value; join comparisons with `and` / `or`, and quote a \
                     value that has spaces",
                    tail.trim_end()
                )
            })?;
            if joiner == Joiner::Or {
                any.push(Vec::new());
            }
            rest = after;
        }
        Ok(Predicate { any })
    }

    /// The `and`-groups of comparisons; the predicate holds when all the comparisons of
    /// any one group hold.
    pub fn any(&self) -> &[Vec<Comparison>] {
        &self.any
    }
}

impl fmt::Display for Predicate {
    /// The predicate in its text form (columns and text values quoted as needed).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, all) in self.any.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            for (j, comparison) in all.iter().enumerate() {
                if j > 0 {
                    f.write_str(" and ")?;
                }
                write!(f, "{comparison}")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Joiner {
    And,
    Or,
}

/// `and` / `or` (any ASCII case) at the start of `s`, followed by whitespace or a quote.
fn keyword(s: &str) -> Option<(Joiner, &str)> {
    let end = s
        .find(|c: char| c.is_whitespace() || c == '\'' || c == '"')
        .unwrap_or(s.len());
    let (word, rest) = s.split_at(end);
    if word.eq_ignore_ascii_case("and") {
        Some((Joiner::And, rest))
    } else if word.eq_ignore_ascii_case("or") {
        Some((Joiner::Or, rest))
    } else {
        None
    }
}

impl Comparison {
    /// Parses one comparison at the start of `text`; returns it and the rest.
    fn parse_one(text: &str) -> Result<(Comparison, &str), String> {
        let rest = text.trim_start();
        if rest.is_empty() {
            return Err("expected a comparison after `and` / `or`".to_owned());
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
        if op.is_unary() {
            let comparison = Comparison {
                column,
                op,
                value: Value::Null,
                text: String::new(),
            };
            return Ok((comparison, rest));
        }
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
        if op.is_order() && matches!(value, Value::Null | Value::Bool(_)) {
            return Err(format!(
                "`{}` compares numbers or text, not `{value_text}`",
                op.as_str()
            ));
        }
        let comparison = Comparison {
            column,
            op,
            value,
            text: value_text,
        };
        Ok((comparison, rest))
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

    /// Whether the comparison holds for `cell` (a cell of `table`).
    pub(super) fn matches(&self, table: &Table, cell: Cell) -> bool {
        match self.op {
            Op::IsNull => return cell == Cell::Null,
            Op::NotNull => return cell != Cell::Null,
            _ => {}
        }
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

impl fmt::Display for Comparison {
    /// The comparison in its text form (column and text values quoted as needed).
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
        if self.op.is_unary() {
            return write!(f, " {}", self.op.as_str());
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
fn quoted(s: &str) -> Result<(String, &str), String> {
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
fn operator(s: &str) -> Result<(Op, &str), String> {
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
        "is_null" => Op::IsNull,
        "not_null" => Op::NotNull,
        _ => {
            let found = if s.is_empty() {
                "nothing".to_owned()
            } else {
                format!("`{}`", s.split_whitespace().next().unwrap_or(s))
            };
            return Err(format!(
                "expected an operator (==, !=, <, <=, >, >=, contains, starts_with, ends_with, is_null, \
                 not_null), found {found}"
            ));
        }
    };
    Ok((op, rest))
}
