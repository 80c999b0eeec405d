//! The in-memory store: one process, gone on restart. Expired sessions are removed by the
//! cleanup task (tower-sessions' own MemoryStore never removes them).

use super::{BackendError, UserDigest};
use crate::clock::SharedClock;
use async_trait::async_trait;
use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};
use time::OffsetDateTime;
use tower_sessions::{
    session::{Id, Record},
    session_store, SessionStore,
};

pub struct MemoryBackend {
    pub store: MemoryStore,
    /// Logout marks: value, and when to forget it.
    marks: Mutex<HashMap<String, (i64, Instant)>>,
    /// Claimed ids (used logout-token `jti`s and sign-in states), and when to forget them.
    claims: Mutex<HashMap<String, Instant>>,
    /// Each user's sessions, oldest first (at most the per-user limit, plus ended ones until
    /// the next sign-in or cleanup notices).
    user_sessions: Mutex<HashMap<UserDigest, Vec<(i64, Id)>>>,
}

/// Most claimed ids held at once. A used sign-in state is held for the rest of its ten
/// minutes; beyond this many, callbacks get a 503 until some expire.
pub const MAX_CLAIMS: usize = 100_000;

impl MemoryBackend {
    /// An empty store that expires records by `clock`.
    pub fn new(clock: SharedClock) -> Self {
        MemoryBackend {
            store: MemoryStore::new(MAX_SESSIONS, clock),
            marks: Mutex::default(),
            claims: Mutex::default(),
            user_sessions: Mutex::default(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here is left half-updated by a panic; keep serving.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryBackend {
    pub fn mark(&self, key: String, at: i64, ttl: Duration) {
        let until = Instant::now() + ttl;
        let mut marks = lock(&self.marks);
        let now = Instant::now();
        let mark = marks
            .entry(key)
            .and_modify(|(old_at, old_until)| {
                if *old_until <= now {
                    (*old_at, *old_until) = (at, until);
                }
            })
            .or_insert((at, until));
        // Only ever forward: an older logout does not undo a newer one.
        *mark = (mark.0.max(at), mark.1.max(until));
    }

    pub fn marks(&self, keys: &[String]) -> Vec<Option<i64>> {
        let marks = lock(&self.marks);
        let now = Instant::now();
        keys.iter()
            .map(|k| {
                marks
                    .get(k)
                    .filter(|(_, until)| *until > now)
                    .map(|(at, _)| *at)
            })
            .collect()
    }

    pub fn claim(&self, key: String, ttl: Duration) -> Result<bool, BackendError> {
        let mut claims = lock(&self.claims);
        let now = Instant::now();
        if claims.get(&key).is_some_and(|until| *until > now) {
            return Ok(false);
        }
        if claims.len() >= MAX_CLAIMS {
            claims.retain(|_, until| *until > now);
            if claims.len() >= MAX_CLAIMS {
                return Err(BackendError::Full("table of used sign-in states"));
            }
        }
        claims.insert(key, now + ttl);
        Ok(true)
    }

    pub fn add_user_session(&self, user: UserDigest, id: Id, at: i64) -> Vec<(i64, Id)> {
        let mut users = lock(&self.user_sessions);
        let held = users.entry(user).or_default();
        held.retain(|(_, held_id)| *held_id != id);
        held.push((at, id));
        held.sort_by_key(|(at, _)| *at);
        held.clone()
    }

    pub fn remove_user_sessions(&self, user: &UserDigest, ids: &[Id]) {
        let mut users = lock(&self.user_sessions);
        if let Some(held) = users.get_mut(user) {
            held.retain(|(_, id)| !ids.contains(id));
            if held.is_empty() {
                users.remove(user);
            }
        }
    }

    pub fn delete_expired(&self) {
        let now = self.store.now();
        let mut records = lock(&self.store.records);
        records.retain(|_, record| record.expiry_date > now);
        lock(&self.user_sessions).retain(|_, held| {
            held.retain(|(_, id)| records.contains_key(id));
            !held.is_empty()
        });
        drop(records);
        let now = Instant::now();
        lock(&self.marks).retain(|_, (_, until)| *until > now);
        lock(&self.claims).retain(|_, until| *until > now);
    }
}

/// Most sessions the memory store holds; beyond it new sign-ins get a 503 (only signed-in users
/// create sessions, so reaching it means the server needs a shared store, not more memory).
pub const MAX_SESSIONS: usize = 200_000;

/// Sessions in a map, behind one short-held lock. Each is kept encoded (its data as one JSON
/// byte string), about a third of what the decoded `Record` would take. Expired ones are swept
/// every minute; at most `capacity` are held.
pub struct MemoryStore {
    records: Mutex<HashMap<Id, Stored>>,
    capacity: usize,
    clock: SharedClock,
}

struct Stored {
    expiry_date: OffsetDateTime,
    data: Box<[u8]>,
}

impl Stored {
    fn encode(record: &Record) -> session_store::Result<Stored> {
        let data = serde_json::to_vec(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        Ok(Stored {
            expiry_date: record.expiry_date,
            data: data.into_boxed_slice(),
        })
    }

    fn decode(&self, id: Id) -> session_store::Result<Record> {
        let data = serde_json::from_slice(&self.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Record {
            id,
            data,
            expiry_date: self.expiry_date,
        })
    }
}

impl MemoryStore {
    pub fn new(capacity: usize, clock: SharedClock) -> Self {
        MemoryStore {
            records: Mutex::default(),
            capacity,
            clock,
        }
    }

    /// Now, by the app's clock.
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.clock.now()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// How many sessions are held (expired ones included until the next cleanup).
    fn len(&self) -> usize {
        lock(&self.records).len()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemoryStore({} sessions)", self.len())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let stored = Stored::encode(record)?;
        let mut records = lock(&self.records);
        if records.len() >= self.capacity {
            let now = self.now();
            records.retain(|_, r| r.expiry_date > now);
            if records.len() >= self.capacity {
                return Err(session_store::Error::Backend(
                    "the memory session store is full".into(),
                ));
            }
        }
        while records.contains_key(&record.id) {
            record.id = Id::default();
        }
        records.insert(record.id, stored);
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let stored = Stored::encode(record)?;
        lock(&self.records).insert(record.id, stored);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = self.now();
        // Copy the bytes out under the lock; decode outside it.
        let stored = lock(&self.records)
            .get(id)
            .filter(|r| r.expiry_date > now)
            .map(|r| Stored {
                expiry_date: r.expiry_date,
                data: r.data.clone(),
            });
        stored.map(|r| r.decode(*id)).transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        lock(&self.records).remove(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expires_in: time::Duration) -> Record {
        Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc() + expires_in,
        }
    }

    #[tokio::test]
    async fn expired_sessions_are_not_loaded_and_are_removed() {
        let backend = MemoryBackend::new(std::sync::Arc::new(crate::clock::SystemClock));
        let mut live = record(time::Duration::minutes(5));
        let mut dead = record(time::Duration::seconds(-1));
        backend.store.create(&mut live).await.unwrap();
        backend.store.create(&mut dead).await.unwrap();
        assert!(backend.store.load(&dead.id).await.unwrap().is_none());
        assert_eq!(backend.store.len(), 2);
        backend.delete_expired();
        assert_eq!(backend.store.len(), 1);
        assert!(backend.store.load(&live.id).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn the_store_holds_at_most_its_capacity_and_makes_room_from_expired_ones() {
        let store = MemoryStore::new(3, std::sync::Arc::new(crate::clock::SystemClock));
        for _ in 0..2 {
            store
                .create(&mut record(time::Duration::minutes(5)))
                .await
                .unwrap();
        }
        store
            .create(&mut record(time::Duration::seconds(-1)))
            .await
            .unwrap();
        store
            .create(&mut record(time::Duration::minutes(5)))
            .await
            .unwrap();
        assert_eq!(store.len(), 3, "the expired one made room");
        assert!(store
            .create(&mut record(time::Duration::minutes(5)))
            .await
            .is_err());
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn a_mark_only_moves_forward() {
        let backend = MemoryBackend::new(std::sync::Arc::new(crate::clock::SystemClock));
        let key = || "logout:sub:u-1".to_owned();
        backend.mark(key(), 300, Duration::from_secs(60));
        backend.mark(key(), 100, Duration::from_secs(60));
        assert_eq!(backend.marks(&[key()]), [Some(300)]);
        backend.mark(key(), 400, Duration::from_secs(60));
        assert_eq!(backend.marks(&[key()]), [Some(400)]);
    }

    #[test]
    fn an_id_can_be_claimed_once() {
        let backend = MemoryBackend::new(std::sync::Arc::new(crate::clock::SystemClock));
        let claim = |key: &str| backend.claim(key.into(), Duration::from_secs(60)).unwrap();
        assert!(claim("jti-1"));
        assert!(!claim("jti-1"));
        assert!(claim("jti-2"));
    }
}
