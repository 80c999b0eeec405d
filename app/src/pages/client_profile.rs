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
/// when the server keeps tokens out of JavaScript, calls the same-origin proxy.
#[cfg(feature = "hydrate")]
async fn fetch_profile(state: AuthState) -> Result<ScimProfile, AppError> {
    use crate::{auth::SessionJson, scim::SCIM_MEDIA_TYPE};
    use gloo_net::http::Request;

    let request = if state.token_in_browser {
        let session: SessionJson = Request::get(paths::SESSION)
            .send()
            .await
            .map_err(|err| network(paths::SESSION, err))?
            .json()
            .await
            .map_err(|err| AppError::Transport(format!("unreadable session: {err}")))?;
        let token = session.access_token.ok_or(AppError::NotSignedIn)?;
        Request::get(&state.me_endpoint).header("Authorization", &format!("Bearer {token}"))
    } else {
        Request::get(paths::ME_PROXY)
    };
    let url = if state.token_in_browser {
        state.me_endpoint.as_str()
    } else {
        paths::ME_PROXY
    };
    let response = request
        .header("Accept", SCIM_MEDIA_TYPE)
        .header("Content-Type", SCIM_MEDIA_TYPE)
        .send()
        .await
        .map_err(|err| network(url, err))?;
    let status = response.status();
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
