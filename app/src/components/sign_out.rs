use crate::names::{ids, paths};
use leptos::prelude::*;

/// Signs out here and at the IdP. A plain form POST: it works before the wasm has loaded (and
/// without JavaScript), and the server refuses it when it comes from another site.
#[component]
pub fn SignOutButton() -> impl IntoView {
    // The browser navigates away with the POST; first this tab hands its event stream to
    // another, so that the other tabs hear of the sign-out at once.
    let on_submit = move |_| {
        #[cfg(feature = "hydrate")]
        crate::auth::leaving();
    };
    view! {
        <form method="post" action=paths::SIGN_OUT class="inline" on:submit=on_submit>
            <button id=ids::SIGN_OUT type="submit" class="button secondary">"Sign out"</button>
        </form>
    }
}
