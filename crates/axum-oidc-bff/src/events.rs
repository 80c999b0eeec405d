//! The end of a session, pushed to the browser: `GET /api/auth/events` (server-sent events).
//!
//! A tab of a signed-in browser opens the stream (one per browser; its tabs share it). The server
//! sends `event: signed-out` when that session ends: signed out in another tab, logged out at the
//! IdP through the back channel, or past its idle or absolute lifetime. The browser then asks who
//! is signed in and updates every tab, within a second, without polling.
//!
//! Events reach every server instance that shares the session store: with Redis they travel over
//! Redis pub/sub, so a back-channel logout received by one instance reaches the streams another
//! instance holds. Nobody who is not signed in gets a stream (`204 No Content`, which also tells
//! the browser not to reconnect); a session holds at most [`STREAMS_PER_SESSION`] and a user
//! at most [`STREAMS_PER_USER`] (a new one replaces the oldest), the server at most
//! [`MAX_STREAMS`].

use crate::{
    bff::Bff,
    log::{chain, Untrusted},
    session::AuthSession,
    store::{LogoutKey, SessionBackend, SessionDigest, UserDigest},
};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
};
use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::{broadcast, Notify};

/// Streams one session may hold open at once (a browser needs one; a few spare for races).
pub const STREAMS_PER_SESSION: usize = 4;
/// Streams one user may hold open at once, over all their sessions (browsers and devices).
pub const STREAMS_PER_USER: usize = 16;
/// Streams the server holds open at once, all sessions together.
pub const MAX_STREAMS: usize = 10_000;
/// A stream is closed after this long; the browser reconnects (and is checked again).
const STREAM_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// How long the browser waits before reconnecting.
const RECONNECT_AFTER: Duration = Duration::from_secs(3);
/// How long a stream waits to look again when the session store is unavailable.
const STORE_RETRY: Duration = Duration::from_secs(30);
/// Events the bus holds for a slow stream before it must re-read the session.
const BUS_CAPACITY: usize = 1024;

/// Something that may end sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AuthEvent {
    /// A session ended (signed out, or ended by a check): the digest of its id.
    SessionEnded(SessionDigest),
    /// The IdP logged out an IdP session (`sid`) or every session of a user (`sub`) at `at`.
    LoggedOut { key: LogoutKey, at: i64 },
    /// Events may have been missed (the bus lagged, Redis reconnected): every stream looks at
    /// its session again.
    Recheck,
    /// The server is stopping: close every stream.
    Shutdown,
}

impl AuthEvent {
    /// The text that travels between server instances.
    fn encode(&self) -> Option<String> {
        match self {
            AuthEvent::SessionEnded(digest) => Some(format!("ended {}", digest)),
            AuthEvent::LoggedOut {
                key: LogoutKey::Sid(sid),
                at,
            } => Some(format!("sid {at} {sid}")),
            AuthEvent::LoggedOut {
                key: LogoutKey::Sub(sub),
                at,
            } => Some(format!("sub {at} {sub}")),
            AuthEvent::LoggedOut {
                key: LogoutKey::SubWithoutSid(sub),
                at,
            } => Some(format!("nosid {at} {sub}")),
            AuthEvent::Recheck | AuthEvent::Shutdown => None,
        }
    }

    fn decode(text: &str) -> Option<Self> {
        let (kind, rest) = text.split_once(' ')?;
        match kind {
            "ended" => SessionDigest::from_hex(rest).map(AuthEvent::SessionEnded),
            "sid" | "sub" | "nosid" => {
                let (at, id) = rest.split_once(' ')?;
                let at = at.parse().ok()?;
                let key = match kind {
                    "sid" => LogoutKey::Sid(id.to_owned()),
                    "sub" => LogoutKey::Sub(id.to_owned()),
                    _ => LogoutKey::SubWithoutSid(id.to_owned()),
                };
                Some(AuthEvent::LoggedOut { key, at })
            }
            _ => None,
        }
    }
}

/// Delivers [`AuthEvent`]s to the streams of every instance that shares the session store.
pub(crate) struct EventBus {
    local: broadcast::Sender<AuthEvent>,
    backend: Arc<SessionBackend>,
    streams: Mutex<StreamCount>,
}

