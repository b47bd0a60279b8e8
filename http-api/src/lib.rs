//! # kiln-http-api
//!
//! HTTP API v1 (DESIGN.md, "HTTP API v1") as data and pure functions, owned once for
//! every host: paths and routing, the pipeline of a request (query or header), body-limit
//! decisions, the one error type ([`ApiError`]: a kernel error or a host error, each
//! code with one status and one JSON body), the limit profiles of each host, and the
//! OpenAPI document. `kiln serve` (axum) and the Worker (workers-rs) keep only their
//! I/O glue and call this crate; it depends on no HTTP server, no `worker`, no wasmtime.

#![warn(missing_docs)]

use kiln_kernel::{Error, Limits};

/// The OpenAPI document of HTTP API v1.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The paths of HTTP API v1.
pub mod paths {
    /// `POST`: run a pipeline on the body. The Worker also answers `GET ?src=` (proxy).
    pub const RUN: &str = "/v1/run";
    /// `POST`: check a pipeline without running it.
    pub const CHECK: &str = "/v1/check";
    /// `GET`: `describe()`.
    pub const OPS: &str = "/v1/ops";
    /// `GET`: the OpenAPI document.
    pub const OPENAPI: &str = "/v1/openapi.json";
    /// `GET`: alive.
    pub const HEALTHZ: &str = "/healthz";
    /// `GET`: ready to take a job (`kiln serve` only).
    pub const READYZ: &str = "/readyz";
    /// `GET`: Prometheus metrics (`kiln serve` only).
    pub const METRICS: &str = "/metrics";
    /// The request header that may carry the pipeline.
    pub const PIPELINE_HEADER: &str = "kiln-pipeline";
    /// The response header with the output's meta JSON.
    pub const META_HEADER: &str = "kiln-meta";
}

/// Headers on every response of every host: `nosniff`, so a browser never renders an
/// output (an SVG, HTML inside a "CSV") as something other than its content type.
pub const RESPONSE_HEADERS: [(&str, &str); 1] = [("x-content-type-options", "nosniff")];

/// `GET /healthz`.
pub const HEALTHZ: &str = r#"{"status":"ok"}"#;

/// `/` when there is no demo page (always on the Worker).
pub const HOME_HTML: &str = "<!doctype html><title>kiln</title><h1>kiln</h1><p>The demo page is not built \
                             (www/dist). The API is at <a href=\"/v1/ops\">/v1/ops</a>, \
                             <a href=\"/v1/openapi.json\">/v1/openapi.json</a>.</p>";

/// Every other path.
pub const NOT_FOUND: &str = "not found\n";

/// The limit profiles of the hosts.
pub mod profiles {
    use kiln_kernel::Limits;

    /// `kiln serve` and the CLI: the kernel's server defaults with `max_input_mib` in,
    /// `max_output_mib` out and 7/8 of `job_memory_mib` (a sandbox's linear memory) held
    /// at once: the rest is for the kernel's own data, stack and allocator slack, so a
    /// job the model admits does not hit the sandbox's cap.
    pub fn server(max_input_mib: u64, max_output_mib: u64, job_memory_mib: u64) -> Limits {
        Limits {
            max_input_bytes: max_input_mib << 20,
            max_output_bytes: max_output_mib << 20,
            max_memory_bytes: (job_memory_mib << 20) / 8 * 7,
            ..Limits::default()
        }
    }

    /// Largest request body on the Worker (and largest proxied source): 16 MiB.
    pub const WORKER_MAX_BODY: usize = 16 << 20;

    /// The limits every job runs under in a Worker, sized so that one job fits a 128 MB
    /// isolate next to the JS heap and the request/response copies:
    ///
    /// - 16 MiB in (the body is held by JS and copied once into wasm memory);
    /// - 12 Mi pixels per image (4096 x 3072: 12 MP photos from phones and cameras,
    ///   48 MiB as RGBA8);
    /// - 32 MiB out and 32 MiB decompressed;
    /// - 1 million rows and 4096 columns per table; JSON 128 deep (the default);
    /// - 88 MiB held at once by a job (the memory model's estimate, checked before each
    ///   step allocates), so wasm memory stays within 96 MiB with the kernel's static
    ///   data, stack and allocator slack; the other 32 MiB are the JS heap, the bundle's
    ///   code and the output on its way out, which leaves wasm memory in 64 KiB chunks
    ///   (`POST /v1/run`; the image proxy still copies its answer whole: DESIGN.md,
    ///   "Memory").
    ///
    /// `kiln serve --max-input-mib 16` gives the same input limit; the other fields are
    /// the kernel's server defaults there, so `GET /v1/ops` differs in `limits` only.
    pub fn worker() -> Limits {
        Limits {
            max_input_bytes: WORKER_MAX_BODY as u64,
            max_output_bytes: 32 << 20,
            max_pixels: 12 << 20,
            max_dimension: 16_384,
            max_decompressed_bytes: 32 << 20,
            max_rows: 1_000_000,
            max_columns: 4096,
            max_json_depth: 128,
            max_memory_bytes: WORKER_MAX_MEMORY,
        }
    }

