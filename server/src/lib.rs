//! The asgardeo-leptos server: configuration, OpenID Connect sign-in with server-side sessions
//! (a backend-for-frontend), and the Leptos pages; with the `dev-idp` feature, the built-in
//! development IdP too.
//!
//! `main.rs` runs it; the integration tests start it on a free port, on a clock they move, with
//! [`startup::Application::build_with`].

pub mod auth;
pub mod cause;
pub mod clock;
pub mod config;
#[cfg(feature = "dev-idp")]
pub mod dev;
pub mod error;
pub mod limits;
pub mod oidc_types;
pub mod serve;
pub mod sessions;
pub mod startup;
pub mod telemetry;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// The router's state: what the Leptos integration needs, and the auth service.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub auth: Arc<auth::AuthService>,
    /// The caps on requests in flight, per kind of route.
    pub in_flight: Arc<limits::InFlight>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Arc<auth::AuthService> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// `bytes` random bytes, base64url: lock tokens, per-run secrets.
pub(crate) fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}
