//! [`AuthService`]: everything the auth endpoints and the pages' server functions share, and the
//! whole life of a signed-in session — used, kept fresh, touched, ended.
//!
//! A refresh runs under two locks: an in-process one per session id (requests of one server),
//! and, with a shared store (Redis), a distributed one (requests spread over several servers).
//! Under them the session is read again from the store: if another request already refreshed,
//! its tokens are used and the IdP is not called. Otherwise the refresh token is redeemed and the
//! new tokens (a rotated refresh token included) are saved before the locks are released, so the
//! old refresh token is never used again.
//!
//! The refresh runs as a task of its own that the request awaits: a request cancelled midway
//! (timeout, client gone) cannot split redeeming the refresh token from saving the rotated one,
//! and the locks are always released. It is bounded: the lock wait plus [`REFRESH_BUDGET`] stay
//! below the server's request timeout. Refreshes on demand (a browser's scim2/Me call refused)
//! happen at most once per [`MIN_REFRESH_INTERVAL`] per session.

use super::{
    events::{AuthEvent, EventBus},
    oidc::{Grant, OidcClient, OidcError, OriginalSignIn},
    pending::PendingCookie,
    scim::{MeResponse, ScimClient},
    session::{AuthSession, SignedIn, StoreError, Tokens},
};
use crate::{
    clock::{SharedClock, UnixTime},
    config::Config,
    sessions::{BackendError, SessionBackend, SessionDigest, SessionLock, UserDigest},
};
use app::error::{AppError, EndReason};
use std::{
    sync::{Arc, Weak},
    time::Duration,
};

/// The most one refresh may take, retries and back-off included (with the 15 s wait for the
/// refresh lock, below the 60 s request timeout).
pub const REFRESH_BUDGET: Duration = Duration::from_secs(40);
/// Attempts at the token endpoint when it is unreachable or failing (not when it refuses).
const REFRESH_ATTEMPTS: u32 = 3;
/// Shortest time between two refreshes of one session that its tokens did not need.
pub const MIN_REFRESH_INTERVAL: i64 = 10;

pub struct AuthService {
    config: Arc<Config>,
    oidc: OidcClient,
    scim: ScimClient,
    backend: Arc<SessionBackend>,
    events: Arc<EventBus>,
    clock: SharedClock,
    pending: PendingCookie,
    /// Itself, for the tasks it spawns.
    me: Weak<AuthService>,
}

impl AuthService {
    pub fn new(
        config: Arc<Config>,
        oidc: OidcClient,
        scim: ScimClient,
        backend: Arc<SessionBackend>,
        events: Arc<EventBus>,
        clock: SharedClock,
    ) -> Arc<Self> {
        let pending = PendingCookie::new(&config.auth_secret, config.secure_cookies());
        Arc::new_cyclic(|me| AuthService {
            config,
            oidc,
            scim,
            backend,
            events,
            clock,
            pending,
            me: me.clone(),
        })
    }

    /// The sealed cookie that holds sign-ins in progress.
    pub fn pending(&self) -> &PendingCookie {
        &self.pending
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn oidc(&self) -> &OidcClient {
        &self.oidc
    }

    pub fn scim(&self) -> &ScimClient {
        &self.scim
    }

    pub fn backend(&self) -> &SessionBackend {
        &self.backend
    }

    /// The backend, shared (the session layer's store holds it too).
    pub fn backend_handle(&self) -> Arc<SessionBackend> {
        self.backend.clone()
    }

    pub fn events(&self) -> &Arc<EventBus> {
        &self.events
    }

    /// Now, by the app's clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Now in milliseconds, by the app's clock.
    pub fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }

    /// The signed-in session of this request, ready to use: within its lifetimes, not logged out
    /// through the back channel, and with an access token that is not about to expire. `None`
    /// when nobody is signed in or the session just ended (its reason is kept for the next page).
    pub async fn current(&self, session: &AuthSession) -> Result<Option<SignedIn>, StoreError> {
        let Some(signed_in) = session.signed_in().await? else {
            return Ok(None);
        };
        let now = self.now();
        if let Some(reason) = self.ending(&signed_in, now).await? {
            return self.end(session, reason).await;
        }
        if signed_in.needs_refresh(now) {
            return self.refresh(session, &signed_in.tokens.access_token).await;
        }
        // Written again at most every tenth of the idle timeout, not on every request.
        let idle = self.config.session_idle_timeout.as_secs() as i64;
        if now - signed_in.touched_at >= (idle / 10).max(1) {
            return self.touch(session).await;
        }
        Ok(Some(signed_in))
    }

