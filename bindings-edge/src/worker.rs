//! The Worker: workers-rs glue around `kiln_http_api` and [`crate::proxy`]. Only built for
//! wasm32 (worker-build); every decision it makes lives in those host-tested modules.

use std::rc::Rc;

use futures_util::StreamExt;
use worker::web_sys::ReadableStream;
use worker::{
    ByteStream, Cache, Context, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Response,
    ResponseBody, ResponseBuilder, event,
};

use crate::proxy::{self, AllowList};
use crate::stream;
use kiln_http_api::{self as api, ApiError, BodyLimit, HostCode, Route, profiles};

/// Requests this instance has served: reset only by a new isolate, so the tests can tell
/// that one isolate lived through a hostile corpus (`GET /_kiln/memory`, debug only).
static SERVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    SERVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut response = match handle(req, &env).await {
        Ok(response) => response,
        // A JS exception inside the runtime glue: report it like any other bug.
        Err(e) => error(&kiln_kernel::Error::internal(format!("worker: {e}")).into())?,
    };
    for (name, value) in api::RESPONSE_HEADERS {
        response.headers_mut().set(name, value)?;
    }
    Ok(response)
}

fn var(env: &Env, name: &str) -> String {
    env.var(name).map(|v| v.to_string()).unwrap_or_default()
}

async fn handle(mut req: Request, env: &Env) -> worker::Result<Response> {
    let url = req.url()?;
    let method = req.inner().method();
    let query = match api::RunQuery::parse(url.query(), true) {
        Ok(q) => q,
        // The query rejection of kiln serve, byte for byte (only POST /v1/run and
        // /v1/check read a query).
        Err(api::QueryRejection(text))
            if matches!(url.path(), api::paths::RUN | api::paths::CHECK) && method == "POST" =>
        {
            return text_response(400, "text/plain; charset=utf-8", text.into_bytes());
        }
        Err(_) => api::RunQuery::default(),
    };
    let debug = var(env, "KILN_DEBUG") == "1";
    match api::route(&method, url.path(), query.src.is_some(), debug) {
        Route::Run => {
            let pipeline = match request_pipeline(&req, query.pipeline) {
                Ok(p) => p,
                Err(e) => return error(&e),
            };
            let length = req.headers().get("content-length").ok().flatten();
            // A chunked or long body of a pipeline that streams: through a session.
            if let Some(session) = api::stream::streams(length.as_deref(), stream::limits().max_input_bytes)
                .then(|| stream::open(&pipeline))
                .flatten()
            {
                return stream::run(session, &mut req).await;
            }
            match run(&mut req, &pipeline, length.as_deref()).await {
                Ok(out) => output(out),
                Err(e) => error(&e),
            }
        }
        Route::Check => match check(&req, query.pipeline) {
            Ok(canonical) => text_response(200, "application/json", canonical.into_bytes()),
            Err(e) => error(&e),
        },
        Route::Proxy => proxy(&req, &url, query, env).await,
        Route::Ops => text_response(
            200,
            "application/json",
            kiln_kernel::describe_with_limits(&profiles::worker()).into_bytes(),
        ),
        Route::OpenApi => text_response(200, "application/json", api::OPENAPI.as_bytes().to_vec()),
        Route::Healthz => text_response(200, "application/json", api::HEALTHZ.as_bytes().to_vec()),
        Route::Home => text_response(200, "text/html; charset=utf-8", api::HOME_HTML.as_bytes().to_vec()),
        Route::Memory => text_response(
            200,
            "application/json",
            format!(
                "{{\"wasm_memory_bytes\":{},\"requests_served\":{}}}",
                wasm_memory_bytes(),
                SERVED.load(std::sync::atomic::Ordering::Relaxed)
            )
            .into_bytes(),
        ),
        Route::NotFound => text_response(404, "text/plain; charset=utf-8", api::NOT_FOUND.as_bytes().to_vec()),
        Route::MethodNotAllowed(allow) => {
            let headers = Headers::new();
            headers.set("allow", allow)?;
            Ok(ResponseBuilder::new().with_status(405).with_headers(headers).empty())
        }
    }
}

