//! Typed configuration, read once at start-up from the environment (and `.env`).
//!
//! The backend-for-frontend's variables (`AUTH_URL`, `AUTH_SECRET`, `AUTH_ASGARDEO_*`,
//! `SESSION_*`, the other `AUTH_*`) are read by `axum-oidc-bff`
//! ([`SettingsBuilder::from_lookup`]), with this app's defaults: the provider id `asgardeo`, the
//! scopes `openid profile email internal_login` (what lets the token read scim2/Me), the name
//! `asgardeo-leptos`, and `AUTH_URL` following `LEPTOS_SITE_ADDR`'s port. This app's own
//! variables — where it listens, scim2/Me, connection limits, the development IdP — are fields of
//! [`Env`], declared with clap (`server --help` lists them). `.env.example` documents all of
//! them. A missing or malformed value stops start-up with an error that names the variable.
//! With no `AUTH_ASGARDEO_ISSUER`, the built-in development IdP is used — in builds with the
//! `dev-idp` feature, and only on loopback.

use app::names::{NAME, PROVIDER};
use axum_oidc_bff::{is_loopback, ServeLimits, Settings, SettingsBuilder, SettingsError};
use clap::Parser;
use secrecy::SecretString;
use std::{net::SocketAddr, path::PathBuf, time::Duration};
use url::Url;

/// This app's own variables. Every field is a variable of the same name in upper case (and a
/// `--flag`, for the curious).
#[derive(Parser, Debug)]
#[command(
    name = "server",
    version,
    about = "asgardeo-leptos: sign in with Asgardeo (or any OpenID Connect provider) and call scim2/Me. \
             The AUTH_* and SESSION_* variables are documented in .env.example."
)]
struct Env {
    /// Where the app listens.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    leptos_site_addr: SocketAddr,
    /// The scim2/Me endpoint [default: the issuer with `/oauth2/token` replaced by `/scim2/Me`].
    #[arg(long, env = "ASGARDEO_ME_ENDPOINT")]
    asgardeo_me_endpoint: Option<String>,
    #[command(flatten)]
    server: ServerEnv,
    #[command(flatten)]
    dev_idp: DevIdpEnv,
}

/// How the server treats connections and floods (see `axum_oidc_bff::serve` and `limits.rs`).
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

/// This app's own variables' names (what [`Config::from_vars`] hands to clap).
const APP_VARIABLES: &[&str] = &[
    "LEPTOS_SITE_ADDR",
    "ASGARDEO_ME_ENDPOINT",
    "SERVER_HEADER_READ_TIMEOUT",
    "SERVER_IDLE_TIMEOUT",
    "SERVER_MAX_CONNECTIONS",
    "SERVER_SHUTDOWN_GRACE",
    "SERVER_MAX_CONCURRENT_PAGES",
    "SERVER_MAX_CONCURRENT_API",
    "SERVER_MAX_CONCURRENT_SIGN_INS",
    "SERVER_MAX_CONCURRENT_PROXY",
    "DEV_IDP_PORT",
    "DEV_IDP_USERS",
    "DEV_IDP_ACCESS_TOKEN_TTL",
    "DEV_IDP_MINIMAL_ID_TOKEN",
    "DEV_IDP_TEST_CONTROLS",
];

