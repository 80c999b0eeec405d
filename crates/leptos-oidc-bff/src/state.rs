//! What the server tells the browser about the session: [`AuthSnapshot`], why a session ended
//! ([`SessionEnd`], with words for the person whose session it was), and what can go wrong
//! asking ([`AuthError`]). Read in the browser with [`FromJson`], so the wasm carries no JSON
//! library.

use crate::json::{self, FromJson, JsonView};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Who is signed in, as the server last said. Carries no token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthSnapshot {
    /// The signed-in user as JSON text (the application's user type, as its mapping on the
    /// server made it); `None` when signed out. Read it with [`AuthSnapshot::user`].
    pub user: Option<String>,
    /// Why the last session of this browser ended, told once.
    pub ended: Option<SessionEnd>,
    /// When the server looked (Unix milliseconds): of two answers, the later one counts.
    pub checked_at: i64,
}

impl AuthSnapshot {
    /// The signed-in user, read as the application's type.
    pub fn user<U: FromJson>(&self) -> Option<U> {
        self.user.as_deref().and_then(U::from_json_text)
    }

    /// Whether somebody is signed in.
    pub fn signed_in(&self) -> bool {
        self.user.is_some()
    }
}

impl FromJson for AuthSnapshot {
    fn from_json<J: JsonView>(json: &J) -> Option<Self> {
        Some(AuthSnapshot {
            user: json.optional_text("user"),
            ended: match json.field("ended") {
                Some(ended) if !ended.is_null() => Some(SessionEnd::from_json(&ended)?),
                _ => None,
            },
            checked_at: json.field("checked_at")?.number()? as i64,
        })
    }
}

#[cfg(feature = "hydrate")]
impl AuthSnapshot {
    /// The snapshot as a plain JS object, in the shape [`FromJson`] reads (for other tabs).
    pub(crate) fn to_js(&self) -> wasm_bindgen::JsValue {
        crate::json::write::Object::new()
            .set_text("user", self.user.as_deref())
            .set_text("ended", self.ended.map(SessionEnd::name))
            .set("checked_at", self.checked_at as f64)
            .into()
    }
}

/// Why a session ended, in words for the person whose session it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum SessionEnd {
    /// The IdP refused to renew it.
    #[error("Your session ended: the identity provider refused to renew it (the sign-in was revoked or has expired). Sign in again.")]
    RefreshRefused,
    /// The IdP could not be reached to renew it.
    #[error("Your session ended: the identity provider could not be reached to renew it. Sign in again when it is back.")]
    IdpUnavailable,
    /// Its access token expired and there was no refresh token.
    #[error("Your session ended: its access token expired and the identity provider gave no refresh token. Sign in again.")]
    CannotRenew,
    /// It reached its maximum age.
    #[error("Your session reached its maximum age and has ended. Sign in again.")]
    MaxAge,
    /// It was idle too long.
    #[error("Your session ended after a period of inactivity. Sign in again.")]
    Idle,
    /// Signed out at the IdP (back-channel logout).
    #[error("You were signed out at the identity provider, so your session here has ended too.")]
    LoggedOutAtIdp,
    /// Signed out here (in another tab of this browser, say).
    #[error("You have been signed out. Sign in again to see this page.")]
    SignedOut,
    /// Signed in on more browsers or devices than allowed at once; this, the oldest, ended.
    #[error("Your session ended because you signed in on more browsers or devices than this app allows at once; the oldest session ends first. Sign in again.")]
    TooManySessions,
}

impl SessionEnd {
    /// Every reason, in order.
    pub const ALL: [SessionEnd; 8] = [
        SessionEnd::RefreshRefused,
        SessionEnd::IdpUnavailable,
        SessionEnd::CannotRenew,
        SessionEnd::MaxAge,
        SessionEnd::Idle,
        SessionEnd::LoggedOutAtIdp,
        SessionEnd::SignedOut,
        SessionEnd::TooManySessions,
    ];

    /// The variant's name, as serde writes it.
    pub fn name(self) -> &'static str {
        match self {
            SessionEnd::RefreshRefused => "RefreshRefused",
            SessionEnd::IdpUnavailable => "IdpUnavailable",
            SessionEnd::CannotRenew => "CannotRenew",
            SessionEnd::MaxAge => "MaxAge",
            SessionEnd::Idle => "Idle",
            SessionEnd::LoggedOutAtIdp => "LoggedOutAtIdp",
            SessionEnd::SignedOut => "SignedOut",
            SessionEnd::TooManySessions => "TooManySessions",
        }
    }
}

impl FromJson for SessionEnd {
    fn from_json<J: JsonView>(json: &J) -> Option<Self> {
        let name = json.text()?;
        SessionEnd::ALL.into_iter().find(|r| r.name() == name)
    }
}

#[cfg(feature = "ssr")]
impl From<axum_oidc_bff::EndReason> for SessionEnd {
    fn from(reason: axum_oidc_bff::EndReason) -> Self {
        SessionEnd::ALL
            .into_iter()
            .find(|end| end.name() == reason.name())
            .unwrap_or(SessionEnd::SignedOut)
    }
}

