//! `compress` and `decompress`: DEFLATE in gzip, zlib or raw containers, with zlib-rs
//! (pure Rust, fast, and the same bytes on every target): compression directly, to
//! choose its level-6 strategy; decompression with zlib-rs's inflate straight into the
//! output buffer.

use zlib_rs::{Deflate, DeflateError, DeflateFlush, Inflate, InflateFlush, Status};

use crate::choice::choices;
use crate::{Error, Result};

choices! {
    /// The container of `compress` / `decompress`.
    pub enum Container {
        Gzip = "gzip",
        Zlib = "zlib",
        Deflate = "deflate",
    }
}

/// The MIME type of compressed output.
pub fn content_type(container: Container) -> &'static str {
    match container {
        Container::Gzip => "application/gzip",
        Container::Zlib => "application/zlib",
        Container::Deflate => "application/octet-stream",
    }
}

/// Compresses at `level` 0..=9 with zlib-rs. The container framing is written here, so
/// the bytes are the same on every target (zlib-rs's own gzip header records the build
/// target's OS); the gzip header carries no name and no time (mtime 0), so output
/// depends on the input alone. One [`Compressor`] push and its finish.
pub fn compress(input: &[u8], container: Container, level: u32) -> Result<Vec<u8>> {
    // Text compresses ~3-4x at level 6: start there to skip most regrowth.
    let mut out = Vec::with_capacity(input.len() / 3 + 64);
    let mut c = Compressor::new(container, level);
    c.push(input, &mut out)?;
    c.finish(&mut out)?;
    Ok(out)
}

/// Input bytes zlib-rs is given per call: the input is cut at fixed offsets (and the
/// output room is fixed), so zlib-rs sees the same calls however the input arrives and
/// the compressed bytes do not depend on the chunking.
const SLICE: usize = 64 << 10;
/// Output room per call.
const ROOM: usize = 64 << 10;

/// Streaming compression: [`push`](Compressor::push) input in any pieces, then
/// [`finish`](Compressor::finish); the bytes are those of [`compress`] on the whole.
pub struct Compressor {
    container: Container,
    deflate: Deflate,
    /// Input not yet given to zlib-rs (less than [`SLICE`]).
    pending: Vec<u8>,
    header: Option<Vec<u8>>,
    crc: u32,
    adler: u32,
    len: u64,
}

impl Compressor {
    /// A compressor for `container` at `level` (0..=9; more is 9).
    pub fn new(container: Container, level: u32) -> Compressor {
        let level = level.min(9);
        let header = match container {
            Container::Gzip => {
                // ID, CM = deflate, FLG = 0, MTIME = 0, XFL (2: slowest, 4: fastest), OS = unknown.
                let xfl = match level {
                    9 => 2,
                    0 | 1 => 4,
                    _ => 0,
                };
                vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]
            }
            Container::Zlib => zlib_header(level).to_vec(),
            Container::Deflate => Vec::new(),
        };
        let deflate = if level == 6 {
            let (strategy, [good, lazy, nice, chain]) = LEVEL_6;
            let mut d = Deflate::new(strategy, false, 15);
            d.tune(good, lazy, nice, chain);
            d
        } else {
            Deflate::new(level as i32, false, 15)
        };
        Compressor {
            container,
            deflate,
            pending: Vec::new(),
            header: Some(header),
            crc: 0,
            adler: 1,
            len: 0,
        }
    }

    /// Compresses `input`, appending what is ready to `out`.
    pub fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if let Some(header) = self.header.take() {
            out.extend_from_slice(&header);
        }
        match self.container {
            Container::Gzip => self.crc = zlib_rs::crc32::crc32(self.crc, input),
            Container::Zlib => self.adler = zlib_rs::adler32::adler32(self.adler, input),
            Container::Deflate => {}
        }
        self.len = self.len.wrapping_add(input.len() as u64);
        if !self.pending.is_empty() {
            let take = (SLICE - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() < SLICE {
                return Ok(());
            }
            let slice = std::mem::take(&mut self.pending);
            deflate_slice(&mut self.deflate, &slice, DeflateFlush::NoFlush, out)?;
            self.pending = slice;
            self.pending.clear();
        }
        while input.len() >= SLICE {
            deflate_slice(&mut self.deflate, &input[..SLICE], DeflateFlush::NoFlush, out)?;
            input = &input[SLICE..];
        }
        self.pending.extend_from_slice(input);
        Ok(())
    }

    /// Compresses the rest and writes the trailer.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if let Some(header) = self.header.take() {
            out.extend_from_slice(&header);
        }
        let slice = std::mem::take(&mut self.pending);
        deflate_slice(&mut self.deflate, &slice, DeflateFlush::Finish, out)?;
        match self.container {
            Container::Gzip => {
                out.extend_from_slice(&self.crc.to_le_bytes());
                // ISIZE: the input's length mod 2^32 (RFC 1952).
                out.extend_from_slice(&(self.len as u32).to_le_bytes());
            }
            Container::Zlib => out.extend_from_slice(&self.adler.to_be_bytes()),
            Container::Deflate => {}
        }
        Ok(())
    }
}