/// The open streams: each with its session, its user and what ends it early.
#[derive(Default)]
struct StreamCount {
    next_id: u64,
    open: HashMap<u64, OpenStream>,
    /// Each session's streams, oldest first.
    per_session: HashMap<SessionDigest, Vec<u64>>,
    /// Each user's streams (over all their sessions), oldest first.
    per_user: HashMap<UserDigest, Vec<u64>>,
}

struct OpenStream {
    session: SessionDigest,
    user: UserDigest,
    /// Notified when a newer stream takes this one's place.
    evicted: Arc<Notify>,
}

impl StreamCount {
    /// Forgets stream `id`: what it was, if it was still counted.
    fn remove(&mut self, id: u64) -> Option<OpenStream> {
        let stream = self.open.remove(&id)?;
        let forget = |lists: &mut Vec<u64>| lists.retain(|open| *open != id);
        if let Some(list) = self.per_session.get_mut(&stream.session) {
            forget(list);
            if list.is_empty() {
                self.per_session.remove(&stream.session);
            }
        }
        if let Some(list) = self.per_user.get_mut(&stream.user) {
            forget(list);
            if list.is_empty() {
                self.per_user.remove(&stream.user);
            }
        }
        Some(stream)
    }

    /// Ends stream `oldest`: a newer one takes its place.
    fn evict_oldest(&mut self, oldest: Option<u64>) {
        if let Some(stream) = oldest.and_then(|id| self.remove(id)) {
            stream.evicted.notify_one();
        }
    }
}

impl EventBus {
    /// The bus, listening to the other instances (through the store, when it is shared).
    pub(crate) async fn start(backend: Arc<SessionBackend>) -> Arc<Self> {
        let (local, _) = broadcast::channel(BUS_CAPACITY);
        let bus = Arc::new(EventBus {
            local: local.clone(),
            backend: backend.clone(),
            streams: Mutex::default(),
        });
        // `None` from the store: messages may have been missed.
        let subscribed = backend
            .subscribe(Box::new(move |text: Option<String>| {
                let event = match text {
                    Some(text) => AuthEvent::decode(&text),
                    None => Some(AuthEvent::Recheck),
                };
                if let Some(event) = event {
                    let _ = local.send(event);
                }
            }))
            .await;
        if let Err(err) = subscribed {
            // Tabs then learn of session ends from other instances on their next request.
            tracing::warn!(error = %Untrusted(&format!("{err:#}")), "cannot receive session events from other instances");
        }
        bus
    }

