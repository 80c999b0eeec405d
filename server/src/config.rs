//! Typed configuration, read once at start-up from the environment (and `.env`).
//!
//! Each variable is one field of [`Env`], declared with clap: `server --help` lists them all with
//! their defaults, and `.env.example` documents them. A missing or malformed value stops start-up
//! with an error that names the variable. With no `AUTH_ASGARDEO_ISSUER`, the built-in
//! development IdP is used — in builds with the `dev-idp` feature, and only on loopback.

use clap::Parser;
use secrecy::{ExposeSecret, SecretString};
use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};
use url::Url;

/// The environment as the server reads it. Every field is a variable of the same name in upper
/// case (and a `--flag`, for the curious).
#[derive(Parser, Debug)]
#[command(
    name = "server",
    version,
    about = "asgardeo-leptos: sign in with Asgardeo (or any OpenID Connect provider) and call scim2/Me."
)]
struct Env {
    /// Where the app listens.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    leptos_site_addr: SocketAddr,
    /// The public base URL of the app [default: http://localhost:<port of LEPTOS_SITE_ADDR>].
    #[arg(long, env = "AUTH_URL")]
    auth_url: Option<String>,
    /// The OpenID Provider's issuer; discovery is at `{issuer}/.well-known/openid-configuration`.
    /// Unset: the built-in development IdP.
    #[arg(long, env = "AUTH_ASGARDEO_ISSUER")]
    auth_asgardeo_issuer: Option<String>,
    /// The OAuth client id.
    #[arg(long, env = "AUTH_ASGARDEO_ID")]
    auth_asgardeo_id: Option<String>,
    /// The OAuth client secret.
    #[arg(long, env = "AUTH_ASGARDEO_SECRET", hide_env_values = true, value_parser = secret)]
    auth_asgardeo_secret: Option<SecretString>,
    /// Key material for the session cookie, 32 characters or more (`openssl rand -base64 33`).
    /// Optional with the development IdP, where a random one is made per start.
    #[arg(long, env = "AUTH_SECRET", hide_env_values = true, value_parser = secret)]
    auth_secret: Option<SecretString>,
    /// Scopes to ask for; `internal_login` lets the token read scim2/Me.
    #[arg(
        long,
        env = "AUTH_ASGARDEO_SCOPE",
        default_value = "openid profile email internal_login"
    )]
    auth_asgardeo_scope: String,
    /// The scim2/Me endpoint [default: the issuer with `/oauth2/token` replaced by `/scim2/Me`].
    #[arg(long, env = "ASGARDEO_ME_ENDPOINT")]
    asgardeo_me_endpoint: Option<String>,
    /// Accepted ID-token signature algorithms, comma-separated; asymmetric ones only.
    #[arg(long, env = "AUTH_ID_TOKEN_ALGS", default_value = "RS256")]
    auth_id_token_algs: String,
    /// Connect timeout for every call to the IdP, in seconds.
    #[arg(long, env = "AUTH_HTTP_CONNECT_TIMEOUT", default_value = "5", value_parser = seconds)]
    auth_http_connect_timeout: Duration,
    /// Total timeout for every call to the IdP, in seconds.
    #[arg(long, env = "AUTH_HTTP_TIMEOUT", default_value = "15", value_parser = seconds)]
    auth_http_timeout: Duration,
    /// Where sessions live: `memory`, `sqlite://path/to/sessions.db`, `redis://host:port` or
    /// `redis-cluster://host:port`.
    #[arg(
        long,
        env = "SESSION_STORE",
        default_value = "memory",
        hide_env_values = true
    )]
    session_store: String,
    /// Put before the name of every key the app keeps in Redis (sessions, logout marks, locks,
    /// the events channel), so that several apps can share one Redis.
    #[arg(long, env = "SESSION_KEY_PREFIX", default_value = "asgardeo-leptos:")]
    session_key_prefix: String,
    /// A session unused this long ends, in seconds.
    #[arg(long, env = "AUTH_SESSION_IDLE_TIMEOUT", default_value = "86400", value_parser = seconds)]
    auth_session_idle_timeout: Duration,
    /// A session ends this long after sign-in however active, in seconds.
    #[arg(long, env = "AUTH_SESSION_MAX_AGE", default_value = "2592000", value_parser = seconds)]
    auth_session_max_age: Duration,
    /// Refresh an access token this many seconds before it expires.
    #[arg(long, env = "AUTH_REFRESH_SKEW", default_value = "60", value_parser = seconds)]
    auth_refresh_skew: Duration,
    /// How many calls that spend the app's credentials at the IdP (code exchange, refresh,
    /// userinfo, revocation) may be in flight at once; beyond it requests get a fast 503.
    #[arg(long, env = "AUTH_IDP_MAX_CONCURRENCY", default_value = "32", value_parser = count)]
    auth_idp_max_concurrency: usize,
    /// How long a request waits for another request's refresh of the same session, in seconds,
    /// before it gives up with a 503.
    #[arg(long, env = "AUTH_REFRESH_LOCK_WAIT", default_value = "15", value_parser = seconds)]
    auth_refresh_lock_wait: Duration,
    /// Sessions one user (`sub`) may hold at once; a new sign-in beyond it ends the oldest.
    #[arg(long, env = "AUTH_MAX_SESSIONS_PER_USER", default_value = "20", value_parser = count)]
    auth_max_sessions_per_user: usize,
    /// Audiences besides the client id that an ID token may name (comma-separated); by
    /// default an ID token with any other audience is refused (OpenID Connect Core 3.1.3.7).
    #[arg(long, env = "AUTH_TRUSTED_AUDIENCES", default_value = "")]
    auth_trusted_audiences: String,
    /// Whether `/api/auth/session` hands the browser the access token; `false` keeps it out of
    /// JavaScript (`/client-profile` then uses the same-origin `/api/scim2/Me`).
    #[arg(long, env = "AUTH_EXPOSE_ACCESS_TOKEN", default_value = "true", value_parser = flag, action = clap::ArgAction::Set)]
    auth_expose_access_token: bool,
    #[command(flatten)]
    server: ServerEnv,
    #[command(flatten)]
    dev_idp: DevIdpEnv,
}

