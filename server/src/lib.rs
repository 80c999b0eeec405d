//! The asgardeo-leptos server: its configuration, the wiring of the backend-for-frontend
//! (`axum-oidc-bff`) and the Leptos pages, what is specific to this app (scim2/Me, its error
//! pages, its limits per kind of route), and, with the `dev-idp` feature, the built-in
//! development IdP.
//!
//! `main.rs` runs it; the integration tests start it on a free port, on a clock they move, with
//! [`startup::Application::build_with`].

pub mod config;
#[cfg(feature = "dev-idp")]
pub mod dev;
pub mod error;
pub mod limits;
pub mod startup;
pub mod telemetry;

pub use axum_oidc_bff::{Clock, ManualClock, SystemClock};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// The router's state: what the Leptos integration needs, and the caps on requests in flight.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// The caps on requests in flight, per kind of route.
    pub in_flight: Arc<limits::InFlight>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
