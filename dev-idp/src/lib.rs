//! The built-in development IdP: an Asgardeo-shaped OpenID Provider for a fresh clone and tests.
//!
//! It serves organisation `dev` on its own loopback port (default 9443), so that the browser's
//! scim2/Me call is cross-origin exactly as with Asgardeo:
//!
//! | path | what |
//! |---|---|
//! | `/t/dev/oauth2/token/.well-known/openid-configuration` | discovery (issuer `http://localhost:<port>/t/dev/oauth2/token`) |
//! | `/t/dev/oauth2/authorize` | authorization code flow; PKCE S256 required; a real login form |
//! | `/t/dev/oauth2/token` | `authorization_code` and `refresh_token` (rotating); client_secret_basic/post |
//! | `/t/dev/oauth2/revoke` | RFC 7009 token revocation (a refresh token's whole family) |
//! | `/t/dev/oauth2/jwks`, `/t/dev/oauth2/userinfo` | RS256 keys; profile claims |
//! | `/t/dev/scim2/Me` | the user's SCIM record (`internal_login` scope required), with CORS |
//! | `/t/dev/oidc/logout` | RP-initiated logout (`id_token_hint`, registered `post_logout_redirect_uri`) |
//! | `/t/dev/_stats` | how many requests of each kind it answered (for tests and benchmarks) |
//!
//! Everything is kept in memory and built from openidconnect's provider-side types. It runs only
//! when no `AUTH_ASGARDEO_ISSUER` is configured and only on loopback (see [`crate::config`]).

mod authorize;
mod backchannel;
mod keys;
mod logout;
mod pages;
mod resources;
mod token;
mod types;
pub mod users;

use anyhow::Context;
use axum::{
    routing::{get, post},
    Router,
};
use keys::SigningKeys;
use secrecy::SecretString;
use serde::Serialize;
use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard, RwLock,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use url::Url;
pub use users::DevUser;

/// The organisation the development IdP serves.
pub const ORG: &str = "dev";

/// An application registered at the development IdP.
#[derive(Clone, Debug)]
pub struct DevClient {
    pub client_id: String,
    pub client_secret: SecretString,
    /// Exact-match redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact-match post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Origins allowed to call scim2/Me and userinfo from a browser.
    pub allowed_origins: Vec<String>,
    /// Where to POST a logout token when the user's IdP session ends.
    pub backchannel_logout_uri: Option<String>,
}

impl DevClient {
    /// A client for an app at `base_url` with the Auth.js-compatible endpoints of provider
    /// `provider_id` (what `axum-oidc-bff` serves by default): its callback as redirect URI, the
    /// base URL after logout, its origin for browser calls, and its back-channel logout
    /// endpoint.
    pub fn for_app(
        client_id: &str,
        client_secret: SecretString,
        base_url: &Url,
        provider_id: &str,
    ) -> DevClient {
        let at = |path: &str| {
            let mut url = base_url.clone();
            url.set_path(path);
            url.to_string()
        };
        DevClient {
            client_id: client_id.to_owned(),
            client_secret,
            redirect_uris: vec![at(&format!("/api/auth/callback/{provider_id}"))],
            post_logout_redirect_uris: vec![at("/")],
            allowed_origins: vec![base_url.origin().ascii_serialization()],
            backchannel_logout_uri: Some(at("/api/auth/backchannel-logout")),
        }
    }
}

/// How to run the development IdP.
#[derive(Clone, Debug)]
pub struct DevIdpSettings {
    /// Loopback port; 0 picks a free one.
    pub port: u16,
    pub users: Vec<DevUser>,
    pub clients: Vec<DevClient>,
    pub access_token_ttl: Duration,
    /// Like an Asgardeo application with no user attributes configured: the ID token carries
    /// `username` but no profile claims (userinfo still has them).
    pub minimal_id_token: bool,
    /// Enables `/t/dev/_test/*`: key rotation, token revocation, token lifetime, a slow scim2/Me.
    pub test_controls: bool,
}

/// A development IdP bound to its port.
pub struct DevIdp {
    pub issuer: Url,
    pub addr: SocketAddr,
    state: Arc<IdpState>,
    listener: tokio::net::TcpListener,
}