/// zlib-rs follows zlib-ng, whose level 6 ("medium" matching) writes 2-4% more than
/// zlib's level 6. kiln's level 6 is zlib's instead: lazy matching (zlib-rs's level 7
/// strategy) with zlib's level-6 parameters, and a longer chain (192 candidates, zlib:
/// 128) so it is no larger than zlib's level 6 on text, JSON, CSV and binary data
/// (`deflateTune`: `good, lazy, nice, chain`; see third_party/zlib-rs/KILN-PATCH.md).
const LEVEL_6: (i32, [u16; 4]) = (7, [8, 16, 128, 192]);

/// Gives zlib-rs one slice of input with `flush`, [`ROOM`] bytes of output at a time,
/// until it has taken all of it (and, finishing, ended the stream).
fn deflate_slice(d: &mut Deflate, mut rest: &[u8], flush: DeflateFlush, out: &mut Vec<u8>) -> Result<()> {
    let failed = |e: DeflateError| Error::internal(format!("compressor failed: {e:?}"));
    loop {
        let start = out.len();
        out.resize(start + ROOM, 0);
        let (read, written) = (d.total_in(), d.total_out());
        let status = d.compress(rest, &mut out[start..], flush).map_err(failed)?;
        let (took, wrote) = ((d.total_in() - read) as usize, (d.total_out() - written) as usize);
        rest = &rest[took..];
        out.truncate(start + wrote);
        match status {
            Status::StreamEnd if rest.is_empty() => return Ok(()),
            Status::StreamEnd => return Err(Error::internal("compressor ended before its input")),
            // Not finishing: done once the input is taken and the output had room left.
            _ if flush == DeflateFlush::NoFlush && rest.is_empty() && wrote < ROOM => return Ok(()),
            _ if took == 0 && wrote == 0 => return Err(Error::internal("compressor made no progress")),
            _ => {}
        }
    }
}

/// The two-byte zlib header (RFC 1950) for a 32 KiB window, with zlib's level hint.
fn zlib_header(level: u32) -> [u8; 2] {
    let hint: u16 = match level {
        0 | 1 => 0,
        2..=5 => 1,
        6 => 2,
        _ => 3,
    };
    let header = (0x78u16 << 8) | (hint << 6);
    (header + (31 - header % 31)).to_be_bytes()
}

/// Decompresses; every member of a multi-member gzip file. Stops with `too_large` as
/// soon as the output would pass `max_output` bytes, so a bomb never fills memory. One
/// [`Decompressor`] push and its finish, into one buffer sized from the gzip trailer.
pub fn decompress(input: &[u8], container: Container, max_output: u64) -> Result<Vec<u8>> {
    let capacity = initial_capacity(input, container).min(max_output);
    let mut out = Vec::with_capacity(capacity as usize);
    let mut d = Decompressor::new(container, max_output);
    d.push(input, &mut out)?;
    d.finish(&mut out)?;
    Ok(out)
}

