//! asgardeo-leptos: the pages, components and server functions of the app.
//!
//! Compiled twice: with `ssr` into the axum server, which renders every page first (and answers
//! the server functions), and with `hydrate` into the wasm the browser runs, which hydrates the
//! whole app and then runs `leptos_router` in the browser: links change the page without
//! reloading the document. Each page is a lazy route, so the browser downloads the code of the
//! pages it shows (`cargo leptos build --split`).

pub mod auth;
pub mod components;
pub mod error;
pub mod names;
pub mod pages;
pub mod scim;

use components::{title_of, RouteAnnouncer};
use leptos::prelude::*;
use leptos_meta::HashedStylesheet;
use leptos_router::{
    components::{Route, Router, Routes},
    Lazy, SsrMode, StaticSegment,
};
use names::{ids, paths};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <title>{title_of(&request_path())}</title>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The path of the page being rendered (the shell is rendered on the server only).
fn request_path() -> String {
    #[cfg(feature = "ssr")]
    return use_context::<http::request::Parts>()
        .map(|parts| parts.uri.path().to_owned())
        .unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    return String::new();
}

#[component]
pub fn App() -> impl IntoView {
    auth::provide_auth();

    // Every page renders completely on the server before a byte is sent (`SsrMode::Async`): a
    // protected page can still answer with a redirect, and a browser without JavaScript gets
    // whole pages, not streamed fragments it cannot assemble.
    view! {
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <components::Header/>
            <main id=ids::MAIN class="container" tabindex="-1">
                <Routes fallback=pages::NotFound>
                    <Route path=StaticSegment("") view={Lazy::<pages::HomePage>::new()} ssr=SsrMode::Async/>
                    <Route
                        path=StaticSegment(&paths::CLIENT_PROFILE[1..])
                        view={Lazy::<pages::ClientProfilePage>::new()}
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=StaticSegment(&paths::SERVER_PROFILE[1..])
                        view={Lazy::<pages::ServerProfilePage>::new()}
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
            <RouteAnnouncer/>
        </Router>
    }
}
