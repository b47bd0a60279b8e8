//! The wasi:http glue: the request's method, path, headers and body in, the [`Response`]
//! out through the host's `outgoing-response`. Built for wasm32 only (wasm32-unknown-unknown,
//! made a component by scripts/build-wasi-http.sh).

use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasip2::io::streams::StreamError;

use crate::{Plan, Response, body_limit, plan, run};

struct Handler;

wasip2::http::proxy::export!(Handler);

impl wasip2::exports::http::incoming_handler::Guest for Handler {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = method_name(&request.method());
        let response = answer(&request, &method);
        send(response_out, &response, method == "HEAD");
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

fn answer(request: &IncomingRequest, method: &str) -> Response {
    let target = request.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target.as_str(), None),
    };
    let headers = request.headers();
    let header = |name: &str| headers.get(name).into_iter().next();
    match plan(method, path, query, &header) {
        Plan::Answer(response) => response,
        Plan::Run { query_pipeline } => match read_body(request) {
            Ok(input) => run(
                query_pipeline.as_deref(),
                header(kiln_http_api::paths::PIPELINE_HEADER).as_deref(),
                input,
            ),
            Err(e) => Response::error(&e),
        },
    }
}

/// The request body, refused as 413 once it passes the limit (a body without
/// `content-length`, or longer than it said).
fn read_body(request: &IncomingRequest) -> Result<Vec<u8>, kiln_http_api::ApiError> {
    let unreadable = |what: &str| kiln_kernel::Error::bad_input(format!("the request body could not be read: {what}"));
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
                Err(StreamError::LastOperationFailed(e)) => return Err(unreadable(&e.to_debug_string()).into()),
            };
            if limit.exceeded_by(input.len() + chunk.len()) {
                return Err(limit.too_large());
            }
            input.extend_from_slice(&chunk);
        }
    }
    IncomingBody::finish(body);
    Ok(input)
}

fn send(out: ResponseOutparam, response: &Response, head: bool) {
    let fields: Vec<(String, Vec<u8>)> = response
        .all_headers()
        .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec()))
        .collect();
    let headers = Fields::from_list(&fields).unwrap_or_else(|_| Fields::new());
    let outgoing = OutgoingResponse::new(headers);
    let _ = outgoing.set_status_code(response.status);
    let Ok(body) = outgoing.body() else {
        ResponseOutparam::set(out, Ok(outgoing));
        return;
    };
    ResponseOutparam::set(out, Ok(outgoing));
    if !head && !response.body.is_empty() {
        let Ok(mut stream) = body.write() else { return };
        // A client that went away: nothing more to do. (std's io::Write for the host's
        // stream writes as much as it takes at a time.)
        if std::io::Write::write_all(&mut stream, &response.body)
            .and_then(|()| std::io::Write::flush(&mut stream))
            .is_err()
        {
            return;
        }
    }
    let _ = OutgoingBody::finish(body, None);
}