/// How the server treats connections and floods (see `server/src/serve.rs` and `limits.rs`).
#[derive(clap::Args, Debug)]
struct ServerEnv {
    /// Seconds from the first byte of a request head to its end; a slower head closes the
    /// connection.
    #[arg(long, env = "SERVER_HEADER_READ_TIMEOUT", default_value = "10", value_parser = seconds)]
    server_header_read_timeout: Duration,
    /// Seconds a connection may stay open with no request in flight (an open event stream is in
    /// flight).
    #[arg(long, env = "SERVER_IDLE_TIMEOUT", default_value = "30", value_parser = seconds)]
    server_idle_timeout: Duration,
    /// Connections served at once; beyond, a connection gets a fast 503 [default: the open-files
    /// limit less a reserve for the IdP, Redis and SQLite clients — 768 of the usual 1,024].
    #[arg(long, env = "SERVER_MAX_CONNECTIONS", value_parser = count)]
    server_max_connections: Option<usize>,
    /// Seconds that requests in flight may take to finish after SIGTERM or Ctrl-C.
    #[arg(long, env = "SERVER_SHUTDOWN_GRACE", default_value = "15", value_parser = seconds)]
    server_shutdown_grace: Duration,
    /// Server-rendered pages in flight at once; beyond, a fast 503.
    #[arg(long, env = "SERVER_MAX_CONCURRENT_PAGES", default_value = "256", value_parser = count)]
    server_max_concurrent_pages: usize,
    /// Server functions and auth API calls in flight at once; beyond, a fast 503.
    #[arg(long, env = "SERVER_MAX_CONCURRENT_API", default_value = "256", value_parser = count)]
    server_max_concurrent_api: usize,
    /// Sign-in starts and callbacks in flight at once; beyond, a fast 503.
    #[arg(long, env = "SERVER_MAX_CONCURRENT_SIGN_INS", default_value = "64", value_parser = count)]
    server_max_concurrent_sign_ins: usize,
    /// API proxy calls in flight at once; beyond, a fast 503.
    #[arg(long, env = "SERVER_MAX_CONCURRENT_PROXY", default_value = "128", value_parser = count)]
    server_max_concurrent_proxy: usize,
}

