//! A page only for signed-in users, on both sides: on the server a signed-out visitor gets a
//! `302` to sign-in; in the browser every client-side navigation to a protected page checks the
//! session first (showing that it does), and a signed-out user is sent to sign in, with
//! `callbackUrl` set to the page. (The Leptos counterpart of Next.js' `withProtectedRoute`.)

use crate::{
    codec::Hydrated,
    context::{use_auth, Auth, AuthResult},
    state::{AuthError, AuthSnapshot, SessionEnd},
};
use leptos::prelude::*;

/// The session check of one visit to a protected page. Start it in the route's `data()`, so
/// that in the browser it runs while the page's code downloads. The server's answer is handed
/// to the browser with the page, so the first render after a full page load does not check
/// again.
#[derive(Clone, Copy)]
pub struct SessionCheck(Resource<AuthResult, Hydrated>);

impl SessionCheck {
    /// Starts checking (it needs the context of [`provide_auth`](crate::provide_auth)).
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
    Ended(SessionEnd),
    Failed(AuthError),
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
            AuthSnapshot { user: Some(_), .. } => Access::Granted,
            AuthSnapshot {
                ended: Some(reason),
                ..
            } => Access::Ended(*reason),
            AuthSnapshot { .. } if checked.user.is_some() => Access::Ended(SessionEnd::SignedOut),
            AuthSnapshot { .. } => Access::SignIn,
        }
    }
}

/// Renders `children` only for a signed-in user. `path` is the page's own path, where sign-in
/// brings the user back to.
#[component]
pub fn Protected(
    /// The page's own path.
    path: &'static str,
    /// The page's session check, started in its `data()`.
    session: SessionCheck,
    /// The page, for signed-in users.
    children: ChildrenFn,
) -> impl IntoView {
    let auth = use_auth();
    let options = auth.options();
    let children = StoredValue::new(children);
    let (loading, problem) = (options.loading.clone(), options.problem.clone());
    let sign_in = options.sign_in_url(path);
    // Run inside the `Suspense`, which its reads of the resources belong to. `access` changes
    // only when what the page shows must change, so the children are built once.
    let content = move || {
        let access = Memo::new(move |_| session.0.get().map(|check| Access::of(&check, &auth)));
        let (loading, problem, sign_in) = (loading.clone(), problem.clone(), sign_in.clone());
        Suspend::new(async move {
            let _ = session.0.await;
            match access.get() {
                Some(Access::Granted) => children.read_value()().into_any(),
                Some(Access::SignIn) | None => {
                    go_to(&sign_in);
                    loading("Redirecting to sign-in…")
                }
                Some(Access::Ended(reason)) => {
                    let error = AuthError::SessionEnded(reason);
                    set_status(&error);
                    problem("Signed out", error, path)
                }
                Some(Access::Failed(error)) => {
                    set_status(&error);
                    problem("Could not check your session", error, path)
                }
            }
        })
    };
    let fallback = {
        let loading = options.loading.clone();
        move || loading("Checking your session…")
    };
    view! { <Suspense fallback>{content}</Suspense> }
}

/// Answers the server's render with the error's status (not 200).
fn set_status(error: &AuthError) {
    #[cfg(feature = "ssr")]
    crate::server::ssr::set_status(error.status());
    #[cfg(not(feature = "ssr"))]
    let _ = error;
}

/// Sends the user to `target`: a `302` from the server, a full navigation in the browser
/// (sign-in leaves the app for the IdP).
fn go_to(target: &str) {
    #[cfg(feature = "ssr")]
    crate::server::ssr::redirect(target);
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(target);
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    let _ = target;
}