fn name(container: Container) -> &'static str {
    match container {
        Container::Gzip => "gzip",
        Container::Zlib => "zlib",
        Container::Deflate => "deflate",
    }
}

/// zlib-rs's window bits for `container`: 15 (32 KiB), + 16 for its gzip wrapper (which
/// reads the header, every flag's fields included, and checks the CRC-32 and length).
fn inflater(container: Container) -> Inflate {
    match container {
        Container::Gzip => Inflate::new(true, 15 + 16),
        Container::Zlib => Inflate::new(true, 15),
        Container::Deflate => Inflate::new(false, 15),
    }
}

/// Streaming decompression: [`push`](Decompressor::push) compressed bytes in any pieces,
/// then [`finish`](Decompressor::finish) (a stream cut short is `bad_input` there);
/// the bytes and errors do not depend on the pieces ([`decompress`] is one piece).
/// zlib-rs inflates straight into the caller's buffer (no staging copy).
pub struct Decompressor {
    container: Container,
    inflate: Inflate,
    /// The output so far, and the most it may be.
    total: u64,
    max: u64,
    /// The first bytes, until the gzip magic can be checked.
    head: Vec<u8>,
    seen: u64,
    /// Input not yet given to the decoder (less than [`SLICE`]).
    staged: Vec<u8>,
    /// Whether the current stream (gzip: member) has ended: for zlib and deflate, what
    /// follows is ignored; for gzip, more input starts the next member.
    ended: bool,
}

impl Decompressor {
    /// A decompressor for `container` whose output may total `max_output` bytes.
    pub fn new(container: Container, max_output: u64) -> Decompressor {
        Decompressor {
            container,
            inflate: inflater(container),
            total: 0,
            max: max_output,
            head: Vec::new(),
            seen: 0,
            staged: Vec::new(),
            ended: false,
        }
    }

    fn corrupt(&self, why: &str) -> Error {
        Error::bad_input(format!("corrupt or truncated {} data: {why}", name(self.container)))
    }

    /// Decompresses `input`, appending what is ready to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.seen = self.seen.saturating_add(input.len() as u64);
        if self.container == Container::Gzip && self.head.len() < 2 {
            // The magic, checked before the decoder sees anything.
            self.head
                .extend_from_slice(&input[..input.len().min(2 - self.head.len())]);
            if !b"\x1f\x8b".starts_with(&self.head) {
                return Err(Error::bad_input("not gzip data (no 1f 8b magic)"));
            }
        }
        // The decoder is given the input cut at fixed offsets, so what it has written
        // when it meets an error (the output limit first, or corrupt data first) does
        // not depend on the chunking.
        let mut input = input;
        if !self.staged.is_empty() {
            let take = (SLICE - self.staged.len()).min(input.len());
            self.staged.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.staged.len() < SLICE {
                return Ok(());
            }
            let slice = std::mem::take(&mut self.staged);
            let fed = self.feed(&slice, out);
            self.staged = slice;
            self.staged.clear();
            fed?;
        }
        while input.len() >= SLICE {
            self.feed(&input[..SLICE], out)?;
            input = &input[SLICE..];
        }
        self.staged.extend_from_slice(input);
        Ok(())
    }

    /// Inflates one slice into `out`, at most one byte past the limit (to tell "at the
    /// limit" from "over it").
    fn feed(&mut self, mut rest: &[u8], out: &mut Vec<u8>) -> Result<()> {
        while !rest.is_empty() {
            if self.ended {
                if self.container != Container::Gzip {
                    return Ok(());
                }
                // Another gzip member (or bytes that are not one: zlib-rs says so).
                self.inflate = inflater(self.container);
                self.ended = false;
            }
            let room = usize::try_from((self.max + 1).saturating_sub(self.total)).unwrap_or(usize::MAX);
            if out.capacity() == out.len() {
                out.reserve(ROOM.min(room));
            }
            let spare = out.spare_capacity_mut();
            let take = spare.len().min(room);
            let (was_in, was_out) = (self.inflate.total_in(), self.inflate.total_out());
            let status = self
                .inflate
                .decompress_uninit(rest, &mut spare[..take], InflateFlush::NoFlush);
            let consumed = (self.inflate.total_in() - was_in) as usize;
            let produced = (self.inflate.total_out() - was_out) as usize;
            // SAFETY: zlib-rs initialised the first `produced` bytes of the spare room.
            unsafe { out.set_len(out.len() + produced) };
            self.total += produced as u64;
            rest = &rest[consumed..];
            if self.total > self.max {
                return Err(Error::too_large(format!(
                    "decompressed data exceeds the limit of {} bytes",
                    self.max
                )));
            }
            match status {
                Err(e) => return Err(self.corrupt(self.inflate.error_message().unwrap_or(e.as_str()))),
                Ok(Status::StreamEnd) => self.ended = true,
                Ok(_) if consumed == 0 && produced == 0 && take > 0 => {
                    return Err(Error::internal("inflate made no progress"));
                }
                Ok(_) => {}
            }
        }
        Ok(())
    }

    /// Ends the stream: `bad_input` if it is empty, cut short or corrupt.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.seen == 0 {
            return Err(Error::bad_input("empty input; expected compressed data"));
        }
        if self.container == Container::Gzip && self.head.len() < 2 {
            return Err(Error::bad_input("not gzip data (no 1f 8b magic)"));
        }
        let slice = std::mem::take(&mut self.staged);
        self.feed(&slice, out)?;
        if !self.ended {
            return Err(self.corrupt("unexpected end of stream"));
        }
        Ok(())
    }
}

