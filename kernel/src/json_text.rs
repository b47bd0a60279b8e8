//! The `json` op (bytes -> bytes): validate, minify or pretty-print JSON text.
//!
//! Validation is RFC 8259 (UTF-8, then serde_json's parser, after a depth pre-scan).
//! Minify and pretty rewrite the text byte by byte without parsing it into values, so
//! every token stays exactly as written: numbers (`1.0`, `1e400`), string escapes
//! (`"\u00e9"`), key order and duplicate keys.

use serde::de::IgnoredAny;

use crate::choice::choices;
use crate::{Error, Limits, Result};

choices! {
    /// What the `json` op does.
    pub enum JsonMode {
        Validate = "validate",
        Minify = "minify",
        Pretty = "pretty",
    }
}

/// Fails when arrays and objects nest deeper than `max_depth`: with `bad_input` if the
/// brackets do not pair up (the text cannot be JSON, however deep), else `too_large`.
///
/// A linear byte scan without recursion (string contents and escapes are skipped), so
/// it is safe on any input, however deep; it does not otherwise check that the input is
/// JSON. Open brackets are kept one bit each.
pub fn check_depth(input: &[u8], max_depth: u32) -> Result<()> {
    let mut scan = DepthScan::new(max_depth);
    scan.feed(input)?;
    scan.finish()
}

/// [`check_depth`] a piece at a time (the same errors however the text is cut): for a
/// streaming session, which cannot look back at the text.
/// Whether a byte of JSON text, read in order, is inside a string (escapes included):
/// the state the scanners that cut or count brackets keep between pieces.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct InString {
    inside: bool,
    escaped: bool,
}

impl InString {
    /// Reads `b`: true when it belongs to a string (its quotes included), so it is no
    /// bracket.
    pub(crate) fn skip(&mut self, b: u8) -> bool {
        if self.inside {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.inside = false;
            }
            return true;
        }
        self.inside = b == b'"';
        self.inside
    }
}

pub(crate) struct DepthScan {
    max_depth: u32,
    open: BitStack, // true: an object
    /// Where the text first went too deep (line, column).
    too_deep_at: Option<(usize, usize)>,
    string: InString,
    /// Bytes read, the line they end on, and where that line starts.
    offset: u64,
    line: usize,
    line_start: u64,
}