impl DevIdp {
    /// Binds `127.0.0.1:<port>` and prepares keys; [`DevIdp::serve`] then answers requests.
    pub async fn bind(settings: DevIdpSettings) -> anyhow::Result<DevIdp> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", settings.port))
            .await
            .with_context(|| {
                format!(
                    "development IdP: cannot listen on 127.0.0.1:{}",
                    settings.port
                )
            })?;
        let addr = listener
            .local_addr()
            .context("development IdP: local address")?;
        let base =
            Url::parse(&format!("http://localhost:{}", addr.port())).context("IdP base URL")?;
        let issuer = base
            .join(&format!("t/{ORG}/oauth2/token"))
            .context("issuer URL")?;
        let keys = tokio::task::spawn_blocking(SigningKeys::generate)
            .await
            .context("key generation task")??;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .context("development IdP: HTTP client")?;
        let state = Arc::new(IdpState {
            issuer: issuer.clone(),
            base,
            users: settings.users,
            clients: settings.clients,
            access_token_ttl: Mutex::new(settings.access_token_ttl),
            scim_delay: Mutex::new(Duration::ZERO),
            minimal_id_token: settings.minimal_id_token,
            test_controls: settings.test_controls,
            keys: RwLock::new(keys),
            store: Mutex::new(Store::default()),
            stats: Stats::default(),
            http,
        });
        Ok(DevIdp {
            issuer,
            addr,
            state,
            listener,
        })
    }

    /// The counters of `/t/dev/_stats`.
    pub fn stats(&self) -> Arc<IdpState> {
        self.state.clone()
    }

    /// Answers requests in a task of its own until the returned handle is dropped (tests).
    pub fn spawn(self) -> RunningDevIdp {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let issuer = self.issuer.clone();
        let state = self.state.clone();
        tokio::spawn(self.serve(async move {
            let _ = stopped.await;
        }));
        RunningDevIdp {
            issuer,
            state,
            _stop: stop,
        }
    }

    /// Answers requests until `shutdown` completes.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        tokio::spawn(prune_expired(Arc::downgrade(&state)));
        axum::serve(self.listener, router(state))
            .with_graceful_shutdown(shutdown)
            .await
    }
}

fn router(state: Arc<IdpState>) -> Router {
    let t = |path: &str| format!("/t/{ORG}{path}");
    let browser_apis = Router::new()
        .route(
            &t("/oauth2/userinfo"),
            get(resources::userinfo).post(resources::userinfo),
        )
        .route(&t("/scim2/Me"), get(resources::scim_me))
        .layer(resources::cors(&state.clients));
    let mut router = Router::new()
        .route(
            &t("/oauth2/token/.well-known/openid-configuration"),
            get(resources::discovery),
        )
        .route(&t("/oauth2/jwks"), get(resources::jwks))
        .route(
            &t("/oauth2/authorize"),
            get(authorize::authorize).post(authorize::authorize_post),
        )
        .route(&t("/commonauth"), post(authorize::login))
        .route(&t("/oauth2/token"), post(token::token))
        .route(&t("/oauth2/revoke"), post(token::revoke))
        .route(
            &t("/oidc/logout"),
            get(logout::logout).post(logout::logout_post),
        )
        .route(&t("/_stats"), get(resources::stats))
        .merge(browser_apis);
    if state.test_controls {
        router = router
            .route(&t("/_test/rotate-keys"), post(resources::rotate_keys))
            .route(&t("/_test/revoke"), post(resources::revoke))
            .route(
                &t("/_test/expire-access-tokens"),
                post(resources::expire_access_tokens),
            )
            .route(
                &t("/_test/access-token-ttl"),
                post(resources::set_access_token_ttl),
            )
            .route(&t("/_test/scim-delay"), post(resources::set_scim_delay));
    }
    router.with_state(state)
}

/// A development IdP serving in the background; it stops when this is dropped.
pub struct RunningDevIdp {
    /// Its issuer (`http://localhost:<port>/t/dev/oauth2/token`).
    pub issuer: Url,
    state: Arc<IdpState>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl RunningDevIdp {
    /// `path` on the IdP (`/t/dev/commonauth`, …).
    pub fn url(&self, path: &str) -> String {
        let mut url = self.issuer.clone();
        url.set_path(path);
        url.to_string()
    }

    /// Its request counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.state.snapshot()
    }
}

/// Shared state of the development IdP.
pub struct IdpState {
    issuer: Url,
    base: Url,
    users: Vec<DevUser>,
    clients: Vec<DevClient>,
    access_token_ttl: Mutex<Duration>,
    /// How long scim2/Me waits before it answers (a test control; zero unless set).
    scim_delay: Mutex<Duration>,
    minimal_id_token: bool,
    test_controls: bool,
    keys: RwLock<SigningKeys>,
    store: Mutex<Store>,
    stats: Stats,
    http: reqwest::Client,
}