/// A capacity guess: gzip's trailer holds the last member's size mod 2^32; otherwise
/// assume a 4x ratio.
fn initial_capacity(input: &[u8], container: Container) -> u64 {
    let guess = input.len() as u64 * 4;
    if container == Container::Gzip
        && let Some(tail) = input.last_chunk::<4>()
    {
        let isize = u64::from(u32::from_le_bytes(*tail));
        if isize >= input.len() as u64 / 2 {
            return isize.min(guess * 64);
        }
    }
    guess
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn sample() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| format!("line {} {}\n", i, i * 7 % 13).into_bytes())
            .collect()
    }

    #[test]
    fn round_trips_every_container_and_level() {
        let data = sample();
        for container in [Container::Gzip, Container::Zlib, Container::Deflate] {
            for level in 0..=9 {
                let c = compress(&data, container, level).unwrap();
                if level > 0 {
                    assert!(c.len() < data.len() / 2, "{container:?} {level}");
                }
                assert_eq!(decompress(&c, container, u64::MAX / 2).unwrap(), data);
            }
        }
        assert_eq!(
            decompress(&compress(b"", Container::Gzip, 6).unwrap(), Container::Gzip, 10).unwrap(),
            b""
        );
    }

    #[test]
    fn gzip_header_is_deterministic() {
        let c = compress(b"hello", Container::Gzip, 6).unwrap();
        assert_eq!(&c[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&c[4..8], &[0, 0, 0, 0], "mtime must be 0");
    }

    /// `input` through a `Decompressor` in pieces of `size`.
    fn streamed(input: &[u8], container: Container, max: u64, size: usize) -> Result<Vec<u8>> {
        let mut d = Decompressor::new(container, max);
        let mut out = Vec::new();
        for piece in input.chunks(size.max(1)) {
            d.push(piece, &mut out)?;
        }
        d.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn decompression_does_not_depend_on_the_pieces() {
        let data = sample();
        let mut inputs: Vec<(Container, Vec<u8>)> = Vec::new();
        for container in [Container::Gzip, Container::Zlib, Container::Deflate] {
            for level in [0, 1, 6, 9] {
                let c = compress(&data[..50_000], container, level).unwrap();
                let n = c.len();
                inputs.push((container, c.clone()));
                for cut in [0, 1, 2, 3, 9, 10, 11, n / 2, n - 8, n - 4, n - 1] {
                    inputs.push((container, c[..cut.min(n)].to_vec()));
                }
                for flip in [0, 1, 2, 3, 4, 9, 10, n / 3, n - 8, n - 5, n - 1] {
                    let mut f = c.clone();
                    f[flip.min(n - 1)] ^= 0x55;
                    inputs.push((container, f));
                }
                for tail in [
                    &b"x"[..],
                    b"\x1f",
                    b"\x1f\x8b",
                    b"\x1f\x8b\x08\x00",
                    b"\0\0\0\0\0\0\0\0\0\0",
                ] {
                    let mut t = c.clone();
                    t.extend_from_slice(tail);
                    inputs.push((container, t));
                }
                let mut two = c.clone();
                two.extend_from_slice(&compress(b"second", container, 1).unwrap());
                inputs.push((container, two));
            }
        }
        for (container, input) in &inputs {
            for max in [u64::MAX / 2, 10_000] {
                let one = decompress(input, *container, max).map_err(|e| e.code);
                for size in [1, 7, 4096, input.len()] {
                    let got = streamed(input, *container, max, size).map_err(|e| e.code);
                    assert_eq!(
                        got,
                        one,
                        "{container:?} of {} bytes in pieces of {size}, max {max}: {:?} / {:?}",
                        input.len(),
                        streamed(input, *container, max, size).map_err(|e| e.message),
                        decompress(input, *container, max).map_err(|e| e.message)
                    );
                }
            }
        }
    }

    #[test]
    fn bytes_after_a_zlib_or_deflate_stream_are_ignored() {
        for container in [Container::Zlib, Container::Deflate] {
            let mut c = compress(b"hello", container, 6).unwrap();
            c.extend_from_slice(b"trailing bytes");
            assert_eq!(decompress(&c, container, 100).unwrap(), b"hello", "{container:?}");
            assert_eq!(streamed(&c, container, 100, 3).unwrap(), b"hello", "{container:?}");
        }
    }

    #[test]
    fn multi_member_gzip() {
        let mut both = compress(b"hello ", Container::Gzip, 6).unwrap();
        both.extend(compress(b"world", Container::Gzip, 1).unwrap());
        assert_eq!(decompress(&both, Container::Gzip, 100).unwrap(), b"hello world");
    }

    #[test]
    fn bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 64 << 20];
        let bomb = compress(&zeros, Container::Gzip, 9).unwrap();
        assert!(bomb.len() < 100_000);
        let e = decompress(&bomb, Container::Gzip, 1 << 20).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        // exactly at the limit is fine
        assert_eq!(decompress(&bomb, Container::Gzip, 64 << 20).unwrap().len(), 64 << 20);
    }

    #[test]
    fn corrupt_and_truncated() {
        let c = compress(&sample(), Container::Gzip, 6).unwrap();
        for bad in [&c[..c.len() / 2], &c[..10], b"\x1f\x8b", b"not gzip", b""] {
            assert_eq!(
                decompress(bad, Container::Gzip, 1 << 30).unwrap_err().code,
                ErrorCode::BadInput
            );
        }
        let mut flipped = c.clone();
        let n = flipped.len() - 6;
        flipped[n] ^= 0xff; // CRC mismatch
        assert_eq!(
            decompress(&flipped, Container::Gzip, 1 << 30).unwrap_err().code,
            ErrorCode::BadInput
        );
        let z = compress(b"abc", Container::Zlib, 6).unwrap();
        assert_eq!(
            decompress(&z[..z.len() - 1], Container::Zlib, 100).unwrap_err().code,
            ErrorCode::BadInput
        );
        assert_eq!(
            decompress(b"\xff\xff\xff", Container::Deflate, 100).unwrap_err().code,
            ErrorCode::BadInput
        );
    }
}
