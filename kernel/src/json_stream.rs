//! The `json` op a piece at a time, for a streaming session: the same bytes and error
//! codes as `json_text::{validate, minify, pretty}` on the whole text, however it is
//! cut, holding a few bytes (a cut UTF-8 sequence) and one bit per open bracket.
//!
//! The one-shot op checks the text with serde_json; this checks it with a state machine
//! of RFC 8259's grammar that accepts what serde_json's skipping parser accepts
//! (`tests` compares the two on many texts, valid and not). Errors keep the one-shot's
//! order of checks: invalid UTF-8 anywhere is `bad_input` (given at once), then the depth
//! check (`too_large`), then the syntax: a syntax error is kept until the end, since
//! the depth check may yet fail.

use crate::json_text::{DepthScan, JsonMode};
use crate::{Error, Limits, Result};

/// Where the grammar is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// A value must come (`array_first`: or `]`, just after `[`).
    Value {
        array_first: bool,
    },
    /// After `{` (`first`: `}` may come) or `,` in an object: a key.
    Key {
        first: bool,
    },
    /// After a key: `:`.
    Colon,
    /// After a value in a container: `,` or its closing bracket.
    After,
    /// After the top-level value: only whitespace.
    End,
    /// In a string (`key`: an object key); `escape`: 0 none, 1 after `\`, 2-5 hex digits
    /// to come.
    Str {
        key: bool,
        escape: u8,
    },
    Number(Num),
    /// In `true`, `false` or `null`: the word and how much of it has come.
    Word(&'static [u8], u8),
}

/// Where a number is (JSON's grammar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

