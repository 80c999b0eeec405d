//! Page titles, and what a route change tells assistive technology.
//!
//! The server writes each page's `<title>` (see [`title_of`]). After a client-side navigation
//! (not on the first load, where the browser does it), the browser sets the new title, moves
//! focus to the main content, and a polite live region reads the title out, as a full page load
//! would announce it.

use crate::names::{ids, paths};
use leptos::prelude::*;

const SITE: &str = "asgardeo-leptos";

/// The document title of the page at `path`.
pub fn title_of(path: &str) -> &'static str {
    match path {
        paths::HOME => SITE,
        paths::CLIENT_PROFILE => "Client-side profile · asgardeo-leptos",
        paths::SERVER_PROFILE => "Server-side profile · asgardeo-leptos",
        _ => "Page not found · asgardeo-leptos",
    }
}

/// The visually hidden live region that announces a new page; rendered once, inside the router.
#[component]
pub fn RouteAnnouncer() -> impl IntoView {
    let message = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    {
        let location = leptos_router::hooks::use_location();
        // Effects run only in the browser; the first run is the page the server rendered.
        Effect::new(move |shown: Option<String>| {
            let path = location.pathname.get();
            if shown.is_some_and(|shown| shown != path) {
                announce(title_of(&path));
                message.set(title_of(&path).to_owned());
            }
            path
        });
    }
    view! {
        <p id=ids::ROUTE_ANNOUNCER class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
            {move || message.get()}
        </p>
    }
}

/// Sets the document title and moves focus to the main content.
#[cfg(feature = "hydrate")]
fn announce(title: &str) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    document.set_title(title);
    if let Some(main) = document
        .get_element_by_id(ids::MAIN)
        .and_then(|main| main.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = main.focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_its_own_title() {
        let titles = [
            title_of(paths::HOME),
            title_of(paths::CLIENT_PROFILE),
            title_of(paths::SERVER_PROFILE),
            title_of("/nowhere"),
        ];
        for (i, title) in titles.iter().enumerate() {
            assert!(title.contains(SITE));
            assert!(!titles[i + 1..].contains(title), "{title} twice");
        }
    }
}
