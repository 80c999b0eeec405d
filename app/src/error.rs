//! The one error type pages and server functions share, and why a session ends.
//!
//! Each kind has one message, chosen by the app and written for the person in front of the page:
//! what went wrong and what to do. Nothing a library or the IdP said reaches the page; the
//! server logs that.

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos_oidc_bff::{
    json::{self, FromJson, JsonView},
    AuthError,
};

pub use leptos_oidc_bff::SessionEnd;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// 401: no session.
    #[error("You are not signed in.")]
    NotSignedIn,
    /// 401 from scim2/Me even after a refresh: the IdP no longer accepts the session's token.
    #[error("Your session at the identity provider has expired — sign in again.")]
    IdpSessionExpired,
    /// 403 from scim2/Me.
    #[error(
        "The access token lacks the internal_login scope — add it to AUTH_ASGARDEO_SCOPE and sign in again."
    )]
    MissingInternalLogin,
    /// 401: the session ended (refresh refused, revoked, logged out elsewhere, lifetimes).
    #[error("{0}")]
    SessionEnded(SessionEnd),
    /// 502: another non-success status from scim2/Me.
    #[error("The identity provider's scim2/Me answered HTTP {0}.")]
    ScimStatus(u16),
    /// 502: scim2/Me answered with something that is not a SCIM user record (or far too much).
    #[error("The identity provider's scim2/Me answer is not a SCIM user record.")]
    MalformedProfile,
    /// 502: the IdP (or its scim2/Me endpoint) could not be reached.
    #[error("The identity provider could not be reached; try again in a moment.")]
    IdpUnreachable,
    /// The browser's request failed before an answer (network error, or a CORS refusal).
    #[error("Your browser could not reach the identity provider's scim2/Me (a network error or a CORS refusal).")]
    Network,
    /// 503: the session store (Redis, SQLite) is unavailable.
    #[error("The session store is unavailable right now; try again in a moment.")]
    StoreUnavailable,
    /// 503: the server is at its limit (requests to the IdP, or a session's refresh in
    /// progress elsewhere); nothing was changed.
    #[error("The server is busy right now; try again in a moment.")]
    Busy,
    /// 400: a server function was called with a body it cannot read (not the browser's doing).
    #[error("The request was malformed.")]
    BadRequest,
    /// A server function could not be called or its answer not read.
    #[error("The request to the server failed; check your connection and try again.")]
    Transport,
    /// 500: a bug or misconfiguration on the server; details are in the server log.
    #[error("Something went wrong on the server; the details are in its log.")]
    Internal,
}

impl AppError {
    /// Whether signing in again is the way out.
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            AppError::NotSignedIn
                | AppError::IdpSessionExpired
                | AppError::MissingInternalLogin
                | AppError::SessionEnded(_)
        )
    }

    /// The HTTP status this error maps to when a server answers with it.
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotSignedIn | AppError::IdpSessionExpired | AppError::SessionEnded(_) => 401,
            AppError::MissingInternalLogin => 403,
            AppError::ScimStatus(_)
            | AppError::MalformedProfile
            | AppError::IdpUnreachable
            | AppError::Network => 502,
            AppError::StoreUnavailable | AppError::Busy => 503,
            AppError::BadRequest => 400,
            AppError::Transport | AppError::Internal => 500,
        }
    }
}

impl FromJson for AppError {
    fn from_json<J: JsonView>(json: &J) -> Option<Self> {
        const NAMES: &[&str] = &[
            "NotSignedIn",
            "IdpSessionExpired",
            "MissingInternalLogin",
            "SessionEnded",
            "ScimStatus",
            "MalformedProfile",
            "IdpUnreachable",
            "Network",
            "StoreUnavailable",
            "Busy",
            "BadRequest",
            "Transport",
            "Internal",
        ];
        let (name, content) = json::variant(json, NAMES)?;
        Some(match name {
            "NotSignedIn" => AppError::NotSignedIn,
            "IdpSessionExpired" => AppError::IdpSessionExpired,
            "MissingInternalLogin" => AppError::MissingInternalLogin,
            "SessionEnded" => AppError::SessionEnded(SessionEnd::from_json(&content?)?),
            "ScimStatus" => AppError::ScimStatus(content?.number()? as u16),
            "MalformedProfile" => AppError::MalformedProfile,
            "IdpUnreachable" => AppError::IdpUnreachable,
            "Network" => AppError::Network,
            "StoreUnavailable" => AppError::StoreUnavailable,
            "Busy" => AppError::Busy,
            "BadRequest" => AppError::BadRequest,
            "Transport" => AppError::Transport,
            _ => AppError::Internal,
        })
    }
}

impl From<AuthError> for AppError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::NotSignedIn => AppError::NotSignedIn,
            AuthError::SessionEnded(reason) => AppError::SessionEnded(reason),
            AuthError::StoreUnavailable => AppError::StoreUnavailable,
            AuthError::Busy => AppError::Busy,
            AuthError::BadRequest => AppError::BadRequest,
            AuthError::Transport => AppError::Transport,
            _ => AppError::Internal,
        }
    }
}

/// A call to scim2/Me that gave no answer to read (the answers themselves, statuses included,
/// are read by [`crate::scim::interpret_me_response`]).
#[cfg(feature = "ssr")]
impl From<axum_oidc_bff::ApiError> for AppError {
    fn from(error: axum_oidc_bff::ApiError) -> Self {
        use axum_oidc_bff::ApiError as E;
        match error {
            E::NotSignedIn => AppError::NotSignedIn,
            E::SessionEnded(reason) => AppError::SessionEnded(reason.into()),
            E::TokenRefused => AppError::IdpSessionExpired,
            E::Forbidden => AppError::MissingInternalLogin,
            E::Status(status) => AppError::ScimStatus(status),
            E::Unreachable(axum_oidc_bff::HttpError::TooLarge(_)) => AppError::MalformedProfile,
            E::Unreachable(_) => AppError::IdpUnreachable,
            E::Unavailable(err) => AuthError::from(err).into(),
            _ => AppError::Internal,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = leptos_oidc_bff::Json;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server these mean the request was not one the app's own client sends.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => AppError::BadRequest,
            // The library's own words stay out of the page.
            _ => AppError::Transport,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_reads_back_as_the_server_sends_it() {
        let mut errors = vec![
            AppError::NotSignedIn,
            AppError::IdpSessionExpired,
            AppError::MissingInternalLogin,
            AppError::ScimStatus(503),
            AppError::MalformedProfile,
            AppError::IdpUnreachable,
            AppError::Network,
            AppError::StoreUnavailable,
            AppError::Busy,
            AppError::BadRequest,
            AppError::Transport,
            AppError::Internal,
        ];
        errors.extend(SessionEnd::ALL.map(AppError::SessionEnded));
        for error in errors {
            let sent = serde_json::to_string(&error).unwrap();
            assert_eq!(AppError::from_json_text(&sent), Some(error), "{sent}");
        }
        assert_eq!(AppError::from_json_text(r#""NoSuchError""#), None);
    }
}
