//! Tokens that stay fresh, sessions that survive restarts and scale out, and logout that
//! reaches every session: against a real development IdP over HTTP, a real redis-server and a
//! real SQLite file.

use crate::helpers::{
    hostile::{attempt, signed_in_at, Behaviour, HostileIdp, LogoutMischief, Refresh, SUBJECT},
    idp::{bind_apps, TestIdp},
    redis::RedisServer,
    *,
};
use app::error::SessionEnd as EndReason;
use reqwest::{header, Client, StatusCode};
use std::time::Duration;

const SECRET: (&str, &str) = ("AUTH_SECRET", "sessions-test-secret-sessions-test-secret");

/// `count` apps sharing one development IdP (access tokens living `ttl`) and `extra` settings.
async fn apps(count: usize, ttl: Duration, extra: &[(&str, &str)]) -> (TestIdp, Vec<TestApp>) {
    let listeners = bind_apps(count).await;
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let idp = TestIdp::start(&ports, ttl).await;
    let env = idp.app_env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(SECRET);
    vars.extend_from_slice(extra);
    // One clock: the instances live in the same time.
    let clock = ManualClock::starting_now();
    let mut apps = Vec::new();
    for listener in listeners {
        apps.push(spawn_app_with_clock(listener, &vars, clock.clone()).await);
    }
    (idp, apps)
}

