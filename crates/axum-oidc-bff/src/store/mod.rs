//! Where sessions live (`SESSION_STORE`: memory, SQLite or Redis), and what server instances that
//! share a store must also share: back-channel logout marks, the ids of logout tokens already
//! used, and the lock that makes a token refresh happen once.
//!
//! Each backend is a tower-sessions store; [`AnyStore`] hands the chosen one to the session layer
//! and to the auth code (which re-reads a session under the refresh lock).
//!
//! Writes are ordered and final: saving a session only ever updates a record that still exists
//! (a request that finishes after sign-out cannot bring the session back), and never replaces a
//! record with an older revision ([`REVISION_KEY`], raised by every deliberate write), so a slow
//! request cannot overwrite the tokens a refresh saved meanwhile. Each save compares and writes
//! under the session's write lock (in-process, and across instances on Redis).

mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

use crate::{clock::SharedClock, settings::StoreSettings};
use async_trait::async_trait;
use std::{
    collections::HashMap,
    sync::{Arc, Weak},
    time::Duration,
};
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};

/// How long an expired session may linger before the cleanup task removes it.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(60);
/// The locks a session can be held under: each in-process (one per session id) and, where the
/// store is shared (Redis), across instances. A lock's name carries a hash of the session id,
/// never the id.
#[derive(Clone, Copy, Debug)]
pub enum SessionLock {
    /// Held while its tokens are refreshed (or the session touched): one refresh at a time.
    Refresh,
    /// Held for one compare-and-write of the record.
    Write,
}

impl SessionLock {
    fn name(self) -> &'static str {
        match self {
            SessionLock::Refresh => "refresh",
            SessionLock::Write => "write",
        }
    }
}

/// How long a write waits for the session's write lock before giving up (a 503).
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(5);

/// The session value that counts its deliberate writes.
pub const REVISION_KEY: &str = "rev";

