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

/// `/client-profile`: scim2/Me fetched by the browser (never during server rendering).
#[component]
pub fn ClientProfilePage() -> impl IntoView {
    let auth = use_auth();
    // Filled in by the browser after hydration; the server renders the loading state, and so
    // does the first client render, so the two match. Made here, once per page, not inside
    // `Protected`, whose content may render more than once.
    let profile = RwSignal::new(None::<Result<ScimProfile, AppError>>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let result = match auth.await {
                Ok(state) if state.user.is_some() => fetch_profile(state).await,
                // Signed out: `Protected` is already on its way to sign-in.
                Ok(_) => return,
                Err(error) => Err(error),
            };
            profile.set(Some(result));
        });
    });
    view! {
        <Protected path=paths::CLIENT_PROFILE>
            <ClientProfile profile/>
        </Protected>
    }
}

#[component]
fn ClientProfile(profile: RwSignal<Option<Result<ScimProfile, AppError>>>) -> impl IntoView {
    view! {
        <section class="card">
            <h1>"Profile Page"</h1>
            <p class="muted">"Fetched by your browser from scim2/Me."</p>
            {move || match profile.get() {
                None => EitherOf3::A(view! { <Loading text="Loading your profile…"/> }),
                Some(Ok(profile)) => EitherOf3::B(view! { <ProfileFields profile/> }),
                Some(Err(error)) => EitherOf3::C(view! {
                    <ProfileError error return_to=paths::CLIENT_PROFILE/>
                }),
            }}
            <div class="actions">
                <A href=paths::HOME attr:id=ids::GO_HOME>"Go to index page"</A>
                <SignOutButton/>
            </div>
        </section>
    }
}

/// Asks the session for a fresh access token and calls scim2/Me with it, as the guide does; or,
/// when the server keeps tokens out of JavaScript, calls the same-origin proxy. A 401 gets one
/// retry with a token the server refreshed.
#[cfg(feature = "hydrate")]
async fn fetch_profile(state: AuthState) -> Result<ScimProfile, AppError> {
    use crate::{auth::SessionJson, names::form_encode};
    use gloo_net::http::{Request, Response};

    async fn session_json(request: Request) -> Result<SessionJson, AppError> {
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
        response
            .json()
            .await
            .map_err(|err| AppError::Transport(format!("unreadable session: {err}")))
    }

    async fn me(url: &str, token: Option<&str>) -> Result<Response, AppError> {
        let mut request = Request::get(url)
            .header("Accept", crate::scim::SCIM_MEDIA_TYPE)
            .header("Content-Type", crate::scim::SCIM_MEDIA_TYPE);
        if let Some(token) = token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        request.send().await.map_err(|err| network(url, err))
    }

    /// Signed out on the way: say why, if the server knows.
    async fn ended() -> AppError {
        match crate::auth::get_auth_state().await {
            Ok(AuthState {
                flash: Some(reason),
                ..
            }) => AppError::SessionEnded(reason),
            _ => AppError::NotSignedIn,
        }
    }

    let url = state.me_endpoint.as_str();
    let response = if state.token_in_browser {
        let Some(token) = session_json(
            Request::get(paths::SESSION)
                .build()
                .map_err(|err| AppError::Transport(err.to_string()))?,
        )
        .await?
        .access_token
        else {
            return Err(ended().await);
        };
        let response = me(url, Some(&token)).await?;
        if response.status() == 401 {
            let refresh = Request::post(paths::REFRESH)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("access_token={}", form_encode(&token)))
                .map_err(|err| AppError::Transport(err.to_string()))?;
            match session_json(refresh).await?.access_token {
                Some(fresh) if fresh != token => me(url, Some(&fresh)).await?,
                Some(_) => response,
                None => return Err(ended().await),
            }
        } else {
            response
        }
    } else {
        me(paths::ME_PROXY, None).await?
    };
    let status = response.status();
    if status == 401 {
        // The server may have ended the session on the way (refresh refused): say why.
        if let error @ AppError::SessionEnded(_) = ended().await {
            return Err(error);
        }
    }
    let body = response.text().await.map_err(|err| network(url, err))?;
    crate::scim::interpret_me_response(status, &body)
}

#[cfg(feature = "hydrate")]
fn network(url: &str, err: gloo_net::Error) -> AppError {
    AppError::Network {
        url: url.to_owned(),
        reason: err.to_string(),
    }
}

#[cfg(not(feature = "hydrate"))]
async fn fetch_profile(_state: AuthState) -> Result<ScimProfile, AppError> {
    // LocalResources never run on the server.
    Err(AppError::Internal)
}
