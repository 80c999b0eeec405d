//! The app against an IdP that misbehaves: every bad answer must leave no session, show an
//! error page with an error status, and leave the server answering. The good cases (and a key
//! rotation) must sign the user in.

use crate::helpers::hostile::{attempt, Behaviour, HostileIdp, IdToken, IssParam, TokenEndpoint};
use crate::helpers::*;
use reqwest::{Client, StatusCode};
use std::time::Duration;

struct Setup {
    idp: HostileIdp,
    app: TestApp,
}

async fn setup(extra: &[(&str, &str)]) -> Setup {
    setup_with(HostileIdp::start().await, extra).await
}

/// The app, started against this IdP.
async fn setup_with(idp: HostileIdp, extra: &[(&str, &str)]) -> Setup {
    let env = idp.app_env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.extend_from_slice(extra);
    let app = spawn_app(&vars).await;
    Setup { idp, app }
}

/// A failed sign-in: error status, an error page that says what happened, no session, and the
/// server still answering.
async fn assert_refused(setup: &Setup, behaviour: Behaviour, status: StatusCode, says: &str) {
    let Setup { idp, app } = setup;
    idp.misbehave(behaviour.clone());
    let browser = app.new_browser();

    let response = attempt(app, &browser, "/server-profile").await;

    assert_eq!(response.status(), status, "{behaviour:?}");
    let page = response.text().await.unwrap();
    if std::env::var_os("SHOW_DETAILS").is_some() {
        let detail = page
            .split("class=\"detail\">")
            .nth(1)
            .and_then(|d| d.split("</p>").next())
            .unwrap_or("-");
        eprintln!(
            "{:?} / {:?} / {:?} -> {status}: {detail}",
            behaviour.id_token, behaviour.token_endpoint, behaviour.iss_param
        );
    }
    assert!(
        page.contains("error-title"),
        "{behaviour:?}: an error page: {page}"
    );
    assert!(
        page.contains(says),
        "{behaviour:?}: the page says {says:?}: {page}"
    );
    assert_eq!(
        session_json(app, &browser).await,
        serde_json::json!({}),
        "{behaviour:?}: no session"
    );
    let home = get_page(&browser, &app.url("/")).await;
    assert_eq!(home.status(), StatusCode::OK, "the server still answers");
    assert!(home.text().await.unwrap().contains("Sign in"));
}

async fn assert_signed_in(setup: &Setup, browser: &Client) {
    let response = attempt(&setup.app, browser, "/server-profile").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/server-profile");
    let session = session_json(&setup.app, browser).await;
    assert_eq!(session["user"]["email"], "mallory", "{session}");
    assert_eq!(session["user"]["given_name"], "Mallory");
}

#[tokio::test]
async fn a_well_behaved_idp_signs_the_user_in_with_one_token_call() {
    let setup = setup(&[]).await;
    assert_signed_in(&setup, &setup.app.new_browser()).await;
    let (discovery, jwks, tokens) = (
        setup.idp.discovery_hits(),
        setup.idp.jwks_hits(),
        setup.idp.token_hits(),
    );
    assert_signed_in(&setup, &setup.app.new_browser()).await;
    assert_eq!(setup.idp.discovery_hits(), discovery, "discovery is cached");
    assert_eq!(setup.idp.jwks_hits(), jwks, "the JWKS is cached");
    assert_eq!(
        setup.idp.token_hits(),
        tokens + 1,
        "one token call per sign-in"
    );
    assert_eq!(setup.idp.userinfo_hits(), 0, "the ID token had every claim");
}

#[tokio::test]
async fn id_tokens_that_fail_validation_are_refused() {
    let setup = setup(&[]).await;
    // The page names the kind (the app's words, and a code), never the library's text.
    let cases = [
        (IdToken::WrongIss, "idp.id_token.issuer"),
        (IdToken::WrongAud, "idp.id_token.audience"),
        (IdToken::MissingAud, "idp.id_token.audience"),
        // Other audiences are not trusted unless configured (see below).
        (IdToken::ExtraAudNoAzp, "idp.id_token.audience"),
        (IdToken::WrongAzp, "idp.id_token.audience"),
        (IdToken::Expired, "idp.id_token.expired"),
        (IdToken::IatMissing, "idp.token.malformed"),
        (IdToken::IatInFuture, "idp.id_token.iat"),
        (IdToken::NonceWrong, "idp.id_token.nonce"),
        (IdToken::NonceMissing, "idp.id_token.nonce"),
        (IdToken::SubMissing, "idp.token.malformed"),
        (IdToken::AlgNone, "idp.id_token.unsigned"),
        (IdToken::Hs256WithClientSecret, "idp.id_token.alg"),
        (IdToken::CorruptSignature, "idp.id_token.signature"),
        (IdToken::UnknownKid, "idp.id_token.unknown_key"),
        (IdToken::AtHashWrong, "idp.id_token.at_hash"),
    ];
    for (id_token, says) in cases {
        assert_refused(
            &setup,
            Behaviour {
                id_token,
                ..Default::default()
            },
            StatusCode::BAD_GATEWAY,
            says,
        )
        .await;
    }
    // After all that, a good answer still signs in.
    setup.idp.misbehave(Behaviour::default());
    assert_signed_in(&setup, &setup.app.new_browser()).await;
}