/// The development IdP's variables (read only when it runs).
#[derive(clap::Args, Debug)]
struct DevIdpEnv {
    /// The loopback port of the development IdP; 0 picks a free one.
    #[arg(long, env = "DEV_IDP_PORT", default_value = "9443")]
    dev_idp_port: u16,
    /// A JSON file of development IdP users [default: alice / alice-pass and bob / bob-pass].
    #[arg(long, env = "DEV_IDP_USERS")]
    dev_idp_users: Option<PathBuf>,
    /// The development IdP's access-token lifetime, in seconds.
    #[arg(long, env = "DEV_IDP_ACCESS_TOKEN_TTL", default_value = "3600", value_parser = seconds)]
    dev_idp_access_token_ttl: Duration,
    /// Like an Asgardeo application with no user attributes configured: the ID token carries
    /// only `username` (the app then asks userinfo).
    #[arg(long, env = "DEV_IDP_MINIMAL_ID_TOKEN", default_value = "false", value_parser = flag, action = clap::ArgAction::Set)]
    dev_idp_minimal_id_token: bool,
    /// Enables the development IdP's `/t/dev/_test/*` controls for the test suites.
    #[arg(long, env = "DEV_IDP_TEST_CONTROLS", default_value = "false", value_parser = flag, action = clap::ArgAction::Set)]
    dev_idp_test_controls: bool,
}

/// A configuration value that is missing or malformed; the message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// What clap found (a malformed number, URL or flag, or `--help`).
    #[error("{0}")]
    Args(#[from] clap::Error),
    #[error("{name} is required{why}")]
    Missing {
        name: &'static str,
        why: &'static str,
    },
    #[error("{name} is malformed: {reason}")]
    Invalid { name: &'static str, reason: String },
    /// A variable is required in this situation (the text says which).
    #[error("{name} is required: {why}")]
    Required { name: &'static str, why: String },
}

fn invalid(name: &'static str, reason: impl fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.to_string(),
    }
}

/// Which identity provider the app signs users in with.
#[derive(Clone, Debug)]
pub enum Provider {
    /// An OpenID Connect provider such as Asgardeo.
    External {
        issuer: Url,
        client_id: String,
        client_secret: SecretString,
    },
    /// The built-in development IdP, started in-process.
    #[cfg(feature = "dev-idp")]
    Dev(DevIdpConfig),
}

impl Provider {
    /// The configured issuer; `None` for the development IdP (its issuer is known once it runs).
    pub fn issuer(&self) -> Option<&Url> {
        match self {
            Provider::External { issuer, .. } => Some(issuer),
            #[cfg(feature = "dev-idp")]
            Provider::Dev(_) => None,
        }
    }
}

/// Settings of the built-in development IdP.
#[cfg(feature = "dev-idp")]
#[derive(Clone, Debug)]
pub struct DevIdpConfig {
    pub port: u16,
    pub users_file: Option<PathBuf>,
    pub access_token_ttl: Duration,
    pub minimal_id_token: bool,
    pub test_controls: bool,
}

/// Where sessions are kept.
#[derive(Clone, Debug)]
pub enum SessionStoreConfig {
    Memory,
    Sqlite(String),
    /// The URL (`redis://`, `rediss://` or `redis-cluster://`) may carry a password: it is never
    /// printed.
    Redis(SecretString),
}

/// Everything the server reads from its environment, checked.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LEPTOS_SITE_ADDR`.
    pub listen: SocketAddr,
    /// `AUTH_URL`: the public base URL of the app.
    pub auth_url: Url,
    /// The identity provider (`AUTH_ASGARDEO_*`, or the development IdP).
    pub provider: Provider,
    /// `AUTH_SECRET`.
    pub auth_secret: SecretString,
    /// `AUTH_ASGARDEO_SCOPE`, split.
    pub scopes: Vec<String>,
    /// `ASGARDEO_ME_ENDPOINT`, when set; see [`Config::me_endpoint_for`].
    pub me_endpoint: Option<Url>,
    /// `AUTH_ID_TOKEN_ALGS`, split.
    pub id_token_algs: Vec<String>,
    /// `AUTH_HTTP_CONNECT_TIMEOUT`.
    pub http_connect_timeout: Duration,
    /// `AUTH_HTTP_TIMEOUT`.
    pub http_timeout: Duration,
    /// `SESSION_STORE`.
    pub session_store: SessionStoreConfig,
    /// `SESSION_KEY_PREFIX`.
    pub session_key_prefix: String,
    /// `AUTH_SESSION_IDLE_TIMEOUT`.
    pub session_idle_timeout: Duration,
    /// `AUTH_SESSION_MAX_AGE`.
    pub session_max_age: Duration,
    /// `AUTH_REFRESH_SKEW`.
    pub refresh_skew: Duration,
    /// `AUTH_EXPOSE_ACCESS_TOKEN`.
    pub expose_access_token: bool,
    /// `AUTH_IDP_MAX_CONCURRENCY`.
    pub idp_max_concurrency: usize,
    /// `AUTH_REFRESH_LOCK_WAIT`.
    pub refresh_lock_wait: Duration,
    /// `AUTH_MAX_SESSIONS_PER_USER`.
    pub max_sessions_per_user: usize,
    /// `AUTH_TRUSTED_AUDIENCES`, split.
    pub trusted_audiences: Vec<String>,
    /// `SERVER_HEADER_READ_TIMEOUT`, `SERVER_IDLE_TIMEOUT`, `SERVER_MAX_CONNECTIONS`,
    /// `SERVER_SHUTDOWN_GRACE`.
    pub serve: crate::serve::ServeLimits,
    /// `SERVER_MAX_CONCURRENT_*`.
    pub route_limits: crate::limits::RouteLimits,
}

