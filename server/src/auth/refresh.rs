//! In-process refresh locks, one per session id that is refreshing (the distributed one, for
//! several servers on one Redis, is the session backend's).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};
use tower_sessions::session::Id;

#[derive(Default)]
pub struct SessionLocks(Mutex<HashMap<Id, Weak<tokio::sync::Mutex<()>>>>);

impl SessionLocks {
    pub fn get(&self, id: Id) -> Arc<tokio::sync::Mutex<()>> {
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
