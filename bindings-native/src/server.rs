//! `kiln serve`: HTTP API v1 of DESIGN.md on tokio + axum.
//!
//! - `POST /v1/run` — body: input; pipeline in `?pipeline=` or the `kiln-pipeline`
//!   header. 200 with the output, its content type and a `kiln-meta` header; errors as
//!   `{"error": {"code", "message", "step", "param"}}` with the status of the code.
//! - `GET /v1/ops` — `describe()`; `GET /v1/openapi.json`; `GET /healthz` (alive);
//!   `GET /readyz` (ready: 503 while at capacity); `GET /metrics`.
//! - with an admin token: `/v1/admin/...` to swap the kernel and run a canary ([`admin`]).
//! - everything else: the built demo page (`www/dist`) when there is one.
//!
//! Every response names the kernel that served it in `kiln-kernel` (`version=…;
//! sha256=…`, plus `role=canary` for a canary's job); responses no job made name the
//! primary. The kernels live in [`Live`].
//!
//! Jobs run on blocking threads; a semaphore admits at most `max_jobs` at once. At most
//! `max_jobs + max_queue` requests are admitted in all (uploading, waiting for a slot or
//! running: this also bounds the memory held by request bodies). Past that the server
//! sheds load: 503 with `Retry-After` and the host-level code `busy`, without reading
//! more than a small body (drained so the connection stays usable; a larger one is
//! left unread, and hyper closes the connection after the answer).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kiln_kernel::Error;
use tokio::sync::Semaphore;
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::live::{Live, Role};
use crate::metrics::{Metrics, RequestLabels, RouteLabels};

mod admin;

/// The OpenAPI document of HTTP API v1, kept in the repo.
pub const OPENAPI: &str = include_str!("../../kernel/api/openapi.json");

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body.
    pub max_body: usize,
    /// Whole-request deadline (waiting for a slot included).
    pub request_timeout: Duration,
    /// The built demo page, served at `/`.
    pub www: Option<PathBuf>,
    /// Requests that may wait for a job slot; more are answered 503 `busy`.
    pub max_queue: usize,
    /// Enables `/v1/admin/...` for requests with `authorization: Bearer <token>`.
    pub admin_token: Option<String>,
}

/// The response header naming the kernel.
pub const KERNEL_HEADER: &str = "kiln-kernel";

struct App {
    live: Arc<Live>,
    slots: Arc<Semaphore>,
    /// Requests admitted (uploading, waiting for a slot or running): at most
    /// `max_jobs + max_queue`.
    admitted: Arc<Semaphore>,
    max_body: usize,
    metrics: Arc<Metrics>,
    admin_token: Option<String>,
}

