//! asgardeo-leptos: the pages, components and server functions of the app.
//!
//! Compiled twice: with `ssr` into the axum server (which renders the pages and answers the
//! server functions), and with `hydrate` into the wasm bundle the browser runs.

pub mod auth;
pub mod components;
pub mod error;
pub mod names;
pub mod pages;
pub mod scim;

use auth::{get_auth_state, AuthState};
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
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
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
    provide_context(AuthResource(Resource::new(|| (), |_| get_auth_state())));

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
