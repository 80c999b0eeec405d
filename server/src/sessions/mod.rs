//! Where sessions live (`SESSION_STORE`: memory, SQLite or Redis), and what server instances that
//! share a store must also share: back-channel logout marks, the ids of logout tokens already
//! used, and the lock that makes a token refresh happen once.
//!
//! Each backend is a tower-sessions store; [`AnyStore`] hands the chosen one to the session layer
//! and to the auth code (which re-reads a session under the refresh lock).

mod memory;
mod redis;
mod sqlite;

use crate::config::SessionStoreConfig;
use async_trait::async_trait;
use std::{sync::Arc, time::Duration};
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};

/// How long an expired session may linger before the cleanup task removes it.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(60);

/// A back-channel logout mark: an IdP session (`sid`) or every session of a user (`sub`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogoutKey {
    Sid(String),
    Sub(String),
}

impl LogoutKey {
    fn storage_key(&self) -> String {
        match self {
            LogoutKey::Sid(sid) => format!("asgardeo-leptos:logout:sid:{sid}"),
            LogoutKey::Sub(sub) => format!("asgardeo-leptos:logout:sub:{sub}"),
        }
    }
}

/// Receives the session events published through a shared store; `None` when some may have been
/// missed (the subscription lagged or reconnected).
pub type Deliver = Box<dyn Fn(Option<String>) + Send + Sync>;

/// The backend could not be reached or answered nonsense.
#[derive(Debug, thiserror::Error)]
#[error("session backend: {0}")]
pub struct BackendError(pub String);

pub enum SessionBackend {
    Memory(memory::MemoryBackend),
    Sqlite(sqlite::SqliteBackend),
    Redis(redis::RedisBackend),
}

impl SessionBackend {
    /// Connects to the configured store (and prepares its tables).
    pub async fn connect(config: &SessionStoreConfig) -> anyhow::Result<Arc<Self>> {
        let backend = match config {
            SessionStoreConfig::Memory => SessionBackend::Memory(memory::MemoryBackend::default()),
            SessionStoreConfig::Sqlite(url) => {
                SessionBackend::Sqlite(sqlite::SqliteBackend::connect(url).await?)
            }
            SessionStoreConfig::Redis(url) => {
                SessionBackend::Redis(redis::RedisBackend::connect(url).await?)
            }
        };
        let backend = Arc::new(backend);
        tokio::spawn(cleanup(Arc::downgrade(&backend)));
        Ok(backend)
    }