impl IdpState {
    fn url(&self, path: &str) -> String {
        format!("{}t/{ORG}{path}", self.base)
    }

    fn client(&self, client_id: &str) -> Option<&DevClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    fn user(&self, username: &str) -> Option<&DevUser> {
        self.users.iter().find(|u| u.username == username)
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the maps half-written in a way that matters
        // for a development IdP; keep serving.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn access_token_ttl(&self) -> Duration {
        *self
            .access_token_ttl
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Snapshot of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }
}

/// Everything the IdP remembers, all in memory.
#[derive(Default)]
struct Store {
    /// Authorization requests waiting for the login form, by `sessionDataKey`.
    auth_requests: HashMap<String, AuthRequest>,
    /// IdP login sessions, by the id in the `devidp_session` cookie.
    sessions: HashMap<String, IdpSession>,
    codes: HashMap<String, CodeGrant>,
    access_tokens: HashMap<String, AccessGrant>,
    refresh_tokens: HashMap<String, RefreshGrant>,
}

#[derive(Clone, Debug)]
struct AuthRequest {
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: String,
    created: u64,
}

#[derive(Clone, Debug)]
struct IdpSession {
    username: String,
    auth_time: u64,
    /// Clients that received tokens in this session (for back-channel logout).
    clients: Vec<String>,
}

#[derive(Clone, Debug)]
struct CodeGrant {
    request: AuthRequest,
    username: String,
    sid: String,
    auth_time: u64,
    expires: u64,
    /// Set when redeemed; a second redemption revokes what the first one issued (RFC 6749 §4.1.2).
    redeemed: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
struct AccessGrant {
    username: String,
    scope: String,
    expires: u64,
}

#[derive(Clone, Debug)]
struct RefreshGrant {
    username: String,
    client_id: String,
    scope: String,
    sid: String,
    auth_time: u64,
    /// The token that replaced this one; a reuse of a rotated token revokes the whole family.
    rotated: bool,
    family: String,
    expires: u64,
}

/// Request counters, read by tests and benchmarks at `/t/dev/_stats`.
#[derive(Default)]
struct Stats {
    discovery: AtomicU64,
    jwks: AtomicU64,
    authorize: AtomicU64,
    logins: AtomicU64,
    authorization_code_grants: AtomicU64,
    refresh_token_grants: AtomicU64,
    token_errors: AtomicU64,
    userinfo: AtomicU64,
    scim_me: AtomicU64,
    logouts: AtomicU64,
    backchannel_logouts_sent: AtomicU64,
    revocations: AtomicU64,
}

/// The counters as JSON.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub discovery: u64,
    pub jwks: u64,
    pub authorize: u64,
    pub logins: u64,
    pub authorization_code_grants: u64,
    pub refresh_token_grants: u64,
    pub token_errors: u64,
    pub userinfo: u64,
    pub scim_me: u64,
    pub logouts: u64,
    pub backchannel_logouts_sent: u64,
    /// Tokens revoked at `/t/dev/oauth2/revoke`.
    pub revocations: u64,
}

impl Stats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            discovery: get(&self.discovery),
            jwks: get(&self.jwks),
            authorize: get(&self.authorize),
            logins: get(&self.logins),
            authorization_code_grants: get(&self.authorization_code_grants),
            refresh_token_grants: get(&self.refresh_token_grants),
            token_errors: get(&self.token_errors),
            userinfo: get(&self.userinfo),
            scim_me: get(&self.scim_me),
            logouts: get(&self.logouts),
            backchannel_logouts_sent: get(&self.backchannel_logouts_sent),
            revocations: get(&self.revocations),
        }
    }
}

/// How long a login form, an authorization code, an ID token and a refresh token live.
const LOGIN_FORM_TTL: u64 = 10 * 60;
const CODE_TTL: u64 = 60;
const ID_TOKEN_TTL: u64 = 60 * 60;
const REFRESH_TOKEN_TTL: u64 = 24 * 60 * 60;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 256 random bits, base64url: codes, tokens, session ids.
pub(crate) fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Drops expired codes, tokens and login forms once a minute while the IdP runs.
async fn prune_expired(state: std::sync::Weak<IdpState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let Some(state) = state.upgrade() else { return };
        let now = now();
        let mut store = state.store();
        store
            .auth_requests
            .retain(|_, r| r.created + LOGIN_FORM_TTL > now);
        store.codes.retain(|_, c| c.expires > now);
        store.access_tokens.retain(|_, t| t.expires > now);
        store.refresh_tokens.retain(|_, t| t.expires > now);
    }
}
