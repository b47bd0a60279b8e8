//! `POST /v1/run` through a streaming session (DESIGN.md, "HTTP API v1", "Streamed
//! requests"): a request whose pipeline streams and whose body is chunked or longer than
//! [`api::stream::WINDOW`] is pushed into a session as it arrives, so neither its input
//! nor its output is ever held whole.
//!
//! A driver task reads the body (at the upload-rate floor of every request) and pushes it
//! a piece of at most [`api::stream::CHUNK`] bytes at a time, each push on a blocking
//! thread; it hands the output over a channel of two pieces, so a client that stops
//! reading stops the pushing and then the reading of its body (backpressure end to end).
//! The handler holds the output until it passes the window: a job that ends first is
//! answered exactly as `run` would answer it; otherwise the response starts (also once
//! half the request deadline has passed, so a long job with little output is not cut by
//! it) and an error after that ends the body early ([`api::stream::error_tail`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use http_body::Frame;
use kiln_http_api::{self as api, ApiError, paths};
use kiln_kernel::{Error, Meta, Output};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{App, LINGER, LINGER_MAX, UPLOAD_GRACE, Watch, drain};
use crate::kernel::Session;
use crate::live::{Pick, Role};

/// What the driver hands the handler (and then the response body).
enum Piece {
    Data(Vec<u8>),
    End(Output),
    Failed(Failure),
}

/// Why a streamed job ended without its output.
enum Failure {
    Api(ApiError),
    /// The upload fell under the rate floor: 408.
    Slow,
}

/// What [`run`] did with the request.
pub(super) enum Streamed {
    /// Answered, and the `kiln-kernel` header of the kernel that ran it.
    Answer(Response, String),
    /// The pipeline does not stream on the kernel picked for it (or the kernel could not
    /// open a session): the body, unread, for the whole-input path.
    Whole(Body),
}

/// Runs a request through a session of the kernel picked for it.
pub(super) async fn run(app: &Arc<App>, pipeline: String, body: Body, conn: &Arc<Watch>) -> Streamed {
    let Ok(admitted) = app.admitted.clone().try_acquire_owned() else {
        app.metrics.count_error("busy");
        return Streamed::Answer(super::error_response(&ApiError::busy()), app.live.primary().label());
    };
    let Ok(slot) = app.slots.clone().acquire_owned().await else {
        return Streamed::Whole(body);
    };
    let pick = app.live.pick();
    let label = match pick.role {
        Role::Primary => pick.loaded.label(),
        Role::Canary => format!("{}; role=canary", pick.loaded.label()),
    };
    let limits = app.stream_limits;
    let opened = tokio::task::spawn_blocking(move || {
        let opened = pick
            .loaded
            .kernel
            .open_session(&pipeline, &limits)
            .and_then(|mut session| {
                let meta = session.meta()?;
                Ok((session, meta))
            });
        (opened, pick)
    })
    .await;
    // Not a pipeline that streams (or not one at all): `run` answers it.
    let Ok((Ok((session, meta)), pick)) = opened else {
        return Streamed::Whole(body);
    };
    let (tx, mut rx) = mpsc::channel(2);
    let (live, metrics, min_rate) = (app.live.clone(), app.metrics.clone(), app.min_upload_rate);
    tokio::spawn(async move {
        metrics.in_flight.inc();
        let result = drive(session, body, &tx, min_rate).await;
        metrics.in_flight.dec();
        record(&live, &pick, &result);
        let _ = tx.send(result.map_or_else(Piece::Failed, Piece::End)).await;
        // The job's slot and place go only now, with its instance.
        drop((slot, admitted));
    });

    let mut held = Vec::new();
    let start_by = Instant::now() + app.request_timeout / 2;
    loop {
        let piece = match tokio::time::timeout_at(start_by, rx.recv()).await {
            Ok(Some(piece)) => piece,
            Ok(None) => {
                let e = ApiError::from(Error::internal("the streaming job ended without an answer"));
                return Streamed::Answer(failed(app, &Failure::Api(e)), label);
            }
            // Half the request deadline: start the response with what is held.
            Err(_) => break,
        };
        match piece {
            Piece::Data(data) => {
                held.extend_from_slice(&data);
                if held.len() > api::stream::WINDOW {
                    break;
                }
            }
            Piece::End(out) => {
                held.extend_from_slice(&out.data);
                let response = match app.outputs.hold(held, conn).await {
                    Some(data) => super::output_response(data, &out.meta),
                    None => super::error_response(&ApiError::busy()),
                };
                return Streamed::Answer(response, label);
            }
            Piece::Failed(e) => return Streamed::Answer(failed(app, &e), label),
        }
    }
    let body = StreamedBody {
        first: Some(Bytes::from(held)),
        rx,
        content_type: meta.content_type.clone(),
        app: app.clone(),
        ended: false,
        cut: None,
    };
    Streamed::Answer(started_response(Body::new(body), &meta), label)
}

/// The response of a job that streams past the window: 200, the output's content type,
/// `kiln-meta` with what is known at the start; the body as it comes.
fn started_response(body: Body, meta: &Meta) -> Response {
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&meta.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&meta.to_json()) {
        h.insert(paths::META_HEADER, v);
    }
    response
}

