//! Builds the server from a [`Config`]: the development IdP when no issuer is configured, the
//! OIDC client, the session layer, the Leptos routes, and the middleware around them.

use crate::{
    auth::{
        self,
        csrf::AppOrigin,
        events::{AuthEvent, EventBus},
        http::IdpHttp,
        oidc::OidcClient,
        scim::ScimClient,
        AuthService,
    },
    clock::{SharedClock, SystemClock},
    config::{Config, Provider},
    error::{render_error_pages, server_fn_status},
    sessions::{AnyStore, BackendOptions, SessionBackend},
    AppState,
};
use anyhow::Context;
use app::{auth::ssr::Backend, shell, App};
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::{from_fn, from_fn_with_state},
    Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha512};
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tower_http::{set_header::SetResponseHeaderLayer, timeout::TimeoutLayer, trace::TraceLayer};
use tower_sessions::{
    cookie::{Key, SameSite},
    Expiry, SessionManagerLayer,
};
use url::Url;

/// The server, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    serve: crate::serve::ServeLimits,
    #[cfg(feature = "dev-idp")]
    dev_idp: Option<dev_idp::DevIdp>,
    events: Arc<EventBus>,
    pub addr: SocketAddr,
    /// The issuer the app signs in with (the development IdP's, when it runs).
    pub issuer: Url,
}

impl Application {
    /// Binds `config.listen` and builds everything.
    pub async fn build(config: Config, leptos_options: LeptosOptions) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen).await.with_context(|| {
            format!(
                "cannot listen on {} (is another server using the port?)",
                config.listen
            )
        })?;
        Self::build_with_listener(config, leptos_options, listener).await
    }

    /// Builds on an already bound listener (tests bind port 0 first, to know `AUTH_URL`).
    pub async fn build_with_listener(
        config: Config,
        leptos_options: LeptosOptions,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        Self::build_with(config, leptos_options, listener, Arc::new(SystemClock)).await
    }

    /// Builds with a given time source (tests move a [`ManualClock`](crate::clock::ManualClock)).
    pub async fn build_with(
        config: Config,
        leptos_options: LeptosOptions,
        listener: TcpListener,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let addr = listener.local_addr().context("local address")?;
        #[cfg(feature = "dev-idp")]
        let mut dev_idp = None;
        let (issuer, client_id, client_secret) = match &config.provider {
            Provider::External {
                issuer,
                client_id,
                client_secret,
            } => (issuer.clone(), client_id.clone(), client_secret.clone()),
            #[cfg(feature = "dev-idp")]
            Provider::Dev(dev) => {
                let started = crate::dev::start(&config, dev).await?;
                let provider = (
                    started.issuer.clone(),
                    started.client_id.clone(),
                    started.client_secret.clone(),
                );
                dev_idp = Some(started.idp);
                provider
            }
        };
        let me_endpoint = config
            .me_endpoint_for(&issuer)
            .context("the scim2/Me endpoint (set ASGARDEO_ME_ENDPOINT)")?;

        let http = IdpHttp::new(config.http_connect_timeout, config.http_timeout)?;
        let oidc = OidcClient::new(
            &issuer,
            &client_id,
            client_secret.expose_secret(),
            &config.redirect_url(),
            &config.scopes,
            &config.id_token_algs,
            http.clone(),
            clock.clone(),
            config.idp_max_concurrency,
            &config.trusted_audiences,
        )?;
        let backend = SessionBackend::connect(
            &config.session_store,
            BackendOptions {
                key_prefix: config.session_key_prefix.clone(),
                refresh_wait: config.refresh_lock_wait,
            },
        )
        .await?;
        tracing::info!(store = backend.name(), "sessions ready");
        let events = EventBus::start(backend.clone()).await?;
        let config = Arc::new(config);
        let auth = AuthService::new(
            config,
            oidc,
            ScimClient::new(http, me_endpoint),
            backend,
            events.clone(),
            clock,
        );
        let serve = auth.config().serve.clone();
        let router = router(auth, leptos_options, &issuer)?;
        Ok(Application {
            listener,
            router,
            serve,
            #[cfg(feature = "dev-idp")]
            dev_idp,
            addr,
            issuer,
            events,
        })
    }

    /// Serves until `shutdown` completes (then finishes in-flight requests).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        #[cfg(feature = "dev-idp")]
        let idp_task = self.dev_idp.map(|idp| {
            let mut stop = stop_rx.clone();
            tokio::spawn(idp.serve(async move {
                let _ = stop.wait_for(|s| *s).await;
            }))
        });
        #[cfg(not(feature = "dev-idp"))]
        let (idp_task, _) = (
            None::<tokio::task::JoinHandle<std::io::Result<()>>>,
            stop_rx,
        );
        tracing::info!("listening on http://{}", self.addr);
        let events = self.events;
        let served = crate::serve::serve(self.listener, self.router, self.serve, async move {
            shutdown.await;
            // Open event streams tell their tabs to reconnect (to another instance) and end.
            events.publish(AuthEvent::Shutdown).await;
        })
        .await;
        // The development IdP outlives the app's last request (which may be waiting on it).
        let _ = stop_tx.send(true);
        if let Some(task) = idp_task {
            task.await
                .context("development IdP task")?
                .context("development IdP")?;
        }
        served.context("server")
    }
}

