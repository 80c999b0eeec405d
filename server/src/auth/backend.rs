//! What the Leptos pages and server functions ask of the server ([`app::auth::ssr::AuthBackend`]).

use super::{service::store_unavailable, session::AuthSession, AuthService};
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

fn session_of(parts: &Parts) -> Result<AuthSession, AppError> {
    AuthSession::from_parts(parts).ok_or_else(|| {
        tracing::error!("no session in the request: is the session layer installed?");
        AppError::Internal
    })
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
                None => session.take_end_reason().await.map_err(store_unavailable)?,
            };
            let expose = self.config().expose_access_token;
            Ok(AuthState {
                user: signed_in.map(|s| s.user),
                me_endpoint: if expose {
                    self.scim().me_endpoint().to_string()
                } else {
                    paths::ME_PROXY.to_owned()
                },
                token_in_browser: expose,
                flash,
                checked_at: self.now_millis(),
            })
        })
    }

    fn scim_me<'a>(&'a self, parts: &'a Parts) -> BoxFuture<'a, Result<ScimProfile, AppError>> {
        Box::pin(async move { self.me_with_refresh(&session_of(parts)?).await?.profile() })
    }
}
