//! Keeps the auth context current in the browser, without polling:
//!
//! - **Other tabs.** What a tab learns that changes who is signed in, it tells the other tabs of
//!   this browser on a `BroadcastChannel`; they take it as theirs.
//! - **Focus.** A window that regains focus looks at the session again — a peek, which neither
//!   refreshes tokens nor restarts the idle timeout, and at most once per [`PEEK_COOLDOWN_MS`];
//!   so does a page restored from the back/forward cache. Of two answers the later one counts
//!   (`AuthSnapshot::checked_at`), so a stale page cannot overwrite what the tabs know.
//! - **The server.** One tab per browser (the holder of a Web Lock) listens to
//!   `/api/auth/events`, where the server says when the session ends: signed out in another tab,
//!   or logged out at the IdP (back-channel logout, on whichever server instance the IdP called).
//!   It then checks, and tells the other tabs. One stream per browser, however many tabs: browsers
//!   allow few connections per origin. When that tab closes, the next one takes over. A server
//!   that stops says `reconnect`, and the stream opens again a moment later (on another
//!   instance, behind a load balancer).

use crate::{
    context::{Auth, AuthStatus, Source},
    json::FromJson,
    server::peek_auth_state,
    state::AuthSnapshot,
};
use leptos::{prelude::*, task::spawn_local};
use std::cell::{Cell, RefCell};
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{BroadcastChannel, EventSource, MessageEvent};

/// At most one focus-triggered look per this many milliseconds.
const PEEK_COOLDOWN_MS: f64 = 10_000.0;
const RECONNECT_FIRST_MS: i32 = 5_000;
const RECONNECT_MAX_MS: i32 = 60_000;

thread_local! {
    static CHANNEL_TO_TABS: RefCell<Option<BroadcastChannel>> = const { RefCell::new(None) };
    static EVENTS: RefCell<Option<EventSource>> = const { RefCell::new(None) };
    static LISTENS_FOR_EVENTS: Cell<bool> = const { Cell::new(false) };
    static LAST_PEEK: Cell<f64> = const { Cell::new(f64::NEG_INFINITY) };
    /// How long to wait before opening a refused event stream again.
    static RECONNECT_DELAY_MS: Cell<i32> = const { Cell::new(RECONNECT_FIRST_MS) };
    /// Releases the events lock, for the tab that holds it.
    static RELEASE_EVENTS_LOCK: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Starts keeping `auth` current, once the page is hydrated.
pub(crate) fn start(auth: Auth) {
    // Effects run in the browser only, after hydration.
    Effect::new(move |started: Option<()>| {
        if started.is_none() {
            auth.hydrated();
            // For tests and tools: the router handles links from now on.
            if let Some(root) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element())
            {
                let _ = root.set_attribute("data-hydrated", "true");
            }
            listen_to_other_tabs(auth);
            look_again_on_focus(auth);
            lead_server_events(auth);
            // This tab's state is fresh from the server: tabs that knew an older one catch up.
            if let Some(Ok(state)) = auth.get_untracked() {
                tell_other_tabs(&state);
            }
        }
    });
    // Only when signing in or out: any other news (a look on focus after a refused stream, say)
    // must not reopen the stream before its back-off says so.
    Effect::new(move |was_signed_in: Option<bool>| {
        let signed_in = auth.status() == AuthStatus::Authenticated;
        if was_signed_in != Some(signed_in) {
            follow_server_events(auth, signed_in);
        }
        signed_in
    });
}

/// Tells the other tabs of this browser what this one learned.
pub(crate) fn tell_other_tabs(state: &AuthSnapshot) {
    let message = state.to_js();
    CHANNEL_TO_TABS.with_borrow(|channel| {
        if let Some(channel) = channel {
            let _ = channel.post_message(&message);
        }
    });
}

fn listen_to_other_tabs(auth: Auth) {
    let Ok(channel) = BroadcastChannel::new(&format!("{}:auth", auth.options().name)) else {
        return;
    };
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some(state) = AuthSnapshot::from_json(&event.data()) {
            auth.learn(Ok(state), Source::OtherTab);
        }
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    CHANNEL_TO_TABS.set(Some(channel));
}

fn look_again_on_focus(auth: Auth) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let on_focus = Closure::<dyn Fn()>::new(move || {
        let visible = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Visible);
        let now = js_sys::Date::now();
        if !visible || now - LAST_PEEK.get() < PEEK_COOLDOWN_MS {
            return;
        }
        LAST_PEEK.set(now);
        spawn_local(async move {
            // A failed look changes nothing: the next one, or the next navigation, will tell.
            if let Ok(state) = peek_auth_state().await {
                auth.learn(Ok(state), Source::ThisTab);
                follow_server_events(auth, is_signed_in(auth));
            }
        });
    });
    let callback = on_focus.as_ref().unchecked_ref();
    let _ = window.add_event_listener_with_callback("focus", callback);
    if let Some(document) = window.document() {
        let _ = document.add_event_listener_with_callback("visibilitychange", callback);
    }
    on_focus.forget();
    // A page restored from the back/forward cache shows what it knew when it was left.
    let on_restore = Closure::<dyn Fn(web_sys::PageTransitionEvent)>::new(
        move |event: web_sys::PageTransitionEvent| {
            if event.persisted() {
                spawn_local(async move {
                    if let Ok(state) = peek_auth_state().await {
                        auth.learn(Ok(state), Source::ThisTab);
                    }
                });
            }
        },
    );
    let _ =
        window.add_event_listener_with_callback("pageshow", on_restore.as_ref().unchecked_ref());
    on_restore.forget();
}