    /// Like [`AuthService::current`], but without using the session: nothing is refreshed and
    /// the idle timeout does not start over. A session past its end is still ended (and says so).
    pub async fn peek(&self, session: &AuthSession) -> Result<Option<SignedIn>, StoreError> {
        let Some(signed_in) = session.signed_in().await? else {
            return Ok(None);
        };
        match self.ending(&signed_in, self.now()).await? {
            Some(reason) => self.end(session, reason).await,
            None => Ok(Some(signed_in)),
        }
    }

    /// Reads the session again and says whether it is still signed in, writing nothing (for a
    /// long-lived event stream, whose response has long been sent).
    pub async fn still_signed_in(
        &self,
        session: &AuthSession,
    ) -> Result<Option<SignedIn>, StoreError> {
        session.reload().await?;
        let Some(signed_in) = session.signed_in().await? else {
            return Ok(None);
        };
        Ok(match self.ending(&signed_in, self.now()).await? {
            Some(_) => None,
            None => Some(signed_in),
        })
    }

    /// Why the session must end now, if it must: its lifetimes, or a back-channel logout.
    async fn ending(
        &self,
        signed_in: &SignedIn,
        now: UnixTime,
    ) -> Result<Option<EndReason>, StoreError> {
        let config = &self.config;
        if now - signed_in.signed_in_at >= config.session_max_age.as_secs() as i64 {
            return Ok(Some(EndReason::MaxAge));
        }
        if now - signed_in.touched_at >= config.session_idle_timeout.as_secs() as i64 {
            return Ok(Some(EndReason::Idle));
        }
        let logged_out = self
            .backend
            .is_logged_out(
                signed_in.sid.as_deref(),
                &signed_in.sub,
                signed_in.signed_in_at,
            )
            .await?;
        if logged_out {
            tracing::info!(sub = %crate::cause::Untrusted(&signed_in.sub), "session logged out through the back channel");
            return Ok(Some(EndReason::LoggedOutAtIdp));
        }
        Ok(None)
    }

    /// When the session ends unless it is used (idle timeout) or at the latest (maximum age).
    pub fn session_ends_at(&self, signed_in: &SignedIn) -> UnixTime {
        let idle = signed_in.touched_at + self.config.session_idle_timeout.as_secs() as i64;
        let absolute = signed_in.signed_in_at + self.config.session_max_age.as_secs() as i64;
        idle.min(absolute)
    }

    /// A new signed-in session from a code exchange, under a new session id. A live session it
    /// replaces ends (its open tabs hear so, and reconnect with the new one).
    pub async fn begin(
        &self,
        session: &AuthSession,
        signed_in: &SignedIn,
    ) -> Result<(), StoreError> {
        let replaced = match session.signed_in().await? {
            Some(_) => session.id(),
            None => None,
        };
        session.begin(signed_in).await?;
        if let Some(id) = replaced {
            self.publish_end(&id).await;
        }
        // At most so many sessions per user: beyond them, the oldest end (and their tabs hear
        // so). One account cannot fill the store or the event streams for everyone else.
        let Some(id) = session.id() else {
            return Ok(());
        };
        let oldest = self
            .backend
            .hold_user_session(
                &UserDigest::of(&signed_in.sub),
                id,
                signed_in.signed_in_at,
                self.config.max_sessions_per_user,
                self.config.session_max_age,
            )
            .await?;
        for old in oldest {
            self.backend
                .end_elsewhere(old, AuthSession::ended_record(EndReason::TooManySessions))
                .await?;
            tracing::info!(sub = %crate::cause::Untrusted(&signed_in.sub), "ended the user's oldest session: too many at once");
            self.publish_end(&old).await;
        }
        Ok(())
    }

    /// Signs out here: the record is deleted, the cookie removed, and the session's other tabs
    /// told. Returns what was signed in, for the IdP's logout.
    pub async fn sign_out(&self, session: &AuthSession) -> Result<Option<SignedIn>, StoreError> {
        let signed_in = session.signed_in().await?;
        let ended = session.id();
        session.end().await?;
        if let (Some(id), Some(_)) = (ended, &signed_in) {
            self.publish_end(&id).await;
        }
        Ok(signed_in)
    }

