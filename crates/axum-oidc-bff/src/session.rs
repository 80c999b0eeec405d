//! The typed server-side session: what a sign-in in progress remembers, and what a signed-in
//! session holds (tokens and the user's claims). The browser only ever holds the session id.

use crate::store::REVISION_KEY;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use std::fmt;
use tower_sessions::Session;

const SIGNED_IN: &str = "auth";
const FLASH: &str = "flash";

/// The session store could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing the session failed.
    #[error("session store: {0}")]
    Session(#[from] tower_sessions::session::Error),
    /// The store failed, or a lock stayed busy.
    #[error(transparent)]
    Backend(#[from] crate::store::BackendError),
}

impl StoreError {
    /// Whether it failed only because another request held the session's lock too long.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Backend(crate::store::BackendError::Busy(_))
        )
    }
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum EndReason {
    /// The IdP refused to renew it (the sign-in was revoked or has expired).
    #[error("the identity provider refused to renew the session")]
    RefreshRefused,
    /// The IdP could not be reached to renew it, and its access token expired.
    #[error("the identity provider could not be reached to renew the session")]
    IdpUnavailable,
    /// Its access token expired and the IdP gave no refresh token.
    #[error("the access token expired and there is no refresh token")]
    CannotRenew,
    /// It reached its maximum age.
    #[error("the session reached its maximum age")]
    MaxAge,
    /// It was not used for the idle timeout.
    #[error("the session was idle too long")]
    Idle,
    /// The user was signed out at the IdP (back-channel logout).
    #[error("the user was signed out at the identity provider")]
    LoggedOutAtIdp,
    /// Signed out here (in another tab of the browser, say).
    #[error("signed out")]
    SignedOut,
    /// The user signed in on more browsers or devices than allowed at once; the oldest ended.
    #[error("the user has too many sessions; the oldest ended")]
    TooManySessions,
}

impl EndReason {
    /// Every reason, in order.
    pub const ALL: [EndReason; 8] = [
        EndReason::RefreshRefused,
        EndReason::IdpUnavailable,
        EndReason::CannotRenew,
        EndReason::MaxAge,
        EndReason::Idle,
        EndReason::LoggedOutAtIdp,
        EndReason::SignedOut,
        EndReason::TooManySessions,
    ];

    /// The reason's name, as it travels (`RefreshRefused`, …).
    pub fn name(self) -> &'static str {
        match self {
            EndReason::RefreshRefused => "RefreshRefused",
            EndReason::IdpUnavailable => "IdpUnavailable",
            EndReason::CannotRenew => "CannotRenew",
            EndReason::MaxAge => "MaxAge",
            EndReason::Idle => "Idle",
            EndReason::LoggedOutAtIdp => "LoggedOutAtIdp",
            EndReason::SignedOut => "SignedOut",
            EndReason::TooManySessions => "TooManySessions",
        }
    }
}

/// The body of the session endpoint (Auth.js' shape): `{}` when signed out.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionJson {
    /// The user, as the application's mapping made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<serde_json::Value>,
    /// The access token, when [`Settings::expose_access_token`](crate::Settings::expose_access_token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// When the session ends unless it is used again (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// What the callback needs to finish a sign-in this browser started (kept in the browser, sealed:
/// see [`pending`](super::pending)).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Validated same-origin path to return to.
    pub return_to: String,
    pub started_at: i64,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}

/// The tokens the server holds for a signed-in user. Never sent to the browser as a whole.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Tokens {
    pub access_token: String,
    /// Unix seconds; `None` when the IdP did not say.
    pub expires_at: Option<i64>,
    /// When to refresh: `AUTH_REFRESH_SKEW` before expiry (at most half the token's lifetime).
    pub refresh_at: Option<i64>,
    pub refresh_token: Option<String>,
    /// Kept as the `id_token_hint` for RP-initiated logout.
    pub id_token: String,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_at", &self.expires_at)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// A signed-in session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SignedIn {
    /// The user, as the application's mapping made it from the claims.
    pub user: serde_json::Value,
    /// The ID token's `sub`.
    pub sub: String,
    /// The IdP session id, for back-channel logout.
    pub sid: Option<String>,
    /// When the user authenticated at the IdP (the first ID token's `auth_time`, Unix
    /// seconds): a refreshed ID token must say the same.
    #[serde(default)]
    pub auth_time: Option<i64>,
    pub tokens: Tokens,
    /// Unix seconds; the absolute session lifetime counts from here.
    pub signed_in_at: i64,
    /// Unix seconds of the last write; the idle timeout counts from here.
    pub touched_at: i64,
    /// Unix seconds of the last refresh, if any: refreshes on demand are spaced out.
    #[serde(default)]
    pub refreshed_at: Option<i64>,
}

impl SignedIn {
    pub(crate) fn needs_refresh(&self, now: i64) -> bool {
        self.tokens.refresh_at.is_some_and(|at| at <= now)
    }

    pub(crate) fn access_token_expired(&self, now: i64) -> bool {
        self.tokens.expires_at.is_some_and(|at| at <= now)
    }
}

