//! `POST /v1/run` through a streaming session in the Worker (DESIGN.md, "HTTP API v1",
//! "Streamed requests"): a request whose pipeline streams and whose body is chunked or
//! longer than [`api::stream::WINDOW`] is pushed into a [`Session`] under
//! `profiles::worker().streaming()` as it arrives, so neither its input nor its output is
//! ever held whole in the isolate (the 16 MiB body limit does not apply to it). The body
//! is read with a BYOB reader into one buffer of [`PUSH`] bytes, a push each (the
//! runtime's own chunks are 4 KiB).
//!
//! The output is held until it passes the window: a job that ends first is answered
//! exactly as `run` would answer it ([`crate::worker::output_parts`],
//! [`crate::worker::error`]). Otherwise the response starts (200, the content type,
//! `kiln-meta` from [`Session::meta`]) and its body is a Rust stream the runtime pulls:
//! each pull reads and pushes until [`OUTPUT_CHUNK`] bytes of output are ready, so a
//! client that stops reading stops the pushing and then the reading of its body. An
//! error after the start writes [`api::stream::error_tail`] and then errors the stream,
//! for the runtime to abort the response; workerd ends it as if whole instead
//! (cloudflare/workerd#6818).

use std::collections::VecDeque;

use futures_util::io::AsyncReadExt;
use kiln_http_api::{self as api, ApiError, profiles};
use kiln_kernel::{Error, Output, Session};
use wasm_streams::readable::IntoAsyncRead;
use worker::wasm_bindgen::JsCast;
use worker::{Headers, Request, Response, ResponseBuilder};

use crate::worker::{OUTPUT_CHUNK, error, output_parts};

/// Input bytes pushed at once: a quarter of [`api::stream::CHUNK`], so one push of
/// `decompress` (up to DEFLATE's 1032:1) gives at most 16.5 MiB in a 128 MB isolate
/// (DESIGN.md, "Chunks and backpressure").
const PUSH: usize = api::stream::CHUNK / 4;

/// The limits of a streamed job on the Worker: `profiles::worker().streaming()`.
pub fn limits() -> kiln_kernel::Limits {
    profiles::worker().streaming()
}

/// Opens a session for `pipeline` under the Worker's streaming limits; `None` when the
/// pipeline does not stream (or is not one): `run` takes it, with the body unread.
pub fn open(pipeline: &str) -> Option<Session> {
    Session::open(pipeline, &limits()).ok()
}

/// Runs the request's body through `session` and answers it.
pub async fn run(session: Session, req: &mut Request) -> worker::Result<Response> {
    let body = match req.inner().body() {
        None => None,
        // A byte stream (every request body in workerd): read into our buffer directly.
        Some(raw) => Some(
            wasm_streams::ReadableStream::from_raw(raw.unchecked_into())
                .try_into_async_read()
                .map_err(|(e, _)| worker::Error::JsError(format!("request body: {}", String::from(e.message()))))?,
        ),
    };
    let mut job = Job {
        session: Some(session),
        body,
        buffer: vec![0; PUSH],
    };
    // The output so far, until it passes the window.
    let mut held = Queue::default();
    loop {
        match job.next().await {
            Ok(Step::Data(data)) => {
                held.add(data);
                if held.len > api::stream::WINDOW {
                    break;
                }
            }
            Ok(Step::End(out)) => {
                held.add(out.data);
                return output_parts(held.parts.into(), &out.meta);
            }
            Err(e) => return error(&e),
        }
    }
    let meta = job
        .session
        .as_ref()
        .map(Session::meta)
        .ok_or_else(|| worker::Error::RustError("the streaming session was lost".into()))?;
    let headers = Headers::new();
    headers.set("content-type", &meta.content_type)?;
    headers.set(api::paths::META_HEADER, &meta.to_json())?;
    let body = Body {
        job: Some(job),
        queue: held,
        content_type: meta.content_type,
        failed: None,
    };
    let stream = futures_util::stream::unfold(body, |mut body| async move {
        let item = body.next().await?;
        Some((item, body))
    });
    ResponseBuilder::new().with_headers(headers).from_stream(stream)
}