fn revision(record: &Record) -> u64 {
    record
        .data
        .get(REVISION_KEY)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

/// A session id's digest: events, lock names and logs never carry the id itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionDigest([u8; 16]);

impl SessionDigest {
    pub fn of(id: &Id) -> Self {
        use sha2::{Digest, Sha256};
        let hash = Sha256::digest(format!("axum-oidc-bff session\0{id}"));
        let mut digest = [0; 16];
        digest.copy_from_slice(&hash[..16]);
        SessionDigest(digest)
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 32 || !text.is_ascii() {
            return None;
        }
        let mut digest = [0; 16];
        for (i, byte) in digest.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(SessionDigest(digest))
    }
}

/// A user's (`sub`'s) digest: names the index of their sessions, and counts their event
/// streams, without carrying the IdP's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserDigest([u8; 16]);

impl UserDigest {
    pub fn of(sub: &str) -> Self {
        use sha2::{Digest, Sha256};
        let hash = Sha256::digest(format!("axum-oidc-bff user\0{sub}"));
        let mut digest = [0; 16];
        digest.copy_from_slice(&hash[..16]);
        UserDigest(digest)
    }
}

impl std::fmt::Display for UserDigest {
    /// Lowercase hex.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl std::fmt::Display for SessionDigest {
    /// Lowercase hex.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Async locks, one per session id in use, forgotten when nobody holds them.
#[derive(Default)]
struct IdLocks(std::sync::Mutex<HashMap<Id, Weak<tokio::sync::Mutex<()>>>>);

impl IdLocks {
    fn get(&self, id: Id) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(lock) = locks.get(&id).and_then(Weak::upgrade) {
            return lock;
        }
        if locks.len() > 1024 {
            locks.retain(|_, lock| lock.strong_count() > 0);
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(id, Arc::downgrade(&lock));
        lock
    }
}

/// A back-channel logout mark: whose sessions a logout token ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogoutKey {
    /// One IdP session: every session signed in with this `sid`.
    Sid(String),
    /// Every session of the user signed in before the mark.
    Sub(String),
    /// The user's sessions whose ID token carried no `sid` (the spec allows that), signed in
    /// before the mark: what a token naming both a `sid` and a `sub` ends besides that `sid`.
    SubWithoutSid(String),
}

impl LogoutKey {
    fn storage_key(&self, prefix: &str) -> String {
        match self {
            LogoutKey::Sid(sid) => format!("{prefix}logout:sid:{sid}"),
            LogoutKey::Sub(sub) => format!("{prefix}logout:sub:{sub}"),
            LogoutKey::SubWithoutSid(sub) => format!("{prefix}logout:nosid:{sub}"),
        }
    }

    /// Whether this mark, made at `at`, ends a session of `sub` with IdP session `sid` that
    /// signed in at `signed_in_at`. A `sid` names one IdP session, so any mark of it ends it; a
    /// user's marks end what began before them.
    pub fn ends(&self, at: i64, sid: Option<&str>, sub: &str, signed_in_at: i64) -> bool {
        match self {
            LogoutKey::Sid(marked) => sid == Some(marked.as_str()),
            LogoutKey::Sub(marked) => marked == sub && at >= signed_in_at,
            LogoutKey::SubWithoutSid(marked) => {
                sid.is_none() && marked == sub && at >= signed_in_at
            }
        }
    }
}

/// Receives the session events published through a shared store; `None` when some may have been
/// missed (the subscription lagged or reconnected).
pub type Deliver = Box<dyn Fn(Option<String>) + Send + Sync>;

/// What went wrong in the session backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The store could not be reached or answered nonsense.
    #[error("session backend: {0}")]
    Unavailable(String),
    /// Another request held the session's lock for longer than a request may wait.
    #[error("session backend: {0}")]
    Busy(String),
    /// A bounded table is full (the memory store's sessions or used sign-in states).
    #[error("session backend: the {0} is full")]
    Full(&'static str),
}

impl BackendError {
    /// The store failed: `err` says how.
    pub fn unavailable(err: impl std::fmt::Display) -> Self {
        BackendError::Unavailable(err.to_string())
    }
}

impl From<BackendError> for session_store::Error {
    fn from(err: BackendError) -> Self {
        session_store::Error::Backend(err.to_string())
    }
}

/// What a store offers besides sessions. Each store implements it in its own way; defaults are
/// for stores one process owns (no publishing, no distributed lock, nothing to clean up).
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// The sessions themselves, for tower-sessions.
    fn sessions(&self) -> &dyn SessionStore;
    /// Stores unix time `at` under `key` for at least `ttl`. A mark only moves forward: an
    /// earlier `at` than the one stored (a retried or replayed older logout token) changes
    /// nothing, so an older logout cannot undo a newer one.
    async fn mark(&self, key: &str, at: i64, ttl: Duration) -> Result<(), BackendError>;
    /// The times stored under `keys`, in order. Each key is read on its own (Redis Cluster keeps
    /// them in different slots).
    async fn marks(&self, keys: &[String]) -> Result<Vec<Option<i64>>, BackendError>;
    /// True the first time `key` is claimed within `ttl`.
    async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, BackendError>;
    /// Sends `message` to every instance sharing the store: `Ok(false)` when none can.
    async fn publish(&self, _message: String) -> Result<bool, BackendError> {
        Ok(false)
    }
    async fn subscribe(&self, _deliver: Deliver) -> anyhow::Result<()> {
        Ok(())
    }
    /// A lock held across instances; `None` where the in-process lock is the whole story.
    async fn lock(
        &self,
        _name: &str,
        _wait: Duration,
    ) -> Result<Option<DistributedLock>, BackendError> {
        Ok(None)
    }
    async fn delete_expired(&self) -> Result<(), BackendError> {
        Ok(())
    }
    /// Adds session `id`, signed in at `at`, to the index of `user`'s sessions (kept at least
    /// `ttl`), and returns the whole index, oldest first.
    async fn add_user_session(
        &self,
        user: &UserDigest,
        id: Id,
        at: i64,
        ttl: Duration,
    ) -> Result<Vec<(i64, Id)>, BackendError>;
    /// Removes `ids` from the index of `user`'s sessions.
    async fn remove_user_sessions(&self, user: &UserDigest, ids: &[Id])
        -> Result<(), BackendError>;
}