    pub fn name(&self) -> &'static str {
        match self {
            SessionBackend::Memory(_) => "memory",
            SessionBackend::Sqlite(_) => "sqlite",
            SessionBackend::Redis(_) => "redis",
        }
    }

    /// Whether several server instances can share this store (and so need a shared lock).
    pub fn is_shared(&self) -> bool {
        !matches!(self, SessionBackend::Memory(_))
    }

    /// Records a back-channel logout at unix time `at`, kept for `ttl`.
    pub async fn mark_logged_out(
        &self,
        key: &LogoutKey,
        at: i64,
        ttl: Duration,
    ) -> Result<(), BackendError> {
        match self {
            SessionBackend::Memory(b) => {
                b.mark(key.storage_key(), at, ttl);
                Ok(())
            }
            SessionBackend::Sqlite(b) => b.mark(&key.storage_key(), at, ttl).await,
            SessionBackend::Redis(b) => b.mark(&key.storage_key(), at, ttl).await,
        }
    }

    /// Whether a session of `sub` (IdP session `sid`) signed in at `signed_in_at` was logged out
    /// through the back channel since.
    pub async fn is_logged_out(
        &self,
        sid: Option<&str>,
        sub: &str,
        signed_in_at: i64,
    ) -> Result<bool, BackendError> {
        let mut keys = vec![LogoutKey::Sub(sub.to_owned()).storage_key()];
        if let Some(sid) = sid {
            keys.push(LogoutKey::Sid(sid.to_owned()).storage_key());
        }
        let marks = match self {
            SessionBackend::Memory(b) => b.marks(&keys),
            SessionBackend::Sqlite(b) => b.marks(&keys).await?,
            SessionBackend::Redis(b) => b.marks(&keys).await?,
        };
        // A sid names one IdP session: any mark ends it. A sub mark ends what began before it.
        let sub_mark = marks.first().copied().flatten();
        let sid_mark = marks.get(1).copied().flatten();
        Ok(sid_mark.is_some() || sub_mark.is_some_and(|at| at >= signed_in_at))
    }

    /// True the first time `id` is claimed within `ttl` (logout-token `jti` replay protection).
    pub async fn claim_once(&self, id: &str, ttl: Duration) -> Result<bool, BackendError> {
        let key = format!("asgardeo-leptos:jti:{id}");
        match self {
            SessionBackend::Memory(b) => Ok(b.claim(key, ttl)),
            SessionBackend::Sqlite(b) => b.claim(&key, ttl).await,
            SessionBackend::Redis(b) => b.claim(&key, ttl).await,
        }
    }

    /// Sends a session event to every server instance sharing this store. `Ok(false)` when the
    /// store is not shared (memory, SQLite): the caller delivers it locally.
    pub async fn publish(&self, message: String) -> Result<bool, BackendError> {
        match self {
            SessionBackend::Memory(_) | SessionBackend::Sqlite(_) => Ok(false),
            SessionBackend::Redis(b) => b.publish(message).await.map(|()| true),
        }
    }

    /// Delivers the session events other instances publish (nothing to do unless shared).
    pub async fn subscribe(&self, deliver: Deliver) -> anyhow::Result<()> {
        match self {
            SessionBackend::Memory(_) | SessionBackend::Sqlite(_) => Ok(()),
            SessionBackend::Redis(b) => b.subscribe(deliver).await,
        }
    }

    /// A lock held across server instances, for stores they can share. `None` for the memory
    /// store, where the in-process lock is the whole story. Redis locks expire on their own if
    /// their holder dies, and are kept alive while it works.
    pub async fn lock(
        &self,
        name: &str,
        wait: Duration,
    ) -> Result<Option<DistributedLock>, BackendError> {
        match self {
            SessionBackend::Memory(_) => Ok(None),
            // SQLite serves one process (a file on one machine): the in-process lock suffices.
            SessionBackend::Sqlite(_) => Ok(None),
            SessionBackend::Redis(b) => b
                .lock(name, wait)
                .await
                .map(|l| Some(DistributedLock::Redis(l))),
        }
    }

    async fn delete_expired(&self) -> Result<(), BackendError> {
        match self {
            SessionBackend::Memory(b) => {
                b.delete_expired();
                Ok(())
            }
            SessionBackend::Sqlite(b) => b.delete_expired().await,
            // Redis expires keys by itself.
            SessionBackend::Redis(_) => Ok(()),
        }
    }
}

/// A held distributed lock; release it with [`DistributedLock::release`] (it also expires).
pub enum DistributedLock {
    Redis(redis::RedisLock),
}

impl DistributedLock {
    pub async fn release(self) {
        match self {
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
        if let Err(err) = backend.delete_expired().await {
            tracing::warn!(error = %err, "could not delete expired sessions");
        }
    }
}

/// The configured store, as tower-sessions sees it.
#[derive(Clone)]
pub struct AnyStore(pub Arc<SessionBackend>);

impl std::fmt::Debug for AnyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyStore({})", self.0.name())
    }
}

#[async_trait]
impl SessionStore for AnyStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &*self.0 {
            SessionBackend::Memory(b) => b.store.create(record).await,
            SessionBackend::Sqlite(b) => b.store.create(record).await,
            SessionBackend::Redis(b) => b.store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match &*self.0 {
            SessionBackend::Memory(b) => b.store.save(record).await,
            SessionBackend::Sqlite(b) => b.store.save(record).await,
            SessionBackend::Redis(b) => b.store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match &*self.0 {
            SessionBackend::Memory(b) => b.store.load(id).await,
            SessionBackend::Sqlite(b) => b.store.load(id).await,
            SessionBackend::Redis(b) => b.store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match &*self.0 {
            SessionBackend::Memory(b) => b.store.delete(id).await,
            SessionBackend::Sqlite(b) => b.store.delete(id).await,
            SessionBackend::Redis(b) => b.store.delete(id).await,
        }
    }
}