async fn access_token(app: &TestApp, browser: &Client) -> String {
    let session = session_json(app, browser).await;
    session["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("signed in: {session}"))
        .to_owned()
}

async fn profile_page(app: &TestApp, browser: &Client, path: &str) -> (StatusCode, String) {
    let page = get_page(browser, &app.url(path)).await;
    (page.status(), page.text().await.unwrap())
}

async fn post_idp(idp: &TestIdp, path: &str, form: &[(&str, &str)]) {
    let response = reqwest::Client::new()
        .post(idp.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
}

#[tokio::test]
async fn an_expiring_access_token_is_refreshed_before_use() {
    let (idp, apps) = apps(1, Duration::from_secs(4), &[("AUTH_REFRESH_SKEW", "1")]).await;
    let app = &apps[0];
    sign_in(app, &app.browser, "/", "alice", "alice-pass").await;
    let first = access_token(app, &app.browser).await;
    assert_eq!(
        access_token(app, &app.browser).await,
        first,
        "fresh: no refresh"
    );
    assert_eq!(idp.stats().refresh_token_grants, 0);

    app.clock.advance(Duration::from_secs(3));

    let second = access_token(app, &app.browser).await;
    assert_ne!(second, first, "refreshed within the skew");
    assert_eq!(idp.stats().refresh_token_grants, 1);
    let (status, html) = profile_page(app, &app.browser, "/server-profile").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<span id="profile-given-name">Alice</span>"#));

    // A second expiry uses the rotated refresh token; the first one is never presented again
    // (the IdP revokes the whole family when a rotated token is reused).
    app.clock.advance(Duration::from_secs(3));
    let third = access_token(app, &app.browser).await;
    assert_ne!(third, second);
    assert_eq!(idp.stats().refresh_token_grants, 2);
    assert_eq!(
        idp.stats().token_errors,
        0,
        "no refresh token was used twice"
    );
}

#[tokio::test]
async fn twenty_parallel_requests_at_expiry_cause_one_refresh() {
    let (idp, apps) = apps(1, Duration::from_secs(4), &[("AUTH_REFRESH_SKEW", "1")]).await;
    let app = &apps[0];
    sign_in(app, &app.browser, "/", "alice", "alice-pass").await;
    let before = access_token(app, &app.browser).await;
    app.clock.advance(Duration::from_secs(3));

    let tokens = parallel_tokens(&[app], &app.browser, 20).await;

    assert_eq!(
        idp.stats().refresh_token_grants,
        1,
        "exactly one refresh grant"
    );
    assert!(
        tokens.iter().all(|t| t == &tokens[0] && t != &before),
        "every request got the one new token"
    );
}

/// `count` session requests at once, spread round-robin over `apps`.
async fn parallel_tokens(apps: &[&TestApp], browser: &Client, count: usize) -> Vec<String> {
    let requests = (0..count).map(|i| {
        let app = apps[i % apps.len()];
        let (browser, url) = (browser.clone(), app.url("/api/auth/session"));
        tokio::spawn(async move {
            let session: serde_json::Value =
                browser.get(url).send().await.unwrap().json().await.unwrap();
            session["access_token"]
                .as_str()
                .expect("signed in")
                .to_owned()
        })
    });
    let mut tokens = Vec::new();
    for request in requests.collect::<Vec<_>>() {
        tokens.push(request.await.unwrap());
    }
    tokens
}

#[tokio::test]
async fn a_401_from_scim_refreshes_and_retries_once() {
    let (idp, apps) = apps(1, Duration::from_secs(3600), &[]).await;
    let app = &apps[0];
    sign_in(app, &app.browser, "/", "alice", "alice-pass").await;
    let before = access_token(app, &app.browser).await;

    // The IdP stops accepting the access token; the refresh token still works.
    post_idp(
        &idp,
        "/t/dev/_test/expire-access-tokens",
        &[("username", "alice")],
    )
    .await;

    let (status, html) = profile_page(app, &app.browser, "/server-profile").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(r#"<span id="profile-given-name">Alice</span>"#));
    assert_eq!(idp.stats().refresh_token_grants, 1);
    assert_ne!(access_token(app, &app.browser).await, before);
}

#[tokio::test]
async fn the_browser_gets_a_fresh_token_after_scim_refused_its_own() {
    let (idp, apps) = apps(1, Duration::from_secs(3600), &[]).await;
    let app = &apps[0];
    sign_in(app, &app.browser, "/", "alice", "alice-pass").await;
    let rejected = access_token(app, &app.browser).await;
    post_idp(
        &idp,
        "/t/dev/_test/expire-access-tokens",
        &[("username", "alice")],
    )
    .await;

    let refresh = |token: String| {
        let browser = app.browser.clone();
        let url = app.url("/api/auth/refresh");
        async move {
            let response = browser
                .post(url)
                .header(header::ORIGIN, app.base.clone())
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
    let fresh = refresh(rejected.clone()).await;
    assert_ne!(fresh, rejected);
    // Another tab reporting the same rejected token gets the new one, without a second refresh.
    assert_eq!(refresh(rejected).await, fresh);
    assert_eq!(idp.stats().refresh_token_grants, 1);
}

#[tokio::test]
async fn a_revoked_refresh_token_ends_the_session_with_a_clear_message() {
    let (idp, apps) = apps(1, Duration::from_secs(3600), &[]).await;
    let app = &apps[0];
    sign_in(app, &app.browser, "/", "alice", "alice-pass").await;

    post_idp(&idp, "/t/dev/_test/revoke", &[("username", "alice")]).await;

    let (status, html) = profile_page(app, &app.browser, "/server-profile").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{html}");
    assert!(
        html.contains(&EndReason::RefreshRefused.to_string()),
        "{html}"
    );
    assert!(html.contains("Sign in again"));
    assert_eq!(
        session_json(app, &app.browser).await,
        serde_json::json!({}),
        "the session ended"
    );
}

#[tokio::test]
async fn a_refreshed_id_token_about_someone_else_ends_the_session() {
    let idp = HostileIdp::start().await;
    let env = idp.app_env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("AUTH_REFRESH_SKEW", "1"));
    let app = spawn_app(&vars).await;
    idp.misbehave(Behaviour {
        expires_in: Some(2),
        ..Default::default()
    });
    let signed_in = attempt(&app, &app.browser, "/").await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);

    idp.misbehave(Behaviour {
        expires_in: Some(2),
        refresh_sub: Some("someone-else".into()),
        ..Default::default()
    });
    app.clock.advance(Duration::from_secs(1));

    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({}),
        "its tokens are not used"
    );
    assert_eq!(idp.refresh_hits(), 1);
    let (_, html) = profile_page(&app, &app.browser, "/").await;
    assert!(
        html.contains(&EndReason::RefreshRefused.to_string()),
        "the home page says why: {html}"
    );
}

#[tokio::test]
async fn sqlite_sessions_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("asgardeo-leptos-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = format!("sqlite://{}", dir.join("sessions.db").display());
    restart_keeps_the_session(&store).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn redis_sessions_survive_a_restart() {
    let redis = RedisServer::start().await;
    restart_keeps_the_session(&redis.url()).await;
}

async fn restart_keeps_the_session(store: &str) {
    let (_idp, mut apps) = apps(1, Duration::from_secs(3600), &[("SESSION_STORE", store)]).await;
    let app = apps.remove(0);
    let browser = app.browser.clone();
    sign_in(&app, &browser, "/", "alice", "alice-pass").await;
    let token = access_token(&app, &browser).await;
    let port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    let mut vars = crate::helpers::client_env(
        &app.issuer,
        crate::helpers::idp::CLIENT_ID,
        crate::helpers::idp::CLIENT_SECRET,
    );
    vars.extend([
        (SECRET.0, SECRET.1.to_owned()),
        ("SESSION_STORE", store.to_owned()),
    ]);

    app.stop().await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let restarted = spawn_app_on(listener, &vars).await;

    assert_eq!(
        access_token(&restarted, &browser).await,
        token,
        "still signed in after the restart"
    );
    let (status, html) = profile_page(&restarted, &browser, "/server-profile").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<span id="profile-given-name">Alice</span>"#));
}

#[tokio::test]
async fn two_instances_on_one_redis_share_sessions_and_refresh_once() {
    let redis = RedisServer::start().await;
    let url = redis.url();
    let (idp, apps) = apps(
        2,
        Duration::from_secs(4),
        &[("SESSION_STORE", &url), ("AUTH_REFRESH_SKEW", "1")],
    )
    .await;
    let (a, b) = (&apps[0], &apps[1]);
    let browser = a.browser.clone();
    sign_in(a, &browser, "/", "alice", "alice-pass").await;

    // Signed in on A; both profile pages work on B.
    let (status, html) = profile_page(b, &browser, "/server-profile").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<span id="profile-given-name">Alice</span>"#));
    let (status, html) = profile_page(b, &browser, "/client-profile").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Loading your profile"), "{html}");
    let before = access_token(b, &browser).await;

    a.clock.advance(Duration::from_secs(3));
    let tokens = parallel_tokens(&[a, b], &browser, 20).await;

    assert_eq!(
        idp.stats().refresh_token_grants,
        1,
        "one refresh across both instances"
    );
    assert!(tokens.iter().all(|t| t == &tokens[0] && t != &before));
    println!(
        "refresh grants for 20 parallel requests over 2 instances: {}",
        idp.stats().refresh_token_grants
    );
}

#[tokio::test]
async fn redis_down_gives_a_clear_503_and_recovery_when_it_is_back() {
    let mut redis = RedisServer::start().await;
    let url = redis.url();
    let (_idp, apps) = apps(1, Duration::from_secs(3600), &[("SESSION_STORE", &url)]).await;
    let app = &apps[0];
    sign_in(app, &app.browser, "/", "alice", "alice-pass").await;

    redis.stop().await;

    let session = app
        .browser
        .get(app.url("/api/auth/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        session.json::<serde_json::Value>().await.unwrap()["error"],
        "session_store_unavailable"
    );
    let (status, html) = profile_page(app, &app.browser, "/server-profile").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{html}");
    assert!(
        html.contains("The session store is unavailable right now"),
        "{html}"
    );

    redis.restart().await;
    let mut recovered = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let response = app
            .browser
            .get(app.url("/api/auth/session"))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            let session: serde_json::Value = response.json().await.unwrap();
            assert_eq!(
                session["user"]["email"], "alice",
                "the session survived the outage"
            );
            recovered = true;
            break;
        }
    }
    assert!(
        recovered,
        "the app recovers within 10 s of Redis coming back"
    );
}

#[tokio::test]
async fn signing_out_at_the_idp_ends_the_other_browsers_session_through_the_back_channel() {
    let app = spawn_app(&[]).await;
    let first = app.new_browser();
    let second = app.new_browser();
    sign_in(&app, &first, "/", "alice", "alice-pass").await;
    sign_in(&app, &second, "/", "alice", "alice-pass").await;

    // The second browser signs out; the IdP ends alice's IdP sessions and tells the app.
    let out = second
        .post(app.url("/api/auth/signout"))
        .send()
        .await
        .unwrap();
    let back = second.get(location(&out)).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::FOUND);

    assert_eq!(idp_stats(&app).await["backchannel_logouts_sent"], 2);
    let (status, html) = profile_page(&app, &first, "/server-profile").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        html.contains(&EndReason::LoggedOutAtIdp.to_string()),
        "{html}"
    );
    assert_eq!(
        session_json(&app, &first).await,
        serde_json::json!({}),
        "the first browser's session is gone"
    );
}

