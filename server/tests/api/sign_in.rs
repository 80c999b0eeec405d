//! Sign-in, session and sign-out over HTTP against the real server and the development IdP.

use crate::helpers::*;
use reqwest::{header, StatusCode};

#[tokio::test]
async fn signing_in_puts_the_user_in_the_session_json() {
    let app = spawn_app(&[]).await;
    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({}),
        "signed out: {{}}"
    );

    let done = sign_in(&app, &app.browser, "/server-profile", "alice", "alice-pass").await;

    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&done),
        "/server-profile",
        "back to the callbackUrl"
    );
    let session = session_json(&app, &app.browser).await;
    assert_eq!(
        session["user"],
        serde_json::json!({"email": "alice", "given_name": "Alice", "family_name": "Liddell"})
    );
    assert!(
        session["access_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 32),
        "{session}"
    );
    assert!(session["expires"].as_str().is_some());
}

#[tokio::test]
async fn the_authorization_request_uses_pkce_state_and_nonce_fresh_each_time() {
    let app = spawn_app(&[]).await;
    let first = sign_in_until_callback(&app, &app.browser, "/", "alice", "alice-pass").await;
    let second = sign_in_until_callback(&app, &app.new_browser(), "/", "alice", "alice-pass").await;
    for param in ["state", "nonce", "code_challenge"] {
        let a =
            query_param(&first.authorize_url, param).unwrap_or_else(|| panic!("{param} is sent"));
        let b = query_param(&second.authorize_url, param).unwrap();
        assert!(a.len() >= 22, "{param} has enough entropy: {a}");
        assert_ne!(a, b, "{param} is fresh per sign-in");
    }
    assert_eq!(
        query_param(&first.authorize_url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&first.authorize_url, "scope").as_deref(),
        Some("openid profile email internal_login")
    );
    assert_eq!(
        query_param(&first.authorize_url, "redirect_uri"),
        Some(app.url("/api/auth/callback/asgardeo"))
    );
}

#[tokio::test]
async fn a_forged_state_gets_400_and_no_session() {
    let app = spawn_app(&[]).await;
    let hops = sign_in_until_callback(&app, &app.browser, "/", "alice", "alice-pass").await;
    let code = query_param(&hops.callback_url, "code").unwrap();

    let forged = app
        .browser
        .get(app.url(&format!(
            "/api/auth/callback/asgardeo?code={}&state=forged-state",
            urlencode(&code)
        )))
        .send()
        .await
        .unwrap();

    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    let page = forged.text().await.unwrap();
    assert!(
        page.contains("state mismatch"),
        "the page says what happened"
    );
    assert!(page.contains("Try again"));
    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({}),
        "no session"
    );
}

#[tokio::test]
async fn a_callback_from_another_browser_gets_400_and_no_session() {
    let app = spawn_app(&[]).await;
    let victim = app.new_browser();
    let hops = sign_in_until_callback(&app, &app.browser, "/", "alice", "alice-pass").await;

    // The attacker's code and state, delivered to the victim's browser (login CSRF).
    let response = victim.get(&hops.callback_url).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(session_json(&app, &victim).await, serde_json::json!({}));
}

#[tokio::test]
async fn a_missing_state_gets_400() {
    let app = spawn_app(&[]).await;
    let response = app
        .browser
        .get(app.url("/api/auth/callback/asgardeo?code=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Error code: signin.state"));
}

/// An attacker's link to the callback, with an error text of their choosing and no sign-in
/// behind it: the app's one fixed message, never their words under the app's name.
#[tokio::test]
async fn an_error_callback_without_a_matching_sign_in_shows_only_the_apps_words() {
    let app = spawn_app(&[]).await;
    let planted = "Your account is locked. Call +1 555 0100 to unlock it";
    for state in ["", "&state=made-up"] {
        let response = app
            .browser
            .get(app.url(&format!(
                "/api/auth/callback/asgardeo?error=access_denied&error_description={}{state}",
                urlencode(planted)
            )))
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{state}");
        let page = response.text().await.unwrap();
        assert!(page.contains("Error code: signin.state"), "{page}");
        assert!(
            !page.contains("account is locked") && !page.contains("555 0100"),
            "the planted text is not shown: {page}"
        );
    }
}

