//! A same-origin proxy to a protected API (what Duende.BFF calls a remote API): the browser
//! calls `{prefix}/…` on the app with its session cookie; the server calls `{upstream}/…` with
//! the session's access token, which never reaches the browser.
//!
//! ```no_run
//! # async fn example(bff: axum_oidc_bff::Bff) -> Result<(), axum_oidc_bff::ProxyError> {
//! use axum_oidc_bff::Proxy;
//!
//! // GET /api/orders/v1/mine → GET https://orders.example.com/v1/mine
//! let app: axum::Router = axum::Router::new()
//!     .merge(bff.proxy(Proxy::new("/api/orders", "https://orders.example.com")?))
//!     .layer(bff.layer());
//! # Ok(()) }
//! ```
//!
//! What it refuses, so that it is no open proxy:
//!
//! - requests from other sites (`Sec-Fetch-Site` must be `same-origin`, or absent with an
//!   `Origin` that is the app's or none), whatever the method;
//! - paths that could leave the upstream's prefix: dot segments (`..`, `%2e%2e`), encoded
//!   slashes and backslashes (`%2f`, `%5c`), empty segments;
//! - request bodies over [`Proxy::max_request_bytes`] (`413`), and answers over
//!   [`Proxy::max_response_bytes`] or slower than [`Proxy::timeout`] (`502`).
//!
//! What it never forwards: the browser's `Cookie` and `Authorization` headers, `Host`, and
//! hop-by-hop headers (`Connection` and those it names, `Keep-Alive`, `TE`, `Trailer`,
//! `Transfer-Encoding`, `Upgrade`, `Proxy-*`) — nor, back, the API's `Set-Cookie` and hop-by-hop
//! headers. A `401` from the API refreshes the token and retries once (see [`Api`]).

use crate::{
    api::Api,
    bff::Bff,
    error::{error_page, Action, ErrorPage},
    extract::bff_and_session,
};
use axum::{
    body::{to_bytes, Body},
    extract::{FromRequestParts, Request, State},
    http::{header, HeaderMap, HeaderName, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
    Router,
};
use std::{sync::Arc, time::Duration};
use url::Url;

/// Why a [`Proxy`] could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The local prefix is not an absolute path without a trailing slash (`/api/orders`).
    #[error(
        "the proxy prefix `{0}` must start with `/`, not end with one, and hold no `*` or `{{`"
    )]
    Prefix(String),
    /// The upstream is not an https URL (or http on this machine) without query or fragment.
    #[error(
        "the proxy upstream must be an https URL (http only on this machine) with no query: {0}"
    )]
    Upstream(String),
}

/// One proxied API: a local prefix, the upstream it maps to, and the limits of its calls.
#[derive(Clone, Debug)]
pub struct Proxy {
    prefix: String,
    upstream: Url,
    max_request_bytes: usize,
    max_response_bytes: usize,
    timeout: Duration,
}

impl Proxy {
    /// Maps `{prefix}/rest` to `{upstream}/rest`.
    pub fn new(prefix: &str, upstream: &str) -> Result<Self, ProxyError> {
        if !prefix.starts_with('/') || prefix.ends_with('/') || prefix.contains(['*', '{', '}']) {
            return Err(ProxyError::Prefix(prefix.to_owned()));
        }
        let mut upstream = Url::parse(upstream).map_err(|e| ProxyError::Upstream(e.to_string()))?;
        let secure = upstream.scheme() == "https"
            || (upstream.scheme() == "http" && crate::settings::is_loopback(&upstream));
        if !secure || upstream.query().is_some() || upstream.fragment().is_some() {
            return Err(ProxyError::Upstream(upstream.to_string()));
        }
        let path = upstream.path().trim_end_matches('/').to_owned();
        upstream.set_path(&path);
        Ok(Proxy {
            prefix: prefix.to_owned(),
            upstream,
            max_request_bytes: 1024 * 1024,
            max_response_bytes: 4 * 1024 * 1024,
            timeout: Duration::from_secs(15),
        })
    }

    /// Request bodies larger than this are refused with `413` (default 1 MiB).
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// Answers larger than this are refused with `502` (default 4 MiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Calls slower than this are given up with `502` (default 15 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The upstream URL for the local `rest` (what follows the prefix), if it stays under the
    /// upstream's path.
    fn target(&self, rest: &str, query: Option<&str>) -> Option<Url> {
        if !rest.is_empty() && !rest.starts_with('/') {
            return None;
        }
        let lower = rest.to_ascii_lowercase();
        // Encoded separators and dots would be decoded by someone along the way.
        if lower.contains("%2f") || lower.contains("%5c") || lower.contains("%2e") {
            return None;
        }
        if rest.contains('\\') || rest.chars().any(|c| c.is_control()) {
            return None;
        }
        let segments: Vec<&str> = rest.split('/').skip(1).collect();
        if segments
            .iter()
            .enumerate()
            .any(|(i, s)| *s == "." || *s == ".." || (s.is_empty() && i + 1 < segments.len()))
        {
            return None;
        }
        let mut url = self.upstream.clone();
        url.set_path(&format!("{}{rest}", self.upstream.path()));
        url.set_query(query);
        // Whatever the URL parser made of it, it must still be under the upstream's path.
        let base = self.upstream.path();
        let under = url.path() == base
            || url
                .path()
                .strip_prefix(base)
                .is_some_and(|after| after.starts_with('/') || base.ends_with('/'));
        (under && url.origin() == self.upstream.origin()).then_some(url)
    }
}

