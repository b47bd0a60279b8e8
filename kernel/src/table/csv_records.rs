//! The records of CSV text in memory, read with csv-core (the parser under the `csv`
//! crate) straight from the slice, into one reused buffer whose growth the caller
//! approves first: the memory model counts the buffer of the longest record.

use csv_core::ReadRecordResult;

use crate::Result;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Field bytes and field ends the buffer starts with.
const FIRST_BYTES: usize = 4096;
const FIRST_ENDS: usize = 64;

/// Reads records one at a time from `input`.
pub(super) struct Records<'a> {
    core: csv_core::Reader,
    input: &'a [u8],
    at: usize,
    /// The current record's unescaped field bytes (room included).
    bytes: Vec<u8>,
    /// Where each field of the current record ends in `bytes` (room included).
    ends: Vec<usize>,
    /// Fields in the current record.
    fields: usize,
    /// Bytes and field ends of the record being read (kept across `feed` calls).
    written: usize,
    ended: usize,
    done: bool,
    ending: bool,
    unclosed: bool,
    dialect: (u8, u8, Option<u8>),
    /// For `feed`: the text of the record being read (kept only until it is complete),
    /// to tell an unclosed quote at the end.
    tail: Option<Vec<u8>>,
}

/// What [`Records::feed`] stopped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fed {
    /// A record is complete: its fields are [`Records::fields`].
    Record,
    /// The piece is used up inside (or before) a record.
    Empty,
    /// The end of the text.
    End,
}

impl<'a> Records<'a> {
    /// RFC 4180 records (a doubled quote is a literal quote; `\n`, `\r\n` or `\r` ends
    /// a record; empty lines are skipped), as the `csv` crate reads them.
    pub(super) fn new(input: &'a [u8], delimiter: u8, quote: u8, comment: Option<u8>) -> Records<'a> {
        Records {
            core: csv_core::ReaderBuilder::new()
                .delimiter(delimiter)
                .quote(quote)
                .comment(comment)
                .build(),
            input,
            at: 0,
            bytes: vec![0; FIRST_BYTES],
            ends: vec![0; FIRST_ENDS],
            fields: 0,
            written: 0,
            ended: 0,
            done: false,
            ending: false,
            unclosed: false,
            dialect: (delimiter, quote, comment),
            tail: None,
        }
    }

    /// Records fed in pieces ([`feed`](Records::feed)), which keep the text of the
    /// record being read to tell an unclosed quote at the end ([`unclosed`](Records::unclosed)).
    pub(super) fn pieces(delimiter: u8, quote: u8, comment: Option<u8>) -> Records<'static> {
        let mut records = Records::new(&[], delimiter, quote, comment);
        records.tail = Some(Vec::new());
        records
    }

    /// The bytes the buffers hold now.
    pub(super) fn held(&self) -> u64 {
        (self.bytes.len() + self.ends.len() * size_of::<usize>()) as u64
    }

    /// Reads the next record and returns the byte of the input it starts at (blank lines
    /// before it included), or `None` at the end. Before the buffers grow, `hold` is
    /// asked for the bytes they will hold while they grow (the old and the new buffer).
    pub(super) fn next(&mut self, hold: impl FnMut(u64) -> Result<()>) -> Result<Option<u64>> {
        let start = self.at as u64;
        let input = self.input;
        let (read, step) = self.feed(input.get(self.at..).unwrap_or_default(), true, hold)?;
        self.at += read;
        Ok(match step {
            Fed::Record => Some(start),
            Fed::Empty | Fed::End => None,
        })
    }

    /// Reads from `input`, a piece of the text (more follows in later calls unless
    /// `end`), until a record is complete or `input` is used up. Returns the bytes of
    /// `input` read and what it stopped at; a partial record is kept across calls, so
    /// records may be cut anywhere (csv-core is resumable). `hold` as in `next`.
    pub(super) fn feed(
        &mut self,
        input: &[u8],
        end: bool,
        mut hold: impl FnMut(u64) -> Result<()>,
    ) -> Result<(usize, Fed)> {
        if self.done {
            return Ok((0, Fed::End));
        }
        if input.is_empty() && !end {
            // csv-core takes no input as the end.
            return Ok((0, Fed::Empty));
        }
        let mut at = 0;
        loop {
            if end && at >= input.len() && !self.ending {
                // Before csv-core closes a quoted field at the end.
                self.ending = true;
                if let Some(tail) = &mut self.tail {
                    tail.extend_from_slice(input.get(..at).unwrap_or_default());
                    let (delimiter, quote, comment) = self.dialect;
                    self.unclosed = unclosed_quote(tail, 0, delimiter, quote, comment);
                }
            }
            let (result, read, out, ended) = self.core.read_record(
                input.get(at..).unwrap_or_default(),
                self.bytes.get_mut(self.written..).unwrap_or_default(),
                self.ends.get_mut(self.ended..).unwrap_or_default(),
            );
            at += read;
            self.written += out;
            self.ended += ended;
            match result {
                // All input read: with `end`, the next call (with none) ends the last record.
                ReadRecordResult::InputEmpty if at < input.len() => {}
                ReadRecordResult::InputEmpty if end => {}
                ReadRecordResult::InputEmpty => {
                    if let Some(tail) = &mut self.tail {
                        tail.extend_from_slice(input);
                    }
                    return Ok((at, Fed::Empty));
                }
                ReadRecordResult::OutputFull => {
                    hold(self.held() + 2 * self.bytes.len() as u64)?;
                    self.bytes.resize(2 * self.bytes.len(), 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    hold(self.held() + (2 * self.ends.len() * size_of::<usize>()) as u64)?;
                    self.ends.resize(2 * self.ends.len(), 0);
                }
                ReadRecordResult::Record => {
                    if let Some(tail) = &mut self.tail
                        && !self.ending
                    {
                        tail.clear();
                    }
                    self.fields = self.ended;
                    (self.written, self.ended) = (0, 0);
                    return Ok((at, Fed::Record));
                }
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok((at, Fed::End));
                }
            }
        }
    }

