//! # kiln-edge
//!
//! kiln on Cloudflare Workers (workers-rs 0.8, built by `worker-build`; see
//! `scripts/build-edge.sh` and `wrangler.toml`).
//!
//! ## HTTP API v1, identical to `kiln serve`
//!
//! HTTP API v1 is owned by `kiln-http-api` (paths, request pipeline, body limits,
//! errors, limit profiles, OpenAPI); this crate is its workers-rs glue. For the same
//! request the Worker gives the same status, `content-type`, `kiln-meta` and body as
//! `kiln serve` (bindings-native/src/server.rs) started with
//! `--max-input-mib 16 --www <none>`: `POST /v1/run`, `POST /v1/check`, `GET /v1/ops`,
//! `GET /v1/openapi.json`, `GET /healthz`, `/`, 404 and 405 alike; errors are
//! `{"error": {"code", "message", "step", "param"}}`. The differences, all deliberate:
//!
//! - the limits ([`kiln_http_api::profiles::worker`]) are capped so one job fits a 128 MB isolate, so
//!   `GET /v1/ops` reports other `limits`, and an input the server accepts may be
//!   `too_large` here;
//! - no `/metrics` (Workers Analytics does that) and no demo page;
//! - `GET /v1/run?src=` is the image proxy below (`kiln serve` answers 405).
//!
//! Jobs run on the request's thread, single-threaded (no rayon in an isolate): the
//! bytes are the native kernel's (the conformance runner's `workerd` target checks it).
//!
//! ## Streamed requests
//!
//! `POST /v1/run` with a pipeline that streams and a chunked body (or one over 1 MiB)
//! goes through a `kiln_kernel::Session` under `profiles::worker().streaming()`, as on
//! `kiln serve` (DESIGN.md, "Streamed requests"): the body is read and pushed 16 KiB at
//! a time as the response body is pulled, so gigabytes pass in a few MiB of wasm memory
//! and the 16 MiB body limit does not apply (`stream`).
//!
//! ## Image proxy
//!
//! `GET /v1/run?src=<url>&pipeline=<pipeline>` (the pipeline in the URL only: it is the
//! cache key; `kiln-pipeline` is 400 here):
//!
//! 1. the pipeline is checked first (400 without fetching anything), and `src` with
//!    credentials (user:password@) is 400;
//! 2. `src` must be an http(s) URL whose origin is listed in the `KILN_ALLOWED_ORIGINS`
//!    var (comma-separated; empty = proxy off) — else `403 forbidden`;
//! 3. the Cache API is asked first, keyed by SHA-256 of (kernel version, `src` without
//!    its fragment, the pipeline's canonical form) on the Worker's own origin: a new kernel never serves stale results;
//! 4. on a miss the source is fetched with manual redirects: at most 5, each target
//!    re-checked against the allow-list (leaving it: 403); a non-2xx origin is
//!    `502 bad_gateway`; more than 16 MiB is `413 too_large`;
//! 5. the result carries a strong `etag` (SHA-256 of the bytes), `cache-control` (the
//!    origin's `max-age`, else a day; the origin's `no-store`/`private`/`no-cache`
//!    are kept and nothing is cached) and `kiln-cache: hit|miss`; `If-None-Match`
//!    gets `304`.
//!
//! On `*.workers.dev` the Cache API does nothing (Cloudflare's rule): put the Worker on
//! a route of your zone to get the cache.
//!
//! `KILN_DEBUG = "1"` adds `GET /_kiln/memory` (the wasm memory high-water mark and the
//! requests this isolate has served), used by the tests to measure peak memory and to
//! tell that one isolate lived through them; leave it off in production.

pub mod proxy;

#[cfg(target_arch = "wasm32")]
mod stream;
#[cfg(target_arch = "wasm32")]
mod worker;
