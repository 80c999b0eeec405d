//! scim2/Me, called by the server with the session's access token.

use super::http::{HttpError, IdpHttp};
use app::{
    error::AppError,
    scim::{interpret_me_response, ScimProfile, SCIM_MEDIA_TYPE},
};
use http::header;
use url::Url;

pub struct ScimClient {
    http: IdpHttp,
    me_endpoint: Url,
}

/// A scim2/Me answer: the status and body as the IdP sent them.
pub struct MeResponse {
    pub status: u16,
    pub body: String,
}

impl MeResponse {
    pub fn profile(&self) -> Result<ScimProfile, AppError> {
        interpret_me_response(self.status, &self.body)
    }
}

impl ScimClient {
    pub fn new(http: IdpHttp, me_endpoint: Url) -> Self {
        ScimClient { http, me_endpoint }
    }

    pub fn me_endpoint(&self) -> &Url {
        &self.me_endpoint
    }

    /// `GET scim2/Me` with the headers the guide sends.
    #[tracing::instrument(skip_all)]
    pub async fn me(&self, access_token: &str) -> Result<MeResponse, AppError> {
        let request = self
            .http
            .client()
            .get(self.me_endpoint.clone())
            .bearer_auth(access_token)
            .header(header::ACCEPT, SCIM_MEDIA_TYPE)
            .header(header::CONTENT_TYPE, SCIM_MEDIA_TYPE);
        let (status, _, body) = self.http.send(request).await.map_err(|err| {
            tracing::warn!(error = %err, "scim2/Me failed");
            match err {
                HttpError::TooLarge => AppError::MalformedProfile(err.to_string()),
                err => AppError::IdpUnreachable(format!("scim2/Me: {err}")),
            }
        })?;
        if !status.is_success() {
            tracing::info!(status = status.as_u16(), "scim2/Me refused");
        }
        Ok(MeResponse {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}
