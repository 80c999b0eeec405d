//! The one HTTP client for every call to the IdP (discovery, JWKS, token, userinfo, scim2/Me).
//!
//! One pooled `reqwest::Client`, with:
//! - redirects off: an IdP endpoint that redirects must not be able to point the server at an
//!   arbitrary URL (SSRF, and credentials sent to a third party);
//! - connect and total timeouts, so that an IdP that hangs yields an error page, not a stuck request;
//! - a cap on response bodies, so that an IdP that streams without end cannot exhaust memory.

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};
use std::{future::Future, pin::Pin, time::Duration};

/// Largest response accepted from the IdP (discovery documents and JWKS included).
pub(crate) const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a call to the IdP got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// It did not answer in time.
    #[error("the request timed out")]
    Timeout,
    /// It could not be connected to.
    #[error("could not connect")]
    Connect,
    /// The answer is larger than accepted (its limit, in bytes).
    #[error("the response is larger than {0} bytes")]
    TooLarge(usize),
    /// It answered with a server error (5xx) or asked us to slow down (429).
    #[error("it answered HTTP {0}")]
    Unavailable(u16),
    /// Anything else (the text is for the log).
    #[error("the request failed: {0}")]
    Other(String),
}

impl HttpError {
    /// Whether the same request may work a moment later.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, HttpError::TooLarge(_))
    }
}

impl From<reqwest::Error> for HttpError {
    fn from(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            HttpError::Timeout
        } else if err.is_connect() {
            HttpError::Connect
        } else {
            // Without the URL: it may carry query parameters.
            HttpError::Other(crate::log::chain(&err.without_url()))
        }
    }
}

#[derive(Clone)]
pub(crate) struct IdpHttp {
    client: reqwest::Client,
}

impl IdpHttp {
    pub(crate) fn new(connect_timeout: Duration, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("axum-oidc-bff/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(IdpHttp { client })
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request` and reads at most [`MAX_RESPONSE_BYTES`] of the answer.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, http::HeaderMap, Vec<u8>), HttpError> {
        self.send_capped(request, MAX_RESPONSE_BYTES).await
    }

    /// Sends `request` and reads at most `max` bytes of the answer.
    pub(crate) async fn send_capped(
        &self,
        request: reqwest::RequestBuilder,
        max: usize,
    ) -> Result<(reqwest::StatusCode, http::HeaderMap, Vec<u8>), HttpError> {
        let mut response = request.send().await?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let body = read_capped(response, max).await?;
        Ok((status, headers, body))
    }
}

async fn read_capped(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, HttpError> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(HttpError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max {
            return Err(HttpError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl<'c> AsyncHttpClient<'c> for IdpHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(HttpError::from)?;
            let response = self.client.execute(request).await?;
            // Server errors are the IdP's trouble whatever the body says: worth a retry, and
            // never parsed as a protocol answer.
            let status = response.status();
            if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                return Err(HttpError::Unavailable(status.as_u16()));
            }
            let mut builder = http::Response::builder().status(response.status());
            if let Some(headers) = builder.headers_mut() {
                *headers = response.headers().clone();
            }
            let body = read_capped(response, MAX_RESPONSE_BYTES).await?;
            builder
                .body(body)
                .map_err(|e| HttpError::Other(e.to_string()))
        })
    }
}
