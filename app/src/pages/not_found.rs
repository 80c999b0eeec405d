use crate::names::{ids, paths};
use leptos::prelude::*;

/// Any path the router does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card">
            <h1 id=ids::ERROR_TITLE>"Page not found"</h1>
            <p id=ids::ERROR_MESSAGE>"There is no page at this address."</p>
            <a id=ids::ERROR_ACTION class="button" href=paths::HOME>"Go home"</a>
        </section>
    }
}