/// The revision of a session ended by another request (a sign-in beyond the per-user limit):
/// higher than any revision a live session reaches, so no write still in flight for it is
/// ever saved over it.
const ENDED_REVISION: u64 = 1 << 53;

/// The configured store, and what the auth code asks of it.
pub struct SessionBackend {
    backend: Box<dyn Backend>,
    refresh_locks: IdLocks,
    write_locks: IdLocks,
    /// How long a request waits for a session's refresh lock (in-process and shared) before it
    /// gives up with a 503.
    refresh_wait: Duration,
    /// Put before every key the store holds besides sessions (and before sessions in Redis).
    prefix: String,
}

/// How the backend names its keys and tables, how long requests wait for each other, and the
/// clock it keeps time by.
#[derive(Clone)]
pub(crate) struct BackendOptions {
    /// The app's clock: what the memory store expires records by.
    pub clock: SharedClock,
    /// The prefix of every key in the store (`SESSION_KEY_PREFIX`), e.g. `bff:`.
    pub key_prefix: String,
    /// The prefix of the SQLite tables besides the sessions', e.g. `bff`.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub table_prefix: String,
    /// How long a request waits for another request's refresh of the same session.
    pub refresh_wait: Duration,
}

impl SessionBackend {
    /// Connects to the configured store (and prepares its tables).
    pub(crate) async fn connect(
        store: &StoreSettings,
        options: BackendOptions,
    ) -> Result<Arc<Self>, BackendError> {
        let prefix = options.key_prefix;
        let failed = |err: anyhow::Error| BackendError::Unavailable(format!("{err:#}"));
        let backend: Box<dyn Backend> = match store {
            StoreSettings::Memory => Box::new(memory::MemoryBackend::new(options.clock.clone())),
            #[cfg(feature = "sqlite")]
            StoreSettings::Sqlite(url) => Box::new(
                sqlite::SqliteBackend::connect(url, &options.table_prefix)
                    .await
                    .map_err(failed)?,
            ),
            #[cfg(feature = "redis")]
            StoreSettings::Redis(url) => Box::new(
                redis::RedisBackend::connect(url, &prefix)
                    .await
                    .map_err(failed)?,
            ),
        };
        let _ = &failed;
        let backend = Arc::new(SessionBackend {
            backend,
            refresh_locks: IdLocks::default(),
            write_locks: IdLocks::default(),
            refresh_wait: options.refresh_wait,
            prefix,
        });
        tokio::spawn(cleanup(Arc::downgrade(&backend)));
        Ok(backend)
    }

