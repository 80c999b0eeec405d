//! Who is signed in: the types the server and the browser share, the server functions that tell
//! it, and the reactive auth context every component reads ([`Auth`]).
//!
//! Tokens stay in the server-side session. The browser learns the user and, only when the
//! deployment exposes it, the access token (from `/api/auth/session`, as the Next.js guide does).

#[cfg(feature = "hydrate")]
mod browser;
mod context;

#[cfg(feature = "hydrate")]
pub use browser::leaving;
pub use context::{provide_auth, use_auth, Auth, AuthResult, AuthStatus, Source};

use crate::{
    codec::PostJson,
    error::{AppError, EndReason},
    json::{FromJson, JsonView},
    scim::ScimProfile,
};
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

/// What every page needs to know about the session. Carries no token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthState {
    pub user: Option<SessionUser>,
    /// The scim2/Me endpoint the browser calls (the IdP's, or the same-origin proxy).
    pub me_endpoint: String,
    /// Whether `/api/auth/session` hands the access token to the browser.
    pub token_in_browser: bool,
    /// Why the last session ended, told once.
    pub flash: Option<EndReason>,
    /// When the server looked (Unix milliseconds): of two answers, the later one counts.
    pub checked_at: i64,
}

impl FromJson for SessionUser {
    fn from_json<J: JsonView>(json: &J) -> Option<Self> {
        Some(SessionUser {
            email: json.field("email")?.text()?,
            given_name: json.optional_text("given_name"),
            family_name: json.optional_text("family_name"),
        })
    }
}

impl FromJson for AuthState {
    fn from_json<J: JsonView>(json: &J) -> Option<Self> {
        let user = match json.field("user") {
            Some(user) if !user.is_null() => Some(SessionUser::from_json(&user)?),
            _ => None,
        };
        Some(AuthState {
            user,
            me_endpoint: json.field("me_endpoint")?.text()?,
            token_in_browser: json.field("token_in_browser")?.flag()?,
            flash: match json.field("flash") {
                Some(flash) if !flash.is_null() => Some(EndReason::from_json(&flash)?),
                _ => None,
            },
            checked_at: json.field("checked_at")?.number()? as i64,
        })
    }
}

#[cfg(feature = "hydrate")]
impl AuthState {
    /// The state as a plain JS object, in the shape [`FromJson`] reads (for other tabs).
    pub fn to_js(&self) -> wasm_bindgen::JsValue {
        use crate::json::write::Object;
        let user = self.user.as_ref().map(|user| {
            Object::new()
                .set_text("email", Some(&user.email))
                .set_text("given_name", user.given_name.as_deref())
                .set_text("family_name", user.family_name.as_deref())
        });
        let object = match user {
            Some(user) => Object::new().set("user", user),
            None => Object::new().set("user", wasm_bindgen::JsValue::NULL),
        };
        object
            .set_text("me_endpoint", Some(&self.me_endpoint))
            .set("token_in_browser", self.token_in_browser)
            .set_text("flash", self.flash.map(EndReason::name))
            .set("checked_at", self.checked_at as f64)
            .into()
    }
}

/// Who is signed in, checked the way a page visit checks it: tokens about to expire are
/// refreshed and the idle timeout starts over. Called by the server while rendering a page, and by
/// the browser on every client-side navigation to a protected page.
#[server(endpoint = "auth_state", input = PostJson, output = PostJson)]
pub async fn get_auth_state() -> Result<AuthState, AppError> {
    let backend = ssr::backend()?;
    backend
        .auth_state(&ssr::request_parts()?, ssr::Check::Visit)
        .await
}

/// Who is signed in, looked at without using the session: nothing is refreshed and the idle
/// timeout does not start over. The browser asks this when a window regains focus.
#[server(endpoint = "auth_state_peek", input = PostJson, output = PostJson)]
pub async fn peek_auth_state() -> Result<AuthState, AppError> {
    let backend = ssr::backend()?;
    backend
        .auth_state(&ssr::request_parts()?, ssr::Check::Peek)
        .await
}

/// The signed-in user's scim2/Me record, fetched by the server with the session's token. Only
/// the profile crosses to the browser, never a token.
#[server(endpoint = "server_profile", input = PostJson, output = PostJson)]
pub async fn get_server_profile() -> Result<ScimProfile, AppError> {
    let backend = ssr::backend()?;
    backend.scim_me(&ssr::request_parts()?).await
}

/// The server functions above take no arguments: their (empty) argument structs read from any
/// JSON object. (In the browser, answers are read with [`FromJson`]; these impls only let the
/// generated code compile there.)
macro_rules! no_arguments {
    ($($args:ty),*) => {$(
        impl FromJson for $args {
            fn from_json<J: JsonView>(_: &J) -> Option<Self> {
                Some(Self {})
            }
        }
    )*};
}
no_arguments!(GetAuthState, PeekAuthState, GetServerProfile);

#[cfg(feature = "ssr")]
pub mod ssr {
    //! The seam between the app and the server binary: the server implements [`AuthBackend`] and
    //! provides it as context to rendering and to server functions.

    use super::*;
    use http::request::Parts;
    use std::{future::Future, pin::Pin, sync::Arc};

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// How a session is looked at.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Check {
        /// A page visit: the session is used (refreshed if needed, idle timeout restarted).
        Visit,
        /// A look without use: lifetimes and logouts are checked, nothing is written.
        Peek,
    }

    /// Session-aware operations the server binary provides.
    pub trait AuthBackend: Send + Sync + 'static {
        /// Who is signed in, plus what the browser must know.
        fn auth_state<'a>(
            &'a self,
            req: &'a Parts,
            check: Check,
        ) -> BoxFuture<'a, Result<AuthState, AppError>>;
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
    /// the routes render with `SsrMode::Async`).
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

    /// Answers the current render with `status` (an error the page shows).
    pub fn set_status(status: u16) {
        if let (Some(response), Ok(status)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::StatusCode::from_u16(status),
        ) {
            response.set_status(status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auth_state_reads_back_as_the_server_sends_it() {
        let signed_in = AuthState {
            user: Some(SessionUser {
                email: "alice".into(),
                given_name: Some("Alice".into()),
                family_name: None,
            }),
            me_endpoint: "https://idp/t/acme/scim2/Me".into(),
            token_in_browser: true,
            flash: None,
            checked_at: 1_764_000_000_123,
        };
        let signed_out = AuthState {
            user: None,
            me_endpoint: "/api/scim2/Me".into(),
            token_in_browser: false,
            flash: Some(EndReason::Idle),
            checked_at: 1_764_000_001_000,
        };
        for state in [signed_in, signed_out] {
            let sent = serde_json::to_string(&state).unwrap();
            assert_eq!(AuthState::from_json_text(&sent), Some(state.clone()));
            // As a hydrated resource: a `Result`.
            let sent = serde_json::to_string(&Ok::<_, AppError>(state.clone())).unwrap();
            assert_eq!(
                Result::<AuthState, AppError>::from_json_text(&sent),
                Some(Ok(state))
            );
        }
        assert_eq!(AuthState::from_json_text(r#"{"user":null}"#), None);
    }
}
