//! Streamed requests end to end (DESIGN.md, "HTTP API v1", "Streamed requests"): a
//! chunked or long body of a pipeline that streams goes through a session in
//! `kiln serve`; small ones are answered exactly as `run`; an error after the response
//! started cuts it short; gigabytes pass in bounded memory. And `kiln run` streams.

use std::io::Read;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::server::{Server, agent, read, run_query, url_encode};
use crate::common::{self, TempDir, data, native};

/// A body of `len` bytes made as it is read, never held: a fixed block of 1 MiB of
/// pseudo-random text lines with each copy's first 16 bytes replaced by its number, so
/// DEFLATE finds no match across copies (its window is 32 KiB) and has real work.
struct Made {
    block: std::sync::Arc<Vec<u8>>,
    at: u64,
    len: u64,
}

const BLOCK: usize = 1 << 20;

fn block() -> std::sync::Arc<Vec<u8>> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut text = Vec::with_capacity(BLOCK + 64);
    while text.len() < BLOCK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let word: String = (0..3 + x % 7)
            .map(|i| (b'a' + ((x >> (i * 5)) % 26) as u8) as char)
            .collect();
        text.extend_from_slice(format!("{},{word},{}\n", x % 100_000, x % 997).as_bytes());
    }
    text.truncate(BLOCK);
    std::sync::Arc::new(text)
}

impl Made {
    fn new(block: &std::sync::Arc<Vec<u8>>, len: u64) -> Made {
        Made {
            block: block.clone(),
            at: 0,
            len,
        }
    }

    /// The bytes from `at` on, into `out`.
    fn fill(&self, mut at: u64, mut out: &mut [u8]) {
        while !out.is_empty() {
            let off = (at % BLOCK as u64) as usize;
            let n = out.len().min(BLOCK - off);
            out[..n].copy_from_slice(&self.block[off..off + n]);
            if off < 16 {
                let stamp = format!("{:015}\n", at / BLOCK as u64);
                let k = (16 - off).min(n);
                out[..k].copy_from_slice(&stamp.as_bytes()[off..off + k]);
            }
            at += n as u64;
            out = &mut out[n..];
        }
    }
}

impl Read for Made {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.len - self.at).min(buf.len() as u64) as usize;
        self.fill(self.at, &mut buf[..n]);
        self.at += n as u64;
        Ok(n)
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// POSTs `body` chunked to `path` from a thread while the answer is read here: full
/// duplex, as curl and Node's http do (ureq sends the whole body before it reads, and a
/// streamed answer past the socket's buffers would wait for it). Returns the status and
/// a reader of the de-chunked body.
fn post_duplex(
    server: &Server,
    path: &str,
    mut body: impl Read + Send + 'static,
) -> (u16, String, Dechunk<std::io::BufReader<std::net::TcpStream>>) {
    use std::io::{BufRead, BufReader, Write};
    let addr = server.base.trim_start_matches("http://").to_owned();
    let stream = std::net::TcpStream::connect(&addr).expect("connect");
    let mut writer = stream.try_clone().expect("clone the socket");
    let head = format!("POST {path} HTTP/1.1\r\nhost: {addr}\r\ntransfer-encoding: chunked\r\n\r\n");
    writer.write_all(head.as_bytes()).expect("send the head");
    thread::spawn(move || {
        let mut chunk = vec![0; 1 << 16];
        loop {
            let n = body.read(&mut chunk).expect("read the body to send");
            let sent = if n == 0 {
                writer.write_all(b"0\r\n\r\n")
            } else {
                write!(writer, "{n:x}\r\n")
                    .and_then(|()| writer.write_all(&chunk[..n]))
                    .and_then(|()| writer.write_all(b"\r\n"))
            };
            if n == 0 || sent.is_err() {
                break;
            }
        }
    });
    let mut reader = BufReader::new(stream);
    let mut status = 0;
    let mut headers = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read the answer's head");
        if line == "\r\n" && status != 100 && status != 0 {
            break;
        }
        if line.starts_with("HTTP/1.1 ") {
            status = line[9..12].parse().expect("a status");
            headers.clear();
        } else if line != "\r\n" {
            headers.push_str(&line.to_ascii_lowercase());
        }
    }
    assert!(headers.contains("transfer-encoding: chunked"), "{status}: {headers}");
    (
        status,
        headers,
        Dechunk {
            reader,
            left: 0,
            done: false,
        },
    )
}

/// The body of a chunked answer.
struct Dechunk<R> {
    reader: R,
    left: usize,
    done: bool,
}

