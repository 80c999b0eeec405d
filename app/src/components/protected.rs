//! The Leptos counterpart of the Next.js guide's `withProtectedRoute`.

use crate::{
    auth::AuthState,
    components::{ErrorBox, Loading},
    error::AppError,
    names::sign_in_url,
    use_auth,
};
use leptos::{either::EitherOf3, prelude::*};

/// Renders `children` only for a signed-in user. Signed out, it answers with a `302` to sign-in,
/// with `callbackUrl` set to `path`; a session that just ended shows why instead. While the
/// session loads it shows a loading state (pages using it render with `SsrMode::Async`, so the
/// server sends the resolved page and the browser never waits on it).
#[component]
pub fn Protected(
    /// The page's own path, where sign-in brings the user back to.
    path: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let auth = use_auth();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <Loading text="Checking your session…"/> }>
            {move || Suspend::new(async move {
                match auth.await {
                    Ok(AuthState { user: Some(_), .. }) => EitherOf3::A(children.read_value()()),
                    // A session that just ended has a reason worth reading before signing in again.
                    Ok(AuthState { flash: Some(reason), .. }) => EitherOf3::C(view! {
                        <ErrorBox title="Signed out" error=AppError::SessionEnded(reason) return_to=path/>
                    }),
                    Ok(AuthState { flash: None, .. }) => {
                        redirect(&sign_in_url(path));
                        EitherOf3::B(view! { <Loading text="Redirecting to sign-in…"/> })
                    }
                    Err(error) => EitherOf3::C(view! {
                        <ErrorBox title="Could not check your session" error return_to=path/>
                    }),
                }
            })}
        </Suspense>
    }
}

/// Answers the request with a redirect to `target` (pages render on the server only).
fn redirect(target: &str) {
    #[cfg(feature = "ssr")]
    crate::auth::ssr::redirect(target);
    #[cfg(not(feature = "ssr"))]
    let _ = target;
}