impl Bff {
    /// Serves `proxy` (see [`Proxy`]); merge it into the app's router, inside [`Bff::layer`].
    pub fn proxy<S: Clone + Send + Sync + 'static>(&self, proxy: Proxy) -> Router<S> {
        let path = format!("{}/{{*rest}}", proxy.prefix);
        let exact = proxy.prefix.clone();
        Router::new()
            .route(&path, any(forward))
            .route(&exact, any(forward))
            .with_state(Arc::new(proxy))
    }
}

fn refused(status: StatusCode, message: &str, code: &str) -> Response {
    error_page(ErrorPage {
        status,
        title: "Request refused".into(),
        message: message.into(),
        detail: Some(format!("Error code: {code}")),
        action: Action::Link {
            label: "Go home".into(),
            href: "/".into(),
        },
    })
}

/// Headers that describe one connection, never the request (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[HeaderName] = &[
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
];

/// `headers` without those that must not cross: hop-by-hop ones (and those `Connection` names),
/// and `extra`.
fn crossing(headers: &HeaderMap, extra: &[HeaderName]) -> HeaderMap {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let mut kept = HeaderMap::new();
    for (name, value) in headers {
        let lower = name.as_str();
        if HOP_BY_HOP.contains(name)
            || extra.contains(name)
            || lower == "keep-alive"
            || lower.starts_with("proxy-")
            || named.iter().any(|n| n == lower)
        {
            continue;
        }
        kept.append(name.clone(), value.clone());
    }
    kept
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    // Same origin only, whatever the method: a cross-site page must not make the server call
    // the API with its visitor's session, nor read the answer.
    let fetch_site = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let (bff, _) = match bff_and_session(&parts) {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    let same_origin = match (fetch_site, origin) {
        (Some(site), _) => site == "same-origin",
        (None, Some(origin)) => origin == bff.0.settings.origin(),
        (None, None) => true,
    };
    if !same_origin {
        return refused(
            StatusCode::FORBIDDEN,
            "This request came from another site, so it was refused.",
            "proxy.cross_site",
        );
    }
    let rest = parts
        .uri
        .path()
        .strip_prefix(&proxy.prefix)
        .unwrap_or_default()
        .to_owned();
    let Some(target) = proxy.target(&rest, parts.uri.query()) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "This address cannot be passed on.",
            "proxy.path",
        );
    };
    let body = match to_bytes(body, proxy.max_request_bytes).await {
        Ok(body) => body,
        Err(_) => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request is too large to pass on.",
                "proxy.too_large",
            )
        }
    };
    let api = match Api::from_request_parts(&mut parts, &()).await {
        Ok(api) => api,
        Err(err) => return err.into_response(),
    };
    let headers = crossing(
        &parts.headers,
        &[
            header::COOKIE,
            header::AUTHORIZATION,
            header::HOST,
            header::CONTENT_LENGTH,
            header::ORIGIN,
            header::REFERER,
        ],
    );
    let mut call = api
        .request(parts.method.clone(), target.as_str())
        .body(body)
        .timeout(proxy.timeout)
        .max_response_bytes(proxy.max_response_bytes);
    for (name, value) in &headers {
        if let Ok(value) = value.to_str() {
            call = call.header(name.as_str(), value);
        }
    }
    match call.send().await {
        Ok(answer) => {
            let (status, headers, body) = answer.into_parts();
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            *response.headers_mut() =
                crossing(&headers, &[header::SET_COOKIE, header::CONTENT_LENGTH]);
            response
        }
        Err(err) => err.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy() -> Proxy {
        Proxy::new("/api/scim2", "https://idp.example.com/t/acme/scim2/").unwrap()
    }

    #[test]
    fn paths_under_the_prefix_reach_the_upstream_and_only_those() {
        let p = proxy();
        assert_eq!(
            p.target("/Me", Some("attributes=name")).unwrap().as_str(),
            "https://idp.example.com/t/acme/scim2/Me?attributes=name"
        );
        assert_eq!(
            p.target("", None).unwrap().as_str(),
            "https://idp.example.com/t/acme/scim2"
        );
        for evil in [
            "/../oauth2/token",
            "/Me/../../oauth2/token",
            "/%2e%2e/oauth2/token",
            "/.%2E/x",
            "/..%2Foauth2",
            "/%2F%2Fevil.example/x",
            "/a%5c..%5cb",
            "/a\\..\\b",
            "/./Me",
            "//evil.example/x",
            "/a//b",
            "Me",
            "/a\n/b",
        ] {
            assert_eq!(p.target(evil, None), None, "{evil:?}");
        }
    }

    #[test]
    fn an_upstream_must_be_https_except_on_this_machine() {
        assert!(Proxy::new("/api/x", "http://api.example.com").is_err());
        assert!(Proxy::new("/api/x", "https://api.example.com?x=1").is_err());
        assert!(Proxy::new("/api/x", "http://127.0.0.1:8080/v1").is_ok());
        assert!(Proxy::new("api/x", "https://api.example.com").is_err());
        assert!(Proxy::new("/api/x/", "https://api.example.com").is_err());
    }

    #[test]
    fn connection_headers_and_credentials_do_not_cross() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("cookie", "sid=1"),
            ("authorization", "Bearer browser"),
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("accept", "application/json"),
            ("if-match", "W/\"3\""),
        ] {
            headers.append(
                HeaderName::from_static(name),
                header::HeaderValue::from_static(value),
            );
        }
        let kept = crossing(&headers, &[header::COOKIE, header::AUTHORIZATION]);
        let names: Vec<&str> = kept.keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["accept", "if-match"]);
    }
}