/// Linear memory size: it only grows, so this is the high-water mark of this isolate.
fn wasm_memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * 65_536
}

/// The pipeline of a request: `?pipeline=`, else the `kiln-pipeline` header.
fn request_pipeline(req: &Request, query_pipeline: Option<String>) -> Result<String, ApiError> {
    let header = req.headers().get(api::paths::PIPELINE_HEADER).ok().flatten();
    api::pipeline(query_pipeline.as_deref(), header.as_deref().map(str::as_bytes))
}

/// The Worker's body limit.
fn body_limit() -> BodyLimit {
    BodyLimit::new(profiles::WORKER_MAX_BODY, &profiles::worker())
}

/// `POST /v1/check`: the canonical pipeline, or why not.
fn check(req: &Request, query_pipeline: Option<String>) -> Result<String, ApiError> {
    let pipeline = request_pipeline(req, query_pipeline)?;
    Ok(kiln_kernel::check(&pipeline)?)
}

/// `POST /v1/run` on the whole body, in `kiln serve`'s order of checks: pipeline (read
/// by the caller), declared `length`, body.
async fn run(req: &mut Request, pipeline: &str, length: Option<&str>) -> Result<kiln_kernel::Output, ApiError> {
    if let Err(e) = body_limit().check_declared(length) {
        let declared = api::declared_length(length).unwrap_or(u64::MAX);
        if declared <= LINGER_MAX as u64
            && let Ok(stream) = req.stream()
        {
            drain(stream, LINGER_MAX).await;
        }
        return Err(e);
    }
    let input = match req.inner().body() {
        None => Vec::new(),
        Some(_) => {
            let stream = req
                .stream()
                .map_err(|e| kiln_kernel::Error::internal(format!("request body: {e}")))?;
            let limit = body_limit();
            read_capped(stream, length, limit).await.map_err(|e| match e {
                Some(message) => ApiError::from(kiln_kernel::Error::internal(message)),
                None => limit.too_large(),
            })?
        }
    };
    Ok(kiln_kernel::run_with_limits(pipeline, input, &profiles::worker())?)
}

/// Reads a body of at most `limit` bytes: `Err(None)` past it, `Err(Some(why))` when
/// the stream fails. `length` (a declared content-length) sizes the buffer once: growing
/// by doubling would raise the wasm memory high-water mark by up to twice the body.
async fn read_capped(
    mut stream: ByteStream,
    length: Option<&str>,
    limit: BodyLimit,
) -> Result<Vec<u8>, Option<String>> {
    let hint = length.and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(0);
    let mut data = Vec::with_capacity(hint.min(limit.0));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Some(format!("reading a body: {e}")))?;
        if limit.exceeded_by(data.len() + chunk.len()) {
            drain(stream, LINGER_MAX).await;
            return Err(None);
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// The most of a too-large body read (and dropped) before its 413, as `kiln serve`
/// reads after it: workerd resets the connection of a client still sending a body its
/// answer came before, and the client then sees a failed request, not the 413.
const LINGER_MAX: usize = 64 << 20;

/// Reads and drops up to `max` bytes of what is left of `stream`.
async fn drain(mut stream: ByteStream, max: usize) {
    let mut left = max;
    while let Some(Ok(chunk)) = stream.next().await {
        left = left.saturating_sub(chunk.len());
        if left == 0 {
            return;
        }
    }
}

/// Bytes copied from wasm memory to JS at a time when an output is sent.
pub(crate) const OUTPUT_CHUNK: usize = 64 << 10;

/// A job's answer. The output leaves wasm memory a chunk at a time as the client takes
/// it: the JS heap never holds a whole copy of it, which is what lets a job hold
/// `profiles::WORKER_MAX_MEMORY` of wasm memory in a 128 MB isolate.
pub(crate) fn output(out: kiln_kernel::Output) -> worker::Result<Response> {
    output_parts(vec![out.data], &out.meta)
}

/// [`output`] of an output in parts (a streamed job's pieces, never joined).
pub(crate) fn output_parts(parts: Vec<Vec<u8>>, meta: &kiln_kernel::Meta) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", &meta.content_type)?;
    headers.set(api::paths::META_HEADER, &meta.to_json())?;
    Ok(ResponseBuilder::new()
        .with_headers(headers)
        .stream(chunked(Rc::new(parts))))
}

