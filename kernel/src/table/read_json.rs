//! `parse_json`: a JSON array of objects, or NDJSON, into a table.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::grid::Grid;
use super::{Cell, Table};
use crate::{Error, Limits, Result, json_text};

/// The deepest nesting `parse_json` reads (the array of rows counts as one level):
/// serde_json's recursion limit when it builds values. A larger `max_json_depth` is
/// capped to it.
pub const MAX_DEPTH: u32 = 127;

/// Parses rows of JSON objects into a table.
///
/// The input is a JSON array of objects (its first non-whitespace byte is `[`) or
/// NDJSON: a stream of objects, normally one per line (blank lines are fine; like
/// serde_json's `StreamDeserializer`, objects may also span lines or share one). The columns are the union of the keys, in first-seen order; a
/// missing key is `Null`; a key repeated within one object keeps its last value.
///
/// Values: `null` -> `Null`; booleans -> `Bool`; integers that fit in i64 -> `Int`;
/// other numbers (fractions, exponents, `-0`, integers beyond i64) -> `Float`;
/// strings -> `Str`; arrays and objects -> `Json` (minified, keys in input order; a key
/// repeated inside a nested object keeps its first position and last value).
///
/// Errors: invalid JSON -> `bad_input` with serde_json's line and column; a row that
/// is not an object -> `bad_input` naming the row (1-based); nesting deeper than
/// `max_json_depth` (capped at [`MAX_DEPTH`]), more than `max_rows` rows,
/// more than `max_columns` keys, or more cells (missing keys padded) than the input has
/// bytes plus 2^20, or than `max_input_bytes` -> `too_large`.
/// Empty input (or only whitespace) and `[]` are an empty table.
pub fn parse_json(input: &[u8], limits: &Limits) -> Result<Table> {
    let Some(first) = input.iter().position(|b| !is_ws(*b)) else {
        return Ok(Table::default());
    };
    json_text::check_depth(input, limits.max_json_depth.min(MAX_DEPTH))?;
    let mut builder = Builder::new(limits, input.len());
    if input.get(first) == Some(&b'[') {
        let mut de = serde_json::Deserializer::from_slice(input);
        let parsed = RowsSeed(&mut builder).deserialize(&mut de).and_then(|()| de.end());
        if let Err(e) = parsed {
            return Err(builder.error.take().unwrap_or_else(|| json_error(&e)));
        }
    } else {
        let stream = serde_json::Deserializer::from_slice(input).into_iter::<Row<'_>>();
        for row in stream {
            builder.push(row.map_err(|e| json_error(&e))?)?;
        }
    }
    Ok(builder.finish())
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn json_error(e: &serde_json::Error) -> Error {
    Error::bad_input(format!("invalid JSON: {e}"))
}

/// Builds the table from rows as they are parsed.
struct Builder {
    arena: Table,
    columns: Vec<String>,
    index: HashMap<String, usize>,
    grid: Grid,
    row: Vec<Cell>,
    rows: usize,
    max_columns: usize,
    /// The error that stopped an array parse (serde_json only carries text).
    error: Option<Error>,
}

impl Builder {
    fn new(limits: &Limits, input_len: usize) -> Builder {
        let mut arena = Table::new(Vec::new());
        arena.reserve_text(input_len);
        Builder {
            arena,
            columns: Vec::new(),
            index: HashMap::new(),
            grid: Grid::empty(limits, input_len),
            row: Vec::new(),
            rows: 0,
            max_columns: usize::try_from(limits.max_columns).unwrap_or(usize::MAX),
            error: None,
        }
    }

    fn push(&mut self, row: Row<'_>) -> Result<()> {
        self.rows += 1;
        let entries = match row {
            Row::Object(entries) => entries,
            Row::Other(kind) => {
                return Err(Error::bad_input(format!(
                    "JSON row {} is {kind}, not an object",
                    self.rows
                )));
            }
        };
        self.row.clear();
        self.row.resize(self.columns.len(), Cell::Null);
        for (position, (key, value)) in entries.into_iter().enumerate() {
            // Rows usually repeat the key order of the first row: try that before hashing.
            let column = match self.columns.get(position) {
                Some(name) if *name == *key => position,
                _ => match self.index.get(&*key) {
                    Some(&column) => column,
                    None => self.add_column(key.into_owned())?,
                },
            };
            let cell = match value {
                Val::Null => Cell::Null,
                Val::Bool(b) => Cell::Bool(b),
                Val::Int(i) => Cell::Int(i),
                Val::Float(f) => Cell::Float(f),
                Val::Str(s) => self.arena.str_cell(&s),
                Val::Nested(v) => {
                    let text =
                        serde_json::to_string(&v).map_err(|e| Error::internal(format!("writing nested JSON: {e}")))?;
                    self.arena.json_cell(&text)
                }
            };
            if let Some(slot) = self.row.get_mut(column) {
                *slot = cell;
            }
        }
        self.grid.widen(self.row.len())?;
        self.grid.start_row()?;
        self.grid.cells.extend_from_slice(&self.row);
        self.grid.finish_row(self.row.len());
        Ok(())
    }

    fn add_column(&mut self, name: String) -> Result<usize> {
        if self.columns.len() >= self.max_columns {
            return Err(Error::too_large(format!(
                "the JSON rows have more than the limit of {} distinct keys",
                self.max_columns
            )));
        }
        let column = self.columns.len();
        self.index.insert(name.clone(), column);
        self.columns.push(name);
        self.row.push(Cell::Null);
        Ok(column)
    }

    fn finish(self) -> Table {
        self.arena.into_derived_with_cells(self.columns, self.grid.finish())
    }
}

/// The rows of a top-level array, each pushed into the builder as it is parsed.
struct RowsSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(row) = seq.next_element::<Row<'de>>()? {
            if let Err(e) = self.0.push(row) {
                let message = e.message.clone();
                self.0.error = Some(e);
                return Err(de::Error::custom(message));
            }
        }
        Ok(())
    }
}

