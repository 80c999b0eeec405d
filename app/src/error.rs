//! The one error type pages and server functions share.
//!
//! Each variant's message is written for the person in front of the page: it says what went
//! wrong and what to do. Internal causes are logged on the server and never sent to the browser.

use crate::json::{self, FromJson, JsonView};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
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
    /// The session ended (refresh refused, revoked, logged out elsewhere); the text says why.
    #[error("{0}")]
    SessionEnded(String),
    /// Another non-success status from scim2/Me.
    #[error("scim2/Me answered HTTP {status}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    ScimStatus { status: u16, detail: Option<String> },
    /// scim2/Me answered 2xx with a body that is not a SCIM user.
    #[error("scim2/Me returned a response that is not a SCIM user: {0}")]
    MalformedProfile(String),
    /// The IdP (or its scim2/Me endpoint) could not be reached.
    #[error("The identity provider could not be reached: {0}")]
    IdpUnreachable(String),
    /// The browser's request failed before an answer (network error, or a CORS refusal).
    #[error("Network or CORS error calling {url}: {reason}")]
    Network { url: String, reason: String },
    /// The session store (Redis, SQLite) is unavailable: 503.
    #[error("The session store is unavailable right now; try again in a moment.")]
    StoreUnavailable,
    /// 400: a server function was called with a body it cannot read (not the browser's doing).
    #[error("The request was malformed.")]
    BadRequest,
    /// A server function could not be called or its answer not read.
    #[error("The request to the server failed: {0}")]
    Transport(String),
    /// A bug or misconfiguration on the server; details are in the server log.
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
            AppError::ScimStatus { .. }
            | AppError::MalformedProfile(_)
            | AppError::IdpUnreachable(_)
            | AppError::Network { .. } => 502,
            AppError::StoreUnavailable => 503,
            AppError::BadRequest => 400,
            AppError::Transport(_) | AppError::Internal => 500,
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
            "BadRequest",
            "Transport",
            "Internal",
        ];
        let (name, content) = json::variant(json, NAMES)?;
        let text = || content.as_ref().and_then(JsonView::text);
        let field = |key| content.as_ref().and_then(|c| c.optional_text(key));
        Some(match name {
            "NotSignedIn" => AppError::NotSignedIn,
            "IdpSessionExpired" => AppError::IdpSessionExpired,
            "MissingInternalLogin" => AppError::MissingInternalLogin,
            "SessionEnded" => AppError::SessionEnded(text()?),
            "ScimStatus" => AppError::ScimStatus {
                status: content.as_ref()?.field("status")?.number()? as u16,
                detail: field("detail"),
            },
            "MalformedProfile" => AppError::MalformedProfile(text()?),
            "IdpUnreachable" => AppError::IdpUnreachable(text()?),
            "Network" => AppError::Network {
                url: field("url")?,
                reason: field("reason")?,
            },
            "StoreUnavailable" => AppError::StoreUnavailable,
            "BadRequest" => AppError::BadRequest,
            "Transport" => AppError::Transport(text()?),
            _ => AppError::Internal,
        })
    }
}

impl FromServerFnError for AppError {
    type Encoder = crate::codec::Json;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server these mean the request was not one the app's own client sends.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => AppError::BadRequest,
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_reads_back_as_the_server_sends_it() {
        for error in [
            AppError::NotSignedIn,
            AppError::IdpSessionExpired,
            AppError::MissingInternalLogin,
            AppError::SessionEnded("why".into()),
            AppError::ScimStatus {
                status: 503,
                detail: Some("maintenance".into()),
            },
            AppError::ScimStatus {
                status: 500,
                detail: None,
            },
            AppError::MalformedProfile("x".into()),
            AppError::IdpUnreachable("y".into()),
            AppError::Network {
                url: "u".into(),
                reason: "r".into(),
            },
            AppError::StoreUnavailable,
            AppError::BadRequest,
            AppError::Transport("t".into()),
            AppError::Internal,
        ] {
            let sent = serde_json::to_string(&error).unwrap();
            assert_eq!(AppError::from_json_text(&sent), Some(error), "{sent}");
        }
        assert_eq!(AppError::from_json_text(r#""NoSuchError""#), None);
    }
}