/// A body read out of `parts` (one output, in one or more pieces) in wasm memory at most
/// [`OUTPUT_CHUNK`] bytes at a time (a `FixedLengthStream`, so `content-length` is still
/// set). Several bodies can share one output (the proxy's cache entry and its answer)
/// without copying it.
fn chunked(parts: Rc<Vec<Vec<u8>>>) -> ReadableStream {
    let length = parts.iter().map(|p| p.len() as u64).sum();
    let (mut part, mut at) = (0, 0);
    let pieces = std::iter::from_fn(move || {
        while parts.get(part).is_some_and(|p| at == p.len()) {
            (part, at) = (part + 1, 0);
        }
        let data = parts.get(part)?;
        let end = data.len().min(at + OUTPUT_CHUNK);
        let piece = data[at..end].to_vec();
        at = end;
        Some(Ok(piece))
    });
    let stream = futures_util::stream::iter(pieces);
    let fixed: worker::worker_sys::FixedLengthStream = worker::FixedLengthStream::wrap(stream, length).into();
    fixed.readable()
}

fn text_response(status: u16, content_type: &str, body: Vec<u8>) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", content_type)?;
    Ok(ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(body))
}

pub(crate) fn error(e: &ApiError) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    for (name, value) in e.headers() {
        headers.set(name, value)?;
    }
    Ok(ResponseBuilder::new()
        .with_status(e.status())
        .with_headers(headers)
        .fixed(e.body().into_bytes()))
}

/// `GET /v1/run?src=...`: check everything, answer from the cache when we can, else
/// fetch (manual redirects, each hop re-checked), run, cache, answer.
async fn proxy(req: &Request, url: &worker::Url, query: api::RunQuery, env: &Env) -> worker::Result<Response> {
    // The URL is the cache key and what `cache-control` is about: the pipeline must be
    // in it, not in a header.
    let Some(pipeline) = query.pipeline.clone() else {
        let e = kiln_kernel::Error::bad_pipeline(
            "a proxied request (GET ?src=) takes its pipeline in ?pipeline=, not the kiln-pipeline header: the URL is the cache key",
        );
        return error(&e.into());
    };
    // A bad pipeline is refused before anything is fetched; the cache key holds its
    // canonical form, so two spellings of one pipeline share an entry.
    let canonical = match kiln_kernel::check(&pipeline) {
        Ok(c) => c,
        Err(e) => return error(&e.into()),
    };
    let allow = AllowList::parse(&var(env, "KILN_ALLOWED_ORIGINS"));
    let src = match proxy::check_src(query.src.as_deref().unwrap_or_default(), &allow) {
        Ok(src) => src,
        Err(e) => return error(&e),
    };
    let if_none_match = req.headers().get("if-none-match").ok().flatten();
    let cache = Cache::default();
    let key = proxy::cache_key(&url.origin().ascii_serialization(), &src, &canonical);

    if let Some(hit) = cache.get(key.as_str(), false).await? {
        // The cached body passes through as it is (a stream): never copied whole.
        let body = match hit.body() {
            ResponseBody::Stream(stream) => ResponseBody::Stream(stream.clone()),
            ResponseBody::Body(bytes) => ResponseBody::Body(bytes.clone()),
            ResponseBody::Empty => ResponseBody::Empty,
        };
        return answer(hit.headers(), body, "hit", if_none_match.as_deref());
    }

    let (source, origin_cc) = match fetch_source(src, &allow).await? {
        Ok(found) => found,
        Err(e) => return error(&e),
    };
    // Owned: the kernel drops (or reuses) the source as it goes.
    let out = match kiln_kernel::run_with_limits(&pipeline, source, &profiles::worker()) {
        Ok(out) => out,
        Err(e) => return error(&e.into()),
    };
    let (cache_control, storable) = proxy::cache_control(origin_cc.as_deref());
    let headers = Headers::new();
    headers.set("content-type", &out.meta.content_type)?;
    headers.set(api::paths::META_HEADER, &out.meta.to_json())?;
    headers.set("etag", &proxy::etag(&out.data))?;
    headers.set("cache-control", &cache_control)?;
    // The cache entry and the answer each read the one output in wasm memory a chunk at
    // a time.
    let data = Rc::new(vec![out.data]);
    if storable {
        let stored = ResponseBuilder::new()
            .with_headers(clone_headers(&headers)?)
            .stream(chunked(Rc::clone(&data)));
        cache.put(key.as_str(), stored).await?;
    }
    answer(
        &headers,
        ResponseBody::Stream(chunked(data)),
        "miss",
        if_none_match.as_deref(),
    )
}