impl<R: std::io::BufRead> Read for Dechunk<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            if line == "\r\n" {
                line.clear();
                self.reader.read_line(&mut line)?;
            }
            self.left = usize::from_str_radix(line.trim(), 16)
                .map_err(|_| std::io::Error::other(format!("not a chunk size: {line:?}")))?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let most = buf.len().min(self.left);
        let n = self.reader.read(&mut buf[..most])?;
        if n == 0 {
            return Err(std::io::Error::other("the answer was cut short"));
        }
        self.left -= n;
        Ok(n)
    }
}

/// Sends `made` (chunked) through `compress level=1` and the answer straight on through
/// `decompress`, comparing the result with the bytes made, as they come; returns the
/// bytes compared.
fn round_trip(server: &Server, block: &std::sync::Arc<Vec<u8>>, len: u64) -> u64 {
    let compress = format!("/v1/run?pipeline={}", url_encode("compress level=1"));
    let (status, headers, gzip) = post_duplex(server, &compress, Made::new(block, len));
    assert_eq!(status, 200);
    assert!(headers.contains("content-type: application/gzip"), "{headers}");
    let (status, _, mut out) = post_duplex(server, "/v1/run?pipeline=decompress", gzip);
    assert_eq!(status, 200);
    let expected = Made::new(block, len);
    let (mut got, mut want) = (vec![0; 1 << 16], vec![0; 1 << 16]);
    let mut at = 0u64;
    loop {
        let n = out.read(&mut got).expect("read the round trip");
        if n == 0 {
            break;
        }
        expected.fill(at, &mut want[..n]);
        assert!(got[..n] == want[..n], "the round trip differs at byte {at}+");
        at += n as u64;
    }
    at
}

/// Issue 20's proof for `kiln serve`: a 2 GiB stream (KILN_STREAM_GIB sets it), made on
/// the fly and never stored, round-trips through `compress` and `decompress` at once,
/// with the server's resident memory growing by less than 64 MiB.
#[test]
fn gigabytes_round_trip_through_serve_in_bounded_memory() {
    let _heavy = common::heavy();
    let gib: f64 = std::env::var("KILN_STREAM_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2.0);
    let len = (gib * f64::from(1u32 << 30)) as u64;
    let server = Server::start(&[], None);
    let block = block();
    // Warm up both pipelines (compiled code, job slots, allocator) with 8 MiB.
    assert_eq!(round_trip(&server, &block, 8 << 20), 8 << 20);
    let pid = server.child.id();
    let before = rss_kib(pid);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut peak = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid));
                thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };
    let started = Instant::now();
    let passed = round_trip(&server, &block, len);
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().expect("sampler");
    assert_eq!(passed, len, "every byte round-trips");
    let growth = peak.saturating_sub(before);
    eprintln!(
        "{gib} GiB through compress level=1 | decompress at once: {:.1} s, {:.0} MB/s each way; server RSS {} MiB before, peak {} MiB (+{} MiB)",
        took.as_secs_f64(),
        len as f64 / 1e6 / took.as_secs_f64(),
        before >> 10,
        peak >> 10,
        growth >> 10
    );
    assert!(growth < 64 << 10, "the server's RSS grew by {} MiB", growth >> 10);
}

/// A chunked body of a pipeline that streams goes through a session, and a small one is
/// answered exactly as the whole body is: status, headers, `kiln-meta`, bytes, errors.
#[test]
fn small_streamed_requests_are_answered_as_run() {
    let server = Server::start(&[], None);
    let agent = agent();
    let (csv, gz, lines) = (data("people.csv"), data("lines.txt.gz"), data("lines.txt"));
    let cases: [(&str, &[u8]); 6] = [
        ("parse_csv | to_json format=ndjson", &csv),
        ("parse_csv | stats", &csv),
        ("decompress", &gz),
        ("compress format=zlib", &lines),
        ("json mode=minify", b"{\"a\": [1, 2]}"),
        ("parse_csv | to_json", b"a,b\n1,2\n3,4,5\n"),
    ];
    for (pipeline, input) in cases {
        let whole = run_query(&agent, &server, pipeline, input);
        let url = server.url(&format!("/v1/run?pipeline={}", url_encode(pipeline)));
        // A reader is sent chunked: no content-length.
        let streamed = read(
            agent
                .post(&url)
                .send(ureq::SendBody::from_owned_reader(std::io::Cursor::new(input.to_vec())))
                .expect("POST chunked"),
        );
        assert_eq!(streamed.status, whole.status, "{pipeline}");
        assert_eq!(streamed.body, whole.body, "{pipeline}");
        for h in ["content-type", "kiln-meta"] {
            assert_eq!(streamed.header(h), whole.header(h), "{pipeline}: {h}");
        }
        if whole.status == 200 {
            assert_eq!(whole.body, native(pipeline, input).data, "{pipeline}");
        }
    }
}

