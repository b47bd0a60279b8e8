//! Image-proxy mode, as plain data: which origins may be fetched, the cache key, the
//! ETag and conditional requests, the proxy's `cache-control`.
//!
//! `GET /v1/run?src=<url>&pipeline=...` fetches `src` (only from the origins listed in
//! the `KILN_ALLOWED_ORIGINS` var), runs the pipeline on it and caches the result with
//! the Cache API. The flow lives in `worker.rs`; every decision it makes is here.

use kiln_http_api::{ApiError, HostCode};
use kiln_kernel::Error;
use sha2::{Digest, Sha256};
use url::Url;

/// Redirects followed (each hop is checked against the allow-list again).
pub const MAX_REDIRECTS: usize = 5;

/// `cache-control` of proxied results when the origin gives none: one day.
pub const DEFAULT_MAX_AGE: u64 = 86_400;

/// The origins the proxy may fetch from: `KILN_ALLOWED_ORIGINS`, a comma- or
/// space-separated list of `scheme://host[:port]` (`https://images.example.com,
/// http://127.0.0.1:9000`). Empty (the default) turns proxy mode off: every `src` is 403.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    origins: Vec<String>,
}

impl AllowList {
    /// Parses the var; entries that are not http(s) origins are ignored.
    pub fn parse(var: &str) -> AllowList {
        let origins = var
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .filter_map(|s| Url::parse(s).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|u| u.origin().ascii_serialization())
            .collect();
        AllowList { origins }
    }

    /// True when `url`'s origin (scheme, host, port; default ports normalised) is listed.
    pub fn allows(&self, url: &Url) -> bool {
        matches!(url.scheme(), "http" | "https") && self.origins.contains(&url.origin().ascii_serialization())
    }

    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }
}

/// A proxy error (403 `forbidden`, 502 `bad_gateway`: the host codes only the proxy
/// gives) naming `src`.
pub fn proxy_error(code: HostCode, message: impl Into<String>) -> ApiError {
    ApiError::Host {
        code,
        message: message.into(),
        param: Some("src"),
    }
}

/// Parses and checks `src` before anything is fetched. The fragment is dropped (it is
/// never sent to the origin, so it must not make another cache entry).
pub fn check_src(src: &str, allow: &AllowList) -> Result<Url, ApiError> {
    let mut url = Url::parse(src)
        .map_err(|e| Error::bad_pipeline(format!("src is not an absolute URL: {e}")).with_param("src"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::bad_pipeline("src must be an http or https URL")
            .with_param("src")
            .into());
    }
    if has_credentials(&url) {
        // fetch() refuses such a URL; say so as the client's error, not a 500.
        return Err(Error::bad_pipeline("src must not carry credentials (user:password@)")
            .with_param("src")
            .into());
    }
    url.set_fragment(None);
    check_origin(&url, allow)?;
    Ok(url)
}