    /// Revokes the tokens of a session that signed out (RFC 7009, where the IdP offers it): the
    /// refresh token, and the access token too when the browser held it. In a task of its own,
    /// so that a slow IdP cannot hold up the sign-out; failures are logged.
    pub fn revoke_in_background(&self, signed_in: &SignedIn) {
        let Some(me) = self.me.upgrade() else { return };
        let mut tokens = Vec::new();
        if let Some(refresh) = &signed_in.tokens.refresh_token {
            tokens.push((refresh.clone(), "refresh_token"));
        }
        if self.config.expose_access_token {
            tokens.push((signed_in.tokens.access_token.clone(), "access_token"));
        }
        tokio::spawn(async move {
            for (token, hint) in tokens {
                match me.oidc.revoke(&token, hint).await {
                    Ok(true) => tracing::info!(hint, "revoked a signed-out session's token"),
                    Ok(false) => return,
                    Err(err) => {
                        tracing::warn!(hint, error = %crate::cause::chain(&err), code = err.code(), "could not revoke a signed-out session's token")
                    }
                }
            }
        });
    }

    /// Ends the session, keeping `reason` for the next page.
    pub async fn end(
        &self,
        session: &AuthSession,
        reason: EndReason,
    ) -> Result<Option<SignedIn>, StoreError> {
        let ended = session.id();
        session.end_with_reason(reason).await?;
        if let Some(id) = ended {
            self.publish_end(&id).await;
        }
        Ok(None)
    }

    async fn publish_end(&self, id: &tower_sessions::session::Id) {
        self.events
            .publish(AuthEvent::SessionEnded(SessionDigest::of(id)))
            .await;
    }

