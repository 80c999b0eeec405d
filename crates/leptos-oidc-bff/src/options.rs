//! What the browser side needs to know of the server's auth endpoints, and how the components
//! look while they wait or when something went wrong.

use crate::state::AuthError;
use leptos::prelude::*;
use std::sync::Arc;

/// A view for a problem that ends a protected page: what went wrong (`title`, `error`), and the
/// page's own path to come back to.
pub type ProblemView = Arc<dyn Fn(&'static str, AuthError, &'static str) -> AnyView + Send + Sync>;

/// A view shown while something loads, with its text.
pub type LoadingView = Arc<dyn Fn(&'static str) -> AnyView + Send + Sync>;

/// Paths and names shared with the server (they must match the `axum-oidc-bff` settings), and
/// the views the components use. Auth.js-compatible by default.
#[derive(Clone)]
pub struct AuthOptions {
    /// Starts a sign-in (`?callbackUrl=` is added).
    pub sign_in: String,
    /// Signs out (a form `POST`).
    pub sign_out: String,
    /// The session event stream.
    pub events: String,
    /// The name the browser's channel and lock are named after (`{name}:auth`,
    /// `{name}:events`): the settings' `name`.
    pub name: String,
    /// Shown while something loads.
    pub loading: LoadingView,
    /// Shown when a protected page cannot be shown.
    pub problem: ProblemView,
}

impl AuthOptions {
    /// The Auth.js paths for provider `id`, named `name` (as the server's settings are).
    pub fn auth_js(id: &str, name: &str) -> Self {
        AuthOptions {
            sign_in: format!("/api/auth/signin/{id}"),
            sign_out: "/api/auth/signout".into(),
            events: "/api/auth/events".into(),
            name: name.to_owned(),
            loading: Arc::new(|text| {
                view! { <p class="loading" aria-busy="true">{text}</p> }.into_any()
            }),
            problem: Arc::new(default_problem),
        }
    }

    /// The sign-in path that brings the user back to `callback_path` afterwards.
    pub fn sign_in_url(&self, callback_path: &str) -> String {
        let mut encoded = String::with_capacity(callback_path.len());
        for byte in callback_path.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                    encoded.push(byte as char)
                }
                _ => encoded.push_str(&format!("%{byte:02X}")),
            }
        }
        format!("{}?callbackUrl={encoded}", self.sign_in)
    }

    /// Another view while things load.
    pub fn loading_view(
        mut self,
        view: impl Fn(&'static str) -> AnyView + Send + Sync + 'static,
    ) -> Self {
        self.loading = Arc::new(view);
        self
    }

    /// Another view for problems of protected pages.
    pub fn problem_view(
        mut self,
        view: impl Fn(&'static str, AuthError, &'static str) -> AnyView + Send + Sync + 'static,
    ) -> Self {
        self.problem = Arc::new(view);
        self
    }
}

fn default_problem(title: &'static str, error: AuthError, return_to: &'static str) -> AnyView {
    let href = if error.needs_sign_in() {
        crate::use_auth().options().sign_in_url(return_to)
    } else {
        return_to.to_owned()
    };
    let label = if error.needs_sign_in() {
        "Sign in again"
    } else {
        "Try again"
    };
    view! {
        <div role="alert">
            <h2>{title}</h2>
            <p>{error.to_string()}</p>
            <a rel="external" href=href>{label}</a>
        </div>
    }
    .into_any()
}
