//! The asgardeo-leptos server: configuration, OpenID Connect sign-in with server-side sessions
//! (a backend-for-frontend), the built-in development IdP, and the Leptos pages.
//!
//! `main.rs` runs it; the integration tests start it on a free port with
//! [`startup::Application::build_with_listener`].

pub mod auth;
pub mod config;
pub mod dev_idp;
pub mod error;
pub mod oidc_types;
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
