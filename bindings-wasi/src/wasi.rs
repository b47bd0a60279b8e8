//! The wasi:http glue: the request's method, path, headers and body in, the [`Response`]
//! out through the host's `outgoing-response`. Built for wasm32 only (wasm32-unknown-unknown,
//! made a component by scripts/build-wasi-http.sh).

use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasip2::io::streams::{OutputStream, StreamError};

use kiln_http_api::{self as api, ApiError};
use kiln_kernel::Session;

use crate::{Plan, Response, body_limit, limits, plan, run};

struct Handler;

wasip2::http::proxy::export!(Handler);

impl wasip2::exports::http::incoming_handler::Guest for Handler {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = method_name(&request.method());
        match answer(&request, &method) {
            Answer::Whole(response) => send(response_out, &response, method == "HEAD"),
            Answer::Stream(session) => stream(&request, response_out, session),
        }
    }
}

fn method_name(m: &Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other.clone(),
    }
}

/// What a request gets: a whole answer, or a streamed run (DESIGN.md, "HTTP API v1",
/// "Streamed requests").
enum Answer {
    Whole(Response),
    Stream(Box<Session>),
}

fn answer(request: &IncomingRequest, method: &str) -> Answer {
    let target = request.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target.as_str(), None),
    };
    let headers = request.headers();
    let header = |name: &str| headers.get(name).into_iter().next();
    let query_pipeline = match plan(method, path, query, &header) {
        Plan::Answer(response) => return Answer::Whole(response),
        Plan::Run { query_pipeline } => query_pipeline,
    };
    let pipeline_header = header(api::paths::PIPELINE_HEADER);
    let length = header("content-length").and_then(|v| String::from_utf8(v).ok());
    if api::stream::streams(length.as_deref(), limits().streaming().max_input_bytes)
        && let Ok(pipeline) = api::pipeline(query_pipeline.as_deref(), pipeline_header.as_deref())
        && let Ok(session) = Session::open(&pipeline, &limits().streaming())
    {
        return Answer::Stream(Box::new(session));
    }
    if let Err(e) = body_limit().check_declared(length.as_deref()) {
        return Answer::Whole(Response::error(&e));
    }
    Answer::Whole(match read_body(request) {
        Ok(input) => run(query_pipeline.as_deref(), pipeline_header.as_deref(), input),
        Err(e) => Response::error(&e),
    })
}

/// Runs the request's body through `session` as it is read: answered whole if the job
/// ends within [`api::stream::WINDOW`] of output, else started then; an error after the
/// start writes NDJSON's error line and cuts the body short (dropped unfinished, which
/// the host reports as an incomplete body).
fn stream(request: &IncomingRequest, out: ResponseOutparam, session: Box<Session>) {
    let meta = session.meta();
    let mut session = Some(session);
    let mut out = Some(out);
    let mut held = Vec::new();
    let mut started: Option<(OutgoingBody, OutputStream)> = None;
    let ended = (|| -> Result<kiln_kernel::Output, Ended> {
        let body = request.consume().map_err(|()| Ended::Failed(unreadable("no body")))?;
        {
            let input = body.stream().map_err(|()| Ended::Failed(unreadable("no stream")))?;
            loop {
                let chunk = match input.blocking_read(api::stream::CHUNK as u64) {
                    Ok(chunk) => chunk,
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        return Err(Ended::Failed(unreadable(&e.to_debug_string())));
                    }
                };
                let session = session.as_mut().ok_or(Ended::Gone)?;
                let output = match session.push(&chunk) {
                    Ok(output) => output,
                    Err(e) => {
                        if started.is_none() {
                            drain(&input);
                        }
                        return Err(Ended::Failed(e.into()));
                    }
                };
                if let Some((_, stream)) = &mut started {
                    write(stream, &output).map_err(|()| Ended::Gone)?;
                    continue;
                }
                held.extend_from_slice(&output);
                if held.len() > api::stream::WINDOW {
                    let head = Response {
                        status: 200,
                        headers: vec![
                            ("content-type", meta.content_type.clone()),
                            (api::paths::META_HEADER, meta.to_json()),
                        ],
                        body: Vec::new(),
                    };
                    let (body, mut stream) = begin(out.take().ok_or(Ended::Gone)?, &head).ok_or(Ended::Gone)?;
                    write(&mut stream, &std::mem::take(&mut held)).map_err(|()| Ended::Gone)?;
                    started = Some((body, stream));
                }
            }
        }
        IncomingBody::finish(body);
        let session = session.take().ok_or(Ended::Gone)?;
        session.finish().map_err(|e| Ended::Failed(e.into()))
    })();
    match (ended, started, out) {
        (Ok(output), Some((body, mut stream)), _) => {
            let written = write(&mut stream, &output.data);
            drop(stream);
            if written.is_ok() {
                let _ = OutgoingBody::finish(body, None);
            }
        }
        (Ok(output), None, Some(out)) => {
            held.extend_from_slice(&output.data);
            let headers = vec![
                ("content-type", output.meta.content_type.clone()),
                (api::paths::META_HEADER, output.meta.to_json()),
            ];
            send(
                out,
                &Response {
                    status: 200,
                    headers,
                    body: held,
                },
                false,
            );
        }
        (Err(Ended::Failed(e)), Some((body, mut stream)), _) => {
            if let Some(tail) = api::stream::error_tail(&meta.content_type, &e) {
                let _ = write(&mut stream, &tail);
            }
            // Dropped unfinished, the host cuts the response short; first a pause for it to
            // send what it was given (it drops its buffer with the connection), as
            // `kiln serve` does.
            drop(stream);
            wasip2::clocks::monotonic_clock::subscribe_duration(FLUSH_BEFORE_CUT_NS).block();
            drop(body);
        }
        (Err(Ended::Failed(e)), None, Some(out)) => send(out, &Response::error(&e), false),
        // The client went away, or the answer was started and lost.
        _ => {}
    }
}

