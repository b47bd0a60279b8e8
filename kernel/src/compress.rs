//! `compress` and `decompress`: DEFLATE in gzip, zlib or raw containers, with zlib-rs
//! (pure Rust, fast, and the same bytes on every target): compression directly, to
//! choose its level-6 strategy; decompression through flate2's readers.

use std::io::Read;

use flate2::read::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};
use zlib_rs::{Deflate, DeflateError, DeflateFlush, Status};

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
/// depends on the input alone.
pub fn compress(input: &[u8], container: Container, level: u32) -> Result<Vec<u8>> {
    let level = level.min(9);
    // Text compresses ~3-4x at level 6: start there to skip most regrowth.
    let mut out = Vec::with_capacity(input.len() / 3 + 64);
    match container {
        Container::Gzip => {
            // ID, CM = deflate, FLG = 0, MTIME = 0, XFL (2: slowest, 4: fastest), OS = unknown.
            let xfl = match level {
                9 => 2,
                0 | 1 => 4,
                _ => 0,
            };
            out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
        }
        Container::Zlib => out.extend_from_slice(&zlib_header(level)),
        Container::Deflate => {}
    }
    deflate(input, level, &mut out)?;
    match container {
        Container::Gzip => {
            out.extend_from_slice(&zlib_rs::crc32::crc32(0, input).to_le_bytes());
            // ISIZE: the input's length mod 2^32 (RFC 1952).
            out.extend_from_slice(&(input.len() as u32).to_le_bytes());
        }
        Container::Zlib => out.extend_from_slice(&zlib_rs::adler32::adler32(1, input).to_be_bytes()),
        Container::Deflate => {}
    }
    Ok(out)
}

/// zlib-rs follows zlib-ng, whose level 6 ("medium" matching) writes 2-4% more than
/// zlib's level 6. kiln's level 6 is zlib's instead: lazy matching (zlib-rs's level 7
/// strategy) with zlib's level-6 parameters, and a longer chain (192 candidates, zlib:
/// 128) so it is no larger than zlib's level 6 on text, JSON, CSV and binary data
/// (`deflateTune`: `good, lazy, nice, chain`; see third_party/zlib-rs/KILN-PATCH.md).
const LEVEL_6: (i32, [u16; 4]) = (7, [8, 16, 128, 192]);

/// Raw DEFLATE of `input` at `level`, appended to `out`.
fn deflate(input: &[u8], level: u32, out: &mut Vec<u8>) -> Result<()> {
    let mut d = if level == 6 {
        let (strategy, [good, lazy, nice, chain]) = LEVEL_6;
        let mut d = Deflate::new(strategy, false, 15);
        d.tune(good, lazy, nice, chain);
        d
    } else {
        Deflate::new(level as i32, false, 15)
    };
    let failed = |e: DeflateError| Error::internal(format!("compressor failed: {e:?}"));
    let mut rest = input;
    loop {
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.capacity().max(64 << 10));
        }
        let start = out.len();
        out.resize(out.capacity(), 0);
        let (read, written) = (d.total_in(), d.total_out());
        // One call takes at most 4 GiB of input: finish only once the rest fits in it.
        let flush = if rest.len() > u32::MAX as usize {
            DeflateFlush::NoFlush
        } else {
            DeflateFlush::Finish
        };
        let status = d.compress(rest, &mut out[start..], flush).map_err(failed)?;
        let (took, wrote) = ((d.total_in() - read) as usize, (d.total_out() - written) as usize);
        rest = &rest[took..];
        out.truncate(start + wrote);
        match status {
            Status::StreamEnd if rest.is_empty() => return Ok(()),
            Status::StreamEnd => return Err(Error::internal("compressor ended before its input")),
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
/// soon as the output would pass `max_output` bytes, so a bomb never fills memory.
pub fn decompress(input: &[u8], container: Container, max_output: u64) -> Result<Vec<u8>> {
    if input.is_empty() {
        return Err(Error::bad_input("empty input; expected compressed data"));
    }
    let name = match container {
        Container::Gzip => "gzip",
        Container::Zlib => "zlib",
        Container::Deflate => "deflate",
    };
    if container == Container::Gzip && !input.starts_with(&[0x1f, 0x8b]) {
        return Err(Error::bad_input("not gzip data (no 1f 8b magic)"));
    }
    let capacity = initial_capacity(input, container).min(max_output);
    let mut out = Vec::with_capacity(capacity as usize);
    // Read one byte past the limit to tell "exactly at the limit" from "over it".
    let result = match container {
        Container::Gzip => MultiGzDecoder::new(input).take(max_output + 1).read_to_end(&mut out),
        Container::Zlib => ZlibDecoder::new(input).take(max_output + 1).read_to_end(&mut out),
        Container::Deflate => DeflateDecoder::new(input).take(max_output + 1).read_to_end(&mut out),
    };
    if out.len() as u64 > max_output {
        return Err(Error::too_large(format!(
            "decompressed data exceeds the limit of {max_output} bytes"
        )));
    }
    result.map_err(|e| Error::bad_input(format!("corrupt or truncated {name} data: {e}")))?;
    Ok(out)
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
