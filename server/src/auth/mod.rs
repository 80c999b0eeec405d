//! Sign-in, session and sign-out: the backend-for-frontend that holds the tokens.
//!
//! One file per concern: [`oidc`] (the OpenID Connect client), [`session`] (the typed session),
//! [`routes`] (the Auth.js-compatible endpoints), [`scim`] (scim2/Me), [`csrf`] (cross-site
//! request refusal), [`redirect`] (`callbackUrl` validation) and [`backend`] (what the Leptos
//! pages call). [`router`] merges their routes.

pub mod backend;
pub mod csrf;
pub mod http;
pub mod oidc;
pub mod redirect;
pub mod routes;
pub mod scim;
pub mod session;

use crate::config::Config;
use oidc::OidcClient;
use scim::ScimClient;
use session::{AuthSession, SignedIn, StoreError};
use std::sync::Arc;

pub use routes::router;

/// Everything the auth endpoints and the pages' server functions share.
pub struct AuthService {
    pub config: Arc<Config>,
    pub oidc: OidcClient,
    pub scim: ScimClient,
}

impl AuthService {
    /// The signed-in session of this request, if any and still within its absolute lifetime.
    pub async fn current(&self, session: &AuthSession) -> Result<Option<SignedIn>, StoreError> {
        let Some(signed_in) = session.signed_in().await? else {
            return Ok(None);
        };
        let max_age = self.config.session_max_age.as_secs() as i64;
        if now() - signed_in.signed_in_at >= max_age {
            tracing::info!("session reached AUTH_SESSION_MAX_AGE; ending it");
            session
                .end_with_message(
                    "Your session reached its maximum age and has ended. Sign in again.",
                )
                .await?;
            return Ok(None);
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
