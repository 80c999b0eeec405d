//! [`Bff`]: the backend-for-frontend — its settings, its OpenID Connect client, its sessions
//! and their events — and the whole life of a signed-in session: used, kept fresh, touched,
//! ended.
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
//! below a 60 s request timeout. Refreshes on demand (an API refused the token) happen at most
//! once per [`MIN_REFRESH_INTERVAL`] per session.

use crate::{
    clock::{Clock, SharedClock, SystemClock, UnixTime},
    error::{BffError, ErrorRenderer, PlainErrorPages},
    events::{AuthEvent, EventBus},
    headers::SecurityHeaders,
    log::{chain, Untrusted},
    oidc::{http::IdpHttp, Grant, OidcClient, OidcError, OriginalSignIn},
    pending::PendingCookie,
    session::{AuthSession, EndReason, SignedIn, StoreError},
    settings::Settings,
    store::{BackendError, BackendOptions, SessionBackend, SessionDigest, SessionLock, UserDigest},
    user::{Claims, DefaultUser, FetchUserInfo, MapUser},
};
use crate::{headers::CspNonce, store::AnyStore};
use axum::{
    extract::{Request, State},
    middleware::{from_fn_with_state, Next},
    response::Response,
    routing::Route,
    Router,
};
use std::{
    convert::Infallible,
    sync::{Arc, Weak},
    time::Duration,
};
use tower_sessions::{
    cookie::{Key, SameSite},
    service::PrivateCookie,
    Expiry, SessionManagerLayer,
};

/// The most one refresh may take, retries and back-off included (with the 15 s wait for the
/// refresh lock, below a 60 s request timeout).
pub(crate) const REFRESH_BUDGET: Duration = Duration::from_secs(40);
/// Attempts at the token endpoint when it is unreachable or failing (not when it refuses).
const REFRESH_ATTEMPTS: u32 = 3;
/// Shortest time between two refreshes of one session that its tokens did not need.
pub(crate) const MIN_REFRESH_INTERVAL: i64 = 10;

/// The backend-for-frontend: cheap to clone, one per app.
///
/// Build it with [`Bff::builder`], then serve [`Bff::router`] (the auth endpoints) and wrap the
/// whole app in [`Bff::layer`] (sessions, CSRF refusal, security headers, error pages). Handlers
/// then say what they need with the extractors: [`CurrentUser`](crate::CurrentUser),
/// [`MaybeUser`](crate::MaybeUser), [`AccessToken`](crate::AccessToken),
/// [`Api`](crate::Api).
#[derive(Clone)]
pub struct Bff(pub(crate) Arc<BffInner>);

