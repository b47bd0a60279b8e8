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
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{App, error_response, json};
use crate::live::LoadError;
use kiln_http_api::{ApiError, HostCode};

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
    let expected = app.admin_token.as_deref().unwrap_or_default();
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim());
    // Digests of equal length, compared in constant time: neither the token nor its
    // length leaks through timing.
    let same = Sha256::digest(given.as_bytes()).ct_eq(&Sha256::digest(expected.as_bytes()));
    if expected.is_empty() || !bool::from(same) {
        return error_response(&ApiError::host(
            HostCode::Unauthorized,
            "the admin API needs `authorization: Bearer <token>` with the server's admin token",
        ));
    }
    next.run(request).await
}

async fn kernels(State(app): State<Arc<App>>) -> Response {
    json(app.live.state())
}

/// Verifies and loads the kernel in `body` and installs it (as the primary, or as a
/// canary with `as_canary` percent) off the async runtime; answers with the new state.
async fn install(app: &Arc<App>, headers: &HeaderMap, body: Bytes, as_canary: Option<u32>) -> Response {
    let signature = match headers.get("kiln-signature").map(|v| v.to_str()) {
        None => None,
        Some(Ok(s)) => Some(s.to_owned()),
        Some(Err(_)) => {
            return error_response(&ApiError::host(
                HostCode::BadRequest,
                "kiln-signature must be the base64 .sig file",
            ));
        }
    };
    let live = app.live.clone();
    let installed =
        tokio::task::spawn_blocking(move || live.install(&body, signature.as_deref(), "admin API", as_canary)).await;
    match installed {
        Ok(Ok(())) => json(app.live.state()),
        Ok(Err(e)) => load_error(&e),
        Err(e) => error_response(&ApiError::host(HostCode::Internal, e.to_string())),
    }
}

/// A kernel that was not installed or promoted: its status and code.
fn load_error(e: &LoadError) -> Response {
    let code = match e {
        LoadError::Untrusted(_) => HostCode::Untrusted,
        LoadError::Invalid(_) => HostCode::KernelInvalid,
        LoadError::Unsupported(_) => HostCode::KernelUnsupported,
    };
    tracing::warn!("admin: kernel not installed: {e}");
    error_response(&ApiError::host(code, e.to_string()))
}

async fn swap(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    install(&app, &headers, body, None).await
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
        return error_response(&ApiError::host(
            HostCode::BadRequest,
            "give ?percent=N, a whole number from 0 to 100",
        ));
    };
    install(&app, &headers, body, Some(percent)).await
}

fn no_canary() -> Response {
    error_response(&ApiError::host(HostCode::NotFound, "no canary is running"))
}

async fn stop_canary(State(app): State<Arc<App>>) -> Response {
    if app.live.stop_canary("admin API") {
        json(app.live.state())
    } else {
        no_canary()
    }
}

async fn promote(State(app): State<Arc<App>>) -> Response {
    match app.live.promote_canary("admin API") {
        Ok(true) => json(app.live.state()),
        Ok(false) => no_canary(),
        Err(e) => load_error(&e),
    }
}
