//! Typed settings: built with [`Settings::builder`], or read from Auth.js-compatible environment
//! variables with [`SettingsBuilder::from_env`].
//!
//! Every value is checked when the settings are built; a missing or malformed one is a
//! [`SettingsError`] that names the environment variable it comes from (also when it was set
//! through the builder), so a deployment's log says what to fix.

use secrecy::{ExposeSecret, SecretString};
use std::{fmt, time::Duration};
use url::Url;

/// A setting that is missing or malformed; the message names its environment variable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A required setting is missing.
    #[error("{name} is required{why}")]
    Missing {
        /// The environment variable (also when the setting comes from the builder).
        name: String,
        /// When it is required, e.g. ` when AUTH_MYIDP_ISSUER is set`.
        why: String,
    },
    /// A setting is malformed or not acceptable.
    #[error("{name} is malformed: {reason}")]
    Invalid {
        /// The environment variable.
        name: String,
        /// What is wrong with it, in words that name the fix.
        reason: String,
    },
}

fn invalid(name: impl Into<String>, reason: impl fmt::Display) -> SettingsError {
    SettingsError::Invalid {
        name: name.into(),
        reason: reason.to_string(),
    }
}

/// Where sessions live.
#[derive(Clone)]
#[non_exhaustive]
pub enum StoreSettings {
    /// In this process; gone on restart (at most 200,000 sessions).
    Memory,
    /// A SQLite file (`sqlite://path/to/sessions.db`): survives restarts of one process.
    #[cfg(feature = "sqlite")]
    Sqlite(String),
    /// Redis (`redis://`, `rediss://` or `redis-cluster://`): shared by every instance. The URL
    /// may hold a password; it is never printed.
    #[cfg(feature = "redis")]
    Redis(SecretString),
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSettings::Memory => f.write_str("Memory"),
            #[cfg(feature = "sqlite")]
            StoreSettings::Sqlite(url) => write!(f, "Sqlite({url})"),
            #[cfg(feature = "redis")]
            StoreSettings::Redis(_) => f.write_str("Redis(…)"),
        }
    }
}

impl StoreSettings {
    /// Reads `SESSION_STORE`'s syntax: `memory`, `sqlite://…` or `redis://…`. A Redis URL may
    /// hold a password, so errors never repeat the value.
    pub fn parse(value: &str) -> Result<Self, SettingsError> {
        let value = value.trim();
        if value == "memory" {
            return Ok(StoreSettings::Memory);
        }
        if value.starts_with("sqlite:") {
            #[cfg(feature = "sqlite")]
            return Ok(StoreSettings::Sqlite(value.to_owned()));
            #[cfg(not(feature = "sqlite"))]
            return Err(invalid(
                "SESSION_STORE",
                "SQLite sessions need the `sqlite` feature of axum-oidc-bff",
            ));
        }
        if ["redis://", "rediss://", "redis-cluster://"]
            .iter()
            .any(|scheme| value.starts_with(scheme))
        {
            #[cfg(feature = "redis")]
            return Ok(StoreSettings::Redis(SecretString::from(value.to_owned())));
            #[cfg(not(feature = "redis"))]
            return Err(invalid(
                "SESSION_STORE",
                "Redis sessions need the `redis` feature of axum-oidc-bff",
            ));
        }
        Err(invalid(
            "SESSION_STORE",
            "is not `memory`, `sqlite://path/to/file.db`, `redis://host:port` or \
             `redis-cluster://host:port`",
        ))
    }
}

/// The endpoints [`Bff::router`](crate::Bff::router) serves. Auth.js-compatible by default,
/// for a provider id `p`: `/api/auth/signin/p`, `/api/auth/callback/p`, `/api/auth/session`,
/// `/api/auth/signout`, `/api/auth/refresh`, `/api/auth/backchannel-logout`,
/// `/api/auth/events`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// `GET`: starts a sign-in (`?callbackUrl=/path` says where to come back to).
    pub sign_in: String,
    /// `GET`: where the IdP sends the browser back (the redirect URL registered at the IdP).
    pub callback: String,
    /// `GET`: the session as JSON, `{}` when signed out.
    pub session: String,
    /// `POST`: signs out here and at the IdP.
    pub sign_out: String,
    /// `POST`: a fresh access token after an API refused the browser's.
    pub refresh: String,
    /// `POST`: OpenID Connect Back-Channel Logout.
    pub backchannel_logout: String,
    /// `GET`: server-sent events that tell an open tab its session ended.
    pub events: String,
}