/// Waits for this browser's events lock (`navigator.locks`), then listens to the server for as
/// long as the tab lives. Where Web Locks are missing, every tab listens.
fn lead_server_events(auth: Auth) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let locks = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("locks"))
        .ok()
        .filter(JsValue::is_object);
    let request = locks
        .as_ref()
        .and_then(|locks| js_sys::Reflect::get(locks, &JsValue::from_str("request")).ok())
        .and_then(|request| request.dyn_into::<js_sys::Function>().ok());
    let (Some(locks), Some(request)) = (locks, request) else {
        LISTENS_FOR_EVENTS.set(true);
        follow_server_events(auth, is_signed_in(auth));
        return;
    };
    let on_granted = Closure::once_into_js(move |_lock: JsValue| -> js_sys::Promise {
        LISTENS_FOR_EVENTS.set(true);
        follow_server_events(auth, is_signed_in(auth));
        // Settles only when this tab leaves (see `leaving`), or closes.
        js_sys::Promise::new(&mut |resolve, _| RELEASE_EVENTS_LOCK.set(Some(resolve)))
    });
    let name = JsValue::from_str(&format!("{}:events", auth.options().name));
    let _ = request.call2(&locks, &name, &on_granted);
}

fn is_signed_in(auth: Auth) -> bool {
    matches!(auth.get_untracked(), Some(Ok(snapshot)) if snapshot.signed_in())
}

/// Keeps the event stream open exactly while signed in (in the tab that listens).
fn follow_server_events(auth: Auth, signed_in: bool) {
    if !LISTENS_FOR_EVENTS.get() {
        return;
    }
    EVENTS.with_borrow_mut(|slot| {
        let open = slot
            .as_ref()
            .is_some_and(|events| events.ready_state() != EventSource::CLOSED);
        if signed_in && !open {
            let Ok(events) = EventSource::new(&auth.options().events) else {
                return;
            };
            // The server says the session ended: ask who is signed in now (and why not), which
            // also tells the other tabs.
            let on_signed_out = Closure::<dyn Fn()>::new(move || {
                RECONNECT_DELAY_MS.set(RECONNECT_FIRST_MS);
                spawn_local(async move {
                    let _ = auth.verify().await;
                });
            });
            // The stream was refused or broke for good (the browser retries by itself
            // otherwise): look at the session; still signed in, open it again a little later.
            let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
                let closed = event
                    .target()
                    .and_then(|t| t.dyn_into::<EventSource>().ok())
                    .is_none_or(|events| events.ready_state() == EventSource::CLOSED);
                if closed {
                    spawn_local(async move {
                        if let Ok(state) = peek_auth_state().await {
                            auth.learn(Ok(state), Source::ThisTab);
                        }
                        reopen_later(auth);
                    });
                }
            });
            // The server is stopping: open the stream again a moment later (spread out, so that
            // the tabs of many browsers do not all land on the next instance at once).
            let on_reconnect = Closure::<dyn Fn()>::new(move || {
                EVENTS.with_borrow_mut(|slot| {
                    if let Some(events) = slot.take() {
                        events.close();
                    }
                });
                let delay = 1_000 + (js_sys::Math::random() * 2_000.0) as i32;
                let reopen =
                    Closure::once_into_js(move || follow_server_events(auth, is_signed_in(auth)));
                if let Some(window) = web_sys::window() {
                    let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                        reopen.unchecked_ref(),
                        delay,
                    );
                }
            });
            let _ = events.add_event_listener_with_callback(
                "signed-out",
                on_signed_out.as_ref().unchecked_ref(),
            );
            let _ = events.add_event_listener_with_callback(
                "reconnect",
                on_reconnect.as_ref().unchecked_ref(),
            );
            let _ =
                events.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
            // One set per stream; streams open once per sign-in, so this stays small.
            on_signed_out.forget();
            on_reconnect.forget();
            on_error.forget();
            *slot = Some(events);
        } else if !signed_in {
            if let Some(events) = slot.take() {
                events.close();
            }
        }
    });
}

/// Opens the event stream again after a growing delay (5 s, doubling up to a minute), if this
/// tab is still signed in then.
fn reopen_later(auth: Auth) {
    let delay = RECONNECT_DELAY_MS.get();
    RECONNECT_DELAY_MS.set((delay * 2).min(RECONNECT_MAX_MS));
    let reopen = Closure::once_into_js(move || follow_server_events(auth, is_signed_in(auth)));
    if let Some(window) = web_sys::window() {
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(reopen.unchecked_ref(), delay);
    }
}

/// This tab is about to leave the app (signing out): it stops listening and hands the event
/// stream to another tab at once, which then hears the sign-out from the server.
pub(crate) fn leaving() {
    LISTENS_FOR_EVENTS.set(false);
    EVENTS.with_borrow_mut(|slot| {
        if let Some(events) = slot.take() {
            events.close();
        }
    });
    if let Some(release) = RELEASE_EVENTS_LOCK.take() {
        let _ = release.call0(&JsValue::UNDEFINED);
    }
}
