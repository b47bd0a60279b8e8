//! `kiln serve`: HTTP API v1 of DESIGN.md on tokio + axum. What the API is (paths,
//! request pipeline, body limits, errors and statuses, OpenAPI) is `kiln-http-api`'s;
//! this module is its I/O: admission, job slots, bodies, headers.
//!
//! - `POST /v1/run` — body: input; pipeline in `?pipeline=` or the `kiln-pipeline`
//!   header. 200 with the output, its content type and a `kiln-meta` header; errors as
//!   `{"error": {"code", "message", "step", "param"}}` with the status of the code.
//! - `POST /v1/check` — the pipeline's canonical JSON, checked by the primary kernel.
//! - `GET /v1/ops` — `describe()`; `GET /v1/openapi.json`; `GET /healthz` (alive);
//!   `GET /readyz` (ready: 503 while at capacity); `GET /metrics`.
//! - with an admin token: `/v1/admin/...` to swap the kernel and run a canary ([`admin`]).
//!   With `admin_apart`, `/metrics` and `/v1/admin/...` are on a second router only (for
//!   a listener of its own), with `/healthz` and `/readyz`.
//! - everything else: the built demo page (`www/dist`) when there is one.
//!
//! Every response names the kernel that served it in `kiln-kernel` (`version=…;
//! sha256=…`, plus `role=canary` for a canary's job); responses no job made name the
//! primary. The kernels live in [`Live`].
//!
//! Jobs run on blocking threads; a semaphore admits at most `max_jobs` at once. A body
//! is read before its request is admitted, within `body_timeout` (408 past it) and a
//! byte budget of `(max_jobs + max_queue) x max_body` for all bodies held at once, so
//! slow or idle uploads take no job slot and do not make the server unready. At most
//! `max_jobs + max_queue` requests whose body has arrived are admitted (waiting for a
//! slot or running). Past either bound the server sheds load: 503 with `Retry-After`
//! and the host-level code `busy`, without reading more than a small body (drained so
//! the connection stays usable; a larger one is left unread, and hyper closes the
//! connection after the answer).
//!
//! Uploads must also keep a minimum rate (`min_upload_rate` bytes/s after a grace of
//! [`UPLOAD_GRACE`]), so a trickling client holds its reservation for seconds, not the
//! whole body deadline.
//!
//! An output is held by its response until the client has taken it, within a budget of
//! `max_jobs x max_output_bytes` for all responses at once ([`Outputs`]). A response
//! whose client takes nothing for `send_timeout` is dropped with its connection
//! ([`conn`]); when an output does not fit the budget, responses stalled for
//! [`STALL_EVICT`] are dropped to make room, and if that is not enough within
//! [`OUTPUT_WAIT`] the job is answered 503 `busy`. A client that never reads pins
//! nothing for long, and cannot hold memory that valid jobs need.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Uri;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kiln_http_api::{self as api, ApiError, BodyLimit, paths};
use kiln_kernel::Error;
use tokio::sync::Semaphore;
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::live::{Live, Role};
use crate::metrics::{Metrics, RequestLabels, RouteLabels};

mod admin;
pub mod conn;
mod stream;

use conn::{Conn, Watch};

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body.
    pub max_body: usize,
    /// Whole-request deadline (waiting for a slot included).
    pub request_timeout: Duration,
    /// Deadline for receiving a request body, before the request is admitted.
    pub body_timeout: Duration,
    /// The built demo page, served at `/`.
    pub www: Option<PathBuf>,
    /// Requests that may wait for a job slot; more are answered 503 `busy`.
    pub max_queue: usize,
    /// Enables `/v1/admin/...` for requests with `authorization: Bearer <token>`.
    pub admin_token: Option<String>,
    /// A response whose client takes nothing for this long is dropped.
    pub send_timeout: Duration,
    /// Slowest upload accepted past [`UPLOAD_GRACE`], in bytes per second.
    pub min_upload_rate: u64,
    /// Serve `/metrics` and the admin API on a router of their own (a second
    /// listener), not on the public one.
    pub admin_apart: bool,
    /// The limits of a streamed job ([`kiln_kernel::Limits::streaming`] of the jobs').
    pub stream_limits: kiln_kernel::Limits,
}

