//! The outside security review's findings, each as what an attacker or an unlucky user would do:
//! strangers filling the store, a sign-out undone by a slow request, a refresh cut off midway,
//! a refresh flood, a store that evicts, and the transport headers.

use crate::helpers::{
    hostile::{signed_in_at, Behaviour, HostileIdp, LogoutMischief, Refresh, Scim, SUBJECT},
    idp::{bind_apps, TestIdp},
    redis::RedisServer,
    *,
};
use axum_oidc_bff::{Clock, SystemClock};
use reqwest::{cookie::CookieStore, header, Client, StatusCode};
use std::{sync::Arc, time::Duration};

/// The hostile IdP, and the app (with `extra` settings) signed in to it in a browser whose
/// cookie jar the test can read.
async fn signed_in(
    behaviour: Behaviour,
    extra: &[(&str, &str)],
) -> (HostileIdp, TestApp, Client, Arc<reqwest::cookie::Jar>) {
    let (browser, jar) = browser_with_jar();
    let (idp, app) = signed_in_at(behaviour, extra, Some(&browser)).await;
    (idp, app, browser, jar)
}

/// What the browser's cookie jar would send to the app now.
fn cookie_header(app: &TestApp, jar: &reqwest::cookie::Jar) -> String {
    let url = app.url("/").parse().unwrap();
    jar.cookies(&url)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn session_with_cookie(app: &TestApp, cookie: &str) -> serde_json::Value {
    Client::new()
        .get(app.url("/api/auth/session"))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn redis_cli(redis: &RedisServer, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &redis.port().to_string()])
        .args(args)
        .output()
        .expect("redis-cli (Debian's redis-tools) must be installed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn redis_keys(redis: &RedisServer) -> u64 {
    redis_cli(redis, &["DBSIZE"]).parse().unwrap()
}

// 1. Strangers cost nothing.

#[tokio::test]
async fn twenty_thousand_anonymous_sign_ins_leave_the_store_as_it_was_and_sign_in_still_works() {
    let redis = RedisServer::start().await;
    let url = redis.url();
    let listeners = bind_apps(1).await;
    let port = listeners[0].local_addr().unwrap().port();
    let idp = TestIdp::start(&[port], Duration::from_secs(3600)).await;
    let env = idp.app_env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("SESSION_STORE", &url));
    let app = spawn_app_on(listeners.into_iter().next().unwrap(), &vars).await;
    let before = redis_keys(&redis);

    let stranger = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let long_callback = format!("/server-profile?{}", "x".repeat(4000));
    let sign_in_url = app.url(&format!(
        "/api/auth/signin/asgardeo?callbackUrl={}",
        urlencode(&long_callback)
    ));
    use futures_util::StreamExt;
    let answers: Vec<StatusCode> = futures_util::stream::iter(0..20_000)
        .map(|_| {
            let (stranger, url) = (stranger.clone(), sign_in_url.clone());
            async move { stranger.get(url).send().await.unwrap().status() }
        })
        .buffer_unordered(32)
        .collect()
        .await;

    assert!(answers.iter().all(|s| *s == StatusCode::SEE_OTHER));
    assert_eq!(redis_keys(&redis), before, "no key per anonymous sign-in");
    // A real sign-in, every step, still works, and only it creates a session.
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;
    assert_eq!(
        session_json(&app, &app.browser).await["user"]["email"],
        "alice"
    );
    // What the sign-in left: its session, the record that its state was used (for the rest of
    // the sign-in's ten minutes) and the user's list of sessions.
    let mut kinds: Vec<String> = redis_cli(&redis, &["--scan"])
        .lines()
        .map(|key| {
            key.rsplit_once(':')
                .map_or(key, |(kind, _)| kind)
                .to_owned()
        })
        .collect();
    kinds.sort();
    assert_eq!(redis_keys(&redis), before + 3, "{kinds:?}");
    assert_eq!(
        kinds,
        [
            "asgardeo-leptos:session",
            "asgardeo-leptos:state",
            "asgardeo-leptos:user-sessions"
        ]
    );
}

#[tokio::test]
async fn the_sign_in_cookie_is_sealed_short_lived_and_bounded() {
    let app = spawn_app(&[]).await;
    let mut last = String::new();
    for _ in 0..6 {
        let start = app
            .browser
            .get(app.url(&format!(
                "/api/auth/signin/asgardeo?callbackUrl={}",
                urlencode(&format!("/{}", "p".repeat(600)))
            )))
            .send()
            .await
            .unwrap();
        last = start
            .headers()
            .get(header::SET_COOKIE)
            .expect("the sign-in cookie")
            .to_str()
            .unwrap()
            .to_owned();
    }
    assert!(
        last.contains("HttpOnly") && last.contains("Max-Age=600"),
        "{last}"
    );
    assert!(last.len() < 4096, "{} bytes", last.len());
    // What is inside (state, nonce, verifier, where to return) cannot be read from it.
    assert!(
        !last.contains("return_to") && !last.contains("pkce_verifier"),
        "sealed: {last}"
    );
    // The newest sign-in still finishes (a callbackUrl over 512 bytes went home).
    let hops = sign_in_until_callback(&app, &app.browser, "/", "alice", "alice-pass").await;
    let done = app.browser.get(&hops.callback_url).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/");
}