    /// Runs `work` holding the session's refresh locks, with the session re-read from the store.
    async fn locked<T>(
        &self,
        session: &AuthSession,
        work: impl AsyncFnOnce(Option<SignedIn>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let Some(id) = session.id() else {
            return work(None).await;
        };
        self.backend
            .with_lock(SessionLock::Refresh, id, async || {
                session.reload().await?;
                let signed_in = session.signed_in().await?;
                work(signed_in).await
            })
            .await
    }

    /// Refreshes the tokens unless another request already did; `seen` is the access token the
    /// caller found stale (expiring, or refused by the IdP). `None` when the session ended.
    ///
    /// Runs as its own task: if the caller is cancelled, the refresh still finishes, saves the
    /// rotated tokens and releases its locks.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(
        &self,
        session: &AuthSession,
        seen: &str,
    ) -> Result<Option<SignedIn>, StoreError> {
        let Some(me) = self.me.upgrade() else {
            return self.refresh_now(session, seen).await;
        };
        let (session, seen) = (session.clone(), seen.to_owned());
        let task = tokio::spawn(async move { me.refresh_now(&session, &seen).await });
        match task.await {
            Ok(result) => result,
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }

    async fn refresh_now(
        &self,
        session: &AuthSession,
        seen: &str,
    ) -> Result<Option<SignedIn>, StoreError> {
        self.locked(session, async |current| {
            let Some(mut signed_in) = current else { return Ok(None) };
            let now = self.now();
            if signed_in.tokens.access_token != seen && !signed_in.needs_refresh(now) {
                tracing::debug!("another request already refreshed the tokens");
                return Ok(Some(signed_in));
            }
            let recently = signed_in
                .refreshed_at
                .is_some_and(|at| now - at < MIN_REFRESH_INTERVAL);
            if recently && !signed_in.needs_refresh(now) {
                tracing::info!("refreshed moments ago; keeping the current tokens");
                return Ok(Some(signed_in));
            }
            let Some(refresh_token) = signed_in.tokens.refresh_token.clone() else {
                return self.keep_or_end(session, signed_in, now, EndReason::CannotRenew).await;
            };
            let original = OriginalSignIn {
                sub: &signed_in.sub,
                sid: signed_in.sid.as_deref(),
                auth_time: signed_in.auth_time,
            };
            match self.redeem(&refresh_token, &original).await {
                Ok(grant) => {
                    let skew = self.config.refresh_skew.as_secs() as i64;
                    let Some(tokens) = Tokens::from_grant(grant, Some(&signed_in.tokens), skew, now) else {
                        return self.end(session, EndReason::RefreshRefused).await;
                    };
                    signed_in.tokens = tokens;
                    signed_in.touched_at = now;
                    signed_in.refreshed_at = Some(now);
                    session.update(&signed_in).await?;
                    tracing::info!(sub = %crate::cause::Untrusted(&signed_in.sub), "refreshed the access token");
                    Ok(Some(signed_in))
                }
                Err(err) if err.ends_session() => {
                    tracing::warn!(error = %crate::cause::chain(&err), code = err.code(), sub = %crate::cause::Untrusted(&signed_in.sub), "refresh refused; ending the session");
                    self.end(session, EndReason::RefreshRefused).await
                }
                Err(err) => {
                    tracing::warn!(error = %crate::cause::chain(&err), code = err.code(), sub = %crate::cause::Untrusted(&signed_in.sub), "refresh failed");
                    self.keep_or_end(session, signed_in, now, EndReason::IdpUnavailable).await
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
            signed_in.touched_at = self.now();
            session.update(&signed_in).await?;
            Ok(Some(signed_in))
        })
        .await
    }

    /// The token endpoint, retried while it is unreachable or failing (never when it refuses,
    /// misunderstands, or answers something invalid), within [`REFRESH_BUDGET`].
    async fn redeem(
        &self,
        refresh_token: &str,
        original: &OriginalSignIn<'_>,
    ) -> Result<Grant, OidcError> {
        let attempts = async {
            let mut attempt = 1;
            loop {
                match self.oidc.refresh(refresh_token, original).await {
                    Err(err) if err.is_retryable() && attempt < REFRESH_ATTEMPTS => {
                        tracing::info!(attempt, error = %crate::cause::chain(&err), "token endpoint failed; retrying the refresh");
                        tokio::time::sleep(Duration::from_millis(250 * 2u64.pow(attempt))).await;
                        attempt += 1;
                    }
                    result => return result,
                }
            }
        };
        tokio::time::timeout(REFRESH_BUDGET, attempts)
            .await
            .unwrap_or(Err(OidcError::TokenEndpoint(
                super::oidc::EndpointError::Http(super::http::HttpError::Timeout),
            )))
    }

    /// With the IdP unavailable, a token that has not expired yet is still good to use.
    async fn keep_or_end(
        &self,
        session: &AuthSession,
        signed_in: SignedIn,
        now: UnixTime,
        reason: EndReason,
    ) -> Result<Option<SignedIn>, StoreError> {
        if signed_in.access_token_expired(now) {
            self.end(session, reason).await
        } else {
            Ok(Some(signed_in))
        }
    }

    /// scim2/Me with the session's token; on a 401 the token is refreshed and the call made once
    /// more. A session that ended on the way says why.
    pub async fn me_with_refresh(&self, session: &AuthSession) -> Result<MeResponse, AppError> {
        let signed_in = self.current(session).await.map_err(store_unavailable)?;
        let Some(signed_in) = signed_in else {
            return Err(ended(session).await);
        };
        let first = self.scim.me(&signed_in.tokens.access_token).await?;
        if first.status != 401 {
            return Ok(first);
        }
        tracing::info!("scim2/Me refused the access token; refreshing once");
        match self
            .refresh(session, &signed_in.tokens.access_token)
            .await
            .map_err(store_unavailable)?
        {
            Some(fresh) if fresh.tokens.access_token != signed_in.tokens.access_token => {
                self.scim.me(&fresh.tokens.access_token).await
            }
            // The IdP could not be asked (it is down) but the token has not expired: its 401 stands.
            Some(_) => Ok(first),
            None => Err(ended(session).await),
        }
    }
}

/// The store failed, or a lock stayed busy: logged here, a 503 for the caller.
pub fn store_unavailable(err: StoreError) -> AppError {
    if let StoreError::Backend(BackendError::Busy(_)) = err {
        tracing::warn!(error = %crate::cause::chain(&err), "busy");
        return AppError::Busy;
    }
    tracing::error!(error = %crate::cause::chain(&err), "session store unavailable");
    AppError::StoreUnavailable
}

/// Why there is no session: the reason it just ended, or simply that nobody signed in.
async fn ended(session: &AuthSession) -> AppError {
    match session.peek_end_reason().await {
        Ok(Some(reason)) => AppError::SessionEnded(reason),
        _ => AppError::NotSignedIn,
    }
}
