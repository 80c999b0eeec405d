//! Page titles, and what a route change tells assistive technology.
//!
//! Every page names itself with [`PageTitle`]. After a client-side navigation (not on the first
//! load, where the browser does it), focus moves to the main content and the new title is read
//! out by a polite live region, as a full page load would announce it.

use crate::names::ids;
use leptos::prelude::*;
use leptos_meta::Title;

const SITE: &str = "asgardeo-leptos";

/// The live region and the state behind it; provided once by `App`.
#[derive(Clone, Copy)]
pub struct RouteAnnouncer {
    message: RwSignal<String>,
    /// Whether the first page has been shown (its title needs no announcement).
    first_shown: StoredValue<bool>,
}

impl RouteAnnouncer {
    pub fn provide() -> Self {
        let announcer = RouteAnnouncer {
            message: RwSignal::new(String::new()),
            first_shown: StoredValue::new(false),
        };
        provide_context(announcer);
        announcer
    }

    /// The visually hidden live region; rendered once, outside the routes.
    pub fn view(self) -> impl IntoView {
        view! {
            <p id=ids::ROUTE_ANNOUNCER class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
                {move || self.message.get()}
            </p>
        }
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn page_shown(self, title: &str) {
        if !self.first_shown.get_value() {
            self.first_shown.set_value(true);
            return;
        }
        self.message.set(title.to_owned());
        #[cfg(feature = "hydrate")]
        if let Some(main) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(ids::MAIN))
        {
            use wasm_bindgen::JsCast;
            if let Ok(main) = main.dyn_into::<web_sys::HtmlElement>() {
                let _ = main.focus();
            }
        }
    }
}

/// Sets the document title to "`text` · asgardeo-leptos" (or the site name alone).
#[component]
pub fn PageTitle(#[prop(optional)] text: Option<&'static str>) -> impl IntoView {
    let title = match text {
        Some(text) => format!("{text} · {SITE}"),
        None => SITE.to_owned(),
    };
    // Effects run only in the browser, once the page is in the document.
    if let Some(announcer) = use_context::<RouteAnnouncer>() {
        let title = title.clone();
        Effect::new(move |_| announcer.page_shown(&title));
    }
    view! { <Title text=title/> }
}
