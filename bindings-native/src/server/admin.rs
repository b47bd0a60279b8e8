//! `/v1/admin/...`: change the kernels of a running server. Mounted only when the
//! server has an admin token; every request must carry `authorization: Bearer <token>`.
//!
//! - `GET /v1/admin/kernels` — the primary, the canary, their job and fault counts, and
//!   the changes so far.
//! - `PUT /v1/admin/kernel` — body: a kernel component, `kiln-signature` header: its
//!   `.sig` file. Verified, compiled and swapped in as the primary.
//! - `PUT /v1/admin/canary?percent=N` — the same, as a canary taking N% of jobs.
//! - `DELETE /v1/admin/canary` — stop the canary; `POST /v1/admin/canary/promote` —
//!   make it the primary.
//!
//! Errors: 401 `unauthorized`, 403 `untrusted` (unsigned, tampered, unknown key), 422
//! `bad_input` (not a kiln kernel), 409 `unsupported` (the native engine), 404
//! `not_found` (no canary), 400 `bad_request`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use subtle::ConstantTimeEq;

use super::{App, host_error};
use crate::live::{Live, LoadError, Loaded};

/// The largest kernel accepted (kiln's is ~2 MB).
const MAX_KERNEL: usize = 64 << 20;

pub(super) fn routes(app: Arc<App>) -> Router<Arc<App>> {
    Router::new()
        .route("/v1/admin/kernels", get(kernels))
        .route("/v1/admin/kernel", put(swap))
        .route("/v1/admin/canary", put(canary).delete(stop_canary))
        .route("/v1/admin/canary/promote", post(promote))
        .layer(DefaultBodyLimit::max(MAX_KERNEL))
        .layer(middleware::from_fn_with_state(app, authorize))
}

async fn authorize(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let expected = app.admin_token.as_deref().unwrap_or_default().as_bytes();
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    if expected.is_empty() || !bool::from(given.ct_eq(expected)) {
        let mut response = host_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the admin API needs `authorization: Bearer <token>` with the server's admin token",
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return response;
    }
    next.run(request).await
}

fn json(value: serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

async fn kernels(State(app): State<Arc<App>>) -> Response {
    json(app.live.state())
}

/// Verifies and loads the kernel in `body` off the async runtime.
async fn load(live: &Arc<Live>, headers: &HeaderMap, body: Bytes, source: &'static str) -> Result<Loaded, Response> {
    let signature = match headers.get("kiln-signature").map(|v| v.to_str()) {
        None => None,
        Some(Ok(s)) => Some(s.to_owned()),
        Some(Err(_)) => {
            return Err(host_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "kiln-signature must be the base64 .sig file",
            ));
        }
    };
    let live = live.clone();
    let loaded = tokio::task::spawn_blocking(move || live.load(&body, signature.as_deref(), source))
        .await
        .map_err(|e| host_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", &e.to_string()))?;
    loaded.map_err(|e| {
        let (status, code) = match &e {
            LoadError::Untrusted(_) => (StatusCode::FORBIDDEN, "untrusted"),
            LoadError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_input"),
            LoadError::Unsupported(_) => (StatusCode::CONFLICT, "unsupported"),
        };
        tracing::warn!(source, "admin: kernel not loaded: {e}");
        host_error(status, code, &e.to_string())
    })
}

async fn swap(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    match load(&app.live, &headers, body, "admin API").await {
        Ok(loaded) => {
            app.live.swap_primary(loaded, "admin API");
            json(app.live.state())
        }
        Err(response) => response,
    }
}

#[derive(serde::Deserialize)]
struct CanaryQuery {
    percent: Option<String>,
}

async fn canary(
    State(app): State<Arc<App>>,
    Query(query): Query<CanaryQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(percent) = query.percent.and_then(|p| p.parse::<u32>().ok()).filter(|p| *p <= 100) else {
        return host_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "give ?percent=N, a whole number from 0 to 100",
        );
    };
    match load(&app.live, &headers, body, "admin API").await {
        Ok(loaded) => {
            app.live.start_canary(loaded, percent, "admin API");
            json(app.live.state())
        }
        Err(response) => response,
    }
}

fn no_canary() -> Response {
    host_error(StatusCode::NOT_FOUND, "not_found", "no canary is running")
}

async fn stop_canary(State(app): State<Arc<App>>) -> Response {
    if app.live.stop_canary("admin API") {
        json(app.live.state())
    } else {
        no_canary()
    }
}

async fn promote(State(app): State<Arc<App>>) -> Response {
    if app.live.promote_canary("admin API") {
        json(app.live.state())
    } else {
        no_canary()
    }
}
