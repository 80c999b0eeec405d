//! asgardeo-leptos: the pages, components and server functions of the app.
//!
//! Compiled twice: with `ssr` into the axum server, which renders every page (and answers the
//! server functions), and with `hydrate` into the wasm the browser runs. Leptos runs in islands
//! mode: pages are plain server-rendered HTML and only `#[island]` components hydrate, so the
//! browser downloads the code of the one interactive part, not of the router and every page.

pub mod auth;
pub mod components;
pub mod error;
pub mod names;
pub mod pages;
pub mod scim;

use auth::{load_auth_state, AuthState};
use error::AppError;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    SsrMode, StaticSegment,
};
use names::paths;

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
                <HashedStylesheet options=options.clone() id="leptos"/>
                {has_islands().then(|| view! { <HydrationScripts options islands=true/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Whether the page being rendered has an island to hydrate. Only `/client-profile` does; every
/// other page is complete as HTML and downloads no wasm at all. A page that gains an island must
/// be listed here.
fn has_islands() -> bool {
    #[cfg(feature = "ssr")]
    return use_context::<http::request::Parts>()
        .is_some_and(|parts| parts.uri.path() == paths::CLIENT_PROFILE);
    #[cfg(not(feature = "ssr"))]
    return true;
}

/// Who is signed in, loaded once per page load and shared by every page.
#[derive(Clone, Copy)]
pub struct AuthResource(pub Resource<Result<AuthState, AppError>>);

/// The auth state provided by [`App`].
pub fn use_auth() -> Resource<Result<AuthState, AppError>> {
    expect_context::<AuthResource>().0
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(AuthResource(Resource::new(|| (), |_| load_auth_state())));

    view! {
        <Title text="asgardeo-leptos"/>
        <Router>
            <components::Header/>
            <main class="container">
                <Routes fallback=pages::NotFound>
                    <Route path=StaticSegment("") view=pages::HomePage/>
                    // Protected pages render only after the session is known, so that the server
                    // can still answer with a redirect when nobody is signed in.
                    <Route
                        path=StaticSegment(&paths::CLIENT_PROFILE[1..])
                        view=pages::ClientProfilePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=StaticSegment(&paths::SERVER_PROFILE[1..])
                        view=pages::ServerProfilePage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
        </Router>
    }
}
