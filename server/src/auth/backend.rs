//! What the Leptos pages and server functions ask of the server ([`app::auth::ssr::AuthBackend`]).

use super::{scim::MeResponse, session::AuthSession, AuthService};
use app::{
    auth::{
        ssr::{AuthBackend, BoxFuture, Check},
        AuthState,
    },
    error::AppError,
    names::paths,
    scim::ScimProfile,
};
use http::request::Parts;

/// Unix time in milliseconds, for [`AuthState::checked_at`].
fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn session_of(parts: &Parts) -> Result<AuthSession, AppError> {
    AuthSession::from_parts(parts).ok_or_else(|| {
        tracing::error!("no session in the request: is the session layer installed?");
        AppError::Internal
    })
}

fn store_unavailable(err: super::session::StoreError) -> AppError {
    tracing::error!(error = %crate::error::cause_chain(&err), "session store unavailable");
    AppError::StoreUnavailable
}

impl AuthService {
    /// scim2/Me with the session's token; on a 401 the token is refreshed and the call made once
    /// more. A session that ended on the way says why.
    pub async fn me_with_refresh(&self, session: &AuthSession) -> Result<MeResponse, AppError> {
        let signed_in = self.current(session).await.map_err(store_unavailable)?;
        let Some(signed_in) = signed_in else {
            return Err(ended(session).await);
        };
        let first = self.scim.me(&signed_in.tokens.access_token).await?;
        if first.status != 401 {
            return Ok(first);
        }
        tracing::info!("scim2/Me refused the access token; refreshing once");
        match self
            .refresh(session, &signed_in.tokens.access_token)
            .await
            .map_err(store_unavailable)?
        {
            Some(fresh) if fresh.tokens.access_token != signed_in.tokens.access_token => {
                self.scim.me(&fresh.tokens.access_token).await
            }
            // The IdP could not be asked (it is down) but the token has not expired: its 401 stands.
            Some(_) => Ok(first),
            None => Err(ended(session).await),
        }
    }
}

/// Why there is no session: the reason it just ended, or simply that nobody signed in.
async fn ended(session: &AuthSession) -> AppError {
    match session.peek_flash().await {
        Ok(Some(reason)) => AppError::SessionEnded(reason),
        _ => AppError::NotSignedIn,
    }
}

impl AuthBackend for AuthService {
    fn auth_state<'a>(
        &'a self,
        parts: &'a Parts,
        check: Check,
    ) -> BoxFuture<'a, Result<AuthState, AppError>> {
        Box::pin(async move {
            let session = session_of(parts)?;
            let signed_in = match check {
                Check::Visit => self.current(&session).await,
                Check::Peek => self.peek(&session).await,
            }
            .map_err(store_unavailable)?;
            let flash = match signed_in {
                Some(_) => None,
                None => session.take_flash().await.map_err(store_unavailable)?,
            };
            let expose = self.config.expose_access_token;
            Ok(AuthState {
                user: signed_in.map(|s| s.user),
                me_endpoint: if expose {
                    self.scim.me_endpoint().to_string()
                } else {
                    paths::ME_PROXY.to_owned()
                },
                token_in_browser: expose,
                flash,
                checked_at: now_millis(),
            })
        })
    }

    fn scim_me<'a>(&'a self, parts: &'a Parts) -> BoxFuture<'a, Result<ScimProfile, AppError>> {
        Box::pin(async move { self.me_with_refresh(&session_of(parts)?).await?.profile() })
    }
}