/// The response header naming the kernel.
pub const KERNEL_HEADER: &str = "kiln-kernel";

struct App {
    live: Arc<Live>,
    /// The limits of a streamed job ([`kiln_kernel::Limits::streaming`]).
    stream_limits: kiln_kernel::Limits,
    request_timeout: Duration,
    slots: Arc<Semaphore>,
    /// Requests admitted (body received; waiting for a slot or running): at most
    /// `max_jobs + max_queue`.
    admitted: Arc<Semaphore>,
    /// KiB of request bodies held at once (uploading or admitted), reserved from the
    /// declared length before a byte is read: `(max_jobs + max_queue) x max_body`.
    body_budget: Arc<Semaphore>,
    /// KiB of the largest body (one full reservation).
    body_kib: u32,
    body_timeout: Duration,
    body_limit: BodyLimit,
    min_upload_rate: u64,
    outputs: Outputs,
    metrics: Arc<Metrics>,
    admin_token: Option<String>,
}

/// The routers of a server: the public one, and the admin one when the admin API and
/// `/metrics` are served apart ([`ServerConfig::admin_apart`]).
pub struct Routers {
    pub public: Router,
    pub admin: Option<Router>,
}

/// Builds the routers on the live kernels `live` (whose limits every job runs under).
pub fn router(live: Arc<Live>, metrics: Arc<Metrics>, config: &ServerConfig) -> anyhow::Result<Routers> {
    let max_jobs = live.max_jobs();
    let body_kib = u32::try_from(config.max_body.div_ceil(1024)).unwrap_or(u32::MAX).max(1);
    let app = Arc::new(App {
        slots: Arc::new(Semaphore::new(max_jobs)),
        admitted: Arc::new(Semaphore::new(
            (max_jobs + config.max_queue).min(Semaphore::MAX_PERMITS),
        )),
        body_budget: Arc::new(Semaphore::new(
            (max_jobs + config.max_queue)
                .saturating_mul(body_kib as usize)
                .min(Semaphore::MAX_PERMITS),
        )),
        body_kib,
        stream_limits: config.stream_limits,
        request_timeout: config.request_timeout,
        body_timeout: config.body_timeout,
        body_limit: BodyLimit::new(config.max_body, live.limits()),
        min_upload_rate: config.min_upload_rate.max(1),
        outputs: Outputs::new(
            (max_jobs as u64).saturating_mul(live.limits().max_output_bytes),
            metrics.clone(),
        ),
        live,
        metrics,
        admin_token: config.admin_token.clone(),
    });
    let mut router = Router::new()
        .route(paths::RUN, post(run))
        .route(paths::CHECK, post(check))
        .route(paths::OPS, get(ops))
        .route(paths::OPENAPI, get(openapi))
        .route(paths::HEALTHZ, get(healthz))
        .route(paths::READYZ, get(readyz));
    // `/metrics` and the admin API: on the public listener, or on their own.
    let mut private = Router::new().route(paths::METRICS, get(render_metrics));
    if app.admin_token.is_some() {
        private = private.merge(admin::routes(app.clone()));
    }
    let admin = if config.admin_apart {
        let admin = private
            .route(paths::HEALTHZ, get(healthz))
            .route(paths::READYZ, get(readyz))
            .fallback(|| async { (StatusCode::NOT_FOUND, api::NOT_FOUND) });
        Some(finish(admin, &app, config))
    } else {
        router = router.merge(private);
        None
    };
    router = match &config.www {
        Some(dir) if dir.join("index.html").is_file() => router.fallback_service(ServeDir::new(dir)),
        _ => router.fallback(no_page),
    };
    Ok(Routers {
        public: finish(router, &app, config),
        admin,
    })
}

/// The layers every route has: the request deadline, metrics, tracing.
fn finish(router: Router<Arc<App>>, app: &Arc<App>, config: &ServerConfig) -> Router {
    router
        // Outside the deadline, so 408s are counted and name the kernel too.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .layer(TraceLayer::new_for_http())
        .with_state(app.clone())
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: conn::WatchedListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<Conn>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing jobs in flight");
}

