//! The auth context: one reactive answer to "who is signed in", shared by every component.
//!
//! The server resolves it while rendering and hands it to the browser with the page (a hydrated
//! resource), so the first render in the browser is already signed in, with no loading flash.
//! After that the browser keeps it current: protected pages check it on every client-side
//! navigation, a window that regains focus looks again, tabs tell each other what they learned,
//! and the server pushes the end of a session (see [`live`](crate::live)).

use crate::{
    codec::Hydrated,
    json::FromJson,
    options::AuthOptions,
    server::auth_state,
    state::{AuthError, AuthSnapshot},
};
use leptos::prelude::*;

/// The session as the browser last learned it.
pub type AuthResult = Result<AuthSnapshot, AuthError>;

/// What a component needs to decide what to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStatus {
    /// Not known yet.
    Loading,
    /// Somebody is signed in ([`Auth::user`] says who).
    Authenticated,
    /// Nobody is.
    Unauthenticated,
}

/// The auth context; `Copy`, so closures can capture it freely.
#[derive(Clone, Copy)]
pub struct Auth {
    state: Resource<AuthResult, Hydrated>,
    options: StoredValue<AuthOptions>,
    /// The same state for untracked reads in the browser (event handlers, tasks): read there,
    /// the hydrated resource warns as if a render outside `Suspense` read it. Written with the
    /// resource, by `learn`, and from it once the page is hydrated.
    #[cfg(feature = "hydrate")]
    latest: StoredValue<Option<AuthResult>>,
}

/// Creates the auth context (once, at the top of the app) and, in the browser, starts keeping
/// it current.
pub fn provide_auth(options: AuthOptions) -> Auth {
    let auth = Auth {
        state: Resource::new_with_options(|| (), |_| auth_state(), false),
        options: StoredValue::new(options),
        #[cfg(feature = "hydrate")]
        latest: StoredValue::new(None),
    };
    provide_context(auth);
    #[cfg(feature = "hydrate")]
    crate::live::start(auth);
    auth
}

/// The auth context that [`provide_auth`] made.
pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

impl Auth {
    /// The latest known state; `None` while it loads. Reactive.
    pub fn get(&self) -> Option<AuthResult> {
        self.state.get()
    }

    /// [`Auth::get`] without tracking.
    pub fn get_untracked(&self) -> Option<AuthResult> {
        #[cfg(feature = "hydrate")]
        if let Some(latest) = self.latest.get_value() {
            return Some(latest);
        }
        self.state.get_untracked()
    }

    /// The signed-in user, as the application's type; `None` while loading or signed out.
    /// Reactive.
    pub fn user<U: FromJson>(&self) -> Option<U> {
        self.state.get()?.ok()?.user()
    }

    /// The options it was made with.
    pub fn options(&self) -> AuthOptions {
        self.options.get_value()
    }

    /// Takes the state the page was hydrated with as the latest (in the first effect: from then
    /// on, untracked reads need not touch the resource).
    #[cfg(feature = "hydrate")]
    pub(crate) fn hydrated(&self) {
        if self.latest.with_value(Option::is_none) {
            self.latest.set_value(self.state.get_untracked());
        }
    }

    /// The state once it is known (inside `Suspense`, this is what the server waits for).
    pub async fn snapshot(self) -> AuthResult {
        self.state.await
    }

    /// Loading / authenticated / unauthenticated. Reactive.
    pub fn status(&self) -> AuthStatus {
        match self.state.get() {
            None => AuthStatus::Loading,
            Some(Ok(snapshot)) if snapshot.signed_in() => AuthStatus::Authenticated,
            Some(_) => AuthStatus::Unauthenticated,
        }
    }

    /// Asks the server who is signed in, as a page visit does. On the server this is the state
    /// the page was rendered with (one session check per request); in the browser a fresh check,
    /// whose answer becomes the app's state and is told to the other tabs.
    pub async fn verify(self) -> AuthResult {
        #[cfg(not(feature = "hydrate"))]
        return self.state.await;
        #[cfg(feature = "hydrate")]
        {
            let fresh = auth_state().await;
            self.learn(fresh.clone(), Source::ThisTab);
            fresh
        }
    }

    /// Takes `fresh` as the current state. What this tab learned itself is told to the other
    /// tabs when it changes who is signed in; what they told us is not told back.
    pub fn learn(&self, fresh: AuthResult, source: Source) {
        let before = self.get_untracked();
        if let (Some(Ok(known)), Ok(news)) = (&before, &fresh) {
            // An older answer (a page restored from the cache, a slow reply) is old news.
            if news.checked_at < known.checked_at {
                return;
            }
            // Why the session ended is told once (the server forgets it once told): a later
            // answer that only says "signed out" must not erase it.
            if known.user.is_none() && news.user.is_none() && news.ended.is_none() {
                return;
            }
        }
        // A failed check says nothing about who is signed in: keep what is known.
        if fresh.is_err() && matches!(before, Some(Ok(_))) {
            return;
        }
        let changed = before.as_ref().map(signed_in_user) != Some(signed_in_user(&fresh));
        if before.as_ref() != Some(&fresh) {
            #[cfg(feature = "hydrate")]
            self.latest.set_value(Some(fresh.clone()));
            self.state.set(Some(fresh.clone()));
        }
        #[cfg(feature = "hydrate")]
        if changed && source == Source::ThisTab {
            if let Ok(state) = &fresh {
                crate::live::tell_other_tabs(state);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (changed, source);
    }
}

/// Where a new state comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// This tab asked the server.
    ThisTab,
    /// Another tab of this browser told us.
    OtherTab,
}

fn signed_in_user(state: &AuthResult) -> Option<&str> {
    state.as_ref().ok().and_then(|s| s.user.as_deref())
}