impl Num {
    /// Whether a number may end here.
    fn complete(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::ExpDigits)
    }

    fn next(self, b: u8) -> Option<Num> {
        Some(match (self, b) {
            (Num::Minus, b'0') => Num::Zero,
            (Num::Minus, b'1'..=b'9') | (Num::Int, b'0'..=b'9') => Num::Int,
            (Num::Zero | Num::Int, b'.') => Num::Dot,
            (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
            (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::Exp,
            (Num::Exp, b'+' | b'-') => Num::ExpSign,
            (Num::Exp | Num::ExpSign | Num::ExpDigits, b'0'..=b'9') => Num::ExpDigits,
            _ => return None,
        })
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// A stack of bits, one per open bracket (true: an object).
#[derive(Default)]
struct Open {
    words: Vec<u64>,
    len: u64,
}

impl Open {
    fn push(&mut self, object: bool) {
        let (word, shift) = ((self.len / 64) as usize, self.len % 64);
        if word == self.words.len() {
            self.words.push(0);
        }
        self.words[word] = (self.words[word] & !(1 << shift)) | (u64::from(object) << shift);
        self.len += 1;
    }

    fn pop(&mut self) -> Option<bool> {
        self.len = self.len.checked_sub(1)?;
        Some(self.words[(self.len / 64) as usize] >> (self.len % 64) & 1 == 1)
    }

    fn top(&self) -> Option<bool> {
        let top = self.len.checked_sub(1)?;
        Some(self.words[(top / 64) as usize] >> (top % 64) & 1 == 1)
    }
}

/// The `json` op fed in pieces.
pub(crate) struct JsonStream {
    mode: JsonMode,
    max_output: u64,
    depth: DepthScan,
    /// The start of a UTF-8 sequence cut at the end of the last piece.
    cut: Vec<u8>,
    at: At,
    open: Open,
    /// The first syntax error, kept for the end.
    syntax: Option<Error>,
    /// Bytes read, for messages.
    offset: u64,
    /// Pretty: the depth of the layout, and the closing bracket of a container just
    /// opened (written as `[]` / `{}` if it comes next).
    indent: usize,
    opened: Option<u8>,
    /// Pretty: bytes written, and whether they passed the output limit.
    written: u64,
}

impl JsonStream {
    pub(crate) fn new(mode: JsonMode, limits: &Limits) -> JsonStream {
        JsonStream {
            mode,
            max_output: limits.max_output_bytes,
            depth: DepthScan::new(limits.max_json_depth),
            cut: Vec::new(),
            at: At::Value { array_first: false },
            open: Open::default(),
            syntax: None,
            offset: 0,
            indent: 0,
            opened: None,
            written: 0,
        }
    }

    /// Reads the next piece, appending the output it completes to `out`.
    pub(crate) fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.utf8(input)?;
        self.depth.feed(input)?;
        // Too deep, the text ends in an error whatever comes (`DepthScan::finish`): no
        // more output, which `pretty` would indent without bound.
        if self.syntax.is_none() && !self.depth.too_deep() {
            let start = out.len();
            for (i, &b) in input.iter().enumerate() {
                if let Err(e) = self.byte(b, out) {
                    let at = self.offset + i as u64;
                    self.syntax = Some(Error::bad_input(format!("invalid JSON: {e} at byte {at}")));
                    out.truncate(start);
                    break;
                }
            }
            if self.mode == JsonMode::Validate && self.syntax.is_none() {
                out.extend_from_slice(input);
            }
            self.count(out.len() - start, out, start);
        }
        self.offset += input.len() as u64;
        Ok(())
    }

    /// The end of the text: the rest of the output (pretty's final line break), or the
    /// error `json_text` gives for the whole text.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.offset == 0 {
            return Err(Error::bad_input("empty input is not JSON"));
        }
        if !self.cut.is_empty() {
            return Err(Error::bad_input("JSON is not valid UTF-8 at its end (a cut sequence)"));
        }
        self.depth.finish()?;
        if let Some(e) = self.syntax.take() {
            return Err(e);
        }
        if let At::Number(n) = self.at
            && n.complete()
            && self.open.len == 0
        {
            self.at = At::End;
        }
        if self.at != At::End {
            return Err(Error::bad_input(format!(
                "invalid JSON: EOF while parsing a value at byte {}",
                self.offset
            )));
        }
        if self.mode == JsonMode::Pretty {
            let start = out.len();
            out.push(b'\n');
            self.count(1, out, start);
            if self.written > self.max_output {
                return Err(Error::too_large(format!(
                    "the JSON output is over the limit of {} bytes",
                    self.max_output
                )));
            }
        }
        Ok(())
    }

    /// Counts pretty output: past the limit, none more is given (the error is the
    /// end's, after the text is known to be JSON).
    fn count(&mut self, wrote: usize, out: &mut Vec<u8>, start: usize) {
        if self.mode != JsonMode::Pretty {
            return;
        }
        self.written = self.written.saturating_add(wrote as u64);
        if self.written > self.max_output {
            out.truncate(start);
        }
    }

    /// Checks that the text is UTF-8, a sequence cut between pieces included.
    fn utf8(&mut self, mut input: &[u8]) -> Result<()> {
        let bad = |at: u64| Error::bad_input(format!("JSON is not valid UTF-8 at byte {at}"));
        if !self.cut.is_empty() {
            let need = match self.cut[0] {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let take = (need - self.cut.len()).min(input.len());
            self.cut.extend_from_slice(&input[..take]);
            input = &input[take..];
            match std::str::from_utf8(&self.cut) {
                Ok(_) => self.cut.clear(),
                Err(e) if e.error_len().is_none() && input.is_empty() => return Ok(()),
                Err(_) => return Err(bad(self.offset)),
            }
        }
        if let Err(e) = std::str::from_utf8(input) {
            if e.error_len().is_some() {
                return Err(bad(self.offset + e.valid_up_to() as u64));
            }
            self.cut = input[e.valid_up_to()..].to_vec();
        }
        Ok(())
    }

    /// The value that just ended: what comes after it.
    fn after_value(&self) -> At {
        if self.open.len == 0 { At::End } else { At::After }
    }

    /// One byte through the grammar (and, minify and pretty, the layout).
    fn byte(&mut self, b: u8, out: &mut Vec<u8>) -> std::result::Result<(), &'static str> {
        match self.at {
            At::Str { key, escape } => {
                self.at = match (escape, b) {
                    (0, b'"') => {
                        if key {
                            At::Colon
                        } else {
                            self.after_value()
                        }
                    }
                    (0, b'\\') => At::Str { key, escape: 1 },
                    (0, 0x00..=0x1F) => return Err("control character in a string"),
                    (0, _) => At::Str { key, escape: 0 },
                    (1, b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => At::Str { key, escape: 0 },
                    (1, b'u') => At::Str { key, escape: 5 },
                    (1, _) => return Err("invalid escape"),
                    (2..=5, b) if b.is_ascii_hexdigit() => At::Str {
                        key,
                        escape: if escape == 2 { 0 } else { escape - 1 },
                    },
                    _ => return Err("invalid \\u escape"),
                };
                self.write(b, out);
                return Ok(());
            }
            At::Number(n) => match n.next(b) {
                Some(next) => {
                    self.at = At::Number(next);
                    self.write(b, out);
                    return Ok(());
                }
                None if n.complete() => self.at = self.after_value(),
                None => return Err("invalid number"),
            },
            At::Word(word, got) => {
                if word.get(usize::from(got)) != Some(&b) {
                    return Err("invalid literal");
                }
                self.at = if usize::from(got) + 1 == word.len() {
                    self.after_value()
                } else {
                    At::Word(word, got + 1)
                };
                self.write(b, out);
                return Ok(());
            }
            _ => {}
        }
        if is_ws(b) {
            return Ok(());
        }
        self.at = match (self.at, b) {
            (At::Value { array_first: true }, b']') => self.close(false)?,
            (At::Value { .. }, b'{') => {
                self.open.push(true);
                At::Key { first: true }
            }
            (At::Value { .. }, b'[') => {
                self.open.push(false);
                At::Value { array_first: true }
            }
            (At::Value { .. }, b'"') => At::Str { key: false, escape: 0 },
            (At::Value { .. }, b'-') => At::Number(Num::Minus),
            (At::Value { .. }, b'0') => At::Number(Num::Zero),
            (At::Value { .. }, b'1'..=b'9') => At::Number(Num::Int),
            (At::Value { .. }, b't') => At::Word(b"true", 1),
            (At::Value { .. }, b'f') => At::Word(b"false", 1),
            (At::Value { .. }, b'n') => At::Word(b"null", 1),
            (At::Key { .. }, b'"') => At::Str { key: true, escape: 0 },
            (At::Key { first: true }, b'}') => self.close(true)?,
            (At::Colon, b':') => At::Value { array_first: false },
            (At::After, b',') => match self.open.top() {
                Some(true) => At::Key { first: false },
                _ => At::Value { array_first: false },
            },
            (At::After, b']') => self.close(false)?,
            (At::After, b'}') => self.close(true)?,
            (At::End, _) => return Err("trailing characters"),
            _ => return Err("unexpected character"),
        };
        self.write(b, out);
        Ok(())
    }

    /// Closes an object (`true`) or array; what comes after it.
    fn close(&mut self, object: bool) -> std::result::Result<At, &'static str> {
        if self.open.pop() != Some(object) {
            return Err("unpaired bracket");
        }
        Ok(self.after_value())
    }

    /// Writes byte `b` (read at the grammar's state before it, now `self.at`) for minify
    /// and pretty.
    fn write(&mut self, b: u8, out: &mut Vec<u8>) {
        match self.mode {
            JsonMode::Validate => {}
            JsonMode::Minify => out.push(b),
            JsonMode::Pretty => self.pretty(b, out),
        }
    }

    /// `json_text::write_pretty`'s layout, a byte at a time (whitespace outside strings
    /// never reaches it).
    fn pretty(&mut self, b: u8, out: &mut Vec<u8>) {
        let in_token = matches!(self.at, At::Str { .. } | At::Number(_) | At::Word(..))
            || (b == b'"' && matches!(self.at, At::Colon | At::After | At::End));
        if let Some(close) = self.opened.take() {
            if b == close && !in_token {
                out.push(close);
                return;
            }
            self.indent += 1;
            newline(out, self.indent);
        }
        if in_token {
            out.push(b);
            return;
        }
        match b {
            b'[' | b'{' => {
                out.push(b);
                self.opened = Some(if b == b'[' { b']' } else { b'}' });
            }
            b']' | b'}' => {
                self.indent = self.indent.saturating_sub(1);
                newline(out, self.indent);
                out.push(b);
            }
            b',' => {
                out.push(b',');
                newline(out, self.indent);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
    }
}

fn newline(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    out.resize(out.len() + depth * 2, b' ');
}