/// What a step of a job gives.
enum Step {
    /// Output of a push (never empty).
    Data(Vec<u8>),
    /// The end: the rest of the output and the meta.
    End(Output),
}

/// A session and the request body it reads.
struct Job {
    session: Option<Session>,
    /// `None` once it has ended.
    body: Option<IntoAsyncRead<'static>>,
    /// What is read of the body before it is pushed: [`PUSH`] bytes.
    buffer: Vec<u8>,
}

impl Job {
    /// Reads and pushes until the session gives output or ends.
    async fn next(&mut self) -> Result<Step, ApiError> {
        loop {
            // A full buffer a push: fewer bytes only at the end of the body.
            let mut filled = 0;
            while let Some(body) = self.body.as_mut().filter(|_| filled < PUSH) {
                match body.read(&mut self.buffer[filled..]).await {
                    Ok(0) => self.body = None,
                    Ok(n) => filled += n,
                    Err(e) => {
                        return Err(Error::bad_input(format!("the request body could not be read: {e}")).into());
                    }
                }
            }
            if filled > 0 {
                let session = self.session.as_mut().ok_or_else(lost)?;
                let out = session.push(&self.buffer[..filled])?;
                if !out.is_empty() {
                    return Ok(Step::Data(out));
                }
            }
            if self.body.is_none() {
                let session = self.session.take().ok_or_else(lost)?;
                return Ok(Step::End(session.finish()?));
            }
        }
    }
}

fn lost() -> ApiError {
    Error::internal("the streaming session was lost").into()
}

/// Output not yet handed over: the pieces as the session gave them (never joined, so a
/// large piece is not copied), read from `at` in the first.
#[derive(Default)]
struct Queue {
    parts: VecDeque<Vec<u8>>,
    at: usize,
    /// Bytes left.
    len: usize,
}

impl Queue {
    fn add(&mut self, data: Vec<u8>) {
        if !data.is_empty() {
            self.len += data.len();
            self.parts.push_back(data);
        }
    }

    /// Up to `n` bytes from the front.
    fn take(&mut self, n: usize) -> Vec<u8> {
        let mut piece = Vec::with_capacity(n.min(self.len));
        while let Some(front) = self.parts.front().filter(|_| piece.len() < n) {
            let k = (n - piece.len()).min(front.len() - self.at);
            piece.extend_from_slice(&front[self.at..self.at + k]);
            self.at += k;
            if self.at == front.len() {
                self.parts.pop_front();
                self.at = 0;
            }
        }
        self.len -= piece.len();
        piece
    }
}

/// The body of a started response: what was held, then the output of the pushes each
/// pull makes, handed to the runtime [`OUTPUT_CHUNK`] bytes at a time (a pull pushes
/// until it has that much, or the job has ended).
struct Body {
    /// `None` once the job has ended.
    job: Option<Job>,
    queue: Queue,
    content_type: String,
    /// After an error: why, to error the stream with once the queue (the error's tail)
    /// is out.
    failed: Option<String>,
}

impl Body {
    /// The next piece of the body; `None` at its end.
    async fn next(&mut self) -> Option<worker::Result<Vec<u8>>> {
        loop {
            if self.queue.len >= OUTPUT_CHUNK || (self.queue.len > 0 && self.job.is_none()) {
                return Some(Ok(self.queue.take(OUTPUT_CHUNK)));
            }
            if let Some(why) = self.failed.take() {
                return Some(Err(worker::Error::RustError(why)));
            }
            match self.job.as_mut()?.next().await {
                Ok(Step::Data(data)) => self.queue.add(data),
                Ok(Step::End(out)) => {
                    self.job = None;
                    self.queue.add(out.data);
                }
                Err(e) => {
                    self.job = None;
                    self.queue
                        .add(api::stream::error_tail(&self.content_type, &e).unwrap_or_default());
                    self.failed = Some(format!("the job failed after its response started: {}", e.body()));
                }
            }
        }
    }
}
