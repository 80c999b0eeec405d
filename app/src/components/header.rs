use crate::{names::paths, use_auth};
use leptos::prelude::*;
use leptos_router::components::A;

/// The bar at the top of every page: the app's name and who is signed in.
#[component]
pub fn Header() -> impl IntoView {
    let auth = use_auth();
    let who = move || {
        auth.get()
            .and_then(Result::ok)
            .and_then(|state| state.user)
            .map(|user| view! { <span class="who">{user.email}</span> })
    };
    view! {
        <header class="topbar">
            <A href=paths::HOME attr:class="brand">"asgardeo-leptos"</A>
            <Transition fallback=|| ()>{who}</Transition>
        </header>
    }
}
