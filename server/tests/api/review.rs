//! The outside security review of eceeff5, each finding as what an attacker, a misbehaving IdP
//! or an unlucky user would do: back-channel logouts that could be undone or missed, the IdP
//! made to work for strangers, one account filling the store and the event streams, sign-out
//! that did not revoke, and the smaller points. (Forged log lines: `tests/logs.rs`; `AUTH_URL`
//! over plain http: the configuration's unit tests.)

use crate::helpers::{
    hostile::{
        attempt, signed_in_at, Behaviour, HostileIdp, IdToken, LogoutMischief, Refresh,
        TokenEndpoint, SUBJECT,
    },
    redis::RedisServer,
    *,
};
use app::error::SessionEnd as EndReason;
use futures_util::StreamExt;
use reqwest::{header, Client, StatusCode};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn post_logout(app: &TestApp, token: String) -> StatusCode {
    Client::new()
        .post(app.url("/api/auth/backchannel-logout"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap()
        .status()
}

/// A SQLite file of its own for one test.
fn sqlite_store(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!(
        "asgardeo-leptos-review-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("sessions.db").display());
    (dir, url)
}

/// Polls `done` every 20 ms for up to 10 s (a failure guard, not a measurement).
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("not within 10 s: {what}");
}

// 2. An older back-channel token cannot undo a newer logout.

/// The IdP logs the user out (T2, now), then a token it made 100 s earlier (T1, another jti)
/// arrives late — retried, or replayed by someone who kept it. T1's mark is older than the
/// sign-in, T2's is not: the session must stay ended.
async fn an_older_logout_token_cannot_undo_a_newer_one(store: &str) {
    let (idp, app) = signed_in_at(Behaviour::default(), &[("SESSION_STORE", store)], None).await;
    let now = unix_now();
    let newer = idp.logout_token_issued_at(Some(SUBJECT), None, "t2", LogoutMischief::None, now);
    let older =
        idp.logout_token_issued_at(Some(SUBJECT), None, "t1", LogoutMischief::None, now - 100);

    assert_eq!(post_logout(&app, newer).await, StatusCode::OK);
    assert_eq!(post_logout(&app, older).await, StatusCode::OK);

    assert_eq!(
        session_json(&app, &app.browser).await,
        json!({}),
        "{store}: the older token put the logout mark back before the sign-in"
    );
}

#[tokio::test]
async fn an_older_logout_token_cannot_undo_a_newer_one_in_memory() {
    an_older_logout_token_cannot_undo_a_newer_one("memory").await;
}

#[tokio::test]
async fn an_older_logout_token_cannot_undo_a_newer_one_in_sqlite() {
    let (dir, store) = sqlite_store("marks");
    an_older_logout_token_cannot_undo_a_newer_one(&store).await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn an_older_logout_token_cannot_undo_a_newer_one_in_redis() {
    let redis = RedisServer::start().await;
    an_older_logout_token_cannot_undo_a_newer_one(&redis.url()).await;
}

// 3. A logout token with `sid` must not miss sessions stored without one.

#[tokio::test]
async fn a_logout_naming_a_sid_and_the_user_ends_the_users_sessions_that_have_no_sid() {
    let idp = HostileIdp::start().await;
    let env = idp.app_env();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app(&vars).await;
    // One browser signs in while the IdP's ID tokens carry no `sid` (allowed), another with one.
    let without_sid = app.new_browser();
    idp.misbehave(Behaviour {
        id_token: IdToken::NoSid,
        ..Default::default()
    });
    assert_eq!(
        attempt(&app, &without_sid, "/").await.status(),
        StatusCode::SEE_OTHER
    );
    let with_sid = app.new_browser();
    idp.misbehave(Behaviour::default());
    assert_eq!(
        attempt(&app, &with_sid, "/").await.status(),
        StatusCode::SEE_OTHER
    );
    let own_sid = idp.last_sid();

    // The user's session at the IdP behind the first browser ends: the token names that IdP
    // session and the user.
    let token = idp.logout_token(
        Some(SUBJECT),
        Some("the-idp-session-without-a-sid-here"),
        "j-both",
        LogoutMischief::None,
    );
    assert_eq!(post_logout(&app, token).await, StatusCode::OK);

    assert_eq!(
        session_json(&app, &without_sid).await,
        json!({}),
        "a session without a sid is found by its user"
    );
    assert_eq!(
        session_json(&app, &with_sid).await["user"]["email"],
        "mallory",
        "a session with another sid is another IdP session: it stays"
    );
    let token = idp.logout_token(Some(SUBJECT), Some(&own_sid), "j-own", LogoutMischief::None);
    assert_eq!(post_logout(&app, token).await, StatusCode::OK);
    assert_eq!(session_json(&app, &with_sid).await, json!({}));
}

// 4. Strangers cannot make the server call the token endpoint without limit.

#[tokio::test]
async fn a_thousand_replays_of_one_sign_in_cookie_make_one_call_to_the_token_endpoint() {
    let idp = HostileIdp::start().await;
    let env = idp.app_env();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app(&vars).await;
    // A script, not a browser: it keeps the sign-in cookie and sends it again and again.
    let attacker = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = attacker
        .get(app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let cookie = start.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let back = attacker.get(location(&start)).send().await.unwrap();
    let callback = location(&back);
    let before = idp.token_hits();

    let statuses: Vec<StatusCode> = futures_util::stream::iter(0..1000)
        .map(|_| {
            let (attacker, callback, cookie) = (attacker.clone(), callback.clone(), cookie.clone());
            async move {
                attacker
                    .get(callback)
                    .header(header::COOKIE, cookie)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        })
        .buffer_unordered(50)
        .collect()
        .await;

    assert_eq!(idp.token_hits() - before, 1, "one token-endpoint call");
    let finished = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((finished, refused), (1, 999), "{statuses:?}");
}

#[tokio::test]
async fn callbacks_beyond_the_idp_call_limit_get_a_503_at_once_and_cost_the_idp_nothing() {
    let idp = HostileIdp::start().await;
    let env = idp.app_env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("AUTH_IDP_MAX_CONCURRENCY", "2"));
    let app = spawn_app(&vars).await;
    idp.misbehave(Behaviour {
        token_endpoint: TokenEndpoint::Slow(Duration::from_secs(4)),
        ..Default::default()
    });
    // Five browsers come back from the IdP at once; its token endpoint is slow today.
    let mut comebacks = Vec::new();
    for _ in 0..5 {
        let browser = app.new_browser();
        let start = browser
            .get(app.url("/api/auth/signin/asgardeo"))
            .send()
            .await
            .unwrap();
        let back = browser.get(location(&start)).send().await.unwrap();
        comebacks.push((browser, location(&back)));
    }
    let before = idp.token_hits();

    let answers = futures_util::future::join_all(comebacks.iter().map(|(browser, url)| {
        let browser = browser.clone();
        async move { browser.get(url).send().await.unwrap() }
    }))
    .await;

    let mut signed_in = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::SEE_OTHER => signed_in += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(answer.headers().contains_key(header::RETRY_AFTER));
                let page = answer.text().await.unwrap();
                assert!(page.contains("The server is busy"), "{page}");
                assert!(page.contains("Error code: idp.busy"), "{page}");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(signed_in, 2, "as many as the limit");
    assert_eq!(
        idp.token_hits() - before,
        2,
        "the refused ones never reached the IdP"
    );
}

#[tokio::test]
async fn a_request_behind_a_slow_refresh_of_its_session_gives_up_with_503_after_the_lock_wait() {
    let (idp, app) = signed_in_at(
        Behaviour {
            expires_in: Some(600),
            refresh: Refresh::Slow(Duration::from_secs(4)),
            ..Default::default()
        },
        &[("AUTH_REFRESH_LOCK_WAIT", "1")],
        None,
    )
    .await;
    app.clock.advance(Duration::from_secs(570));
    let first = tokio::spawn({
        let (browser, url) = (app.browser.clone(), app.url("/api/auth/session"));
        async move { browser.get(url).send().await.unwrap() }
    });
    eventually("the refresh reached the IdP", || idp.refresh_hits() == 1).await;

    let second = app
        .browser
        .get(app.url("/api/auth/session"))
        .send()
        .await
        .unwrap();

    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(second.headers().contains_key(header::RETRY_AFTER));
    let body: serde_json::Value = second.json().await.unwrap();
    assert_eq!(body["error"], "busy", "{body}");
    let first = first.await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let body: serde_json::Value = first.json().await.unwrap();
    assert_eq!(body["user"]["email"], "mallory");
    assert_eq!(idp.refresh_hits(), 1);
}

// 5. One account cannot fill the store or the event streams.

#[tokio::test]
async fn signing_in_beyond_the_per_user_limit_ends_the_oldest_session_and_its_tab_hears_it() {
    let app = spawn_app(&[("AUTH_MAX_SESSIONS_PER_USER", "2")]).await;
    let oldest = app.new_browser();
    sign_in(&app, &oldest, "/", "alice", "alice-pass").await;
    let mut stream = open_events(&app, &oldest).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let (second, third) = (app.new_browser(), app.new_browser());
    sign_in(&app, &second, "/", "alice", "alice-pass").await;
    assert_eq!(
        session_json(&app, &oldest).await["user"]["email"],
        "alice",
        "two sessions are within the limit"
    );

    sign_in(&app, &third, "/", "alice", "alice-pass").await;

    assert_eq!(next_event(&mut stream).await.as_deref(), Some("signed-out"));
    let home = get_page(&oldest, &app.url("/")).await.text().await.unwrap();
    assert!(
        home.contains(&EndReason::TooManySessions.to_string()),
        "the page says why: {home}"
    );
    assert_eq!(session_json(&app, &oldest).await, json!({}));
    for browser in [&second, &third] {
        assert_eq!(session_json(&app, browser).await["user"]["email"], "alice");
    }
    // Another user is not counted with alice.
    let bob = app.new_browser();
    sign_in(&app, &bob, "/", "bob", "bob-pass").await;
    assert_eq!(session_json(&app, &third).await["user"]["email"], "alice");
    assert_eq!(session_json(&app, &bob).await["user"]["email"], "bob");
}

#[tokio::test]
async fn one_user_cannot_hold_more_event_streams_than_their_share() {
    let app = spawn_app(&[]).await;
    let per_session = axum_oidc_bff::STREAMS_PER_SESSION;
    let per_user = axum_oidc_bff::STREAMS_PER_USER;
    let browsers = per_user / per_session + 1;
    let mut streams = Vec::new();
    for _ in 0..browsers {
        let browser = app.new_browser();
        sign_in(&app, &browser, "/", "alice", "alice-pass").await;
        let mut own = Vec::new();
        for _ in 0..per_session {
            let stream = open_events(&app, &browser).await;
            assert_eq!(stream.status(), StatusCode::OK);
            own.push(stream);
        }
        streams.push((browser, own));
    }

    // The first browser's streams, the user's oldest, gave way to the last browser's.
    for stream in &mut streams[0].1 {
        assert_eq!(
            next_event(stream).await,
            None,
            "the oldest stream was closed"
        );
    }
    // The others are still there: a sign-out reaches them.
    let (browser, own) = &mut streams[1];
    let out = browser
        .post(app.url("/api/auth/signout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(next_event(&mut own[0]).await.as_deref(), Some("signed-out"));
    // And another user gets a stream.
    let bob = app.new_browser();
    sign_in(&app, &bob, "/", "bob", "bob-pass").await;
    assert_eq!(open_events(&app, &bob).await.status(), StatusCode::OK);
}

// 7. Sign-out revokes.

#[tokio::test]
async fn signing_out_revokes_the_sessions_tokens_without_waiting_for_the_idp() {
    let (idp, app) = signed_in_at(
        Behaviour {
            hold_revocations: true,
            ..Default::default()
        },
        &[],
        None,
    )
    .await;
    let refresh_token = idp.latest_refresh_token().unwrap();
    let access_token = idp.latest_access_token().unwrap();

    let out = tokio::time::timeout(
        Duration::from_secs(10),
        app.browser.post(app.url("/api/auth/signout")).send(),
    )
    .await
    .expect("the sign-out answers while the IdP still holds the revocation")
    .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    eventually("the IdP was asked to revoke", || {
        idp.revocations_started() == 1
    })
    .await;
    assert!(idp.revoked().is_empty(), "the sign-out did not wait for it");

    idp.release_revocations(2);
    eventually("both tokens were revoked", || idp.revoked().len() == 2).await;
    assert_eq!(
        idp.revoked(),
        [
            (refresh_token, "refresh_token".to_owned()),
            // The browser held the access token (AUTH_EXPOSE_ACCESS_TOKEN): revoked too.
            (access_token, "access_token".to_owned()),
        ]
    );
}

#[tokio::test]
async fn with_the_token_kept_from_the_browser_sign_out_revokes_the_refresh_token_at_the_dev_idp() {
    let app = spawn_app(&[("AUTH_EXPOSE_ACCESS_TOKEN", "false")]).await;
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;
    let out = app
        .browser
        .post(app.url("/api/auth/signout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    for _ in 0..500 {
        if idp_stats(&app).await["revocations"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        idp_stats(&app).await["revocations"],
        1,
        "the refresh token only"
    );
}

// 8. Smaller points.

#[tokio::test]
async fn a_discovery_document_that_would_send_the_client_secret_over_plain_http_is_refused() {
    let idp = HostileIdp::start().await;
    idp.misbehave(Behaviour {
        discovered_token_endpoint: Some("http://idp.example.com/t/hostile/oauth2/token".into()),
        ..Default::default()
    });
    let env = idp.app_env();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app(&vars).await;

    let refused = attempt(&app, &app.browser, "/").await;

    assert_eq!(refused.status(), StatusCode::BAD_GATEWAY);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("Error code: idp.discovery"));
    assert_eq!(idp.token_hits(), 0);
    assert_eq!(session_json(&app, &app.browser).await, json!({}));
}

#[tokio::test]
async fn a_refreshed_id_token_of_another_idp_session_or_sign_in_time_ends_the_session() {
    for behaviour in [
        Behaviour {
            refresh_sid: Some("another-idp-session".into()),
            ..Default::default()
        },
        Behaviour {
            refresh_auth_time: Some(unix_now() + 30),
            ..Default::default()
        },
    ] {
        let (idp, app) = signed_in_at(
            Behaviour {
                expires_in: Some(600),
                ..behaviour.clone()
            },
            &[],
            None,
        )
        .await;
        app.clock.advance(Duration::from_secs(570));

        assert_eq!(
            session_json(&app, &app.browser).await,
            json!({}),
            "{behaviour:?}"
        );
        assert_eq!(idp.refresh_hits(), 1);
        let home = get_page(&app.browser, &app.url("/"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            home.contains(&EndReason::RefreshRefused.to_string()),
            "{home}"
        );
    }
}

#[tokio::test]
async fn the_content_security_policy_lets_sign_out_continue_to_an_end_session_endpoint_elsewhere() {
    let idp = HostileIdp::start().await;
    // The issuer is on 127.0.0.1; its end-session endpoint on localhost: another origin.
    let port = idp.issuer.port().unwrap();
    let end_session = format!("http://localhost:{port}/t/hostile/oidc/logout");
    idp.misbehave(Behaviour {
        discovered_end_session_endpoint: Some(end_session.clone()),
        ..Default::default()
    });
    let env = idp.app_env();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app(&vars).await;
    assert_eq!(
        attempt(&app, &app.browser, "/").await.status(),
        StatusCode::SEE_OTHER
    );

    let page = get_page(&app.browser, &app.url("/")).await;
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    let form_action = csp
        .split(';')
        .find_map(|d| d.trim().strip_prefix("form-action "))
        .unwrap_or_else(|| panic!("no form-action: {csp}"));
    let allowed: Vec<&str> = form_action.split_whitespace().collect();
    assert!(
        allowed.contains(&format!("http://localhost:{port}").as_str()),
        "{csp}"
    );
    assert!(
        allowed.contains(&format!("http://127.0.0.1:{port}").as_str()),
        "{csp}"
    );

    let out = app
        .browser
        .post(app.url("/api/auth/signout"))
        .send()
        .await
        .unwrap();
    assert!(location(&out).starts_with(&end_session));
}

#[tokio::test]
async fn sessions_and_back_channel_logout_work_on_a_redis_cluster() {
    let redis = RedisServer::start_cluster().await;
    let url = redis.cluster_url();
    let (idp, app) = signed_in_at(Behaviour::default(), &[("SESSION_STORE", &url)], None).await;
    assert_eq!(
        session_json(&app, &app.browser).await["user"]["email"],
        "mallory"
    );
    let mut stream = open_events(&app, &app.browser).await;
    assert_eq!(stream.status(), StatusCode::OK);

    // The logout keys of a sid and a sub live in different slots.
    let token = idp.logout_token(
        Some(SUBJECT),
        Some(&idp.last_sid()),
        "j-cluster",
        LogoutMischief::None,
    );
    assert_eq!(post_logout(&app, token).await, StatusCode::OK);

    assert_eq!(next_event(&mut stream).await.as_deref(), Some("signed-out"));
    assert_eq!(session_json(&app, &app.browser).await, json!({}));
}

#[tokio::test]
async fn every_key_the_app_keeps_in_redis_carries_the_configured_prefix() {
    let redis = RedisServer::start().await;
    let url = redis.url();
    let (idp, app) = signed_in_at(
        Behaviour::default(),
        &[("SESSION_STORE", &url), ("SESSION_KEY_PREFIX", "shop-a:")],
        None,
    )
    .await;
    // A logout of another IdP session of the user writes marks and a used jti too.
    let token = idp.logout_token(
        Some(SUBJECT),
        Some("elsewhere"),
        "j-prefix",
        LogoutMischief::None,
    );
    assert_eq!(post_logout(&app, token).await, StatusCode::OK);

    let out = std::process::Command::new("redis-cli")
        .args(["-p", &redis.port().to_string(), "--scan"])
        .output()
        .expect("redis-cli");
    let keys = String::from_utf8_lossy(&out.stdout).into_owned();
    let keys: Vec<&str> = keys.lines().collect();
    assert!(
        keys.iter().any(|k| k.starts_with("shop-a:session:")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.starts_with("shop-a:logout:")),
        "{keys:?}"
    );
    assert!(keys.iter().all(|k| k.starts_with("shop-a:")), "{keys:?}");
}
