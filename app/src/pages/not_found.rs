use crate::names::{ids, paths};
use leptos::prelude::*;
use leptos_router::components::A;

/// Any path the router does not know (a `404` from the server).
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    leptos_oidc_bff::ssr::set_status(404);
    view! {
        <section class="card">
            <h1 id=ids::ERROR_TITLE>"Page not found"</h1>
            <p id=ids::ERROR_MESSAGE>"There is no page at this address."</p>
            <A href=paths::HOME attr:id=ids::ERROR_ACTION attr:class="button">"Go home"</A>
        </section>
    }
}