fn has_credentials(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// 403 unless `url`'s origin is allowed.
pub fn check_origin(url: &Url, allow: &AllowList) -> Result<(), ApiError> {
    if allow.allows(url) {
        Ok(())
    } else if allow.is_empty() {
        Err(proxy_error(
            HostCode::Forbidden,
            "proxy mode is off: no origins in KILN_ALLOWED_ORIGINS",
        ))
    } else {
        Err(proxy_error(
            HostCode::Forbidden,
            format!(
                "origin {} is not in KILN_ALLOWED_ORIGINS",
                url.origin().ascii_serialization()
            ),
        ))
    }
}

/// Where a redirect from `from` goes: the resolved `location`, still inside the
/// allow-list, or an error.
pub fn follow(from: &Url, location: Option<&str>, allow: &AllowList) -> Result<Url, ApiError> {
    let location = location.ok_or_else(|| proxy_error(HostCode::BadGateway, "origin redirected without a location"))?;
    let next = from.join(location).map_err(|e| {
        proxy_error(
            HostCode::BadGateway,
            format!("origin redirected to a bad location: {e}"),
        )
    })?;
    if has_credentials(&next) {
        return Err(proxy_error(
            HostCode::BadGateway,
            "origin redirected to a URL with credentials (user:password@)",
        ));
    }
    if !allow.allows(&next) {
        return Err(proxy_error(
            HostCode::Forbidden,
            format!(
                "origin redirected to {}, which is not in KILN_ALLOWED_ORIGINS",
                next.origin().ascii_serialization()
            ),
        ));
    }
    Ok(next)
}

/// The source was larger than the input limit.
pub fn source_too_large() -> ApiError {
    Error::too_large(format!(
        "source exceeds the limit of {} bytes",
        kiln_http_api::profiles::WORKER_MAX_BODY
    ))
    .with_param("src")
    .into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Cache API key for a proxied result: a GET URL on the Worker's own origin whose
/// path is the SHA-256 of the kernel version, the source URL and the pipeline, so a
/// new kernel never serves an old result.
pub fn cache_key(worker_origin: &str, src: &Url, pipeline: &str) -> String {
    let mut h = Sha256::new();
    for part in [kiln_kernel::VERSION, src.as_str(), pipeline] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    format!("{worker_origin}/_kiln/cache/{}", hex(&h.finalize()))
}

/// A strong ETag of the output bytes (outputs are deterministic: equal bytes, equal tag).
pub fn etag(output: &[u8]) -> String {
    format!("\"{}\"", hex(&Sha256::digest(output)[..16]))
}

/// `If-None-Match` against our ETag (weak comparison, as RFC 9110 asks for GET).
pub fn not_modified(if_none_match: Option<&str>, etag: &str) -> bool {
    let Some(header) = if_none_match else { return false };
    let ours = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == ours)
}

/// The `cache-control` of a proxied result, and whether the Cache API may keep it:
/// the origin's `no-store` / `private` are kept (and nothing is cached); its `max-age`
/// is kept; otherwise a day.
pub fn cache_control(origin: Option<&str>) -> (String, bool) {
    let Some(cc) = origin.map(str::to_ascii_lowercase) else {
        return (format!("public, max-age={DEFAULT_MAX_AGE}"), true);
    };
    let directives: Vec<&str> = cc.split(',').map(str::trim).collect();
    if directives
        .iter()
        .any(|d| *d == "no-store" || *d == "private" || *d == "no-cache")
    {
        return (cc.clone(), false);
    }
    let max_age = directives
        .iter()
        .find_map(|d| d.strip_prefix("max-age=")?.trim_matches('"').parse::<u64>().ok());
    match max_age {
        Some(0) => ("no-cache".into(), false),
        Some(n) => (format!("public, max-age={n}"), true),
        None => (format!("public, max-age={DEFAULT_MAX_AGE}"), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list() {
        let a = AllowList::parse("https://img.example.com, http://127.0.0.1:9000 nonsense ftp://x");
        assert!(a.allows(&Url::parse("https://img.example.com/a.jpg?x=1").unwrap()));
        assert!(a.allows(&Url::parse("https://IMG.example.com:443/a.jpg").unwrap()));
        assert!(a.allows(&Url::parse("http://127.0.0.1:9000/a").unwrap()));
        assert!(!a.allows(&Url::parse("http://127.0.0.1:9001/a").unwrap()));
        assert!(!a.allows(&Url::parse("http://img.example.com/a.jpg").unwrap()));
        assert!(!a.allows(&Url::parse("https://img.example.com.evil.test/a.jpg").unwrap()));
        assert!(AllowList::parse("").is_empty());
    }

    #[test]
    fn src_and_redirects() {
        let a = AllowList::parse("http://127.0.0.1:9000");
        assert!(check_src("http://127.0.0.1:9000/x.png", &a).is_ok());
        let e = check_src("http://127.0.0.1:9001/x.png", &a).unwrap_err();
        let (status, body) = (e.status(), e.body());
        assert_eq!(status, 403);
        assert!(body.contains(r#""code":"forbidden""#), "{body}");
        assert_eq!(check_src("/x.png", &a).unwrap_err().status(), 400);
        assert_eq!(check_src("file:///etc/passwd", &a).unwrap_err().status(), 400);
        // Credentials are the client's error (fetch() would refuse the URL), and a
        // fragment is not part of what is fetched or cached.
        for src in ["http://u:p@127.0.0.1:9000/x.png", "http://u@127.0.0.1:9000/x.png"] {
            let e = check_src(src, &a).unwrap_err();
            assert_eq!(e.status(), 400, "{src}");
            assert!(e.body().contains("credentials"), "{}", e.body());
        }
        assert_eq!(
            check_src("http://127.0.0.1:9000/x.png#frag", &a).unwrap().as_str(),
            "http://127.0.0.1:9000/x.png"
        );
        assert_eq!(
            check_src("http://127.0.0.1:9000/x", &AllowList::default())
                .unwrap_err()
                .status(),
            403
        );
        let from = Url::parse("http://127.0.0.1:9000/a/b").unwrap();
        assert_eq!(
            follow(&from, Some("c"), &a).unwrap().as_str(),
            "http://127.0.0.1:9000/a/c"
        );
        assert_eq!(follow(&from, Some("http://evil.test/"), &a).unwrap_err().status(), 403);
        assert_eq!(follow(&from, None, &a).unwrap_err().status(), 502);
        assert_eq!(
            follow(&from, Some("http://u:p@127.0.0.1:9000/"), &a)
                .unwrap_err()
                .status(),
            502
        );
        assert_eq!(source_too_large().status(), 413);
    }

    #[test]
    fn cache_and_etags() {
        let src = Url::parse("http://127.0.0.1:9000/a.jpg").unwrap();
        let k1 = cache_key("https://w.example", &src, "resize width=8");
        assert!(k1.starts_with("https://w.example/_kiln/cache/"));
        assert_ne!(k1, cache_key("https://w.example", &src, "resize width=9"));
        let e = etag(b"abc");
        assert_eq!(e.len(), 34);
        assert!(not_modified(Some(&e), &e));
        assert!(not_modified(Some(&format!("\"x\", W/{e}")), &e));
        assert!(not_modified(Some("*"), &e));
        assert!(!not_modified(Some("\"x\""), &e));
        assert!(!not_modified(None, &e));
        assert_eq!(cache_control(None), ("public, max-age=86400".into(), true));
        assert_eq!(
            cache_control(Some("public, max-age=60")),
            ("public, max-age=60".into(), true)
        );
        assert!(!cache_control(Some("private, max-age=60")).1);
        assert!(!cache_control(Some("no-store")).1);
        assert!(!cache_control(Some("max-age=0")).1);
    }
}
