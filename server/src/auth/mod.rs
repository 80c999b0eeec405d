//! Sign-in, session and sign-out: the backend-for-frontend that holds the tokens.
//!
//! One file per concern: [`service`] (a session's whole life: use, refresh, touch, end),
//! [`oidc`] (the OpenID Connect client), [`session`] (the typed session and its extractor),
//! [`pending`] (sign-ins in progress, in a sealed cookie), [`routes`] (the Auth.js-compatible
//! endpoints), [`events`] (session ends pushed to open tabs), [`backchannel`] (back-channel
//! logout), [`scim`] (scim2/Me), [`csrf`] (cross-site request refusal), [`redirect`]
//! (`callbackUrl` validation) and [`backend`] (what the Leptos pages call). [`router`] merges
//! their routes.

pub mod backchannel;
pub mod backend;
pub mod check;
pub mod csrf;
pub mod events;
pub mod http;
pub mod logout_token;
pub mod oidc;
pub mod pending;
pub mod redirect;
pub mod routes;
pub mod scim;
pub mod service;
pub mod session;

pub use service::AuthService;
pub use session::AuthSession;

/// Every auth route: sign-in, callback, session, refresh, sign-out, back-channel logout, and the
/// scim2/Me proxy.
pub fn router() -> axum::Router<crate::AppState> {
    routes::router()
        .merge(backchannel::router())
        .merge(events::router())
        .merge(scim::router())
}
