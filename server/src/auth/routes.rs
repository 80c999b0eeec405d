//! The Auth.js-compatible endpoints, so that an Asgardeo application registered for the Next.js
//! guide works unchanged:
//!
//! - `GET  /api/auth/signin/asgardeo?callbackUrl=/path` starts the authorization-code flow;
//! - `GET  /api/auth/callback/asgardeo` finishes it;
//! - `GET  /api/auth/session` is the session as JSON (`{}` when signed out);
//! - `POST /api/auth/signout` ends the session here and at the IdP.

use super::{
    oidc::{AuthorizationResponse, Grant, OidcError},
    pending,
    redirect::safe_return_path,
    service::store_unavailable,
    session::{AuthSession, PendingLogin, SignedIn, StoreError, Tokens},
    AuthService,
};
use crate::{
    error::{error_page, AuthError},
    oidc_types::{AppIdTokenClaims, AppUserInfoClaims},
    AppState,
};
use app::{
    auth::{SessionJson, SessionUser},
    error::AppError,
    names::paths,
    pages::ErrorPageInfo,
};
use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Form, Json, Router,
};
use serde::Deserialize;
use std::sync::Arc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::SIGN_IN, get(sign_in))
        .route(paths::CALLBACK, get(callback))
        .route(paths::SESSION, get(session_json))
        .route(paths::SIGN_OUT, post(sign_out))
        .route(paths::REFRESH, post(refresh_rejected_token))
}

/// `303 See Other`.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// Starts a sign-in: fresh state, nonce and PKCE verifier, remembered in a sealed cookie (not on
/// the server: a visitor who never signs in costs nothing).
#[tracing::instrument(skip_all)]
async fn sign_in(
    State(auth): State<Arc<AuthService>>,
    headers: HeaderMap,
    Query(query): Query<SignInQuery>,
) -> Result<Response, AuthError> {
    let config = auth.config();
    let return_to = safe_return_path(query.callback_url.as_deref(), &config.auth_url);
    // The session cookie must be set on AUTH_URL's host, where the IdP will send the browser
    // back: a user who opened http://127.0.0.1:3000 is first moved to http://localhost:3000.
    if !host_matches(&headers, &config.auth_url) {
        let mut url = config
            .auth_url
            .join(&paths::SIGN_IN[1..])
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        url.query_pairs_mut().append_pair("callbackUrl", &return_to);
        return Ok(see_other(url.as_str()));
    }
    let provider = auth.oidc().provider().await?;
    let start = auth.oidc().start(&provider);
    let now = auth.now();
    let pending = PendingLogin {
        state: start.state,
        nonce: start.nonce,
        pkce_verifier: start.pkce_verifier,
        return_to,
        started_at: now,
    };
    let mut list = auth.pending().read(&headers, now);
    list.push(pending);
    let mut response = see_other(start.url.as_str());
    if let Some(cookie) = auth.pending().write(&list) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

fn host_matches(headers: &HeaderMap, auth_url: &url::Url) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return true;
    };
    let expected = match (auth_url.host_str(), auth_url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => return true,
    };
    host.eq_ignore_ascii_case(&expected)
}

/// Finishes a sign-in ([`OidcClient::finish_sign_in`](super::oidc::OidcClient::finish_sign_in)),
/// renews the session id and keeps tokens and claims server-side.
#[tracing::instrument(skip_all)]
async fn callback(
    State(auth): State<Arc<AuthService>>,
    session: AuthSession,
    headers: HeaderMap,
    Query(response): Query<AuthorizationResponse>,
) -> Response {
    // Taken before anything else, and the cookie rewritten whatever happens next: each state is
    // good for one callback only.
    let mut list = auth.pending().read(&headers, auth.now());
    let pending = response
        .state
        .as_deref()
        .and_then(|state| pending::take(&mut list, state));
    let mut answer = finish(&auth, &session, &response, pending)
        .await
        .into_response();
    if let Some(cookie) = auth.pending().write(&list) {
        answer.headers_mut().append(header::SET_COOKIE, cookie);
    }
    answer
}

