//! Calling a protected API from the server with the session's access token: [`Api`], an
//! extractor.
//!
//! ```no_run
//! use axum_oidc_bff::{Api, ApiError};
//!
//! async fn orders(api: Api) -> Result<String, ApiError> {
//!     let response = api
//!         .get("https://orders.example.com/v1/mine")
//!         .header("accept", "application/json")
//!         .send()
//!         .await?
//!         .error_for_status()?;
//!     Ok(response.text())
//! }
//! ```
//!
//! The token is refreshed first when it is about to expire; when the API answers `401`, the
//! token is refreshed once (however many requests of the session ask at once) and the call
//! made once more. Redirects are not followed (the token must not go elsewhere), answers are
//! capped in size, and calls time out. The API's own words stay in the log; [`ApiError`] says
//! what happened by kind, with the status to answer with.

use crate::{
    bff::{Bff, BffInner},
    error::{error_page, Action, BffError, ErrorPage},
    extract::bff_and_session,
    log::{chain, Untrusted},
    oidc::http::HttpError,
    session::{AuthSession, EndReason},
};
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use std::time::Duration;
use url::Url;

/// Largest answer accepted from an API unless the request says otherwise.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// How long a call may take unless the request says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a call to a protected API gave no usable answer, by kind; [`ApiError::status`] is the
/// status to answer the caller with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 401: nobody is signed in.
    #[error("nobody is signed in")]
    NotSignedIn,
    /// 401: the session ended (on the way, perhaps: its refresh was refused).
    #[error("the session ended: {0}")]
    SessionEnded(EndReason),
    /// 401: the API refuses the session's token even after a refresh.
    #[error("the API refuses the access token, also after a refresh")]
    TokenRefused,
    /// 403: the API says the token may not do this (a scope is missing, say).
    #[error("the API refuses this request for the token (HTTP 403)")]
    Forbidden,
    /// 502: the API answered another error status.
    #[error("the API answered HTTP {0}")]
    Status(u16),
    /// 502: the API could not be reached, timed out, or answered too much.
    #[error("the API could not be used")]
    Unreachable(#[source] HttpError),
    /// 503: the session store is unavailable, or the server is at a limit.
    #[error(transparent)]
    Unavailable(BffError),
    /// 500: the request could not be made (a malformed URL, say; the text is for the log).
    #[error("the API request is malformed: {0}")]
    Request(String),
}

impl From<BffError> for ApiError {
    fn from(err: BffError) -> Self {
        match err {
            BffError::NotSignedIn => ApiError::NotSignedIn,
            BffError::SessionEnded(reason) => ApiError::SessionEnded(reason),
            other => ApiError::Unavailable(other),
        }
    }
}

impl ApiError {
    /// The status that says whose fault it is.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotSignedIn | ApiError::SessionEnded(_) | ApiError::TokenRefused => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::Status(_) | ApiError::Unreachable(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(err) => err.status(),
            ApiError::Request(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, stable name for the kind (`api.unreachable`, …).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotSignedIn => "session.none",
            ApiError::SessionEnded(_) => "session.ended",
            ApiError::TokenRefused => "api.token_refused",
            ApiError::Forbidden => "api.forbidden",
            ApiError::Status(_) => "api.status",
            ApiError::Unreachable(_) => "api.unreachable",
            ApiError::Unavailable(err) => err.code(),
            ApiError::Request(_) => "internal",
        }
    }

    /// What a person reads, by kind.
    pub fn message(&self) -> String {
        match self {
            ApiError::NotSignedIn => "You are not signed in.".into(),
            ApiError::SessionEnded(_) => "Your session has ended. Sign in again.".into(),
            ApiError::TokenRefused => {
                "The service no longer accepts your sign-in. Sign in again.".into()
            }
            ApiError::Forbidden => "You may not do this with your current sign-in.".into(),
            ApiError::Status(_) | ApiError::Unreachable(_) => {
                "The service could not be reached or failed; try again in a moment.".into()
            }
            ApiError::Unavailable(err) => err.words().1,
            ApiError::Request(_) => {
                "Something went wrong on the server; the details are in its log.".into()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let return_to = "/".to_owned();
        let page = ErrorPage {
            status,
            title: match status {
                StatusCode::UNAUTHORIZED => "Signed out",
                StatusCode::FORBIDDEN => "Not allowed",
                StatusCode::SERVICE_UNAVAILABLE => "The server is busy",
                _ => "The service failed",
            }
            .to_owned(),
            message: self.message(),
            detail: Some(format!("Error code: {}", self.code())),
            action: if status == StatusCode::UNAUTHORIZED {
                Action::SignIn {
                    label: "Sign in again".into(),
                    return_to,
                }
            } else {
                Action::Link {
                    label: "Go home".into(),
                    href: return_to,
                }
            },
        };
        if status.is_server_error() {
            tracing::warn!(error = %chain(&self), code = self.code(), "an API call failed");
        }
        error_page(page)
    }
}

/// A protected API, called with the signed-in session's access token; an extractor (it needs
/// [`Bff::layer`](crate::Bff::layer)). See the [module documentation](self).
#[derive(Clone)]
pub struct Api {
    bff: Bff,
    session: AuthSession,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Api")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Api {
    type Rejection = BffError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, BffError> {
        let (bff, session) = bff_and_session(parts)?;
        Ok(Api { bff, session })
    }
}

impl Api {
    /// A `GET` of `url`.
    pub fn get(&self, url: &str) -> ApiRequest<'_> {
        self.request(Method::GET, url)
    }

    /// A request of `method` to `url` (https, or http on this machine).
    pub fn request(&self, method: Method, url: &str) -> ApiRequest<'_> {
        ApiRequest {
            api: self,
            method,
            url: Url::parse(url).map_err(|e| e.to_string()),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    pub(crate) fn bff(&self) -> &BffInner {
        &self.bff.0
    }
}

/// A request to a protected API, ready to [`send`](ApiRequest::send).
#[must_use = "a request does nothing until it is sent"]
pub struct ApiRequest<'a> {
    api: &'a Api,
    method: Method,
    url: Result<Url, String>,
    headers: HeaderMap,
    body: Bytes,
    timeout: Duration,
    max_response_bytes: usize,
}

