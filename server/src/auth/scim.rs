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
            tracing::warn!(error = %crate::cause::chain(&err), "scim2/Me failed");
            match err {
                HttpError::TooLarge => AppError::MalformedProfile,
                _ => AppError::IdpUnreachable,
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

/// `GET /api/scim2/Me`: scim2/Me through the server, for deployments that keep the access token
/// out of JavaScript (`AUTH_EXPOSE_ACCESS_TOKEN=false`). Same-origin, so it needs no CORS; the
/// IdP's status and body are passed on.
pub fn router() -> axum::Router<crate::AppState> {
    axum::Router::new().route(app::names::paths::ME_PROXY, axum::routing::get(me_proxy))
}

async fn me_proxy(
    axum::extract::State(auth): axum::extract::State<std::sync::Arc<super::AuthService>>,
    session: super::AuthSession,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let scim_error = |status: http::StatusCode, detail: String| {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "detail": detail,
            "status": status.as_u16().to_string(),
        });
        (
            status,
            [
                (header::CONTENT_TYPE, SCIM_MEDIA_TYPE),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body.to_string(),
        )
            .into_response()
    };
    match auth.me_with_refresh(&session).await {
        Ok(me) => {
            let status =
                http::StatusCode::from_u16(me.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
            (status, [(header::CONTENT_TYPE, SCIM_MEDIA_TYPE)], me.body).into_response()
        }
        Err(err @ (AppError::NotSignedIn | AppError::SessionEnded(_))) => {
            scim_error(http::StatusCode::UNAUTHORIZED, err.to_string())
        }
        Err(err) => {
            let status =
                http::StatusCode::from_u16(err.status()).unwrap_or(http::StatusCode::BAD_GATEWAY);
            scim_error(status, err.to_string())
        }
    }
}