    pub fn name(&self) -> &'static str {
        self.backend.name()
    }

    /// Runs `work` holding the session's `lock`. Cancelled midway, the locks are still released
    /// (the Redis one when dropped).
    pub async fn with_lock<T, E: From<BackendError>>(
        &self,
        lock: SessionLock,
        id: Id,
        work: impl AsyncFnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let (locks, wait) = match lock {
            SessionLock::Refresh => (&self.refresh_locks, self.refresh_wait),
            SessionLock::Write => (&self.write_locks, WRITE_LOCK_WAIT),
        };
        let local = locks.get(id);
        // Bounded like the shared lock: a request behind a slow refresh gets a 503 in time,
        // rather than waiting out the refresh and then the server's request timeout.
        let Ok(_local) = tokio::time::timeout(wait, local.lock()).await else {
            return Err(BackendError::Busy(format!(
                "the session's {} lock is still held after {wait:?}",
                lock.name()
            ))
            .into());
        };
        let name = format!("{}:{}", lock.name(), SessionDigest::of(&id));
        let shared = self.backend.lock(&name, wait).await?;
        let result = work().await;
        if let Some(shared) = shared {
            shared.release().await;
        }
        result
    }

    /// Saves `record` if it still exists and is not older than the stored one.
    async fn save_if_current(&self, record: &Record) -> session_store::Result<()> {
        let sessions = self.backend.sessions();
        self.with_lock(SessionLock::Write, record.id, async || {
            match sessions.load(&record.id).await? {
                None => {
                    tracing::debug!("not saving a session that has ended");
                    Ok(())
                }
                Some(stored) if revision(&stored) > revision(record) => {
                    tracing::debug!("not overwriting a newer revision of a session");
                    Ok(())
                }
                Some(_) => sessions.save(record).await,
            }
        })
        .await
    }

    /// Records a back-channel logout at unix time `at`, kept for `ttl`.
    pub async fn mark_logged_out(
        &self,
        key: &LogoutKey,
        at: i64,
        ttl: Duration,
    ) -> Result<(), BackendError> {
        self.backend
            .mark(&key.storage_key(&self.prefix), at, ttl)
            .await
    }

    /// Whether a session of `sub` (IdP session `sid`) signed in at `signed_in_at` was logged out
    /// through the back channel since.
    pub async fn is_logged_out(
        &self,
        sid: Option<&str>,
        sub: &str,
        signed_in_at: i64,
    ) -> Result<bool, BackendError> {
        let keys = [
            LogoutKey::Sub(sub.to_owned()),
            match sid {
                Some(sid) => LogoutKey::Sid(sid.to_owned()),
                None => LogoutKey::SubWithoutSid(sub.to_owned()),
            },
        ];
        let names: Vec<String> = keys.iter().map(|k| k.storage_key(&self.prefix)).collect();
        let marks = self.backend.marks(&names).await?;
        Ok(keys
            .iter()
            .zip(marks)
            .any(|(key, at)| at.is_some_and(|at| key.ends(at, sid, sub, signed_in_at))))
    }

    /// True the first time `id` is claimed within `ttl` (logout-token `jti` replay protection).
    pub async fn claim_once(&self, id: &str, ttl: Duration) -> Result<bool, BackendError> {
        self.backend
            .claim(&format!("{}jti:{id}", self.prefix), ttl)
            .await
    }

    /// True the first time the sign-in `state` is used within `ttl` (the rest of its sign-in's
    /// lifetime): a sign-in cookie replayed by its client cannot bring a used state back. Only
    /// a digest of the state is kept.
    pub async fn claim_state_once(&self, state: &str, ttl: Duration) -> Result<bool, BackendError> {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("axum-oidc-bff state\0{state}"));
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.backend
            .claim(&format!("{}state:{hex}", self.prefix), ttl)
            .await
    }

    /// Counts session `id` (signed in at `at`) among `user`'s sessions and returns the ids of
    /// the oldest ones beyond `max`, which the caller ends. Sessions that ended meanwhile (signed
    /// out, expired) are dropped from the count. Runs under a lock per user, across instances.
    pub async fn hold_user_session(
        &self,
        user: &UserDigest,
        id: Id,
        at: i64,
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<Id>, BackendError> {
        let shared = self
            .backend
            .lock(&format!("user:{user}"), WRITE_LOCK_WAIT)
            .await?;
        let result = async {
            let held = self.backend.add_user_session(user, id, at, ttl).await?;
            let sessions = self.backend.sessions();
            let mut live = Vec::with_capacity(held.len());
            let mut gone = Vec::new();
            for (at, held_id) in held {
                let alive = held_id == id
                    || sessions
                        .load(&held_id)
                        .await
                        .map_err(BackendError::unavailable)?
                        .is_some_and(|record| revision(&record) < ENDED_REVISION);
                if alive {
                    live.push((at, held_id));
                } else {
                    gone.push(held_id);
                }
            }
            let excess = live.len().saturating_sub(max);
            let oldest: Vec<Id> = live
                .iter()
                .filter(|(_, held_id)| *held_id != id)
                .take(excess)
                .map(|(_, held_id)| *held_id)
                .collect();
            gone.extend_from_slice(&oldest);
            if !gone.is_empty() {
                self.backend.remove_user_sessions(user, &gone).await?;
            }
            Ok(oldest)
        }
        .await;
        if let Some(shared) = shared {
            shared.release().await;
        }
        result
    }

    /// Ends session `id`, which another request holds, for good: its record keeps only `data`
    /// (why it ended, for its browser's next page) under a revision no write in flight for it
    /// can reach, so nothing brings it back.
    pub async fn end_elsewhere(
        &self,
        id: Id,
        mut data: HashMap<String, serde_json::Value>,
    ) -> Result<(), BackendError> {
        let sessions = self.backend.sessions();
        self.with_lock(SessionLock::Write, id, async || {
            let Some(mut record) = sessions
                .load(&id)
                .await
                .map_err(BackendError::unavailable)?
            else {
                return Ok(());
            };
            data.insert(REVISION_KEY.to_owned(), ENDED_REVISION.into());
            record.data = data;
            sessions
                .save(&record)
                .await
                .map_err(BackendError::unavailable)
        })
        .await
    }

    /// Sends a session event to every server instance sharing this store. `Ok(false)` when the
    /// store is not shared (memory, SQLite): the caller delivers it locally.
    pub async fn publish(&self, message: String) -> Result<bool, BackendError> {
        self.backend.publish(message).await
    }

    /// Delivers the session events other instances publish (nothing to do unless shared).
    pub async fn subscribe(&self, deliver: Deliver) -> anyhow::Result<()> {
        self.backend.subscribe(deliver).await
    }
}