#[tokio::test]
async fn logout_tokens_are_validated_before_anything_ends() {
    let idp = HostileIdp::start().await;
    let env = idp.app_env();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app(&vars).await;
    let signed_in = attempt(&app, &app.browser, "/").await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);

    let post = |token: String| {
        let url = app.url("/api/auth/backchannel-logout");
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[("logout_token", token)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for (mischief, jti) in [
        (LogoutMischief::UnknownKey, "j-1"),
        (LogoutMischief::WithNonce, "j-2"),
        (LogoutMischief::NoEvent, "j-3"),
        (LogoutMischief::WrongAudience, "j-4"),
        (LogoutMischief::WrongIssuer, "j-4b"),
        (LogoutMischief::Stale, "j-5"),
        (LogoutMischief::Expired, "j-5b"),
        (LogoutMischief::NoExp, "j-5c"),
        (LogoutMischief::AlgNone, "j-5d"),
        (LogoutMischief::Hs256WithClientSecret, "j-5e"),
        (LogoutMischief::NoSubject, "j-5f"),
    ] {
        assert_eq!(
            post(idp.logout_token(Some(SUBJECT), Some(&idp.last_sid()), jti, mischief)).await,
            StatusCode::BAD_REQUEST,
            "{mischief:?}"
        );
        assert_eq!(
            session_json(&app, &app.browser).await["user"]["email"],
            "mallory",
            "{mischief:?} ended nothing"
        );
    }
    assert_eq!(post("not-a-jwt".into()).await, StatusCode::BAD_REQUEST);

    // Good ones about another user or another IdP session end nothing.
    for (sub, sid, jti) in [
        (Some("someone-else"), None, "j-6"),
        (None, Some("another-idp-session"), "j-6b"),
    ] {
        let token = idp.logout_token(sub, sid, jti, LogoutMischief::None);
        assert_eq!(post(token).await, StatusCode::OK);
        assert_eq!(
            session_json(&app, &app.browser).await["user"]["email"],
            "mallory",
            "{jti} ended nothing"
        );
    }
    // About this user's IdP session, with only `sid` (Back-Channel Logout 1.0 §2.4: `sub` is
    // optional), it ends the session.
    let token = idp.logout_token(None, Some(&idp.last_sid()), "j-7", LogoutMischief::None);
    assert_eq!(post(token.clone()).await, StatusCode::OK);
    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({})
    );
    // The same token again is a replay.
    assert_eq!(post(token).await, StatusCode::BAD_REQUEST);

    // With only `sub`, every session of the user ends (here: a new one, in a new IdP session).
    let again = attempt(&app, &app.browser, "/").await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        session_json(&app, &app.browser).await["user"]["email"],
        "mallory"
    );
    let token = idp.logout_token(Some(SUBJECT), None, "j-8", LogoutMischief::None);
    assert_eq!(post(token).await, StatusCode::OK);
    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({})
    );
}

