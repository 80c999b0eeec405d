//! The page the server answers with when sign-in, sign-out or the session fails.
//!
//! Rendered by the server outside the router (it has no data to load and is never hydrated),
//! with the same layout and stylesheet as the app.

use crate::names::{ids, paths};
use leptos::prelude::*;
use leptos_meta::HashedStylesheet;
use serde::{Deserialize, Serialize};

/// What the error page says, and the one thing it offers to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorPageInfo {
    pub title: String,
    pub message: String,
    /// A second line, e.g. the IdP's own `error_description`.
    pub detail: Option<String>,
    pub action_label: String,
    pub action_href: String,
}

/// A whole HTML document for [`ErrorPageInfo`].
#[component]
pub fn ErrorDocument(options: LeptosOptions, info: ErrorPageInfo) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <title>{format!("{} · asgardeo-leptos", info.title)}</title>
                <HashedStylesheet options id="leptos"/>
            </head>
            <body>
                <header class="topbar">
                    <a href=paths::HOME class="brand">"asgardeo-leptos"</a>
                </header>
                <main class="container">
                    <section class="card error-box" role="alert">
                        <h1 id=ids::ERROR_TITLE>{info.title}</h1>
                        <p id=ids::ERROR_MESSAGE>{info.message}</p>
                        {info.detail.map(|detail| view! { <p class="detail">{detail}</p> })}
                        <a id=ids::ERROR_ACTION class="button" href=info.action_href>{info.action_label}</a>
                    </section>
                </main>
            </body>
        </html>
    }
}