// 2. Sign-out is final; token writes are ordered.

#[tokio::test]
async fn signing_out_while_a_slow_refresh_is_in_flight_ends_the_session_for_good() {
    let (idp, app, browser, jar) = signed_in(
        Behaviour {
            expires_in: Some(600),
            refresh: Refresh::Slow(Duration::from_secs(2)),
            ..Default::default()
        },
        &[],
    )
    .await;
    app.clock.advance(Duration::from_secs(570));
    let old_cookie = cookie_header(&app, &jar);

    let profile = tokio::spawn({
        let (browser, url) = (browser.clone(), app.url("/server-profile"));
        async move { browser.get(url).send().await.unwrap().status() }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let out = browser
        .post(app.url("/api/auth/signout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    profile.await.unwrap();

    assert_eq!(idp.refresh_hits(), 1, "the refresh was in flight");
    assert_eq!(session_json(&app, &browser).await, serde_json::json!({}));
    assert_eq!(
        session_with_cookie(&app, &old_cookie).await,
        serde_json::json!({}),
        "the old cookie does not bring the session back"
    );
}

#[tokio::test]
async fn a_slow_request_cannot_put_back_tokens_older_than_a_refresh_saved_meanwhile() {
    let (idp, app, browser, _jar) = signed_in(
        Behaviour {
            expires_in: Some(600),
            scim: Scim::Slow(Duration::from_secs(2)),
            ..Default::default()
        },
        &[("AUTH_SESSION_IDLE_TIMEOUT", "600")],
    )
    .await;
    // A: a server-function call that writes the session (its idle time starts over) and then
    // waits on a slow scim2/Me.
    app.clock.advance(Duration::from_secs(100));
    let slow = tokio::spawn({
        let (browser, url) = (browser.clone(), app.url("/api/server_profile"));
        async move {
            browser
                .post(url)
                .header(header::CONTENT_TYPE, "application/json")
                .header("sec-fetch-site", "same-origin")
                .body("{}")
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // B: meanwhile, at expiry, another request refreshes (the refresh token rotates).
    app.clock.advance(Duration::from_secs(500));
    assert_eq!(
        session_json(&app, &browser).await["user"]["email"],
        "mallory"
    );
    assert_eq!(idp.refresh_hits(), 1);
    assert_eq!(slow.await.unwrap(), StatusCode::OK);

    // The next refresh presents the rotated token, not the one A had read.
    app.clock.advance(Duration::from_secs(545));
    assert_eq!(
        session_json(&app, &browser).await["user"]["email"],
        "mallory"
    );
    assert_eq!(idp.refresh_hits(), 2);
    assert_eq!(idp.stale_refreshes(), 0, "an older refresh token came back");
}

// 3. A refresh survives the request that started it.

#[tokio::test]
async fn a_refresh_cut_off_by_the_client_still_saves_the_rotated_token_and_frees_the_lock() {
    let redis = RedisServer::start().await;
    let url = redis.url();
    let (idp, app, browser, jar) = signed_in(
        Behaviour {
            expires_in: Some(600),
            refresh: Refresh::Slow(Duration::from_secs(2)),
            ..Default::default()
        },
        &[("SESSION_STORE", &url)],
    )
    .await;
    app.clock.advance(Duration::from_secs(570));
    let impatient = Client::builder()
        .cookie_provider(jar.clone())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    let gone = impatient.get(app.url("/api/auth/session")).send().await;
    assert!(gone.is_err(), "the client gave up mid-refresh");
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let next = browser
        .get(app.url("/api/auth/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), StatusCode::OK, "not stuck behind a lock");
    let session: serde_json::Value = next.json().await.unwrap();
    assert_eq!(session["user"]["email"], "mallory");
    assert_eq!(
        idp.refresh_hits(),
        1,
        "the rotated token was kept: no second refresh"
    );
    assert_eq!(idp.stale_refreshes(), 0);
}

// 4. Refresh on demand is bounded.

#[tokio::test]
async fn refreshing_on_demand_happens_at_most_once_per_ten_seconds() {
    let (idp, app, browser, _jar) = signed_in(Behaviour::default(), &[]).await;
    let refresh = |token: String| {
        let (browser, url, origin) = (
            browser.clone(),
            app.url("/api/auth/refresh"),
            app.base.clone(),
        );
        async move {
            let response = browser
                .post(url)
                .header(header::ORIGIN, origin)
                .form(&[("access_token", token)])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<serde_json::Value>().await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first = session_json(&app, &browser).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut current = refresh(first.clone()).await;
    assert_ne!(current, first);
    for _ in 0..20 {
        current = refresh(current.clone()).await;
    }
    assert_eq!(
        idp.refresh_hits(),
        1,
        "one grant for 21 calls within ten seconds"
    );

    app.clock.advance(Duration::from_secs(10));
    assert_ne!(refresh(current.clone()).await, current);
    assert_eq!(idp.refresh_hits(), 2);
}

// 5. Back-channel logout cannot be lost.

#[tokio::test]
async fn a_logout_whose_mark_could_not_be_written_is_accepted_when_the_idp_retries() {
    let redis = RedisServer::start().await;
    // The app's Redis user may write sessions, locks, used jtis and states and its users'
    // session lists, and may read logout marks but not (yet) write them: the mark write fails.
    let created = redis_cli(
        &redis,
        &[
            "ACL",
            "SETUSER",
            "app",
            "on",
            ">app-pass",
            "+@all",
            "&*",
            "~asgardeo-leptos:session:*",
            "~asgardeo-leptos:jti:*",
            "~asgardeo-leptos:state:*",
            "~asgardeo-leptos:user-sessions:*",
            "~asgardeo-leptos:lock:*",
            "%R~asgardeo-leptos:logout:*",
        ],
    );
    assert_eq!(created, "OK");
    let store = format!("redis://app:app-pass@127.0.0.1:{}", redis.port());
    let (idp, app, browser, _jar) =
        signed_in(Behaviour::default(), &[("SESSION_STORE", &store)]).await;
    let token = idp.logout_token(
        Some(SUBJECT),
        Some(&idp.last_sid()),
        "j-retried",
        LogoutMischief::None,
    );
    let post = |token: String| {
        let url = app.url("/api/auth/backchannel-logout");
        async move {
            Client::new()
                .post(url)
                .form(&[("logout_token", token)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };

    assert_eq!(
        post(token.clone()).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "the IdP is told to retry"
    );
    assert_eq!(
        session_json(&app, &browser).await["user"]["email"],
        "mallory"
    );

    assert_eq!(
        redis_cli(
            &redis,
            &["ACL", "SETUSER", "app", "~asgardeo-leptos:logout:*"]
        ),
        "OK"
    );
    assert_eq!(
        post(token.clone()).await,
        StatusCode::OK,
        "the retry is not a replay"
    );
    assert_eq!(session_json(&app, &browser).await, serde_json::json!({}));
    // The jti is remembered for the token's lifetime (2 minutes here) plus skew, not for days:
    // for what is left of the token by the app's clock, which stands still in tests while the
    // IdP's runs on (so a slow machine adds its seconds).
    let ttl: i64 = redis_cli(&redis, &["TTL", "asgardeo-leptos:jti:j-retried"])
        .parse()
        .unwrap();
    let app_clock_behind = SystemClock.now() - app.clock.now();
    assert!(
        (120..=240 + app_clock_behind).contains(&ttl),
        "jti kept {ttl} s (the app's clock {app_clock_behind} s behind the IdP's)"
    );
    assert_eq!(
        post(token).await,
        StatusCode::BAD_REQUEST,
        "a third time is a replay"
    );
}

// Logout marks must not be evicted.

#[tokio::test]
async fn a_redis_that_evicts_keys_is_refused_at_start_up_with_the_fix_named() {
    let redis =
        RedisServer::start_with(&["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"])
            .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (listen, auth_url, store) = (
        format!("127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        redis.url(),
    );
    let config = server::config::Config::from_vars(&[
        ("LEPTOS_SITE_ADDR", &listen),
        ("AUTH_URL", &auth_url),
        ("DEV_IDP_PORT", "0"),
        ("AUTH_SECRET", "eviction-test-secret-eviction-test-secret"),
        ("SESSION_STORE", &store),
    ])
    .unwrap();
    let options = leptos::config::LeptosOptions::builder()
        .output_name("asgardeo-leptos")
        .build();
    let err =
        match server::startup::Application::build_with_listener(config, options, listener).await {
            Ok(_) => panic!("an evicting Redis was accepted"),
            Err(err) => format!("{err:#}"),
        };
    assert!(err.contains("maxmemory-policy allkeys-lru"), "{err}");
    assert!(err.contains("noeviction"), "{err}");
}

// 9. Transport.

#[tokio::test]
async fn hsts_is_sent_when_the_app_is_served_over_https_and_not_otherwise() {
    let plain = spawn_app(&[]).await;
    let page = get_page(&plain.browser, &plain.url("/")).await;
    assert!(page
        .headers()
        .get(header::STRICT_TRANSPORT_SECURITY)
        .is_none());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let https = format!(
        "https://localhost:{}",
        listener.local_addr().unwrap().port()
    );
    let app = spawn_app_on(listener, &[("AUTH_URL", &https)]).await;
    let page = get_page(&app.browser, &app.url("/")).await;
    let hsts = page.headers().get(header::STRICT_TRANSPORT_SECURITY);
    assert!(
        hsts.is_some_and(|v| v.to_str().unwrap().starts_with("max-age=31536000")),
        "{hsts:?}"
    );
}
