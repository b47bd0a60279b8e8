//! `kiln-http`: HTTP API v1 (DESIGN.md) as a `wasi:http` 0.2 component, the
//! `incoming-handler` of the `wasi:http/proxy` world, so any wasi:http host (`wasmtime
//! serve`, Spin, SpinKube, wasmCloud) serves the API from one `.wasm` file.
//!
//! The kernel is linked in (one build of this crate, `kiln-kernel` and `kiln-http-api` for
//! wasm32-unknown-unknown), not composed with the kernel component: see DESIGN.md, "kiln-http".
//! Every decision is here, in plain Rust tested on the host ([`plan`], [`run`]); `wasi.rs`
//! only moves bytes between the host's request and response resources and these.

use kiln_http_api::{self as api, ApiError, BodyLimit, Route};
use kiln_kernel::Limits;

#[cfg(target_arch = "wasm32")]
mod wasi;

/// The limits every job runs under: `kiln serve`'s defaults (`--max-input-mib 256
/// --max-output-mib 256 --job-memory-mib 1024`), so `/v1/ops` and every job answer as
/// they do there. A component has no flags; the host bounds memory and time itself.
pub fn limits() -> Limits {
    api::profiles::server(256, 256, 1024)
}

/// The largest request body read: `max_input_bytes`, as on `kiln serve`.
pub fn body_limit() -> BodyLimit {
    BodyLimit::new(usize::MAX, &limits())
}

/// An answer: status, headers (lower-case names) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Headers other than [`api::RESPONSE_HEADERS`], which every answer gets.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            body: body.into(),
        }
    }

    /// An error of HTTP API v1: its status, JSON body and extra headers.
    pub fn error(e: &ApiError) -> Response {
        let mut r = Response::new(e.status(), "application/json", e.body());
        r.headers
            .extend(e.headers().iter().map(|(name, value)| (*name, (*value).to_owned())));
        r
    }

    /// Every header of the answer, [`api::RESPONSE_HEADERS`] included.
    pub fn all_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(api::RESPONSE_HEADERS)
    }
}

/// What to do with a request, decided from its method, path, query and headers alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Answer now; the body is not read.
    Answer(Response),
    /// `POST /v1/run`: stream the body through a session when the pipeline streams
    /// (DESIGN.md, "Streamed requests"); else read it (within [`body_limit`], a declared
    /// length over it refused unread), then [`run`] it.
    Run {
        /// `?pipeline=`, if given (the header is read after the body, as `kiln serve` does).
        query_pipeline: Option<String>,
    },
}

/// Plans the answer to `method path?query`; `header` gives a request header's value.
pub fn plan(method: &str, path: &str, query: Option<&str>, header: &dyn Fn(&str) -> Option<Vec<u8>>) -> Plan {
    let query = match api::RunQuery::parse(query, false) {
        Ok(q) => q,
        // `kiln serve`'s rejection, byte for byte (only POST /v1/run and /v1/check read a query).
        Err(api::QueryRejection(text)) if matches!(path, api::paths::RUN | api::paths::CHECK) && method == "POST" => {
            return Plan::Answer(Response::new(400, "text/plain; charset=utf-8", text));
        }
        Err(_) => api::RunQuery::default(),
    };
    let answer = match api::route(method, path, false, false) {
        // The body limit is checked once it is known whether the pipeline streams (a
        // streamed body has no limit but the session's).
        Route::Run => {
            return Plan::Run {
                query_pipeline: query.pipeline,
            };
        }
        Route::Check => {
            let header = header(api::paths::PIPELINE_HEADER);
            match api::pipeline(query.pipeline.as_deref(), header.as_deref()).and_then(|p| Ok(kiln_kernel::check(&p)?))
            {
                Ok(canonical) => Response::new(200, "application/json", canonical),
                Err(e) => Response::error(&e),
            }
        }
        Route::Ops => Response::new(200, "application/json", kiln_kernel::describe_with_limits(&limits())),
        Route::OpenApi => Response::new(200, "application/json", api::OPENAPI),
        Route::Healthz => Response::new(200, "application/json", api::HEALTHZ),
        Route::Home => Response::new(200, "text/html; charset=utf-8", api::HOME_HTML),
        Route::MethodNotAllowed(allow) => Response {
            status: 405,
            headers: vec![("allow", allow.to_owned())],
            body: Vec::new(),
        },
        // The Worker's image proxy and debug route are not routed here (has_src and debug
        // are false); anything else is 404, as on `kiln serve` without its demo page.
        Route::Proxy | Route::Memory | Route::NotFound => {
            Response::new(404, "text/plain; charset=utf-8", api::NOT_FOUND)
        }
    };
    Plan::Answer(answer)
}