/// Why the session could not be looked at, or a call failed; each kind has one message for the
/// person in front of the page (what a library or the IdP said stays in the server's log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// 401: nobody is signed in.
    #[error("You are not signed in.")]
    NotSignedIn,
    /// 401: the session ended.
    #[error("{0}")]
    SessionEnded(SessionEnd),
    /// 503: the session store is unavailable.
    #[error("The session store is unavailable right now; try again in a moment.")]
    StoreUnavailable,
    /// 503: the server is at a limit; nothing was changed.
    #[error("The server is busy right now; try again in a moment.")]
    Busy,
    /// 400: a server function was called with a body it cannot read.
    #[error("The request was malformed.")]
    BadRequest,
    /// The server could not be asked, or its answer not read.
    #[error("The request to the server failed; check your connection and try again.")]
    Transport,
    /// 500: a bug or misconfiguration on the server; details are in its log.
    #[error("Something went wrong on the server; the details are in its log.")]
    Internal,
}

impl AuthError {
    /// The HTTP status a server answers with it.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::NotSignedIn | AuthError::SessionEnded(_) => 401,
            AuthError::StoreUnavailable | AuthError::Busy => 503,
            AuthError::BadRequest => 400,
            AuthError::Transport | AuthError::Internal => 500,
        }
    }

    /// Whether signing in again is the way out.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, AuthError::NotSignedIn | AuthError::SessionEnded(_))
    }
}

impl FromJson for AuthError {
    fn from_json<J: JsonView>(json: &J) -> Option<Self> {
        const NAMES: &[&str] = &[
            "NotSignedIn",
            "SessionEnded",
            "StoreUnavailable",
            "Busy",
            "BadRequest",
            "Transport",
            "Internal",
        ];
        let (name, content) = json::variant(json, NAMES)?;
        Some(match name {
            "NotSignedIn" => AuthError::NotSignedIn,
            "SessionEnded" => AuthError::SessionEnded(SessionEnd::from_json(&content?)?),
            "StoreUnavailable" => AuthError::StoreUnavailable,
            "Busy" => AuthError::Busy,
            "BadRequest" => AuthError::BadRequest,
            "Transport" => AuthError::Transport,
            _ => AuthError::Internal,
        })
    }
}

impl FromServerFnError for AuthError {
    type Encoder = crate::codec::Json;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server these mean the request was not one the app's own client sends.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => AuthError::BadRequest,
            // The library's own words stay out of the page.
            _ => AuthError::Transport,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<axum_oidc_bff::BffError> for AuthError {
    fn from(err: axum_oidc_bff::BffError) -> Self {
        use axum_oidc_bff::BffError as E;
        match err {
            E::NotSignedIn => AuthError::NotSignedIn,
            E::SessionEnded(reason) => AuthError::SessionEnded(reason.into()),
            E::Busy => AuthError::Busy,
            E::StoreUnavailable(err) => {
                tracing::error!(error = %axum_oidc_bff::escaped(&err.to_string(), 2048), "session store unavailable");
                AuthError::StoreUnavailable
            }
            other => {
                tracing::error!(error = %axum_oidc_bff::escaped(&other.to_string(), 2048), code = other.code(), "the session could not be looked at");
                AuthError::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_back_as_the_server_sends_it() {
        for snapshot in [
            AuthSnapshot {
                user: Some(r#"{"email":"alice"}"#.into()),
                ended: None,
                checked_at: 1_764_000_000_123,
            },
            AuthSnapshot {
                user: None,
                ended: Some(SessionEnd::Idle),
                checked_at: 1_764_000_001_000,
            },
        ] {
            let sent = serde_json::to_string(&snapshot).unwrap();
            assert_eq!(AuthSnapshot::from_json_text(&sent), Some(snapshot.clone()));
            let sent = serde_json::to_string(&Ok::<_, AuthError>(snapshot.clone())).unwrap();
            assert_eq!(
                Result::<AuthSnapshot, AuthError>::from_json_text(&sent),
                Some(Ok(snapshot))
            );
        }
        assert_eq!(AuthSnapshot::from_json_text(r#"{"user":null}"#), None);
    }

    #[test]
    fn every_error_and_reason_reads_back_and_has_its_own_words() {
        let mut errors = vec![
            AuthError::NotSignedIn,
            AuthError::StoreUnavailable,
            AuthError::Busy,
            AuthError::BadRequest,
            AuthError::Transport,
            AuthError::Internal,
        ];
        errors.extend(SessionEnd::ALL.map(AuthError::SessionEnded));
        for error in &errors {
            let sent = serde_json::to_string(error).unwrap();
            assert_eq!(
                AuthError::from_json_text(&sent).as_ref(),
                Some(error),
                "{sent}"
            );
        }
        let words: Vec<String> = SessionEnd::ALL.iter().map(ToString::to_string).collect();
        for (i, w) in words.iter().enumerate() {
            assert!(!words[i + 1..].contains(w), "{w} twice");
        }
    }
}