/// The answer to a job that failed before its response started.
fn failed(app: &App, failure: &Failure) -> Response {
    match failure {
        Failure::Api(e) => {
            app.metrics.count_error(e.code());
            super::error_response(e)
        }
        Failure::Slow => axum::response::IntoResponse::into_response(axum::http::StatusCode::REQUEST_TIMEOUT),
    }
}

/// Counts the job on the kernel it ran on (a slow client is not the kernel's doing).
fn record(live: &crate::live::Live, pick: &Pick, result: &Result<Output, Failure>) {
    match result {
        Ok(_) => live.record(pick, Ok(()), None),
        Err(Failure::Api(ApiError::Kernel(e))) => live.record(pick, Err(e), None),
        Err(_) => {}
    }
}

/// Reads the body into the session and hands its output to `tx`; the session's end.
async fn drive(session: Session, mut body: Body, tx: &mpsc::Sender<Piece>, min_rate: u64) -> Result<Output, Failure> {
    use http_body_util::BodyExt;
    let mut session = Some(session);
    let started = Instant::now();
    // Time spent waiting for the client to take output: not the upload's.
    let mut blocked = Duration::ZERO;
    let mut received: u64 = 0;
    loop {
        let earned = Duration::from_secs_f64(received as f64 / min_rate as f64);
        let due = started + blocked + UPLOAD_GRACE + earned;
        let frame = match tokio::time::timeout_at(due, body.frame()).await {
            Err(_) => return Err(Failure::Slow),
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                let e = Error::bad_input(format!("the request body could not be read: {e}"));
                return Err(Failure::Api(e.into()));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else { continue };
        received += data.len() as u64;
        let mut at = 0;
        while at < data.len() {
            let piece = data.slice(at..data.len().min(at + api::stream::CHUNK));
            at += piece.len();
            let mut s = session.take().ok_or_else(lost)?;
            let (s, out) = tokio::task::spawn_blocking(move || {
                let out = s.push(&piece);
                (s, out)
            })
            .await
            .map_err(|e| Failure::Api(Error::internal(format!("job thread failed: {e}")).into()))?;
            session = Some(s);
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    // Read the rest meanwhile (bounded), so a client still sending sees
                    // the answer rather than a reset, as after a 413.
                    tokio::spawn(tokio::time::timeout(LINGER, drain(body, LINGER_MAX)));
                    return Err(Failure::Api(e.into()));
                }
            };
            if !out.is_empty() {
                let waited = Instant::now();
                // The client is gone: the job ends with it.
                tx.send(Piece::Data(out)).await.map_err(|_| Failure::Slow)?;
                blocked += waited.elapsed();
            }
        }
    }
    let s = session.take().ok_or_else(lost)?;
    tokio::task::spawn_blocking(move || s.finish())
        .await
        .map_err(|e| Failure::Api(Error::internal(format!("job thread failed: {e}")).into()))?
        .map_err(|e| Failure::Api(e.into()))
}

fn lost() -> Failure {
    Failure::Api(Error::internal("the streaming session was lost").into())
}

/// The body of a response started before the end: what was held, then each piece as
/// the driver makes it. An error ends it with [`api::stream::error_tail`] and then an
/// error of the body, which makes hyper cut the response short.
struct StreamedBody {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Piece>,
    content_type: String,
    app: Arc<App>,
    ended: bool,
    /// After an error: when to cut the response, and why.
    cut: Option<(Pin<Box<tokio::time::Sleep>>, String)>,
}

/// How long a response cut short by an error waits first, for hyper to flush what it
/// was given (hyper drops its buffer with the connection on a body error).
const FLUSH_BEFORE_CUT: Duration = Duration::from_millis(100);

impl http_body::Body for StreamedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(first) = self.first.take().filter(|b| !b.is_empty()) {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some(cut) = &mut self.cut {
            // hyper flushes what it has while the body is pending; then the cut.
            return match cut.0.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::other(cut.1.clone())))),
            };
        }
        let piece = match self.rx.poll_recv(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(piece) => piece,
        };
        match piece {
            Some(Piece::Data(data)) => Poll::Ready(Some(Ok(Frame::data(Bytes::from(data))))),
            Some(Piece::End(out)) => {
                self.ended = true;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(out.data)))))
            }
            Some(Piece::Failed(failure)) => {
                let e = match failure {
                    Failure::Api(e) => e,
                    Failure::Slow => ApiError::from(Error::bad_input("the upload was too slow")),
                };
                self.app.metrics.count_error(e.code());
                tracing::info!("streamed job failed after its response started: {}", e.body());
                let why = format!("the job failed after its response started: {}", e.body());
                // Cut once what is written has had time to be flushed: the tail, and
                // the output before it.
                self.cut = Some((Box::pin(tokio::time::sleep(FLUSH_BEFORE_CUT)), why));
                match api::stream::error_tail(&self.content_type, &e) {
                    Some(tail) => Poll::Ready(Some(Ok(Frame::data(Bytes::from(tail))))),
                    None => self.poll_frame(cx),
                }
            }
            // The driver is gone without an end (or after an error's tail): cut short.
            None => Poll::Ready(Some(Err(std::io::Error::other(
                "the streamed job ended without its end",
            )))),
        }
    }
}