/// OpenID Connect Core 3.1.3.7: another audience besides this client is refused unless the
/// app trusts it (`AUTH_TRUSTED_AUDIENCES`), and then `azp` must be this client.
#[tokio::test]
async fn an_extra_audience_is_accepted_only_when_trusted_and_azp_is_this_client() {
    let extra_aud = Behaviour {
        id_token: IdToken::ExtraAudWithAzp,
        ..Default::default()
    };
    let untrusting = setup(&[]).await;
    assert_refused(
        &untrusting,
        extra_aud.clone(),
        StatusCode::BAD_GATEWAY,
        "idp.id_token.audience",
    )
    .await;

    let trusting = setup(&[(
        "AUTH_TRUSTED_AUDIENCES",
        "https://api.example, another-client",
    )])
    .await;
    trusting.idp.misbehave(extra_aud);
    assert_signed_in(&trusting, &trusting.app.new_browser()).await;
    for id_token in [IdToken::ExtraAudNoAzp, IdToken::WrongAzp] {
        assert_refused(
            &trusting,
            Behaviour {
                id_token,
                ..Default::default()
            },
            StatusCode::BAD_GATEWAY,
            "idp.id_token.azp",
        )
        .await;
    }
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_once_then_refuses() {
    let setup = setup(&[]).await;
    assert_signed_in(&setup, &setup.app.new_browser()).await;
    let before = setup.idp.jwks_hits();
    assert_refused(
        &setup,
        Behaviour {
            id_token: IdToken::UnknownKid,
            ..Default::default()
        },
        StatusCode::BAD_GATEWAY,
        "idp.id_token.unknown_key",
    )
    .await;
    assert_eq!(setup.idp.jwks_hits(), before + 1, "one refetch");
    // A flood of forged tokens does not make the app hammer the IdP.
    assert_refused(
        &setup,
        Behaviour {
            id_token: IdToken::UnknownKid,
            ..Default::default()
        },
        StatusCode::BAD_GATEWAY,
        "idp.id_token.unknown_key",
    )
    .await;
    assert_eq!(
        setup.idp.jwks_hits(),
        before + 1,
        "no second refetch right away"
    );
}

/// OpenID conformance rp-id_token-kid-absent-single-jwks and -multiple-jwks: without a `kid`,
/// the only RS256 key is used; with several, the token is refused rather than guessed at.
#[tokio::test]
async fn an_id_token_without_kid_is_checked_with_the_only_key_and_refused_when_ambiguous() {
    let setup = setup(&[]).await;
    let no_kid = Behaviour {
        id_token: IdToken::NoKid,
        ..Default::default()
    };
    setup.idp.misbehave(no_kid.clone());
    assert_signed_in(&setup, &setup.app.new_browser()).await;

    // An IdP that publishes two keys from the start (so the app knows both).
    let idp = HostileIdp::start().await;
    idp.rotate_keys().await;
    let two_keys = setup_with(idp, &[]).await;
    assert_refused(
        &two_keys,
        no_kid,
        StatusCode::BAD_GATEWAY,
        "idp.id_token.ambiguous_key",
    )
    .await;
}

#[tokio::test]
async fn a_key_rotation_at_the_idp_needs_no_restart() {
    let setup = setup(&[]).await;
    assert_signed_in(&setup, &setup.app.new_browser()).await;
    let before = setup.idp.jwks_hits();

    setup.idp.rotate_keys().await;

    assert_signed_in(&setup, &setup.app.new_browser()).await;
    assert_eq!(
        setup.idp.jwks_hits(),
        before + 1,
        "the new key was fetched once"
    );
    assert_signed_in(&setup, &setup.app.new_browser()).await;
    assert_eq!(setup.idp.jwks_hits(), before + 1, "and then cached");
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_stops_sign_in_before_it_starts() {
    let setup = setup(&[]).await;
    setup.idp.misbehave(Behaviour {
        discovery_issuer: Some("https://attacker.example/t/evil/oauth2/token".into()),
        ..Default::default()
    });
    let browser = setup.app.new_browser();
    let response = browser
        .get(setup.app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_GATEWAY,
        "no redirect to the IdP"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("Error code: idp.discovery"), "{page}");
    assert_eq!(
        session_json(&setup.app, &browser).await,
        serde_json::json!({})
    );
}

#[tokio::test]
async fn the_rfc_9207_iss_parameter_must_name_the_issuer() {
    let setup = setup(&[]).await;
    for iss_param in [IssParam::Missing, IssParam::Wrong] {
        assert_refused(
            &setup,
            Behaviour {
                iss_param,
                ..Default::default()
            },
            StatusCode::BAD_REQUEST,
            "Error code: signin.iss",
        )
        .await;
    }
}

#[tokio::test]
async fn token_endpoint_failures_name_the_idp() {
    let setup = setup(&[("AUTH_HTTP_TIMEOUT", "2")]).await;
    let cases = [
        (TokenEndpoint::ErrorJson, "idp.token.refused"),
        (
            TokenEndpoint::Slow(Duration::from_secs(5)),
            "idp.token.unavailable",
        ),
        (TokenEndpoint::NotJson, "idp.token.malformed"),
        (TokenEndpoint::BrokenJson, "idp.token.malformed"),
        (TokenEndpoint::MissingIdToken, "idp.token.no_id_token"),
        (TokenEndpoint::UnknownTokenType, "idp.token.token_type"),
    ];
    for (token_endpoint, says) in cases {
        assert_refused(
            &setup,
            Behaviour {
                token_endpoint,
                ..Default::default()
            },
            StatusCode::BAD_GATEWAY,
            says,
        )
        .await;
    }
}

#[tokio::test]
async fn a_minimal_id_token_is_completed_from_userinfo() {
    let setup = setup(&[]).await;
    setup.idp.misbehave(Behaviour {
        id_token: IdToken::Minimal,
        ..Default::default()
    });
    assert_signed_in(&setup, &setup.app.new_browser()).await;
    assert_eq!(setup.idp.userinfo_hits(), 1);
}

#[tokio::test]
async fn userinfo_about_another_subject_is_refused() {
    let setup = setup(&[]).await;
    assert_refused(
        &setup,
        Behaviour {
            id_token: IdToken::Minimal,
            userinfo_sub: Some("someone-else".into()),
            ..Default::default()
        },
        StatusCode::BAD_GATEWAY,
        "idp.userinfo.subject",
    )
    .await;
}

#[tokio::test]
async fn replayed_codes_and_states_are_refused() {
    let setup = setup(&[]).await;
    let browser = setup.app.new_browser();
    let start = browser
        .get(setup.app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    let back = browser.get(location(&start)).send().await.unwrap();
    let callback = location(&back);
    assert_eq!(
        browser.get(&callback).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );

    // The same callback again: its state is spent.
    let replay = browser.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);

    // The old code under a fresh state: the IdP refuses it, and the app says so.
    let other = setup.app.new_browser();
    let start = other
        .get(setup.app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    let state = query_param(&location(&start), "state").unwrap();
    let code = query_param(&callback, "code").unwrap();
    let iss = setup.idp.issuer.to_string();
    let replayed = other
        .get(setup.app.url(&format!(
            "/api/auth/callback/asgardeo?code={}&state={}&iss={}",
            urlencode(&code),
            urlencode(&state),
            urlencode(&iss)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::BAD_GATEWAY);
    assert!(replayed
        .text()
        .await
        .unwrap()
        .contains("Error code: idp.token.refused"));
    assert_eq!(
        session_json(&setup.app, &other).await,
        serde_json::json!({})
    );
}

#[tokio::test]
async fn wrong_and_missing_state_are_refused() {
    let setup = setup(&[]).await;
    let browser = setup.app.new_browser();
    let start = browser
        .get(setup.app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    let back = browser.get(location(&start)).send().await.unwrap();
    let callback = location(&back);
    let code = query_param(&callback, "code").unwrap();
    for query in [format!("code={code}&state=wrong"), format!("code={code}")] {
        let response = browser
            .get(
                setup
                    .app
                    .url(&format!("/api/auth/callback/asgardeo?{query}")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(
            session_json(&setup.app, &browser).await,
            serde_json::json!({})
        );
    }
    assert_eq!(setup.idp.token_hits(), 0, "no code was exchanged");
}

#[tokio::test]
async fn an_open_redirect_in_callback_url_goes_home_instead() {
    let setup = setup(&[]).await;
    let browser = setup.app.new_browser();
    let start = browser
        .get(
            setup
                .app
                .url("/api/auth/signin/asgardeo?callbackUrl=https%3A%2F%2Fevil.example%2F"),
        )
        .send()
        .await
        .unwrap();
    let back = browser.get(location(&start)).send().await.unwrap();
    let done = browser.get(location(&back)).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/");
}

#[tokio::test]
async fn an_idp_that_goes_down_gives_502_pages_and_sign_out_still_ends_the_local_session() {
    let mut setup = setup(&[("AUTH_HTTP_CONNECT_TIMEOUT", "2")]).await;
    let browser = setup.app.new_browser();
    assert_signed_in(&setup, &browser).await;

    setup.idp.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let out = browser
        .post(setup.app.url("/api/auth/signout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::BAD_GATEWAY);
    let page = out.text().await.unwrap();
    assert!(page.contains("You are signed out of this app"), "{page}");
    assert!(page.contains("may remain"), "{page}");
    assert_eq!(
        session_json(&setup.app, &browser).await,
        serde_json::json!({}),
        "the local session ended"
    );

    // Sign-in now fails clearly (discovery is cached, the token call is not answered).
    let response = attempt_with_dead_idp(&setup.app, &browser, setup.idp.issuer.as_str()).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
}

/// With the IdP gone the browser cannot reach it either; the test plays the IdP's redirect.
async fn attempt_with_dead_idp(app: &TestApp, browser: &Client, issuer: &str) -> reqwest::Response {
    let start = browser
        .get(app.url("/api/auth/signin/asgardeo"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        start.status(),
        StatusCode::SEE_OTHER,
        "the cached discovery still builds the URL"
    );
    let state = query_param(&location(&start), "state").unwrap();
    browser
        .get(app.url(&format!(
            "/api/auth/callback/asgardeo?code=whatever&state={}&iss={}",
            urlencode(&state),
            urlencode(issuer)
        )))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn only_the_configured_signature_algorithms_are_accepted() {
    let setup = setup(&[("AUTH_ID_TOKEN_ALGS", "PS256")]).await;
    assert_refused(
        &setup,
        Behaviour::default(),
        StatusCode::BAD_GATEWAY,
        "idp.id_token.alg",
    )
    .await;
}

#[tokio::test]
async fn scim_failures_on_the_server_profile_say_what_happened_with_the_right_status() {
    use crate::helpers::hostile::Scim;
    let setup = setup(&[]).await;
    let browser = setup.app.new_browser();
    assert_signed_in(&setup, &browser).await;
    let good = get_page(&browser, &setup.app.url("/server-profile")).await;
    assert_eq!(good.status(), StatusCode::OK);
    assert!(good
        .text()
        .await
        .unwrap()
        .contains(r#"<span id="profile-email">mallory@example.com</span>"#));

    for (scim, status, says) in [
        (
            Scim::Unauthorized,
            StatusCode::UNAUTHORIZED,
            "Your session at the identity provider has expired — sign in again.",
        ),
        (
            Scim::Forbidden,
            StatusCode::FORBIDDEN,
            "lacks the internal_login scope",
        ),
        (
            Scim::ServerError,
            StatusCode::BAD_GATEWAY,
            "The identity provider's scim2/Me answered HTTP 500.",
        ),
        (
            Scim::NotJson,
            StatusCode::BAD_GATEWAY,
            "The identity provider's scim2/Me answer is not a SCIM user record.",
        ),
        (
            Scim::Huge,
            StatusCode::BAD_GATEWAY,
            "The identity provider's scim2/Me answer is not a SCIM user record.",
        ),
    ] {
        setup.idp.misbehave(Behaviour {
            scim,
            ..Default::default()
        });
        let page = get_page(&browser, &setup.app.url("/server-profile")).await;
        assert_eq!(page.status(), status, "{scim:?}");
        let html = page.text().await.unwrap();
        assert!(
            html.contains("Failed to fetch user details"),
            "{scim:?}: {html}"
        );
        assert!(html.contains(says), "{scim:?}: {html}");

        // The same failure through the server function, as the browser calls it after a
        // client-side navigation: the same status, the same message.
        let call = browser
            .post(setup.app.url("/api/server_profile"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("sec-fetch-site", "same-origin")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(call.status(), status, "server function, {scim:?}");
        let error: app::error::AppError = call.json().await.unwrap();
        assert!(error.to_string().contains(says), "{scim:?}: {error}");
    }
    // None of that ended the session.
    assert_eq!(
        session_json(&setup.app, &browser).await["user"]["email"],
        "mallory"
    );
}
