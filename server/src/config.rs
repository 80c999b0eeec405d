//! Typed configuration, loaded once at start-up from the environment (and `.env`).
//!
//! Every variable is documented in `.env.example`. A missing or malformed value stops start-up
//! with an error that names the variable. With no `AUTH_ASGARDEO_ISSUER`, the built-in development
//! IdP is used (see [`crate::dev_idp`]), and only on a loopback `AUTH_URL`.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};
use url::Url;

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A configuration value that is missing or malformed; the message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is required{why}")]
    Missing {
        name: &'static str,
        why: &'static str,
    },
    #[error("{name} is malformed: {reason}")]
    Invalid { name: &'static str, reason: String },
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
        /// `AUTH_ASGARDEO_ISSUER`: the issuer; discovery is at `{issuer}/.well-known/openid-configuration`.
        issuer: Url,
        /// `AUTH_ASGARDEO_ID`: the OAuth client id.
        client_id: String,
        /// `AUTH_ASGARDEO_SECRET`: the OAuth client secret.
        client_secret: Secret,
    },
    /// The built-in development IdP, started in-process.
    Dev(DevIdpConfig),
}

/// Settings of the built-in development IdP.
#[derive(Clone, Debug)]
pub struct DevIdpConfig {
    /// `DEV_IDP_PORT` (default 9443): the loopback port it listens on; 0 picks a free one.
    pub port: u16,
    /// `DEV_IDP_USERS`: a JSON file of users; default alice / alice-pass and bob / bob-pass.
    pub users_file: Option<PathBuf>,
    /// `DEV_IDP_ACCESS_TOKEN_TTL` (seconds, default 3600): access-token lifetime.
    pub access_token_ttl: Duration,
    /// `DEV_IDP_MINIMAL_ID_TOKEN` (default false): like an Asgardeo app with no user attributes
    /// configured, the ID token carries only `username` (the app then asks userinfo).
    pub minimal_id_token: bool,
    /// `DEV_IDP_TEST_CONTROLS` (default false): enables `/t/dev/_test/*` (key rotation,
    /// revocation) for the test suites. Never needed to run the app.
    pub test_controls: bool,
}

/// Where sessions are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionStoreConfig {
    Memory,
    Sqlite(String),
    Redis(String),
}

