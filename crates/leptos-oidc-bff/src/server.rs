//! The server functions the auth context calls, and, on the server, helpers for the
//! application's own server functions ([`ssr`]).

use crate::{
    codec::PostJson,
    json::{FromJson, JsonView},
    state::{AuthError, AuthSnapshot},
};
use leptos::prelude::*;

/// Who is signed in, checked the way a page visit checks it: tokens about to expire are
/// refreshed and the idle timeout starts over. Called by the server while rendering a page, and
/// by the browser on every client-side navigation to a protected page.
#[server(endpoint = "auth_state", input = PostJson, output = PostJson)]
pub async fn auth_state() -> Result<AuthSnapshot, AuthError> {
    let state = ssr::session_state().await?;
    Ok(ssr::snapshot(state.visit().await?))
}

/// Who is signed in, looked at without using the session: nothing is refreshed and the idle
/// timeout does not start over. The browser asks this when a window regains focus.
#[server(endpoint = "auth_state_peek", input = PostJson, output = PostJson)]
pub async fn peek_auth_state() -> Result<AuthSnapshot, AuthError> {
    let state = ssr::session_state().await?;
    Ok(ssr::snapshot(state.peek().await?))
}

// The server functions above take no arguments: their (empty) argument structs read from any
// JSON object (in the browser, answers are read with `FromJson`; these only let the generated
// code compile there).
impl FromJson for AuthState {
    fn from_json<J: JsonView>(_: &J) -> Option<Self> {
        Some(Self {})
    }
}

impl FromJson for PeekAuthState {
    fn from_json<J: JsonView>(_: &J) -> Option<Self> {
        Some(Self {})
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Helpers for server functions: the extractors of `axum-oidc-bff` run on the request parts
    //! Leptos provides (as `leptos_axum::extract` runs them), with their refusals kept by kind.
    //! They need `Bff::layer` around the server-function routes.
    //!
    //! ```no_run
    //! use leptos::prelude::*;
    //! use leptos_oidc_bff::{ssr, AuthError};
    //!
    //! #[server]
    //! pub async fn orders() -> Result<String, ServerFnError> {
    //!     let api = ssr::api().await.map_err(|_| ServerFnError::new("not signed in"))?;
    //!     let answer = api
    //!         .get("https://orders.example.com/v1/mine")
    //!         .send()
    //!         .await
    //!         .map_err(|_| ServerFnError::new("the orders service failed"))?;
    //!     Ok(answer.text())
    //! }
    //! ```

    use super::*;
    use axum_oidc_bff::{AccessToken, Api, CurrentUser, MaybeUser, SessionState, Snapshot};
    use serde::de::DeserializeOwned;

    /// The session of the request, to look at ([`SessionState::visit`],
    /// [`SessionState::peek`]).
    pub async fn session_state() -> Result<SessionState, AuthError> {
        extract_with_rejection::<SessionState>().await
    }

    /// The signed-in user (the session used as a page visit uses it);
    /// [`AuthError::NotSignedIn`] or [`AuthError::SessionEnded`] when there is none.
    pub async fn current_user<U: DeserializeOwned + Send + 'static>() -> Result<U, AuthError> {
        extract_with_rejection::<CurrentUser<U>>()
            .await
            .map(|CurrentUser(user)| user)
    }

    /// The signed-in user, if any.
    pub async fn maybe_user<U: DeserializeOwned + Send + 'static>() -> Result<Option<U>, AuthError>
    {
        extract_with_rejection::<MaybeUser<U>>()
            .await
            .map(|MaybeUser(user)| user)
    }

    /// The session's access token, refreshed first when it is about to expire.
    pub async fn access_token() -> Result<AccessToken, AuthError> {
        extract_with_rejection::<AccessToken>().await
    }

    /// A client for protected APIs with the session's token (refreshed before expiry, and
    /// once more on a `401`).
    pub async fn api() -> Result<Api, AuthError> {
        extract_with_rejection::<Api>().await
    }

    /// Runs the extractor `T` on the request parts Leptos provides to server functions and
    /// rendering (what `leptos_axum::extract` reads); its refusal becomes the [`AuthError`] of its
    /// kind.
    async fn extract_with_rejection<T>() -> Result<T, AuthError>
    where
        T: axum::extract::FromRequestParts<(), Rejection = axum_oidc_bff::BffError>
            + Send
            + 'static,
    {
        let Some(mut parts) = use_context::<http::request::Parts>() else {
            tracing::error!("request Parts were not provided as context");
            return Err(AuthError::Internal);
        };
        T::from_request_parts(&mut parts, &())
            .await
            .map_err(AuthError::from)
    }

    /// What a [`Snapshot`] says, for the browser.
    pub fn snapshot(snapshot: Snapshot) -> AuthSnapshot {
        AuthSnapshot {
            user: snapshot.user.map(|user| user.to_string()),
            ended: snapshot.ended.map(Into::into),
            checked_at: snapshot.checked_at,
        }
    }

    /// Ends the current server render with a `302` to `location` (before any byte is streamed:
    /// the routes must render with `SsrMode::Async`).
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
