//! A plain axum app on `axum-oidc-bff`, no Leptos: what a React or plain-HTML frontend would
//! call.
//!
//! - `GET /` — a page that says who is signed in, with a sign-in link or a sign-out button;
//! - `GET /me` — the signed-in user as JSON (`401` without a session);
//! - `GET /profile` — the IdP's userinfo, called by the server with the user's token;
//! - `GET /api/userinfo` — the same API, through the same-origin proxy (for the browser);
//! - and the auth endpoints of provider `example` (`/api/auth/signin/example`, …).
//!
//! Run it with `cargo run -p axum-plain-example` and the variables of provider `example`:
//! `AUTH_URL`, `AUTH_SECRET`, `AUTH_EXAMPLE_ISSUER`, `AUTH_EXAMPLE_ID`, `AUTH_EXAMPLE_SECRET`,
//! and `EXAMPLE_USERINFO_URL` (the API to call).

use axum::{
    response::{Html, IntoResponse},
    routing::get,
    Json, Router,
};
use axum_oidc_bff::{Api, ApiError, Bff, Claims, CurrentUser, MaybeUser, Proxy, Settings};
use serde::{Deserialize, Serialize};

/// The provider id: in the paths and the variable names.
pub const PROVIDER: &str = "example";

/// This app's user.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Person {
    /// The login name.
    pub login: String,
    /// The email address, if the IdP gave one.
    pub email: Option<String>,
}

impl Person {
    fn from_claims(claims: &Claims) -> Person {
        Person {
            login: claims
                .username
                .clone()
                .or_else(|| claims.preferred_username.clone())
                .unwrap_or_else(|| claims.sub.clone()),
            email: claims.email.clone(),
        }
    }
}

/// The app: `userinfo` is the protected API it calls (and proxies).
pub async fn app(
    settings: Settings,
    userinfo: &str,
) -> Result<Router, Box<dyn std::error::Error + Send + Sync>> {
    let bff = Bff::builder(settings)
        .user(Person::from_claims)
        .build()
        .await?;
    let userinfo_url = userinfo.to_owned();
    Ok(Router::new()
        .route("/", get(home))
        .route("/me", get(me))
        .route(
            "/profile",
            get(move |api: Api| profile(api, userinfo_url.clone())),
        )
        .merge(bff.router())
        .merge(bff.proxy(Proxy::new("/api/userinfo", userinfo)?))
        .layer(bff.layer()))
}

async fn home(MaybeUser(person): MaybeUser<Person>) -> Html<String> {
    Html(match person {
        Some(person) => format!(
            "<!DOCTYPE html><title>Signed in</title><p>Signed in as {}.</p>\
             <form method=post action=/api/auth/signout><button>Sign out</button></form>",
            html_escape(&person.login)
        ),
        None => format!(
            "<!DOCTYPE html><title>Welcome</title>\
             <a href=\"/api/auth/signin/{PROVIDER}?callbackUrl=/\">Sign in</a>"
        ),
    })
}

async fn me(CurrentUser(person): CurrentUser<Person>) -> Json<Person> {
    Json(person)
}

async fn profile(api: Api, userinfo: String) -> Result<impl IntoResponse, ApiError> {
    let answer = api.get(&userinfo).send().await?.error_for_status()?;
    let claims: serde_json::Value = answer
        .json()
        .map_err(|e| ApiError::Request(format!("userinfo is not JSON: {e}")))?;
    Ok(Json(claims))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