/// A 200 with a JSON body.
fn json(value: serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

/// An error of HTTP API v1: its status, JSON body and extra headers.
fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, e.body()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in e.headers() {
        h.insert(*name, HeaderValue::from_static(value));
    }
    response
}

/// A query of `/v1/run` or `/v1/check` that cannot be read: 400 as text, like a
/// rejected axum extractor.
fn rejected(api::QueryRejection(text): api::QueryRejection) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The most a shed request's body is drained: small bodies only, so shedding stays
/// cheap and quick.
const DRAIN_MAX: usize = 1 << 20;

/// The most of a too-large upload read after its 413, and for how long: enough that a
/// client still sending sees the answer instead of a reset, bounded so it costs little.
const LINGER_MAX: usize = 64 << 20;
const LINGER: Duration = Duration::from_secs(5);

/// Whether a body the server will not use should be drained: not when the client
/// awaits `Expect: 100-continue` (it has sent nothing) or announces more than `max`.
fn drainable(headers: &HeaderMap, max: usize) -> bool {
    let expects_continue = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    !expects_continue && content_length(headers).is_none_or(|n| n <= max as u64)
}

/// Reads and drops a body, up to `max` bytes, so an answer given without using it
/// reaches the client and the connection stays usable. Nothing is buffered; a larger
/// or broken body is left unread (hyper then closes the connection after the answer).
async fn drain(mut body: Body, max: usize) {
    use http_body_util::BodyExt;
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                seen += f.data_ref().map_or(0, Bytes::len);
                if seen > max {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    api::declared_length(headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()))
}

async fn run(
    State(app): State<Arc<App>>,
    ConnectInfo(Conn(conn)): ConnectInfo<Conn>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let query = match api::RunQuery::parse(uri.query(), false) {
        Ok(q) => q,
        Err(e) => return rejected(e),
    };
    let content_length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    // A chunked or long body of a pipeline that streams: through a session.
    let body = match request_pipeline(query.clone(), &headers) {
        Ok(pipeline) if api::stream::streams(content_length, app.stream_limits.max_input_bytes) => {
            match stream::run(&app, pipeline, body, &conn).await {
                stream::Streamed::Answer(mut response, kernel) => {
                    if let Ok(v) = HeaderValue::from_str(&kernel) {
                        response.headers_mut().insert(KERNEL_HEADER, v);
                    }
                    return response;
                }
                stream::Streamed::Whole(body) => body,
            }
        }
        _ => body,
    };
    // The body's KiB are reserved from its declared length (the whole limit when it has
    // none) and held as long as the body; one declared over the limit is not reserved
    // (`read_body` answers 413 at once).
    let _reserved = if app.body_limit.check_declared(content_length).is_ok() {
        let kib = api::declared_length(content_length).map_or(app.body_kib, |n| {
            u32::try_from(n.div_ceil(1024)).map_or(app.body_kib, |k| k.clamp(1, app.body_kib))
        });
        match app.body_budget.clone().try_acquire_many_owned(kib) {
            Ok(permits) => Some(permits),
            Err(_) => return shed(&app, &headers, body).await,
        }
    } else {
        None
    };
    let input = match read_body(&headers, body, app.body_limit, app.body_timeout, app.min_upload_rate).await {
        Ok(input) => input,
        Err(Unread::Api(e)) => {
            app.metrics.count_error(e.code());
            return error_response(&e);
        }
        Err(Unread::Slow) => return StatusCode::REQUEST_TIMEOUT.into_response(),
    };
    let Ok(_admitted) = app.admitted.clone().try_acquire_owned() else {
        app.metrics.count_error("busy");
        return error_response(&ApiError::busy());
    };
    let (result, kernel) = run_job(&app, query, &headers, input, &conn).await;
    let mut response = match result {
        Ok((data, meta)) => output_response(data, &meta),
        Err(e) => {
            app.metrics.count_error(e.code());
            error_response(&e)
        }
    };
    if let Some(v) = kernel.and_then(|k| HeaderValue::from_str(&k).ok()) {
        response.headers_mut().insert(KERNEL_HEADER, v);
    }
    response
}

