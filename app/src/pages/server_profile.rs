use crate::{
    auth::get_server_profile,
    components::{Loading, ProfileError, ProfileFields, Protected, SessionCheck, SignOutButton},
    error::AppError,
    names::{ids, paths},
    scim::ScimProfile,
};
use leptos::{either::Either, prelude::*};
use leptos_oidc_bff::Hydrated;
use leptos_router::{components::A, lazy_route, LazyRoute};

/// `/server-profile`: scim2/Me fetched by the server, with the token from the session. On a full
/// page load the record is part of the HTML; on a client-side navigation the browser calls the
/// server function (`POST /api/server_profile`), which returns the profile and never a token.
pub struct ServerProfilePage {
    session: SessionCheck,
    profile: Resource<Result<ScimProfile, AppError>, Hydrated>,
}

#[lazy_route]
impl LazyRoute for ServerProfilePage {
    fn data() -> Self {
        // Both start at once: the session check and the record load in parallel with the page's
        // code. Without a session the server function answers 401 and the check redirects.
        ServerProfilePage {
            session: SessionCheck::start(),
            profile: Resource::new_with_options(|| (), |_| get_server_profile(), false),
        }
    }

    fn view(this: Self) -> AnyView {
        let profile = this.profile;
        view! {
            <Protected path=paths::SERVER_PROFILE session=this.session>
                <section class="card">
                    <h1>"Profile Page"</h1>
                    <p class="muted">"Fetched by the server from scim2/Me."</p>
                    <Suspense fallback=|| view! { <Loading text="Loading your profile…"/> }>
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
            </Protected>
        }
        .into_any()
    }
}