/// How long a response cut short by an error waits first: 100 ms.
const FLUSH_BEFORE_CUT_NS: u64 = 100_000_000;

/// Why a streamed run ended without its output.
enum Ended {
    Failed(ApiError),
    /// The client went away.
    Gone,
}

fn unreadable(what: &str) -> ApiError {
    kiln_kernel::Error::bad_input(format!("the request body could not be read: {what}")).into()
}

/// Reads and drops what is left of a body the answer will not use, up to 64 MiB, so a
/// client still sending sees the answer rather than a reset (as `kiln serve` does).
fn drain(input: &wasip2::io::streams::InputStream) {
    let mut left: u64 = 64 << 20;
    while let Ok(chunk) = input.blocking_read(left.min(api::stream::CHUNK as u64)) {
        left = left.saturating_sub(chunk.len() as u64);
        if left == 0 {
            return;
        }
    }
}

/// Writes all of `data` to the response body.
fn write(stream: &mut OutputStream, data: &[u8]) -> Result<(), ()> {
    // std's io::Write for the host's stream writes as much as it takes at a time.
    std::io::Write::write_all(stream, data)
        .and_then(|()| std::io::Write::flush(stream))
        .map_err(|_| ())
}

/// The request body, refused as 413 once it passes the limit (a body without
/// `content-length`, or longer than it said); the rest is drained as after any early
/// error, so a client still sending reads the 413 rather than a broken pipe.
fn read_body(request: &IncomingRequest) -> Result<Vec<u8>, ApiError> {
    let Ok(body) = request.consume() else {
        return Ok(Vec::new());
    };
    let limit = body_limit();
    let mut input = Vec::new();
    {
        let stream = body.stream().map_err(|()| unreadable("no stream"))?;
        loop {
            let chunk = match stream.blocking_read(64 << 10) {
                Ok(chunk) => chunk,
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => return Err(unreadable(&e.to_debug_string())),
            };
            if limit.exceeded_by(input.len() + chunk.len()) {
                drain(&stream);
                return Err(limit.too_large());
            }
            input.extend_from_slice(&chunk);
        }
    }
    IncomingBody::finish(body);
    Ok(input)
}

fn send(out: ResponseOutparam, response: &Response, head: bool) {
    let Some((body, mut stream)) = begin(out, response) else {
        return;
    };
    if !head && !response.body.is_empty() && write(&mut stream, &response.body).is_err() {
        // A client that went away: nothing more to do.
        return;
    }
    drop(stream);
    let _ = OutgoingBody::finish(body, None);
}

/// Sends `response`'s status and headers: the body and its stream to write, or `None`
/// when the host gives none.
fn begin(out: ResponseOutparam, response: &Response) -> Option<(OutgoingBody, OutputStream)> {
    let fields: Vec<(String, Vec<u8>)> = response
        .all_headers()
        .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec()))
        .collect();
    let headers = Fields::from_list(&fields).unwrap_or_else(|_| Fields::new());
    let outgoing = OutgoingResponse::new(headers);
    let _ = outgoing.set_status_code(response.status);
    let body = outgoing.body().ok();
    ResponseOutparam::set(out, Ok(outgoing));
    let body = body?;
    let stream = body.write().ok()?;
    Some((body, stream))
}
