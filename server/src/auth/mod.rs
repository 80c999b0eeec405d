//! Sign-in, session and sign-out: the backend-for-frontend that holds the tokens.
//!
//! One file per concern: [`oidc`] (the OpenID Connect client), [`session`] (the typed session),
//! [`routes`] (the Auth.js-compatible endpoints), [`scim`] (scim2/Me), [`csrf`] (cross-site
//! request refusal), [`redirect`] (`callbackUrl` validation) and [`backend`] (what the Leptos
//! pages call). [`router`] merges their routes.

pub mod backchannel;
pub mod backend;
pub mod csrf;
pub mod events;
pub mod http;
pub mod logout_token;
pub mod oidc;
pub mod redirect;
pub mod refresh;
pub mod routes;
pub mod scim;
pub mod session;

use crate::{config::Config, sessions::SessionBackend};
use events::EventBus;
use oidc::OidcClient;
use refresh::{reasons, SessionLocks};
use scim::ScimClient;
use session::{AuthSession, SignedIn, StoreError};
use std::sync::Arc;

/// Every auth route: sign-in, callback, session, refresh, sign-out, back-channel logout, and the
/// scim2/Me proxy.
pub fn router() -> axum::Router<crate::AppState> {
    routes::router()
        .merge(backchannel::router())
        .merge(events::router())
        .merge(scim::router())
}

/// Everything the auth endpoints and the pages' server functions share.
pub struct AuthService {
    pub config: Arc<Config>,
    pub oidc: OidcClient,
    pub scim: ScimClient,
    pub backend: Arc<SessionBackend>,
    pub locks: SessionLocks,
    pub events: Arc<EventBus>,
}

impl AuthService {
    /// The signed-in session of this request, ready to use: within its lifetimes, not logged out
    /// through the back channel, and with an access token that is not about to expire. `None`
    /// when nobody is signed in or the session just ended (its reason is kept for the next page).
    pub async fn current(&self, session: &AuthSession) -> Result<Option<SignedIn>, StoreError> {
        let Some(signed_in) = session.signed_in().await? else {
            return Ok(None);
        };
        let now = now();
        if let Some(reason) = self.ending(&signed_in, now).await? {
            return self.end(session, reason).await;
        }
        if signed_in.needs_refresh(now) {
            return self.refresh(session, &signed_in.tokens.access_token).await;
        }
        // Written again at most every tenth of the idle timeout, not on every request.
        let idle = self.config.session_idle_timeout.as_secs() as i64;
        if now - signed_in.touched_at >= (idle / 10).max(1) {
            return self.touch(session).await;
        }
        Ok(Some(signed_in))
    }

    /// Like [`AuthService::current`], but without using the session: nothing is refreshed and
    /// the idle timeout does not start over. A session past its end is still ended (and says so).
    pub async fn peek(&self, session: &AuthSession) -> Result<Option<SignedIn>, StoreError> {
        let Some(signed_in) = session.signed_in().await? else {
            return Ok(None);
        };
        match self.ending(&signed_in, now()).await? {
            Some(reason) => self.end(session, reason).await,
            None => Ok(Some(signed_in)),
        }
    }

    /// Reads the session again and says whether it is still signed in, writing nothing (for a
    /// long-lived event stream, whose response has long been sent).
    pub async fn still_signed_in(
        &self,
        session: &AuthSession,
    ) -> Result<Option<SignedIn>, StoreError> {
        session.reload().await?;
        let Some(signed_in) = session.signed_in().await? else {
            return Ok(None);
        };
        Ok(match self.ending(&signed_in, now()).await? {
            Some(_) => None,
            None => Some(signed_in),
        })
    }

    /// Why the session must end now, if it must: its lifetimes, or a back-channel logout.
    async fn ending(
        &self,
        signed_in: &SignedIn,
        now: i64,
    ) -> Result<Option<&'static str>, StoreError> {
        let config = &self.config;
        if now - signed_in.signed_in_at >= config.session_max_age.as_secs() as i64 {
            return Ok(Some(reasons::MAX_AGE));
        }
        if now - signed_in.touched_at >= config.session_idle_timeout.as_secs() as i64 {
            return Ok(Some(reasons::IDLE));
        }
        let logged_out = self
            .backend
            .is_logged_out(
                signed_in.sid.as_deref(),
                &signed_in.sub,
                signed_in.signed_in_at,
            )
            .await?;
        if logged_out {
            tracing::info!(sub = %signed_in.sub, "session logged out through the back channel");
            return Ok(Some(reasons::LOGGED_OUT_AT_IDP));
        }
        Ok(None)
    }

    /// When the session ends unless it is used (idle timeout) or at the latest (maximum age).
    pub fn session_ends_at(&self, signed_in: &SignedIn) -> i64 {
        let idle = signed_in.touched_at + self.config.session_idle_timeout.as_secs() as i64;
        let absolute = signed_in.signed_in_at + self.config.session_max_age.as_secs() as i64;
        idle.min(absolute)
    }
}

/// Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
