//! The one time source of the auth code: session lifetimes (idle and absolute), token refresh
//! skew, pending sign-ins, logout marks and ID-token times are all decided by [`Clock::now`].
//! Tests use a [`ManualClock`], and move time instead of sleeping.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix time in seconds.
pub type UnixTime = i64;

/// The time source that decides lifetimes and token checks.
pub trait Clock: Send + Sync + 'static {
    /// The current Unix time, in seconds.
    fn now(&self) -> UnixTime;

    /// The current Unix time, in milliseconds (to order answers about the session).
    fn now_millis(&self) -> i64 {
        self.now() * 1000
    }
}

/// The clock the server runs with.
pub(crate) type SharedClock = Arc<dyn Clock>;

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as UnixTime)
            .unwrap_or(0)
    }

    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A clock that stands still until moved (tests). Clones share the time.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starts at the system's current time.
    pub fn starting_now() -> Self {
        ManualClock(Arc::new(AtomicI64::new(SystemClock.now())))
    }

    /// Moves the clock (and its clones) forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs() as i64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::starting_now();
        let start = clock.now();
        let shared = clock.clone();
        shared.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), start + 90);
    }
}