impl ApiRequest<'_> {
    /// Adds a header (an `Authorization` header is replaced by the session's token).
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        match (
            HeaderName::from_bytes(name.as_ref().as_bytes()),
            HeaderValue::from_str(value.as_ref()),
        ) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => self.url = Err("a header is malformed".into()),
        }
        self
    }

    /// Sends `body`.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends `value` as JSON, with `Content-Type: application/json`.
    pub fn json<T: serde::Serialize>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                self.body = body.into();
                self.headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            Err(err) => self.url = Err(format!("the JSON body cannot be written: {err}")),
        }
        self
    }

    /// Gives up after `timeout` (default 15 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Refuses answers larger than `bytes` (default 1 MiB).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Sends it with the session's access token; on a `401`, refreshes the token once and sends
    /// it once more. Any status is an answer ([`ApiResponse::error_for_status`] makes errors of
    /// them); no session, a session that ended, or an API that cannot be reached is an error.
    pub async fn send(self) -> Result<ApiResponse, ApiError> {
        let url = self.url.clone().map_err(ApiError::Request)?;
        let secure = url.scheme() == "https"
            || (url.scheme() == "http" && crate::settings::is_loopback(&url));
        if !secure {
            // The token would travel in the clear.
            return Err(ApiError::Request(
                "the API is not an https URL (plain http only on this machine)".into(),
            ));
        }
        let bff = self.api.bff();
        let session = &self.api.session;
        let signed_in = bff.require(session).await?;
        let first = self.send_with(&url, &signed_in.tokens.access_token).await?;
        if first.status != StatusCode::UNAUTHORIZED {
            return Ok(first);
        }
        tracing::info!(api = %Untrusted(url.host_str().unwrap_or("")), "the API refused the access token; refreshing once");
        match bff
            .refresh(session, &signed_in.tokens.access_token)
            .await
            .map_err(BffError::from_store)?
        {
            Some(fresh) if fresh.tokens.access_token != signed_in.tokens.access_token => {
                self.send_with(&url, &fresh.tokens.access_token).await
            }
            // Not refreshed (refreshed moments ago, or the IdP is down but the token has not
            // expired): the API's 401 stands.
            Some(_) => Ok(first),
            None => Err(crate::bff::ended(session).await.into()),
        }
    }

    async fn send_with(&self, url: &Url, token: &str) -> Result<ApiResponse, ApiError> {
        let bff = self.api.bff();
        let mut headers = self.headers.clone();
        headers.remove(header::AUTHORIZATION);
        let request = bff
            .http
            .client()
            .request(self.method.clone(), url.clone())
            .headers(headers)
            .bearer_auth(token)
            .timeout(self.timeout)
            .body(self.body.clone());
        let (status, headers, body) = bff
            .http
            .send_capped(request, self.max_response_bytes)
            .await
            .map_err(ApiError::Unreachable)?;
        if !status.is_success() {
            tracing::info!(status = status.as_u16(), "the API answered an error status");
        }
        Ok(ApiResponse {
            status,
            headers,
            body: body.into(),
        })
    }
}

/// What an API answered.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl ApiResponse {
    /// Its status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Its headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Its body.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// Its body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Its body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// Itself when its status is a success; otherwise the error of its kind: `401`
    /// [`ApiError::TokenRefused`] (it was refreshed already), `403` [`ApiError::Forbidden`],
    /// anything else [`ApiError::Status`].
    pub fn error_for_status(self) -> Result<Self, ApiError> {
        match self.status {
            status if status.is_success() => Ok(self),
            StatusCode::UNAUTHORIZED => Err(ApiError::TokenRefused),
            StatusCode::FORBIDDEN => Err(ApiError::Forbidden),
            status => Err(ApiError::Status(status.as_u16())),
        }
    }

    pub(crate) fn into_parts(self) -> (StatusCode, HeaderMap, Bytes) {
        (self.status, self.headers, self.body)
    }
}
