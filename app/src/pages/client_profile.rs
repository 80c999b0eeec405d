//! `/client-profile`: scim2/Me fetched by the browser, as the Next.js guide does.
//!
//! The page is rendered on the server like every other; only [`ClientProfile`] is an island,
//! hydrated in the browser, where it asks `/api/auth/session` for the access token and calls the
//! IdP's scim2/Me with it (or, with `AUTH_EXPOSE_ACCESS_TOKEN=false`, the same-origin proxy).
//! It is the only wasm this app ships, which keeps the download small (see README → Performance).

use crate::{
    auth::AuthState,
    components::{Loading, ProfileError, ProfileFields, Protected, SignOutButton},
    error::AppError,
    names::{ids, paths},
    scim::ScimProfile,
    use_auth,
};
use leptos::{either::EitherOf3, prelude::*};
use leptos_router::components::A;

/// Where the island reads its settings (rendered by the server beside it).
const CONFIG_ID: &str = "client-profile-config";

#[component]
pub fn ClientProfilePage() -> impl IntoView {
    let auth = use_auth();
    // Protected has resolved the session before rendering this, on the server.
    let config = move || {
        auth.get().and_then(Result::ok).map(
            |AuthState {
                 me_endpoint,
                 token_in_browser,
                 ..
             }| {
                view! {
                    <div
                        id=CONFIG_ID
                        hidden
                        data-me-endpoint=me_endpoint
                        data-token-in-browser=token_in_browser.to_string()
                    ></div>
                }
            },
        )
    };
    view! {
        <Protected path=paths::CLIENT_PROFILE>
            <section class="card">
                <h1>"Profile Page"</h1>
                <p class="muted">"Fetched by your browser from scim2/Me."</p>
                {config}
                <ClientProfile/>
                <div class="actions">
                    <A href=paths::HOME attr:id=ids::GO_HOME>"Go to index page"</A>
                    <SignOutButton/>
                </div>
            </section>
        </Protected>
    }
}

/// The profile, fetched after hydration. The server renders the loading state, and so does the
/// first render in the browser, so the two match.
#[island]
fn ClientProfile() -> impl IntoView {
    let profile = RwSignal::new(None::<Result<ScimProfile, AppError>>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Some(result) = fetch_profile().await {
                profile.set(Some(result));
            }
        });
    });
    view! {
        {move || match profile.get() {
            None => EitherOf3::A(view! { <Loading text="Loading your profile…"/> }),
            Some(Ok(profile)) => EitherOf3::B(view! { <ProfileFields profile/> }),
            Some(Err(error)) => EitherOf3::C(view! {
                <ProfileError error return_to=paths::CLIENT_PROFILE/>
            }),
        }}
    }
}

/// Asks the session for the access token and calls scim2/Me with it, as the guide does; or, when
/// the server keeps tokens out of JavaScript, calls the same-origin proxy. A 401 gets one retry
/// with a token the server refreshed. `None` when the page is being reloaded: the session ended,
/// and the server's page will say why.
#[cfg(feature = "hydrate")]
async fn fetch_profile() -> Option<Result<ScimProfile, AppError>> {
    use crate::{
        names::form_encode,
        scim::{json, JsonView, SCIM_MEDIA_TYPE},
    };
    use gloo_net::http::{Request, Response};

    struct Config {
        me_endpoint: String,
        token_in_browser: bool,
    }

    fn config() -> Option<Config> {
        let element = web_sys::window()?
            .document()?
            .get_element_by_id(CONFIG_ID)?;
        Some(Config {
            me_endpoint: element.get_attribute("data-me-endpoint")?,
            token_in_browser: element.get_attribute("data-token-in-browser")? == "true",
        })
    }

    fn network(url: &str, err: gloo_net::Error) -> AppError {
        AppError::Network {
            url: url.to_owned(),
            reason: err.to_string(),
        }
    }

    /// The session's access token; `None` when signed out.
    async fn session_token(
        request: Result<Request, gloo_net::Error>,
    ) -> Result<Option<String>, AppError> {
        let request = request.map_err(|err| AppError::Transport(err.to_string()))?;
        let response = request
            .send()
            .await
            .map_err(|err| network(paths::SESSION, err))?;
        if !response.ok() {
            return Err(AppError::Transport(format!(
                "the session answered HTTP {}",
                response.status()
            )));
        }
        let body = response
            .text()
            .await
            .map_err(|err| network(paths::SESSION, err))?;
        let session =
            json::parse(&body).ok_or_else(|| AppError::Transport("unreadable session".into()))?;
        Ok(session.field("access_token").and_then(|t| t.text()))
    }

    async fn signed_in() -> bool {
        let Ok(response) = Request::get(paths::SESSION).send().await else {
            return true;
        };
        let body = response.text().await.unwrap_or_default();
        json::parse(&body).and_then(|s| s.field("user")).is_some()
    }

    async fn me(url: &str, token: Option<&str>) -> Result<Response, AppError> {
        let mut request = Request::get(url)
            .header("Accept", SCIM_MEDIA_TYPE)
            .header("Content-Type", SCIM_MEDIA_TYPE);
        if let Some(token) = token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        request.send().await.map_err(|err| network(url, err))
    }

    let Some(config) = config() else {
        return Some(Err(AppError::Internal));
    };
    let url = config.me_endpoint.as_str();
    let response = if config.token_in_browser {
        let token = match session_token(Request::get(paths::SESSION).build()).await {
            Ok(Some(token)) => token,
            Ok(None) => return reload(),
            Err(error) => return Some(Err(error)),
        };
        let first = match me(url, Some(&token)).await {
            Ok(response) => response,
            Err(error) => return Some(Err(error)),
        };
        if first.status() == 401 {
            let refresh = Request::post(paths::REFRESH)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("access_token={}", form_encode(&token)));
            match session_token(refresh).await {
                Ok(Some(fresh)) if fresh != token => match me(url, Some(&fresh)).await {
                    Ok(response) => response,
                    Err(error) => return Some(Err(error)),
                },
                Ok(Some(_)) => first,
                Ok(None) => return reload(),
                Err(error) => return Some(Err(error)),
            }
        } else {
            first
        }
    } else {
        match me(paths::ME_PROXY, None).await {
            Ok(response) => response,
            Err(error) => return Some(Err(error)),
        }
    };
    let status = response.status();
    // The server may have ended the session on the way (refresh refused): its page says why.
    if status == 401 && !signed_in().await {
        return reload();
    }
    let body = match response.text().await {
        Ok(body) => body,
        Err(err) => return Some(Err(network(url, err))),
    };
    Some(crate::scim::interpret_me_response(status, &body))
}

#[cfg(feature = "hydrate")]
fn reload() -> Option<Result<ScimProfile, AppError>> {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
    None
}

#[cfg(not(feature = "hydrate"))]
async fn fetch_profile() -> Option<Result<ScimProfile, AppError>> {
    // Effects never run on the server.
    None
}