fn router(
    auth: Arc<AuthService>,
    leptos_options: LeptosOptions,
    issuer: &Url,
) -> anyhow::Result<Router> {
    // The browser calls scim2/Me itself only when it holds the token.
    let me_endpoint = auth
        .config()
        .expose_access_token
        .then(|| auth.scim().me_endpoint());
    let csp = Arc::new(ContentSecurityPolicy::new(
        me_endpoint,
        issuer,
        &leptos_options,
        auth.clone(),
    ));
    let state = AppState {
        leptos_options: leptos_options.clone(),
        auth: auth.clone(),
        in_flight: crate::limits::InFlight::new(auth.config().route_limits),
    };
    // Discovery and JWKS now, not on the first sign-in.
    tokio::spawn({
        let auth = auth.clone();
        async move {
            if let Err(err) = auth.oidc().provider().await {
                tracing::warn!(error = %crate::cause::chain(&err), "the identity provider is not reachable yet; sign-in will retry");
            }
        }
    });

    let store = AnyStore(auth.backend_handle());
    let origin = AppOrigin(auth.config().origin().into());
    let secure = auth.config().secure_cookies();
    let session_layer = session_layer(auth.config(), store)?;
    let backend: Backend = auth;
    let context = move || {
        provide_context(backend.clone());
        // The nonce this response's Content-Security-Policy allows, for the scripts Leptos writes.
        let nonce = use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
        if let Some(CspNonce(nonce)) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    };
    let routes = generate_route_list(App);
    let router = Router::new()
        .merge(auth::router())
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(from_fn(server_fn_status))
        .layer(from_fn_with_state(origin, auth::csrf::refuse_cross_site))
        .layer(from_fn_with_state(state.clone(), crate::limits::cap_in_flight))
        .layer(from_fn_with_state(leptos_options, render_error_pages))
        .layer(from_fn(no_store_unless_static))
        .layer(from_fn_with_state(csp, content_security_policy))
        .layer(session_layer)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            // Only when AUTH_URL is https: browsers then never try plain http for a year.
            secure.then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains")),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(TimeoutLayer::with_status_code(http::StatusCode::GATEWAY_TIMEOUT, Duration::from_secs(60)))
        .layer(
            // Method and path only: query strings carry authorization codes and state.
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
            }),
        )
        .with_state(state);
    Ok(router)
}