/// `POST /v1/run` once its body is read: the pipeline from `?pipeline=` or the
/// `kiln-pipeline` header, run on `input` under [`limits`].
pub fn run(query_pipeline: Option<&str>, pipeline_header: Option<&[u8]>, input: Vec<u8>) -> Response {
    let pipeline = match api::pipeline(query_pipeline, pipeline_header) {
        Ok(p) => p,
        Err(e) => return Response::error(&e),
    };
    match kiln_kernel::run_with_limits(&pipeline, input, &limits()) {
        Ok(out) => Response {
            status: 200,
            headers: vec![
                ("content-type", out.meta.content_type.clone()),
                (api::paths::META_HEADER, out.meta.to_json()),
            ],
            body: out.data,
        },
        Err(e) => Response::error(&e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<Vec<u8>> {
        None
    }

    fn answer(method: &str, path: &str, query: Option<&str>) -> Response {
        match plan(method, path, query, &none) {
            Plan::Answer(r) => r,
            Plan::Run { .. } => panic!("{method} {path} reads a body"),
        }
    }

    #[test]
    fn routes_as_kiln_serve_does() {
        assert_eq!(answer("GET", "/healthz", None).body, api::HEALTHZ.as_bytes());
        assert_eq!(answer("GET", "/nope", None).status, 404);
        assert_eq!(answer("GET", "/metrics", None).status, 404, "no /metrics");
        assert_eq!(answer("GET", "/readyz", None).status, 404, "no /readyz");
        let r = answer("GET", "/v1/run", Some("src=https://example.com/a.png"));
        assert_eq!((r.status, r.headers.clone()), (405, vec![("allow", "POST".to_owned())]));
        assert!(r.body.is_empty());
        assert_eq!(answer("POST", "/", None).status, 200);
        let r = answer("POST", "/v1/run", Some("pipeline=a&pipeline=b"));
        assert_eq!(r.status, 400);
        assert_eq!(
            r.headers,
            vec![("content-type", "text/plain; charset=utf-8".to_owned())]
        );
        assert_eq!(
            plan("POST", "/v1/run", Some("pipeline=json"), &none),
            Plan::Run {
                query_pipeline: Some("json".into())
            }
        );
    }

    #[test]
    fn limits_are_kiln_serve_defaults() {
        let ops: serde_json::Value = serde_json::from_slice(&answer("GET", "/v1/ops", None).body).unwrap();
        assert_eq!(ops["limits"]["max_input_bytes"], 256 << 20);
        assert_eq!(ops["limits"]["max_memory_bytes"], 896 << 20);
        assert_eq!(body_limit(), BodyLimit(256 << 20));
        assert!(body_limit().check_declared(Some("268435457")).is_err());
        assert!(body_limit().check_declared(Some("268435456")).is_ok());
    }

    #[test]
    fn runs_and_errors() {
        let r = run(None, Some(b"json mode=minify"), b"[1, 2]".to_vec());
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"[1,2]");
        assert_eq!(r.headers[0], ("content-type", "application/json".to_owned()));
        assert!(r.headers[1].1.starts_with(r#"{"kind":"bytes""#));
        let r = run(Some("blur sigma=0"), None, Vec::new());
        assert_eq!(r.status, 400);
        let e: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(e["error"]["param"], "sigma");
        assert_eq!(run(None, None, Vec::new()).status, 400);
        assert!(
            Response::error(&ApiError::busy())
                .all_headers()
                .any(|h| h == ("retry-after", "1"))
        );
        assert!(r.all_headers().any(|h| h == ("x-content-type-options", "nosniff")));
    }
}
