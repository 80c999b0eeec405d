//! A misbehaving OpenID Provider for the hostile-IdP tests: a real HTTP server on loopback that
//! answers like an Asgardeo organisation until told to misbehave in one of the ways the OpenID
//! conformance tests know. Its tokens are assembled by hand here, on purpose, so that they can be
//! wrong in every way; the app under test validates them with openidconnect.
#![allow(dead_code)]

use axum::{
    extract::{Form, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Json, Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use rsa::{
    pkcs1v15::SigningKey, signature::SignatureEncoding, signature::Signer, traits::PublicKeyParts,
    RsaPrivateKey,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::{net::TcpListener, sync::oneshot};
use url::Url;

pub const CLIENT_ID: &str = "hostile-test-client";
pub const CLIENT_SECRET: &str = "hostile-test-client-secret";
pub const SUBJECT: &str = "5f0c6c4e-9a62-4c36-8e2c-7d0c1b2a3f41";

/// What is wrong with the ID token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdToken {
    #[default]
    Good,
    WrongIss,
    WrongAud,
    MissingAud,
    /// Two audiences, `azp` our client id: acceptable.
    ExtraAudWithAzp,
    /// Two audiences and no `azp`.
    ExtraAudNoAzp,
    WrongAzp,
    Expired,
    IatMissing,
    IatInFuture,
    NonceWrong,
    NonceMissing,
    SubMissing,
    AlgNone,
    /// HS256, keyed with the client secret (which the IdP knows).
    Hs256WithClientSecret,
    CorruptSignature,
    /// Signed with a key the JWKS never publishes.
    UnknownKid,
    AtHashWrong,
    /// Signed with the current key, but no `kid` in the header.
    NoKid,
    /// Only `sub` and `username`: the app must ask userinfo for names.
    Minimal,
    /// No `sid` (the spec allows that): back-channel logout must still find the session.
    NoSid,
}

/// What is wrong with the token endpoint's answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenEndpoint {
    #[default]
    Good,
    /// `{"error":"invalid_grant","error_description":…}`
    ErrorJson,
    /// Answers after this long.
    Slow(Duration),
    /// An HTML page with status 200.
    NotJson,
    /// `application/json` that is not JSON.
    BrokenJson,
    MissingIdToken,
    UnknownTokenType,
}

/// What scim2/Me answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scim {
    #[default]
    Good,
    Unauthorized,
    Forbidden,
    ServerError,
    NotJson,
    Huge,
    /// Good, after this long.
    Slow(Duration),
}

/// The authorization response's RFC 9207 `iss` parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IssParam {
    #[default]
    Correct,
    Missing,
    Wrong,
}

#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    pub id_token: IdToken,
    pub token_endpoint: TokenEndpoint,
    pub iss_param: IssParam,
    /// The `issuer` discovery announces, when not the real one.
    pub discovery_issuer: Option<String>,
    /// The `sub` userinfo answers with, when not the real one.
    pub userinfo_sub: Option<String>,
    pub scim: Scim,
    /// `expires_in` of access tokens (default 3600).
    pub expires_in: Option<u64>,
    /// The `sub` of ID tokens returned by a refresh, when not the real one.
    pub refresh_sub: Option<String>,
    /// The code exchange gives no refresh token.
    pub no_refresh_token: bool,
    /// What a refresh answers.
    pub refresh: Refresh,
    /// The `sid` of ID tokens returned by a refresh, when not the sign-in's.
    pub refresh_sid: Option<String>,
    /// The `auth_time` of ID tokens returned by a refresh, when not the sign-in's.
    pub refresh_auth_time: Option<u64>,
    /// The token endpoint discovery announces, when not the real one.
    pub discovered_token_endpoint: Option<String>,
    /// The end-session endpoint discovery announces, when not the real one.
    pub discovered_end_session_endpoint: Option<String>,
    /// Revocation requests wait until the test releases them ([`HostileIdp::release_revocations`]).
    pub hold_revocations: bool,
}