impl Config {
    /// Reads the process environment (and the command line).
    pub fn from_env() -> Result<Self, ConfigError> {
        Env::try_parse()?.check()
    }

    /// Reads `vars` as if they were the environment (tests): `("AUTH_URL", "…")` and so on.
    pub fn from_vars(vars: &[(&str, &str)]) -> Result<Self, ConfigError> {
        let args = vars
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| {
                format!(
                    "--{}={}",
                    name.to_ascii_lowercase().replace('_', "-"),
                    value.trim()
                )
            });
        Env::try_parse_from(std::iter::once("server".to_owned()).chain(args))?.check()
    }

    /// The scim2/Me endpoint for `issuer`: `ASGARDEO_ME_ENDPOINT`, or derived from the issuer.
    pub fn me_endpoint_for(&self, issuer: &Url) -> Option<Url> {
        self.me_endpoint
            .clone()
            .or_else(|| derive_me_endpoint(issuer))
    }

    /// The callback URL registered at the IdP.
    pub fn redirect_url(&self) -> Url {
        self.auth_url
            .join(&app::names::paths::CALLBACK[1..])
            .expect("a path joins onto a base URL")
    }

    /// The URL the IdP sends the user back to after logout: `AUTH_URL/`.
    pub fn post_logout_redirect_url(&self) -> Url {
        self.auth_url.clone()
    }

    /// Whether cookies must be `Secure` (an https `AUTH_URL`).
    pub fn secure_cookies(&self) -> bool {
        self.auth_url.scheme() == "https"
    }

    /// The app's origin, as browsers send it in `Origin`.
    pub fn origin(&self) -> String {
        self.auth_url.origin().ascii_serialization()
    }
}

