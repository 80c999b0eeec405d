//! Errors of the auth endpoints, and the error pages they become.
//!
//! A handler's error becomes a response carrying an [`ErrorPageInfo`] extension, its status, and
//! the error itself ([`ErrorReport`]); the [`render_error_pages`] layer logs the error's cause
//! chain once and renders the app's error page (same layout and stylesheet as the app). The page
//! says what happened in the app's own words, one message per kind, with a short error code;
//! what the IdP or a library said goes to the log only. Nothing here ever logs or shows a token,
//! code, secret or cookie value.

use crate::auth::{
    oidc::{IdTokenProblem, OidcError, SignInError},
    session::StoreError,
};
use app::{
    error::AppError,
    names::{paths, sign_in_url},
    pages::{ErrorDocument, ErrorPageInfo},
};
use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use leptos::prelude::*;
use openidconnect::core::CoreAuthErrorResponseType;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// 400/403: the sign-in response could not be accepted.
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// 502: the IdP was unreachable, or answered something unusable or invalid.
    #[error(transparent)]
    Idp(#[from] OidcError),
    /// 503: the session store is unavailable.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500: the session layer is missing (a bug in how the router was built).
    #[error("no session in the request: is the session layer installed?")]
    NoSessionLayer,
    /// 500: a bug or misconfiguration.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthError {
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::SignIn(SignInError::Refused { code, .. })
                if *code == CoreAuthErrorResponseType::AccessDenied =>
            {
                StatusCode::FORBIDDEN
            }
            AuthError::SignIn(SignInError::Idp(OidcError::Busy))
            | AuthError::Idp(OidcError::Busy) => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::SignIn(SignInError::Idp(_)) | AuthError::Idp(_) => StatusCode::BAD_GATEWAY,
            AuthError::SignIn(_) => StatusCode::BAD_REQUEST,
            AuthError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::NoSessionLayer | AuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, stable name for the kind, shown on the page and logged with the cause.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::SignIn(SignInError::StateMismatch) => "signin.state",
            AuthError::SignIn(SignInError::Refused { code, .. })
                if *code == CoreAuthErrorResponseType::AccessDenied =>
            {
                "signin.access_denied"
            }
            AuthError::SignIn(SignInError::Refused { .. }) => "signin.refused",
            AuthError::SignIn(SignInError::IssuerMismatch) => "signin.iss",
            AuthError::SignIn(SignInError::MissingCode) => "signin.no_code",
            AuthError::SignIn(SignInError::Idp(err)) | AuthError::Idp(err) => err.code(),
            AuthError::Store(_) => "store.unavailable",
            AuthError::NoSessionLayer | AuthError::Internal(_) => "internal",
        }
    }

    /// The page's title and message, chosen by kind.
    fn words(&self) -> (&'static str, String) {
        const NOT_COMPLETED: &str = "Sign-in could not be completed";
        const IDP_FAILED: &str = "The identity provider failed";
        match self {
            AuthError::SignIn(SignInError::StateMismatch) => (
                NOT_COMPLETED,
                "This sign-in response does not belong to a sign-in started in this browser \
                 (state mismatch). It may have expired, been used already, or been started \
                 elsewhere. Nothing was signed in."
                    .into(),
            ),
            AuthError::SignIn(SignInError::Refused { code, .. })
                if *code == CoreAuthErrorResponseType::AccessDenied =>
            (
                "Sign-in was cancelled or refused",
                "The identity provider says the sign-in was cancelled or refused. Nothing was \
                 signed in."
                    .into(),
            ),
            AuthError::SignIn(SignInError::Refused { .. }) => (
                "Sign-in was refused",
                "The identity provider refused the sign-in request. Nothing was signed in; if it \
                 keeps happening, check the application's settings at the identity provider."
                    .into(),
            ),
            AuthError::SignIn(SignInError::IssuerMismatch) => (
                NOT_COMPLETED,
                "The sign-in response names a different identity provider than the one this app \
                 uses (RFC 9207 issuer mismatch). Nothing was signed in."
                    .into(),
            ),
            AuthError::SignIn(SignInError::MissingCode) => (
                NOT_COMPLETED,
                "The identity provider's response has no authorization code. Nothing was signed in."
                    .into(),
            ),
            AuthError::SignIn(SignInError::Idp(err @ OidcError::Busy))
            | AuthError::Idp(err @ OidcError::Busy) => ("The server is busy", idp_message(err)),
            AuthError::SignIn(SignInError::Idp(err)) | AuthError::Idp(err) => {
                (IDP_FAILED, idp_message(err))
            }
            AuthError::Store(_) => (
                "Sessions are unavailable",
                "The session store is unavailable right now, so nobody can sign in. Try again in \
                 a moment."
                    .into(),
            ),
            AuthError::NoSessionLayer | AuthError::Internal(_) => (
                "Something went wrong",
                "Something went wrong on the server; the details are in its log.".into(),
            ),
        }
    }

    fn page(&self) -> ErrorPageInfo {
        let (title, message) = self.words();
        ErrorPageInfo {
            title: title.to_owned(),
            message,
            detail: Some(format!("Error code: {}", self.code())),
            action_label: "Try again".to_owned(),
            action_href: sign_in_url(paths::HOME),
        }
    }
}

