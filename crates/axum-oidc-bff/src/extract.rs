//! Extractors: a handler says what it needs in its signature.
//!
//! ```no_run
//! use axum::Json;
//! use axum_oidc_bff::{AccessToken, CurrentUser, DefaultUser, MaybeUser};
//!
//! // 401 (an error page for browsers, JSON for others) when nobody is signed in.
//! async fn me(CurrentUser(user): CurrentUser<DefaultUser>) -> Json<DefaultUser> {
//!     Json(user)
//! }
//!
//! async fn home(MaybeUser(user): MaybeUser) -> String {
//!     match user {
//!         Some(user) => format!("Hello, {}", user.name),
//!         None => "Hello, stranger".to_owned(),
//!     }
//! }
//!
//! // Refreshed first when it is about to expire.
//! async fn token_length(token: AccessToken) -> String {
//!     token.secret().len().to_string()
//! }
//! ```
//!
//! They need [`Bff::layer`](crate::Bff::layer) around the routes that use them, and work with
//! `leptos_axum::extract` in server functions too (they take nothing from the router's state).

use crate::{
    bff::Bff,
    error::BffError,
    session::{AuthSession, EndReason},
    user::DefaultUser,
};
use axum::{extract::FromRequestParts, http::request::Parts};
use serde::de::DeserializeOwned;
use std::fmt;

/// The [`Bff`] and the session of a request.
pub(crate) fn bff_and_session(parts: &Parts) -> Result<(Bff, AuthSession), BffError> {
    let bff = parts.extensions.get::<Bff>().cloned().ok_or_else(|| {
        BffError::Internal("no Bff in the request: is Bff::layer() around this route?".into())
    })?;
    let session = AuthSession::from_parts(parts).ok_or_else(|| {
        BffError::Internal("no session in the request: is Bff::layer() around this route?".into())
    })?;
    Ok((bff, session))
}

fn user_of<U: DeserializeOwned>(json: serde_json::Value) -> Result<U, BffError> {
    serde_json::from_value(json).map_err(|err| {
        BffError::Internal(format!(
            "the session's user is not the type the handler asks for: {err}"
        ))
    })
}

/// The signed-in user, as the application's mapping made it ([`BffBuilder::user`]); the
/// session is used as a page visit uses it (tokens about to expire are refreshed, the idle
/// timeout starts over). Refuses with [`BffError::NotSignedIn`] or
/// [`BffError::SessionEnded`] (401).
///
/// [`BffBuilder::user`]: crate::BffBuilder::user
#[derive(Clone, Debug)]
pub struct CurrentUser<U = DefaultUser>(pub U);

impl<S: Send + Sync, U: DeserializeOwned> FromRequestParts<S> for CurrentUser<U> {
    type Rejection = BffError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, BffError> {
        let (bff, session) = bff_and_session(parts)?;
        let signed_in = bff.0.require(&session).await?;
        Ok(CurrentUser(user_of(signed_in.user)?))
    }
}

/// The signed-in user if there is one (used like [`CurrentUser`]); refuses only when the
/// store fails.
#[derive(Clone, Debug)]
pub struct MaybeUser<U = DefaultUser>(pub Option<U>);

impl<S: Send + Sync, U: DeserializeOwned> FromRequestParts<S> for MaybeUser<U> {
    type Rejection = BffError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, BffError> {
        let (bff, session) = bff_and_session(parts)?;
        let signed_in = bff.0.current(&session).await?;
        Ok(MaybeUser(signed_in.map(|s| user_of(s.user)).transpose()?))
    }
}

/// The session's access token, refreshed first when it is about to expire. Refuses like
/// [`CurrentUser`]. Its `Debug` never shows the token.
#[derive(Clone)]
pub struct AccessToken(String);

impl AccessToken {
    /// The token, for an `Authorization: Bearer` header.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(…)")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AccessToken {
    type Rejection = BffError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, BffError> {
        let (bff, session) = bff_and_session(parts)?;
        let signed_in = bff.0.require(&session).await?;
        Ok(AccessToken(signed_in.tokens.access_token))
    }
}

/// Who is signed in, for a frontend that asks (a page being rendered, a browser's check):
/// look as a visit does ([`SessionState::visit`]) or without using the session
/// ([`SessionState::peek`]).
#[derive(Clone)]
pub struct SessionState {
    bff: Bff,
    session: AuthSession,
}

impl fmt::Debug for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionState")
    }
}

/// What [`SessionState`] found.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The signed-in user, as the application's mapping made it; `None` when signed out.
    pub user: Option<serde_json::Value>,
    /// Why the last session of this browser ended, told once (the next look says `None`).
    pub ended: Option<EndReason>,
    /// When the server looked, in Unix milliseconds by the app's clock: of two snapshots, the
    /// later one counts.
    pub checked_at: i64,
}

impl SessionState {
    /// Looks as a page visit does: tokens about to expire are refreshed and the idle timeout
    /// starts over.
    pub async fn visit(&self) -> Result<Snapshot, BffError> {
        let signed_in = self.bff.0.current(&self.session).await?;
        self.snapshot(signed_in).await
    }

    /// Looks without using the session: nothing is refreshed and the idle timeout does not
    /// start over (a session past its end still ends, and says why).
    pub async fn peek(&self) -> Result<Snapshot, BffError> {
        let signed_in = self.bff.0.peek(&self.session).await?;
        self.snapshot(signed_in).await
    }

    async fn snapshot(
        &self,
        signed_in: Option<crate::session::SignedIn>,
    ) -> Result<Snapshot, BffError> {
        let ended = match signed_in {
            Some(_) => None,
            None => self.session.take_end_reason().await?,
        };
        Ok(Snapshot {
            user: signed_in.map(|s| s.user),
            ended,
            checked_at: self.bff.0.now_millis(),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SessionState {
    type Rejection = BffError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, BffError> {
        let (bff, session) = bff_and_session(parts)?;
        Ok(SessionState { bff, session })
    }
}

/// The session of an auth endpoint (crate-internal).
impl<S: Send + Sync> FromRequestParts<S> for AuthSession {
    type Rejection = BffError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, BffError> {
        bff_and_session(parts).map(|(_, session)| session)
    }
}