/// 200 with an output: its content type and `kiln-meta`.
fn output_response(data: Bytes, meta: &kiln_kernel::Meta) -> Response {
    let mut response = Response::new(Body::from(data));
    let h = response.headers_mut();
    // A content type that is not a header value (from another kernel) is no type.
    let content_type =
        HeaderValue::from_str(&meta.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, content_type);
    if let Ok(v) = HeaderValue::from_str(&meta.to_json()) {
        h.insert(paths::META_HEADER, v);
    }
    response
}

/// 503 `busy`: the request is not admitted. A small body is drained first so the
/// connection stays usable; a larger one is dropped unread and hyper closes the
/// connection after the answer.
async fn shed(app: &App, headers: &HeaderMap, body: Body) -> Response {
    app.metrics.count_error("busy");
    if drainable(headers, DRAIN_MAX) {
        drain(body, DRAIN_MAX).await;
    }
    error_response(&ApiError::busy())
}

/// How long an upload may take before [`ServerConfig::min_upload_rate`] applies.
pub const UPLOAD_GRACE: Duration = Duration::from_secs(5);

/// Why a body was not read: an error of the API, or the client was too slow (408).
enum Unread {
    Api(ApiError),
    Slow,
}

impl From<ApiError> for Unread {
    fn from(e: ApiError) -> Unread {
        Unread::Api(e)
    }
}