/// One parsed row: an object's entries in input order, or what else it was.
enum Row<'de> {
    Object(Vec<(Cow<'de, str>, Val<'de>)>),
    Other(&'static str),
}

/// One value of a row.
enum Val<'de> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'de, str>),
    Nested(serde_json::Value),
}

impl<'de> Deserialize<'de> for Row<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Row<'de>, D::Error> {
        deserializer.deserialize_any(RowVisitor)
    }
}

struct RowVisitor;

impl<'de> Visitor<'de> for RowVisitor {
    type Value = Row<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row<'de>, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            entries.push((key, map.next_value::<Val<'de>>()?));
        }
        Ok(Row::Object(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Row<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Row::Other("an array"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Row<'de>, E> {
        Ok(Row::Other("null"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Row<'de>, E> {
        Ok(Row::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Row<'de>, E> {
        Ok(Row::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Row<'de>, E> {
        Ok(Row::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Row<'de>, E> {
        Ok(Row::Other("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Row<'de>, E> {
        Ok(Row::Other("a string"))
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key<'de>, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Val<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Val<'de>, D::Error> {
        deserializer.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Val<'de>, E> {
        Ok(Val::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Val<'de>, E> {
        Ok(Val::Int(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Val<'de>, E> {
        Ok(match i64::try_from(u) {
            Ok(i) => Val::Int(i),
            Err(_) => Val::Float(u as f64),
        })
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Val<'de>, E> {
        Ok(Val::Float(f))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Val<'de>, A::Error> {
        serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Val::Nested)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Val<'de>, A::Error> {
        serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Val::Nested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_cannot_pad_out_to_gigabytes() {
        // 4096 records with a key each of their own: 16 M cells from 60 KB.
        let input: String = (0..4096).map(|i| format!("{{\"k{i}\":1}}\n")).collect();
        let e = parse_json(input.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge, "{e}");
        let input: String = (0..500).map(|i| format!("{{\"k{i}\":1}}\n")).collect();
        let t = parse_json(input.as_bytes(), &Limits::default()).unwrap();
        assert_eq!((t.n_rows(), t.n_cols()), (500, 500));
    }
    use crate::ErrorCode;
    use crate::table::read_csv::tests::show;
    use crate::table::write_json::{json_str_len, push_f64, push_json_str, to_json, to_json_with_limit};
    use serde_json::{Value, json};

    fn parse(input: &str) -> Table {
        parse_json(input.as_bytes(), &Limits::default()).unwrap()
    }

    fn parse_err(input: &str) -> Error {
        parse_json(input.as_bytes(), &Limits::default()).unwrap_err()
    }

    fn cols(t: &Table) -> Vec<&str> {
        t.columns().iter().map(String::as_str).collect()
    }

    #[test]
    fn array_of_objects_unions_keys_in_first_seen_order() {
        let t = parse(r#"[{"a": 1, "b": "x"}, {"c": true, "a": 2}, {}, {"b": null}]"#);
        assert_eq!(cols(&t), ["a", "b", "c"]);
        assert_eq!(
            show(&t),
            [
                ["i:1", "s:x", "null"],
                ["i:2", "null", "true"],
                ["null", "null", "null"],
                ["null", "null", "null"],
            ]
        );
    }

    #[test]
    fn ndjson_with_blank_lines_and_crlf() {
        let t = parse("{\"a\":1}\r\n\r\n\n{\"b\":2,\"a\":3}\n   \n{\"a\":4}");
        assert_eq!(cols(&t), ["a", "b"]);
        assert_eq!(show(&t), [["i:1", "null"], ["i:3", "i:2"], ["i:4", "null"]]);
        // Both forms give the same table.
        let array = parse("[{\"a\":1},{\"b\":2,\"a\":3},{\"a\":4}]");
        assert_eq!(show(&array), show(&t));
    }

    #[test]
    fn value_kinds() {
        let t = parse(
            r#"{"n":null,"t":true,"f":false,"i":-42,"big":9223372036854775807,
                "huge":9223372036854775808,"neg":-9223372036854775808,"x":1.5,"one":1.0,
"mz":-0,"e":1e3,"s":"h\u00e9\"llo\n","arr":[1, 2.50, {"z": 1, "a": [ ]}],
                "obj":{"b": 1, "a": "é"}}"#,
        );
        assert_eq!(
            show(&t),
            [[
                "null",
                "true",
                "false",
                "i:-42",
                "i:9223372036854775807",
                "f:9.223372036854776e18",
                "i:-9223372036854775808",
                "f:1.5",
                "f:1.0",
                "f:-0.0",
                "f:1000.0",
                "s:hé\"llo\n",
                "j:[1,2.5,{\"z\":1,\"a\":[]}]",
                "j:{\"b\":1,\"a\":\"é\"}",
            ]]
        );
    }

    #[test]
    fn repeated_key_keeps_last_value() {
        let t = parse(r#"{"a":1,"b":2,"a":3}"#);
        assert_eq!(cols(&t), ["a", "b"]);
        assert_eq!(show(&t), [["i:3", "i:2"]]);
    }

    #[test]
    fn escaped_keys() {
        let t = parse(r#"[{"a\"b":1,"\u00e9":2},{"é":3}]"#);
        assert_eq!(cols(&t), ["a\"b", "é"]);
        assert_eq!(show(&t), [["i:1", "i:2"], ["null", "i:3"]]);
    }

    #[test]
    fn non_object_rows_are_bad_input() {
        for (input, row, kind) in [
            ("[{\"a\":1}, [1,2]]", 2, "an array"),
            ("[{\"a\":1}, {\"a\":2}, 3]", 3, "a number"),
            ("{\"a\":1}\n\"x\"\n", 2, "a string"),
            ("null", 1, "null"),
            ("[true]", 1, "a boolean"),
        ] {
            let e = parse_err(input);
            assert_eq!(e.code, ErrorCode::BadInput, "{input}");
            assert!(e.message.contains(&format!("row {row} ")), "{}", e.message);
            assert!(e.message.contains(kind), "{}", e.message);
        }
    }

    #[test]
    fn invalid_json_is_bad_input_with_position() {
        for (input, position) in [
            ("[{\"a\":1},\n{\"a\":}]", "line 2 column 6"),
            ("{\"a\":1}\n{\"a\":2", "line 2"),
            ("[{\"a\":1}] x", "line 1 column 11"),
            ("{\"a\":1} {", "line 1"),
            ("[{\"a\":1e400}]", "line 1"),
            ("[{\"a\":\"\\ud800\"}]", "line 1"),
            ("{\"a\":\u{1}}", "line 1"),
        ] {
            let e = parse_err(input);
            assert_eq!(e.code, ErrorCode::BadInput, "{input}");
            assert!(e.message.contains(position), "{input}: {}", e.message);
        }
        let e = parse_json(b"{\"a\":\"\xff\"}", &Limits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
    }

    #[test]
    fn empty_inputs() {
        for input in ["", "  \n\t", "[]", " [ ] "] {
            let t = parse(input);
            assert_eq!((t.n_cols(), t.n_rows()), (0, 0), "{input:?}");
        }
        // Objects without keys are rows without cells: no columns, so no rows.
        let t = parse("[{}, {}]");
        assert_eq!((t.n_cols(), t.n_rows()), (0, 0));
    }

    #[test]
    fn limits_are_too_large() {
        let limits = Limits {
            max_rows: 2,
            max_columns: 2,
            max_json_depth: 3,
            ..Limits::default()
        };
        let p = |s: &str| parse_json(s.as_bytes(), &limits);
        assert_eq!(p("[{\"a\":1},{\"b\":2}]").unwrap().n_rows(), 2);
        assert_eq!(
            p("[{\"a\":1},{\"a\":2},{\"a\":3}]").unwrap_err().code,
            ErrorCode::TooLarge
        );
        assert_eq!(
            p("{\"a\":1}\n{\"a\":2}\n{\"a\":3}").unwrap_err().code,
            ErrorCode::TooLarge
        );
        assert_eq!(p("[{\"a\":1,\"b\":2,\"c\":3}]").unwrap_err().code, ErrorCode::TooLarge);
        assert_eq!(p("{\"a\":1}\n{\"c\":3,\"b\":1}").unwrap_err().code, ErrorCode::TooLarge);
        // The array of rows counts as one level.
        assert_eq!(p("[{\"a\":[1]}]").unwrap().n_rows(), 1);
        assert_eq!(p("[{\"a\":[[1]]}]").unwrap_err().code, ErrorCode::TooLarge);
        assert_eq!(p("{\"a\":[[1]]}").unwrap().n_rows(), 1);
        assert_eq!(p("{\"a\":[[[1]]]}").unwrap_err().code, ErrorCode::TooLarge);
        // Rows missing a late key cannot pad out past the cell cap.
        let limits = Limits {
            max_input_bytes: 100,
            ..Limits::default()
        };
        let keys: Vec<String> = (0..20).map(|i| format!("\"k{i}\":0")).collect();
        let mut input = "{}\n".repeat(4);
        input.push_str(&format!("{{{}}}\n", keys.join(",")));
        assert_eq!(parse_json(input.as_bytes(), &limits).unwrap().n_rows(), 5);
        input.push_str("{}\n");
        assert_eq!(
            parse_json(input.as_bytes(), &limits).unwrap_err().code,
            ErrorCode::TooLarge
        );
        // The default depth limit (128) is capped at what serde_json builds values for.
        let nest = |d: usize| format!("{{\"a\":{}1{}}}", "[".repeat(d - 1), "]".repeat(d - 1));
        assert_eq!(parse(&nest(127)).n_rows(), 1);
        assert_eq!(parse_err(&nest(128)).code, ErrorCode::TooLarge);
        // Deep input fails fast, before serde_json recurses.
        let deep = format!("[{{\"a\":{}1{}}}]", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse_json(deep.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
    }

    #[test]
    fn late_keys_pad_earlier_rows() {
        let t = parse("{\"a\":1}\n{\"a\":2}\n{\"b\":3}\n{\"c\":4,\"a\":5}\n{\"a\":6}");
        assert_eq!(cols(&t), ["a", "b", "c"]);
        assert_eq!(
            show(&t),
            [
                ["i:1", "null", "null"],
                ["i:2", "null", "null"],
                ["null", "i:3", "null"],
                ["i:5", "null", "i:4"],
                ["i:6", "null", "null"],
            ]
        );
    }

    fn sample() -> Table {
        let mut t = Table::new(vec!["id".into(), "name \"q\"".into(), "v".into(), "tags".into()]);
        let s = t.str_cell("tab\there\u{1}\u{7f}é\u{2028}");
        let j = t.json_cell("{\"a\":[1,{\"b\":[]},{}],\"c\":\"x\"}");
        t.push_row(&[Cell::Int(1), s, Cell::Float(1.0), j]);
        let s = t.str_cell("");
        let j = t.json_cell("[]");
        t.push_row(&[Cell::Null, s, Cell::Float(1e21), j]);
        t.push_row(&[Cell::Bool(true), Cell::Null, Cell::Float(-0.5), Cell::Bool(false)]);
        t
    }

    /// The same rows as serde_json values, written independently of `to_json`.
    fn sample_values() -> Vec<Value> {
        let mut rows = Vec::new();
        let mut row = serde_json::Map::new();
        row.insert("id".into(), json!(1));
        row.insert("name \"q\"".into(), json!("tab\there\u{1}\u{7f}é\u{2028}"));
        row.insert("v".into(), json!(1.0));
        row.insert("tags".into(), json!({"a": [1, {"b": []}, {}], "c": "x"}));
        rows.push(Value::Object(row));
        let mut row = serde_json::Map::new();
        row.insert("id".into(), Value::Null);
        row.insert("name \"q\"".into(), json!(""));
        row.insert("v".into(), json!(1e21));
        row.insert("tags".into(), json!([]));
        rows.push(Value::Object(row));
        let mut row = serde_json::Map::new();
        row.insert("id".into(), json!(true));
        row.insert("name \"q\"".into(), Value::Null);
        row.insert("v".into(), json!(-0.5));
        row.insert("tags".into(), json!(false));
        rows.push(Value::Object(row));
        rows
    }

    #[test]
    fn to_json_matches_serde_json() {
        let t = sample();
        let values = Value::Array(sample_values());
        assert_eq!(to_json(&t, false, false), serde_json::to_vec(&values).unwrap());
        assert_eq!(to_json(&t, false, true), serde_json::to_vec_pretty(&values).unwrap());
        let mut ndjson = Vec::new();
        for v in sample_values() {
            ndjson.extend(serde_json::to_vec(&v).unwrap());
            ndjson.push(b'\n');
        }
        assert_eq!(to_json(&t, true, false), ndjson);
        assert_eq!(to_json(&t, true, true), ndjson);
    }

    #[test]
    fn to_json_exact_text() {
        let mut t = Table::new(vec!["a".into(), "b".into()]);
        let j = t.json_cell("[1,{\"x\":null}]");
        t.push_row(&[Cell::Int(-3), j]);
        t.push_row(&[Cell::Float(2.5), Cell::Null]);
        assert_eq!(
            String::from_utf8(to_json(&t, false, false)).unwrap(),
            r#"[{"a":-3,"b":[1,{"x":null}]},{"a":2.5,"b":null}]"#
        );
        assert_eq!(
            String::from_utf8(to_json(&t, true, false)).unwrap(),
            "{\"a\":-3,\"b\":[1,{\"x\":null}]}\n{\"a\":2.5,\"b\":null}\n"
        );
        assert_eq!(
            String::from_utf8(to_json(&t, false, true)).unwrap(),
            "[\n  {\n    \"a\": -3,\n    \"b\": [\n      1,\n      {\n        \"x\": null\n      }\n    ]\n  },\n  {\n    \"a\": 2.5,\n    \"b\": null\n  }\n]"
        );
    }

    #[test]
    fn to_json_empty_tables() {
        let empty = Table::new(vec!["a".into()]);
        assert_eq!(to_json(&empty, false, false), b"[]");
        assert_eq!(to_json(&empty, false, true), b"[]");
        assert_eq!(to_json(&empty, true, false), b"");
        assert_eq!(to_json(&Table::default(), false, true), b"[]");
    }

    #[test]
    fn to_json_with_limit_is_too_large() {
        let t = sample();
        let full = to_json(&t, false, true);
        let n = full.len() as u64;
        assert_eq!(to_json_with_limit(&t, false, true, n).unwrap(), full);
        let e = to_json_with_limit(&t, false, true, n - 1).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        let e = to_json_with_limit(&t, true, false, 10).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
    }

    #[test]
    fn string_escaping_matches_serde_json() {
        let mut all = String::new();
        for c in (0u32..0x80).chain([0x7f, 0xe9, 0x2028, 0x2029, 0xfeff, 0x1f600]) {
            all.push(char::from_u32(c).unwrap());
        }
        let mut ours = Vec::new();
        push_json_str(&mut ours, &all);
        assert_eq!(ours, serde_json::to_vec(&all).unwrap());
        assert_eq!(json_str_len(&all), ours.len() as u64);
    }

    #[test]
    fn a_cell_that_escapes_past_the_limit_is_refused_in_its_row() {
        // One field of 1000 control bytes: 6002 bytes once escaped.
        let csv = format!("a\n{}\n", "\u{1}".repeat(1000));
        let t = crate::table::read_csv::parse_csv(csv.as_bytes(), &Default::default(), &Limits::default()).unwrap();
        let whole = to_json(&t, true, false);
        assert_eq!(whole.len(), 6009); // {"a":"..."}\n
        assert!(to_json_with_limit(&t, true, false, 6009).is_ok());
        // Refused after the row (one byte over), and before the cell (far over).
        for limit in [6008, 6000, 10] {
            let e = to_json_with_limit(&t, true, false, limit).unwrap_err();
            assert_eq!(e.code, ErrorCode::TooLarge);
        }
    }

    #[test]
    fn json_round_trip() {
        let t = sample();
        for (ndjson, pretty) in [(false, false), (false, true), (true, false)] {
            let text = to_json(&t, ndjson, pretty);
            let back = parse_json(&text, &Limits::default()).unwrap();
            assert_eq!(back.columns(), t.columns());
            assert_eq!(show(&back), show(&t));
        }
    }

    #[test]
    fn float_formatting() {
        let mut out = Vec::new();
        for v in [1.0, 1.5, 0.1, 1e21, 1e-7, -0.0, 123456789.0, f64::MAX, 5e-324] {
            out.clear();
            push_f64(&mut out, v);
            assert_eq!(out, serde_json::to_vec(&v).unwrap(), "{v}");
            let back: f64 = std::str::from_utf8(&out).unwrap().parse().unwrap();
            assert_eq!(back.to_bits(), v.to_bits());
        }
        out.clear();
        push_f64(&mut out, f64::INFINITY);
        assert_eq!(out, b"null");
    }
}