    /// The wasm memory one job may hold in a Worker (see [`worker`]).
    pub const WORKER_MAX_MEMORY: u64 = 88 << 20;
}

/// `POST /v1/run` through a streaming session (DESIGN.md, "HTTP API v1", "Streamed
/// requests"): when, in what pieces, and how a response started before the end says an
/// error.
pub mod stream {
    use super::ApiError;

    /// A request whose pipeline streams goes through a session unless its
    /// `content-length` is at most this; and its output is held until it passes this, so
    /// a job that ends first is answered exactly as `run` would answer it.
    pub const WINDOW: usize = 1 << 20;

    /// The most bytes pushed into a session at once: the size fflate and the WHATWG
    /// streams use, so one push's output stays bounded (DESIGN.md, "Chunks and
    /// backpressure").
    pub const CHUNK: usize = 64 << 10;

    /// Whether a request whose pipeline streams, with this `content-length` header, goes
    /// through a session whose input limit is `max_input`: no length (a chunked body), or
    /// one past [`WINDOW`] and within `max_input` (a longer one is refused unread, as a
    /// whole body over the limit is).
    pub fn streams(content_length: Option<&str>, max_input: u64) -> bool {
        super::declared_length(content_length).is_none_or(|n| n > WINDOW as u64 && n <= max_input)
    }