impl std::fmt::Debug for Bff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bff")
            .field("settings", &self.0.settings)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Bff`]: how users are mapped from claims, how error pages look, and which clock
/// decides lifetimes.
pub struct BffBuilder {
    settings: Settings,
    map_user: MapUser,
    fetch_userinfo: FetchUserInfo,
    renderer: Arc<dyn ErrorRenderer>,
    clock: SharedClock,
    headers: SecurityHeaders,
}

impl Bff {
    /// Starts building a backend-for-frontend with `settings`.
    pub fn builder(settings: Settings) -> BffBuilder {
        BffBuilder {
            settings,
            map_user: Arc::new(|claims: &Claims| {
                serde_json::to_value(DefaultUser::from_claims(claims))
            }),
            fetch_userinfo: FetchUserInfo::default(),
            renderer: Arc::new(PlainErrorPages),
            clock: Arc::new(SystemClock),
            headers: SecurityHeaders::default(),
        }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// Tells every open event stream that the server is stopping: their tabs reconnect a
    /// moment later (to another instance, behind a load balancer). Call it when shutdown
    /// begins; the streams then end, so a graceful shutdown is not held up by them.
    pub async fn shutdown(&self) {
        self.0.events.publish(AuthEvent::Shutdown).await;
    }

    /// The auth endpoints ([`Paths`](crate::Paths)): sign-in, callback, session, refresh,
    /// sign-out, back-channel logout and the session event stream. Merge it into the app's
    /// router, inside [`Bff::layer`].
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        crate::routes::router(self)
    }

    /// What every route of the app runs inside (outermost first): security headers and error
    /// pages, the session (one opaque `HttpOnly` cookie), and the refusal of cross-site
    /// requests that change state. Put it around the whole app, the auth endpoints included:
    /// `app.layer(bff.layer())`.
    #[allow(clippy::type_complexity)]
    pub fn layer(
        &self,
    ) -> impl tower::Layer<
        Route,
        Service: tower::Service<
            Request,
            Response = Response,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
                     + Send
                     + Sync
                     + 'static,
    > + Clone
           + Send
           + Sync
           + 'static {
        tower::ServiceBuilder::new()
            .layer(from_fn_with_state(self.clone(), outermost))
            .layer(self.session_layer())
            .layer(from_fn_with_state(
                self.clone(),
                crate::csrf::refuse_cross_site,
            ))
    }

    fn session_layer(&self) -> SessionManagerLayer<AnyStore, PrivateCookie> {
        let settings = &self.0.settings;
        // The cookie holds only the session id, encrypted and authenticated with a key derived
        // from the secret, so ids cannot be forged or read.
        let key = Key::from(&settings.key("session cookie"));
        // `__Host-` binds the cookie to this exact origin when it can be (https only).
        let name = if settings.secure_cookies() {
            format!("__Host-{}.sid", settings.name)
        } else {
            format!("{}.sid", settings.name)
        };
        let idle = time::Duration::seconds(settings.idle_timeout.as_secs() as i64);
        let store = AnyStore::new(self.0.backend.clone(), self.0.clock.clone(), settings);
        SessionManagerLayer::new(store)
            .with_name(name)
            .with_path("/")
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(settings.secure_cookies())
            .with_expiry(Expiry::OnInactivity(idle))
            .with_private(key)
    }
}

/// The outermost stage of [`Bff::layer`]: hands the request the [`Bff`] and a CSP nonce, and
/// the response its error page (logged once) and its security headers.
async fn outermost(State(bff): State<Bff>, mut request: Request, next: Next) -> Response {
    let wants_html = crate::error::wants_html(request.headers());
    let is_static = bff.0.headers.is_static(request.uri().path());
    let nonce: Arc<str> = crate::headers::random_token(16).into();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    request.extensions_mut().insert(bff.clone());
    let response = next.run(request).await;
    let mut response = crate::error::finish_error_response(&bff.0, wants_html, response);
    let provider = bff.0.oidc.discovered();
    let end_session = provider.as_ref().and_then(|p| p.end_session_endpoint());
    bff.0
        .headers
        .apply(response.headers_mut(), &nonce, end_session, is_static);
    response
}

impl BffBuilder {
    /// How the signed-in user is made from the ID token's (and userinfo's) claims; stored in the
    /// session and read back by [`CurrentUser<U>`](crate::CurrentUser). Default:
    /// [`DefaultUser`].
    pub fn user<U, F>(mut self, map: F) -> Self
    where
        U: serde::Serialize,
        F: Fn(&Claims) -> U + Send + Sync + 'static,
    {
        self.map_user = Arc::new(move |claims: &Claims| serde_json::to_value(map(claims)));
        self
    }

    /// When to ask the userinfo endpoint for claims the ID token lacks. Default
    /// [`FetchUserInfo::WhenProfileMissing`].
    pub fn fetch_userinfo(mut self, when: FetchUserInfo) -> Self {
        self.fetch_userinfo = when;
        self
    }

    /// Renders the error pages of the auth endpoints (and of extractor refusals, for browsers).
    /// Default [`PlainErrorPages`].
    pub fn error_pages(mut self, renderer: impl ErrorRenderer) -> Self {
        self.renderer = Arc::new(renderer);
        self
    }

    /// The clock that decides session lifetimes, refresh times and token checks (tests move a
    /// [`ManualClock`](crate::ManualClock)). Default the system's.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The security headers [`Bff::layer`] sets (Content-Security-Policy sources, static
    /// paths).
    pub fn security_headers(mut self, headers: SecurityHeaders) -> Self {
        self.headers = headers;
        self
    }

    /// Connects to the session store and prepares everything; discovery runs in the background
    /// (and again on the first sign-in if the IdP was not reachable yet).
    pub async fn build(self) -> Result<Bff, BffError> {
        let settings = self.settings;
        let internal =
            |what: &str, err: &dyn std::fmt::Display| BffError::Internal(format!("{what}: {err}"));
        let http = IdpHttp::new(settings.http_connect_timeout, settings.http_timeout)
            .map_err(|e| internal("the HTTP client", &e))?;
        let oidc = OidcClient::new(&settings, http.clone(), self.clock.clone())
            .map_err(|e| internal("the OpenID Connect client", &e))?;
        let backend = SessionBackend::connect(
            &settings.store,
            BackendOptions {
                clock: self.clock.clone(),
                key_prefix: settings.key_prefix.clone(),
                table_prefix: settings.table_prefix(),
                refresh_wait: settings.refresh_lock_wait,
            },
        )
        .await
        .map_err(|e| BffError::StoreUnavailable(StoreError::Backend(e)))?;
        tracing::info!(store = backend.name(), "sessions ready");
        let events = EventBus::start(backend.clone()).await;
        let pending = PendingCookie::new(&settings);
        let headers = self.headers.for_settings(&settings);
        let inner = Arc::new_cyclic(|me| BffInner {
            settings,
            oidc,
            http,
            backend,
            events,
            clock: self.clock,
            pending,
            map_user: self.map_user,
            fetch_userinfo: self.fetch_userinfo,
            renderer: self.renderer,
            headers,
            me: me.clone(),
        });
        // Discovery and JWKS now, not on the first sign-in.
        tokio::spawn({
            let inner = inner.clone();
            async move {
                if let Err(err) = inner.oidc.provider().await {
                    tracing::warn!(error = %chain(&err), "the identity provider is not reachable yet; sign-in will retry");
                }
            }
        });
        Ok(Bff(inner))
    }
}

/// What a [`Bff`] holds.
pub(crate) struct BffInner {
    pub(crate) settings: Settings,
    pub(crate) oidc: OidcClient,
    pub(crate) http: IdpHttp,
    pub(crate) backend: Arc<SessionBackend>,
    pub(crate) events: Arc<EventBus>,
    pub(crate) clock: SharedClock,
    pub(crate) pending: PendingCookie,
    pub(crate) map_user: MapUser,
    pub(crate) fetch_userinfo: FetchUserInfo,
    pub(crate) renderer: Arc<dyn ErrorRenderer>,
    pub(crate) headers: SecurityHeaders,
    /// Itself, for the tasks it spawns.
    me: Weak<BffInner>,
}

impl BffInner {
    /// Now, by the app's clock.
    pub(crate) fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Now in milliseconds, by the app's clock.
    pub(crate) fn now_millis(&self) -> i64 {
        self.clock.now_millis()
    }

    /// The signed-in session of this request, ready to use: within its lifetimes, not logged out
    /// through the back channel, and with an access token that is not about to expire. `None`
    /// when nobody is signed in or the session just ended (its reason is kept for the next page).
    pub(crate) async fn current(
        &self,
        session: &AuthSession,
    ) -> Result<Option<SignedIn>, StoreError> {
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
        let idle = self.settings.idle_timeout.as_secs() as i64;
        if now - signed_in.touched_at >= (idle / 10).max(1) {
            return self.touch(session).await;
        }
        Ok(Some(signed_in))
    }

    /// Like [`BffInner::current`], but without using the session: nothing is refreshed and
    /// the idle timeout does not start over. A session past its end is still ended (and says so).
    pub(crate) async fn peek(&self, session: &AuthSession) -> Result<Option<SignedIn>, StoreError> {
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
    pub(crate) async fn still_signed_in(
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
        let settings = &self.settings;
        if now - signed_in.signed_in_at >= settings.max_age.as_secs() as i64 {
            return Ok(Some(EndReason::MaxAge));
        }
        if now - signed_in.touched_at >= settings.idle_timeout.as_secs() as i64 {
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
            tracing::info!(sub = %Untrusted(&signed_in.sub), "session logged out through the back channel");
            return Ok(Some(EndReason::LoggedOutAtIdp));
        }
        Ok(None)
    }

    /// When the session ends unless it is used (idle timeout) or at the latest (maximum age).
    pub(crate) fn session_ends_at(&self, signed_in: &SignedIn) -> UnixTime {
        let idle = signed_in.touched_at + self.settings.idle_timeout.as_secs() as i64;
        let absolute = signed_in.signed_in_at + self.settings.max_age.as_secs() as i64;
        idle.min(absolute)
    }

    /// A new signed-in session from a code exchange, under a new session id. A live session it
    /// replaces ends (its open tabs hear so, and reconnect with the new one).
    pub(crate) async fn begin(
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
                self.settings.max_sessions_per_user,
                self.settings.max_age,
            )
            .await?;
        for old in oldest {
            self.backend
                .end_elsewhere(old, AuthSession::ended_record(EndReason::TooManySessions))
                .await?;
            tracing::info!(sub = %Untrusted(&signed_in.sub), "ended the user's oldest session: too many at once");
            self.publish_end(&old).await;
        }
        Ok(())
    }

    /// Signs out here: the record is deleted, the cookie removed, and the session's other tabs
    /// told. Returns what was signed in, for the IdP's logout.
    pub(crate) async fn sign_out(
        &self,
        session: &AuthSession,
    ) -> Result<Option<SignedIn>, StoreError> {
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
    pub(crate) fn revoke_in_background(&self, signed_in: &SignedIn) {
        let Some(me) = self.me.upgrade() else { return };
        let mut tokens = Vec::new();
        if let Some(refresh) = &signed_in.tokens.refresh_token {
            tokens.push((refresh.clone(), "refresh_token"));
        }
        if self.settings.expose_access_token {
            tokens.push((signed_in.tokens.access_token.clone(), "access_token"));
        }
        tokio::spawn(async move {
            for (token, hint) in tokens {
                match me.oidc.revoke(&token, hint).await {
                    Ok(true) => tracing::info!(hint, "revoked a signed-out session's token"),
                    Ok(false) => return,
                    Err(err) => {
                        tracing::warn!(hint, error = %chain(&err), code = err.code(), "could not revoke a signed-out session's token")
                    }
                }
            }
        });
    }

    /// Ends the session, keeping `reason` for the next page.
    pub(crate) async fn end(
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
    pub(crate) async fn refresh(
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
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            // Cancelled: the runtime is shutting down.
            Err(_) => Err(StoreError::Backend(BackendError::Unavailable(
                "the refresh was cancelled: the server is stopping".into(),
            ))),
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
                    let skew = self.settings.refresh_skew.as_secs() as i64;
                    signed_in.tokens = signed_in.tokens.refreshed(grant, skew, now);
                    signed_in.touched_at = now;
                    signed_in.refreshed_at = Some(now);
                    session.update(&signed_in).await?;
                    tracing::info!(sub = %Untrusted(&signed_in.sub), "refreshed the access token");
                    Ok(Some(signed_in))
                }
                Err(err) if err.ends_session() => {
                    tracing::warn!(error = %chain(&err), code = err.code(), sub = %Untrusted(&signed_in.sub), "refresh refused; ending the session");
                    self.end(session, EndReason::RefreshRefused).await
                }
                Err(err) => {
                    tracing::warn!(error = %chain(&err), code = err.code(), sub = %Untrusted(&signed_in.sub), "refresh failed");
                    self.keep_or_end(session, signed_in, now, EndReason::IdpUnavailable).await
                }
            }
        })
        .await
    }

    /// Writes the session again so that its idle timeout starts over.
    pub(crate) async fn touch(
        &self,
        session: &AuthSession,
    ) -> Result<Option<SignedIn>, StoreError> {
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
                        tracing::info!(attempt, error = %chain(&err), "token endpoint failed; retrying the refresh");
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
                crate::oidc::EndpointError::Http(crate::oidc::http::HttpError::Timeout),
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

    /// The current session, or why there is none: [`BffError::NotSignedIn`], or
    /// [`BffError::SessionEnded`] with the reason when it just ended.
    pub(crate) async fn require(&self, session: &AuthSession) -> Result<SignedIn, BffError> {
        match self.current(session).await.map_err(BffError::from_store)? {
            Some(signed_in) => Ok(signed_in),
            None => Err(ended(session).await),
        }
    }
}

/// Why there is no session: the reason it just ended, or simply that nobody signed in.
pub(crate) async fn ended(session: &AuthSession) -> BffError {
    match session.peek_end_reason().await {
        Ok(Some(reason)) => BffError::SessionEnded(reason),
        _ => BffError::NotSignedIn,
    }
}
