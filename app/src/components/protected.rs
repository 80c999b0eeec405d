//! The Leptos counterpart of the Next.js guide's `withProtectedRoute`, working on both sides:
//! on the server a signed-out visitor gets a `302` to sign-in; in the browser every client-side
//! navigation to a protected page checks the session first (showing that it does), and a
//! signed-out user is sent to sign in, with `callbackUrl` set to the page.

use crate::{
    auth::{use_auth, Auth, AuthResult, AuthState},
    codec::Hydrated,
    components::{ErrorBox, Loading},
    error::{AppError, EndReason},
    names::sign_in_url,
};
use leptos::{either::EitherOf4, prelude::*};

/// The session check of one visit to a protected page. Started in the route's `data()`, so that
/// in the browser it runs while the page's code downloads. The server's answer is handed to the
/// browser with the page, so the first render after a full page load does not check again.
#[derive(Clone, Copy)]
pub struct SessionCheck(Resource<AuthResult, Hydrated>);

impl SessionCheck {
    pub fn start() -> Self {
        let auth = use_auth();
        SessionCheck(Resource::new_with_options(
            || (),
            move |_| auth.verify(),
            false,
        ))
    }
}

/// What a protected page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Access {
    Granted,
    /// Nobody is signed in: off to sign-in.
    SignIn,
    /// The session ended, at this check or behind the page's back.
    Ended(EndReason),
    Failed(AppError),
}

impl Access {
    fn of(check: &AuthResult, auth: &Auth) -> Access {
        let checked = match check {
            Ok(state) => state,
            Err(error) => return Access::Failed(error.clone()),
        };
        // What the app knows now: this check's answer, or something newer (another tab signed
        // out, the server said the session ended).
        let latest = auth.get().and_then(Result::ok);
        match latest.as_ref().unwrap_or(checked) {
            AuthState { user: Some(_), .. } => Access::Granted,
            AuthState {
                flash: Some(reason),
                ..
            } => Access::Ended(*reason),
            AuthState { .. } if checked.user.is_some() => Access::Ended(EndReason::SignedOut),
            AuthState { .. } => Access::SignIn,
        }
    }
}

/// Renders `children` only for a signed-in user. `path` is the page's own path, where sign-in
/// brings the user back to.
#[component]
pub fn Protected(path: &'static str, session: SessionCheck, children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let children = StoredValue::new(children);
    // Run inside the `Suspense`, which its reads of the resources belong to. `access` changes
    // only when what the page shows must change, so the children are built once.
    let content = move || {
        let access = Memo::new(move |_| session.0.get().map(|check| Access::of(&check, &auth)));
        Suspend::new(async move {
            let _ = session.0.await;
            match access.get() {
                Some(Access::Granted) => EitherOf4::A(children.read_value()()),
                Some(Access::SignIn) | None => {
                    go_to(&sign_in_url(path));
                    EitherOf4::B(view! { <Loading text="Redirecting to sign-in…"/> })
                }
                Some(Access::Ended(reason)) => EitherOf4::C(view! {
                    <ErrorBox title="Signed out" error=AppError::SessionEnded(reason) return_to=path/>
                }),
                Some(Access::Failed(error)) => EitherOf4::D(view! {
                    <ErrorBox title="Could not check your session" error return_to=path/>
                }),
            }
        })
    };
    view! {
        <Suspense fallback=|| view! { <Loading text="Checking your session…"/> }>{content}</Suspense>
    }
}

/// Sends the user to `target`: a `302` from the server, a full navigation in the browser (sign-in
/// leaves the app for the IdP).
fn go_to(target: &str) {
    #[cfg(feature = "ssr")]
    crate::auth::ssr::redirect(target);
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(target);
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    let _ = target;
}
