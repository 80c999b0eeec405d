use crate::{error::AppError, names};
use leptos::prelude::*;

/// Shown while something loads.
#[component]
pub fn Loading(#[prop(default = "Loading…")] text: &'static str) -> impl IntoView {
    view! { <p id=names::ids::LOADING class="loading" aria-busy="true">{text}</p> }
}

/// An error with its cause and the one thing to do about it.
#[component]
pub fn ErrorBox(
    /// What failed, e.g. "Failed to fetch user details".
    title: &'static str,
    error: AppError,
    /// Where "Sign in again" brings the user back to.
    return_to: &'static str,
) -> impl IntoView {
    // Rendered on the server, the page answers with the error's status, not 200.
    #[cfg(feature = "ssr")]
    leptos_oidc_bff::ssr::set_status(error.status());
    let action = if error.needs_sign_in() {
        view! {
            <a id=names::ids::ERROR_ACTION class="button" rel="external" href=names::sign_in_url(return_to)>
                "Sign in again"
            </a>
        }
        .into_any()
    } else {
        view! {
            <a id=names::ids::ERROR_ACTION class="button" rel="external" href=return_to>"Try again"</a>
        }
        .into_any()
    };
    view! {
        <div class="error-box" role="alert">
            <h2 id=names::ids::ERROR_TITLE>{title}</h2>
            <p id=names::ids::ERROR_MESSAGE>{error.to_string()}</p>
            {action}
        </div>
    }
}
