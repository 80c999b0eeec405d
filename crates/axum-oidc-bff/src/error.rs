//! Errors, and the pages they become.
//!
//! [`BffError`] is what the backend-for-frontend answers with when something fails: whose fault
//! it is decides its status ([`BffError::status`]: 4xx for the caller, 502 for the IdP, 503 for
//! the store or a limit, 500 for a bug), and its kind decides a short code
//! ([`BffError::code`]) and the words a person reads. What the IdP or a library said stays in
//! the error's sources, for the log.
//!
//! As a response, an error carries an [`ErrorPage`] (and the error itself, for the log); the
//! error-pages stage of [`Bff::layer`](crate::Bff::layer) logs the cause chain once and has the
//! application's [`ErrorRenderer`] draw the page for browsers (requests that do not accept HTML
//! get JSON: `{"error": code, "error_description": message}`). Nothing here ever logs or shows
//! a token, code, secret or cookie value.

use crate::{
    log::chain,
    oidc::{IdTokenProblem, OidcError, SignInError},
    session::{EndReason, StoreError},
};
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};
use openidconnect::core::CoreAuthErrorResponseType;
use std::sync::Arc;

/// What went wrong, by kind; see the [module documentation](self).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BffError {
    /// 401: nobody is signed in.
    #[error("nobody is signed in")]
    NotSignedIn,
    /// 401: the session just ended, for this reason.
    #[error("the session ended: {0}")]
    SessionEnded(EndReason),
    /// 400/403/502/503: the sign-in response could not be accepted.
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// 502 (503 when its call slots are all taken): the IdP was unreachable, or answered
    /// something unusable or invalid.
    #[error(transparent)]
    Idp(#[from] OidcError),
    /// 503: the session store is unavailable, or another request held the session's lock too
    /// long.
    #[error(transparent)]
    StoreUnavailable(StoreError),
    /// 503: the server is at a limit (too many requests of a kind in flight).
    #[error("the server is busy")]
    Busy,
    /// 500: a bug or misconfiguration (the text is for the log).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for BffError {
    fn from(err: StoreError) -> Self {
        BffError::from_store(err)
    }
}

impl BffError {
    /// The store failed (or a lock stayed busy).
    pub(crate) fn from_store(err: StoreError) -> Self {
        if err.is_busy() {
            BffError::Busy
        } else {
            BffError::StoreUnavailable(err)
        }
    }