impl Env {
    /// The checks that are about more than one value's syntax.
    fn check(self) -> Result<Config, ConfigError> {
        let listen = self.leptos_site_addr;
        let auth_url = match &self.auth_url {
            Some(url) => parse_base_url("AUTH_URL", url)?,
            None => parse_base_url("AUTH_URL", &format!("http://localhost:{}", listen.port()))?,
        };
        // Over plain http the session cookie can be neither `Secure` nor `__Host-`, and no HSTS
        // is sent: anyone on the network, or a sibling host, could read or plant it.
        if auth_url.scheme() == "http" && !is_loopback(&auth_url) {
            return Err(invalid(
                "AUTH_URL",
                format!(
                    "`{auth_url}` is plain http on a host other than this machine, so the session \
                     cookie could be read or planted on the way. Serve the app over https (behind \
                     a TLS-terminating proxy) and set AUTH_URL=https://{}",
                    auth_url.host_str().unwrap_or("your.host")
                ),
            ));
        }
        let me_endpoint = self
            .asgardeo_me_endpoint
            .as_deref()
            .map(|url| Url::parse(url).map_err(|e| invalid("ASGARDEO_ME_ENDPOINT", e)))
            .transpose()?;
        if let Some(url) = &me_endpoint {
            // The access token travels there: plain http only on this machine.
            match url.scheme() {
                "https" => {}
                "http" if is_loopback(url) => {}
                _ => {
                    return Err(invalid(
                        "ASGARDEO_ME_ENDPOINT",
                        "must be https (http is allowed only on a loopback address)",
                    ))
                }
            }
        }

        let provider = match &self.auth_asgardeo_issuer {
            Some(issuer) => {
                let issuer = Url::parse(issuer).map_err(|e| invalid("AUTH_ASGARDEO_ISSUER", e))?;
                check_issuer(&issuer)?;
                if me_endpoint.is_none() && derive_me_endpoint(&issuer).is_none() {
                    return Err(ConfigError::Missing {
                        name: "ASGARDEO_ME_ENDPOINT",
                        why:
                            " when the issuer does not end in /oauth2/token (it cannot be derived)",
                    });
                }
                let why = " when AUTH_ASGARDEO_ISSUER is set";
                Provider::External {
                    issuer,
                    client_id: self.auth_asgardeo_id.clone().ok_or(ConfigError::Missing {
                        name: "AUTH_ASGARDEO_ID",
                        why,
                    })?,
                    client_secret: self.auth_asgardeo_secret.clone().ok_or(
                        ConfigError::Missing {
                            name: "AUTH_ASGARDEO_SECRET",
                            why,
                        },
                    )?,
                }
            }
            None => self.development_idp(&auth_url, listen)?,
        };

        let auth_secret = match (&self.auth_secret, &provider) {
            (Some(secret), _) if secret.expose_secret().chars().count() >= 32 => secret.clone(),
            (Some(_), _) => {
                return Err(invalid(
                    "AUTH_SECRET",
                    "must be at least 32 characters (try `openssl rand -base64 33`)",
                ))
            }
            #[cfg(feature = "dev-idp")]
            (None, Provider::Dev(_)) => SecretString::from(random_secret()),
            (None, Provider::External { .. }) => {
                return Err(ConfigError::Missing {
                    name: "AUTH_SECRET",
                    why: " when AUTH_ASGARDEO_ISSUER is set (at least 32 characters)",
                })
            }
        };

        let scopes: Vec<String> = self
            .auth_asgardeo_scope
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !scopes.iter().any(|s| s == "openid") {
            return Err(invalid("AUTH_ASGARDEO_SCOPE", "must include `openid`"));
        }

        let id_token_algs: Vec<String> = self
            .auth_id_token_algs
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
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

        Ok(Config {
            listen,
            auth_url,
            provider,
            auth_secret,
            scopes,
            me_endpoint,
            id_token_algs,
            http_connect_timeout: self.auth_http_connect_timeout,
            http_timeout: self.auth_http_timeout,
            session_store: session_store(&self.session_store)?,
            session_key_prefix: self.session_key_prefix.clone(),
            session_idle_timeout: self.auth_session_idle_timeout,
            session_max_age: self.auth_session_max_age,
            refresh_skew: self.auth_refresh_skew,
            expose_access_token: self.auth_expose_access_token,
            idp_max_concurrency: self.auth_idp_max_concurrency,
            refresh_lock_wait: self.auth_refresh_lock_wait,
            max_sessions_per_user: self.auth_max_sessions_per_user,
            serve: crate::serve::ServeLimits {
                max_connections: self
                    .server
                    .server_max_connections
                    .unwrap_or_else(crate::serve::default_max_connections),
                header_read_timeout: self.server.server_header_read_timeout,
                idle_timeout: self.server.server_idle_timeout,
                shutdown_grace: self.server.server_shutdown_grace,
            },
            route_limits: crate::limits::RouteLimits {
                pages: self.server.server_max_concurrent_pages,
                api: self.server.server_max_concurrent_api,
                sign_ins: self.server.server_max_concurrent_sign_ins,
                proxy: self.server.server_max_concurrent_proxy,
            },
            trusted_audiences: self
                .auth_trusted_audiences
                .split(',')
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect(),
        })
    }

    /// No issuer: the development IdP, where this build has it and the app is on loopback.
    fn development_idp(&self, auth_url: &Url, listen: SocketAddr) -> Result<Provider, ConfigError> {
        #[cfg(feature = "dev-idp")]
        {
            // Both: a loopback AUTH_URL on a server listening on every interface would still
            // serve the development IdP's sign-ins to the network.
            if !is_loopback(auth_url) || !listen.ip().is_loopback() {
                return Err(ConfigError::Required {
                    name: "AUTH_ASGARDEO_ISSUER",
                    why: format!(
                        "the built-in development IdP (used when no issuer is set) runs only when \
                         AUTH_URL and LEPTOS_SITE_ADDR are both loopback, and here AUTH_URL is \
                         {auth_url} and LEPTOS_SITE_ADDR is {listen}. Set AUTH_ASGARDEO_ISSUER, \
                         AUTH_ASGARDEO_ID and AUTH_ASGARDEO_SECRET to use a real identity provider."
                    ),
                });
            }
            let dev = &self.dev_idp;
            Ok(Provider::Dev(DevIdpConfig {
                port: dev.dev_idp_port,
                users_file: dev.dev_idp_users.clone(),
                access_token_ttl: dev.dev_idp_access_token_ttl,
                minimal_id_token: dev.dev_idp_minimal_id_token,
                test_controls: dev.dev_idp_test_controls,
            }))
        }
        #[cfg(not(feature = "dev-idp"))]
        {
            let _ = (auth_url, listen, &self.dev_idp);
            Err(ConfigError::Missing {
                name: "AUTH_ASGARDEO_ISSUER",
                why: " (this build has no development IdP; set AUTH_ASGARDEO_ISSUER, \
                      AUTH_ASGARDEO_ID and AUTH_ASGARDEO_SECRET)",
            })
        }
    }
}

fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value.to_owned()))
}

fn seconds(value: &str) -> Result<Duration, String> {
    match value.trim().parse::<u64>() {
        Ok(0) => Err("must be a positive number of seconds".into()),
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(e) => Err(format!("not a number of seconds ({e})")),
    }
}

fn count(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(0) => Err("must be a positive number".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a number ({e})")),
    }
}

fn flag(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(format!("`{other}` is not true or false")),
    }
}

/// `SESSION_STORE`. A Redis URL may hold a password, so errors never repeat the value.
fn session_store(value: &str) -> Result<SessionStoreConfig, ConfigError> {
    match value.trim() {
        "memory" => Ok(SessionStoreConfig::Memory),
        v if v.starts_with("sqlite:") => Ok(SessionStoreConfig::Sqlite(v.to_owned())),
        v if v.starts_with("redis://")
            || v.starts_with("rediss://")
            || v.starts_with("redis-cluster://") =>
        {
            Ok(SessionStoreConfig::Redis(SecretString::from(v.to_owned())))
        }
        _ => Err(invalid(
            "SESSION_STORE",
            "is not `memory`, `sqlite://path/to/file.db`, `redis://host:port` or \
             `redis-cluster://host:port`",
        )),
    }
}

/// Signature algorithms an ID token may use; HMAC is never accepted (the client secret is shared
/// with the IdP, and a forged HS256 token signed with it must not pass), and neither is `none`.
const ASYMMETRIC_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
];

/// `https://api.asgardeo.io/t/{org}/oauth2/token` → `https://api.asgardeo.io/t/{org}/scim2/Me`.
pub fn derive_me_endpoint(issuer: &Url) -> Option<Url> {
    let path = issuer.path().trim_end_matches('/');
    let base = path.strip_suffix("/oauth2/token")?;
    let mut me = issuer.clone();
    me.set_path(&format!("{base}/scim2/Me"));
    me.set_query(None);
    Some(me)
}

fn check_issuer(issuer: &Url) -> Result<(), ConfigError> {
    match issuer.scheme() {
        "https" => Ok(()),
        // Plain http only on loopback: local IdPs and tests.
        "http" if is_loopback(issuer) => Ok(()),
        "http" => Err(invalid(
            "AUTH_ASGARDEO_ISSUER",
            "must be https (http is allowed only on a loopback address)",
        )),
        other => Err(invalid(
            "AUTH_ASGARDEO_ISSUER",
            format!("unsupported scheme `{other}`"),
        )),
    }
    .and_then(|()| match issuer.query().or(issuer.fragment()) {
        Some(_) => Err(invalid(
            "AUTH_ASGARDEO_ISSUER",
            "must not have a query or fragment",
        )),
        None => Ok(()),
    })
}

fn parse_base_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| invalid(name, e))?;
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

