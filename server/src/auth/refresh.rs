//! Keeping the access token fresh, once per session however many requests ask at the same time.
//!
//! A refresh runs under two locks: an in-process one per session id (requests of one server),
//! and, with a shared store (Redis), a distributed one (requests spread over several servers).
//! Under them the session is read again from the store: if another request already refreshed,
//! its tokens are used and the IdP is not called. Otherwise the refresh token is redeemed and the
//! new tokens (a rotated refresh token included) are saved before the locks are released, so the
//! old refresh token is never used again.

use super::{
    events::{AuthEvent, SessionDigest},
    now,
    oidc::OidcError,
    session::{AuthSession, SignedIn, StoreError, Tokens},
    AuthService,
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};
use tower_sessions::session::Id;

/// How long a request waits for another one's refresh before giving up with a 503.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// Attempts at the token endpoint when it is unreachable or failing (not when it refuses).
const REFRESH_ATTEMPTS: u32 = 3;

/// In-process locks, one per session id that is refreshing.
#[derive(Default)]
pub struct SessionLocks(Mutex<HashMap<Id, Weak<tokio::sync::Mutex<()>>>>);

impl SessionLocks {
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

/// Why a session ended, in words for the person whose session it was.
pub mod reasons {
    pub const REFRESH_REFUSED: &str =
        "Your session ended: the identity provider refused to renew it (the sign-in was revoked or has expired). Sign in again.";
    pub const IDP_UNAVAILABLE: &str =
        "Your session ended: the identity provider could not be reached to renew it. Sign in again when it is back.";
    pub const CANNOT_RENEW: &str = "Your session ended: its access token expired and the identity provider gave no refresh token. Sign in again.";
    pub const MAX_AGE: &str = "Your session reached its maximum age and has ended. Sign in again.";
    pub const IDLE: &str = "Your session ended after a period of inactivity. Sign in again.";
    pub const LOGGED_OUT_AT_IDP: &str =
        "You were signed out at the identity provider, so your session here has ended too.";
}

impl AuthService {
    /// Runs `work` holding the session's refresh locks, with the session re-read from the store.
    async fn locked<T>(
        &self,
        session: &AuthSession,
        work: impl AsyncFnOnce(Option<SignedIn>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let Some(id) = session.id() else {
            return work(None).await;
        };
        let local = self.locks.get(id);
        let _local = local.lock().await;
        let shared = self
            .backend
            .lock(&format!("refresh:{id}"), LOCK_WAIT)
            .await?;
        let result = async {
            session.reload().await?;
            let signed_in = session.signed_in().await?;
            work(signed_in).await
        }
        .await;
        if let Some(shared) = shared {
            shared.release().await;
        }
        result
    }

    /// Refreshes the tokens unless another request already did; `seen` is the access token the
    /// caller found stale (expiring, or refused by the IdP). `None` when the session ended.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(
        &self,
        session: &AuthSession,
        seen: &str,
    ) -> Result<Option<SignedIn>, StoreError> {
        self.locked(session, async |current| {
            let Some(mut signed_in) = current else { return Ok(None) };
            let now = now();
            if signed_in.tokens.access_token != seen && !signed_in.needs_refresh(now) {
                tracing::debug!("another request already refreshed the tokens");
                return Ok(Some(signed_in));
            }
            let Some(refresh_token) = signed_in.tokens.refresh_token.clone() else {
                return self.keep_or_end(session, signed_in, now, reasons::CANNOT_RENEW).await;
            };
            match self.redeem(&refresh_token, &signed_in.sub).await {
                Ok(grant) => {
                    let skew = self.config.refresh_skew.as_secs() as i64;
                    let Some(tokens) = Tokens::from_grant(grant, Some(&signed_in.tokens), skew, now) else {
                        return self.end(session, reasons::REFRESH_REFUSED).await;
                    };
                    signed_in.tokens = tokens;
                    signed_in.touched_at = now;
                    session.update(&signed_in).await?;
                    tracing::info!(sub = %signed_in.sub, "refreshed the access token");
                    Ok(Some(signed_in))
                }
                Err(err) if err.is_invalid_grant() || matches!(err, OidcError::InvalidIdToken(_)) => {
                    tracing::warn!(error = %err, sub = %signed_in.sub, "refresh refused; ending the session");
                    self.end(session, reasons::REFRESH_REFUSED).await
                }
                Err(err) => {
                    tracing::warn!(error = %err, sub = %signed_in.sub, "refresh failed");
                    self.keep_or_end(session, signed_in, now, reasons::IDP_UNAVAILABLE).await
                }
            }
        })
        .await
    }

    /// Writes the session again so that its idle timeout starts over.
    pub async fn touch(&self, session: &AuthSession) -> Result<Option<SignedIn>, StoreError> {
        self.locked(session, async |current| {
            let Some(mut signed_in) = current else {
                return Ok(None);
            };
            signed_in.touched_at = now();
            session.update(&signed_in).await?;
            Ok(Some(signed_in))
        })
        .await
    }

    /// The token endpoint, retried while it is unreachable or failing (never when it refuses).
    async fn redeem(
        &self,
        refresh_token: &str,
        sub: &str,
    ) -> Result<super::oidc::Grant, OidcError> {
        let mut attempt = 1;
        loop {
            match self.oidc.refresh(refresh_token, sub).await {
                Err(OidcError::TokenEndpoint(why)) if attempt < REFRESH_ATTEMPTS => {
                    tracing::info!(attempt, error = %why, "token endpoint failed; retrying the refresh");
                    tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// With the IdP unavailable, a token that has not expired yet is still good to use.
    async fn keep_or_end(
        &self,
        session: &AuthSession,
        signed_in: SignedIn,
        now: i64,
        reason: &str,
    ) -> Result<Option<SignedIn>, StoreError> {
        if signed_in.access_token_expired(now) {
            self.end(session, reason).await
        } else {
            Ok(Some(signed_in))
        }
    }

    /// Ends the session, keeping `reason` for the next page.
    pub async fn end(
        &self,
        session: &AuthSession,
        reason: &str,
    ) -> Result<Option<SignedIn>, StoreError> {
        let ended = session.id();
        session.end_with_message(reason).await?;
        if let Some(id) = ended {
            self.events
                .publish(AuthEvent::SessionEnded(SessionDigest::of(&id)))
                .await;
        }
        Ok(None)
    }
}