/// Builds the router on the live kernels `live` (whose limits every job runs under).
pub fn router(live: Arc<Live>, metrics: Arc<Metrics>, config: &ServerConfig) -> anyhow::Result<Router> {
    let max_jobs = live.max_jobs();
    let app = Arc::new(App {
        slots: Arc::new(Semaphore::new(max_jobs)),
        admitted: Arc::new(Semaphore::new(
            (max_jobs + config.max_queue).min(Semaphore::MAX_PERMITS),
        )),
        // The body limit is the tighter of the server's and the jobs' input limit.
        max_body: config
            .max_body
            .min(usize::try_from(live.limits().max_input_bytes).unwrap_or(usize::MAX)),
        live,
        metrics,
        admin_token: config.admin_token.clone(),
    });
    let mut router = Router::new()
        .route("/v1/run", post(run))
        .route("/v1/ops", get(ops))
        .route("/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics));
    if app.admin_token.is_some() {
        router = router.merge(admin::routes(app.clone()));
    }
    router = match &config.www {
        Some(dir) if dir.join("index.html").is_file() => router.fallback_service(ServeDir::new(dir)),
        _ => router.fallback(no_page),
    };
    Ok(router
        // Outside the deadline, so 408s are counted and name the kernel too.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .layer(TraceLayer::new_for_http())
        .with_state(app))
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
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

#[derive(serde::Deserialize)]
struct RunQuery {
    pipeline: Option<String>,
}

/// A 200 with a JSON body.
fn json(value: serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

/// An error of the host (not of a job): `{"error": {"code", "message", "step": null}}`.
fn host_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message, "step": null } });
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error_response(e: &Error) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({ "error": e.to_json() }).to_string();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// 503 `busy`: every slot taken and the queue full.
fn busy() -> Response {
    let mut response = host_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the server is at capacity (every job slot taken, the wait queue full); retry shortly",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
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
                seen += f.data_ref().map_or(0, |d| d.len());
                if seen > max {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

async fn run(State(app): State<Arc<App>>, Query(query): Query<RunQuery>, headers: HeaderMap, body: Body) -> Response {
    let Ok(_admitted) = app.admitted.clone().try_acquire_owned() else {
        app.metrics.count_error("busy");
        // Undrained, the body is dropped and hyper closes the connection after the answer.
        if drainable(&headers, DRAIN_MAX) {
            drain(body, DRAIN_MAX).await;
        }
        return busy();
    };
    let input = match read_body(&headers, body, app.max_body).await {
        Ok(input) => input,
        Err(e) => {
            app.metrics.count_error(e.code.as_str());
            return error_response(&e);
        }
    };
    let (result, kernel) = run_job(&app, query, &headers, input).await;
    let mut response = match result {
        Ok(out) => {
            let mut response = Response::new(Body::from(out.data));
            let h = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&out.meta.content_type) {
                h.insert(header::CONTENT_TYPE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&out.meta.to_json()) {
                h.insert("kiln-meta", v);
            }
            response
        }
        Err(e) => {
            app.metrics.count_error(e.code.as_str());
            error_response(&e)
        }
    };
    if let Some(v) = kernel.and_then(|k| HeaderValue::from_str(&k).ok()) {
        response.headers_mut().insert(KERNEL_HEADER, v);
    }
    response
}

/// The request body, up to `max` bytes; a larger one is `too_large`, refused from its
/// `content-length` before a byte is read (a client that sent `Expect: 100-continue`
/// never sends it).
async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, Error> {
    let too_large = || Error::too_large(format!("request body exceeds the limit of {max} bytes"));
    if content_length(headers).is_some_and(|n| n > max as u64) {
        // Answer at once; read the upload meanwhile (bounded) so the client, still
        // sending, gets the 413 rather than a reset.
        if drainable(headers, LINGER_MAX) {
            tokio::spawn(tokio::time::timeout(LINGER, drain(body, LINGER_MAX)));
        }
        return Err(too_large());
    }
    axum::body::to_bytes(body, max).await.map_err(|e| {
        let over = std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| e.source())
            .any(|e| e.is::<http_body_util::LengthLimitError>());
        if over {
            too_large()
        } else {
            Error::bad_input(format!("the request body could not be read: {e}"))
        }
    })
}

/// Runs the job on the kernel picked for it; returns its `kiln-kernel` header value
/// when a kernel ran it.
async fn run_job(
    app: &Arc<App>,
    query: RunQuery,
    headers: &HeaderMap,
    input: Bytes,
) -> (Result<kiln_kernel::Output, Error>, Option<String>) {
    let pipeline = match pipeline(query, headers) {
        Ok(p) => p,
        Err(e) => return (Err(e), None),
    };
    let Ok(slot) = app.slots.clone().acquire_owned().await else {
        return (Err(Error::internal("job slots closed")), None);
    };
    // The kernel is picked once, here: the whole job runs on it, whatever swaps happen.
    let pick = app.live.pick();
    let label = match pick.role {
        Role::Primary => pick.loaded.label(),
        Role::Canary => format!("{}; role=canary", pick.loaded.label()),
    };
    let (live, metrics) = (app.live.clone(), app.metrics.clone());
    // The slot goes with the job: a request dropped by its deadline does not free it
    // while the job still runs, so at most `max_jobs` instances are ever in use.
    let job = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        metrics.in_flight.inc();
        let result = live.run(&pick, &pipeline, &input);
        metrics.in_flight.dec();
        result
    })
    .await;
    let result = job.unwrap_or_else(|e| Err(Error::internal(format!("job thread failed: {e}"))));
    (result, Some(label))
}

/// The pipeline of a request: `?pipeline=`, else the `kiln-pipeline` header.
fn pipeline(query: RunQuery, headers: &HeaderMap) -> Result<String, Error> {
    Ok(match (query.pipeline, headers.get("kiln-pipeline")) {
        (Some(p), _) => p,
        (None, Some(h)) => h
            .to_str()
            .map_err(|_| {
                Error::bad_pipeline("the kiln-pipeline header must be visible ASCII; use ?pipeline= for more")
            })?
            .to_owned(),
        (None, None) => {
            return Err(Error::bad_pipeline(
                "no pipeline: give ?pipeline= (URL-encoded) or the kiln-pipeline header",
            ));
        }
    })
}

async fn ops(State(app): State<Arc<App>>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], app.live.ops().to_string()).into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn healthz() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#).into_response()
}

/// Ready while a request would be admitted: 503 `busy` when every job slot and queue
/// place is taken, so a load balancer sends the next request elsewhere.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.admitted.available_permits() == 0 {
        return busy();
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
        let html = "<!doctype html><title>kiln</title><h1>kiln</h1><p>The demo page is not built \
                    (www/dist). The API is at <a href=\"/v1/ops\">/v1/ops</a>, \
                    <a href=\"/v1/openapi.json\">/v1/openapi.json</a>.</p>";
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
    } else {
        (StatusCode::NOT_FOUND, "not found\n").into_response()
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
