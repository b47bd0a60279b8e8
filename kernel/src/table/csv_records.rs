//! The records of CSV text in memory, read with csv-core (the parser under the `csv`
//! crate) straight from the slice, into one reused buffer whose growth the caller
//! approves first: the memory model counts the buffer of the longest record.

use csv_core::ReadRecordResult;

use crate::Result;

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
    done: bool,
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
            done: false,
        }
    }

    /// The bytes the buffers hold now.
    pub(super) fn held(&self) -> u64 {
        (self.bytes.len() + self.ends.len() * size_of::<usize>()) as u64
    }

    /// Reads the next record and returns the byte of the input it starts at (blank lines
    /// before it included), or `None` at the end. Before the buffers grow, `hold` is
    /// asked for the bytes they will hold while they grow (the old and the new buffer).
    pub(super) fn next(&mut self, mut hold: impl FnMut(u64) -> Result<()>) -> Result<Option<u64>> {
        if self.done {
            return Ok(None);
        }
        let start = self.at as u64;
        let (mut written, mut ended) = (0, 0);
        loop {
            let (result, read, out, end) = self.core.read_record(
                &self.input[self.at..],
                &mut self.bytes[written..],
                &mut self.ends[ended..],
            );
            self.at += read;
            written += out;
            ended += end;
            match result {
                // All input read: the next call, with none, ends the last record.
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    hold(self.held() + 2 * self.bytes.len() as u64)?;
                    self.bytes.resize(2 * self.bytes.len(), 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    hold(self.held() + (2 * self.ends.len() * size_of::<usize>()) as u64)?;
                    self.ends.resize(2 * self.ends.len(), 0);
                }
                ReadRecordResult::Record => {
                    self.fields = ended;
                    return Ok(Some(start));
                }
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
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
