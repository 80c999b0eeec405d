//! Test helpers: start the real server on a free port with the built-in development IdP (also
//! on a free port), and drive it over HTTP like a browser would — a cookie jar, no automatic
//! redirects, so every hop can be checked.
#![allow(dead_code)]

pub mod hostile;
pub mod idp;
pub mod process;
pub mod redis;

pub use axum_oidc_bff::ManualClock;
use reqwest::{header, redirect::Policy, Client, Response, StatusCode};
use server::{config::Config, startup::Application};
use std::sync::Arc;
use tokio::{net::TcpListener, sync::oneshot};
use url::Url;

/// The app's environment for a client registered at `issuer`.
pub fn client_env(issuer: &Url, id: &str, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AUTH_ASGARDEO_ISSUER", issuer.to_string()),
        ("AUTH_ASGARDEO_ID", id.to_owned()),
        ("AUTH_ASGARDEO_SECRET", secret.to_owned()),
    ]
}

pub struct TestApp {
    /// e.g. `http://localhost:41234`
    pub base: String,
    /// The issuer the app signs in with (the development IdP's, unless configured otherwise).
    pub issuer: Url,
    /// A browser: cookie jar on, redirects off.
    pub browser: Client,
    /// The app's clock: it stands still until a test moves it.
    pub clock: ManualClock,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A running app, in this process or its own: where it and its IdP answer.
pub trait Served {
    /// `path` on the app.
    fn url(&self, path: &str) -> String;
    /// `path` on the IdP it signs in with.
    fn idp_url(&self, path: &str) -> String;
}

impl Served for TestApp {
    fn url(&self, path: &str) -> String {
        TestApp::url(self, path)
    }
    fn idp_url(&self, path: &str) -> String {
        TestApp::idp_url(self, path)
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn idp_url(&self, path: &str) -> String {
        let mut base = self.issuer.clone();
        base.set_path(path);
        base.to_string()
    }

    /// A second, independent browser.
    pub fn new_browser(&self) -> Client {
        browser()
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("test HTTP client")
}

/// A browser whose cookie jar the test can read.
pub fn browser_with_jar() -> (Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .redirect(Policy::none())
        .build()
        .expect("test HTTP client");
    (client, jar)
}

/// Starts the app with the development IdP; `vars` adds or overrides environment variables.
pub async fn spawn_app(vars: &[(&str, &str)]) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    spawn_app_on(listener, vars).await
}

/// Starts the app on a bound listener (to know, or reuse, its port).
pub async fn spawn_app_on(listener: TcpListener, vars: &[(&str, &str)]) -> TestApp {
    spawn_app_with_clock(listener, vars, ManualClock::starting_now()).await
}

/// Starts the app on a bound listener with `clock` (apps that share a clock move together).
pub async fn spawn_app_with_clock(
    listener: TcpListener,
    vars: &[(&str, &str)],
    clock: ManualClock,
) -> TestApp {
    let port = listener.local_addr().unwrap().port();
    let (listen, auth_url) = (
        format!("127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    );
    let mut env: Vec<(&str, &str)> = vec![
        ("LEPTOS_SITE_ADDR", &listen),
        ("AUTH_URL", &auth_url),
        ("DEV_IDP_PORT", "0"),
        ("DEV_IDP_TEST_CONTROLS", "true"),
        ("AUTH_SECRET", "test-secret-test-secret-test-secret-0123"),
    ];
    // Later values win, as in an environment.
    env.retain(|(name, _)| !vars.iter().any(|(k, _)| k == name));
    env.extend_from_slice(vars);
    let config = Config::from_vars(&env).expect("test configuration");
    let options = leptos::config::LeptosOptions::builder()
        .output_name("asgardeo-leptos")
        .site_root("target/site")
        .build();
    let app = Application::build_with(config, options, listener, clock.clone())
        .await
        .expect("build the app");
    let issuer = app.issuer.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        clock,
        base: format!("http://localhost:{port}"),
        issuer,
        browser: browser(),
        stop: Some(stop),
        task: Some(task),
    }
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no Location header on a {} response", response.status()))
}

/// The value of query parameter `name` in `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// What a sign-in left behind: the callback URL the IdP sent the browser to.
pub struct SignInHops {
    pub authorize_url: String,
    pub callback_url: String,
}

/// Goes from the app's sign-in endpoint to the IdP's login form, logs in, and stops right
/// before following the IdP's redirect back to the app's callback.
pub async fn sign_in_until_callback(
    app: &impl Served,
    browser: &Client,
    callback: &str,
    user: &str,
    password: &str,
) -> SignInHops {
    let start = browser
        .get(app.url(&format!(
            "/api/auth/signin/asgardeo?callbackUrl={}",
            urlencode(callback)
        )))
        .send()
        .await
        .expect("sign-in request");
    assert_eq!(
        start.status(),
        StatusCode::SEE_OTHER,
        "sign-in redirects to the IdP"
    );
    let authorize_url = location(&start);
    let form = browser
        .get(&authorize_url)
        .send()
        .await
        .expect("authorize request");
    assert_eq!(
        form.status(),
        StatusCode::OK,
        "the IdP shows its login form"
    );
    let html = form.text().await.unwrap();
    let key = hidden_field(&html, "sessionDataKey").expect("login form has sessionDataKey");
    let login = browser
        .post(app.idp_url("/t/dev/commonauth"))
        .form(&[
            ("sessionDataKey", key.as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .expect("login request");
    assert_eq!(
        login.status(),
        StatusCode::FOUND,
        "a correct password redirects back to the app"
    );
    SignInHops {
        authorize_url,
        callback_url: location(&login),
    }
}

/// Signs in completely as `user`; returns the app's final redirect (to the callbackUrl).
pub async fn sign_in(
    app: &impl Served,
    browser: &Client,
    callback: &str,
    user: &str,
    password: &str,
) -> Response {
    let hops = sign_in_until_callback(app, browser, callback, user, password).await;
    browser
        .get(&hops.callback_url)
        .send()
        .await
        .expect("callback request")
}

pub async fn session_json(app: &impl Served, browser: &Client) -> serde_json::Value {
    let response = browser
        .get(app.url("/api/auth/session"))
        .send()
        .await
        .expect("session request");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("session JSON")
}

pub async fn idp_stats(app: &impl Served) -> serde_json::Value {
    reqwest::get(app.idp_url("/t/dev/_stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Fetches a page as a browser navigation would (Accept: text/html).
pub async fn get_page(browser: &Client, url: &str) -> Response {
    browser
        .get(url)
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .expect("page request")
}

/// Opens `/api/auth/events` for `browser`.
pub async fn open_events(app: &impl Served, browser: &Client) -> reqwest::Response {
    browser
        .get(app.url("/api/auth/events"))
        .header(header::ACCEPT, "text/event-stream")
        .send()
        .await
        .unwrap()
}

/// The name of the next event on `stream` (comments and keep-alives skipped); `None` when the
/// stream ends without one. Gives up after 10 s, which is a failure, not a measurement.
pub async fn next_event(stream: &mut reqwest::Response) -> Option<String> {
    let mut text = String::new();
    let read = async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if let Some(name) = text
                .lines()
                .find_map(|line| line.strip_prefix("event:").map(|n| n.trim().to_owned()))
            {
                return Some(name);
            }
        }
        None
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("an event or the end of the stream within 10 s")
}

/// The user in an answer of the auth-state server functions (the user travels as JSON text,
/// in the shape the app's mapping made it); `Null` when signed out.
pub fn user_in(state: &serde_json::Value) -> serde_json::Value {
    match state["user"].as_str() {
        Some(text) => serde_json::from_str(text).expect("the user as JSON"),
        None => serde_json::Value::Null,
    }
}