#[tokio::test]
async fn a_replayed_callback_is_refused_and_the_session_stays_as_it_was() {
    let app = spawn_app(&[]).await;
    let hops = sign_in_until_callback(&app, &app.browser, "/", "alice", "alice-pass").await;
    let first = app.browser.get(&hops.callback_url).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let before = session_json(&app, &app.browser).await;

    let replay = app.browser.get(&hops.callback_url).send().await.unwrap();

    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        session_json(&app, &app.browser).await,
        before,
        "the replay changed nothing"
    );
    // And in a fresh browser, the same URL signs nobody in.
    let other = app.new_browser();
    assert_eq!(
        other.get(&hops.callback_url).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(session_json(&app, &other).await, serde_json::json!({}));
}

#[tokio::test]
async fn an_external_callback_url_is_ignored() {
    let app = spawn_app(&[]).await;
    for evil in [
        "https://evil.example/steal",
        "//evil.example",
        "/\\evil.example",
    ] {
        let browser = app.new_browser();
        let done = sign_in(&app, &browser, evil, "alice", "alice-pass").await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&done), "/", "{evil} is not followed");
    }
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_and_signs_nobody_in() {
    let app = spawn_app(&[]).await;
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

    let login = app
        .browser
        .post(app.idp_url("/t/dev/commonauth"))
        .form(&[
            ("sessionDataKey", key.as_str()),
            ("username", "alice"),
            ("password", "nope"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    assert!(login.text().await.unwrap().contains("Login failed!"));
    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({})
    );
}

#[tokio::test]
async fn the_idp_refusing_the_sign_in_shows_why_with_a_try_again_link() {
    let app = spawn_app(&[]).await;
    let start = app
        .browser
        .get(app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    let state = query_param(&location(&start), "state").unwrap();

    let response = app
        .browser
        .get(app.url(&format!(
            "/api/auth/callback/asgardeo?error=access_denied&error_description={}&state={state}",
            urlencode("The user denied the request")
        )))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(page.contains("Sign-in was cancelled or refused"));
    assert!(page.contains("Error code: signin.access_denied"));
    assert!(
        !page.contains("The user denied the request"),
        "the IdP's text goes to the log, not the page"
    );
    assert!(page.contains("Try again"));
    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({})
    );
}

#[tokio::test]
async fn the_session_cookie_is_opaque_http_only_and_lax() {
    let app = spawn_app(&[]).await;
    let hops = sign_in_until_callback(&app, &app.browser, "/", "alice", "alice-pass").await;
    let done = app.browser.get(&hops.callback_url).send().await.unwrap();

    let cookies: Vec<_> = done
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    // The session cookie, and the sign-in cookie removed (its state is spent).
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("asgardeo-leptos.signin=;") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("asgardeo-leptos.sid="))
        .expect("the session cookie");
    assert!(cookie.starts_with("asgardeo-leptos.sid="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "http AUTH_URL: not Secure");
    let value = cookie.split(';').next().unwrap();
    let session = session_json(&app, &app.browser).await;
    let token = session["access_token"].as_str().unwrap();
    assert!(
        !value.contains(token) && !value.contains("alice"),
        "the cookie carries no token or claim"
    );
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in() {
    let app = spawn_app(&[]).await;
    let start = app
        .browser
        .get(app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    let before = start
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
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
    let login = app
        .browser
        .post(app.idp_url("/t/dev/commonauth"))
        .form(&[
            ("sessionDataKey", key.as_str()),
            ("username", "alice"),
            ("password", "alice-pass"),
        ])
        .send()
        .await
        .unwrap();
    let done = app.browser.get(location(&login)).send().await.unwrap();
    let after = done
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(
        before, after,
        "a new session id after sign-in (no session fixation)"
    );

    // The pre-sign-in id is dead: replaying it gives no session.
    let planted = reqwest::Client::new()
        .get(app.url("/api/auth/session"))
        .header(header::COOKIE, &before)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(planted, serde_json::json!({}));
}

#[tokio::test]
async fn protected_pages_redirect_to_sign_in_when_signed_out() {
    let app = spawn_app(&[]).await;
    for (path, encoded) in [
        ("/client-profile", "/client-profile"),
        ("/server-profile", "/server-profile"),
    ] {
        let response = get_page(&app.browser, &app.url(path)).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{path}");
        assert_eq!(
            location(&response),
            format!("/api/auth/signin/asgardeo?callbackUrl={encoded}")
        );
    }
}

#[tokio::test]
async fn the_server_profile_page_is_rendered_with_the_scim_record() {
    let app = spawn_app(&[]).await;
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;
    let before = idp_stats(&app).await["scim_me"].as_u64().unwrap();

    let page = get_page(&app.browser, &app.url("/server-profile")).await;

    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Profile Page"));
    assert!(
        html.contains(r#"<span id="profile-given-name">Alice</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"<span id="profile-family-name">Liddell</span>"#));
    assert!(html.contains(r#"<span id="profile-email">alice@example.com</span>"#));
    assert_eq!(
        idp_stats(&app).await["scim_me"].as_u64().unwrap(),
        before + 1,
        "the server called scim2/Me once"
    );
    let session = session_json(&app, &app.browser).await;
    assert!(
        !html.contains(session["access_token"].as_str().unwrap()),
        "the token is not in the page"
    );
}

#[tokio::test]
async fn the_client_profile_page_is_rendered_without_calling_scim() {
    let app = spawn_app(&[]).await;
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;
    let before = idp_stats(&app).await["scim_me"].as_u64().unwrap();

    let page = get_page(&app.browser, &app.url("/client-profile")).await;

    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Loading your profile"),
        "the browser fetches it after hydration"
    );
    assert!(
        html.contains(&app.idp_url("/t/dev/scim2/Me")),
        "the page knows the IdP's scim2/Me"
    );
    assert_eq!(
        idp_stats(&app).await["scim_me"].as_u64().unwrap(),
        before,
        "no server-side scim2/Me call"
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_here_and_at_the_idp() {
    let app = spawn_app(&[]).await;
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;

    let out = app
        .browser
        .post(app.url("/api/auth/signout"))
        .header(header::ORIGIN, &app.base)
        .send()
        .await
        .unwrap();

    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let logout_url = location(&out);
    assert!(
        logout_url.starts_with(&app.idp_url("/t/dev/oidc/logout")),
        "{logout_url}"
    );
    assert!(query_param(&logout_url, "id_token_hint").is_some_and(|t| t.split('.').count() == 3));
    assert_eq!(
        query_param(&logout_url, "post_logout_redirect_uri"),
        Some(format!("{}/", app.base))
    );
    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({}),
        "signed out here"
    );

    // The IdP ends its own session and sends the browser back to the app.
    let back = app.browser.get(&logout_url).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::FOUND);
    assert_eq!(location(&back), format!("{}/", app.base));
    // Signing in again needs the password: the IdP shows its form.
    let start = app
        .browser
        .get(app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    let form = app.browser.get(location(&start)).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains(r#"name="password""#));
}

#[tokio::test]
async fn without_sign_out_the_idp_session_signs_in_silently() {
    let app = spawn_app(&[]).await;
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;
    // A second sign-in in the same browser goes straight back with a code: the IdP remembers.
    let start = app
        .browser
        .get(app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    let authorize = app.browser.get(location(&start)).send().await.unwrap();
    assert_eq!(authorize.status(), StatusCode::FOUND);
    assert!(query_param(&location(&authorize), "code").is_some());
}

#[tokio::test]
async fn a_cross_site_sign_out_is_refused_and_changes_nothing() {
    let app = spawn_app(&[]).await;
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;

    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
    ] {
        let forged = app
            .browser
            .post(app.url("/api/auth/signout"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(forged
            .text()
            .await
            .unwrap()
            .contains("came from another site"));
    }
    assert_eq!(
        session_json(&app, &app.browser).await["user"]["email"],
        "alice",
        "still signed in"
    );
}

#[tokio::test]
async fn an_unreachable_idp_gives_a_502_page_and_no_session() {
    // Nothing listens on port 9 of the loopback (discard); connection refused at once.
    let app = spawn_app(&[
        (
            "AUTH_ASGARDEO_ISSUER",
            "http://127.0.0.1:9/t/acme/oauth2/token",
        ),
        ("AUTH_ASGARDEO_ID", "client"),
        ("AUTH_ASGARDEO_SECRET", "secret"),
    ])
    .await;
    let response = app
        .browser
        .get(app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let page = response.text().await.unwrap();
    assert!(page.contains("The identity provider failed"), "{page}");
    assert!(page.contains("Error code: idp.discovery"), "{page}");
    assert_eq!(
        session_json(&app, &app.browser).await,
        serde_json::json!({})
    );
}

#[tokio::test]
async fn a_token_without_internal_login_gets_a_403_page_that_says_what_to_change() {
    let app = spawn_app(&[("AUTH_ASGARDEO_SCOPE", "openid profile email")]).await;
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;

    let page = get_page(&app.browser, &app.url("/server-profile")).await;

    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let html = page.text().await.unwrap();
    assert!(html.contains("Failed to fetch user details"), "{html}");
    assert!(
        html.contains(
            "lacks the internal_login scope — add it to AUTH_ASGARDEO_SCOPE and sign in again"
        ),
        "{html}"
    );
    assert!(html.contains("Sign in again"));
}

#[tokio::test]
async fn a_cross_site_post_to_a_server_function_is_refused() {
    let app = spawn_app(&[]).await;
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;
    let call = |headers: &[(&'static str, &'static str)]| {
        let mut request = app
            .browser
            .post(app.url("/api/server_profile"))
            .header(header::CONTENT_TYPE, "application/json")
            .body("{}");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };

    let forged = call(&[
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ])
    .await
    .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let forged = call(&[("origin", "https://evil.example")]).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // The app's own page calling it (same origin) works.
    let own = call(&[("sec-fetch-site", "same-origin")]).await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let profile: serde_json::Value = own.json().await.unwrap();
    assert_eq!(profile["given_name"], "Alice");
}

/// The browser's call of the server-profile server function, as the wasm makes it.
async fn call_server_profile(
    app: &TestApp,
    browser: &reqwest::Client,
    body: &str,
) -> reqwest::Response {
    browser
        .post(app.url("/api/server_profile"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("sec-fetch-site", "same-origin")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_server_profile_function_answers_with_a_status_that_says_whose_fault_it_is() {
    let app = spawn_app(&[]).await;

    // Nobody signed in: 401, and the app's own words.
    let anonymous = call_server_profile(&app, &app.browser, "{}").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers()[header::CACHE_CONTROL],
        "no-store",
        "nothing about a user is cached"
    );
    assert_eq!(anonymous.text().await.unwrap(), r#""NotSignedIn""#);

    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;

    // A body the app's client never sends: 400, not 500.
    for malformed in ["not json", r#"{"unexpected": ["shape"#, ""] {
        let response = call_server_profile(&app, &app.browser, malformed).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{malformed:?}");
        assert_eq!(response.text().await.unwrap(), r#""BadRequest""#);
    }

    // Signed in: the profile fields, and no token.
    let ok = call_server_profile(&app, &app.browser, "{}").await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()[header::CACHE_CONTROL], "no-store");
    let body = ok.text().await.unwrap();
    let profile: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(profile["given_name"], "Alice");
    assert_eq!(profile["family_name"], "Liddell");
    assert_eq!(profile["emails"][0], "alice@example.com");
    let session = session_json(&app, &app.browser).await;
    let token = session["access_token"].as_str().unwrap();
    assert!(
        !body.contains(token),
        "the access token never crosses: {body}"
    );
    assert!(!body.to_lowercase().contains("token"), "{body}");
}

#[tokio::test]
async fn the_auth_state_functions_tell_the_browser_who_is_signed_in() {
    let app = spawn_app(&[]).await;
    let call = |path: &'static str| {
        app.browser
            .post(app.url(path))
            .header(header::CONTENT_TYPE, "application/json")
            .header("sec-fetch-site", "same-origin")
            .body("{}")
            .send()
    };
    for path in ["/api/auth_state", "/api/auth_state_peek"] {
        let state: serde_json::Value = call(path).await.unwrap().json().await.unwrap();
        assert_eq!(state["user"], serde_json::Value::Null, "{path}");
    }
    sign_in(&app, &app.browser, "/", "alice", "alice-pass").await;
    for path in ["/api/auth_state", "/api/auth_state_peek"] {
        let response = call(path).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.text().await.unwrap();
        let state: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(user_in(&state)["email"], "alice", "{path}");
        assert_eq!(user_in(&state)["given_name"], "Alice", "{path}");
        assert!(!body.to_lowercase().contains("token\":"), "{path}: {body}");
    }
}