/// What the token endpoint answers a refresh with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Refresh {
    #[default]
    Good,
    /// 503: the IdP is down.
    Unavailable,
    /// `invalid_grant`.
    InvalidGrant,
    /// 200 with a body that is not a token response.
    Broken,
    /// Good, after this long.
    Slow(Duration),
}

struct Key {
    kid: String,
    private: RsaPrivateKey,
}

impl Key {
    fn generate(kid: &str) -> Key {
        Key {
            kid: kid.to_owned(),
            private: RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key"),
        }
    }

    fn jwk(&self) -> Value {
        let public = self.private.to_public_key();
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": B64.encode(public.n().to_bytes_be()),
            "e": B64.encode(public.e().to_bytes_be()),
        })
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        SigningKey::<Sha256>::new(self.private.clone())
            .sign(input)
            .to_vec()
    }
}

struct Inner {
    issuer: Url,
    behaviour: Mutex<Behaviour>,
    published: Mutex<Vec<Key>>,
    stray: Key,
    codes: Mutex<HashMap<String, CodeRecord>>,
    pub discovery_hits: AtomicU64,
    pub jwks_hits: AtomicU64,
    pub token_hits: AtomicU64,
    pub userinfo_hits: AtomicU64,
    pub refresh_hits: AtomicU64,
    /// The refresh token issued last, and refreshes that presented another (an older) one.
    latest_refresh_token: Mutex<Option<String>>,
    latest_access_token: Mutex<Option<String>>,
    stale_refreshes: AtomicU64,
    /// Code exchanges so far: each starts a new IdP session (`sid`).
    sign_ins: AtomicU64,
    /// When the user "authenticated" (every ID token's `auth_time`).
    auth_time: u64,
    /// Revocation requests received, and the (token, hint) pairs they revoked once answered.
    revocations_started: AtomicU64,
    revoked: Mutex<Vec<(String, String)>>,
    /// Permits for held revocation requests.
    revocation_release: tokio::sync::Semaphore,
}

#[derive(Clone)]
struct CodeRecord {
    nonce: Option<String>,
    challenge: String,
    redirect_uri: String,
    used: bool,
}