    /// Whether the text ended inside a quoted field (known once `feed` met the end, for
    /// records made by [`pieces`](Records::pieces)).
    pub(super) fn unclosed(&self) -> bool {
        self.unclosed
    }

    /// Fields in the current record.
    pub(super) fn len(&self) -> usize {
        self.fields
    }

    /// The current record's field bytes, all fields together.
    pub(super) fn bytes_len(&self) -> usize {
        self.fields.checked_sub(1).map_or(0, |last| self.ends[last])
    }

    /// The current record's fields.
    pub(super) fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let ends = &self.ends[..self.fields];
        ends.iter().scan(0, |start, &end| {
            let field = &self.bytes[*start..end];
            *start = end;
            Some(field)
        })
    }
}

/// The `csv` crate treats an unclosed quote at the end of input as closed. Such a field
/// can only be in the last record, so re-scan that record (and any comment lines after
/// it) with csv-core's rules.
pub(super) fn unclosed_quote(input: &[u8], last_start: u64, delimiter: u8, quote: u8, comment: Option<u8>) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        RecordStart,
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
        Comment,
    }
    let start = usize::try_from(last_start).unwrap_or(usize::MAX);
    let start = if start == 0 && input.starts_with(BOM) {
        BOM.len()
    } else {
        start
    };
    let Some(tail) = input.get(start..) else {
        return false;
    };
    let mut state = State::RecordStart;
    for &b in tail {
        let ends_record = b == b'\n' || b == b'\r';
        state = match state {
            State::RecordStart if ends_record => State::RecordStart,
            State::RecordStart if Some(b) == comment => State::Comment,
            State::Comment if b == b'\n' => State::RecordStart,
            State::Comment => State::Comment,
            State::RecordStart | State::FieldStart if b == quote => State::Quoted,
            State::RecordStart | State::FieldStart | State::Unquoted | State::QuoteInQuoted if ends_record => {
                State::RecordStart
            }
            State::RecordStart | State::FieldStart | State::Unquoted | State::QuoteInQuoted if b == delimiter => {
                State::FieldStart
            }
            State::RecordStart | State::FieldStart | State::Unquoted => State::Unquoted,
            State::Quoted if b == quote => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == quote => State::Quoted,
            State::QuoteInQuoted => State::Unquoted,
        };
    }
    state == State::Quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `input`, as strings, with the bytes they start at.
    fn read(input: &[u8]) -> Vec<(u64, Vec<String>)> {
        let mut records = Records::new(input, b',', b'"', None);
        let mut out = Vec::new();
        while let Some(start) = records.next(|_| Ok(())).unwrap() {
            let fields = records
                .fields()
                .map(|f| String::from_utf8(f.to_vec()).unwrap())
                .collect();
            out.push((start, fields));
        }
        out
    }

    #[test]
    fn reads_what_the_csv_crate_reads() {
        let input = b"a,\"b,\"\"c\"\"\",\n\n\r\n\"multi\nline\",x\r\nlast,row";
        let mut csv = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&input[..]);
        let expected: Vec<(u64, Vec<String>)> = csv
            .byte_records()
            .map(|r| {
                let r = r.unwrap();
                let fields = r.iter().map(|f| String::from_utf8(f.to_vec()).unwrap()).collect();
                (r.position().unwrap().byte(), fields)
            })
            .collect();
        assert_eq!(read(input), expected);
        assert_eq!(expected.len(), 3);
    }

    #[test]
    fn buffers_grow_for_long_records_only_when_allowed() {
        let long = format!("{},{}\n", "x".repeat(100_000), "y,".repeat(1000));
        assert_eq!(read(long.as_bytes())[0].1[0].len(), 100_000);
        let mut records = Records::new(long.as_bytes(), b',', b'"', None);
        let mut asked = Vec::new();
        let refused = records.next(|bytes| {
            asked.push(bytes);
            if bytes > 64 << 10 {
                Err(crate::Error::too_large("no room"))
            } else {
                Ok(())
            }
        });
        assert!(refused.is_err());
        // Asked each time before growing, with the old and the new buffer together.
        assert!(asked.windows(2).all(|w| w[0] < w[1]), "{asked:?}");
        assert!(records.held() <= 64 << 10);
    }
}
