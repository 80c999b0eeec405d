use crate::{
    auth::load_server_profile,
    components::{Loading, ProfileError, ProfileFields, Protected, SignOutButton},
    error::AppError,
    names::{ids, paths},
    scim::ScimProfile,
};
use leptos::{either::Either, prelude::*};
use leptos_router::components::A;

/// `/server-profile`: scim2/Me fetched by the server, with the token from the session.
#[component]
pub fn ServerProfilePage() -> impl IntoView {
    // Blocking: the record is part of the first HTML, and the browser never asks for it. Made
    // here, once per page, not inside `Protected`, whose content may render more than once.
    let profile = Resource::new_blocking(|| (), |_| load_server_profile());
    view! {
        <Protected path=paths::SERVER_PROFILE>
            <ServerProfile profile/>
        </Protected>
    }
}

#[component]
fn ServerProfile(profile: Resource<Result<ScimProfile, AppError>>) -> impl IntoView {
    view! {
        <section class="card">
            <h1>"Profile Page"</h1>
            <p class="muted">"Fetched by the server from scim2/Me."</p>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match profile.await {
                        Ok(profile) => Either::Left(view! { <ProfileFields profile/> }),
                        Err(error) => Either::Right(view! {
                            <ProfileError error return_to=paths::SERVER_PROFILE/>
                        }),
                    }
                })}
            </Suspense>
            <div class="actions">
                <A href=paths::HOME attr:id=ids::GO_HOME>"Go to index page"</A>
                <SignOutButton/>
            </div>
        </section>
    }
}