pub struct HostileIdp {
    pub issuer: Url,
    inner: Arc<Inner>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for HostileIdp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl HostileIdp {
    pub async fn start() -> HostileIdp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let issuer =
            Url::parse(&format!("http://127.0.0.1:{port}/t/hostile/oauth2/token")).unwrap();
        let (first, stray) = tokio::task::spawn_blocking(|| {
            (Key::generate("hostile-1"), Key::generate("never-published"))
        })
        .await
        .unwrap();
        let inner = Arc::new(Inner {
            issuer: issuer.clone(),
            behaviour: Mutex::new(Behaviour::default()),
            published: Mutex::new(vec![first]),
            stray,
            codes: Mutex::new(HashMap::new()),
            discovery_hits: AtomicU64::new(0),
            jwks_hits: AtomicU64::new(0),
            token_hits: AtomicU64::new(0),
            userinfo_hits: AtomicU64::new(0),
            refresh_hits: AtomicU64::new(0),
            latest_refresh_token: Mutex::new(None),
            latest_access_token: Mutex::new(None),
            stale_refreshes: AtomicU64::new(0),
            sign_ins: AtomicU64::new(0),
            auth_time: now() - 5,
            revocations_started: AtomicU64::new(0),
            revoked: Mutex::new(Vec::new()),
            revocation_release: tokio::sync::Semaphore::new(0),
        });
        let router = Router::new()
            .route(
                "/t/hostile/oauth2/token/.well-known/openid-configuration",
                get(discovery),
            )
            .route("/t/hostile/oauth2/jwks", get(jwks))
            .route("/t/hostile/oauth2/authorize", get(authorize))
            .route("/t/hostile/oauth2/token", post(token))
            .route("/t/hostile/oauth2/userinfo", get(userinfo))
            .route("/t/hostile/oauth2/revoke", post(revoke))
            .route("/t/hostile/scim2/Me", get(scim_me))
            .with_state(inner.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        HostileIdp {
            issuer,
            inner,
            stop: Some(stop),
        }
    }

    /// The app's environment for this IdP.
    pub fn app_env(&self) -> Vec<(&'static str, String)> {
        super::client_env(&self.issuer, CLIENT_ID, CLIENT_SECRET)
    }

    pub fn misbehave(&self, behaviour: Behaviour) {
        *self.inner.behaviour.lock().unwrap() = behaviour;
    }

    /// Signs with a new key from now on; the JWKS publishes both.
    pub async fn rotate_keys(&self) {
        let n = self.inner.published.lock().unwrap().len() + 1;
        let key = tokio::task::spawn_blocking(move || Key::generate(&format!("hostile-{n}")))
            .await
            .unwrap();
        self.inner.published.lock().unwrap().push(key);
    }

    pub fn discovery_hits(&self) -> u64 {
        self.inner.discovery_hits.load(Ordering::SeqCst)
    }
    pub fn jwks_hits(&self) -> u64 {
        self.inner.jwks_hits.load(Ordering::SeqCst)
    }
    pub fn token_hits(&self) -> u64 {
        self.inner.token_hits.load(Ordering::SeqCst)
    }
    pub fn userinfo_hits(&self) -> u64 {
        self.inner.userinfo_hits.load(Ordering::SeqCst)
    }

    /// Revocation requests received so far (answered or held).
    pub fn revocations_started(&self) -> u64 {
        self.inner.revocations_started.load(Ordering::SeqCst)
    }

    /// The (token, token_type_hint) pairs revoked so far.
    pub fn revoked(&self) -> Vec<(String, String)> {
        self.inner.revoked.lock().unwrap().clone()
    }

    /// Lets `count` held revocation requests answer.
    pub fn release_revocations(&self, count: usize) {
        self.inner.revocation_release.add_permits(count);
    }

    /// The access token issued last.
    pub fn latest_access_token(&self) -> Option<String> {
        self.inner.latest_access_token.lock().unwrap().clone()
    }

    /// Stops answering: connections are refused from now on.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Sign-in against the hostile IdP (which needs no login form): the app's answer to the
/// callback, or to the sign-in request when that fails already.
/// The hostile IdP behaving as `behaviour`, and the app (refresh skew 60 s, `extra` settings)
/// signed in to it in `browser` (the app's own browser when `None`).
pub async fn signed_in_at(
    behaviour: Behaviour,
    extra: &[(&str, &str)],
    browser: Option<&reqwest::Client>,
) -> (HostileIdp, super::TestApp) {
    let idp = HostileIdp::start().await;
    let env = idp.app_env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("AUTH_REFRESH_SKEW", "60"));
    vars.extend_from_slice(extra);
    let app = super::spawn_app(&vars).await;
    idp.misbehave(behaviour);
    let signed_in = attempt(&app, browser.unwrap_or(&app.browser), "/").await;
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    (idp, app)
}

pub async fn attempt(
    app: &super::TestApp,
    browser: &reqwest::Client,
    callback: &str,
) -> reqwest::Response {
    let url = app.url(&format!(
        "/api/auth/signin/asgardeo?callbackUrl={}",
        super::urlencode(callback)
    ));
    let start = browser.get(url).send().await.unwrap();
    if start.status() != reqwest::StatusCode::SEE_OTHER {
        return start;
    }
    let back = browser.get(super::location(&start)).send().await.unwrap();
    assert_eq!(
        back.status(),
        reqwest::StatusCode::FOUND,
        "the hostile IdP redirects back"
    );
    browser.get(super::location(&back)).send().await.unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn url(inner: &Inner, path: &str) -> String {
    let mut url = inner.issuer.clone();
    url.set_path(path);
    url.to_string()
}

async fn discovery(State(inner): State<Arc<Inner>>) -> Response {
    inner.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let behaviour = inner.behaviour.lock().unwrap().clone();
    let issuer = behaviour
        .discovery_issuer
        .unwrap_or_else(|| inner.issuer.to_string());
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": url(&inner, "/t/hostile/oauth2/authorize"),
        "token_endpoint": behaviour.discovered_token_endpoint
            .unwrap_or_else(|| url(&inner, "/t/hostile/oauth2/token")),
        "userinfo_endpoint": url(&inner, "/t/hostile/oauth2/userinfo"),
        "jwks_uri": url(&inner, "/t/hostile/oauth2/jwks"),
        "end_session_endpoint": behaviour.discovered_end_session_endpoint
            .unwrap_or_else(|| url(&inner, "/t/hostile/oidc/logout")),
        "revocation_endpoint": url(&inner, "/t/hostile/oauth2/revoke"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        // Advertises HS256 too: the app must still refuse it.
        "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

async fn jwks(State(inner): State<Arc<Inner>>) -> Response {
    inner.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let mut keys: Vec<Value> = inner
        .published
        .lock()
        .unwrap()
        .iter()
        .map(Key::jwk)
        .collect();
    // Keys the app cannot use must be skipped, not make the whole set unreadable.
    keys.push(json!({"kty": "unknown-kty", "kid": "junk-1", "x": "AAAA"}));
    keys.push(json!({"kty": "EC", "kid": "junk-2", "crv": "P-999", "x": "AAAA", "y": "AAAA"}));
    Json(json!({ "keys": keys })).into_response()
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
}

/// No login form: the user is "already signed in" and goes straight back with a code.
async fn authorize(
    State(inner): State<Arc<Inner>>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    let code = B64.encode(rand::random::<[u8; 24]>());
    inner.codes.lock().unwrap().insert(
        code.clone(),
        CodeRecord {
            nonce: query.nonce,
            challenge: query.code_challenge.unwrap_or_default(),
            redirect_uri: query.redirect_uri.clone(),
            used: false,
        },
    );
    let mut location = Url::parse(&query.redirect_uri).unwrap();
    location.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = query.state {
        location.query_pairs_mut().append_pair("state", &state);
    }
    match inner.behaviour.lock().unwrap().iss_param {
        IssParam::Correct => {
            location
                .query_pairs_mut()
                .append_pair("iss", inner.issuer.as_str());
        }
        IssParam::Wrong => {
            location
                .query_pairs_mut()
                .append_pair("iss", "https://attacker.example/t/evil/oauth2/token");
        }
        IssParam::Missing => {}
    }
    let mut response = Redirect::to(location.as_str()).into_response();
    *response.status_mut() = StatusCode::FOUND;
    response
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: Option<String>,
    code_verifier: Option<String>,
    redirect_uri: Option<String>,
    refresh_token: Option<String>,
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn token(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    inner.token_hits.fetch_add(1, Ordering::SeqCst);
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if form.grant_type == "refresh_token" {
        return refresh(&inner, form.refresh_token.as_deref()).await;
    }
    if form.grant_type != "authorization_code" {
        return oauth_error(
            "unsupported_grant_type",
            "only authorization_code and refresh_token",
        );
    }
    let record = {
        let mut codes = inner.codes.lock().unwrap();
        let Some(record) = codes.get_mut(form.code.as_deref().unwrap_or_default()) else {
            return oauth_error("invalid_grant", "unknown code");
        };
        if record.used {
            return oauth_error("invalid_grant", "The authorization code was already used.");
        }
        record.used = true;
        record.clone()
    };
    let verifier = form.code_verifier.unwrap_or_default();
    if B64.encode(Sha256::digest(verifier.as_bytes())) != record.challenge {
        return oauth_error("invalid_grant", "PKCE verification failed");
    }
    if form.redirect_uri.as_deref() != Some(record.redirect_uri.as_str()) {
        return oauth_error("invalid_grant", "redirect_uri mismatch");
    }

    let behaviour = inner.behaviour.lock().unwrap().clone();
    let access_token = B64.encode(rand::random::<[u8; 32]>());
    inner.sign_ins.fetch_add(1, Ordering::SeqCst);
    let id_token = id_token(
        &inner,
        behaviour.id_token,
        record.nonce.as_deref(),
        &access_token,
    );
    let refresh_token = B64.encode(rand::random::<[u8; 32]>());
    *inner.latest_refresh_token.lock().unwrap() = Some(refresh_token.clone());
    *inner.latest_access_token.lock().unwrap() = Some(access_token.clone());
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": behaviour.expires_in.unwrap_or(3600),
        "refresh_token": refresh_token,
        "scope": "openid profile email internal_login",
        "id_token": id_token,
    });
    if behaviour.no_refresh_token {
        body.as_object_mut().unwrap().remove("refresh_token");
    }
    match behaviour.token_endpoint {
        TokenEndpoint::Good => {}
        TokenEndpoint::ErrorJson => {
            return oauth_error(
                "invalid_grant",
                "The authorization grant has been revoked by an administrator.",
            )
        }
        TokenEndpoint::Slow(delay) => tokio::time::sleep(delay).await,
        TokenEndpoint::NotJson => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>Bad gateway</body></html>",
            )
                .into_response()
        }
        TokenEndpoint::BrokenJson => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"access_token": "#,
            )
                .into_response()
        }
        TokenEndpoint::MissingIdToken => {
            body.as_object_mut().unwrap().remove("id_token");
        }
        TokenEndpoint::UnknownTokenType => body["token_type"] = json!("N_A"),
    }
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// A refresh: new tokens, and an ID token about `refresh_sub` when told so.
async fn refresh(inner: &Inner, presented: Option<&str>) -> Response {
    inner.refresh_hits.fetch_add(1, Ordering::SeqCst);
    if inner.latest_refresh_token.lock().unwrap().as_deref() != presented {
        inner.stale_refreshes.fetch_add(1, Ordering::SeqCst);
    }
    let behaviour = inner.behaviour.lock().unwrap().clone();
    match behaviour.refresh {
        Refresh::Good => {}
        Refresh::Slow(delay) => tokio::time::sleep(delay).await,
        Refresh::Unavailable => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Refresh::InvalidGrant => return oauth_error("invalid_grant", "refresh token revoked"),
        Refresh::Broken => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"token_type": 7}"#,
            )
                .into_response()
        }
    }
    let access_token = B64.encode(rand::random::<[u8; 32]>());
    let mut id_token = id_token(inner, IdToken::NonceMissing, None, &access_token);
    if behaviour.refresh_sid.is_some() || behaviour.refresh_auth_time.is_some() {
        let now = now();
        let claims = json!({"iss": inner.issuer.to_string(), "aud": CLIENT_ID, "azp": CLIENT_ID, "sub": SUBJECT,
                            "iat": now, "exp": now + 3600, "at_hash": at_hash(&access_token),
                            "sid": behaviour.refresh_sid.clone().unwrap_or_else(|| sid(inner.sign_ins.load(Ordering::SeqCst))),
                            "auth_time": behaviour.refresh_auth_time.unwrap_or(inner.auth_time)});
        let published = inner.published.lock().unwrap();
        id_token = rs256(
            published.last().unwrap(),
            &B64.encode(serde_json::to_vec(&claims).unwrap()),
        );
    }
    if let Some(sub) = &behaviour.refresh_sub {
        let now = now();
        let claims = json!({"iss": inner.issuer.to_string(), "aud": CLIENT_ID, "azp": CLIENT_ID, "sub": sub,
                            "iat": now, "exp": now + 3600, "at_hash": at_hash(&access_token)});
        let published = inner.published.lock().unwrap();
        id_token = rs256(
            published.last().unwrap(),
            &B64.encode(serde_json::to_vec(&claims).unwrap()),
        );
    }
    let refresh_token = B64.encode(rand::random::<[u8; 32]>());
    *inner.latest_refresh_token.lock().unwrap() = Some(refresh_token.clone());
    *inner.latest_access_token.lock().unwrap() = Some(access_token.clone());
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": behaviour.expires_in.unwrap_or(3600),
        "refresh_token": refresh_token,
        "id_token": id_token,
    }))
    .into_response()
}

