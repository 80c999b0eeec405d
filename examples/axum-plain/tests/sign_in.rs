//! The plain axum example against the development IdP, over HTTP: a real sign-in, the protected
//! JSON route, the API called by the server and through the proxy, and sign-out.

use axum_oidc_bff::{ServeLimits, Settings};
use dev_idp::{users::default_users, DevClient, DevIdp, DevIdpSettings};
use reqwest::{header, redirect::Policy, Client, StatusCode};
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("the login form") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn a_plain_axum_app_signs_in_serves_the_user_and_calls_the_api_both_ways() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!(
        "http://localhost:{}",
        listener.local_addr().unwrap().port()
    ))
    .unwrap();
    let idp = DevIdp::bind(DevIdpSettings {
        port: 0,
        users: default_users(),
        clients: vec![DevClient::for_app(
            "plain",
            SecretString::from("plain-secret"),
            &base,
            axum_plain_example::PROVIDER,
        )],
        access_token_ttl: Duration::from_secs(3600),
        minimal_id_token: false,
        test_controls: false,
    })
    .await
    .unwrap()
    .spawn();
    let settings = Settings::builder()
        .provider_id(axum_plain_example::PROVIDER)
        .base_url(base.as_str())
        .secret(SecretString::from(
            "plain-example-secret-plain-example-secret",
        ))
        .provider(
            idp.issuer.as_str(),
            "plain",
            SecretString::from("plain-secret"),
        )
        .build()
        .unwrap();
    let app = axum_plain_example::app(settings, &idp.url("/t/dev/oauth2/userinfo"))
        .await
        .unwrap();
    tokio::spawn(axum_oidc_bff::serve(
        listener,
        app,
        ServeLimits::default(),
        std::future::pending(),
    ));
    let browser = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let url = |path: &str| base.join(path).unwrap().to_string();

    // Nobody signed in: the JSON route says so, as JSON.
    let refused = browser
        .get(url("/me"))
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "session.none", "{body}");

    // Sign in at the development IdP, as a browser would.
    let start = browser
        .get(url("/api/auth/signin/example?callbackUrl=/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let form = browser.get(location(&start)).send().await.unwrap();
    let key = hidden_field(&form.text().await.unwrap(), "sessionDataKey");
    let login = browser
        .post(idp.url("/t/dev/commonauth"))
        .form(&[
            ("sessionDataKey", key.as_str()),
            ("username", "alice"),
            ("password", "alice-pass"),
        ])
        .send()
        .await
        .unwrap();
    let done = browser.get(location(&login)).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/me");

    let me: serde_json::Value = browser
        .get(url("/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["login"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    let home = browser
        .get(url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Signed in as alice."), "{home}");

    // The API, called by the server with the user's token…
    let profile = browser.get(url("/profile")).send().await.unwrap();
    assert_eq!(profile.status(), StatusCode::OK);
    let claims: serde_json::Value = profile.json().await.unwrap();
    assert_eq!(claims["given_name"], "Alice");
    // …and through the proxy, which the browser calls with its cookie only.
    let proxied = browser
        .get(url("/api/userinfo"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::OK);
    let through_proxy: serde_json::Value = proxied.json().await.unwrap();
    assert_eq!(through_proxy, claims, "the same answer both ways");
    let cross_site = browser
        .get(url("/api/userinfo"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    // Signed out: the routes refuse again.
    let out = browser.post(url("/api/auth/signout")).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        browser.get(url("/me")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        browser
            .get(url("/api/userinfo"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}
