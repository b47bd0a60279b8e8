//! A `kiln serve` child process on 127.0.0.1 and a blocking client for it, shared by the
//! HTTP and load tests.
//!
//! Every server listens on a free port (`--addr 127.0.0.1:0`, the port read from the one
//! line it prints on stdout); the [`Server`] guard kills it when the test ends, pass or
//! fail, and prints its log when a test fails. Every request has a deadline.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{TempDir, native};

/// How long a server may take to start (the first start of a machine may compile the
/// kernel component before it caches it).
pub const START_TIMEOUT: Duration = Duration::from_secs(180);
/// Deadline of every HTTP exchange.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A `kiln serve` child process, killed on drop.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub log: PathBuf,
    pub dir: TempDir,
}

impl Server {
    /// Starts `kiln serve --addr 127.0.0.1:0 --www DIR/www ARGS...` and waits for its
    /// address. `DIR/www` is a fresh, empty folder unless `www_index` gives it an
    /// `index.html`.
    pub fn start(args: &[&str], www_index: Option<&str>) -> Server {
        let dir = TempDir::new("serve");
        let www = dir.join("www");
        std::fs::create_dir_all(&www).expect("create www");
        if let Some(html) = www_index {
            std::fs::write(www.join("index.html"), html).expect("write index.html");
        }
        let log = dir.join("server.log");
        let child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["serve", "--addr", "127.0.0.1:0", "--www"])
            .arg(&www)
            .args(args)
            .env("RUST_LOG", "info,tower_http=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("create the log file"))
            .spawn()
            .expect("spawn kiln serve");
        let mut server = Server {
            child,
            base: String::new(),
            log,
            dir,
        };
        let stdout = server.child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = tx.send(reader.read_line(&mut line).map(|_| line));
            // Keep the pipe open and drained for the life of the server.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => panic!("reading the server's stdout: {e}"),
            Err(_) => panic!("the server printed no address within {START_TIMEOUT:?}"),
        };
        let url = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix("kiln listening on "))
            .unwrap_or_else(|| panic!("unexpected first line on stdout: {line:?}"));
        let port: u16 = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("not a 127.0.0.1 address: {url:?}"));
        assert_ne!(port, 0);
        server.base = url.to_owned();
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!(
                "--- server log ({}) ---\n{log}--- end of server log ---",
                self.dir.path().display()
            );
        }
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .into()
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("visible ASCII header"))
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    pub fn meta(&self) -> Value {
        let meta = self.header("kiln-meta").expect("a kiln-meta header");
        serde_json::from_str(meta).unwrap_or_else(|e| panic!("kiln-meta is not JSON ({e}): {meta}"))
    }

    /// The `error` object of an error reply, after checking the shape of the reply.
    pub fn error(&self, status: u16, code: &str) -> Value {
        let body = String::from_utf8_lossy(&self.body);
        assert_eq!(self.status, status, "status of a {code} error; body: {body}");
        assert_eq!(self.content_type(), "application/json", "content-type of an error");
        assert!(self.header("kiln-meta").is_none(), "an error has no kiln-meta");
        let json = self.json();
        let error = json.get("error").unwrap_or_else(|| panic!("no `error` in {body}"));
        assert_eq!(error["code"], code, "error code in {body}");
        let message = error["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message in {body}"));
        assert!(!message.is_empty(), "empty message in {body}");
        let step = error.get("step").unwrap_or_else(|| panic!("no `step` in {body}"));
        assert!(step.is_null() || step.is_u64(), "step is null or an index in {body}");
        error.clone()
    }
}

pub fn read(response: ureq::http::Response<ureq::Body>) -> Reply {
    let (parts, body) = response.into_parts();
    let body = body
        .into_with_config()
        .limit(256 << 20)
        .read_to_vec()
        .expect("read the response body");
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

pub fn get(agent: &ureq::Agent, url: &str) -> Reply {
    read(agent.get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}")))
}

/// POST /v1/run with the pipeline in `?pipeline=` (URL-encoded).
pub fn run_query(agent: &ureq::Agent, server: &Server, pipeline: &str, input: &[u8]) -> Reply {
    let url = server.url(&format!("/v1/run?pipeline={}", url_encode(pipeline)));
    read(
        agent
            .post(&url)
            .send(input)
            .unwrap_or_else(|e| panic!("POST {url}: {e}")),
    )
}

/// POST /v1/run with the pipeline in the `kiln-pipeline` header.
pub fn run_header(agent: &ureq::Agent, server: &Server, pipeline: &str, input: &[u8]) -> Reply {
    let url = server.url("/v1/run");
    read(
        agent
            .post(&url)
            .header("kiln-pipeline", pipeline)
            .send(input)
            .unwrap_or_else(|e| panic!("POST {url} ({pipeline}): {e}")),
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks a 200 reply against the native kernel's output for the same job.
pub fn assert_same_as_native(reply: &Reply, pipeline: &str, input: &[u8]) {
    assert_eq!(
        reply.status,
        200,
        "{pipeline}: {}",
        String::from_utf8_lossy(&reply.body[..reply.body.len().min(500)])
    );
    let expected = native(pipeline, input);
    assert_eq!(
        reply.content_type(),
        expected.meta.content_type,
        "{pipeline}: content-type"
    );
    let meta = reply.meta();
    let native_meta: Value = serde_json::from_str(&expected.meta.to_json()).unwrap();
    assert_eq!(meta, native_meta, "{pipeline}: kiln-meta");
    assert_eq!(meta["kind"], expected.meta.kind);
    assert_eq!(meta["content_type"], expected.meta.content_type);
    assert_eq!(meta["version"], kiln_kernel::VERSION);
    assert!(
        reply.body == expected.data,
        "{pipeline}: {} bytes from the server, {} from the native kernel, not equal",
        reply.body.len(),
        expected.data.len()
    );
}

/// The value of the sample `name` (exact text before the value, labels included) in a
/// Prometheus text exposition.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Polls `/metrics` until `kiln_jobs_in_flight` is `n`, for at most `timeout`.
pub fn wait_in_flight(agent: &ureq::Agent, server: &Server, n: f64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let text = get(agent, &server.url("/metrics")).text();
        if metric(&text, "kiln_jobs_in_flight") == Some(n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "kiln_jobs_in_flight never reached {n}:\n{text}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}
