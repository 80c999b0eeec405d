//! What the pages know about the signed-in user, and the server functions that tell them.
//!
//! Tokens stay in the server-side session; the browser gets the access token from
//! `/api/auth/session` only when the deployment exposes it.

use crate::error::AppError;
use crate::scim::ScimProfile;
#[cfg(feature = "ssr")]
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The user as the session JSON describes them (Auth.js' shape: `email` carries the IdP username).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

impl SessionUser {
    /// The name to greet the user with.
    pub fn display_name(&self) -> &str {
        self.given_name.as_deref().unwrap_or(&self.email)
    }
}

/// The body of `GET /api/auth/session`: `{}` when signed out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<SessionUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// When the session ends (RFC 3339), as Auth.js reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// What every page needs to know, loaded once per page load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthState {
    pub user: Option<SessionUser>,
    /// The scim2/Me endpoint the browser calls (the IdP's, or the same-origin proxy).
    pub me_endpoint: String,
    /// Whether `/api/auth/session` hands the access token to the browser.
    pub token_in_browser: bool,
    /// A one-time message, e.g. why the last session ended.
    pub flash: Option<String>,
}

// The pages render on the server only (islands mode), so the server functions exist only there:
// the wasm carries no server-function client. They stay reachable over HTTP for other clients.

/// Who is signed in, as seen by the server for this request.
#[cfg(feature = "ssr")]
#[server(endpoint = "auth_state")]
pub async fn get_auth_state() -> Result<AuthState, AppError> {
    let backend = ssr::backend()?;
    backend.auth_state(&ssr::request_parts()?).await
}

/// The signed-in user's scim2/Me record, fetched by the server with the session's token.
#[cfg(feature = "ssr")]
#[server(endpoint = "server_profile")]
pub async fn get_server_profile() -> Result<ScimProfile, AppError> {
    let backend = ssr::backend()?;
    backend.scim_me(&ssr::request_parts()?).await
}

/// [`get_auth_state`] where it exists (the server); pages never load data in the browser.
pub async fn load_auth_state() -> Result<AuthState, AppError> {
    #[cfg(feature = "ssr")]
    return get_auth_state().await;
    #[cfg(not(feature = "ssr"))]
    return Err(AppError::Internal);
}

/// [`get_server_profile`] where it exists (the server).
pub async fn load_server_profile() -> Result<ScimProfile, AppError> {
    #[cfg(feature = "ssr")]
    return get_server_profile().await;
    #[cfg(not(feature = "ssr"))]
    return Err(AppError::Internal);
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! The seam between the app and the server binary: the server implements [`AuthBackend`] and
    //! provides it as context to rendering and to server functions.

    use super::*;
    use http::request::Parts;
    use std::{future::Future, pin::Pin, sync::Arc};

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// Session-aware operations the server binary provides.
    pub trait AuthBackend: Send + Sync + 'static {
        /// Who is signed in (refreshing tokens if needed), plus what the browser must know.
        fn auth_state<'a>(&'a self, req: &'a Parts) -> BoxFuture<'a, Result<AuthState, AppError>>;
        /// scim2/Me for the signed-in user, called server-side.
        fn scim_me<'a>(&'a self, req: &'a Parts) -> BoxFuture<'a, Result<ScimProfile, AppError>>;
    }

    /// The backend as provided in context.
    pub type Backend = Arc<dyn AuthBackend>;

    pub fn backend() -> Result<Backend, AppError> {
        use_context::<Backend>().ok_or_else(|| {
            tracing::error!("AuthBackend was not provided as context");
            AppError::Internal
        })
    }

    pub fn request_parts() -> Result<Parts, AppError> {
        use_context::<Parts>().ok_or_else(|| {
            tracing::error!("request Parts were not provided as context");
            AppError::Internal
        })
    }

    /// Ends the current server render with a `302` to `location` (before any byte is streamed:
    /// the routes that call it render with `SsrMode::Async`).
    pub fn redirect(location: &str) {
        use http::{header, HeaderValue, StatusCode};
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
            tracing::error!("ResponseOptions were not provided as context");
            return;
        };
        match HeaderValue::from_str(location) {
            Ok(value) => {
                response.set_status(StatusCode::FOUND);
                response.insert_header(header::LOCATION, value);
                response.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            Err(_) => tracing::error!("redirect location is not a valid header value"),
        }
    }
}