impl Paths {
    /// The Auth.js paths for provider `id`.
    pub fn auth_js(id: &str) -> Self {
        Paths {
            sign_in: format!("/api/auth/signin/{id}"),
            callback: format!("/api/auth/callback/{id}"),
            session: "/api/auth/session".into(),
            sign_out: "/api/auth/signout".into(),
            refresh: "/api/auth/refresh".into(),
            backchannel_logout: "/api/auth/backchannel-logout".into(),
            events: "/api/auth/events".into(),
        }
    }

    /// The sign-in path that brings the user back to `callback_path` afterwards.
    pub fn sign_in_url(&self, callback_path: &str) -> String {
        let encoded: String = url::form_urlencoded::byte_serialize(callback_path.as_bytes())
            .collect::<String>()
            .replace("%2F", "/");
        format!("{}?callbackUrl={encoded}", self.sign_in)
    }
}

/// Checked settings; see [`SettingsBuilder`] for each one.
#[derive(Clone)]
pub struct Settings {
    pub(crate) base_url: Url,
    pub(crate) provider_id: String,
    pub(crate) issuer: Url,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) scopes: Vec<String>,
    pub(crate) id_token_algs: Vec<String>,
    pub(crate) trusted_audiences: Vec<String>,
    pub(crate) secret: SecretString,
    pub(crate) name: String,
    pub(crate) paths: Paths,
    pub(crate) store: StoreSettings,
    pub(crate) key_prefix: String,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_age: Duration,
    pub(crate) refresh_skew: Duration,
    pub(crate) refresh_lock_wait: Duration,
    pub(crate) max_sessions_per_user: usize,
    pub(crate) expose_access_token: bool,
    pub(crate) http_connect_timeout: Duration,
    pub(crate) http_timeout: Duration,
    pub(crate) idp_max_concurrency: usize,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url.as_str())
            .field("provider_id", &self.provider_id)
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("name", &self.name)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Settings made one by one; see [`SettingsBuilder`].
    pub fn builder() -> SettingsBuilder {
        SettingsBuilder::default()
    }

    /// The app's public base URL (`AUTH_URL`).
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The provider id in the endpoint paths and variable names.
    pub fn provider_id(&self) -> &str {
        &self.provider_id
    }

    /// The OpenID Provider's issuer.
    pub fn issuer(&self) -> &Url {
        &self.issuer
    }

    /// The endpoints the router serves.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The name cookies, keys and channels are named after (see [`SettingsBuilder::name`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `/api/auth/session` hands the browser the access token.
    pub fn expose_access_token(&self) -> bool {
        self.expose_access_token
    }

    /// The redirect URL to register at the IdP: the callback path on the base URL.
    pub fn redirect_url(&self) -> Url {
        let mut url = self.base_url.clone();
        url.set_path(&self.paths.callback);
        url
    }

    /// Where the IdP sends the browser after logout: the base URL.
    pub fn post_logout_redirect_url(&self) -> Url {
        self.base_url.clone()
    }

    /// The app's origin, as browsers send it in `Origin`.
    pub fn origin(&self) -> String {
        self.base_url.origin().ascii_serialization()
    }

    /// Whether cookies are `Secure` and `__Host-` (an https base URL).
    pub fn secure_cookies(&self) -> bool {
        self.base_url.scheme() == "https"
    }

    /// A session unused this long ends.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// A session ends this long after sign-in, however active.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Derives key material for `purpose` from the secret (cookies, sealing).
    pub(crate) fn key(&self, purpose: &str) -> [u8; 64] {
        use sha2::{Digest, Sha512};
        let digest = Sha512::digest(format!(
            "{} {purpose}\0{}",
            self.name,
            self.secret.expose_secret()
        ));
        let mut key = [0; 64];
        key.copy_from_slice(&digest);
        key
    }

    /// The table prefix for SQLite (`name` with `-` as `_`).
    pub(crate) fn table_prefix(&self) -> String {
        self.name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    }
}