    /// What a response started before the end writes when the job then fails, before
    /// its body is cut short (ended without its last chunk, so no client takes it for a
    /// whole output): for NDJSON, a last line with the error's JSON body
    /// (`{"error": {...}}`), which a reader of lines sees; for any other output, nothing.
    pub fn error_tail(content_type: &str, e: &ApiError) -> Option<Vec<u8>> {
        (content_type == "application/x-ndjson").then(|| format!("{}\n", e.body()).into_bytes())
    }
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/run`.
    Run,
    /// `POST /v1/check`.
    Check,
    /// `GET /v1/run?src=...`: the Worker's image proxy.
    Proxy,
    /// `GET /v1/ops`.
    Ops,
    /// `GET /v1/openapi.json`.
    OpenApi,
    /// `GET /healthz`.
    Healthz,
    /// `/` (any method, like `kiln serve`'s fallback).
    Home,
    /// A known path with another method: 405 with `allow`.
    MethodNotAllowed(&'static str),
    /// `GET /_kiln/memory`: wasm memory high-water mark and requests served by this
    /// isolate, only with `KILN_DEBUG = "1"` (the Worker).
    Memory,
    /// Any other path: 404.
    NotFound,
}

/// Routes the Worker's requests like `kiln serve`'s axum router: exact paths, GET routes
/// answer HEAD too, a known path with another method is 405. `has_src`: the query has
/// `src`. (`kiln serve` registers the same [`paths`] with axum, plus `/readyz`,
/// `/metrics` and the admin API, which the Worker does not have.)
pub fn route(method: &str, path: &str, has_src: bool, debug: bool) -> Route {
    let get = method == "GET" || method == "HEAD";
    match path {
        paths::RUN if method == "POST" => Route::Run,
        paths::RUN if get && has_src => Route::Proxy,
        paths::RUN | paths::CHECK if method != "POST" => Route::MethodNotAllowed("POST"),
        paths::CHECK => Route::Check,
        paths::OPS if get => Route::Ops,
        paths::OPENAPI if get => Route::OpenApi,
        paths::HEALTHZ if get => Route::Healthz,
        paths::OPS | paths::OPENAPI | paths::HEALTHZ => Route::MethodNotAllowed("GET,HEAD"),
        "/_kiln/memory" if debug && get => Route::Memory,
        "/" => Route::Home,
        _ => Route::NotFound,
    }
}

/// The query parameters of `/v1/run` and `/v1/check`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunQuery {
    /// `?pipeline=`.
    pub pipeline: Option<String>,
    /// `?src=` (the Worker's image proxy).
    pub src: Option<String>,
}

/// A query that cannot be read: answered `400` as `text/plain; charset=utf-8` with this
/// text (what axum's `Query` extractor answered before this crate owned the parsing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRejection(pub String);

impl RunQuery {
    /// Parses `application/x-www-form-urlencoded` pairs (`+` is a space) as
    /// serde_urlencoded does: unknown keys ignored, a repeated known key rejected.
    /// `src` is a known key only on a host with the image proxy (`with_src`); elsewhere
    /// it is ignored like any unknown key.
    pub fn parse(query: Option<&str>, with_src: bool) -> Result<RunQuery, QueryRejection> {
        let mut q = RunQuery::default();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let slot = match k.as_ref() {
                "pipeline" => &mut q.pipeline,
                "src" if with_src => &mut q.src,
                _ => continue,
            };
            if slot.is_some() {
                return Err(QueryRejection(format!(
                    "Failed to deserialize query string: duplicate field `{k}`"
                )));
            }
            *slot = Some(v.into_owned());
        }
        Ok(q)
    }
}

/// The pipeline of a request: `?pipeline=` first, else the `kiln-pipeline` header (its
/// raw bytes: visible ASCII and tab only).
pub fn pipeline(query: Option<&str>, header: Option<&[u8]>) -> Result<String, ApiError> {
    match (query, header) {
        (Some(p), _) => Ok(p.to_owned()),
        (None, Some(h)) if h.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b)) => {
            Ok(String::from_utf8_lossy(h).into_owned())
        }
        (None, Some(_)) => {
            Err(Error::bad_pipeline("the kiln-pipeline header must be visible ASCII; use ?pipeline= for more").into())
        }
        (None, None) => {
            Err(Error::bad_pipeline("no pipeline: give ?pipeline= (URL-encoded) or the kiln-pipeline header").into())
        }
    }
}

/// A `content-length` header's value as a number (`None` when absent or not a number).
pub fn declared_length(content_length: Option<&str>) -> Option<u64> {
    content_length.and_then(|v| v.trim().parse().ok())
}

/// The request body limit of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

impl BodyLimit {
    /// The tighter of a host's body limit and its jobs' input limit.
    pub fn new(max_body: usize, limits: &Limits) -> BodyLimit {
        BodyLimit(max_body.min(usize::try_from(limits.max_input_bytes).unwrap_or(usize::MAX)))
    }

    /// `too_large`, decided from a declared `content-length` before a byte is read.
    pub fn check_declared(self, content_length: Option<&str>) -> Result<(), ApiError> {
        match declared_length(content_length) {
            Some(len) if len > self.0 as u64 => Err(self.too_large()),
            _ => Ok(()),
        }
    }

    /// Whether `bytes` read so far are past the limit.
    pub fn exceeded_by(self, bytes: usize) -> bool {
        bytes > self.0
    }

    /// The error of a body over the limit.
    pub fn too_large(self) -> ApiError {
        Error::too_large(format!("request body exceeds the limit of {} bytes", self.0)).into()
    }
}

/// The codes only a host gives (never the kernel), each with its one status. With the
/// kernel's codes ([`kiln_kernel::ErrorCode`]) this is every code of HTTP API v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCode {
    /// 400 `bad_request`: a malformed admin API request (`kiln serve`).
    BadRequest,
    /// 401 `unauthorized`: the admin API without the admin token (`kiln serve`).
    Unauthorized,
    /// 403 `forbidden`: a proxy source whose origin is not allowed (Worker).
    Forbidden,
    /// 403 `untrusted`: a kernel not signed by a trusted key (`kiln serve` admin API).
    Untrusted,
    /// 404 `not_found`: no such admin resource (no canary running).
    NotFound,
    /// 409 `unsupported`: an uploaded kernel of another world or version; the same code
    /// as the kernel's 415, but the upload conflicts with the server, not the request.
    KernelUnsupported,
    /// 422 `bad_input`: an uploaded kernel that is not a valid component.
    KernelInvalid,
    /// 500 `internal`: a host failure around a job (a lost worker thread).
    Internal,
    /// 502 `bad_gateway`: the proxy's origin failed or redirected badly (Worker).
    BadGateway,
    /// 503 `busy`: every job slot and queue place taken; retry (`kiln serve`).
    Busy,
}

impl HostCode {
    /// Every host code, in the order of DESIGN.md's table.
    pub const ALL: [HostCode; 10] = [
        HostCode::BadRequest,
        HostCode::Unauthorized,
        HostCode::Forbidden,
        HostCode::Untrusted,
        HostCode::NotFound,
        HostCode::KernelUnsupported,
        HostCode::KernelInvalid,
        HostCode::Internal,
        HostCode::BadGateway,
        HostCode::Busy,
    ];

    /// The code in JSON bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            HostCode::BadRequest => "bad_request",
            HostCode::Unauthorized => "unauthorized",
            HostCode::Forbidden => "forbidden",
            HostCode::Untrusted => "untrusted",
            HostCode::NotFound => "not_found",
            HostCode::KernelUnsupported => "unsupported",
            HostCode::KernelInvalid => "bad_input",
            HostCode::Internal => "internal",
            HostCode::BadGateway => "bad_gateway",
            HostCode::Busy => "busy",
        }
    }

    /// The HTTP status.
    pub fn http_status(self) -> u16 {
        match self {
            HostCode::BadRequest => 400,
            HostCode::Unauthorized => 401,
            HostCode::Forbidden | HostCode::Untrusted => 403,
            HostCode::NotFound => 404,
            HostCode::KernelUnsupported => 409,
            HostCode::KernelInvalid => 422,
            HostCode::Internal => 500,
            HostCode::BadGateway => 502,
            HostCode::Busy => 503,
        }
    }
}

/// An error of HTTP API v1: a kernel's (a job's, or a request's judged by the kernel's
/// rules) or a host's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// A kernel error: its code's status; body `{"error": {"code", "message", "step", "param"}}`.
    Kernel(Error),
    /// A host error: body `{"error": {"code", "message", "step": null}}`, plus `"param"`
    /// when one is at fault.
    Host {
        /// The code.
        code: HostCode,
        /// What went wrong, for people.
        message: String,
        /// The parameter at fault, if any.
        param: Option<&'static str>,
    },
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError::Kernel(e)
    }
}

impl ApiError {
    /// A host error.
    pub fn host(code: HostCode, message: impl Into<String>) -> ApiError {
        ApiError::Host {
            code,
            message: message.into(),
            param: None,
        }
    }

    /// 503 `busy`.
    pub fn busy() -> ApiError {
        ApiError::host(
            HostCode::Busy,
            "the server is at capacity (every job slot taken, the wait queue full); retry shortly",
        )
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Kernel(e) => e.code.as_str(),
            ApiError::Host { code, .. } => code.as_str(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Kernel(e) => e.code.http_status(),
            ApiError::Host { code, .. } => code.http_status(),
        }
    }

    /// The JSON body (`content-type: application/json`).
    pub fn body(&self) -> String {
        match self {
            ApiError::Kernel(e) => serde_json::json!({ "error": e.to_json() }).to_string(),
            ApiError::Host { code, message, param } => {
                let mut error = serde_json::json!({ "code": code.as_str(), "message": message, "step": null });
                if let Some(p) = param {
                    error["param"] = serde_json::Value::from(*p);
                }
                serde_json::json!({ "error": error }).to_string()
            }
        }
    }

    /// Extra response headers the error needs: `Retry-After` for `busy`,
    /// `WWW-Authenticate` for `unauthorized`.
    pub fn headers(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            ApiError::Host {
                code: HostCode::Busy, ..
            } => &[("retry-after", "1")],
            ApiError::Host {
                code: HostCode::Unauthorized,
                ..
            } => &[("www-authenticate", "Bearer")],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_like_kiln_serve() {
        assert_eq!(route("POST", "/v1/run", false, false), Route::Run);
        assert_eq!(route("GET", "/v1/run", true, false), Route::Proxy);
        assert_eq!(route("GET", "/v1/run", false, false), Route::MethodNotAllowed("POST"));
        assert_eq!(route("PUT", "/v1/run", true, false), Route::MethodNotAllowed("POST"));
        assert_eq!(route("HEAD", "/healthz", false, false), Route::Healthz);
        assert_eq!(
            route("POST", "/v1/ops", false, false),
            Route::MethodNotAllowed("GET,HEAD")
        );
        assert_eq!(route("POST", "/", false, false), Route::Home);
        assert_eq!(route("GET", "/v1/ops/", false, false), Route::NotFound);
        assert_eq!(route("GET", "/metrics", false, false), Route::NotFound);
        assert_eq!(route("GET", "/_kiln/memory", false, false), Route::NotFound);
        assert_eq!(route("GET", "/_kiln/memory", false, true), Route::Memory);
    }

    #[test]
    fn query_like_serde_urlencoded() {
        let q = RunQuery::parse(Some("pipeline=json+mode%3Dminify&x=1"), true).unwrap();
        assert_eq!(q.pipeline.as_deref(), Some("json mode=minify"));
        assert_eq!(q.src, None);
        let q = RunQuery::parse(Some("pipelin%65=%ZZ"), true).unwrap();
        assert_eq!(q.pipeline.as_deref(), Some("%ZZ"));
        assert_eq!(
            RunQuery::parse(Some("pipeline=a&pipeline=b"), true),
            Err(QueryRejection(
                "Failed to deserialize query string: duplicate field `pipeline`".into()
            ))
        );
        assert_eq!(RunQuery::parse(None, true).unwrap(), RunQuery::default());
        // Without the proxy, `src` is any other key: ignored, even twice.
        let q = RunQuery::parse(Some("pipeline=json&src=a&src=b"), false).unwrap();
        assert_eq!((q.pipeline.as_deref(), q.src), (Some("json"), None));
        assert!(RunQuery::parse(Some("src=a&src=b"), true).is_err());
    }

    #[test]
    fn pipeline_sources() {
        assert_eq!(pipeline(Some(""), Some(b"json")).unwrap(), "");
        assert_eq!(pipeline(None, Some(b"json")).unwrap(), "json");
        assert!(pipeline(None, Some("caf\u{e9}".as_bytes())).is_err());
        let e = pipeline(None, None).unwrap_err();
        let (status, body) = (e.status(), e.body());
        assert_eq!(status, 400);
        assert_eq!(
            body,
            r#"{"error":{"code":"bad_pipeline","message":"no pipeline: give ?pipeline= (URL-encoded) or the kiln-pipeline header","step":null,"param":null}}"#
        );
    }

    #[test]
    fn limits_fit_an_isolate() {
        let l = profiles::worker();
        assert!(l.max_pixels * 4 <= 48 << 20);
        assert!(l.max_pixels >= 4000 * 3000);
        assert_eq!(l, l.tighten(&Limits::default()));
        let body = BodyLimit::new(profiles::WORKER_MAX_BODY, &l);
        assert!(body.check_declared(Some("16777217")).is_err());
        assert!(body.check_declared(Some("16777216")).is_ok());
        assert!(body.check_declared(Some("bogus")).is_ok());
        assert!(kiln_kernel::describe_with_limits(&l).contains("\"max_pixels\":12582912"));
        assert_eq!(
            BodyLimit::new(64 << 20, &profiles::server(16, 256, 1024)),
            BodyLimit(16 << 20)
        );
    }

    #[test]
    fn every_code_has_one_status_and_one_body_shape() {
        let statuses: Vec<(&str, u16)> = HostCode::ALL.iter().map(|c| (c.as_str(), c.http_status())).collect();
        assert_eq!(
            statuses,
            [
                ("bad_request", 400),
                ("unauthorized", 401),
                ("forbidden", 403),
                ("untrusted", 403),
                ("not_found", 404),
                ("unsupported", 409),
                ("bad_input", 422),
                ("internal", 500),
                ("bad_gateway", 502),
                ("busy", 503)
            ]
        );
        let busy = ApiError::busy();
        assert_eq!(
            busy.body(),
            r#"{"error":{"code":"busy","message":"the server is at capacity (every job slot taken, the wait queue full); retry shortly","step":null}}"#
        );
        assert_eq!(busy.headers(), &[("retry-after", "1")]);
        let proxy = ApiError::Host {
            code: HostCode::Forbidden,
            message: "no".into(),
            param: Some("src"),
        };
        assert_eq!(
            proxy.body(),
            r#"{"error":{"code":"forbidden","message":"no","step":null,"param":"src"}}"#
        );
        let kernel = ApiError::from(Error::too_large("x").at_step(2));
        assert_eq!((kernel.status(), kernel.code()), (413, "too_large"));
        assert_eq!(
            kernel.body(),
            r#"{"error":{"code":"too_large","message":"x","step":2,"param":null}}"#
        );
    }

    #[test]
    fn check_and_run_share_their_routes_rules() {
        assert_eq!(route("POST", "/v1/check", false, false), Route::Check);
        assert_eq!(route("GET", "/v1/check", false, false), Route::MethodNotAllowed("POST"));
    }
}