/// The request body, within `limit`; a larger one is `too_large`, refused from its
/// `content-length` before a byte is read (a client that sent `Expect: 100-continue`
/// never sends it). Each part must arrive within `timeout` of the start and before the
/// time `min_rate` would have taken for the bytes received so far, after
/// [`UPLOAD_GRACE`]; otherwise the client is [`Unread::Slow`].
async fn read_body(
    headers: &HeaderMap,
    mut body: Body,
    limit: BodyLimit,
    timeout: Duration,
    min_rate: u64,
) -> Result<Bytes, Unread> {
    use http_body_util::BodyExt;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    if let Err(e) = limit.check_declared(declared) {
        // Answer at once; read the upload meanwhile (bounded) so the client, still
        // sending, gets the 413 rather than a reset.
        if drainable(headers, LINGER_MAX) {
            tokio::spawn(tokio::time::timeout(LINGER, drain(body, LINGER_MAX)));
        }
        return Err(e.into());
    }
    let started = tokio::time::Instant::now();
    let end = started + timeout;
    // Capacity from the declared length, which is within the limit.
    let capacity = api::declared_length(declared).map_or(0, |n| usize::try_from(n).unwrap_or(0));
    let mut input = Vec::with_capacity(capacity);
    loop {
        let earned = Duration::from_secs_f64(input.len() as f64 / min_rate as f64);
        let due = end.min(started + UPLOAD_GRACE + earned);
        let frame = match tokio::time::timeout_at(due, body.frame()).await {
            Err(_) => return Err(Unread::Slow),
            Ok(None) => return Ok(Bytes::from(input)),
            Ok(Some(Err(e))) => {
                return Err(
                    ApiError::from(Error::bad_input(format!("the request body could not be read: {e}"))).into(),
                );
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Some(data) = frame.data_ref() {
            if input.len() + data.len() > limit.0 {
                return Err(limit.too_large().into());
            }
            input.extend_from_slice(data);
        }
    }
}

/// Responses whose client has not stalled this long are never dropped to make room.
pub const STALL_EVICT: Duration = Duration::from_secs(1);

/// How long an output waits for room in the budget before its job is answered `busy`.
pub const OUTPUT_WAIT: Duration = Duration::from_secs(5);

/// The budget of output bytes held by responses (in KiB), and the connections holding
/// them, so stalled ones can be dropped to make room.
struct Outputs {
    kib: Arc<Semaphore>,
    holders: std::sync::Mutex<Vec<std::sync::Weak<Watch>>>,
    metrics: Arc<Metrics>,
}

/// An output and its share of the budget: both go when the last reference to the
/// bytes does, after hyper has written them (or dropped the connection).
struct Held {
    data: Vec<u8>,
    _kib: tokio::sync::OwnedSemaphorePermit,
    conn: Arc<Watch>,
    metrics: Arc<Metrics>,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.conn.holding.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        self.metrics.outputs_held.dec_by(self.data.len() as i64);
    }
}

impl Outputs {
    fn new(max_bytes: u64, metrics: Arc<Metrics>) -> Outputs {
        let kib = usize::try_from(max_bytes.div_ceil(1024)).unwrap_or(usize::MAX);
        Outputs {
            kib: Arc::new(Semaphore::new(kib.clamp(1, Semaphore::MAX_PERMITS))),
            holders: std::sync::Mutex::default(),
            metrics,
        }
    }

    /// `data` as a response body counted in the budget, held by the connection `conn`;
    /// `None` when no room was made within [`OUTPUT_WAIT`].
    async fn hold(&self, data: Vec<u8>, conn: &Arc<Watch>) -> Option<Bytes> {
        let need = u32::try_from(data.len().div_ceil(1024)).ok()?;
        let waited = tokio::time::Instant::now();
        let permit = loop {
            if let Ok(p) = self.kib.clone().try_acquire_many_owned(need) {
                break p;
            }
            self.drop_stalled();
            let left = OUTPUT_WAIT.saturating_sub(waited.elapsed());
            if left.is_zero() {
                return None;
            }
            // Woken as soon as enough is freed; tried again (with new stalls) after a
            // stall period.
            if let Ok(Ok(p)) =
                tokio::time::timeout(left.min(STALL_EVICT), self.kib.clone().acquire_many_owned(need)).await
            {
                break p;
            }
        };
        {
            let mut holders = self.holders.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            holders.retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Arc::as_ptr(conn)));
            holders.push(Arc::downgrade(conn));
        }
        self.metrics.outputs_held.inc_by(data.len() as i64);
        conn.holding.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(Bytes::from_owner(Held {
            data,
            _kib: permit,
            conn: conn.clone(),
            metrics: self.metrics.clone(),
        }))
    }

    /// Aborts the connections holding an output whose client has taken nothing (the
    /// socket has not taken a write) for [`STALL_EVICT`].
    fn drop_stalled(&self) {
        let holders = self.holders.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for watch in holders.iter().filter_map(std::sync::Weak::upgrade) {
            let holding = watch.holding.load(std::sync::atomic::Ordering::Relaxed) > 0;
            if holding && watch.stalled_for().is_some_and(|d| d >= STALL_EVICT) {
                watch.abort();
            }
        }
    }
}

/// Runs the job on the kernel picked for it; returns its `kiln-kernel` header value
/// when a kernel ran it.
async fn run_job(
    app: &Arc<App>,
    query: api::RunQuery,
    headers: &HeaderMap,
    input: Bytes,
    conn: &Arc<Watch>,
) -> (Result<(Bytes, kiln_kernel::Meta), ApiError>, Option<String>) {
    let pipeline = match request_pipeline(query, headers) {
        Ok(p) => p,
        Err(e) => return (Err(e), None),
    };
    let Ok(slot) = app.slots.clone().acquire_owned().await else {
        return (Err(Error::internal("job slots closed").into()), None);
    };
    // The kernel is picked once, here: the whole job runs on it, whatever swaps happen.
    let pick = app.live.pick();
    let label = match pick.role {
        Role::Primary => pick.loaded.label(),
        Role::Canary => format!("{}; role=canary", pick.loaded.label()),
    };
    let (live, metrics) = (app.live.clone(), app.metrics.clone());
    // The slot goes with the job: a request dropped by its deadline does not free it
    // while the job still runs, so at most `max_jobs` instances are ever in use. It
    // comes back with the output and is kept until the output has a place in the
    // budget, so at most `max_jobs` outputs wait for one.
    let job = tokio::task::spawn_blocking(move || {
        metrics.in_flight.inc();
        let result = live.run(&pick, &pipeline, &input);
        metrics.in_flight.dec();
        (result, slot)
    })
    .await;
    let result = match job {
        Err(e) => Err(Error::internal(format!("job thread failed: {e}")).into()),
        Ok((Err(e), _slot)) => Err(ApiError::from(e)),
        Ok((Ok(out), _slot)) => match app.outputs.hold(out.data, conn).await {
            Some(data) => Ok((data, out.meta)),
            None => Err(ApiError::busy()),
        },
    };
    (result, Some(label))
}