/// Builds [`Settings`]. Only the provider (issuer, client id and secret), the base URL and the
/// secret are required; everything else has a default.
#[derive(Clone, Default)]
pub struct SettingsBuilder {
    base_url: Option<String>,
    provider_id: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    scopes: Option<String>,
    id_token_algs: Option<String>,
    trusted_audiences: Option<String>,
    secret: Option<SecretString>,
    name: Option<String>,
    paths: Option<Paths>,
    store: Option<String>,
    store_settings: Option<StoreSettings>,
    key_prefix: Option<String>,
    idle_timeout: Option<Duration>,
    max_age: Option<Duration>,
    refresh_skew: Option<Duration>,
    refresh_lock_wait: Option<Duration>,
    max_sessions_per_user: Option<usize>,
    expose_access_token: Option<bool>,
    http_connect_timeout: Option<Duration>,
    http_timeout: Option<Duration>,
    idp_max_concurrency: Option<usize>,
}

impl fmt::Debug for SettingsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SettingsBuilder")
            .field("base_url", &self.base_url)
            .field("provider_id", &self.provider_id)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// Signature algorithms an ID token may use: asymmetric ones only. HMAC would be keyed with the
/// client secret, which the IdP shares, and `none` is no signature at all.
pub const ASYMMETRIC_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
];

