//! Per-request auth overhead: what every page and API call pays before doing its work — the
//! session looked up in the memory store and decoded, its lifetimes, back-channel logout mark and
//! token freshness checked (`AuthService::current`, the same call the handlers make).
//!
//! `cargo bench -p server --bench auth_overhead`; `make bench` runs it and reports the median.

use app::auth::SessionUser;
use criterion::{criterion_group, criterion_main, Criterion};
use server::{
    auth::{
        events::EventBus,
        http::IdpHttp,
        oidc::OidcClient,
        scim::ScimClient,
        session::{AuthSession, SignedIn, Tokens},
        AuthService,
    },
    clock::{Clock, SharedClock, SystemClock},
    config::Config,
    sessions::{AnyStore, BackendOptions, SessionBackend},
};
use std::{sync::Arc, time::Duration};
use tower_sessions::{Expiry, Session};
use url::Url;

fn service(runtime: &tokio::runtime::Runtime) -> (Arc<AuthService>, Arc<AnyStore>) {
    const ISSUER: &str = "https://api.asgardeo.io/t/bench/oauth2/token";
    let config = Config::from_vars(&[
        ("AUTH_ASGARDEO_ISSUER", ISSUER),
        ("AUTH_ASGARDEO_ID", "bench"),
        ("AUTH_ASGARDEO_SECRET", "bench"),
        ("AUTH_SECRET", "bench-secret-bench-secret-bench-secret"),
    ])
    .expect("config");
    let issuer = Url::parse(ISSUER).expect("issuer");
    let clock: SharedClock = Arc::new(SystemClock);
    let http = IdpHttp::new(Duration::from_secs(5), Duration::from_secs(15)).expect("http");
    let oidc = OidcClient::new(
        &issuer,
        "bench",
        "bench",
        &config.redirect_url(),
        &config.scopes,
        &config.id_token_algs,
        http.clone(),
        clock.clone(),
        config.idp_max_concurrency,
        &config.trusted_audiences,
    )
    .expect("oidc client");
    let backend = runtime
        .block_on(SessionBackend::connect(
            &config.session_store,
            BackendOptions {
                key_prefix: config.session_key_prefix.clone(),
                refresh_wait: config.refresh_lock_wait,
            },
        ))
        .expect("memory store");
    let store = Arc::new(AnyStore(backend.clone()));
    let scim = ScimClient::new(http, config.me_endpoint_for(&issuer).expect("scim2/Me"));
    let events = runtime
        .block_on(EventBus::start(backend.clone()))
        .expect("event bus");
    let auth = AuthService::new(Arc::new(config), oidc, scim, backend, events, clock);
    (auth, store)
}

fn signed_in(now: i64) -> SignedIn {
    SignedIn {
        user: SessionUser {
            email: "alice".into(),
            given_name: Some("Alice".into()),
            family_name: Some("Liddell".into()),
        },
        sub: "475c20c5-fb98-3463-29a1-7aa20f5a73cd".into(),
        sid: Some("x".repeat(43)),
        auth_time: Some(now),
        tokens: Tokens {
            access_token: "a".repeat(43),
            expires_at: Some(now + 3600),
            refresh_at: Some(now + 3540),
            refresh_token: Some("r".repeat(43)),
            id_token: "i".repeat(958),
        },
        signed_in_at: now,
        touched_at: now,
        refreshed_at: None,
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (auth, store) = service(&runtime);
    let expiry = Some(Expiry::OnInactivity(time::Duration::days(1)));
    // 10 000 other sessions, so the lookup is not in an empty map.
    let now = SystemClock.now();
    let id = runtime.block_on(async {
        for _ in 0..10_000 {
            AuthSession::new(Session::new(None, store.clone(), expiry))
                .begin(&signed_in(now))
                .await
                .expect("session");
        }
        let session = AuthSession::new(Session::new(None, store.clone(), expiry));
        session.begin(&signed_in(now)).await.expect("session");
        session.id().expect("saved")
    });

    c.bench_function("auth_overhead/current_session_fresh_token", |b| {
        b.to_async(&runtime).iter(|| async {
            // A new Session per iteration, as each request gets one from its cookie.
            let session = AuthSession::new(Session::new(Some(id), store.clone(), expiry));
            let signed_in = auth
                .current(&session)
                .await
                .expect("store")
                .expect("signed in");
            assert!(!signed_in.needs_refresh(now));
        })
    });
    c.bench_function("auth_overhead/no_session_cookie", |b| {
        b.to_async(&runtime).iter(|| async {
            let session = AuthSession::new(Session::new(None, store.clone(), expiry));
            assert!(auth.current(&session).await.expect("store").is_none());
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