/// What a minted logout token gets wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoutMischief {
    None,
    UnknownKey,
    WithNonce,
    NoEvent,
    WrongAudience,
    WrongIssuer,
    Stale,
    Expired,
    NoExp,
    AlgNone,
    Hs256WithClientSecret,
    /// Neither `sub` nor `sid`.
    NoSubject,
    /// A header `alg` that holds a newline and a terminal escape sequence: a forged log line.
    ForgedAlg,
}

/// What [`LogoutMischief::ForgedAlg`] puts in the header's `alg`.
pub const FORGED_ALG: &str = "RS256\nFAKE INFO signed in sub=admin\u{1b}[2J";

impl HostileIdp {
    /// A back-channel logout token about `sub` and/or `sid`, signed as told.
    pub fn logout_token(
        &self,
        sub: Option<&str>,
        sid: Option<&str>,
        jti: &str,
        mischief: LogoutMischief,
    ) -> String {
        self.logout_token_issued_at(sub, sid, jti, mischief, now())
    }

    /// [`HostileIdp::logout_token`], issued at Unix time `now` (a token the IdP made earlier,
    /// retried or replayed).
    pub fn logout_token_issued_at(
        &self,
        sub: Option<&str>,
        sid: Option<&str>,
        jti: &str,
        mischief: LogoutMischief,
        now: u64,
    ) -> String {
        let mut claims = json!({
            "iss": self.inner.issuer.to_string(), "aud": CLIENT_ID, "iat": now, "exp": now + 120, "jti": jti,
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        let object = claims.as_object_mut().unwrap();
        if let Some(sub) = sub {
            object.insert("sub".into(), json!(sub));
        }
        if let Some(sid) = sid {
            object.insert("sid".into(), json!(sid));
        }
        match mischief {
            LogoutMischief::WithNonce => claims["nonce"] = json!("n-1"),
            LogoutMischief::NoEvent => claims["events"] = json!({}),
            LogoutMischief::WrongAudience => claims["aud"] = json!("another-client"),
            LogoutMischief::WrongIssuer => {
                claims["iss"] = json!("https://attacker.example/t/evil/oauth2/token")
            }
            LogoutMischief::Stale => {
                claims["iat"] = json!(now - 3600);
                claims["exp"] = json!(now + 60);
            }
            LogoutMischief::Expired => claims["exp"] = json!(now - 600),
            LogoutMischief::NoExp => {
                object_remove(&mut claims, "exp");
            }
            LogoutMischief::NoSubject => {
                object_remove(&mut claims, "sub");
                object_remove(&mut claims, "sid");
            }
            LogoutMischief::None
            | LogoutMischief::ForgedAlg
            | LogoutMischief::UnknownKey
            | LogoutMischief::AlgNone
            | LogoutMischief::Hs256WithClientSecret => {}
        }
        let payload = B64.encode(serde_json::to_vec(&claims).unwrap());
        let published = self.inner.published.lock().unwrap();
        let current = published.last().unwrap();
        match mischief {
            LogoutMischief::UnknownKey => rs256_typed(&self.inner.stray, &payload, "logout+jwt"),
            LogoutMischief::AlgNone => format!(
                "{}.{payload}.",
                B64.encode(br#"{"alg":"none","typ":"logout+jwt"}"#)
            ),
            LogoutMischief::Hs256WithClientSecret => hs256(&current.kid, &payload),
            LogoutMischief::ForgedAlg => {
                let header = json!({"alg": FORGED_ALG, "typ": "logout+jwt", "kid": current.kid});
                let input = format!("{}.{payload}", B64.encode(header.to_string()));
                format!("{input}.{}", B64.encode(current.sign(input.as_bytes())))
            }
            _ => rs256_typed(current, &payload, "logout+jwt"),
        }
    }

    /// The IdP session id (`sid`) of the latest sign-in.
    pub fn last_sid(&self) -> String {
        sid(self.inner.sign_ins.load(Ordering::SeqCst))
    }

    pub fn refresh_hits(&self) -> u64 {
        self.inner.refresh_hits.load(Ordering::SeqCst)
    }

    /// The refresh token issued last.
    pub fn latest_refresh_token(&self) -> Option<String> {
        self.inner.latest_refresh_token.lock().unwrap().clone()
    }

    /// Refreshes that presented a refresh token older than the one issued last.
    pub fn stale_refreshes(&self) -> u64 {
        self.inner.stale_refreshes.load(Ordering::SeqCst)
    }
}

fn id_token(inner: &Inner, mischief: IdToken, nonce: Option<&str>, access_token: &str) -> String {
    let now = now();
    let issuer = inner.issuer.to_string();
    let mut claims = json!({
        "iss": issuer,
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "sub": SUBJECT,
        "sid": sid(inner.sign_ins.load(Ordering::SeqCst)),
        "iat": now,
        "exp": now + 3600,
        "auth_time": inner.auth_time,
        "nonce": nonce,
        "username": "mallory",
        "given_name": "Mallory",
        "family_name": "Hostile",
        "email": "mallory@example.com",
        "at_hash": at_hash(access_token),
    });
    let object = claims.as_object_mut().unwrap();
    match mischief {
        IdToken::WrongIss => {
            object.insert(
                "iss".into(),
                json!("https://attacker.example/t/evil/oauth2/token"),
            );
        }
        IdToken::WrongAud => {
            object.insert("aud".into(), json!("another-client"));
            object.remove("azp");
        }
        IdToken::MissingAud => {
            object.remove("aud");
        }
        IdToken::ExtraAudWithAzp => {
            object.insert("aud".into(), json!([CLIENT_ID, "https://api.example"]));
        }
        IdToken::ExtraAudNoAzp => {
            object.insert("aud".into(), json!([CLIENT_ID, "https://api.example"]));
            object.remove("azp");
        }
        IdToken::WrongAzp => {
            object.insert("aud".into(), json!([CLIENT_ID, "another-client"]));
            object.insert("azp".into(), json!("another-client"));
        }
        IdToken::Expired => {
            object.insert("iat".into(), json!(now - 7200));
            object.insert("exp".into(), json!(now - 3600));
        }
        IdToken::IatMissing => {
            object.remove("iat");
        }
        IdToken::IatInFuture => {
            object.insert("iat".into(), json!(now + 3600));
            object.insert("exp".into(), json!(now + 7200));
        }
        IdToken::NonceWrong => {
            object.insert("nonce".into(), json!("not-the-nonce-the-app-sent"));
        }
        IdToken::NonceMissing => {
            object.remove("nonce");
        }
        IdToken::SubMissing => {
            object.remove("sub");
        }
        IdToken::AtHashWrong => {
            object.insert("at_hash".into(), json!(at_hash("some-other-access-token")));
        }
        IdToken::Minimal => {
            for name in ["given_name", "family_name", "email"] {
                object.remove(name);
            }
        }
        IdToken::NoSid => {
            object.remove("sid");
        }
        IdToken::Good
        | IdToken::AlgNone
        | IdToken::Hs256WithClientSecret
        | IdToken::CorruptSignature
        | IdToken::UnknownKid
        | IdToken::NoKid => {}
    }
    let payload = B64.encode(serde_json::to_vec(&claims).unwrap());
    let published = inner.published.lock().unwrap();
    let current = published.last().unwrap();
    match mischief {
        IdToken::AlgNone => format!(
            "{}.{payload}.",
            B64.encode(br#"{"alg":"none","typ":"JWT"}"#)
        ),
        IdToken::Hs256WithClientSecret => hs256(&current.kid, &payload),
        IdToken::UnknownKid => rs256(&inner.stray, &payload),
        IdToken::NoKid => {
            let header = B64.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
            let input = format!("{header}.{payload}");
            format!("{input}.{}", B64.encode(current.sign(input.as_bytes())))
        }
        IdToken::CorruptSignature => {
            let token = rs256(current, &payload);
            let (input, signature) = token.rsplit_once('.').unwrap();
            let mut bytes = B64.decode(signature).unwrap();
            bytes[10] ^= 0x55;
            format!("{input}.{}", B64.encode(bytes))
        }
        _ => rs256(current, &payload),
    }
}

/// HMAC-SHA256 keyed with the client secret (which the IdP knows).
fn hs256(kid: &str, payload: &str) -> String {
    use hmac::Mac;
    let header = B64.encode(format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#));
    let input = format!("{header}.{payload}");
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", B64.encode(mac.finalize().into_bytes()))
}

fn sid(sign_in: u64) -> String {
    format!("hostile-idp-session-{sign_in}")
}

fn object_remove(value: &mut Value, name: &str) {
    value.as_object_mut().unwrap().remove(name);
}

fn rs256(key: &Key, payload: &str) -> String {
    rs256_typed(key, payload, "JWT")
}

fn rs256_typed(key: &Key, payload: &str, typ: &str) -> String {
    let header = B64.encode(format!(
        r#"{{"alg":"RS256","typ":"{typ}","kid":"{}"}}"#,
        key.kid
    ));
    let input = format!("{header}.{payload}");
    format!("{input}.{}", B64.encode(key.sign(input.as_bytes())))
}

/// OpenID Connect Core §3.1.3.6: base64url of the left half of SHA-256 of the access token.
fn at_hash(access_token: &str) -> String {
    B64.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

#[derive(Deserialize)]
struct RevokeForm {
    token: String,
    token_type_hint: Option<String>,
}

/// RFC 7009; held until the test releases it when the behaviour says so.
async fn revoke(State(inner): State<Arc<Inner>>, Form(form): Form<RevokeForm>) -> Response {
    inner.revocations_started.fetch_add(1, Ordering::SeqCst);
    if inner.behaviour.lock().unwrap().hold_revocations {
        let permit = inner.revocation_release.acquire().await.unwrap();
        permit.forget();
    }
    inner
        .revoked
        .lock()
        .unwrap()
        .push((form.token, form.token_type_hint.unwrap_or_default()));
    StatusCode::OK.into_response()
}

async fn userinfo(State(inner): State<Arc<Inner>>) -> Response {
    inner.userinfo_hits.fetch_add(1, Ordering::SeqCst);
    let sub = inner
        .behaviour
        .lock()
        .unwrap()
        .userinfo_sub
        .clone()
        .unwrap_or_else(|| SUBJECT.to_owned());
    Json(json!({
        "sub": sub,
        "username": "mallory",
        "given_name": "Mallory",
        "family_name": "Hostile",
        "email": "mallory@example.com",
    }))
    .into_response()
}

async fn scim_me(State(inner): State<Arc<Inner>>) -> Response {
    let scim = |status: StatusCode, body: String| {
        (
            status,
            [(header::CONTENT_TYPE, "application/scim+json")],
            body,
        )
            .into_response()
    };
    let error = |status: u16, detail: &str| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "detail": detail, "status": status.to_string()})
            .to_string()
    };
    let behaviour = inner.behaviour.lock().unwrap().scim;
    match behaviour {
        Scim::Good => scim(
            StatusCode::OK,
            json!({"id": SUBJECT, "userName": "mallory", "name": {"givenName": "Mallory", "familyName": "Hostile"},
                   "emails": [{"value": "mallory@example.com", "primary": true}]})
            .to_string(),
        ),
        Scim::Unauthorized => scim(StatusCode::UNAUTHORIZED, error(401, "Authorization failure.")),
        Scim::Forbidden => scim(StatusCode::FORBIDDEN, error(403, "Operation is not permitted.")),
        Scim::ServerError => scim(StatusCode::INTERNAL_SERVER_ERROR, error(500, "Internal server error while retrieving user.")),
        Scim::NotJson => (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], "<html>maintenance</html>").into_response(),
        Scim::Huge => scim(StatusCode::OK, format!(r#"{{"id":"1","userName":"{}"}}"#, "x".repeat(3 * 1024 * 1024))),
        Scim::Slow(delay) => {
            tokio::time::sleep(delay).await;
            scim(StatusCode::OK, json!({"id": SUBJECT, "userName": "mallory"}).to_string())
        }
    }
}