impl SettingsBuilder {
    /// Reads the Auth.js-compatible environment variables for provider `id` (what Auth.js calls
    /// `AUTH_{ID}_ISSUER` and so on). Unset variables leave the builder's defaults, so values can
    /// still be given through the builder afterwards (say, the issuer of a local IdP):
    ///
    /// | variable | setter |
    /// |---|---|
    /// | `AUTH_URL` | [`base_url`](Self::base_url) |
    /// | `AUTH_SECRET` | [`secret`](Self::secret) |
    /// | `AUTH_{ID}_ISSUER`, `AUTH_{ID}_ID`, `AUTH_{ID}_SECRET` | [`provider`](Self::provider) |
    /// | `AUTH_{ID}_SCOPE` | [`scopes`](Self::scopes) |
    /// | `AUTH_ID_TOKEN_ALGS`, `AUTH_TRUSTED_AUDIENCES` | [`id_token_algs`](Self::id_token_algs), [`trusted_audiences`](Self::trusted_audiences) |
    /// | `SESSION_STORE`, `SESSION_KEY_PREFIX` | [`store`](Self::store), [`key_prefix`](Self::key_prefix) |
    /// | `AUTH_SESSION_IDLE_TIMEOUT`, `AUTH_SESSION_MAX_AGE` | [`idle_timeout`](Self::idle_timeout), [`max_age`](Self::max_age) |
    /// | `AUTH_REFRESH_SKEW`, `AUTH_REFRESH_LOCK_WAIT` | [`refresh_skew`](Self::refresh_skew), [`refresh_lock_wait`](Self::refresh_lock_wait) |
    /// | `AUTH_MAX_SESSIONS_PER_USER` | [`max_sessions_per_user`](Self::max_sessions_per_user) |
    /// | `AUTH_EXPOSE_ACCESS_TOKEN` | [`expose_access_token`](Self::expose_access_token) |
    /// | `AUTH_HTTP_CONNECT_TIMEOUT`, `AUTH_HTTP_TIMEOUT`, `AUTH_IDP_MAX_CONCURRENCY` | [`http_timeouts`](Self::http_timeouts), [`idp_max_concurrency`](Self::idp_max_concurrency) |
    pub fn from_env(id: &str) -> Result<Self, SettingsError> {
        Self::from_lookup(id, |name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables looked up by `lookup` (tests, or a
    /// configuration system of your own). Empty values count as unset.
    pub fn from_lookup(
        id: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let upper = id.to_ascii_uppercase().replace('-', "_");
        let var = |suffix: &str| format!("AUTH_{upper}_{suffix}");
        let mut builder = SettingsBuilder {
            provider_id: Some(id.to_owned()),
            ..Default::default()
        };
        builder.base_url = get("AUTH_URL");
        builder.secret = get("AUTH_SECRET").map(SecretString::from);
        builder.issuer = get(&var("ISSUER"));
        builder.client_id = get(&var("ID"));
        builder.client_secret = get(&var("SECRET")).map(SecretString::from);
        builder.scopes = get(&var("SCOPE"));
        builder.id_token_algs = get("AUTH_ID_TOKEN_ALGS");
        builder.trusted_audiences = get("AUTH_TRUSTED_AUDIENCES");
        builder.store = get("SESSION_STORE");
        builder.key_prefix = get("SESSION_KEY_PREFIX");
        let secs = |name: &str| get(name).map(|v| seconds(name, &v)).transpose();
        builder.idle_timeout = secs("AUTH_SESSION_IDLE_TIMEOUT")?;
        builder.max_age = secs("AUTH_SESSION_MAX_AGE")?;
        builder.refresh_skew = secs("AUTH_REFRESH_SKEW")?;
        builder.refresh_lock_wait = secs("AUTH_REFRESH_LOCK_WAIT")?;
        builder.http_connect_timeout = secs("AUTH_HTTP_CONNECT_TIMEOUT")?;
        builder.http_timeout = secs("AUTH_HTTP_TIMEOUT")?;
        let count = |name: &str| get(name).map(|v| count(name, &v)).transpose();
        builder.max_sessions_per_user = count("AUTH_MAX_SESSIONS_PER_USER")?;
        builder.idp_max_concurrency = count("AUTH_IDP_MAX_CONCURRENCY")?;
        builder.expose_access_token = get("AUTH_EXPOSE_ACCESS_TOKEN")
            .map(|v| flag("AUTH_EXPOSE_ACCESS_TOKEN", &v))
            .transpose()?;
        Ok(builder)
    }

    /// The provider id: in the paths (`/api/auth/signin/{id}`) and the variable names
    /// (`AUTH_{ID}_ISSUER`). Default `oidc`.
    pub fn provider_id(mut self, id: impl Into<String>) -> Self {
        self.provider_id = Some(id.into());
        self
    }

    /// The app's public base URL, e.g. `https://app.example.com` (`AUTH_URL`). Must be https
    /// unless it is this machine.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The OpenID Provider: its issuer (discovery is at
    /// `{issuer}/.well-known/openid-configuration`), and this app's client id and secret there.
    pub fn provider(
        mut self,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        self.issuer = Some(issuer.into());
        self.client_id = Some(client_id.into());
        self.client_secret = Some(client_secret);
        self
    }

    /// Whether an issuer has been given (by the environment or the builder).
    pub fn has_provider(&self) -> bool {
        self.issuer.is_some()
    }

    /// Scopes to ask for, space-separated; must include `openid`. Default
    /// `openid profile email`.
    pub fn scopes(mut self, scopes: impl Into<String>) -> Self {
        self.scopes = Some(scopes.into());
        self
    }

    /// Scopes to ask for unless some were given already (by the environment): an app's own
    /// default.
    pub fn default_scopes(mut self, scopes: impl Into<String>) -> Self {
        self.scopes.get_or_insert_with(|| scopes.into());
        self
    }

    /// Accepted ID-token signature algorithms, comma-separated; asymmetric ones only. Default
    /// `RS256`.
    pub fn id_token_algs(mut self, algs: impl Into<String>) -> Self {
        self.id_token_algs = Some(algs.into());
        self
    }

    /// Audiences besides the client id an ID token may name, comma-separated (then its `azp`
    /// must be the client id). Default none: an ID token with another audience is refused.
    pub fn trusted_audiences(mut self, audiences: impl Into<String>) -> Self {
        self.trusted_audiences = Some(audiences.into());
        self
    }

    /// Key material for the cookies, 32 characters or more (`AUTH_SECRET`).
    pub fn secret(mut self, secret: SecretString) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Whether a secret has been given.
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// The name that cookies (`{name}.sid`, `{name}.signin`), key derivation, Redis keys
    /// (`{name}:` unless [`key_prefix`](Self::key_prefix) says otherwise), SQLite tables and the
    /// browser's channels are named after. Default `bff`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Other endpoint paths than the Auth.js ones.
    pub fn paths(mut self, paths: Paths) -> Self {
        self.paths = Some(paths);
        self
    }

    /// Where sessions live (`SESSION_STORE`). Default memory.
    pub fn store(mut self, store: StoreSettings) -> Self {
        self.store_settings = Some(store);
        self.store = None;
        self
    }

    /// The prefix of every key in Redis (`SESSION_KEY_PREFIX`). Default `{name}:`.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = Some(prefix.into());
        self
    }

    /// A session unused this long ends. Default a day.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// A session ends this long after sign-in, however active. Default 30 days.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Refresh an access token this long before it expires. Default a minute.
    pub fn refresh_skew(mut self, skew: Duration) -> Self {
        self.refresh_skew = Some(skew);
        self
    }

    /// How long a request waits for another request's refresh of its session before a `503`.
    /// Default 15 s.
    pub fn refresh_lock_wait(mut self, wait: Duration) -> Self {
        self.refresh_lock_wait = Some(wait);
        self
    }

    /// Sessions one user may hold at once; a sign-in beyond ends the oldest. Default 20.
    pub fn max_sessions_per_user(mut self, max: usize) -> Self {
        self.max_sessions_per_user = Some(max);
        self
    }

    /// Whether `/api/auth/session` hands the browser the access token, as Auth.js does.
    /// Default `true`; `false` keeps every token on the server.
    pub fn expose_access_token(mut self, expose: bool) -> Self {
        self.expose_access_token = Some(expose);
        self
    }

    /// Connect and total timeouts of every call to the IdP. Default 5 s and 15 s.
    pub fn http_timeouts(mut self, connect: Duration, total: Duration) -> Self {
        self.http_connect_timeout = Some(connect);
        self.http_timeout = Some(total);
        self
    }

    /// Calls that spend the app's credentials at the IdP (code exchange, refresh, userinfo,
    /// revocation) in flight at once; beyond, a fast `503`. Default 32.
    pub fn idp_max_concurrency(mut self, max: usize) -> Self {
        self.idp_max_concurrency = Some(max);
        self
    }

    /// Checks every value.
    pub fn build(self) -> Result<Settings, SettingsError> {
        let provider_id = self.provider_id.unwrap_or_else(|| "oidc".to_owned());
        let upper = provider_id.to_ascii_uppercase().replace('-', "_");
        let var = |suffix: &str| format!("AUTH_{upper}_{suffix}");
        let missing = |name: String, why: &str| SettingsError::Missing {
            name,
            why: why.to_owned(),
        };

        let base_url = parse_base_url(
            "AUTH_URL",
            self.base_url
                .as_deref()
                .ok_or_else(|| missing("AUTH_URL".into(), " (the app's public base URL)"))?,
        )?;
        // Over plain http the session cookie can be neither `Secure` nor `__Host-`, and no HSTS
        // is sent: anyone on the network, or a sibling host, could read or plant it.
        if base_url.scheme() == "http" && !is_loopback(&base_url) {
            return Err(invalid(
                "AUTH_URL",
                format!(
                    "`{base_url}` is plain http on a host other than this machine, so the session \
                     cookie could be read or planted on the way. Serve the app over https (behind \
                     a TLS-terminating proxy) and set AUTH_URL=https://{}",
                    base_url.host_str().unwrap_or("your.host")
                ),
            ));
        }

        let issuer_text = self
            .issuer
            .ok_or_else(|| missing(var("ISSUER"), " (the OpenID Provider's issuer)"))?;
        let issuer = Url::parse(&issuer_text).map_err(|e| invalid(var("ISSUER"), e))?;
        check_issuer(&var("ISSUER"), &issuer)?;
        let why = format!(" when {} is set", var("ISSUER"));
        let client_id = self.client_id.ok_or_else(|| missing(var("ID"), &why))?;
        let client_secret = self
            .client_secret
            .ok_or_else(|| missing(var("SECRET"), &why))?;

        let secret = self.secret.ok_or_else(|| {
            missing(
                "AUTH_SECRET".into(),
                " (at least 32 characters: `openssl rand -base64 33`)",
            )
        })?;
        if secret.expose_secret().chars().count() < 32 {
            return Err(invalid(
                "AUTH_SECRET",
                "must be at least 32 characters (try `openssl rand -base64 33`)",
            ));
        }

        let scopes: Vec<String> = self
            .scopes
            .as_deref()
            .unwrap_or("openid profile email")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !scopes.iter().any(|s| s == "openid") {
            return Err(invalid(var("SCOPE"), "must include `openid`"));
        }
        let list = |text: Option<&str>| -> Vec<String> {
            text.unwrap_or_default()
                .split(',')
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect()
        };
        let mut id_token_algs = list(self.id_token_algs.as_deref());
        if id_token_algs.is_empty() {
            id_token_algs.push("RS256".into());
        }
        if let Some(alg) = id_token_algs
            .iter()
            .find(|alg| !ASYMMETRIC_ALGS.contains(&alg.as_str()))
        {
            return Err(invalid(
                "AUTH_ID_TOKEN_ALGS",
                format!(
                    "`{alg}` is not accepted; use one or more of {}",
                    ASYMMETRIC_ALGS.join(", ")
                ),
            ));
        }

        let name = self.name.unwrap_or_else(|| "bff".to_owned());
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(invalid(
                "name",
                "use letters, digits and `-` only (it names cookies and keys)",
            ));
        }
        let store = match (self.store_settings, self.store) {
            (Some(store), _) => store,
            (None, Some(text)) => StoreSettings::parse(&text)?,
            (None, None) => StoreSettings::Memory,
        };
        let positive = |name: &str, value: Option<Duration>, default: u64| match value {
            Some(d) if d.is_zero() => Err(invalid(name, "must be a positive number of seconds")),
            Some(d) => Ok(d),
            None => Ok(Duration::from_secs(default)),
        };
        Ok(Settings {
            paths: self.paths.unwrap_or_else(|| Paths::auth_js(&provider_id)),
            key_prefix: self.key_prefix.unwrap_or_else(|| format!("{name}:")),
            base_url,
            provider_id,
            issuer,
            client_id,
            client_secret,
            scopes,
            id_token_algs,
            trusted_audiences: list(self.trusted_audiences.as_deref()),
            secret,
            name,
            store,
            idle_timeout: positive("AUTH_SESSION_IDLE_TIMEOUT", self.idle_timeout, 86_400)?,
            max_age: positive("AUTH_SESSION_MAX_AGE", self.max_age, 30 * 86_400)?,
            refresh_skew: positive("AUTH_REFRESH_SKEW", self.refresh_skew, 60)?,
            refresh_lock_wait: positive("AUTH_REFRESH_LOCK_WAIT", self.refresh_lock_wait, 15)?,
            max_sessions_per_user: self.max_sessions_per_user.unwrap_or(20).max(1),
            expose_access_token: self.expose_access_token.unwrap_or(true),
            http_connect_timeout: positive(
                "AUTH_HTTP_CONNECT_TIMEOUT",
                self.http_connect_timeout,
                5,
            )?,
            http_timeout: positive("AUTH_HTTP_TIMEOUT", self.http_timeout, 15)?,
            idp_max_concurrency: self.idp_max_concurrency.unwrap_or(32).max(1),
        })
    }
}

fn seconds(name: &str, value: &str) -> Result<Duration, SettingsError> {
    match value.trim().parse::<u64>() {
        Ok(0) => Err(invalid(name, "must be a positive number of seconds")),
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(e) => Err(invalid(name, format!("not a number of seconds ({e})"))),
    }
}

fn count(name: &str, value: &str) -> Result<usize, SettingsError> {
    match value.trim().parse::<usize>() {
        Ok(0) => Err(invalid(name, "must be a positive number")),
        Ok(n) => Ok(n),
        Err(e) => Err(invalid(name, format!("not a number ({e})"))),
    }
}

fn flag(name: &str, value: &str) -> Result<bool, SettingsError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(invalid(name, format!("`{other}` is not true or false"))),
    }
}