/// Everything the server reads from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LEPTOS_SITE_ADDR` (default 127.0.0.1:3000): where the app listens.
    pub listen: SocketAddr,
    /// `AUTH_URL` (default `http://localhost:<listen port>`): the public base URL of the app.
    pub auth_url: Url,
    /// The identity provider (`AUTH_ASGARDEO_*`, or the development IdP).
    pub provider: Provider,
    /// `AUTH_SECRET`: key material for the session cookie (at least 32 characters). Optional
    /// with the development IdP, where a random one is made per start.
    pub auth_secret: Secret,
    /// `AUTH_ASGARDEO_SCOPE` (default `openid profile email internal_login`).
    pub scopes: Vec<String>,
    /// `ASGARDEO_ME_ENDPOINT` (default: the issuer with `/oauth2/token` replaced by `/scim2/Me`).
    pub me_endpoint: Url,
    /// `AUTH_ID_TOKEN_ALGS` (default `RS256`): accepted ID-token signature algorithms,
    /// comma-separated; asymmetric ones only.
    pub id_token_algs: Vec<String>,
    /// `AUTH_HTTP_CONNECT_TIMEOUT` (seconds, default 5): connect timeout for every IdP call.
    pub http_connect_timeout: Duration,
    /// `AUTH_HTTP_TIMEOUT` (seconds, default 15): total timeout for every IdP call.
    pub http_timeout: Duration,
    /// `SESSION_STORE` (default `memory`; or `sqlite://path.db`, `redis://host:port`).
    pub session_store: SessionStoreConfig,
    /// `AUTH_SESSION_IDLE_TIMEOUT` (seconds, default 86400): a session unused this long ends.
    pub session_idle_timeout: Duration,
    /// `AUTH_SESSION_MAX_AGE` (seconds, default 2592000 = 30 days): a session ends this long
    /// after sign-in, however active.
    pub session_max_age: Duration,
    /// `AUTH_REFRESH_SKEW` (seconds, default 60): refresh an access token that expires this soon.
    pub refresh_skew: Duration,
    /// `AUTH_EXPOSE_ACCESS_TOKEN` (default true): whether `/api/auth/session` gives the browser
    /// the access token. With false, `/client-profile` uses the same-origin `/api/scim2/Me`.
    pub expose_access_token: bool,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let listen: SocketAddr = match var("LEPTOS_SITE_ADDR") {
            Some(v) => v.parse().map_err(|e| invalid("LEPTOS_SITE_ADDR", e))?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let auth_url = match var("AUTH_URL") {
            Some(v) => parse_base_url("AUTH_URL", &v)?,
            None => parse_base_url("AUTH_URL", &format!("http://localhost:{}", listen.port()))?,
        };

        let provider = match var("AUTH_ASGARDEO_ISSUER") {
            Some(issuer) => {
                let issuer = Url::parse(&issuer).map_err(|e| invalid("AUTH_ASGARDEO_ISSUER", e))?;
                check_issuer(&issuer)?;
                let why = " when AUTH_ASGARDEO_ISSUER is set";
                Provider::External {
                    issuer,
                    client_id: var("AUTH_ASGARDEO_ID").ok_or(ConfigError::Missing {
                        name: "AUTH_ASGARDEO_ID",
                        why,
                    })?,
                    client_secret: Secret::new(var("AUTH_ASGARDEO_SECRET").ok_or(
                        ConfigError::Missing {
                            name: "AUTH_ASGARDEO_SECRET",
                            why,
                        },
                    )?),
                }
            }
            None => {
                if !is_loopback(&auth_url) {
                    return Err(invalid(
                        "AUTH_URL",
                        format!(
                            "{auth_url} is not a loopback address; the built-in development IdP \
                             (used because AUTH_ASGARDEO_ISSUER is not set) only runs on \
                             localhost. Set AUTH_ASGARDEO_ISSUER, AUTH_ASGARDEO_ID and \
                             AUTH_ASGARDEO_SECRET to use a real identity provider."
                        ),
                    ));
                }
                Provider::Dev(DevIdpConfig {
                    port: parse_or("DEV_IDP_PORT", var("DEV_IDP_PORT"), 9443)?,
                    users_file: var("DEV_IDP_USERS").map(PathBuf::from),
                    access_token_ttl: seconds(
                        "DEV_IDP_ACCESS_TOKEN_TTL",
                        var("DEV_IDP_ACCESS_TOKEN_TTL"),
                        3600,
                    )?,
                    minimal_id_token: boolean(
                        "DEV_IDP_MINIMAL_ID_TOKEN",
                        var("DEV_IDP_MINIMAL_ID_TOKEN"),
                        false,
                    )?,
                    test_controls: boolean(
                        "DEV_IDP_TEST_CONTROLS",
                        var("DEV_IDP_TEST_CONTROLS"),
                        false,
                    )?,
                })
            }
        };

        let auth_secret = match (var("AUTH_SECRET"), &provider) {
            (Some(secret), _) if secret.len() >= 32 => Secret::new(secret),
            (Some(_), _) => {
                return Err(invalid(
                    "AUTH_SECRET",
                    "must be at least 32 characters (try `openssl rand -base64 33`)",
                ))
            }
            (None, Provider::Dev(_)) => Secret::new(random_secret()),
            (None, Provider::External { .. }) => {
                return Err(ConfigError::Missing {
                    name: "AUTH_SECRET",
                    why: " when AUTH_ASGARDEO_ISSUER is set (at least 32 characters)",
                })
            }
        };

        let scopes: Vec<String> = var("AUTH_ASGARDEO_SCOPE")
            .unwrap_or_else(|| "openid profile email internal_login".to_owned())
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !scopes.iter().any(|s| s == "openid") {
            return Err(invalid("AUTH_ASGARDEO_SCOPE", "must include `openid`"));
        }

        let me_endpoint = match var("ASGARDEO_ME_ENDPOINT") {
            Some(v) => Url::parse(&v).map_err(|e| invalid("ASGARDEO_ME_ENDPOINT", e))?,
            None => match &provider {
                Provider::External { issuer, .. } => {
                    derive_me_endpoint(issuer).ok_or(ConfigError::Missing {
                        name: "ASGARDEO_ME_ENDPOINT",
                        why:
                            " when the issuer does not end in /oauth2/token (it cannot be derived)",
                    })?
                }
                // Known once the development IdP has its port; see `Config::dev_idp_urls`.
                Provider::Dev(dev) => dev_idp_issuer(dev.port)
                    .and_then(|issuer| derive_me_endpoint(&issuer))
                    .ok_or_else(|| invalid("DEV_IDP_PORT", "cannot form the IdP's URL"))?,
            },
        };

        let id_token_algs: Vec<String> = var("AUTH_ID_TOKEN_ALGS")
            .unwrap_or_else(|| "RS256".to_owned())
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
        for alg in &id_token_algs {
            if !ASYMMETRIC_ALGS.contains(&alg.as_str()) {
                return Err(invalid(
                    "AUTH_ID_TOKEN_ALGS",
                    format!(
                        "`{alg}` is not accepted; use one or more of {}",
                        ASYMMETRIC_ALGS.join(", ")
                    ),
                ));
            }
        }

        let session_store = match var("SESSION_STORE").as_deref() {
            None | Some("memory") => SessionStoreConfig::Memory,
            Some(v) if v.starts_with("sqlite:") => SessionStoreConfig::Sqlite(v.to_owned()),
            Some(v) if v.starts_with("redis://") || v.starts_with("rediss://") => {
                SessionStoreConfig::Redis(v.to_owned())
            }
            Some(v) => {
                return Err(invalid(
                    "SESSION_STORE",
                    format!(
                        "`{v}` is not `memory`, `sqlite://path/to/file.db` or `redis://host:port`"
                    ),
                ))
            }
        };

        Ok(Config {
            listen,
            auth_url,
            provider,
            auth_secret,
            scopes,
            me_endpoint,
            id_token_algs,
            http_connect_timeout: seconds(
                "AUTH_HTTP_CONNECT_TIMEOUT",
                var("AUTH_HTTP_CONNECT_TIMEOUT"),
                5,
            )?,
            http_timeout: seconds("AUTH_HTTP_TIMEOUT", var("AUTH_HTTP_TIMEOUT"), 15)?,
            session_store,
            session_idle_timeout: seconds(
                "AUTH_SESSION_IDLE_TIMEOUT",
                var("AUTH_SESSION_IDLE_TIMEOUT"),
                86_400,
            )?,
            session_max_age: seconds(
                "AUTH_SESSION_MAX_AGE",
                var("AUTH_SESSION_MAX_AGE"),
                2_592_000,
            )?,
            refresh_skew: seconds("AUTH_REFRESH_SKEW", var("AUTH_REFRESH_SKEW"), 60)?,
            expose_access_token: boolean(
                "AUTH_EXPOSE_ACCESS_TOKEN",
                var("AUTH_EXPOSE_ACCESS_TOKEN"),
                true,
            )?,
        })
    }

    /// The external issuer, when one is configured (not the development IdP).
    pub fn provider_issuer(&self) -> Option<Url> {
        match &self.provider {
            Provider::External { issuer, .. } => Some(issuer.clone()),
            Provider::Dev(_) => None,
        }
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

/// Signature algorithms an ID token may use; HMAC is never accepted (the client secret is shared
/// with the IdP, and a forged HS256 token signed with it must not pass), and neither is `none`.
const ASYMMETRIC_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
];