/// Past the window the response starts with what is known; an error after that writes
/// NDJSON's error line and cuts the body short, so no client takes it for a whole one.
#[test]
fn an_error_after_the_response_started_cuts_it_short() {
    let server = Server::start(&[], None);
    let agent = agent();
    let mut csv = b"a,b\n".to_vec();
    for i in 0..200_000 {
        csv.extend_from_slice(format!("{i},x{i}\n").as_bytes());
    }
    csv.extend_from_slice(b"1,2,3\n");
    for (pipeline, tail) in [
        ("parse_csv | to_json format=ndjson", true),
        ("parse_csv | to_csv", false),
    ] {
        let url = server.url(&format!("/v1/run?pipeline={}", url_encode(pipeline)));
        let response = agent.post(&url).send(&csv[..]).expect("POST");
        assert_eq!(response.status(), 200, "{pipeline}: the response started");
        let meta: serde_json::Value =
            serde_json::from_str(response.headers()["kiln-meta"].to_str().unwrap()).expect("kiln-meta");
        assert_eq!(meta["kind"], "table");
        assert!(meta.get("rows").is_none(), "rows come only with a whole answer: {meta}");
        let mut body = Vec::new();
        let read = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader()
            .read_to_end(&mut body);
        assert!(read.is_err(), "{pipeline}: the body is cut short, not ended");
        assert!(
            body.len() > 1 << 20,
            "{pipeline}: output came first ({} bytes)",
            body.len()
        );
        let text = String::from_utf8_lossy(&body);
        let last = text.trim_end().lines().last().unwrap_or_default();
        if tail {
            let error: serde_json::Value = serde_json::from_str(last).expect("the last line is JSON");
            assert_eq!(error["error"]["code"], "bad_input", "{last}");
        } else {
            assert!(!last.contains("error"), "{last}");
        }
    }
}

/// A client that uploads a zip bomb and never reads the answer holds its job slot no
/// longer than the send timeout: the next job runs.
#[test]
fn a_client_that_stops_reading_frees_its_slot() {
    let server = Server::start(&["--max-jobs", "1", "--send-timeout-s", "2"], None);
    let bomb = data("zeros64m.gz");
    let url = server.url("/v1/run?pipeline=decompress");
    let mut stalled =
        std::net::TcpStream::connect(url.trim_start_matches("http://").split('/').next().unwrap()).expect("connect");
    use std::io::Write;
    write!(
        stalled,
        "POST /v1/run?pipeline=decompress HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n",
        bomb.len()
    )
    .unwrap();
    stalled.write_all(&bomb).unwrap();
    stalled.write_all(b"\r\n0\r\n\r\n").unwrap();
    // Never read: the answer (64 MiB) fills the socket, the job waits, then is dropped.
    let started = Instant::now();
    let agent = agent();
    let reply = run_query(&agent, &server, "compress", b"next");
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(20), "the next job waited {waited:?}");
    drop(stalled);
}

/// `kiln run` streams: file to file through a session (the same bytes as the native
/// kernel), and a late error leaves no file, while stdout keeps what came, with the
/// error's exit code.
#[test]
fn kiln_run_streams_and_leaves_no_file_on_error() {
    let dir = TempDir::new("run-stream");
    let mut csv = b"a,b\n".to_vec();
    for i in 0..100_000 {
        csv.extend_from_slice(format!("{i},x{i}\n").as_bytes());
    }
    let good = dir.put("good.csv", &csv);
    csv.extend_from_slice(b"1,2,3\n");
    let bad = dir.put("bad.csv", &csv);
    let out = dir.join("out.ndjson");
    let pipeline = "parse_csv | to_json format=ndjson";
    let kiln = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(args)
            .output()
            .expect("run kiln")
    };
    let done = kiln(&["run".as_ref(), pipeline.as_ref(), good.as_os_str(), out.as_os_str()]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        native(pipeline, &std::fs::read(&good).unwrap()).data
    );
    std::fs::remove_file(&out).unwrap();
    let done = kiln(&["run".as_ref(), pipeline.as_ref(), bad.as_os_str(), out.as_os_str()]);
    assert_eq!(done.status.code(), Some(65), "bad_input");
    assert!(!out.exists(), "no output file on error");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "no temporary file left: {leftovers:?}");
    let done = kiln(&["run".as_ref(), pipeline.as_ref(), bad.as_os_str()]);
    assert_eq!(done.status.code(), Some(65));
    assert!(done.stdout.len() > 1 << 20, "stdout took the rows before the error");
}