    /// The HTTP status that says whose fault it is.
    pub fn status(&self) -> StatusCode {
        match self {
            BffError::NotSignedIn | BffError::SessionEnded(_) => StatusCode::UNAUTHORIZED,
            BffError::SignIn(SignInError::Refused { code, .. })
                if *code == CoreAuthErrorResponseType::AccessDenied =>
            {
                StatusCode::FORBIDDEN
            }
            BffError::SignIn(SignInError::Idp(OidcError::Busy))
            | BffError::Idp(OidcError::Busy)
            | BffError::StoreUnavailable(_)
            | BffError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            BffError::SignIn(SignInError::Idp(_)) | BffError::Idp(_) => StatusCode::BAD_GATEWAY,
            BffError::SignIn(_) => StatusCode::BAD_REQUEST,
            BffError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, stable name for the kind (`signin.state`, `idp.id_token.expired`, …), shown on
    /// error pages and logged with the cause.
    pub fn code(&self) -> &'static str {
        match self {
            BffError::NotSignedIn => "session.none",
            BffError::SessionEnded(_) => "session.ended",
            BffError::SignIn(SignInError::StateMismatch) => "signin.state",
            BffError::SignIn(SignInError::Refused { code, .. })
                if *code == CoreAuthErrorResponseType::AccessDenied =>
            {
                "signin.access_denied"
            }
            BffError::SignIn(SignInError::Refused { .. }) => "signin.refused",
            BffError::SignIn(SignInError::IssuerMismatch) => "signin.iss",
            BffError::SignIn(SignInError::MissingCode) => "signin.no_code",
            BffError::SignIn(SignInError::Idp(err)) | BffError::Idp(err) => err.code(),
            BffError::StoreUnavailable(_) => "store.unavailable",
            BffError::Busy => "server.busy",
            BffError::Internal(_) => "internal",
        }
    }

    /// What a person reads: a title and a message, chosen by kind.
    pub fn words(&self) -> (&'static str, String) {
        const NOT_COMPLETED: &str = "Sign-in could not be completed";
        const IDP_FAILED: &str = "The identity provider failed";
        match self {
            BffError::NotSignedIn => ("Not signed in", "You are not signed in.".into()),
            BffError::SessionEnded(_) => (
                "Signed out",
                "Your session has ended. Sign in again.".into(),
            ),
            BffError::SignIn(SignInError::StateMismatch) => (
                NOT_COMPLETED,
                "This sign-in response does not belong to a sign-in started in this browser \
                 (state mismatch). It may have expired, been used already, or been started \
                 elsewhere. Nothing was signed in."
                    .into(),
            ),
            BffError::SignIn(SignInError::Refused { code, .. })
                if *code == CoreAuthErrorResponseType::AccessDenied =>
            (
                "Sign-in was cancelled or refused",
                "The identity provider says the sign-in was cancelled or refused. Nothing was \
                 signed in."
                    .into(),
            ),
            BffError::SignIn(SignInError::Refused { .. }) => (
                "Sign-in was refused",
                "The identity provider refused the sign-in request. Nothing was signed in; if it \
                 keeps happening, check the application's settings at the identity provider."
                    .into(),
            ),
            BffError::SignIn(SignInError::IssuerMismatch) => (
                NOT_COMPLETED,
                "The sign-in response names a different identity provider than the one this app \
                 uses (RFC 9207 issuer mismatch). Nothing was signed in."
                    .into(),
            ),
            BffError::SignIn(SignInError::MissingCode) => (
                NOT_COMPLETED,
                "The identity provider's response has no authorization code. Nothing was signed in."
                    .into(),
            ),
            BffError::SignIn(SignInError::Idp(err @ OidcError::Busy))
            | BffError::Idp(err @ OidcError::Busy) => ("The server is busy", idp_message(err)),
            BffError::SignIn(SignInError::Idp(err)) | BffError::Idp(err) => {
                (IDP_FAILED, idp_message(err))
            }
            BffError::StoreUnavailable(_) => (
                "Sessions are unavailable",
                "The session store is unavailable right now, so nobody can sign in. Try again in \
                 a moment."
                    .into(),
            ),
            BffError::Busy => (
                "The server is busy",
                "Too many requests are being answered right now. Nothing was changed; try again \
                 in a moment."
                    .into(),
            ),
            BffError::Internal(_) => (
                "Something went wrong",
                "Something went wrong on the server; the details are in its log.".into(),
            ),
        }
    }

    /// The page for this error: its words, its code, and "Try again" (signing in again).
    pub fn page(&self) -> ErrorPage {
        let (title, message) = self.words();
        ErrorPage {
            status: self.status(),
            title: title.to_owned(),
            message,
            detail: Some(format!("Error code: {}", self.code())),
            action: Action::SignIn {
                label: "Try again".to_owned(),
                return_to: "/".to_owned(),
            },
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

/// What an error page says, and the one thing it offers to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorPage {
    /// The response's status.
    pub status: StatusCode,
    /// What happened, in a few words.
    pub title: String,
    /// What happened and what to do, for the person in front of the page.
    pub message: String,
    /// A second line, e.g. `Error code: signin.state`.
    pub detail: Option<String>,
    /// The one action the page offers.
    pub action: Action,
}

/// The action an error page offers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Sign in (again), then come back to `return_to`.
    SignIn {
        /// The button's text.
        label: String,
        /// Where to come back to after signing in.
        return_to: String,
    },
    /// A link.
    Link {
        /// The link's text.
        label: String,
        /// Where it goes.
        href: String,
    },
}

impl Action {
    /// The action's label.
    pub fn label(&self) -> &str {
        match self {
            Action::SignIn { label, .. } | Action::Link { label, .. } => label,
        }
    }
}

/// Draws error pages in the application's layout. The page's action comes with its link
/// resolved (a sign-in action as the sign-in URL).
pub trait ErrorRenderer: Send + Sync + 'static {
    /// An HTML document for `page`, whose action links to `action_href`.
    fn render(&self, page: &ErrorPage, action_href: &str) -> String;
}

/// A plain HTML error page (the default [`ErrorRenderer`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainErrorPages;

impl ErrorRenderer for PlainErrorPages {
    fn render(&self, page: &ErrorPage, action_href: &str) -> String {
        let escape = |text: &str| {
            text.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let detail = page
            .detail
            .as_deref()
            .map(|d| format!("<p>{}</p>", escape(d)))
            .unwrap_or_default();
        format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title></head><body><main><h1>{title}</h1><p>{message}</p>{detail}\
             <p><a href=\"{href}\">{label}</a></p></main></body></html>",
            title = escape(&page.title),
            message = escape(&page.message),
            href = escape(action_href),
            label = escape(page.action.label()),
        )
    }
}

/// The error behind an error response, for the error-pages stage to log.
#[derive(Clone)]
pub(crate) struct ErrorReport {
    pub code: &'static str,
    pub error: Arc<dyn std::error::Error + Send + Sync>,
}

impl IntoResponse for BffError {
    fn into_response(self) -> Response {
        let mut response = error_page(self.page());
        response.extensions_mut().insert(ErrorReport {
            code: self.code(),
            error: Arc::new(self),
        });
        response
    }
}

/// A response that [`Bff::layer`](crate::Bff::layer) turns into an error page (HTML for
/// browsers, JSON for other callers); `503`s carry `Retry-After`.
pub fn error_page(page: ErrorPage) -> Response {
    let mut response = page.status.into_response();
    if page.status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response.extensions_mut().insert(page);
    response
}

/// Whether the caller reads HTML: anything but an `Accept` that names JSON and not HTML (a
/// browser's navigation, or a client that accepts anything, gets the page).
pub(crate) fn wants_html(headers: &axum::http::HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !(accept.contains("application/json") && !accept.contains("text/html"))
        && !accept.contains("text/event-stream")
}

/// The error-pages stage: logs the cause of an error response once, and draws its page.
pub(crate) fn finish_error_response(
    bff: &crate::bff::BffInner,
    wants_html: bool,
    mut response: Response,
) -> Response {
    let status = response.status();
    if let Some(report) = response.extensions_mut().remove::<ErrorReport>() {
        let error = chain(report.error.as_ref());
        if status.is_server_error() {
            tracing::error!(%error, code = report.code, %status, "request failed");
        } else {
            tracing::warn!(%error, code = report.code, %status, "request refused");
        }
    }
    let Some(page) = response.extensions_mut().remove::<ErrorPage>() else {
        return response;
    };
    let mut answer = if wants_html {
        let href = match &page.action {
            Action::SignIn { return_to, .. } => bff.settings.paths.sign_in_url(return_to),
            Action::Link { href, .. } => href.clone(),
        };
        (status, Html(bff.renderer.render(&page, &href))).into_response()
    } else {
        let code = page
            .detail
            .as_deref()
            .and_then(|d| d.strip_prefix("Error code: "))
            .unwrap_or("error")
            .to_owned();
        (
            status,
            axum::Json(serde_json::json!({
                "error": code,
                "error_description": page.message,
            })),
        )
            .into_response()
    };
    for (name, value) in response.headers() {
        if name == header::SET_COOKIE
            || name == header::WWW_AUTHENTICATE
            || name == header::RETRY_AFTER
        {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    answer
}
