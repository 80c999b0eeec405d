//! OpenID Connect Back-Channel Logout 1.0: `POST /api/auth/backchannel-logout`.
//!
//! The IdP posts a signed logout token when a user's IdP session ends. Once validated (see
//! [`OidcClient::validate_logout_token`](super::oidc::OidcClient::validate_logout_token)), it
//! marks the IdP session (`sid`) — and the user's sessions that have no `sid`, when the token
//! names the user too — or, without a `sid`, every session of the user (`sub`) as logged out in
//! the shared session backend, so that every server instance ends the matching sessions on their
//! next request, whichever store holds them. Marks only move forward, so a retried or replayed
//! older token cannot undo a newer logout. A token's `jti` is accepted once.

use crate::{bff::Bff, events::AuthEvent, log::chain, oidc::OidcError, store::LogoutKey};
use axum::{
    extract::{rejection::FormRejection, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Form, Json,
};
use serde::Deserialize;
use std::time::Duration;

/// Clock skew added to a logout token's remaining lifetime for its `jti` record.
const JTI_SKEW_SECS: u64 = 120;

#[derive(Deserialize)]
pub(crate) struct LogoutForm {
    logout_token: String,
}

fn refuse(status: StatusCode, description: &str) -> Response {
    tracing::warn!(%status, description, "back-channel logout refused");
    let body = serde_json::json!({ "error": "invalid_request", "error_description": description });
    (status, Json(body)).into_response()
}

#[tracing::instrument(skip_all)]
pub(crate) async fn backchannel_logout(
    State(bff): State<Bff>,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "a form-encoded logout_token is required",
        );
    };
    let claims = match bff.0.oidc.validate_logout_token(&form.logout_token).await {
        Ok(claims) => claims,
        Err(err @ OidcError::LogoutToken(_)) => {
            tracing::warn!(error = %chain(&err), "logout token refused");
            return refuse(StatusCode::BAD_REQUEST, "the logout token is not valid");
        }
        Err(err) => {
            // Without discovery and keys, no token can be checked: the IdP should retry.
            tracing::error!(error = %chain(&err), "back-channel logout: the identity provider's keys are unavailable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
            )
                .into_response();
        }
    };
    // Marks outlive every session they could apply to.
    let keep = bff.0.settings.max_age + Duration::from_secs(60);
    // The marks first: writing them twice is harmless (a mark only moves forward), so when one
    // fails the IdP's retry must not be refused as a replay. Then the jti, for as long as the
    // token could be presented.
    let logged_out_at = claims.issued_at.min(bff.0.now());
    for key in &claims.keys {
        if let Err(err) = bff
            .0
            .backend
            .mark_logged_out(key, logged_out_at, keep)
            .await
        {
            tracing::error!(error = %chain(&err), "back-channel logout: session backend unavailable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
            )
                .into_response();
        }
    }
    let jti_lifetime =
        claims.expires_at.saturating_sub(logged_out_at).max(0) as u64 + JTI_SKEW_SECS;
    match bff
        .0
        .backend
        .claim_once(&claims.jti, Duration::from_secs(jti_lifetime))
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "this logout token was already used",
            )
        }
        Err(err) => {
            tracing::error!(error = %chain(&err), "back-channel logout: session backend unavailable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
            )
                .into_response();
        }
    }
    tracing::info!(
        by_sid = claims.keys.iter().any(|k| matches!(k, LogoutKey::Sid(_))),
        "back-channel logout"
    );
    // Open tabs hear it now, whichever instance holds their event stream.
    for key in claims.keys {
        bff.0
            .events
            .publish(AuthEvent::LoggedOut {
                key,
                at: logged_out_at,
            })
            .await;
    }
    StatusCode::OK.into_response()
}