#[async_trait]
impl Backend for memory::MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn sessions(&self) -> &dyn SessionStore {
        &self.store
    }
    async fn mark(&self, key: &str, at: i64, ttl: Duration) -> Result<(), BackendError> {
        memory::MemoryBackend::mark(self, key.to_owned(), at, ttl);
        Ok(())
    }
    async fn marks(&self, keys: &[String]) -> Result<Vec<Option<i64>>, BackendError> {
        Ok(memory::MemoryBackend::marks(self, keys))
    }
    async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, BackendError> {
        memory::MemoryBackend::claim(self, key.to_owned(), ttl)
    }
    async fn delete_expired(&self) -> Result<(), BackendError> {
        memory::MemoryBackend::delete_expired(self);
        Ok(())
    }
    async fn add_user_session(
        &self,
        user: &UserDigest,
        id: Id,
        at: i64,
        _ttl: Duration,
    ) -> Result<Vec<(i64, Id)>, BackendError> {
        Ok(memory::MemoryBackend::add_user_session(self, *user, id, at))
    }
    async fn remove_user_sessions(
        &self,
        user: &UserDigest,
        ids: &[Id],
    ) -> Result<(), BackendError> {
        memory::MemoryBackend::remove_user_sessions(self, user, ids);
        Ok(())
    }
}

/// SQLite serves one process (a file on one machine): the in-process lock suffices.
#[cfg(feature = "sqlite")]
#[async_trait]
impl Backend for sqlite::SqliteBackend {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn sessions(&self) -> &dyn SessionStore {
        &self.store
    }
    async fn mark(&self, key: &str, at: i64, ttl: Duration) -> Result<(), BackendError> {
        sqlite::SqliteBackend::mark(self, key, at, ttl).await
    }
    async fn marks(&self, keys: &[String]) -> Result<Vec<Option<i64>>, BackendError> {
        sqlite::SqliteBackend::marks(self, keys).await
    }
    async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, BackendError> {
        sqlite::SqliteBackend::claim(self, key, ttl).await
    }
    async fn delete_expired(&self) -> Result<(), BackendError> {
        sqlite::SqliteBackend::delete_expired(self).await
    }
    async fn add_user_session(
        &self,
        user: &UserDigest,
        id: Id,
        at: i64,
        ttl: Duration,
    ) -> Result<Vec<(i64, Id)>, BackendError> {
        sqlite::SqliteBackend::add_user_session(self, user, id, at, ttl).await
    }
    async fn remove_user_sessions(
        &self,
        user: &UserDigest,
        ids: &[Id],
    ) -> Result<(), BackendError> {
        sqlite::SqliteBackend::remove_user_sessions(self, user, ids).await
    }
}

