//! `kiln serve` under load and faults, on loopback, bounded in time:
//!
//! - a minute of mixed valid and hostile requests and broken connections at 64
//!   concurrent clients: every answer is the native kernel's bytes or its error, the
//!   only 5xx is the deliberate 503 `busy` of load shedding, and the server's RSS after
//!   the run is within 10% of its RSS after a warm-up;
//! - a runaway job is cut at its CPU deadline while small jobs keep their latency;
//! - SIGTERM under load: the requests in flight finish whole, new ones are refused.
//!
//! Each test prints its figures (`cargo test --test load -- --nocapture`). The tests
//! take the machine: they run one at a time. `KILN_LOAD_SECS` shortens the minute.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use crate::common;
use common::data;
use common::server::{Server, agent, get, metric, url_encode, wait_in_flight};

/// One load test at a time: they measure latency and memory.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a job must answer.
#[derive(Clone)]
enum Expect {
    /// 200 with exactly these bytes.
    Bytes(Vec<u8>),
    /// This status and error code.
    Error(u16, &'static str),
    /// A broken connection: any answer but a 5xx, or none.
    Fault,
}

#[derive(Clone)]
struct Job {
    name: String,
    pipeline: String,
    input: Vec<u8>,
    expect: Expect,
    /// How to send it.
    send: Send,
}

#[derive(Clone, Copy, PartialEq)]
enum Send {
    Http,
    /// Headers announce 1 MB, 1 KB of it is sent, then the connection is closed.
    AbortUpload,
    /// Not HTTP at all.
    Garbage,
    /// `Expect: 100-continue` (as curl sends for large bodies): the body only after a
    /// 100 Continue; a 413 comes before it.
    ExpectContinue,
}

/// A job whose expectation is the native kernel's own answer (bytes, or the error with
/// the status DESIGN.md gives its code).
fn job(name: &str, pipeline: &str, input: Vec<u8>) -> Job {
    let expect = match kiln_kernel::run(pipeline, &input) {
        Ok(out) => Expect::Bytes(out.data),
        Err(e) => Expect::Error(e.code.http_status(), e.code.as_str()),
    };
    Job {
        name: name.to_owned(),
        pipeline: pipeline.to_owned(),
        input,
        expect,
        send: Send::Http,
    }
}

/// The hostile corpus (every error case of tests/cases), each with the native kernel's
/// own answer.
fn hostile_cases() -> Vec<Job> {
    kiln_case_format::kiln_error_cases()
        .into_iter()
        .map(|c| {
            let code = c.expected_error().unwrap_or_default().to_owned();
            let j = job(&c.name, &c.pipeline, c.input);
            assert!(
                matches!(j.expect, Expect::Error(_, got) if got == code),
                "{}: the native kernel does not give {code}",
                c.name,
            );
            j
        })
        .collect()
}

/// The mix: valid jobs of every kind, hostile inputs of every kind, broken connections.
/// Valid jobs come first in the list and are picked more often (see `pick`).
fn mix() -> (Vec<Job>, usize) {
    let jpg = data("photo.jpg");
    let valid = vec![
        job(
            "jpeg thumbnail",
            "resize width=320 | encode format=jpeg quality=80",
            jpg.clone(),
        ),
        job("png grayscale", "grayscale | encode format=png", data("palette.png")),
        job("webp", "resize width=200 | encode format=webp", data("photo.png")),
        job("gzip", "compress", data("lines.txt")),
        job("gunzip", "decompress", data("lines.txt.gz")),
        job("csv to json", "parse_csv | to_json", data("people.csv")),
        job("ndjson to csv", "parse_json | to_csv", data("people.ndjson")),
    ];
    let n_valid = valid.len();
    let mut jobs = valid;
    jobs.extend(hostile_cases());
    jobs.extend([
        Job {
            name: "body over the limit".into(),
            pipeline: "compress".into(),
            input: vec![7u8; (8 << 20) + 1],
            expect: Expect::Error(413, "too_large"),
            send: Send::ExpectContinue,
        },
        Job {
            name: "aborted upload".into(),
            pipeline: "compress".into(),
            input: vec![1u8; 1024],
            expect: Expect::Fault,
            send: Send::AbortUpload,
        },
        Job {
            name: "garbage".into(),
            pipeline: String::new(),
            input: b"\x16\x03\x01\x02\x00GARBAGE / HTTP/9.9\r\n\r\n".to_vec(),
            expect: Expect::Fault,
            send: Send::Garbage,
        },
    ]);
    (jobs, n_valid)
}

/// Two in three requests are valid jobs, the rest hostile ones or faults.
fn pick(jobs: &[Job], n_valid: usize, rng: &mut u64) -> usize {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let r = (*rng >> 16) as usize;
    if r % 3 < 2 {
        r / 3 % n_valid
    } else {
        n_valid + r / 3 % (jobs.len() - n_valid)
    }
}

/// What came back.
#[derive(Debug)]
enum Outcome {
    Ok,
    /// 503 busy, with Retry-After.
    Shed,
    /// The expected error.
    Refused,
    /// A fault answered without a 5xx (or not at all).
    FaultHandled,
    /// The connection failed (before an answer).
    Transport(String),
    /// Anything else: a failure of the server.
    Wrong(String),
}

fn send(agent: &ureq::Agent, base: &str, job: &Job) -> Outcome {
    match job.send {
        Send::Http => {}
        Send::AbortUpload | Send::Garbage | Send::ExpectContinue => return send_raw(base, job),
    }
    let url = format!("{base}/v1/run?pipeline={}", url_encode(&job.pipeline));
    let response = match agent.post(&url).send(&job.input[..]) {
        Ok(r) => r,
        Err(e) => return Outcome::Transport(format!("{}: {e}", job.name)),
    };
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let body = match response.into_body().into_with_config().limit(64 << 20).read_to_vec() {
        Ok(b) => b,
        Err(e) => return Outcome::Wrong(format!("{}: body cut short: {e}", job.name)),
    };
    let code = || {
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    if status == 503 {
        return if code() == "busy" && retry_after {
            Outcome::Shed
        } else {
            Outcome::Wrong(format!("{}: 503 without busy/Retry-After", job.name))
        };
    }
    match &job.expect {
        Expect::Bytes(expected) if status == 200 && body == *expected => Outcome::Ok,
        Expect::Error(s, c) if status == *s && code() == *c => Outcome::Refused,
        _ => Outcome::Wrong(format!(
            "{}: status {status}, {}",
            job.name,
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )),
    }
}

/// Sends a request on a raw connection: a broken one, whose answer (if any) must not be
/// a 5xx, or an `Expect: 100-continue` one, whose answer must be the expected error.
fn send_raw(base: &str, job: &Job) -> Outcome {
    let addr = base.strip_prefix("http://").unwrap();
    let mut stream = match TcpStream::connect(addr) {
        Ok(s) => s,
        Err(e) => return Outcome::Transport(format!("{}: {e}", job.name)),
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let target = format!("/v1/run?pipeline={}", url_encode(&job.pipeline));
    match job.send {
        Send::AbortUpload => {
            let head = format!("POST {target} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 1000000\r\n\r\n");
            let _ = stream
                .write_all(head.as_bytes())
                .and_then(|_| stream.write_all(&job.input));
            return Outcome::FaultHandled; // and drop the connection mid-body
        }
        Send::ExpectContinue => {
            let head = format!(
                "POST {target} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nexpect: 100-continue\r\n\r\n",
                job.input.len()
            );
            if let Err(e) = stream.write_all(head.as_bytes()) {
                return Outcome::Transport(format!("{}: {e}", job.name));
            }
        }
        _ => {
            let _ = stream.write_all(&job.input);
        }
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok());
    match (&job.expect, status) {
        (_, Some(503)) if text.contains(r#""code":"busy""#) => Outcome::Shed,
        (Expect::Error(s, code), Some(got)) if got == *s && text.contains(&format!(r#""code":"{code}""#)) => {
            Outcome::Refused
        }
        (Expect::Fault, Some(s)) if s < 500 => Outcome::FaultHandled,
        (Expect::Fault, None) => Outcome::FaultHandled,
        _ => Outcome::Wrong(format!("{}: {}", job.name, &text[..text.len().min(200)])),
    }
}

/// Counts of a load run.
#[derive(Default, Debug)]
struct Tally {
    ok: u64,
    shed: u64,
    refused: u64,
    faults: u64,
    transport: Vec<String>,
    wrong: Vec<String>,
    /// Latencies of valid jobs answered 200, in ms.
    latencies: Vec<f64>,
}

impl Tally {
    fn add(&mut self, o: Outcome, ms: f64) {
        match o {
            Outcome::Ok => {
                self.ok += 1;
                self.latencies.push(ms);
            }
            Outcome::Shed => self.shed += 1,
            Outcome::Refused => self.refused += 1,
            Outcome::FaultHandled => self.faults += 1,
            Outcome::Transport(e) => self.transport.push(e),
            Outcome::Wrong(e) => self.wrong.push(e),
        }
    }

    fn merge(&mut self, o: Tally) {
        self.ok += o.ok;
        self.shed += o.shed;
        self.refused += o.refused;
        self.faults += o.faults;
        self.transport.extend(o.transport);
        self.wrong.extend(o.wrong);
        self.latencies.extend(o.latencies);
    }

    fn total(&self) -> u64 {
        self.ok + self.shed + self.refused + self.faults + (self.transport.len() + self.wrong.len()) as u64
    }
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// `clients` threads send jobs from the mix until `duration` has passed.
fn load(server: &Server, jobs: &[Job], n_valid: usize, clients: usize, duration: Duration) -> Tally {
    let until = Instant::now() + duration;
    let tallies: Vec<Tally> = thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|i| {
                s.spawn(move || {
                    let agent = agent();
                    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (i as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
                    let mut tally = Tally::default();
                    while Instant::now() < until {
                        let job = &jobs[pick(jobs, n_valid, &mut rng)];
                        let started = Instant::now();
                        let outcome = send(&agent, &server.base, job);
                        tally.add(outcome, started.elapsed().as_secs_f64() * 1e3);
                    }
                    tally
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client thread")).collect()
    });
    let mut all = Tally::default();
    for t in tallies {
        all.merge(t);
    }
    all
}

/// The server's resident set, in KiB.
fn rss_kib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS in /proc status")
}

/// Waits until no job runs, then a little for freed memory to settle.
fn wait_idle(server: &Server) {
    let agent = agent();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = get(&agent, &server.url("/metrics")).text();
        if metric(&text, "kiln_jobs_in_flight") == Some(0.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jobs still in flight after the load:\n{text}"
        );
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(500));
}

fn load_secs() -> u64 {
    std::env::var("KILN_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

#[test]
fn a_minute_of_mixed_hostile_load_at_64_connections() {
    let _heavy = common::heavy();
    let _serial = serial();
    const CLIENTS: usize = 64;
    let (jobs, n_valid) = mix();
    let server = Server::start(&["--max-input-mib", "8", "--request-timeout-s", "60"], None);

    // Warm-up: every pooled instance and buffer size touched once.
    let warm = load(&server, &jobs, n_valid, CLIENTS, Duration::from_secs(20));
    assert!(
        warm.wrong.is_empty(),
        "during warm-up: {:?}",
        &warm.wrong[..warm.wrong.len().min(5)]
    );
    wait_idle(&server);
    let rss_warm = rss_kib(&server);

    let secs = load_secs();
    let started = Instant::now();
    let mut run = load(&server, &jobs, n_valid, CLIENTS, Duration::from_secs(secs));
    let elapsed = started.elapsed().as_secs_f64();
    wait_idle(&server);
    let rss_end = rss_kib(&server);

    let drift = (rss_end as f64 - rss_warm as f64) / rss_warm as f64 * 100.0;
    let (p50, p99) = (
        percentile(&mut run.latencies, 0.5),
        percentile(&mut run.latencies, 0.99),
    );
    eprintln!(
        "load: {} requests in {elapsed:.1} s at {CLIENTS} connections ({:.0}/s): {} ok, {} expected errors, \
         {} faults handled, {} shed (503 busy), {} transport errors, {} wrong; valid-job latency p50 {p50:.0} ms, \
         p99 {p99:.0} ms; RSS {:.1} MiB after warm-up, {:.1} MiB after the run ({drift:+.1}%)",
        run.total(),
        run.total() as f64 / elapsed,
        run.ok,
        run.refused,
        run.faults,
        run.shed,
        run.transport.len(),
        run.wrong.len(),
        rss_warm as f64 / 1024.0,
        rss_end as f64 / 1024.0,
    );
    assert!(
        run.wrong.is_empty(),
        "wrong answers: {:?}",
        &run.wrong[..run.wrong.len().min(10)]
    );
    let mut failed: std::collections::BTreeMap<&str, usize> = Default::default();
    for t in &run.transport {
        *failed.entry(t.as_str()).or_default() += 1;
    }
    assert!(run.transport.is_empty(), "connections failed: {failed:?}");
    assert!(run.ok > 0 && run.refused > 0 && run.faults > 0, "{run:?}");
    assert!(drift <= 10.0, "RSS grew {drift:.1}% over the run");

    // The server is whole: healthy, no job left running, the right bytes.
    let agent = agent();
    assert_eq!(get(&agent, &server.url("/healthz")).status, 200);
    let text = get(&agent, &server.url("/metrics")).text();
    assert_eq!(metric(&text, "kiln_jobs_in_flight"), Some(0.0), "{text}");
    for job in &jobs[..n_valid] {
        assert!(
            matches!(send(&agent, &server.base, job), Outcome::Ok),
            "{} after the load",
            job.name
        );
    }
}

/// A runaway job — the most pixels the limits allow, then blurs — is cut at its CPU
/// deadline, while small jobs on the other slots keep their latency.
#[test]
fn runaway_job_is_cut_at_its_deadline_while_small_jobs_keep_their_latency() {
    let _heavy = common::heavy();
    let _serial = serial();
    const DEADLINE_MS: u64 = 1500;
    // 8192 x 8192 = 64 Mi px, the default max_pixels; each recursive blur pass over it
    // takes seconds in the sandbox.
    const RUNAWAY: &str =
        "resize width=8192 height=8192 fit=fill | blur sigma=300 | blur sigma=300 | encode format=jpeg";
    let server = Server::start(&["--job-timeout-ms", &DEADLINE_MS.to_string(), "--max-jobs", "4"], None);
    let small = job(
        "jpeg thumbnail",
        "resize width=320 | encode format=jpeg quality=80",
        data("photo.jpg"),
    );
    let agent = agent();
    let latency = |n: usize| -> Vec<f64> {
        (0..n)
            .map(|_| {
                let started = Instant::now();
                let o = send(&agent, &server.base, &small);
                assert!(matches!(o, Outcome::Ok), "small job: {o:?}");
                started.elapsed().as_secs_f64() * 1e3
            })
            .collect()
    };
    let _ = latency(5); // warm
    let mut alone = latency(30);

    let runaway = data("photo.jpg");
    let (mut beside, (status, message, cut_ms)) = thread::scope(|s| {
        let handle = s.spawn(|| {
            let agent = common::server::agent();
            let url = format!("{}/v1/run?pipeline={}", server.base, url_encode(RUNAWAY));
            let started = Instant::now();
            let reply = agent.post(&url).send(&runaway[..]).expect("POST the runaway");
            let status = reply.status().as_u16();
            let body = reply.into_body().read_to_string().unwrap_or_default();
            (status, body, started.elapsed().as_secs_f64() * 1e3)
        });
        // Small jobs while the runaway runs (it runs for DEADLINE_MS).
        wait_in_flight(&agent, &server, 1.0, Duration::from_secs(30));
        let mut v = Vec::new();
        let until = Instant::now() + Duration::from_millis(DEADLINE_MS / 2);
        while Instant::now() < until || v.len() < 5 {
            v.extend(latency(1));
        }
        (v, handle.join().expect("runaway thread"))
    });
    let (a50, b50) = (percentile(&mut alone, 0.5), percentile(&mut beside, 0.5));
    eprintln!(
        "runaway: answered {status} after {cut_ms:.0} ms (deadline {DEADLINE_MS} ms, {:+.0} ms); small job \
         median {a50:.1} ms alone, {b50:.1} ms beside it ({} jobs)",
        cut_ms - DEADLINE_MS as f64,
        beside.len()
    );
    assert_eq!(status, 413, "{message}");
    assert!(message.contains("CPU time budget"), "{message}");
    assert!(
        cut_ms >= DEADLINE_MS as f64 && cut_ms < DEADLINE_MS as f64 + 2000.0,
        "cut after {cut_ms:.0} ms"
    );
    // Two logical cores: the runaway takes one; the small job has the other (a
    // hyperthread sibling: some slow-down is the hardware's).
    assert!(b50 < a50 * 3.0 + 25.0, "small jobs slowed from {a50:.1} to {b50:.1} ms");
    assert!(matches!(send(&agent, &server.base, &small), Outcome::Ok));
}

/// SIGTERM while 16 clients keep sending: the requests in flight finish whole, then new
/// ones are refused (the connection fails, no half answer, no 5xx), and the process
/// exits 0.
#[test]
fn sigterm_under_load_finishes_requests_in_flight_and_refuses_new_ones() {
    let _heavy = common::heavy();
    let _serial = serial();
    const CLIENTS: usize = 16;
    let mut server = Server::start(&[], None);
    let jobs = [
        job(
            "jpeg thumbnail",
            "resize width=320 | encode format=jpeg quality=80",
            data("photo.jpg"),
        ),
        job(
            "slow",
            "resize width=2000 | blur sigma=6 | encode format=jpeg",
            data("photo.jpg"),
        ),
        job("gzip", "compress", data("lines.txt")),
    ];
    let signalled: Mutex<Option<Instant>> = Mutex::new(None);
    struct Record {
        started: Instant,
        ended: Instant,
        outcome: Outcome,
    }
    let records: Vec<Record> = thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let (server, jobs, signalled) = (&server, &jobs, &signalled);
                s.spawn(move || {
                    let agent = agent();
                    let mut out = Vec::new();
                    let mut refused_in_a_row = 0;
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while refused_in_a_row < 3 && Instant::now() < deadline {
                        let job = &jobs[(i + out.len()) % jobs.len()];
                        let started = Instant::now();
                        let outcome = send(&agent, &server.base, job);
                        let ended = Instant::now();
                        let after_signal = signalled.lock().unwrap().is_some();
                        refused_in_a_row = if matches!(outcome, Outcome::Transport(_)) && after_signal {
                            refused_in_a_row + 1
                        } else {
                            0
                        };
                        out.push(Record {
                            started,
                            ended,
                            outcome,
                        });
                    }
                    out
                })
            })
            .collect();
        thread::sleep(Duration::from_secs(3));
        *signalled.lock().unwrap() = Some(Instant::now());
        let status = std::process::Command::new("kill")
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect()
    });
    let term = signalled.lock().unwrap().expect("signalled");
    let exit = server.wait_exit(Duration::from_secs(30)).expect("the server exits");
    assert_eq!(exit.code(), Some(0), "{exit:?}");

    let mut finished_across = 0;
    let mut refused_after = 0;
    for r in &records {
        match &r.outcome {
            Outcome::Ok | Outcome::Shed => {
                if r.started < term && r.ended > term {
                    finished_across += 1;
                }
            }
            Outcome::Transport(e) => {
                assert!(r.ended > term, "a connection failed before SIGTERM: {e}");
                refused_after += 1;
            }
            o => panic!("under SIGTERM: {o:?}"),
        }
    }
    eprintln!(
        "sigterm: {} requests; {finished_across} in flight at the signal finished whole; {refused_after} refused after it",
        records.len()
    );
    assert!(finished_across > 0, "no request was in flight at the signal");
    assert!(refused_after >= CLIENTS, "every client saw the server go");
}
