use crate::{
    auth::{use_auth, SessionUser},
    components::{ErrorBox, Loading, SignOutButton},
    names::{ids, paths, sign_in_url},
};
use leptos::{either::EitherOf3, prelude::*};
use leptos_router::{components::A, lazy_route, LazyRoute};

/// `/`: a sign-in button, or a welcome with links to both profile pages.
pub struct HomePage;

#[lazy_route]
impl LazyRoute for HomePage {
    fn data() -> Self {
        HomePage
    }

    fn view(_this: Self) -> AnyView {
        let auth = use_auth();
        view! {
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    let state = auth.snapshot().await;
                    match state.as_ref().map(|s| (s.user::<SessionUser>(), s.ended)) {
                        Ok((Some(user), _)) => EitherOf3::A(view! {
                            <section class="card">
                                <h1 id=ids::WELCOME>"Welcome, " {user.display_name().to_owned()} "!"</h1>
                                <p class="muted">"You are signed in as " <strong>{user.email.clone()}</strong> "."</p>
                                <p>"Your SCIM 2.0 profile (scim2/Me), fetched two ways:"</p>
                                <ul class="links">
                                    <li>
                                        <A href=paths::CLIENT_PROFILE attr:id=ids::NAV_CLIENT_PROFILE>
                                            "Client-side profile"
                                        </A>
                                        <span class="muted">" — your browser calls the IdP with the access token"</span>
                                    </li>
                                    <li>
                                        <A href=paths::SERVER_PROFILE attr:id=ids::NAV_SERVER_PROFILE>
                                            "Server-side profile"
                                        </A>
                                        <span class="muted">" — the server calls the IdP; the token never leaves it"</span>
                                    </li>
                                </ul>
                                <SignOutButton/>
                            </section>
                        }),
                        Ok((None, flash)) => EitherOf3::B(view! {
                            <section class="card">
                                <h1>"asgardeo-leptos"</h1>
                                {flash.map(|reason| view! { <p id=ids::FLASH class="flash" role="status">{reason.to_string()}</p> })}
                                <p>
                                    "Sign in with your organisation's identity provider to see your "
                                    "profile, fetched from the browser and from the server."
                                </p>
                                <a id=ids::SIGN_IN class="button" rel="external" href=sign_in_url(paths::HOME)>
                                    "Sign in"
                                </a>
                            </section>
                        }),
                        Err(error) => EitherOf3::C(view! {
                            <ErrorBox title="Could not check your session" error=error.clone().into() return_to=paths::HOME/>
                        }),
                    }
                })}
            </Suspense>
        }
        .into_any()
    }
}
