use crate::{
    auth::{use_auth, SessionUser},
    names::{ids, paths},
};
use leptos::prelude::*;
use leptos_router::components::A;

/// The bar at the top of every page: the app's name and who is signed in, kept current as the
/// session changes (in this tab or another).
#[component]
pub fn Header() -> impl IntoView {
    let auth = use_auth();
    let who = move || {
        auth.user::<SessionUser>().map(|user| {
            view! { <span id=ids::WHO class="who">"Signed in as " {user.email}</span> }
        })
    };
    view! {
        <header class="topbar">
            <A href=paths::HOME attr:class="brand">"asgardeo-leptos"</A>
            <Transition fallback=|| ()>{who}</Transition>
        </header>
    }
}
