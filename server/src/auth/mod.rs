//! Sign-in, session and sign-out: the backend-for-frontend that holds the tokens.
//!
//! One file per concern: [`oidc`] (the OpenID Connect client), [`session`] (the typed session),
//! [`routes`] (the Auth.js-compatible endpoints), [`scim`] (scim2/Me), [`csrf`] (cross-site
//! request refusal), [`redirect`] (`callbackUrl` validation) and [`backend`] (what the Leptos
//! pages call). [`router`] merges their routes.

pub mod backchannel;
pub mod backend;
pub mod csrf;
pub mod http;
pub mod logout_token;
pub mod oidc;
pub mod redirect;
pub mod refresh;
pub mod routes;
pub mod scim;
pub mod session;

use crate::{config::Config, sessions::SessionBackend};
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
        .merge(scim::router())
}

/// Everything the auth endpoints and the pages' server functions share.
pub struct AuthService {
    pub config: Arc<Config>,
    pub oidc: OidcClient,
    pub scim: ScimClient,
    pub backend: Arc<SessionBackend>,
    pub locks: SessionLocks,
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
        let config = &self.config;
        if now - signed_in.signed_in_at >= config.session_max_age.as_secs() as i64 {
            return self.end(session, reasons::MAX_AGE).await;
        }
        if now - signed_in.touched_at >= config.session_idle_timeout.as_secs() as i64 {
            return self.end(session, reasons::IDLE).await;
        }
        if self
            .backend
            .is_logged_out(
                signed_in.sid.as_deref(),
                &signed_in.sub,
                signed_in.signed_in_at,
            )
            .await?
        {
            tracing::info!(sub = %signed_in.sub, "session logged out through the back channel");
            return self.end(session, reasons::LOGGED_OUT_AT_IDP).await;
        }
        if signed_in.needs_refresh(now) {
            return self.refresh(session, &signed_in.tokens.access_token).await;
        }
        // Written again at most every tenth of the idle timeout, not on every request.
        if now - signed_in.touched_at >= (config.session_idle_timeout.as_secs() as i64 / 10).max(1)
        {
            return self.touch(session).await;
        }
        Ok(Some(signed_in))
    }
}

/// Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