fn session_layer(
    config: &Config,
    store: AnyStore,
) -> anyhow::Result<SessionManagerLayer<AnyStore, tower_sessions::service::PrivateCookie>> {
    // The cookie holds only the session id, encrypted and authenticated with a key derived from
    // AUTH_SECRET, so ids cannot be forged or read.
    let key = Key::try_from(
        &Sha512::digest(format!(
            "asgardeo-leptos session cookie\0{}",
            config.auth_secret.expose_secret()
        ))[..],
    )
    .context("derive the cookie key from AUTH_SECRET")?;
    // `__Host-` binds the cookie to this exact origin when it can be (https only).
    let name = if config.secure_cookies() {
        "__Host-asgardeo-leptos.sid"
    } else {
        "asgardeo-leptos.sid"
    };
    let idle = time::Duration::seconds(config.session_idle_timeout.as_secs() as i64);
    Ok(SessionManagerLayer::new(store)
        .with_name(name)
        .with_path("/")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_expiry(Expiry::OnInactivity(idle))
        .with_private(key))
}

/// The nonce of one response's Content-Security-Policy.
#[derive(Clone)]
struct CspNonce(Arc<str>);

/// The policy, less its per-response nonce: scripts only from this origin and with the nonce
/// (and wasm), connections only to this origin and scim2/Me's, forms only to this origin, the
/// IdP's and its end-session endpoint's (sign-out continues there), no framing, no plugins, no
/// `<base>`.
struct ContentSecurityPolicy {
    /// Everything after the nonce up to `form-action`'s origins (built once).
    after_nonce: String,
    /// The issuer's origin, which `form-action` always allows.
    issuer_origin: String,
    auth: Arc<AuthService>,
}

impl ContentSecurityPolicy {
    fn new(
        me_endpoint: Option<&Url>,
        issuer: &Url,
        options: &LeptosOptions,
        auth: Arc<AuthService>,
    ) -> Self {
        let origin = |url: &Url| url.origin().ascii_serialization();
        let mut connect_src = "'self'".to_owned();
        if let Some(me_endpoint) = me_endpoint {
            connect_src.push(' ');
            connect_src.push_str(&origin(me_endpoint));
        }
        // `make dev`: the live-reload socket of `cargo leptos watch`.
        if std::env::var_os("LEPTOS_WATCH").is_some() {
            let port = options.reload_external_port.unwrap_or(options.reload_port);
            connect_src.push_str(&format!(" ws://localhost:{port} ws://127.0.0.1:{port}"));
        }
        ContentSecurityPolicy {
            after_nonce: format!(
                "' 'wasm-unsafe-eval'; connect-src {connect_src}; img-src 'self' data:; \
                 style-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                 form-action 'self' {}",
                origin(issuer)
            ),
            issuer_origin: origin(issuer),
            auth,
        }
    }

    fn header(&self, nonce: &str) -> Option<HeaderValue> {
        let before = "default-src 'self'; script-src 'self' 'nonce-";
        // Sign-out is a form POST that the server answers with a redirect to the IdP's
        // end-session endpoint, which form-action must allow too (it may be on another origin
        // than the issuer; it is known once discovery has run).
        let end_session = self
            .auth
            .oidc()
            .discovered()
            .and_then(|p| Url::parse(p.end_session_endpoint()?).ok())
            .map(|url| url.origin().ascii_serialization())
            .filter(|origin| *origin != self.issuer_origin);
        let extra = end_session
            .as_deref()
            .map_or(String::new(), |o| format!(" {o}"));
        let after = "; frame-ancestors 'none'";
        HeaderValue::from_str(&[before, nonce, &self.after_nonce, &extra, after].concat()).ok()
    }
}

/// A fresh nonce per request, handed to the page (see the Leptos context in [`router`]) and
/// named in the response's `Content-Security-Policy`.
async fn content_security_policy(
    State(csp): State<Arc<ContentSecurityPolicy>>,
    mut request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let nonce: Arc<str> = crate::random_token(16).into();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    if let Some(value) = csp.header(&nonce) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// `Cache-Control: no-store` on every response but the static files (`/pkg/…`, the favicon) —
/// the one place it is set (it replaces the event stream's `no-cache`, too): pages and API answers are about the signed-in user, and must stay out of shared caches and the
/// browser's back/forward cache (a stale page would show a signed-out user their profile).
async fn no_store_unless_static(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let is_static = {
        let path = request.uri().path();
        path.starts_with("/pkg/") || path == "/favicon.svg"
    };
    let mut response = next.run(request).await;
    if !is_static {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
