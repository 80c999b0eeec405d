//! Sign-in and sign-out, as components.

use crate::context::use_auth;
use leptos::prelude::*;

/// A link that starts a sign-in and comes back to `return_to`. A full navigation (`rel =
/// "external"`): sign-in leaves the app for the IdP.
#[component]
pub fn SignInLink(
    /// Where to come back to after signing in.
    #[prop(default = "/")]
    return_to: &'static str,
    /// The link's text.
    #[prop(default = "Sign in")]
    label: &'static str,
    /// The link's `id`.
    #[prop(optional)]
    id: &'static str,
    /// The link's `class`.
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    let href = use_auth().options().sign_in_url(return_to);
    view! {
        <a id=(!id.is_empty()).then_some(id) class=(!class.is_empty()).then_some(class) rel="external" href=href>
            {label}
        </a>
    }
}

/// Signs out here and at the IdP. A plain form `POST`: it works before the wasm has loaded
/// (and without JavaScript), and the server refuses it when it comes from another site.
#[component]
pub fn SignOutButton(
    /// The button's text.
    #[prop(default = "Sign out")]
    label: &'static str,
    /// The button's `id`.
    #[prop(optional)]
    id: &'static str,
    /// The button's `class`.
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    let action = use_auth().options().sign_out;
    // The browser navigates away with the POST; first this tab hands its event stream to
    // another, so that the other tabs hear of the sign-out at once.
    let on_submit = move |_| {
        #[cfg(feature = "hydrate")]
        crate::live::leaving();
    };
    view! {
        <form method="post" action=action class="inline" on:submit=on_submit>
            <button id=(!id.is_empty()).then_some(id) type="submit" class=(!class.is_empty()).then_some(class)>
                {label}
            </button>
        </form>
    }
}
