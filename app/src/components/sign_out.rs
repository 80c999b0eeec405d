use crate::names::{ids, paths};
use leptos::prelude::*;

/// Signs out here and at the IdP. A plain form POST: it works before the wasm has loaded, and the
/// server refuses it when it comes from another site.
#[component]
pub fn SignOutButton() -> impl IntoView {
    view! {
        <form method="post" action=paths::SIGN_OUT class="inline">
            <button id=ids::SIGN_OUT type="submit" class="button secondary">"Sign out"</button>
        </form>
    }
}