/// What the page says when the IdP failed, by kind.
fn idp_message(err: &OidcError) -> String {
    let text = match err {
        OidcError::Discovery(_) => {
            "Its configuration (the discovery document) could not be loaded or is not for the \
             configured issuer, so signing in cannot start."
        }
        OidcError::TokenRefused { .. } => {
            "It refused to issue tokens for this sign-in (the authorization code may have been \
             used already, or the app's credentials are wrong)."
        }
        err @ OidcError::TokenEndpoint(_) if err.is_retryable() => {
            "It could not be reached to finish signing in. Try again in a moment."
        }
        OidcError::TokenEndpoint(_) | OidcError::NoIdToken | OidcError::TokenType => {
            "Its answer to finishing the sign-in could not be used."
        }
        OidcError::IdToken(problem, _) => {
            return format!(
                "The ID token it issued did not pass this app's checks ({}), so nobody was \
                 signed in.",
                id_token_words(*problem)
            )
        }
        OidcError::UserInfo(_) => "Its user information could not be read.",
        OidcError::UserInfoSubject => {
            "Its user information is about a different user than the sign-in."
        }
        OidcError::LogoutToken(_) => "Its logout token is not valid.",
        OidcError::Revocation(_) => "It could not revoke the session's tokens.",
        OidcError::Busy => {
            return "Too many sign-ins are being finished right now, so this one was not sent \
                    to the identity provider. Nothing was signed in; try again in a moment."
                .to_owned()
        }
    };
    format!("Signing in did not work because of the identity provider. {text}")
}

fn id_token_words(problem: IdTokenProblem) -> &'static str {
    match problem {
        IdTokenProblem::Issuer => "it names another issuer",
        IdTokenProblem::Audience => "it is not meant for this app",
        IdTokenProblem::AuthorizedParty => "it was issued to another party",
        IdTokenProblem::Expired => "it has expired",
        IdTokenProblem::IssuedInFuture => "it is dated in the future",
        IdTokenProblem::Nonce => "its nonce does not match this sign-in",
        IdTokenProblem::Subject => "its subject is missing or wrong",
        IdTokenProblem::Unsigned => "it is not signed",
        IdTokenProblem::Algorithm => "it is signed with an algorithm this app does not accept",
        IdTokenProblem::Signature => "its signature is not valid",
        IdTokenProblem::UnknownKey => {
            "it is signed with a key the identity provider does not publish"
        }
        IdTokenProblem::AmbiguousKey => "the key that signed it cannot be told apart",
        IdTokenProblem::AccessTokenHash => "its at_hash does not match the access token",
        IdTokenProblem::Session => "it names another session at the identity provider",
        IdTokenProblem::AuthTime => "it names another time of signing in",
        IdTokenProblem::Other => "it is malformed",
    }
}

/// The error behind an error response, for the [`render_error_pages`] layer to log.
#[derive(Clone)]
pub struct ErrorReport {
    pub code: &'static str,
    pub error: Arc<dyn std::error::Error + Send + Sync>,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = self.status();
        let page = self.page();
        let mut response = error_page(status, page);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        response.extensions_mut().insert(ErrorReport {
            code: self.code(),
            error: Arc::new(self),
        });
        response
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
    let status = response.status();
    if let Some(report) = response.extensions_mut().remove::<ErrorReport>() {
        let error = crate::cause::chain(report.error.as_ref());
        if status.is_server_error() {
            tracing::error!(%error, code = report.code, %status, "auth request failed");
        } else {
            tracing::warn!(%error, code = report.code, %status, "auth request refused");
        }
    }
    if let Some(info) = response.extensions_mut().remove::<ErrorPageInfo>() {
        let html = render_error_document(&options, info);
        let mut page = (status, Html(html)).into_response();
        for (name, value) in response.headers() {
            if name == header::SET_COOKIE
                || name == header::WWW_AUTHENTICATE
                || name == header::RETRY_AFTER
            {
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
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