fn clone_headers(headers: &Headers) -> worker::Result<Headers> {
    let copy = Headers::new();
    for (k, v) in headers.entries() {
        copy.set(&k, &v)?;
    }
    Ok(copy)
}

/// The proxy's answer (200, or 304 for a matching If-None-Match), with `kiln-cache`.
fn answer(
    stored: &Headers,
    body: ResponseBody,
    cache_status: &str,
    if_none_match: Option<&str>,
) -> worker::Result<Response> {
    let headers = Headers::new();
    for name in ["content-type", "kiln-meta", "etag", "cache-control"] {
        if let Some(v) = stored.get(name)? {
            headers.set(name, &v)?;
        }
    }
    headers.set("kiln-cache", cache_status)?;
    let etag = stored.get("etag")?.unwrap_or_default();
    if proxy::not_modified(if_none_match, &etag) {
        headers.delete("content-type")?;
        headers.delete("kiln-meta")?;
        return Ok(ResponseBuilder::new().with_status(304).with_headers(headers).empty());
    }
    Ok(ResponseBuilder::new().with_headers(headers).body(body))
}

type Source = (Vec<u8>, Option<String>);

/// Fetches the source: `Ok(Err(..))` is a refusal for the client, `Err` a runtime failure.
async fn fetch_source(mut at: worker::Url, allow: &AllowList) -> worker::Result<Result<Source, ApiError>> {
    for _ in 0..=proxy::MAX_REDIRECTS {
        let mut init = RequestInit::new();
        init.with_method(Method::Get).with_redirect(RequestRedirect::Manual);
        let request = Request::new_with_init(at.as_str(), &init)?;
        let mut response = match Fetch::Request(request).send().await {
            Ok(r) => r,
            Err(e) => {
                return Ok(Err(proxy::proxy_error(
                    HostCode::BadGateway,
                    format!("fetching the source failed: {e}"),
                )));
            }
        };
        let status = response.status_code();
        if (300..400).contains(&status) && status != 304 {
            let location = response.headers().get("location")?;
            at = match proxy::follow(&at, location.as_deref(), allow) {
                Ok(next) => next,
                Err(e) => return Ok(Err(e)),
            };
            continue;
        }
        if !(200..300).contains(&status) {
            return Ok(Err(proxy::proxy_error(
                HostCode::BadGateway,
                format!("origin answered {status}"),
            )));
        }
        let length = response.headers().get("content-length")?;
        if body_limit().check_declared(length.as_deref()).is_err() {
            return Ok(Err(proxy::source_too_large()));
        }
        let cache_control = response.headers().get("cache-control")?;
        let data = match response.stream() {
            Ok(stream) => match read_capped(stream, length.as_deref(), body_limit()).await {
                Ok(d) => d,
                Err(None) => return Ok(Err(proxy::source_too_large())),
                Err(Some(why)) => return Ok(Err(proxy::proxy_error(HostCode::BadGateway, why))),
            },
            // A body the runtime already holds (or none).
            Err(_) => response.bytes().await?,
        };
        return Ok(Ok((data, cache_control)));
    }
    Ok(Err(proxy::proxy_error(
        HostCode::BadGateway,
        format!("more than {} redirects", proxy::MAX_REDIRECTS),
    )))
}