/// The pipeline of a request: `?pipeline=`, else the `kiln-pipeline` header.
fn request_pipeline(query: api::RunQuery, headers: &HeaderMap) -> Result<String, ApiError> {
    let header = headers.get(paths::PIPELINE_HEADER).map(HeaderValue::as_bytes);
    api::pipeline(query.pipeline.as_deref(), header)
}

/// `POST /v1/check`: the pipeline checked by the primary kernel (in a job slot, like a
/// job, since it runs in a sandbox instance). The body is not read.
async fn check(State(app): State<Arc<App>>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let query = match api::RunQuery::parse(uri.query(), false) {
        Ok(q) => q,
        Err(e) => return rejected(e),
    };
    let Ok(_admitted) = app.admitted.clone().try_acquire_owned() else {
        return shed(&app, &headers, body).await;
    };
    if drainable(&headers, DRAIN_MAX) {
        drain(body, DRAIN_MAX).await;
    }
    let result = match request_pipeline(query, &headers) {
        Err(e) => Err(e),
        Ok(pipeline) => match app.slots.clone().acquire_owned().await {
            Err(_) => Err(Error::internal("job slots closed").into()),
            Ok(slot) => {
                let kernel = app.live.primary();
                tokio::task::spawn_blocking(move || {
                    let _slot = slot;
                    kernel.kernel.check(&pipeline)
                })
                .await
                .unwrap_or_else(|e| Err(Error::internal(format!("job thread failed: {e}"))))
                .map_err(ApiError::from)
            }
        },
    };
    match result {
        Ok(canonical) => ([(header::CONTENT_TYPE, "application/json")], canonical).into_response(),
        Err(e) => {
            app.metrics.count_error(e.code());
            error_response(&e)
        }
    }
}

async fn ops(State(app): State<Arc<App>>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], app.live.ops().to_string()).into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], api::OPENAPI).into_response()
}

async fn healthz() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], api::HEALTHZ).into_response()
}

/// Ready while a request would be admitted: 503 `busy` when every job slot and queue
/// place is taken, so a load balancer sends the next request elsewhere.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    // Not ready when no request would be admitted, or the body budget could not take
    // one more body of the largest size (large uploads filling it); small idle uploads
    // do neither.
    if app.admitted.available_permits() == 0 || app.body_budget.available_permits() < app.body_kib as usize {
        return error_response(&ApiError::busy());
    }
    let primary = app.live.primary();
    let body = serde_json::json!({
        "status": "ready",
        "kernel": { "version": primary.version, "sha256": primary.sha256 },
    });
    json(body)
}

async fn render_metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        app.metrics.render(),
    )
        .into_response()
}

async fn no_page(request: Request) -> Response {
    if request.uri().path() == "/" {
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], api::HOME_HTML).into_response()
    } else {
        (StatusCode::NOT_FOUND, api::NOT_FOUND).into_response()
    }
}

/// Counts every request by route and status and times it; names the primary kernel in
/// responses that no job made.
async fn observe(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("static", |p| p.as_str())
        .to_owned();
    let started = Instant::now();
    let mut response = next.run(request).await;
    for (name, value) in api::RESPONSE_HEADERS {
        response.headers_mut().insert(name, HeaderValue::from_static(value));
    }
    if !response.headers().contains_key(KERNEL_HEADER)
        && let Ok(v) = HeaderValue::from_str(&app.live.primary().label())
    {
        response.headers_mut().insert(KERNEL_HEADER, v);
    }
    app.metrics
        .latency
        .get_or_create(&RouteLabels { route: route.clone() })
        .observe(started.elapsed().as_secs_f64());
    app.metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}
