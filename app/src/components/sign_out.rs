use crate::names::ids;
use leptos::prelude::*;

/// Signs out here and at the IdP (a form `POST`; see `leptos_oidc_bff::SignOutButton`).
#[component]
pub fn SignOutButton() -> impl IntoView {
    view! { <leptos_oidc_bff::SignOutButton id=ids::SIGN_OUT class="button secondary"/> }
}
