//! No token, code, secret, password or cookie value in any log line, at any level up to DEBUG,
//! through a sign-in, both profile pages, a token refresh, a forged callback, a failed login and
//! a sign-out, with sessions in a Redis that needs a password; then against an IdP whose client
//! secret and refresh tokens the test knows, through a sign-in, two refreshes and a sign-out.
//!
//! A separate test binary: it installs a global subscriber that captures every log line.

#[path = "api/helpers/mod.rs"]
mod helpers;

use helpers::*;
use reqwest::{header, StatusCode};
use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test binary, written by tracing-subscriber's default formatter (what
/// a library user has), not the app's escaping one: what the auth code logs must be safe as it
/// is.
fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            // cookie_store is the test's own browser (reqwest's cookie jar), not the app.
            .with_env_filter("debug,cookie_store=off")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let captured = captured();

    const AUTH_SECRET: &str = "log-test-secret-log-test-secret-0123456789";
    const PASSWORD: &str = "correct-horse-battery-staple";
    let users = std::env::temp_dir().join(format!(
        "asgardeo-leptos-log-test-{}.json",
        std::process::id()
    ));
    std::fs::write(
        &users,
        format!(r#"[{{"username":"alice","password":"{PASSWORD}","given_name":"Alice","family_name":"Liddell","email":"alice@example.com"}}]"#),
    )
    .unwrap();
    const REDIS_PASSWORD: &str = "redis-pass-0e7c1f9a";
    let redis = helpers::redis::RedisServer::start_with(&["--requirepass", REDIS_PASSWORD]).await;
    let store = format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{}", redis.port());
    let app = spawn_app(&[
        ("AUTH_SECRET", AUTH_SECRET),
        ("DEV_IDP_USERS", users.to_str().unwrap()),
        ("SESSION_STORE", &store),
    ])
    .await;

    // A wrong password first, then the real sign-in.
    let start = app
        .browser
        .get(app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    let html = app
        .browser
        .get(location(&start))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = hidden_field(&html, "sessionDataKey").unwrap();
    let wrong = app
        .browser
        .post(app.idp_url("/t/dev/commonauth"))
        .form(&[
            ("sessionDataKey", key.as_str()),
            ("username", "alice"),
            ("password", "wrong-password-xyz"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let hops = sign_in_until_callback(&app, &app.browser, "/", "alice", PASSWORD).await;
    let code = query_param(&hops.callback_url, "code").unwrap();
    let state = query_param(&hops.callback_url, "state").unwrap();
    let nonce = query_param(&hops.authorize_url, "nonce").unwrap();
    let challenge = query_param(&hops.authorize_url, "code_challenge").unwrap();
    let done = app.browser.get(&hops.callback_url).send().await.unwrap();
    let cookie = done
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let cookie_value = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();

    let session = session_json(&app, &app.browser).await;
    let access_token = session["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        get_page(&app.browser, &app.url("/server-profile"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        get_page(&app.browser, &app.url("/client-profile"))
            .await
            .status(),
        StatusCode::OK
    );

    // A refresh: the access token (an hour) is within the refresh skew (a minute) of its end.
    app.clock.advance(std::time::Duration::from_secs(3600 - 50));
    let session = session_json(&app, &app.browser).await;
    let refreshed = match session["access_token"].as_str() {
        Some(token) => token.to_owned(),
        None => {
            let logs = captured.text();
            let refresh: Vec<&str> = logs
                .lines()
                .filter(|l| l.contains("refresh") || l.contains("WARN") || l.contains("ERROR"))
                .collect();
            panic!("not refreshed: {session}\n{refresh:#?}");
        }
    };
    assert_ne!(refreshed, access_token, "refreshed");

    // A forged callback and a replay.
    let forged = app
        .browser
        .get(app.url(&format!(
            "/api/auth/callback/asgardeo?code={code}&state=forged"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.browser
            .get(&hops.callback_url)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );

    let out = app
        .browser
        .post(app.url("/api/auth/signout"))
        .send()
        .await
        .unwrap();
    let id_token = query_param(&location(&out), "id_token_hint").unwrap();
    let _ = app.browser.get(location(&out)).send().await.unwrap();

    // Against an IdP whose client secret and refresh tokens the test can see.
    let hostile = helpers::hostile::HostileIdp::start().await;
    let env = hostile.app_env();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let second = spawn_app(&vars).await;
    hostile.misbehave(helpers::hostile::Behaviour {
        expires_in: Some(600),
        ..Default::default()
    });
    let signed_in = helpers::hostile::attempt(&second, &second.browser, "/").await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let mut refresh_tokens = vec![hostile.latest_refresh_token().unwrap()];
    for _ in 0..2 {
        second
            .clock
            .advance(std::time::Duration::from_secs(600 - 50));
        assert_eq!(
            session_json(&second, &second.browser).await["user"]["email"],
            "mallory"
        );
        refresh_tokens.push(hostile.latest_refresh_token().unwrap());
    }
    assert_eq!(hostile.refresh_hits(), 2);
    second
        .browser
        .post(second.url("/api/auth/signout"))
        .send()
        .await
        .unwrap();

    std::fs::remove_file(&users).ok();
    let logs = captured.text();
    assert!(logs.contains("signed in"), "the logs were captured: {logs}");
    assert!(
        logs.contains("state mismatch") || logs.contains("matches no sign-in"),
        "failures are logged with their cause"
    );
    for (what, secret) in [
        ("access token", access_token.as_str()),
        ("refreshed access token", refreshed.as_str()),
        ("Redis password", REDIS_PASSWORD),
        ("ID token", id_token.as_str()),
        ("ID token signature", id_token.rsplit('.').next().unwrap()),
        ("authorization code", code.as_str()),
        ("state", state.as_str()),
        ("nonce", nonce.as_str()),
        ("PKCE challenge", challenge.as_str()),
        ("session cookie", cookie_value.as_str()),
        ("AUTH_SECRET", AUTH_SECRET),
        ("password", PASSWORD),
        ("wrong password", "wrong-password-xyz"),
        ("login form key", key.as_str()),
        ("client secret", helpers::hostile::CLIENT_SECRET),
        ("refresh token", refresh_tokens[0].as_str()),
        ("rotated refresh token", refresh_tokens[1].as_str()),
        ("second rotated refresh token", refresh_tokens[2].as_str()),
    ] {
        let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(secret)).collect();
        assert!(
            leaks.is_empty(),
            "the {what} appears in the logs: {leaks:#?}"
        );
    }
}

/// Text a stranger controls, in a logout token's header and in a callback's `error`: a newline
/// to start a forged line, and an escape sequence that would clear a terminal.
#[tokio::test]
async fn strangers_cannot_forge_log_lines_or_send_escape_sequences() {
    let captured = captured();
    let hostile = helpers::hostile::HostileIdp::start().await;
    let env = hostile.app_env();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app(&vars).await;

    // A logout token whose `alg` (read before any signature is checked) holds the forgery.
    let token = hostile.logout_token(
        Some(helpers::hostile::SUBJECT),
        None,
        "j-forged",
        helpers::hostile::LogoutMischief::ForgedAlg,
    );
    let refused = reqwest::Client::new()
        .post(app.url("/api/auth/backchannel-logout"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    // A callback for a sign-in this browser really started, with an `error` of the caller's
    // choosing (the page shows the app's words; the log keeps the IdP's, escaped).
    let start = app
        .browser
        .get(app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    let state = query_param(&location(&start), "state").unwrap();
    let callback = app
        .browser
        .get(app.url(&format!(
            "/api/auth/callback/asgardeo?state={state}&error=x%0AFAKE%1b%5b2J\
             &error_description=y%0AFAKE%20INFO%20signed%20in%20sub=admin%1b%5b2J"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), StatusCode::BAD_REQUEST);
    let page = callback.text().await.unwrap();
    assert!(
        !page.contains("FAKE"),
        "the page shows the app's words only"
    );

    let logs = captured.text();
    assert!(
        logs.contains("logout token refused") && logs.contains("request refused"),
        "both refusals were logged: {logs}"
    );
    assert!(
        logs.contains(r"x\nFAKE"),
        "the caller's text is kept, escaped, for whoever reads the log"
    );
    for line in logs.lines() {
        assert!(!line.starts_with("FAKE"), "a forged line: {line:?}");
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "a raw control character: {line:?}"
        );
    }
}
