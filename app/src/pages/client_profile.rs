//! `/client-profile`: scim2/Me fetched by the browser, as the Next.js guide does.
//!
//! The server renders the page with a loading state; in the browser (after hydration, or after a
//! client-side navigation) [`ClientProfile`] asks `/api/auth/session` for the access token and
//! calls the IdP's scim2/Me with it, or, with `AUTH_EXPOSE_ACCESS_TOKEN=false`, the same-origin
//! proxy.

use crate::{
    auth::{get_client_api, ClientApi},
    components::{Loading, ProfileError, ProfileFields, Protected, SessionCheck, SignOutButton},
    error::AppError,
    names::{ids, paths},
    scim::ScimProfile,
};
use leptos::{either::EitherOf3, prelude::*};
use leptos_oidc_bff::Hydrated;
use leptos_router::{components::A, lazy_route, LazyRoute};

pub struct ClientProfilePage {
    session: SessionCheck,
    api: Resource<Result<ClientApi, AppError>, Hydrated>,
}

#[lazy_route]
impl LazyRoute for ClientProfilePage {
    fn data() -> Self {
        ClientProfilePage {
            session: SessionCheck::start(),
            api: Resource::new_with_options(|| (), |_| get_client_api(), false),
        }
    }

    fn view(this: Self) -> AnyView {
        let api = this.api;
        view! {
            <Protected path=paths::CLIENT_PROFILE session=this.session>
                <section class="card">
                    <h1>"Profile Page"</h1>
                    <p class="muted">"Fetched by your browser from scim2/Me."</p>
                    <ClientProfile api/>
                    <noscript>
                        <p>
                            "Your browser fetches this profile with JavaScript, which is off. "
                            <a href=paths::SERVER_PROFILE>"The server-side profile"</a>
                            " works without it."
                        </p>
                    </noscript>
                    <div class="actions">
                        <A href=paths::HOME attr:id=ids::GO_HOME>"Go to index page"</A>
                        <SignOutButton/>
                    </div>
                </section>
            </Protected>
        }
        .into_any()
    }
}

/// The profile, fetched in the browser. The server renders the loading state, and so does the
/// first render in the browser, so the two match.
#[component]
fn ClientProfile(api: Resource<Result<ClientApi, AppError>, Hydrated>) -> impl IntoView {
    let profile = RwSignal::new(None::<Result<ScimProfile, AppError>>);
    #[cfg(feature = "hydrate")]
    {
        let auth = crate::auth::use_auth();
        // Effects run only in the browser, once the component is on the page.
        Effect::new(move |_| {
            leptos::task::spawn_local(async move {
                let result = match api.await {
                    Ok(api) => browser::fetch_profile(auth, api).await,
                    Err(error) => Some(Err(error)),
                };
                if let Some(result) = result {
                    profile.set(Some(result));
                }
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = api;
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

#[cfg(feature = "hydrate")]
mod browser {
    use crate::{
        auth::{Auth, ClientApi},
        error::AppError,
        names::{form_encode, paths},
        scim::{interpret_me_response, ScimProfile, SCIM_MEDIA_TYPE},
    };
    use gloo_net::http::{Request, Response};
    use leptos_oidc_bff::json::{self, JsonView};

    /// The browser's request failed before an answer (what failed stays in the browser).
    fn network(_url: &str, _err: gloo_net::Error) -> AppError {
        AppError::Network
    }

    /// The session's access token; `None` when signed out.
    async fn session_token(
        request: Result<Request, gloo_net::Error>,
    ) -> Result<Option<String>, AppError> {
        let request = request.map_err(|_| AppError::Transport)?;
        let response = request
            .send()
            .await
            .map_err(|err| network(paths::SESSION, err))?;
        if !response.ok() {
            return Err(AppError::Transport);
        }
        let body = response
            .text()
            .await
            .map_err(|err| network(paths::SESSION, err))?;
        let session = json::parse(&body).ok_or(AppError::Transport)?;
        Ok(session.field("access_token").and_then(|t| t.text()))
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

    /// Asks the session for the access token and calls scim2/Me with it, as the guide does; or,
    /// when the server keeps tokens out of JavaScript, calls the same-origin proxy. A 401 gets
    /// one retry with a token the server refreshed. `None` when the session turned out to have
    /// ended: the auth context then knows, and the page says why.
    pub async fn fetch_profile(
        auth: Auth,
        api: ClientApi,
    ) -> Option<Result<ScimProfile, AppError>> {
        let ClientApi {
            me_endpoint,
            token_in_browser,
        } = api;
        let url = me_endpoint.as_str();
        let response = if token_in_browser {
            let token = match session_token(Request::get(paths::SESSION).build()).await {
                Ok(Some(token)) => token,
                Ok(None) => return session_ended(auth).await,
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
                    Ok(None) => return session_ended(auth).await,
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
        // The server may have ended the session on the way (refresh refused).
        if status == 401 {
            if let Ok(snapshot) = auth.verify().await {
                if !snapshot.signed_in() {
                    return None;
                }
            }
        }
        let body = match response.text().await {
            Ok(body) => body,
            Err(err) => return Some(Err(network(url, err))),
        };
        Some(interpret_me_response(status, &body))
    }

    async fn session_ended(auth: Auth) -> Option<Result<ScimProfile, AppError>> {
        match auth.verify().await {
            Ok(snapshot) if !snapshot.signed_in() => None,
            Ok(_) => Some(Err(AppError::IdpSessionExpired)),
            Err(error) => Some(Err(error.into())),
        }
    }
}