fn check_issuer(name: &str, issuer: &Url) -> Result<(), SettingsError> {
    match issuer.scheme() {
        "https" => {}
        // Plain http only on loopback: local IdPs and tests.
        "http" if is_loopback(issuer) => {}
        "http" => {
            return Err(invalid(
                name,
                "must be https (http is allowed only on a loopback address)",
            ))
        }
        other => return Err(invalid(name, format!("unsupported scheme `{other}`"))),
    }
    if issuer.query().is_some() || issuer.fragment().is_some() {
        return Err(invalid(name, "must not have a query or fragment"));
    }
    Ok(())
}

fn parse_base_url(name: &str, value: &str) -> Result<Url, SettingsError> {
    let url = Url::parse(value.trim()).map_err(|e| invalid(name, e))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(name, "must be an http:// or https:// URL"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            name,
            "must be a base URL like https://app.example.com (no path)",
        ));
    }
    Ok(url)
}

/// Whether `url` points at this machine (`localhost`, a loopback address).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SettingsBuilder::from_lookup("myidp", |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })?
        .build()
    }

    const GOOD: &[(&str, &str)] = &[
        ("AUTH_URL", "https://app.example.com"),
        ("AUTH_SECRET", "0123456789abcdef0123456789abcdef"),
        (
            "AUTH_MYIDP_ISSUER",
            "https://idp.example.com/t/acme/oauth2/token",
        ),
        ("AUTH_MYIDP_ID", "client-id"),
        ("AUTH_MYIDP_SECRET", "client-secret"),
    ];

    fn with(extra: (&'static str, &'static str)) -> Vec<(&'static str, &'static str)> {
        let mut list: Vec<_> = GOOD
            .iter()
            .copied()
            .filter(|(k, _)| *k != extra.0)
            .collect();
        list.push(extra);
        list
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        vars(pairs).expect_err("refused").to_string()
    }

    #[test]
    fn the_provider_id_names_the_variables_and_the_paths() {
        let settings = vars(GOOD).unwrap();
        assert_eq!(settings.paths().sign_in, "/api/auth/signin/myidp");
        assert_eq!(
            settings.redirect_url().as_str(),
            "https://app.example.com/api/auth/callback/myidp"
        );
        assert_eq!(settings.scopes, ["openid", "profile", "email"]);
        assert!(settings.secure_cookies());
        assert_eq!(settings.key_prefix, "bff:");
        assert!(settings.expose_access_token());
    }

    #[test]
    fn missing_and_malformed_values_are_named() {
        for name in [
            "AUTH_URL",
            "AUTH_SECRET",
            "AUTH_MYIDP_ISSUER",
            "AUTH_MYIDP_ID",
            "AUTH_MYIDP_SECRET",
        ] {
            let without: Vec<_> = GOOD.iter().copied().filter(|(k, _)| *k != name).collect();
            assert!(
                error(&without).starts_with(&format!("{name} is required")),
                "{name}"
            );
        }
        for (pair, says) in [
            (("AUTH_SECRET", "short"), "AUTH_SECRET is malformed"),
            (
                ("AUTH_MYIDP_ISSUER", "http://idp.example.com/x"),
                "must be https",
            ),
            (("AUTH_MYIDP_SCOPE", "profile"), "must include `openid`"),
            (
                ("AUTH_ID_TOKEN_ALGS", "RS256,HS256"),
                "`HS256` is not accepted",
            ),
            (("AUTH_ID_TOKEN_ALGS", "none"), "`none` is not accepted"),
            (
                ("SESSION_STORE", "postgres://x"),
                "SESSION_STORE is malformed",
            ),
            (("AUTH_SESSION_MAX_AGE", "soon"), "AUTH_SESSION_MAX_AGE"),
            (
                ("AUTH_SESSION_IDLE_TIMEOUT", "0"),
                "AUTH_SESSION_IDLE_TIMEOUT",
            ),
            (
                ("AUTH_EXPOSE_ACCESS_TOKEN", "maybe"),
                "AUTH_EXPOSE_ACCESS_TOKEN",
            ),
            (("AUTH_URL", "https://app.example.com/app"), "no path"),
        ] {
            let err = error(&with(pair));
            assert!(err.contains(says), "{pair:?}: {err}");
        }
    }

    #[test]
    fn a_plain_http_base_url_is_refused_beyond_loopback_with_the_fix_named() {
        let err = error(&with(("AUTH_URL", "http://app.example.com")));
        assert!(err.starts_with("AUTH_URL is malformed"), "{err}");
        assert!(err.contains("AUTH_URL=https://app.example.com"), "{err}");
        for fine in [
            "http://localhost:3000",
            "http://127.0.0.1:3000",
            "http://[::1]:3000",
        ] {
            assert!(vars(&with(("AUTH_URL", fine))).is_ok(), "{fine}");
        }
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let settings = vars(&with((
            "SESSION_STORE",
            "redis://:hunter2-redis-password@127.0.0.1:6379",
        )));
        // Without the redis feature the store is refused; the error must not repeat the URL.
        let text = match settings {
            Ok(settings) => format!("{settings:?}"),
            Err(err) => err.to_string(),
        };
        for secret in [
            "client-secret",
            "0123456789abcdef",
            "hunter2-redis-password",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn the_builder_fills_in_what_the_environment_left_out() {
        let settings = SettingsBuilder::from_lookup("local", |_| None)
            .unwrap()
            .base_url("http://localhost:3000")
            .secret(SecretString::from("x".repeat(32)))
            .provider(
                "http://localhost:9443/t/dev/oauth2/token",
                "id",
                SecretString::from("secret"),
            )
            .default_scopes("openid internal_login")
            .name("my-app")
            .build()
            .unwrap();
        assert_eq!(settings.scopes, ["openid", "internal_login"]);
        assert_eq!(settings.key_prefix, "my-app:");
        assert_eq!(settings.table_prefix(), "my_app");
        assert_eq!(settings.paths().session, "/api/auth/session");
    }
}
