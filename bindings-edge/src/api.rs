//! HTTP API v1 as plain data: routes, limits, request parsing and the exact bodies of
//! `kiln serve` (bindings-native/src/server.rs), so the Worker's answers are the same
//! bytes. Nothing here touches workers-rs: it builds and is tested on the host.

use kiln_kernel::{Error, Limits};

/// The OpenAPI document of HTTP API v1, kept in the repo (the one `kiln serve` serves).
pub const OPENAPI: &str = include_str!("../../kernel/api/openapi.json");

/// `GET /healthz`.
pub const HEALTHZ: &str = r#"{"status":"ok"}"#;

/// `/` (the Worker has no demo page: the same page `kiln serve` shows without one).
pub const HOME_HTML: &str = "<!doctype html><title>kiln</title><h1>kiln</h1><p>The demo page is not built \
                             (www/dist). The API is at <a href=\"/v1/ops\">/v1/ops</a>, \
                             <a href=\"/v1/openapi.json\">/v1/openapi.json</a>.</p>";

/// Every other path.
pub const NOT_FOUND: &str = "not found\n";

/// Largest request body (and largest proxied source): 16 MiB.
pub const MAX_BODY: usize = 16 << 20;

/// The limits every job runs under in a Worker, sized so that one job fits a 128 MB
/// isolate next to the JS heap and the request/response copies:
///
/// - 16 MiB in (the body is held by JS and copied once into wasm memory);
/// - 12 Mi pixels per image (4096 x 3072: 12 MP photos from phones and cameras,
///   48 MiB as RGBA8);
/// - 32 MiB out and 32 MiB decompressed;
/// - 1 million rows and 4096 columns per table; JSON 128 deep (the default).
///
/// `kiln serve --max-input-mib 16` gives the same input limit; the other fields are
/// the kernel's server defaults there, so `GET /v1/ops` differs in `limits` only.
pub fn limits() -> Limits {
    Limits {
        max_input_bytes: MAX_BODY as u64,
        max_output_bytes: 32 << 20,
        max_pixels: 12 << 20,
        max_dimension: 16_384,
        max_decompressed_bytes: 32 << 20,
        max_rows: 1_000_000,
        max_columns: 4096,
        max_json_depth: 128,
    }
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/run`.
    Run,
    /// `GET /v1/run?src=...`: the image proxy.
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
    /// isolate, only with `KILN_DEBUG = "1"`.
    Memory,
    NotFound,
}

/// Routes like `kiln serve`'s axum router: exact paths, GET routes answer HEAD too,
/// a known path with another method is 405. `has_src`: the query has `src`.
pub fn route(method: &str, path: &str, has_src: bool, debug: bool) -> Route {
    let get = method == "GET" || method == "HEAD";
    match path {
        "/v1/run" if method == "POST" => Route::Run,
        "/v1/run" if get && has_src => Route::Proxy,
        "/v1/run" => Route::MethodNotAllowed("POST"),
        "/v1/ops" if get => Route::Ops,
        "/v1/openapi.json" if get => Route::OpenApi,
        "/healthz" if get => Route::Healthz,
        "/v1/ops" | "/v1/openapi.json" | "/healthz" => Route::MethodNotAllowed("GET,HEAD"),
        "/_kiln/memory" if debug && get => Route::Memory,
        "/" => Route::Home,
        _ => Route::NotFound,
    }
}

/// The query parameters of `/v1/run`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunQuery {
    pub pipeline: Option<String>,
    pub src: Option<String>,
}

/// A reply that is not JSON: `kiln serve`'s query rejection (axum's `Query` extractor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRejection(pub String);

impl RunQuery {
    /// Parses `application/x-www-form-urlencoded` pairs (`+` is a space) like
    /// serde_urlencoded does for `kiln serve`: unknown keys ignored, a repeated known key
    /// rejected.
    pub fn parse(query: Option<&str>) -> Result<RunQuery, QueryRejection> {
        let mut q = RunQuery::default();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let slot = match k.as_ref() {
                "pipeline" => &mut q.pipeline,
                "src" => &mut q.src,
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

/// The pipeline of a run: `?pipeline=` first, else the `kiln-pipeline` header.
pub fn pipeline(query: Option<&str>, header: Option<&str>) -> Result<String, Error> {
    match (query, header) {
        (Some(p), _) => Ok(p.to_owned()),
        (None, Some(h)) if h.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) => Ok(h.to_owned()),
        (None, Some(_)) => Err(Error::bad_pipeline(
            "the kiln-pipeline header must be visible ASCII; use ?pipeline= for more",
        )),
        (None, None) => Err(Error::bad_pipeline(
            "no pipeline: give ?pipeline= (URL-encoded) or the kiln-pipeline header",
        )),
    }
}

/// The request body limit error.
pub fn body_too_large() -> Error {
    Error::too_large(format!("request body exceeds the limit of {MAX_BODY} bytes"))
}

/// True when a `content-length` header already says the body is too large.
pub fn content_length_too_large(content_length: Option<&str>) -> bool {
    content_length
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|len| len > MAX_BODY as u64)
}

/// An error's status and JSON body: `{"error": {"code", "message", "step", "param"}}`.
pub fn error_body(e: &Error) -> (u16, String) {
    (
        e.code.http_status(),
        serde_json::json!({ "error": e.to_json() }).to_string(),
    )
}

/// `describe()` under the Worker's limits.
pub fn describe() -> String {
    kiln_kernel::describe_with_limits(&limits())
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
        let q = RunQuery::parse(Some("pipeline=json+mode%3Dminify&x=1")).unwrap();
        assert_eq!(q.pipeline.as_deref(), Some("json mode=minify"));
        assert_eq!(q.src, None);
        let q = RunQuery::parse(Some("pipelin%65=%ZZ")).unwrap();
        assert_eq!(q.pipeline.as_deref(), Some("%ZZ"));
        assert_eq!(
            RunQuery::parse(Some("pipeline=a&pipeline=b")),
            Err(QueryRejection(
                "Failed to deserialize query string: duplicate field `pipeline`".into()
            ))
        );
        assert_eq!(RunQuery::parse(None).unwrap(), RunQuery::default());
    }

    #[test]
    fn pipeline_sources() {
        assert_eq!(pipeline(Some(""), Some("json")).unwrap(), "");
        assert_eq!(pipeline(None, Some("json")).unwrap(), "json");
        assert!(pipeline(None, Some("caf\u{e9}")).is_err());
        let (status, body) = error_body(&pipeline(None, None).unwrap_err());
        assert_eq!(status, 400);
        assert_eq!(
            body,
            r#"{"error":{"code":"bad_pipeline","message":"no pipeline: give ?pipeline= (URL-encoded) or the kiln-pipeline header","step":null,"param":null}}"#
        );
    }

    #[test]
    fn limits_fit_an_isolate() {
        let l = limits();
        assert!(l.max_pixels * 4 <= 48 << 20);
        assert!(l.max_pixels >= 4000 * 3000);
        assert_eq!(l, l.tighten(&Limits::default()));
        assert!(content_length_too_large(Some("16777217")));
        assert!(!content_length_too_large(Some("16777216")));
        assert!(describe().contains("\"max_pixels\":12582912"));
    }
}