#[tokio::test]
async fn with_the_token_kept_server_side_the_browser_uses_the_same_origin_proxy() {
    let app = spawn_app(&[("AUTH_EXPOSE_ACCESS_TOKEN", "false")]).await;
    let signed_out = app
        .browser
        .get(app.url("/api/scim2/Me"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);

    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;
    let session = session_json(&app, &app.browser).await;
    assert_eq!(session["user"]["given_name"], "Alice");
    assert!(
        session.get("access_token").is_none(),
        "no token for JavaScript: {session}"
    );

    let me = app
        .browser
        .get(app.url("/api/scim2/Me"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.headers()[header::CONTENT_TYPE], "application/scim+json");
    let body: serde_json::Value = me.json().await.unwrap();
    assert_eq!(body["name"]["givenName"], "Alice");
    let (_, html) = profile_page(&app, &app.browser, "/client-profile").await;
    assert!(
        html.contains("/api/scim2/Me") && !html.contains("/t/dev/scim2/Me"),
        "the page calls the proxy"
    );
}

#[tokio::test]
async fn looking_at_the_session_from_a_focused_window_never_extends_it() {
    let app = spawn_app(&[("AUTH_SESSION_IDLE_TIMEOUT", "4")]).await;
    let peeking = app.new_browser();
    let visiting = app.new_browser();
    sign_in(&app, &peeking, "/", "alice", "alice-pass").await;
    sign_in(&app, &visiting, "/", "alice", "alice-pass").await;
    let call = |browser: &Client, path: &'static str| {
        browser
            .post(app.url(path))
            .header(header::CONTENT_TYPE, "application/json")
            .header("sec-fetch-site", "same-origin")
            .body("{}")
            .send()
    };

    // Halfway through the idle timeout, one browser looks (a focused window) and the other
    // visits a page.
    app.clock.advance(Duration::from_secs(2));
    let looked: serde_json::Value = call(&peeking, "/api/auth_state_peek")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user_in(&looked)["email"], "alice");
    let visited: serde_json::Value = call(&visiting, "/api/auth_state")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user_in(&visited)["email"], "alice");

    // Past the idle timeout counted from sign-in: the visit kept its session going, the look
    // did not.
    app.clock.advance(Duration::from_secs(3));
    assert_eq!(
        session_json(&app, &visiting).await["user"]["email"],
        "alice"
    );
    let looked: serde_json::Value = call(&peeking, "/api/auth_state_peek")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(looked["user"], serde_json::Value::Null, "{looked}");
}

