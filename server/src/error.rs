//! Errors of the auth endpoints, and the error pages they become.
//!
//! A handler's error becomes a response carrying an [`ErrorPageInfo`] extension and its status;
//! the [`render_error_pages`] middleware turns that into the app's error page (same layout and
//! stylesheet as the app). Client-caused errors say what was wrong; IdP and internal errors are
//! logged with their whole cause chain and shown as a short, useful message. Nothing here ever
//! logs or shows a token, code, secret or cookie value.

use crate::auth::{oidc::OidcError, session::StoreError};
use app::{
    error::AppError,
    names::{paths, sign_in_url},
    pages::{ErrorDocument, ErrorPageInfo},
};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use leptos::prelude::*;

/// `a: b: c` for an error and its sources.
pub fn cause_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// 400: the callback's `state` matches no sign-in this browser started (forged, replayed,
    /// expired, or started in another browser).
    #[error("the sign-in response matches no sign-in started in this browser")]
    StateMismatch,
    /// 400: the callback lacks a required parameter.
    #[error("the sign-in response has no `{0}` parameter")]
    MissingParameter(&'static str),
    /// 403 for `access_denied`, 400 otherwise: the IdP answered the authorization request with
    /// an error.
    #[error("the identity provider refused the sign-in: {error}")]
    Refused {
        error: String,
        description: Option<String>,
    },
    /// 400: RFC 9207 — the authorization response's `iss` is missing or not our issuer.
    #[error("the sign-in response names issuer {found:?}, not the configured one")]
    IssuerMismatch { found: Option<String> },
    /// 502: the IdP was unreachable, or answered something unusable or invalid.
    #[error(transparent)]
    Idp(#[from] OidcError),
    /// 503: the session store is unavailable.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500: a bug or misconfiguration.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthError {
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::StateMismatch
            | AuthError::MissingParameter(_)
            | AuthError::IssuerMismatch { .. } => StatusCode::BAD_REQUEST,
            AuthError::Refused { error, .. } if error == "access_denied" => StatusCode::FORBIDDEN,
            AuthError::Refused { .. } => StatusCode::BAD_REQUEST,
            AuthError::Idp(_) => StatusCode::BAD_GATEWAY,
            AuthError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn page(&self) -> ErrorPageInfo {
        let try_again = |title: &str, message: String, detail: Option<String>| ErrorPageInfo {
            title: title.to_owned(),
            message,
            detail,
            action_label: "Try again".to_owned(),
            action_href: sign_in_url(paths::HOME),
        };
        match self {
            AuthError::StateMismatch => try_again(
                "Sign-in could not be completed",
                "This sign-in response does not belong to a sign-in started in this browser \
                 (state mismatch). It may have expired, been used already, or been started elsewhere. \
                 Nothing was signed in."
                    .to_owned(),
                None,
            ),
            AuthError::MissingParameter(name) => try_again(
                "Sign-in could not be completed",
                format!("The identity provider's response has no `{name}` parameter. Nothing was signed in."),
                None,
            ),
            AuthError::Refused { error, description } => try_again(
                if error == "access_denied" { "Sign-in was cancelled or refused" } else { "Sign-in was refused" },
                format!("The identity provider answered `{error}`."),
                description.clone(),
            ),
            AuthError::IssuerMismatch { .. } => try_again(
                "Sign-in could not be completed",
                "The sign-in response names a different identity provider than the one this app uses \
                 (RFC 9207 issuer mismatch). Nothing was signed in."
                    .to_owned(),
                None,
            ),
            AuthError::Idp(err) => try_again(
                "The identity provider failed",
                "Signing in did not work because of the identity provider.".to_owned(),
                Some(capitalise(&err.to_string())),
            ),
            AuthError::Store(_) => try_again(
                "Sessions are unavailable",
                "The session store is unavailable right now, so nobody can sign in. Try again in a moment.".to_owned(),
                None,
            ),
            AuthError::Internal(_) => try_again(
                "Something went wrong",
                "Something went wrong on the server; the details are in its log.".to_owned(),
                None,
            ),
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %cause_chain(&self), %status, "auth request failed");
        } else {
            tracing::warn!(error = %cause_chain(&self), %status, "auth request refused");
        }
        error_page(status, self.page())
    }
}

/// A response that [`render_error_pages`] renders as the app's error page.
pub fn error_page(status: StatusCode, info: ErrorPageInfo) -> Response {
    let mut response = status.into_response();
    response.extensions_mut().insert(info);
    response
}

/// Renders responses that carry an [`ErrorPageInfo`] as HTML error pages.
pub async fn render_error_pages(
    State(options): State<LeptosOptions>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if let Some(info) = response.extensions_mut().remove::<ErrorPageInfo>() {
        let html = render_error_document(&options, info);
        let mut page = (response.status(), Html(html)).into_response();
        page.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for (name, value) in response.headers() {
            if name == header::SET_COOKIE || name == header::WWW_AUTHENTICATE {
                page.headers_mut().append(name.clone(), value.clone());
            }
        }
        return page;
    }
    response
}

fn render_error_document(options: &LeptosOptions, info: ErrorPageInfo) -> String {
    let owner = Owner::new();
    owner.with(|| view! { <ErrorDocument options=options.clone() info/> }.to_html())
}

/// Gives a server function's error response the status of its error: 401 without a session,
/// 400 for a request the app's client does not send, 502/503 when the IdP or the store fails.
/// (Leptos answers every server-function error with 500.)
pub async fn server_fn_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if !response
        .headers()
        .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Error bodies are a few hundred bytes of JSON.
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, parts.headers).into_response(),
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(error.status()) {
            parts.status = status;
        }
        if error.status() >= 500 {
            tracing::warn!(%parts.status, error = %error, "server function failed");
        }
    }
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