impl DepthScan {
    pub(crate) fn new(max_depth: u32) -> DepthScan {
        DepthScan {
            max_depth,
            open: BitStack::default(),
            too_deep_at: None,
            string: InString::default(),
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// Whether the text so far nests deeper than the limit.
    pub(crate) fn too_deep(&self) -> bool {
        self.too_deep_at.is_some()
    }

    /// The line and column of byte `at` of `input` (the piece that starts at
    /// `self.offset`), 1-based, the column in bytes.
    fn at(&self, input: &[u8], at: usize) -> (usize, usize) {
        let head = input.get(..at).unwrap_or(input);
        match head.iter().rposition(|&b| b == b'\n') {
            Some(nl) => (self.line + head.iter().filter(|&&b| b == b'\n').count(), at - nl),
            None => (self.line, (self.offset - self.line_start) as usize + at + 1),
        }
    }

    /// Reads the next piece of the text: `bad_input` at once where a bracket does not
    /// pair up after the text went too deep.
    pub(crate) fn feed(&mut self, input: &[u8]) -> Result<()> {
        for (i, &b) in input.iter().enumerate() {
            if self.string.skip(b) {
                continue;
            }
            match b {
                b'[' | b'{' => {
                    self.open.push(b == b'{');
                    if self.open.len > u64::from(self.max_depth) && self.too_deep_at.is_none() {
                        self.too_deep_at = Some(self.at(input, i));
                    }
                }
                b']' | b'}' => {
                    let paired = self.open.pop() == Some(b == b'}');
                    if !paired && self.too_deep_at.is_some() {
                        return Err(unpaired(self.at(input, i)));
                    }
                }
                _ => {}
            }
        }
        if let Some(nl) = input.iter().rposition(|&b| b == b'\n') {
            self.line += input.iter().filter(|&&b| b == b'\n').count();
            self.line_start = self.offset + nl as u64 + 1;
        }
        self.offset += input.len() as u64;
        Ok(())
    }

    /// The end of the text: `too_large` if it went too deep (`bad_input` if its
    /// brackets do not pair up).
    pub(crate) fn finish(&self) -> Result<()> {
        match self.too_deep_at {
            None => Ok(()),
            Some(_) if self.open.len > 0 || self.string.inside => {
                Err(unpaired((self.line, (self.offset - self.line_start) as usize + 1)))
            }
            Some((line, column)) => Err(Error::too_large(format!(
                "JSON nests deeper than the limit of {} at line {line} column {column}",
                self.max_depth
            ))),
        }
    }
}

fn unpaired((line, column): (usize, usize)) -> Error {
    Error::bad_input(format!("invalid JSON: unpaired bracket at line {line} column {column}"))
}

/// A stack of bits (one per open bracket) that never allocates more than len / 8 bytes.
#[derive(Default)]
struct BitStack {
    words: Vec<u64>,
    len: u64,
}

impl BitStack {
    fn push(&mut self, bit: bool) {
        let (word, shift) = ((self.len / 64) as usize, self.len % 64);
        if word == self.words.len() {
            self.words.push(0);
        }
        self.words[word] = (self.words[word] & !(1 << shift)) | (u64::from(bit) << shift);
        self.len += 1;
    }

    fn pop(&mut self) -> Option<bool> {
        self.len = self.len.checked_sub(1)?;
        Some(self.words[(self.len / 64) as usize] >> (self.len % 64) & 1 == 1)
    }
}

/// Checks that `input` is one JSON text (RFC 8259): UTF-8, nesting within
/// `max_json_depth` (deeper is `too_large`), and valid syntax (serde_json's parser,
/// which skips values without recursing). Empty input, invalid UTF-8 and syntax errors are `bad_input` with the line
/// and column.
pub fn validate(input: &[u8], limits: &Limits) -> Result<()> {
    if input.is_empty() {
        return Err(Error::bad_input("empty input is not JSON"));
    }
    let text = std::str::from_utf8(input).map_err(|e| {
        let (line, column) = line_col(input, e.valid_up_to());
        Error::bad_input(format!("JSON is not valid UTF-8 at line {line} column {column}"))
    })?;
    check_depth(input, limits.max_json_depth)?;
    serde_json::from_str::<IgnoredAny>(text).map_err(|e| Error::bad_input(format!("invalid JSON: {e}")))?;
    Ok(())
}

/// Validates, then drops all insignificant whitespace. Every token is kept byte for
/// byte. No trailing newline.
pub fn minify(input: &[u8], limits: &Limits) -> Result<Vec<u8>> {
    validate(input, limits)?;
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        let end = match b {
            b'"' => string_end(input, i),
            b if is_ws(b) => {
                i += 1;
                continue;
            }
            _ => token_end(input, i),
        };
        out.extend_from_slice(input.get(i..end).unwrap_or_default());
        i = end;
    }
    Ok(out)
}

/// Validates, then lays the text out like `serde_json::to_writer_pretty`: 2-space
/// indent, one element or member per line, `"key": value`, `[]` and `{}` for empty
/// containers; every token is kept byte for byte. Ends with one `\n`. Output past
/// `max_output_bytes` is `too_large`.
pub fn pretty(input: &[u8], limits: &Limits) -> Result<Vec<u8>> {
    validate(input, limits)?;
    let max = limits.max_output_bytes;
    let capacity = input.len().saturating_add(input.len() / 2);
    let mut out = Vec::with_capacity(capacity.min(usize::try_from(max).unwrap_or(usize::MAX)));
    write_pretty(&mut out, input, 0, max)?;
    if out.len() as u64 >= max {
        return Err(too_large_output(max));
    }
    out.push(b'\n');
    Ok(out)
}

/// Appends the pretty layout of `json` to `out`, as if nested `indent` levels deep
/// (lines after the first are indented by `indent + depth` levels). `json` should be
/// valid JSON; anything else is rewritten without panicking, not validated.
/// Fails with `too_large` once `out` would pass `max_bytes`.
pub(crate) fn write_pretty(out: &mut Vec<u8>, json: &[u8], indent: usize, max_bytes: u64) -> Result<()> {
    let mut depth = indent;
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        match b {
            b'[' | b'{' => {
                out.push(b);
                let close = if b == b'[' { b']' } else { b'}' };
                let next = skip_ws(json, i + 1);
                if json.get(next) == Some(&close) {
                    out.push(close);
                    i = next + 1;
                } else {
                    depth += 1;
                    newline(out, depth, max_bytes)?;
                    i += 1;
                }
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                newline(out, depth, max_bytes)?;
                out.push(b);
                i += 1;
            }
            b',' => {
                out.push(b',');
                newline(out, depth, max_bytes)?;
                i += 1;
            }
            b':' => {
                out.extend_from_slice(b": ");
                i += 1;
            }
            b if is_ws(b) => i += 1,
            _ => {
                let end = if b == b'"' {
                    string_end(json, i)
                } else {
                    token_end(json, i)
                };
                out.extend_from_slice(json.get(i..end).unwrap_or_default());
                i = end;
            }
        }
    }
    if out.len() as u64 > max_bytes {
        return Err(too_large_output(max_bytes));
    }
    Ok(())
}