async fn sign_out(app: &TestApp, browser: &Client) {
    let out = browser
        .post(app.url("/api/auth/signout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    // On to the IdP's logout, which may call the app's back channel.
    let _ = browser.get(location(&out)).send().await.unwrap();
}

#[tokio::test]
async fn an_open_tab_hears_when_its_session_ends_and_strangers_get_no_stream() {
    let app = spawn_app(&[]).await;

    let stranger = open_events(&app, &app.new_browser()).await;
    assert_eq!(
        stranger.status(),
        StatusCode::NO_CONTENT,
        "nobody signed in: no stream"
    );

    let browser = app.new_browser();
    sign_in(&app, &browser, "/", "alice", "alice-pass").await;
    let mut oldest = open_events(&app, &browser).await;
    assert_eq!(oldest.status(), StatusCode::OK);
    assert_eq!(oldest.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut stream = open_events(&app, &browser).await;
    assert_eq!(stream.status(), StatusCode::OK);

    // A session holds a few streams at most (a browser needs one): a new one replaces the
    // oldest, which may be a connection its browser has long given up on.
    let mut spare = Vec::new();
    for _ in 3..=axum_oidc_bff::STREAMS_PER_SESSION {
        let extra = open_events(&app, &browser).await;
        assert_eq!(extra.status(), StatusCode::OK);
        spare.push(extra);
    }
    let newest = open_events(&app, &browser).await;
    assert_eq!(newest.status(), StatusCode::OK);
    assert_eq!(
        next_event(&mut oldest).await,
        None,
        "the oldest stream was closed"
    );
    drop((spare, newest));

    // Signed out (say, in another tab of this browser): the open stream says so.
    sign_out(&app, &browser).await;
    assert_eq!(next_event(&mut stream).await.as_deref(), Some("signed-out"));
    assert_eq!(next_event(&mut stream).await, None, "and then ends");
    let again = open_events(&app, &browser).await;
    assert_eq!(
        again.status(),
        StatusCode::NO_CONTENT,
        "no stream after sign-out"
    );
}

#[tokio::test]
async fn a_back_channel_logout_reaches_streams_held_by_another_instance() {
    let redis = RedisServer::start().await;
    let url = redis.url();
    let (_idp, apps) = apps(2, Duration::from_secs(3600), &[("SESSION_STORE", &url)]).await;
    // The IdP sends its logout tokens to A; this browser's stream is held by B.
    let (a, b) = (&apps[0], &apps[1]);
    let open = a.new_browser();
    sign_in(b, &open, "/", "alice", "alice-pass").await;
    let mut stream = open_events(b, &open).await;
    assert_eq!(stream.status(), StatusCode::OK);

    // alice signs out in another browser; the IdP ends all her IdP sessions and tells A.
    let elsewhere = a.new_browser();
    sign_in(a, &elsewhere, "/", "alice", "alice-pass").await;
    sign_out(a, &elsewhere).await;

    assert_eq!(next_event(&mut stream).await.as_deref(), Some("signed-out"));
    let (status, html) = profile_page(b, &open, "/server-profile").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        html.contains(&EndReason::LoggedOutAtIdp.to_string()),
        "{html}"
    );
}

// Lifetimes, on the app's clock: moved, never slept through.

#[tokio::test]
async fn an_unused_session_ends_after_the_idle_timeout_and_the_next_page_says_why() {
    let app = spawn_app(&[("AUTH_SESSION_IDLE_TIMEOUT", "600")]).await;
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;

    app.clock.advance(Duration::from_secs(599));
    assert_eq!(
        session_json(&app, &app.browser).await["user"]["email"],
        "alice",
        "just inside the idle timeout (and this use starts it over)"
    );
    app.clock.advance(Duration::from_secs(600));

    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({})
    );
    let (_, html) = profile_page(&app, &app.browser, "/").await;
    assert!(html.contains(&EndReason::Idle.to_string()), "{html}");
}

#[tokio::test]
async fn a_session_in_constant_use_still_ends_at_its_maximum_age() {
    let app = spawn_app(&[
        ("AUTH_SESSION_IDLE_TIMEOUT", "600"),
        ("AUTH_SESSION_MAX_AGE", "1800"),
    ])
    .await;
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;
    for _ in 0..5 {
        app.clock.advance(Duration::from_secs(300));
        let (status, _) = profile_page(&app, &app.browser, "/server-profile").await;
        assert_eq!(status, StatusCode::OK, "in use, within the maximum age");
    }

    app.clock.advance(Duration::from_secs(300));

    let (status, html) = profile_page(&app, &app.browser, "/server-profile").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{html}");
    assert!(html.contains(&EndReason::MaxAge.to_string()), "{html}");
    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({})
    );
}