/// The development IdP's issuer on `port`.
pub fn dev_idp_issuer(port: u16) -> Option<Url> {
    Url::parse(&format!("http://localhost:{port}/t/dev/oauth2/token")).ok()
}

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

fn parse_or<T: std::str::FromStr>(
    name: &'static str,
    value: Option<String>,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    value.map_or(Ok(default), |v| v.parse().map_err(|e| invalid(name, e)))
}

fn seconds(
    name: &'static str,
    value: Option<String>,
    default: u64,
) -> Result<Duration, ConfigError> {
    let secs: u64 = parse_or(name, value, default)?;
    if secs == 0 {
        return Err(invalid(name, "must be a positive number of seconds"));
    }
    Ok(Duration::from_secs(secs))
}

fn boolean(name: &'static str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(invalid(name, format!("`{other}` is not true or false"))),
    }
}

fn random_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
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

    #[test]
    fn nothing_set_means_the_development_idp_on_localhost() {
        let config = load(&[]).unwrap();
        assert_eq!(config.auth_url.as_str(), "http://localhost:3000/");
        assert!(matches!(
            config.provider,
            Provider::Dev(DevIdpConfig { port: 9443, .. })
        ));
        assert_eq!(
            config.me_endpoint.as_str(),
            "http://localhost:9443/t/dev/scim2/Me"
        );
        assert_eq!(
            config.scopes,
            ["openid", "profile", "email", "internal_login"]
        );
        assert!(config.auth_secret.expose().len() >= 32);
        assert_eq!(config.session_store, SessionStoreConfig::Memory);
        assert!(config.expose_access_token);
    }

    #[test]
    fn asgardeo_settings_derive_the_me_endpoint() {
        let config = load(ASGARDEO).unwrap();
        assert_eq!(
            config.me_endpoint.as_str(),
            "https://api.asgardeo.io/t/acme/scim2/Me"
        );
        assert_eq!(
            config.redirect_url().as_str(),
            "http://localhost:3000/api/auth/callback/asgardeo"
        );
        assert!(!config.secure_cookies());
        assert_eq!(format!("{:?}", config.auth_secret), "[redacted]");
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("client-secret") && !debug.contains("0123456789abcdef"),
            "{debug}"
        );
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
        let with = |extra: (&'static str, &'static str)| {
            let mut vars: Vec<_> = ASGARDEO
                .iter()
                .copied()
                .filter(|(k, _)| *k != extra.0)
                .collect();
            vars.push(extra);
            error_of(&vars)
        };
        assert!(with(("AUTH_ASGARDEO_ISSUER", "not a url"))
            .starts_with("AUTH_ASGARDEO_ISSUER is malformed"));
        assert!(with((
            "AUTH_ASGARDEO_ISSUER",
            "http://idp.example.com/t/a/oauth2/token"
        ))
        .contains("must be https"));
        assert!(with(("AUTH_SECRET", "short")).starts_with("AUTH_SECRET is malformed"));
        assert!(
            with(("AUTH_URL", "http://localhost:3000/app")).starts_with("AUTH_URL is malformed")
        );
        assert!(with(("AUTH_ASGARDEO_SCOPE", "profile email"))
            .starts_with("AUTH_ASGARDEO_SCOPE is malformed"));
        assert!(with(("AUTH_ID_TOKEN_ALGS", "RS256,HS256")).contains("`HS256` is not accepted"));
        assert!(with(("AUTH_ID_TOKEN_ALGS", "none")).contains("`none` is not accepted"));
        assert!(with(("SESSION_STORE", "postgres://x")).starts_with("SESSION_STORE is malformed"));
        assert!(
            with(("AUTH_SESSION_MAX_AGE", "soon")).starts_with("AUTH_SESSION_MAX_AGE is malformed")
        );
        assert!(with(("AUTH_EXPOSE_ACCESS_TOKEN", "maybe"))
            .starts_with("AUTH_EXPOSE_ACCESS_TOKEN is malformed"));
        assert!(
            with(("LEPTOS_SITE_ADDR", "localhost")).starts_with("LEPTOS_SITE_ADDR is malformed")
        );
    }

    #[test]
    fn http_issuer_on_loopback_is_allowed() {
        let mut vars: Vec<_> = ASGARDEO
            .iter()
            .copied()
            .filter(|(k, _)| *k != "AUTH_ASGARDEO_ISSUER")
            .collect();
        vars.push((
            "AUTH_ASGARDEO_ISSUER",
            "http://127.0.0.1:8080/t/acme/oauth2/token",
        ));
        let config = load(&vars).unwrap();
        assert_eq!(
            config.me_endpoint.as_str(),
            "http://127.0.0.1:8080/t/acme/scim2/Me"
        );
    }

    #[test]
    fn issuer_without_oauth2_token_needs_an_explicit_me_endpoint() {
        let mut vars: Vec<_> = ASGARDEO
            .iter()
            .copied()
            .filter(|(k, _)| *k != "AUTH_ASGARDEO_ISSUER")
            .collect();
        vars.push((
            "AUTH_ASGARDEO_ISSUER",
            "https://idp.example.com/realms/acme",
        ));
        assert!(error_of(&vars).starts_with("ASGARDEO_ME_ENDPOINT is required"));
        vars.push(("ASGARDEO_ME_ENDPOINT", "https://idp.example.com/scim2/Me"));
        assert_eq!(
            load(&vars).unwrap().me_endpoint.as_str(),
            "https://idp.example.com/scim2/Me"
        );
    }

    #[test]
    fn development_idp_refuses_a_public_auth_url() {
        let err = error_of(&[("AUTH_URL", "https://app.example.com")]);
        assert!(err.starts_with("AUTH_URL is malformed"), "{err}");
        assert!(err.contains("loopback"), "{err}");
        assert!(load(&[("AUTH_URL", "http://127.0.0.1:3000")]).is_ok());
    }

    #[test]
    fn auth_url_follows_the_listen_port_by_default() {
        let config = load(&[("LEPTOS_SITE_ADDR", "127.0.0.1:4123")]).unwrap();
        assert_eq!(config.auth_url.as_str(), "http://localhost:4123/");
        assert_eq!(config.origin(), "http://localhost:4123");
    }
}