    /// Tells every stream, on every instance. A lost event only delays what the next request
    /// notices anyway, so a store that cannot carry it is logged, not fatal.
    pub(crate) async fn publish(&self, event: AuthEvent) {
        let Some(text) = event.encode() else {
            let _ = self.local.send(event);
            return;
        };
        match self.backend.publish(text).await {
            Ok(true) => {}
            Ok(false) => {
                let _ = self.local.send(event);
            }
            Err(err) => {
                tracing::warn!(error = %chain(&err), "could not publish a session event to other instances");
                // This instance's streams still hear it.
                let _ = self.local.send(event);
            }
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<AuthEvent> {
        self.local.subscribe()
    }

    /// Counts a new stream for `session` of `user`, unless the server has too many. A session
    /// that has [`STREAMS_PER_SESSION`] already gives up its oldest (a browser needs one; the
    /// old ones are likely dead connections it has not noticed yet), and so does a user with
    /// [`STREAMS_PER_USER`] over all their sessions: one account cannot take the streams of
    /// everyone else.
    fn open_stream(
        self: &Arc<Self>,
        session: SessionDigest,
        user: UserDigest,
    ) -> Option<StreamGuard> {
        let mut count = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let of_session = count.per_session.get(&session).map_or(0, Vec::len);
        let of_user = count.per_user.get(&user).map_or(0, Vec::len);
        if of_session >= STREAMS_PER_SESSION {
            let oldest = count
                .per_session
                .get(&session)
                .and_then(|l| l.first().copied());
            count.evict_oldest(oldest);
        } else if of_user >= STREAMS_PER_USER {
            let oldest = count.per_user.get(&user).and_then(|l| l.first().copied());
            count.evict_oldest(oldest);
        } else if count.open.len() >= MAX_STREAMS {
            return None;
        }
        count.next_id += 1;
        let id = count.next_id;
        let evicted = Arc::new(Notify::new());
        count.open.insert(
            id,
            OpenStream {
                session,
                user,
                evicted: evicted.clone(),
            },
        );
        count.per_session.entry(session).or_default().push(id);
        count.per_user.entry(user).or_default().push(id);
        Some(StreamGuard {
            bus: self.clone(),
            id,
            evicted,
        })
    }

    /// How many streams are open (all sessions).
    #[cfg(test)]
    fn open_streams(&self) -> usize {
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .open
            .len()
    }
}

/// One open stream; uncounted when dropped (the browser went away, or the stream ended).
struct StreamGuard {
    bus: Arc<EventBus>,
    id: u64,
    /// Notified when a newer stream takes this one's place.
    evicted: Arc<Notify>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut count = self.bus.streams.lock().unwrap_or_else(|p| p.into_inner());
        // An evicted stream was uncounted when it was evicted.
        count.remove(self.id);
    }
}

/// What a stream watches for.
struct Watched {
    session: SessionDigest,
    sid: Option<String>,
    sub: String,
    signed_in_at: i64,
}

impl Watched {
    fn ended_by(&self, event: &AuthEvent) -> bool {
        match event {
            AuthEvent::SessionEnded(digest) => *digest == self.session,
            AuthEvent::LoggedOut { key, at } => {
                key.ends(*at, self.sid.as_deref(), &self.sub, self.signed_in_at)
            }
            AuthEvent::Recheck | AuthEvent::Shutdown => false,
        }
    }
}

/// `GET /api/auth/events`.
#[tracing::instrument(skip_all)]
pub(crate) async fn events(State(bff): State<Bff>, session: AuthSession) -> Response {
    let auth = bff.0.clone();
    // Listening starts before the session is read, so an end in between is not missed.
    let mut bus = auth.events.subscribe();
    let signed_in = match auth.peek(&session).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => return no_stream(StatusCode::NO_CONTENT),
        Err(err) => {
            tracing::error!(error = %chain(&err), "the session could not be read for an event stream");
            return no_stream(StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    let Some(id) = session.id() else {
        return no_stream(StatusCode::NO_CONTENT);
    };
    let watched = Watched {
        session: SessionDigest::of(&id),
        sid: signed_in.sid.clone(),
        sub: signed_in.sub.clone(),
        signed_in_at: signed_in.signed_in_at,
    };
    let user = UserDigest::of(&watched.sub);
    let Some(guard) = auth.events.open_stream(watched.session, user) else {
        tracing::warn!("too many event streams; refused one");
        let mut response = no_stream(StatusCode::TOO_MANY_REQUESTS);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
        return response;
    };
    let expires_at = auth.session_ends_at(&signed_in);

    let stream = async_stream(move |tx| async move {
        let evicted = guard.evicted.clone();
        let _guard = guard;
        let _ = tx
            .send(Event::default().retry(RECONNECT_AFTER).comment("connected"))
            .await;
        let lifetime = tokio::time::sleep(STREAM_LIFETIME);
        tokio::pin!(lifetime);
        let mut expires_at = expires_at;
        loop {
            let until_expiry =
                Duration::from_secs(expires_at.saturating_sub(auth.now()).max(1) as u64);
            let ended = tokio::select! {
                () = &mut lifetime => return,
                () = tx.closed() => return,
                () = evicted.notified() => return,
                received = bus.recv() => match received {
                    // The server is stopping: the tab reconnects, to another instance if there
                    // is one, after a moment.
                    Ok(AuthEvent::Shutdown) => {
                        let _ = tx
                            .send(Event::default().event("reconnect").data("stopping"))
                            .await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                    // Missed events: look at the session itself.
                    Ok(AuthEvent::Recheck) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        matches!(auth.still_signed_in(&session).await, Ok(None))
                    }
                    Ok(event) => watched.ended_by(&event),
                },
                // The session may have reached its idle or absolute end.
                () = tokio::time::sleep(until_expiry) => match auth.still_signed_in(&session).await {
                    Ok(Some(signed_in)) => {
                        expires_at = auth.session_ends_at(&signed_in);
                        false
                    }
                    Ok(None) => true,
                    // The store is unavailable: look again in a while, not every second.
                    Err(_) => {
                        expires_at = auth.now() + STORE_RETRY.as_secs() as i64;
                        false
                    }
                },
            };
            if ended {
                let _ = tx
                    .send(Event::default().event("signed-out").data("ended"))
                    .await;
                return;
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response()
}

fn no_stream(status: StatusCode) -> Response {
    status.into_response()
}

/// A stream fed by a task: `body` sends events until it returns or the client goes away.
fn async_stream<F, Fut>(
    body: F,
) -> impl futures_util::Stream<Item = Result<Event, Infallible>> + Send + 'static
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(body(tx));
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_sessions::session::Id;

    #[test]
    fn events_travel_as_text() {
        let digest = SessionDigest::of(&Id::default());
        for event in [
            AuthEvent::SessionEnded(digest),
            AuthEvent::LoggedOut {
                key: LogoutKey::Sid("s 1".into()),
                at: 7,
            },
            AuthEvent::LoggedOut {
                key: LogoutKey::Sub("u-1".into()),
                at: 9,
            },
            AuthEvent::LoggedOut {
                key: LogoutKey::SubWithoutSid("u 2".into()),
                at: 11,
            },
        ] {
            let text = event.encode().unwrap();
            assert_eq!(AuthEvent::decode(&text), Some(event));
        }
        assert_eq!(AuthEvent::decode("ended zz"), None);
        assert_eq!(AuthEvent::decode("nonsense"), None);
    }

    #[tokio::test]
    async fn one_user_cannot_hold_more_than_their_share_of_streams() {
        let backend = SessionBackend::connect(
            &crate::settings::StoreSettings::Memory,
            crate::store::BackendOptions {
                clock: std::sync::Arc::new(crate::clock::SystemClock),
                key_prefix: "test:".into(),
                table_prefix: "test".into(),
                refresh_wait: Duration::from_secs(1),
            },
        )
        .await
        .unwrap();
        let bus = EventBus::start(backend).await;
        let (greedy, other) = (UserDigest::of("greedy"), UserDigest::of("other"));
        let mut held = Vec::new();
        for _ in 0..10 {
            let session = SessionDigest::of(&Id::default());
            for _ in 0..STREAMS_PER_SESSION {
                held.push(bus.open_stream(session, greedy).expect("a stream"));
            }
        }
        assert_eq!(bus.open_streams(), STREAMS_PER_USER, "the oldest gave way");
        let session = SessionDigest::of(&Id::default());
        let _theirs = bus
            .open_stream(session, other)
            .expect("another user's stream");
        assert_eq!(bus.open_streams(), STREAMS_PER_USER + 1);
        drop(held);
        assert_eq!(
            bus.open_streams(),
            1,
            "every stream is uncounted once, when dropped"
        );
    }

    #[test]
    fn a_sub_logout_ends_only_sessions_that_began_before_it() {
        let watched = Watched {
            session: SessionDigest::of(&Id::default()),
            sid: Some("idp-1".into()),
            sub: "u-1".into(),
            signed_in_at: 100,
        };
        let sub = |at| AuthEvent::LoggedOut {
            key: LogoutKey::Sub("u-1".into()),
            at,
        };
        assert!(watched.ended_by(&sub(100)));
        assert!(!watched.ended_by(&sub(99)));
        assert!(watched.ended_by(&AuthEvent::LoggedOut {
            key: LogoutKey::Sid("idp-1".into()),
            at: 0
        }));
        assert!(!watched.ended_by(&AuthEvent::SessionEnded(SessionDigest::of(&Id::default()))));
        // A token about another IdP session of this user ends only the user's sessions that have
        // no sid; this one has its own.
        let nosid = AuthEvent::LoggedOut {
            key: LogoutKey::SubWithoutSid("u-1".into()),
            at: 200,
        };
        assert!(!watched.ended_by(&nosid));
        let without_sid = Watched {
            sid: None,
            ..watched
        };
        assert!(without_sid.ended_by(&nosid));
    }
}