#[tokio::test]
async fn a_sign_in_finished_more_than_ten_minutes_after_it_started_is_refused() {
    let app = spawn_app(&[]).await;
    let hops = sign_in_until_callback(&app, &app.browser, "/", "alice", "alice-pass").await;

    app.clock.advance(Duration::from_secs(10 * 60 + 1));

    let late = app.browser.get(&hops.callback_url).send().await.unwrap();
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert!(late
        .text()
        .await
        .unwrap()
        .contains("Error code: signin.state"));
    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({})
    );
}

/// The hostile IdP with access tokens living `expires_in` seconds and `behaviour`, and the app
/// signed in to it.
async fn signed_in_at_hostile(behaviour: Behaviour) -> (HostileIdp, TestApp) {
    signed_in_at(behaviour, &[], None).await
}

#[tokio::test]
async fn without_a_refresh_token_the_session_ends_when_its_access_token_expires() {
    let (idp, app) = signed_in_at_hostile(Behaviour {
        expires_in: Some(600),
        no_refresh_token: true,
        ..Default::default()
    })
    .await;

    app.clock.advance(Duration::from_secs(570));
    assert_eq!(
        session_json(&app, &app.browser).await["user"]["email"],
        "mallory",
        "inside the refresh window the token is still good"
    );
    app.clock.advance(Duration::from_secs(30));

    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({})
    );
    let (_, html) = profile_page(&app, &app.browser, "/").await;
    assert!(html.contains(&EndReason::CannotRenew.to_string()), "{html}");
    assert_eq!(idp.refresh_hits(), 0);
}

#[tokio::test]
async fn with_the_idp_down_the_session_lasts_until_its_token_expires_then_says_why() {
    let (idp, app) = signed_in_at_hostile(Behaviour {
        expires_in: Some(600),
        refresh: Refresh::Unavailable,
        ..Default::default()
    })
    .await;

    app.clock.advance(Duration::from_secs(570));
    assert_eq!(
        session_json(&app, &app.browser).await["user"]["email"],
        "mallory",
        "the unexpired token is kept while the IdP is down"
    );
    assert_eq!(idp.refresh_hits(), 3, "a 503 is retried: three attempts");
    app.clock.advance(Duration::from_secs(30));

    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({})
    );
    let (_, html) = profile_page(&app, &app.browser, "/").await;
    assert!(
        html.contains(&EndReason::IdpUnavailable.to_string()),
        "{html}"
    );
}

#[tokio::test]
async fn a_refresh_is_retried_only_when_the_idp_failed_not_when_it_refused_or_answered_nonsense() {
    for (refresh, ends) in [(Refresh::InvalidGrant, true), (Refresh::Broken, false)] {
        let (idp, app) = signed_in_at_hostile(Behaviour {
            expires_in: Some(600),
            refresh,
            ..Default::default()
        })
        .await;
        app.clock.advance(Duration::from_secs(570));

        let session = session_json(&app, &app.browser).await;

        assert_eq!(idp.refresh_hits(), 1, "{refresh:?}: one attempt, no retry");
        assert_eq!(
            session == serde_json::json!({}),
            ends,
            "{refresh:?}: {session}"
        );
    }
}