fn newline(out: &mut Vec<u8>, depth: usize, max_bytes: u64) -> Result<()> {
    let spaces = depth.saturating_mul(2);
    if (out.len() as u64).saturating_add(1 + spaces as u64) > max_bytes {
        return Err(too_large_output(max_bytes));
    }
    out.push(b'\n');
    out.resize(out.len() + spaces, b' ');
    Ok(())
}

fn too_large_output(max_bytes: u64) -> Error {
    Error::too_large(format!("the JSON output is over the limit of {max_bytes} bytes"))
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(json: &[u8], from: usize) -> usize {
    json.get(from..)
        .and_then(|rest| rest.iter().position(|&b| !is_ws(b)))
        .map_or(json.len(), |p| from + p)
}

/// The end (exclusive) of the string starting with the quote at `start`.
fn string_end(json: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(&b) = json.get(i) {
        match b {
            b'"' => return i + 1,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    json.len()
}

/// The end (exclusive) of the number or literal starting at `start` (at least one byte).
fn token_end(json: &[u8], start: usize) -> usize {
    json.get(start + 1..)
        .and_then(|rest| {
            rest.iter()
                .position(|&b| is_ws(b) || matches!(b, b'"' | b'[' | b']' | b'{' | b'}' | b',' | b':'))
        })
        .map_or(json.len(), |p| start + 1 + p)
}

/// The 1-based line and column (in bytes) of byte `offset`.
fn line_col(input: &[u8], offset: usize) -> (usize, usize) {
    let head = input.get(..offset).unwrap_or(input);
    let line = 1 + head.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + head.iter().rev().take_while(|&&b| b != b'\n').count();
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn lim() -> Limits {
        Limits::default()
    }

    fn min(s: &str) -> String {
        String::from_utf8(minify(s.as_bytes(), &lim()).unwrap()).unwrap()
    }

    fn pre(s: &str) -> String {
        String::from_utf8(pretty(s.as_bytes(), &lim()).unwrap()).unwrap()
    }

    const EXACT: &str = " { \"a\" : 1.0 , \"b\" : [ 1e400 , \"\\u00e9\" , -0 , 1E+2 , \"x\\\"[{\\\\\" ] ,\r\n\t\"a\" : true , \"e\" : { } , \"f\" : [ ] } ";

    #[test]
    fn minify_keeps_tokens_exact() {
        assert_eq!(
            min(EXACT),
            r#"{"a":1.0,"b":[1e400,"\u00e9",-0,1E+2,"x\"[{\\"],"a":true,"e":{},"f":[]}"#
        );
        assert_eq!(min(" 12 "), "12");
        assert_eq!(min("\"a b\""), "\"a b\"");
        assert_eq!(min("[ null , false ]"), "[null,false]");
    }

    #[test]
    fn pretty_keeps_tokens_exact() {
        assert_eq!(
            pre(EXACT),
            "{\n  \"a\": 1.0,\n  \"b\": [\n    1e400,\n    \"\\u00e9\",\n    -0,\n    1E+2,\n    \"x\\\"[{\\\\\"\n  ],\n  \"a\": true,\n  \"e\": {},\n  \"f\": []\n}\n"
        );
        assert_eq!(pre("3"), "3\n");
        assert_eq!(pre(" [ ] "), "[]\n");
        assert_eq!(pre("[[],[{}]]"), "[\n  [],\n  [\n    {}\n  ]\n]\n");
    }

    #[test]
    fn pretty_matches_serde_json_layout() {
        // On input whose tokens serde_json writes back unchanged, the layouts agree.
        let input = r#"{"name":"kiln","n":[1,2,{"deep":{"x":[true,null,"s"]}}],"o":{},"a":[],"u":"\u00e9"}"#;
        let value: serde_json::Value = serde_json::from_str(input).unwrap();
        let mut expected = serde_json::to_string_pretty(&value).unwrap();
        expected.push('\n');
        assert_eq!(pre(input), expected.replace('é', "\\u00e9"));
        assert_eq!(min(&pre(input)), input);
    }

    #[test]
    fn duplicate_keys_and_key_order_are_kept() {
        let input = r#"{"z":1,"a":2,"z":3}"#;
        assert_eq!(min(input), input);
        assert_eq!(pre(input), "{\n  \"z\": 1,\n  \"a\": 2,\n  \"z\": 3\n}\n");
    }

    #[test]
    fn invalid_json_is_bad_input_with_position() {
        for (input, position) in [
            ("{\"a\":1,}", "line 1 column 8"),
            ("[1,\n2,\n", "line 3"),
            ("[1] [2]", "line 1 column 5"),
            ("{'a':1}", "line 1 column 2"),
            ("[01]", "line 1"),
            ("[1.]", "line 1"),
            ("\"\u{1}\"", "line 1"),
            ("\"\\x\"", "line 1"),
            ("nul", "line 1"),
            ("   ", "line 1"),
        ] {
            let e = validate(input.as_bytes(), &lim()).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadInput, "{input:?}");
            assert!(e.message.contains(position), "{input:?}: {}", e.message);
            assert_eq!(minify(input.as_bytes(), &lim()).unwrap_err().code, ErrorCode::BadInput);
            assert_eq!(pretty(input.as_bytes(), &lim()).unwrap_err().code, ErrorCode::BadInput);
        }
        assert_eq!(validate(b"", &lim()).unwrap_err().code, ErrorCode::BadInput);
        let e = validate(b"[\"a\",\n\"\xff\"]", &lim()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        assert!(e.message.contains("line 2 column 2"), "{}", e.message);
        // A UTF-8 BOM is not JSON text.
        assert_eq!(
            validate(b"\xef\xbb\xbf{}", &lim()).unwrap_err().code,
            ErrorCode::BadInput
        );
    }

    #[test]
    fn valid_edge_cases() {
        for input in [
            "0",
            "-0.0e-0",
            "\"\\ud83d\\ude00\"",
            "[\"\\/\"]",
            "1e400",
            " {\"\":\"\"} ",
            "\"\u{7f}\"",
        ] {
            validate(input.as_bytes(), &lim()).unwrap();
            assert_eq!(min(input), input.trim());
        }
    }

    #[test]
    fn deep_nesting_is_too_large_without_recursion() {
        let n = 100_000;
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let deep = format!("{}1{}", open.repeat(n), close.repeat(n));
            assert_eq!(check_depth(deep.as_bytes(), 128).unwrap_err().code, ErrorCode::TooLarge);
            check_depth(deep.as_bytes(), n as u32).unwrap();
            for result in [
                validate(deep.as_bytes(), &lim()),
                minify(deep.as_bytes(), &lim()).map(drop),
                pretty(deep.as_bytes(), &lim()).map(drop),
            ] {
                assert_eq!(result.unwrap_err().code, ErrorCode::TooLarge);
            }
        }
        // Unbalanced (JSONTestSuite's n_structure_100000_opening_arrays): not JSON at all.
        let e = validate("[".repeat(n).as_bytes(), &lim()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput);
        // Brackets inside strings do not count.
        let s = format!("[\"{}\\\"{}\"]", "[".repeat(n), "{".repeat(n));
        validate(s.as_bytes(), &lim()).unwrap();
        assert_eq!(min(&s), s);
    }

    #[test]
    fn depth_limit_boundary() {
        let nest = |d: usize| format!("{}{}", "[".repeat(d), "]".repeat(d));
        assert_eq!(lim().max_json_depth, 128);
        validate(nest(128).as_bytes(), &lim()).unwrap();
        assert_eq!(min(&nest(128)), nest(128));
        assert_eq!(
            validate(nest(129).as_bytes(), &lim()).unwrap_err().code,
            ErrorCode::TooLarge
        );
        let tight = Limits {
            max_json_depth: 2,
            ..Limits::default()
        };
        validate(nest(2).as_bytes(), &tight).unwrap();
        assert_eq!(
            validate(nest(3).as_bytes(), &tight).unwrap_err().code,
            ErrorCode::TooLarge
        );
        let e = check_depth(b"[\n [\n  []]]", 2).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        assert!(e.message.contains("line 3 column 3"), "{}", e.message);
        let e = check_depth(b"[\n [\n  [", 2).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadInput, "unclosed, so not JSON at any depth");
    }

    #[test]
    fn pretty_output_limit() {
        // Indentation can outgrow the input many times over.
        let input = format!("{}{}{}", "[".repeat(100), "1,".repeat(1000) + "1", "]".repeat(100));
        let small = Limits {
            max_output_bytes: 50_000,
            ..Limits::default()
        };
        assert_eq!(pretty(input.as_bytes(), &small).unwrap_err().code, ErrorCode::TooLarge);
        let out = pretty(input.as_bytes(), &lim()).unwrap();
        let exact = Limits {
            max_output_bytes: out.len() as u64,
            ..Limits::default()
        };
        assert_eq!(pretty(input.as_bytes(), &exact).unwrap(), out);
        let short = Limits {
            max_output_bytes: out.len() as u64 - 1,
            ..Limits::default()
        };
        assert_eq!(pretty(input.as_bytes(), &short).unwrap_err().code, ErrorCode::TooLarge);
    }

    #[test]
    fn write_pretty_tolerates_garbage() {
        for junk in [
            &b"]]]}}"[..],
            b"[[[",
            b"\"unterminated",
            b"\\",
            b"{:,}",
            b"\xff\xfe",
            b"[\"a\\",
        ] {
            let mut out = Vec::new();
            write_pretty(&mut out, junk, 3, u64::MAX).unwrap();
            check_depth(junk, 1).ok();
        }
    }

    /// Random short inputs over JSON's structural alphabet: nothing panics, and on
    /// valid input minify and pretty agree with each other and with serde_json.
    #[test]
    fn random_inputs() {
        const ALPHABET: &[u8] = b"[]{}\",:\\ \n01-.eEtrufalsn\xc3\xa9u";
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut valid = 0;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 24) as usize;
            let input: Vec<u8> = (0..len)
                .map(|k| ALPHABET[((seed >> (k % 8 * 8)) as usize + k * 7) % ALPHABET.len()])
                .collect();
            let ok = validate(&input, &lim()).is_ok();
            // serde_json does not check UTF-8 inside strings it skips; RFC 8259 does.
            let utf8 = std::str::from_utf8(&input).is_ok();
            let serde_ok = serde_json::from_slice::<IgnoredAny>(&input).is_ok();
            assert_eq!(ok, utf8 && serde_ok, "{input:?}");
            match (minify(&input, &lim()), pretty(&input, &lim())) {
                (Ok(m), Ok(p)) => {
                    valid += 1;
                    assert_eq!(minify(&p, &lim()).unwrap(), m);
                    let a: serde_json::Value = serde_json::from_slice(&input).unwrap();
                    let b: serde_json::Value = serde_json::from_slice(&m).unwrap();
                    assert_eq!(a, b);
                }
                (Err(a), Err(b)) => assert_eq!(a.code, b.code),
                _ => panic!("minify and pretty disagree on {input:?}"),
            }
            let _ = crate::table::read_json::parse_json(&input, &lim());
            for header in [true, false] {
                let opts = crate::table::read_csv::CsvOptions {
                    header,
                    ..Default::default()
                };
                if let Ok(t) = crate::table::read_csv::parse_csv(&input, &opts, &lim()) {
                    let _ = crate::table::write_csv::to_csv(&t, b',').unwrap();
                    let _ = crate::table::write_json::to_json(&t, false, true);
                    let _ = crate::table::stats::stats(&t);
                }
            }
        }
        assert!(valid > 100, "only {valid} valid inputs");
    }
}