/// Whether `url` points at this machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// 48 random bytes, base64url: a session-cookie key for one run of the development IdP.
#[cfg(feature = "dev-idp")]
fn random_secret() -> String {
    crate::random_token(48)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(vars)
    }

    const ASGARDEO: &[(&str, &str)] = &[
        (
            "AUTH_ASGARDEO_ISSUER",
            "https://api.asgardeo.io/t/acme/oauth2/token",
        ),
        ("AUTH_ASGARDEO_ID", "client-id"),
        ("AUTH_ASGARDEO_SECRET", "client-secret"),
        ("AUTH_SECRET", "0123456789abcdef0123456789abcdef"),
    ];

    fn error_of(vars: &[(&str, &str)]) -> String {
        load(vars)
            .expect_err("configuration should be refused")
            .to_string()
    }

    fn asgardeo_with(extra: (&'static str, &'static str)) -> Vec<(&'static str, &'static str)> {
        let mut vars: Vec<_> = ASGARDEO
            .iter()
            .copied()
            .filter(|(k, _)| *k != extra.0)
            .collect();
        vars.push(extra);
        vars
    }

    #[cfg(feature = "dev-idp")]
    #[test]
    fn nothing_set_means_the_development_idp_on_localhost() {
        let config = load(&[]).unwrap();
        assert_eq!(config.auth_url.as_str(), "http://localhost:3000/");
        assert!(matches!(
            config.provider,
            Provider::Dev(DevIdpConfig { port: 9443, .. })
        ));
        assert_eq!(
            config.me_endpoint, None,
            "derived from the IdP's issuer once it runs"
        );
        assert_eq!(
            config.scopes,
            ["openid", "profile", "email", "internal_login"]
        );
        assert!(config.auth_secret.expose_secret().len() >= 32);
        assert!(matches!(config.session_store, SessionStoreConfig::Memory));
        assert!(config.expose_access_token);
    }

    #[cfg(not(feature = "dev-idp"))]
    #[test]
    fn without_the_development_idp_an_issuer_is_required() {
        let err = error_of(&[]);
        assert!(err.starts_with("AUTH_ASGARDEO_ISSUER is required"), "{err}");
    }

    #[test]
    fn asgardeo_settings_derive_the_me_endpoint() {
        let config = load(ASGARDEO).unwrap();
        let issuer = config.provider.issuer().expect("an external provider");
        assert_eq!(
            config.me_endpoint_for(issuer).unwrap().as_str(),
            "https://api.asgardeo.io/t/acme/scim2/Me"
        );
        assert_eq!(
            config.redirect_url().as_str(),
            "http://localhost:3000/api/auth/callback/asgardeo"
        );
        assert!(!config.secure_cookies());
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let config = load(&asgardeo_with((
            "SESSION_STORE",
            "redis://:hunter2-redis-password@127.0.0.1:6379",
        )))
        .unwrap();
        let debug = format!("{config:?}");
        for secret in [
            "client-secret",
            "0123456789abcdef",
            "hunter2-redis-password",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }

    #[test]
    fn missing_client_settings_are_named() {
        let without = |name: &str| {
            ASGARDEO
                .iter()
                .copied()
                .filter(|(k, _)| *k != name)
                .collect::<Vec<_>>()
        };
        assert!(error_of(&without("AUTH_ASGARDEO_ID")).starts_with("AUTH_ASGARDEO_ID is required"));
        assert!(error_of(&without("AUTH_ASGARDEO_SECRET"))
            .starts_with("AUTH_ASGARDEO_SECRET is required"));
        assert!(error_of(&without("AUTH_SECRET")).starts_with("AUTH_SECRET is required"));
    }

    #[test]
    fn malformed_values_are_named() {
        let named = |extra: (&'static str, &'static str)| {
            let err = error_of(&asgardeo_with(extra));
            assert!(err.contains(extra.0), "{err}");
            err
        };
        named(("AUTH_ASGARDEO_ISSUER", "not a url"));
        assert!(named((
            "AUTH_ASGARDEO_ISSUER",
            "http://idp.example.com/t/a/oauth2/token"
        ))
        .contains("must be https"));
        named(("AUTH_SECRET", "short"));
        named(("AUTH_URL", "http://localhost:3000/app"));
        named(("AUTH_ASGARDEO_SCOPE", "profile email"));
        assert!(named(("AUTH_ID_TOKEN_ALGS", "RS256,HS256")).contains("`HS256` is not accepted"));
        assert!(named(("AUTH_ID_TOKEN_ALGS", "none")).contains("`none` is not accepted"));
        named(("SESSION_STORE", "postgres://x"));
        named(("AUTH_SESSION_MAX_AGE", "soon"));
        named(("AUTH_SESSION_IDLE_TIMEOUT", "0"));
        named(("AUTH_EXPOSE_ACCESS_TOKEN", "maybe"));
        named(("LEPTOS_SITE_ADDR", "localhost"));
    }

    #[test]
    fn a_malformed_session_store_is_not_repeated_in_the_error() {
        let err = error_of(&asgardeo_with((
            "SESSION_STORE",
            "redis:/user:hunter2-redis-password@host",
        )));
        assert!(err.starts_with("SESSION_STORE is malformed"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn http_issuer_on_loopback_is_allowed() {
        let config = load(&asgardeo_with((
            "AUTH_ASGARDEO_ISSUER",
            "http://127.0.0.1:8080/t/acme/oauth2/token",
        )))
        .unwrap();
        let issuer = config.provider.issuer().expect("an external provider");
        assert_eq!(
            config.me_endpoint_for(issuer).unwrap().as_str(),
            "http://127.0.0.1:8080/t/acme/scim2/Me"
        );
    }

    #[test]
    fn issuer_without_oauth2_token_needs_an_explicit_me_endpoint() {
        let mut vars = asgardeo_with((
            "AUTH_ASGARDEO_ISSUER",
            "https://idp.example.com/realms/acme",
        ));
        assert!(error_of(&vars).starts_with("ASGARDEO_ME_ENDPOINT is required"));
        vars.push(("ASGARDEO_ME_ENDPOINT", "https://idp.example.com/scim2/Me"));
        let config = load(&vars).unwrap();
        assert_eq!(
            config.me_endpoint.unwrap().as_str(),
            "https://idp.example.com/scim2/Me"
        );
    }

    #[cfg(feature = "dev-idp")]
    #[test]
    fn the_development_idp_honours_an_explicit_me_endpoint() {
        let config = load(&[(
            "ASGARDEO_ME_ENDPOINT",
            "http://localhost:9999/t/dev/scim2/Me",
        )])
        .unwrap();
        let issuer = Url::parse("http://localhost:9443/t/dev/oauth2/token").unwrap();
        assert_eq!(
            config.me_endpoint_for(&issuer).unwrap().as_str(),
            "http://localhost:9999/t/dev/scim2/Me"
        );
    }

    #[cfg(feature = "dev-idp")]
    #[test]
    fn development_idp_refuses_a_public_auth_url() {
        let err = error_of(&[("AUTH_URL", "https://app.example.com")]);
        assert!(err.starts_with("AUTH_ASGARDEO_ISSUER is required"), "{err}");
        assert!(err.contains("loopback"), "{err}");
        assert!(load(&[("AUTH_URL", "http://127.0.0.1:3000")]).is_ok());
    }

    #[cfg(feature = "dev-idp")]
    #[test]
    fn development_idp_refuses_to_listen_beyond_loopback() {
        for addr in ["0.0.0.0:3000", "192.0.2.7:3000", "[::]:3000"] {
            let err = error_of(&[
                ("LEPTOS_SITE_ADDR", addr),
                ("AUTH_URL", "http://localhost:3000"),
            ]);
            assert!(
                err.starts_with("AUTH_ASGARDEO_ISSUER is required"),
                "{addr}: {err}"
            );
        }
        assert!(load(&[("LEPTOS_SITE_ADDR", "127.0.0.1:3000")]).is_ok());
        assert!(load(&[("LEPTOS_SITE_ADDR", "[::1]:3000")]).is_ok());
    }

    #[test]
    fn the_me_endpoint_must_be_https_except_on_loopback() {
        let mut vars = ASGARDEO.to_vec();
        vars.push(("ASGARDEO_ME_ENDPOINT", "http://scim.example.com/scim2/Me"));
        let err = error_of(&vars);
        assert!(
            err.starts_with("ASGARDEO_ME_ENDPOINT is malformed"),
            "{err}"
        );
        assert!(err.contains("https"), "{err}");
        vars.pop();
        vars.push(("ASGARDEO_ME_ENDPOINT", "http://127.0.0.1:8080/scim2/Me"));
        assert!(load(&vars).is_ok());
    }

    #[test]
    fn a_plain_http_auth_url_is_refused_beyond_loopback_with_the_fix_named() {
        let err = error_of(&asgardeo_with(("AUTH_URL", "http://app.example.com")));
        assert!(err.starts_with("AUTH_URL is malformed"), "{err}");
        assert!(err.contains("AUTH_URL=https://app.example.com"), "{err}");
        for fine in [
            "https://app.example.com",
            "http://localhost:3000",
            "http://127.0.0.1:3000",
            "http://[::1]:3000",
        ] {
            assert!(load(&asgardeo_with(("AUTH_URL", fine))).is_ok(), "{fine}");
        }
    }

    #[test]
    fn auth_url_follows_the_listen_port_by_default() {
        let mut vars = ASGARDEO.to_vec();
        vars.push(("LEPTOS_SITE_ADDR", "127.0.0.1:4123"));
        let config = load(&vars).unwrap();
        assert_eq!(config.auth_url.as_str(), "http://localhost:4123/");
        assert_eq!(config.origin(), "http://localhost:4123");
    }
}
