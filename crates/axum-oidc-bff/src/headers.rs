//! The security headers [`Bff::layer`](crate::Bff::layer) sets on every response:
//!
//! - a `Content-Security-Policy` with a fresh nonce per response ([`CspNonce`], in the
//!   request's extensions for the page to put on its scripts): scripts only from this origin
//!   with the nonce (and wasm), connections only to this origin (and the origins given with
//!   [`SecurityHeaders::connect_to`]), forms only to this origin, the IdP's and its end-session
//!   endpoint's (sign-out continues there), no framing, no plugins, no `<base>`;
//! - `Cache-Control: no-store` on everything but the static paths
//!   ([`SecurityHeaders::static_path`]): pages and API answers are about the signed-in user and
//!   must stay out of shared caches and the back/forward cache;
//! - `Strict-Transport-Security` when the base URL is https; `X-Content-Type-Options: nosniff`,
//!   `X-Frame-Options: DENY`, `Referrer-Policy: strict-origin-when-cross-origin` unless the
//!   handler set them.

use crate::settings::Settings;
use axum::http::{header, HeaderMap, HeaderValue};
use std::sync::Arc;
use url::Url;

/// The nonce of one response's Content-Security-Policy; inline scripts a page writes must carry
/// it (`<script nonce="…">`).
#[derive(Clone, Debug)]
pub struct CspNonce(pub Arc<str>);

/// Which sources the Content-Security-Policy allows beyond its own, and which paths may be
/// cached; see the [module documentation](self).
#[derive(Clone, Debug, Default)]
pub struct SecurityHeaders {
    connect_src: Vec<String>,
    static_prefixes: Vec<String>,
    /// Filled from the settings when the [`Bff`](crate::Bff) is built.
    issuer_origin: String,
    hsts: bool,
    /// Everything after the nonce, up to `form-action`'s list (built once).
    after_nonce: String,
}

impl SecurityHeaders {
    /// Allows the browser to connect to `source` too (an origin such as
    /// `https://api.example.com`, or `ws://localhost:3001`): an API the page calls itself.
    pub fn connect_to(mut self, source: impl Into<String>) -> Self {
        self.connect_src.push(source.into());
        self
    }

    /// Responses under `prefix` (static files, e.g. `/pkg/`) may be cached: no `no-store`.
    pub fn static_path(mut self, prefix: impl Into<String>) -> Self {
        self.static_prefixes.push(prefix.into());
        self
    }

    pub(crate) fn for_settings(mut self, settings: &Settings) -> Self {
        let origin = |url: &Url| url.origin().ascii_serialization();
        self.issuer_origin = origin(&settings.issuer);
        self.hsts = settings.secure_cookies();
        let mut connect_src = "'self'".to_owned();
        for source in &self.connect_src {
            connect_src.push(' ');
            connect_src.push_str(source);
        }
        self.after_nonce = format!(
            "' 'wasm-unsafe-eval'; connect-src {connect_src}; img-src 'self' data:; \
             style-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self' {}",
            self.issuer_origin
        );
        self
    }

    pub(crate) fn is_static(&self, path: &str) -> bool {
        self.static_prefixes.iter().any(|p| path.starts_with(p))
    }

    /// Sets the headers on a response; `end_session` is the IdP's end-session endpoint, once
    /// known.
    pub(crate) fn apply(
        &self,
        headers: &mut HeaderMap,
        nonce: &str,
        end_session: Option<&str>,
        is_static: bool,
    ) {
        // Sign-out is a form POST that the server answers with a redirect to the IdP's
        // end-session endpoint, which form-action must allow too (it may be on another origin
        // than the issuer).
        let end_session = end_session
            .and_then(|url| Url::parse(url).ok())
            .map(|url| url.origin().ascii_serialization())
            .filter(|origin| *origin != self.issuer_origin);
        let extra = end_session.map_or(String::new(), |o| format!(" {o}"));
        let policy = [
            "default-src 'self'; script-src 'self' 'nonce-",
            nonce,
            &self.after_nonce,
            &extra,
            "; frame-ancestors 'none'",
        ]
        .concat();
        if let Ok(value) = HeaderValue::from_str(&policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        if !is_static {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        let mut default = |name: header::HeaderName, value: &'static str| {
            if !headers.contains_key(&name) {
                headers.insert(name, HeaderValue::from_static(value));
            }
        };
        if self.hsts {
            // Browsers then never try plain http for a year.
            default(
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=31536000; includeSubDomains",
            );
        }
        default(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        default(header::X_FRAME_OPTIONS, "DENY");
        default(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    }
}

/// `bytes` random bytes, base64url: nonces, lock tokens.
pub(crate) fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}