async fn finish(
    auth: &AuthService,
    session: &AuthSession,
    response: &AuthorizationResponse,
    mut pending: Option<PendingLogin>,
) -> Result<Response, AuthError> {
    // The cookie's removal of the state is the browser's to honour; a client that replays the
    // old cookie would bring the state back. So each state is also claimed in the store, once,
    // for the rest of its sign-in's lifetime: 1,000 replays make one call to the token endpoint.
    // Nothing is kept for sign-ins that never come back.
    if let Some(started) = &pending {
        let left = (started.started_at + pending::PENDING_TTL_SECS - auth.now()).max(1);
        let first = auth
            .backend()
            .claim_state_once(&started.state, std::time::Duration::from_secs(left as u64))
            .await
            .map_err(StoreError::from)?;
        if !first {
            tracing::warn!("a sign-in state came back a second time (a replayed cookie); refused");
            pending = None;
        }
    }
    let grant = auth
        .oidc()
        .finish_sign_in(response, pending.as_ref())
        .await?;
    let signed_in = signed_in_from(auth, grant).await?;
    auth.begin(session, &signed_in).await?;
    tracing::info!(sub = %crate::cause::Untrusted(&signed_in.sub), "signed in");
    let return_to = pending
        .map(|p| p.return_to)
        .unwrap_or_else(|| paths::HOME.to_owned());
    Ok(see_other(&return_to))
}

/// The session record for a successful code exchange; fetches userinfo once when the ID token
/// lacks profile claims (as Asgardeo's does unless attributes are configured).
async fn signed_in_from(auth: &AuthService, grant: Grant) -> Result<SignedIn, AuthError> {
    let Some(claims) = grant.id_token.as_ref().map(|(_, claims)| claims.clone()) else {
        return Err(OidcError::NoIdToken.into());
    };
    let sub = claims.subject().to_string();
    let mut user = user_from_id_token(&claims);
    let has_username = claims.additional_claims().username.is_some();
    if user.given_name.is_none()
        || user.family_name.is_none()
        || claims.email().is_none()
        || !has_username
    {
        let info = auth.oidc().userinfo(&grant.access_token, &sub).await?;
        merge_userinfo(&mut user, &info, !has_username);
    }
    let now = auth.now();
    let tokens = Tokens::from_grant(
        grant,
        None,
        auth.config().refresh_skew.as_secs() as i64,
        now,
    )
    .ok_or_else(|| AuthError::Internal("a validated grant lost its ID token".into()))?;
    Ok(SignedIn {
        user,
        sub,
        sid: claims.additional_claims().sid.clone(),
        auth_time: claims.auth_time().map(|t| t.timestamp()),
        tokens,
        signed_in_at: now,
        touched_at: now,
        refreshed_at: None,
    })
}

/// Maps ID-token claims to the session's user: `email` carries the IdP username, as the
/// Next.js guide's Auth.js profile callback does.
pub fn user_from_id_token(claims: &AppIdTokenClaims) -> SessionUser {
    SessionUser {
        email: claims
            .additional_claims()
            .username
            .clone()
            .or_else(|| claims.preferred_username().map(|u| u.to_string()))
            .or_else(|| claims.email().map(|e| e.to_string()))
            .unwrap_or_else(|| claims.subject().to_string()),
        given_name: claims
            .given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        family_name: claims
            .family_name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
    }
}

/// Fills in what the ID token lacked; the ID token wins where both have a value. Without a
/// `username` in the ID token, userinfo's username (or preferred_username, or email) names the user.
pub fn merge_userinfo(user: &mut SessionUser, info: &AppUserInfoClaims, take_username: bool) {
    if take_username {
        let name = info
            .additional_claims()
            .username
            .clone()
            .or_else(|| info.preferred_username().map(|u| u.to_string()))
            .or_else(|| info.email().map(|e| e.to_string()));
        if let Some(name) = name {
            user.email = name;
        }
    }
    if user.given_name.is_none() {
        user.given_name = info
            .given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string());
    }
    if user.family_name.is_none() {
        user.family_name = info
            .family_name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string());
    }
}

/// The session as JSON, in the seed's shape.
#[tracing::instrument(skip_all)]
async fn session_json(State(auth): State<Arc<AuthService>>, session: AuthSession) -> Response {
    session_body(&auth, auth.current(&session).await)
}

#[derive(Deserialize)]
pub struct RefreshForm {
    access_token: String,
}

/// The browser's scim2/Me call was refused with `access_token`: refresh it (once, however many
/// tabs ask) and answer like `/api/auth/session`. A token that is no longer the session's
/// current one is not refreshed again: the current one is returned.
#[tracing::instrument(skip_all)]
async fn refresh_rejected_token(
    State(auth): State<Arc<AuthService>>,
    session: AuthSession,
    Form(form): Form<RefreshForm>,
) -> Response {
    let refreshed = match auth.current(&session).await {
        Ok(Some(signed_in)) if signed_in.tokens.access_token == form.access_token => {
            auth.refresh(&session, &form.access_token).await
        }
        other => other,
    };
    session_body(&auth, refreshed)
}