/// A configuration value that is missing or malformed; the message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// What clap found (a malformed number, URL or flag, or `--help`).
    #[error("{0}")]
    Args(#[from] clap::Error),
    /// What the backend-for-frontend's settings found.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A variable is missing, or required in this situation (the text says why).
    #[error("{name} is required{why}")]
    Missing { name: &'static str, why: String },
    /// A variable is malformed.
    #[error("{name} is malformed: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Which identity provider the app signs users in with.
#[derive(Clone, Debug)]
pub enum Provider {
    /// An OpenID Connect provider such as Asgardeo (`AUTH_ASGARDEO_ISSUER`).
    External,
    /// The built-in development IdP, started in-process.
    #[cfg(feature = "dev-idp")]
    Dev(DevIdpConfig),
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

/// How many requests of each kind may be in flight (`SERVER_MAX_CONCURRENT_*`).
pub type RouteLimits = crate::limits::RouteLimits;

/// Everything the server reads from its environment, checked.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LEPTOS_SITE_ADDR`.
    pub listen: SocketAddr,
    /// The identity provider (`AUTH_ASGARDEO_*`, or the development IdP).
    pub provider: Provider,
    /// The backend-for-frontend's settings (all of them checked); for the development IdP
    /// everything but its issuer and client, known once it runs (see [`Config::settings_for`]).
    bff: SettingsBuilder,
    /// The settings as checked; for the development IdP, with a stand-in issuer.
    checked: Settings,
    /// `ASGARDEO_ME_ENDPOINT`, when set; see [`Config::me_endpoint_for`].
    pub me_endpoint: Option<Url>,
    /// `SERVER_HEADER_READ_TIMEOUT`, `SERVER_IDLE_TIMEOUT`, `SERVER_MAX_CONNECTIONS`,
    /// `SERVER_SHUTDOWN_GRACE`.
    pub serve: ServeLimits,
    /// `SERVER_MAX_CONCURRENT_*`.
    pub route_limits: RouteLimits,
}

impl Config {
    /// Reads the process environment (and the command line).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::check(Env::try_parse()?, |name| std::env::var(name).ok())
    }

    /// Reads `vars` as if they were the environment (tests): `("AUTH_URL", "…")` and so on.
    pub fn from_vars(vars: &[(&str, &str)]) -> Result<Self, ConfigError> {
        let args = vars
            .iter()
            .filter(|(name, value)| APP_VARIABLES.contains(name) && !value.trim().is_empty())
            .map(|(name, value)| {
                format!(
                    "--{}={}",
                    name.to_ascii_lowercase().replace('_', "-"),
                    value.trim()
                )
            });
        let env = Env::try_parse_from(std::iter::once("server".to_owned()).chain(args))?;
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::check(env, move |name| {
            vars.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    /// The settings to run with, once the provider is known: for the development IdP, its
    /// issuer and this app's client there.
    pub fn settings_for(
        &self,
        issuer: &Url,
        client_id: &str,
        client_secret: SecretString,
    ) -> Result<Settings, ConfigError> {
        Ok(self
            .bff
            .clone()
            .provider(issuer.as_str(), client_id, client_secret)
            .build()?)
    }

    /// The settings of an external provider (checked at start-up).
    pub fn settings(&self) -> &Settings {
        &self.checked
    }

    /// The scim2/Me endpoint for `issuer`: `ASGARDEO_ME_ENDPOINT`, or derived from the issuer.
    pub fn me_endpoint_for(&self, issuer: &Url) -> Option<Url> {
        self.me_endpoint
            .clone()
            .or_else(|| derive_me_endpoint(issuer))
    }

    fn check(env: Env, lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let listen = env.leptos_site_addr;
        let port = listen.port();
        let has_issuer = lookup("AUTH_ASGARDEO_ISSUER").is_some_and(|v| !v.trim().is_empty());
        let mut bff = SettingsBuilder::from_lookup(PROVIDER, |name| match lookup(name) {
            Some(value) if !value.trim().is_empty() => Some(value),
            // AUTH_URL follows where the server listens.
            _ if name == "AUTH_URL" => Some(format!("http://localhost:{port}")),
            _ => None,
        })?
        .name(NAME)
        .default_scopes("openid profile email internal_login");

        let me_endpoint = env
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

        let (provider, checked) = if has_issuer {
            let checked = bff.clone().build()?;
            if me_endpoint.is_none() && derive_me_endpoint(checked.issuer()).is_none() {
                return Err(ConfigError::Missing {
                    name: "ASGARDEO_ME_ENDPOINT",
                    why: " when the issuer does not end in /oauth2/token (it cannot be derived)"
                        .into(),
                });
            }
            (Provider::External, checked)
        } else {
            let (provider, with_secret) = development_idp(&env, bff.clone())?;
            bff = with_secret;
            // Everything but the provider is checked now, against a stand-in for the
            // development IdP's issuer (its port is known once it runs).
            let checked = bff
                .clone()
                .provider(
                    "http://localhost:9443/t/dev/oauth2/token",
                    "dev",
                    SecretString::from("dev"),
                )
                .build()?;
            (provider, checked)
        };

        let server = &env.server;
        Ok(Config {
            listen,
            provider,
            bff,
            checked,
            me_endpoint,
            serve: ServeLimits {
                max_connections: server
                    .server_max_connections
                    .unwrap_or_else(axum_oidc_bff::serve::default_max_connections),
                header_read_timeout: server.server_header_read_timeout,
                idle_timeout: server.server_idle_timeout,
                shutdown_grace: server.server_shutdown_grace,
            },
            route_limits: RouteLimits {
                pages: server.server_max_concurrent_pages,
                api: server.server_max_concurrent_api,
                sign_ins: server.server_max_concurrent_sign_ins,
                proxy: server.server_max_concurrent_proxy,
            },
        })
    }
}

fn invalid(name: &'static str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.to_string(),
    }
}

/// No issuer: the development IdP, where this build has it and the app is on loopback; with a
/// random cookie secret per start unless `AUTH_SECRET` is set.
fn development_idp(
    env: &Env,
    bff: SettingsBuilder,
) -> Result<(Provider, SettingsBuilder), ConfigError> {
    #[cfg(feature = "dev-idp")]
    {
        let listen = env.leptos_site_addr;
        let auth_url = bff
            .clone()
            .provider("http://localhost:1/x", "x", SecretString::from("x"))
            .secret(SecretString::from("x".repeat(32)))
            .build()?
            .base_url()
            .clone();
        // Both: a loopback AUTH_URL on a server listening on every interface would still
        // serve the development IdP's sign-ins to the network.
        if !is_loopback(&auth_url) || !listen.ip().is_loopback() {
            return Err(ConfigError::Missing {
                name: "AUTH_ASGARDEO_ISSUER",
                why: format!(
                    ": the built-in development IdP (used when no issuer is set) runs only when \
                     AUTH_URL and LEPTOS_SITE_ADDR are both loopback, and here AUTH_URL is \
                     {auth_url} and LEPTOS_SITE_ADDR is {listen}. Set AUTH_ASGARDEO_ISSUER, \
                     AUTH_ASGARDEO_ID and AUTH_ASGARDEO_SECRET to use a real identity provider."
                ),
            });
        }
        let bff = if bff.has_secret() {
            bff
        } else {
            bff.secret(SecretString::from(random_secret()))
        };
        let dev = &env.dev_idp;
        Ok((
            Provider::Dev(DevIdpConfig {
                port: dev.dev_idp_port,
                users_file: dev.dev_idp_users.clone(),
                access_token_ttl: dev.dev_idp_access_token_ttl,
                minimal_id_token: dev.dev_idp_minimal_id_token,
                test_controls: dev.dev_idp_test_controls,
            }),
            bff,
        ))
    }
    #[cfg(not(feature = "dev-idp"))]
    {
        let _ = (env, bff);
        Err(ConfigError::Missing {
            name: "AUTH_ASGARDEO_ISSUER",
            why: " (this build has no development IdP; set AUTH_ASGARDEO_ISSUER, \
                  AUTH_ASGARDEO_ID and AUTH_ASGARDEO_SECRET)"
                .into(),
        })
    }
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

/// `https://api.asgardeo.io/t/{org}/oauth2/token` → `https://api.asgardeo.io/t/{org}/scim2/Me`.
pub fn derive_me_endpoint(issuer: &Url) -> Option<Url> {
    let path = issuer.path().trim_end_matches('/');
    let base = path.strip_suffix("/oauth2/token")?;
    let mut me = issuer.clone();
    me.set_path(&format!("{base}/scim2/Me"));
    me.set_query(None);
    Some(me)
}

/// 48 random bytes, base64url: a session-cookie key for one run of the development IdP.
#[cfg(feature = "dev-idp")]
fn random_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buffer = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
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
        assert_eq!(
            config.settings().base_url().as_str(),
            "http://localhost:3000/"
        );
        assert!(matches!(
            config.provider,
            Provider::Dev(DevIdpConfig { port: 9443, .. })
        ));
        assert_eq!(
            config.me_endpoint, None,
            "derived from the IdP's issuer once it runs"
        );
        assert!(config.settings().expose_access_token());
        assert_eq!(
            config.settings().paths().sign_in,
            "/api/auth/signin/asgardeo"
        );
    }

    #[cfg(not(feature = "dev-idp"))]
    #[test]
    fn without_the_development_idp_an_issuer_is_required() {
        let err = error_of(&[]);
        assert!(err.starts_with("AUTH_ASGARDEO_ISSUER is required"), "{err}");
    }

    #[test]
    fn asgardeo_settings_derive_the_me_endpoint_and_keep_the_guides_paths() {
        let config = load(ASGARDEO).unwrap();
        let settings = config.settings();
        assert_eq!(
            config.me_endpoint_for(settings.issuer()).unwrap().as_str(),
            "https://api.asgardeo.io/t/acme/scim2/Me"
        );
        assert_eq!(
            settings.redirect_url().as_str(),
            "http://localhost:3000/api/auth/callback/asgardeo"
        );
        assert_eq!(settings.paths().sign_in, app::names::paths::SIGN_IN);
        assert_eq!(settings.paths().callback, app::names::paths::CALLBACK);
        assert_eq!(settings.paths().session, app::names::paths::SESSION);
        assert_eq!(settings.paths().sign_out, app::names::paths::SIGN_OUT);
        assert_eq!(settings.paths().refresh, app::names::paths::REFRESH);
        assert_eq!(settings.paths().events, app::names::paths::AUTH_EVENTS);
        assert_eq!(
            settings.paths().backchannel_logout,
            app::names::paths::BACKCHANNEL_LOGOUT
        );
        assert!(!settings.secure_cookies());
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
    fn missing_and_malformed_values_are_named() {
        let without = |name: &str| {
            ASGARDEO
                .iter()
                .copied()
                .filter(|(k, _)| *k != name)
                .collect::<Vec<_>>()
        };
        assert!(error_of(&without("AUTH_ASGARDEO_ID")).starts_with("AUTH_ASGARDEO_ID is required"));
        assert!(error_of(&without("AUTH_SECRET")).starts_with("AUTH_SECRET is required"));
        for (pair, says) in [
            (
                ("AUTH_ASGARDEO_SCOPE", "profile email"),
                "AUTH_ASGARDEO_SCOPE",
            ),
            (
                ("AUTH_SESSION_IDLE_TIMEOUT", "0"),
                "AUTH_SESSION_IDLE_TIMEOUT",
            ),
            (("LEPTOS_SITE_ADDR", "localhost"), "LEPTOS_SITE_ADDR"),
            (("SERVER_IDLE_TIMEOUT", "soon"), "SERVER_IDLE_TIMEOUT"),
            (
                ("AUTH_URL", "http://app.example.com"),
                "AUTH_URL=https://app.example.com",
            ),
        ] {
            let err = error_of(&asgardeo_with(pair));
            assert!(
                err.to_lowercase().contains(&says.to_lowercase()) || err.contains(says),
                "{pair:?}: {err}"
            );
        }
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
    fn development_idp_refuses_a_public_auth_url_or_listen_address() {
        let err = error_of(&[("AUTH_URL", "https://app.example.com")]);
        assert!(err.starts_with("AUTH_ASGARDEO_ISSUER is required"), "{err}");
        assert!(err.contains("loopback"), "{err}");
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
        vars.pop();
        vars.push(("ASGARDEO_ME_ENDPOINT", "http://127.0.0.1:8080/scim2/Me"));
        assert!(load(&vars).is_ok());
    }

    #[test]
    fn auth_url_follows_the_listen_port_by_default() {
        let mut vars = ASGARDEO.to_vec();
        vars.push(("LEPTOS_SITE_ADDR", "127.0.0.1:4123"));
        let config = load(&vars).unwrap();
        assert_eq!(
            config.settings().base_url().as_str(),
            "http://localhost:4123/"
        );
        assert_eq!(config.settings().origin(), "http://localhost:4123");
    }
}