impl Tokens {
    /// The tokens of a new sign-in.
    pub(crate) fn signed_in(grant: crate::oidc::SignInGrant, skew: i64, now: i64) -> Tokens {
        let expires_in = grant.expires_in.map(|d| d.as_secs() as i64);
        Tokens {
            access_token: grant.access_token,
            expires_at: expires_in.map(|e| now + e),
            refresh_at: expires_in.map(|e| now + e - skew.min(e / 2)),
            refresh_token: grant.refresh_token,
            id_token: grant.id_token,
        }
    }

    /// The tokens after a refresh; what it did not return (a new refresh or ID token) is kept.
    pub(crate) fn refreshed(&self, grant: crate::oidc::Grant, skew: i64, now: i64) -> Tokens {
        let expires_in = grant.expires_in.map(|d| d.as_secs() as i64);
        Tokens {
            access_token: grant.access_token,
            expires_at: expires_in.map(|e| now + e),
            refresh_at: expires_in.map(|e| now + e - skew.min(e / 2)),
            // A provider that does not rotate refresh tokens keeps answering with none.
            refresh_token: grant.refresh_token.or_else(|| self.refresh_token.clone()),
            id_token: grant
                .id_token
                .map(|(raw, _)| raw)
                .unwrap_or_else(|| self.id_token.clone()),
        }
    }
}

/// Typed access to the tower-sessions [`Session`] of a request.
#[derive(Clone)]
pub(crate) struct AuthSession(Session);

impl AuthSession {
    pub(crate) fn id(&self) -> Option<tower_sessions::session::Id> {
        self.0.id()
    }

    /// Reads the session again from the store (another request may have changed it).
    pub(crate) async fn reload(&self) -> Result<(), StoreError> {
        self.0.load().await?;
        Ok(())
    }

    pub(crate) fn from_parts(parts: &Parts) -> Option<Self> {
        parts.extensions.get::<Session>().cloned().map(AuthSession)
    }

    pub(crate) async fn signed_in(&self) -> Result<Option<SignedIn>, StoreError> {
        Ok(self.0.get(SIGNED_IN).await?)
    }

    /// Stores a new sign-in under a new session id: an id an attacker planted before sign-in
    /// (session fixation) never becomes an authenticated one.
    pub(crate) async fn begin(&self, signed_in: &SignedIn) -> Result<(), StoreError> {
        self.0.cycle_id().await?;
        self.0.insert(SIGNED_IN, signed_in).await?;
        self.0.remove_value(FLASH).await?;
        self.0.save().await?;
        Ok(())
    }

    /// Writes the session with the next revision; the store refuses to overwrite a newer one
    /// and never brings back a session that ended (see [`crate::store`]). Call it with the
    /// session freshly reloaded, under the session's lock.
    pub(crate) async fn update(&self, signed_in: &SignedIn) -> Result<(), StoreError> {
        let revision: u64 = self.0.get(REVISION_KEY).await?.unwrap_or(0);
        self.0.insert(REVISION_KEY, revision + 1).await?;
        self.0.insert(SIGNED_IN, signed_in).await?;
        self.0.save().await?;
        Ok(())
    }

    /// Ends the session: its record is deleted and the cookie removed.
    pub(crate) async fn end(&self) -> Result<(), StoreError> {
        self.0.flush().await?;
        Ok(())
    }

    /// Ends the sign-in but keeps, for the next page, why it ended.
    pub(crate) async fn end_with_reason(&self, reason: EndReason) -> Result<(), StoreError> {
        self.0.clear().await;
        self.0.cycle_id().await?;
        self.0.insert(FLASH, reason).await?;
        self.0.save().await?;
        Ok(())
    }

    /// What remains of a session that another request ended (see
    /// [`SessionBackend::end_elsewhere`](crate::store::SessionBackend::end_elsewhere)): why
    /// it ended, for its browser's next page.
    pub(crate) fn ended_record(
        reason: EndReason,
    ) -> std::collections::HashMap<String, serde_json::Value> {
        let mut data = std::collections::HashMap::new();
        if let Ok(reason) = serde_json::to_value(reason) {
            data.insert(FLASH.to_owned(), reason);
        }
        data
    }

    /// Why the last session ended, left for the next page to show. A value this version does
    /// not know (written by an older one) counts as none.
    pub(crate) async fn peek_end_reason(&self) -> Result<Option<EndReason>, StoreError> {
        let value = self.0.get_value(FLASH).await?;
        Ok(value.and_then(|v| serde_json::from_value(v).ok()))
    }

    pub(crate) async fn take_end_reason(&self) -> Result<Option<EndReason>, StoreError> {
        let value = self.0.remove_value(FLASH).await?;
        Ok(value.and_then(|v| serde_json::from_value(v).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_tokens() {
        let tokens = Tokens {
            access_token: "AT-secret".into(),
            expires_at: Some(1),
            refresh_at: Some(0),
            refresh_token: Some("RT-secret".into()),
            id_token: "IDT-secret".into(),
        };
        let pending = PendingLogin {
            state: "S-secret".into(),
            nonce: "N-secret".into(),
            pkce_verifier: "V-secret".into(),
            return_to: "/x".into(),
            started_at: 0,
        };
        let text = format!("{tokens:?} {pending:?}");
        assert!(!text.contains("secret"), "{text}");
    }
}
