//! Builds the server from a [`Config`]: the development IdP when no issuer is configured, the
//! backend-for-frontend (`axum-oidc-bff`) with this app's user, error pages and scim2/Me proxy,
//! the Leptos routes, and the middleware around them.

use crate::{
    config::{Config, Provider},
    error::{server_fn_status, AppErrorPages},
    AppState,
};
use anyhow::Context;
use app::{auth::ssr::ScimSettings, auth::SessionUser, names::paths, shell, App};
use axum::{
    extract::Request,
    middleware::{from_fn, from_fn_with_state},
    Router,
};
use axum_oidc_bff::{
    Bff, CspNonce, FetchUserInfo, ManualClock, Proxy, SecurityHeaders, SystemClock,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{future::Future, net::SocketAddr, time::Duration};
use tokio::net::TcpListener;
use tower_http::{timeout::TimeoutLayer, trace::TraceLayer};
use url::Url;

/// The server, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    serve: axum_oidc_bff::ServeLimits,
    bff: Bff,
    #[cfg(feature = "dev-idp")]
    dev_idp: Option<dev_idp::DevIdp>,
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
        Self::build_on(config, leptos_options, listener, None).await
    }

    /// Builds with a clock the caller moves (tests).
    pub async fn build_with(
        config: Config,
        leptos_options: LeptosOptions,
        listener: TcpListener,
        clock: ManualClock,
    ) -> anyhow::Result<Self> {
        Self::build_on(config, leptos_options, listener, Some(clock)).await
    }

    async fn build_on(
        config: Config,
        leptos_options: LeptosOptions,
        listener: TcpListener,
        clock: Option<ManualClock>,
    ) -> anyhow::Result<Self> {
        let addr = listener.local_addr().context("local address")?;
        #[cfg(feature = "dev-idp")]
        let mut dev_idp = None;
        let settings = match &config.provider {
            Provider::External => config.settings().clone(),
            #[cfg(feature = "dev-idp")]
            Provider::Dev(dev) => {
                let started = crate::dev::start(&config, dev).await?;
                let settings = config.settings_for(
                    &started.issuer,
                    &started.client_id,
                    started.client_secret.clone(),
                )?;
                dev_idp = Some(started.idp);
                settings
            }
        };
        let issuer = settings.issuer().clone();
        let me_endpoint = config
            .me_endpoint_for(&issuer)
            .context("the scim2/Me endpoint (set ASGARDEO_ME_ENDPOINT)")?;
        let scim = ScimSettings {
            me_endpoint: me_endpoint.clone(),
            token_in_browser: settings.expose_access_token(),
        };

        let mut headers = SecurityHeaders::default()
            .static_path("/pkg/")
            .static_path("/favicon.svg");
        // The browser calls scim2/Me itself only when it holds the token.
        if scim.token_in_browser {
            headers = headers.connect_to(me_endpoint.origin().ascii_serialization());
        }
        // `make dev`: the live-reload socket of `cargo leptos watch`.
        if std::env::var_os("LEPTOS_WATCH").is_some() {
            let port = leptos_options
                .reload_external_port
                .unwrap_or(leptos_options.reload_port);
            headers = headers
                .connect_to(format!("ws://localhost:{port}"))
                .connect_to(format!("ws://127.0.0.1:{port}"));
        }
        let builder = Bff::builder(settings)
            .user(SessionUser::from_claims)
            // Like Asgardeo without attributes configured: names come from userinfo.
            .fetch_userinfo(FetchUserInfo::WhenProfileMissing)
            .error_pages(AppErrorPages {
                options: leptos_options.clone(),
            })
            .security_headers(headers);
        let builder = match clock {
            Some(clock) => builder.clock(clock),
            None => builder.clock(SystemClock),
        };
        let bff = builder.build().await?;

        let serve = config.serve.clone();
        let router = router(&bff, &config, leptos_options, scim, &me_endpoint)?;
        Ok(Application {
            listener,
            router,
            serve,
            bff,
            #[cfg(feature = "dev-idp")]
            dev_idp,
            addr,
            issuer,
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
        let bff = self.bff;
        let served = axum_oidc_bff::serve(self.listener, self.router, self.serve, async move {
            shutdown.await;
            // Open event streams tell their tabs to reconnect (to another instance) and end.
            bff.shutdown().await;
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
    bff: &Bff,
    config: &Config,
    leptos_options: LeptosOptions,
    scim: ScimSettings,
    me_endpoint: &Url,
) -> anyhow::Result<Router> {
    let state = AppState {
        leptos_options: leptos_options.clone(),
        in_flight: crate::limits::InFlight::new(config.route_limits),
    };
    let context = move || {
        provide_context(scim.clone());
        // The nonce this response's Content-Security-Policy allows, for the scripts Leptos writes.
        let nonce = use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
        if let Some(CspNonce(nonce)) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    };
    // Tokens kept from the browser: `/api/scim2/Me` is scim2/Me through the server (and nothing
    // else of the IdP: the proxy stays under its upstream).
    let proxy = Proxy::new(paths::ME_PROXY, me_endpoint.as_str())?;
    let routes = generate_route_list(App);
    let router = Router::new()
        .merge(bff.router())
        .merge(bff.proxy(proxy))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(from_fn(server_fn_status))
        .layer(from_fn_with_state(state.clone(), crate::limits::cap_in_flight))
        .layer(bff.layer())
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::GATEWAY_TIMEOUT,
            Duration::from_secs(60),
        ))
        .layer(
            // Method and path only: query strings carry authorization codes and state.
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
            }),
        )
        .with_state(state);
    Ok(router)
}