/// Redis expires keys by itself, and is shared: publishing and a distributed lock.
#[cfg(feature = "redis")]
#[async_trait]
impl Backend for redis::RedisBackend {
    fn name(&self) -> &'static str {
        "redis"
    }
    fn sessions(&self) -> &dyn SessionStore {
        &self.store
    }
    async fn mark(&self, key: &str, at: i64, ttl: Duration) -> Result<(), BackendError> {
        redis::RedisBackend::mark(self, key, at, ttl).await
    }
    async fn marks(&self, keys: &[String]) -> Result<Vec<Option<i64>>, BackendError> {
        redis::RedisBackend::marks(self, keys).await
    }
    async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, BackendError> {
        redis::RedisBackend::claim(self, key, ttl).await
    }
    async fn publish(&self, message: String) -> Result<bool, BackendError> {
        redis::RedisBackend::publish(self, message)
            .await
            .map(|()| true)
    }
    async fn subscribe(&self, deliver: Deliver) -> anyhow::Result<()> {
        redis::RedisBackend::subscribe(self, deliver).await
    }
    async fn lock(
        &self,
        name: &str,
        wait: Duration,
    ) -> Result<Option<DistributedLock>, BackendError> {
        redis::RedisBackend::lock(self, name, wait)
            .await
            .map(|l| Some(DistributedLock::Redis(l)))
    }
    async fn add_user_session(
        &self,
        user: &UserDigest,
        id: Id,
        at: i64,
        ttl: Duration,
    ) -> Result<Vec<(i64, Id)>, BackendError> {
        redis::RedisBackend::add_user_session(self, user, id, at, ttl).await
    }
    async fn remove_user_sessions(
        &self,
        user: &UserDigest,
        ids: &[Id],
    ) -> Result<(), BackendError> {
        redis::RedisBackend::remove_user_sessions(self, user, ids).await
    }
}

/// A held distributed lock; release it with [`DistributedLock::release`] (it also expires).
pub(crate) enum DistributedLock {
    #[cfg(feature = "redis")]
    Redis(redis::RedisLock),
}

impl DistributedLock {
    pub(crate) async fn release(self) {
        match self {
            #[cfg(feature = "redis")]
            DistributedLock::Redis(lock) => lock.release().await,
        }
    }
}

async fn cleanup(backend: std::sync::Weak<SessionBackend>) {
    let mut tick = tokio::time::interval(CLEANUP_INTERVAL);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(backend) = backend.upgrade() else {
            return;
        };
        if let Err(err) = backend.backend.delete_expired().await {
            tracing::warn!(error = %crate::log::chain(&err), "could not delete expired sessions");
        }
    }
}

/// The configured store, as tower-sessions sees it.
///
/// One clock decides: a record's expiry is set here from the app's clock (its idle timeout,
/// plus a grace so that the session's own check, which says why it ended, comes first), not
/// from the wall clock tower-sessions would use.
#[derive(Clone)]
pub(crate) struct AnyStore {
    backend: Arc<SessionBackend>,
    clock: SharedClock,
    keep: i64,
}

/// How long a record outlives its idle timeout in the store.
const EXPIRY_GRACE_SECS: i64 = 10 * 60;

impl AnyStore {
    pub(crate) fn new(
        backend: Arc<SessionBackend>,
        clock: SharedClock,
        settings: &crate::settings::Settings,
    ) -> Self {
        AnyStore {
            backend,
            clock,
            keep: settings.idle_timeout.as_secs() as i64 + EXPIRY_GRACE_SECS,
        }
    }

    fn expiry(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(self.clock.now() + self.keep)
            .unwrap_or(time::OffsetDateTime::now_utc())
    }
}

impl std::fmt::Debug for AnyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyStore({})", self.backend.name())
    }
}

#[async_trait]
impl SessionStore for AnyStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        record.expiry_date = self.expiry();
        self.backend.backend.sessions().create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let mut record = record.clone();
        record.expiry_date = self.expiry();
        self.backend.save_if_current(&record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.backend.backend.sessions().load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let sessions = self.backend.backend.sessions();
        self.backend
            .with_lock(SessionLock::Write, *id, async || sessions.delete(id).await)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_name_never_carries_the_session_id() {
        let id = Id::default();
        let name = format!("refresh:{}", SessionDigest::of(&id));
        assert!(!name.contains(&id.to_string()), "{name}");
        assert_eq!(
            SessionDigest::of(&id),
            SessionDigest::of(&id),
            "stable, for correlation"
        );
        assert_ne!(SessionDigest::of(&id), SessionDigest::of(&Id::default()));
        let digest = SessionDigest::of(&id);
        assert_eq!(SessionDigest::from_hex(&digest.to_string()), Some(digest));
    }
}
