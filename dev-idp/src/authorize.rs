//! Authorization endpoint and login form of the development IdP.

use super::{
    now, pages, random_token, AuthRequest, CodeGrant, IdpSession, IdpState, Stats, CODE_TTL,
    LOGIN_FORM_TTL, ORG,
};
use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;
use std::sync::Arc;
use url::Url;

/// The IdP's login-session cookie. Its own name, because cookies are shared by every port of
/// `localhost`, the app's included.
pub(super) const SESSION_COOKIE: &str = "devidp_session";

#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
}

pub async fn authorize(
    State(idp): State<Arc<IdpState>>,
    headers: HeaderMap,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    handle_authorize(&idp, &headers, params)
}

/// OpenID Connect allows the authorization request as a form POST too.
pub async fn authorize_post(
    State(idp): State<Arc<IdpState>>,
    headers: HeaderMap,
    Form(params): Form<AuthorizeParams>,
) -> Response {
    handle_authorize(&idp, &headers, params)
}

fn handle_authorize(idp: &IdpState, headers: &HeaderMap, params: AuthorizeParams) -> Response {
    Stats::bump(&idp.stats.authorize);
    // Until client and redirect_uri are known good, errors are shown here and never redirected:
    // redirecting to an unregistered URI would make the IdP an open redirector.
    let Some(client) = params.client_id.as_deref().and_then(|id| idp.client(id)) else {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "Unknown application",
            "The client_id is missing or not registered.",
        );
    };
    let Some(redirect_uri) = params
        .redirect_uri
        .clone()
        .filter(|uri| client.redirect_uris.contains(uri))
    else {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "Unregistered redirect URI",
            "The redirect_uri is missing or not registered for this application.",
        );
    };
    let fail = |error: &str, description: &str| {
        error_redirect(
            idp,
            &redirect_uri,
            params.state.as_deref(),
            error,
            description,
        )
    };
    if params.response_type.as_deref() != Some("code") {
        return fail(
            "unsupported_response_type",
            "Only response_type=code is supported.",
        );
    }
    let scope = params.scope.clone().unwrap_or_default();
    if !scope.split_whitespace().any(|s| s == "openid") {
        return fail("invalid_scope", "The scope must include openid.");
    }
    let challenge = params.code_challenge.clone().unwrap_or_default();
    if params.code_challenge_method.as_deref() != Some("S256")
        || !(43..=128).contains(&challenge.len())
    {
        return fail(
            "invalid_request",
            "PKCE is required: send a code_challenge with code_challenge_method=S256.",
        );
    }
    let request = AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        scope,
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        code_challenge: challenge,
        created: now(),
    };
    let prompt = params.prompt.as_deref().unwrap_or("");
    let prompts_login = prompt.split_whitespace().any(|p| p == "login");
    if !prompts_login {
        if let Some((sid, session)) = current_session(idp, headers) {
            return issue_code(
                idp,
                request,
                &session.username,
                &sid,
                session.auth_time,
                None,
            );
        }
    }
    if prompt.split_whitespace().any(|p| p == "none") {
        return fail(
            "login_required",
            "The user is not signed in at the identity provider.",
        );
    }
    let key = random_token();
    idp.store().auth_requests.insert(key.clone(), request);
    pages::login_form(&idp.url("/commonauth"), &key, None, "")
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(rename = "sessionDataKey")]
    session_data_key: String,
    username: String,
    password: String,
}

pub async fn login(State(idp): State<Arc<IdpState>>, Form(form): Form<LoginForm>) -> Response {
    let request = {
        let store = idp.store();
        store
            .auth_requests
            .get(&form.session_data_key)
            .filter(|r| r.created + LOGIN_FORM_TTL > now())
            .cloned()
    };
    let Some(request) = request else {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in request has expired or was already used. Go back to the application and sign in again.",
        );
    };
    let user = idp
        .user(form.username.trim())
        .filter(|u| u.password_matches(&form.password));
    let Some(user) = user else {
        return pages::login_form(
            &idp.url("/commonauth"),
            &form.session_data_key,
            Some("Login failed! Please check your username and password and try again."),
            &form.username,
        );
    };
    Stats::bump(&idp.stats.logins);
    let sid = random_token();
    let auth_time = now();
    {
        let mut store = idp.store();
        store.auth_requests.remove(&form.session_data_key);
        store.sessions.insert(
            sid.clone(),
            IdpSession {
                username: user.username.clone(),
                auth_time,
                clients: Vec::new(),
            },
        );
    }
    let cookie = format!("{SESSION_COOKIE}={sid}; Path=/t/{ORG}; HttpOnly; SameSite=Lax");
    issue_code(&idp, request, &user.username, &sid, auth_time, Some(cookie))
}

/// The IdP session named by the request's cookie, if it is still live.
pub(super) fn current_session(idp: &IdpState, headers: &HeaderMap) -> Option<(String, IdpSession)> {
    let sid = cookie_value(headers, SESSION_COOKIE)?;
    let session = idp.store().sessions.get(&sid).cloned()?;
    Some((sid, session))
}

pub(super) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Issues a one-time code and sends the browser back to the application.
fn issue_code(
    idp: &IdpState,
    request: AuthRequest,
    username: &str,
    sid: &str,
    auth_time: u64,
    set_cookie: Option<String>,
) -> Response {
    let code = random_token();
    let mut location = match Url::parse(&request.redirect_uri) {
        Ok(url) => url,
        Err(_) => {
            return pages::message(
                StatusCode::BAD_REQUEST,
                "Bad redirect URI",
                "The registered redirect URI is not a URL.",
            )
        }
    };
    location.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = &request.state {
        location.query_pairs_mut().append_pair("state", state);
    }
    // RFC 9207, advertised in discovery.
    location
        .query_pairs_mut()
        .append_pair("iss", idp.issuer.as_str());
    {
        let mut store = idp.store();
        if let Some(session) = store.sessions.get_mut(sid) {
            if !session.clients.contains(&request.client_id) {
                session.clients.push(request.client_id.clone());
            }
        }
        store.codes.insert(
            code,
            CodeGrant {
                request,
                username: username.to_owned(),
                sid: sid.to_owned(),
                auth_time,
                expires: now() + CODE_TTL,
                redeemed: None,
            },
        );
    }
    let mut response = Redirect::to(location.as_str()).into_response();
    *response.status_mut() = StatusCode::FOUND;
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn error_redirect(
    idp: &IdpState,
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let Ok(mut location) = Url::parse(redirect_uri) else {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "Bad redirect URI",
            "The registered redirect URI is not a URL.",
        );
    };
    location
        .query_pairs_mut()
        .append_pair("error", error)
        .append_pair("error_description", description);
    if let Some(state) = state {
        location.query_pairs_mut().append_pair("state", state);
    }
    location
        .query_pairs_mut()
        .append_pair("iss", idp.issuer.as_str());
    let mut response = Redirect::to(location.as_str()).into_response();
    *response.status_mut() = StatusCode::FOUND;
    response
}