fn session_body(
    auth: &AuthService,
    signed_in: Result<Option<SignedIn>, super::session::StoreError>,
) -> Response {
    let signed_in = match signed_in {
        Ok(signed_in) => signed_in,
        Err(err) => {
            let error = store_unavailable(err);
            let code = match error {
                AppError::Busy => "busy",
                _ => "session_store_unavailable",
            };
            let body = serde_json::json!({
                "error": code,
                "error_description": error.to_string(),
            });
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5")],
                Json(body),
            )
                .into_response();
        }
    };
    let body = match signed_in {
        Some(signed_in) => SessionJson {
            access_token: auth
                .config()
                .expose_access_token
                .then(|| signed_in.tokens.access_token.clone()),
            expires: expires_rfc3339(auth, &signed_in),
            user: Some(signed_in.user),
        },
        None => SessionJson::default(),
    };
    Json(body).into_response()
}

fn expires_rfc3339(auth: &AuthService, signed_in: &SignedIn) -> Option<String> {
    chrono::DateTime::from_timestamp(auth.session_ends_at(signed_in), 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Ends the session here, then at the IdP (RP-initiated logout with `id_token_hint`); its
/// tokens are revoked at the IdP meanwhile, without holding up the answer.
#[tracing::instrument(skip_all)]
async fn sign_out(
    State(auth): State<Arc<AuthService>>,
    session: AuthSession,
) -> Result<Response, AuthError> {
    let Some(signed_in) = auth.sign_out(&session).await? else {
        return Ok(see_other(paths::HOME));
    };
    tracing::info!(sub = %crate::cause::Untrusted(&signed_in.sub), "signed out locally");
    auth.revoke_in_background(&signed_in);
    let oidc = auth.oidc();
    let provider = match oidc.provider().await {
        Ok(provider) if oidc.reachable().await => provider,
        Ok(_) | Err(_) => return Ok(idp_unreachable_on_sign_out()),
    };
    let logout = oidc.end_session_url(
        &provider,
        &signed_in.tokens.id_token,
        &auth.config().post_logout_redirect_url(),
    );
    Ok(see_other(
        logout.as_ref().map_or(paths::HOME, |url| url.as_str()),
    ))
}

fn idp_unreachable_on_sign_out() -> Response {
    tracing::warn!("signed out locally, but the identity provider is unreachable");
    error_page(
        StatusCode::BAD_GATEWAY,
        ErrorPageInfo {
            title: "Signed out of this app".to_owned(),
            message:
                "You are signed out of this app, but the identity provider could not be reached, \
                      so your session there may remain. Sign out there too, or close the browser."
                    .to_owned(),
            detail: None,
            action_label: "Go home".to_owned(),
            action_href: paths::HOME.to_owned(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> AppIdTokenClaims {
        serde_json::from_value(json).unwrap()
    }

    fn base() -> serde_json::Value {
        serde_json::json!({"iss": "https://idp", "aud": "c", "exp": 2000000000, "iat": 1, "sub": "u-1"})
    }

    #[test]
    fn username_claim_becomes_the_session_email() {
        let mut json = base();
        json["username"] = "alice".into();
        json["email"] = "alice@example.com".into();
        json["given_name"] = "Alice".into();
        json["family_name"] = "Liddell".into();
        let user = user_from_id_token(&claims(json));
        assert_eq!(
            user,
            SessionUser {
                email: "alice".into(),
                given_name: Some("Alice".into()),
                family_name: Some("Liddell".into())
            }
        );
    }

    #[test]
    fn without_username_email_then_sub_are_used() {
        let mut json = base();
        json["email"] = "kim@example.com".into();
        assert_eq!(user_from_id_token(&claims(json)).email, "kim@example.com");
        assert_eq!(user_from_id_token(&claims(base())).email, "u-1");
    }

    #[test]
    fn userinfo_fills_only_missing_names() {
        let mut json = base();
        json["given_name"] = "Alice".into();
        let mut user = user_from_id_token(&claims(json));
        let info = AppUserInfoClaims::from_json::<std::io::Error>(
            br#"{"sub": "u-1", "given_name": "Other", "family_name": "Liddell"}"#,
            None,
        )
        .unwrap();
        merge_userinfo(&mut user, &info, false);
        assert_eq!(user.given_name.as_deref(), Some("Alice"));
        assert_eq!(user.family_name.as_deref(), Some("Liddell"));
        assert_eq!(user.email, "u-1");
    }

    #[test]
    fn userinfo_names_the_user_when_the_id_token_has_no_username() {
        let mut user = user_from_id_token(&claims(base()));
        let info = AppUserInfoClaims::from_json::<std::io::Error>(
            br#"{"sub": "u-1", "username": "alice", "email": "alice@example.com"}"#,
            None,
        )
        .unwrap();
        merge_userinfo(&mut user, &info, true);
        assert_eq!(user.email, "alice");
    }
}
