//! RP-initiated logout of the development IdP (OpenID Connect RP-Initiated Logout 1.0).

use super::{
    authorize::current_session, authorize::SESSION_COOKIE, pages, IdpSession, IdpState, Stats, ORG,
};
use crate::types::AppIdToken;
use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use chrono::{TimeZone, Utc};
use openidconnect::{core::CoreJsonWebKey, ClientId, IdTokenVerifier, IssuerUrl, Nonce};
use serde::Deserialize;
use std::{str::FromStr, sync::Arc};
use url::Url;

#[derive(Debug, Default, Deserialize)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
}

pub async fn logout(
    State(idp): State<Arc<IdpState>>,
    headers: HeaderMap,
    Query(params): Query<LogoutParams>,
) -> Response {
    handle_logout(&idp, &headers, params).await
}

pub async fn logout_post(
    State(idp): State<Arc<IdpState>>,
    headers: HeaderMap,
    Form(params): Form<LogoutParams>,
) -> Response {
    handle_logout(&idp, &headers, params).await
}

/// The hint's audience and `sid`, if it is an ID token this IdP signed (expired ones included:
/// a hint is usually old).
fn verify_hint(idp: &IdpState, hint: &str) -> Option<(String, Option<String>)> {
    let token = AppIdToken::from_str(hint).ok()?;
    let jwks = idp.keys.read().ok()?.jwks();
    let verifier: IdTokenVerifier<'_, CoreJsonWebKey> = IdTokenVerifier::new_public_client(
        ClientId::new(String::new()),
        IssuerUrl::from_url(idp.issuer.clone()),
        jwks,
    )
    .require_audience_match(false)
    .set_time_fn(|| Utc.timestamp_opt(0, 0).single().unwrap_or_default());
    let claims = token
        .into_claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .ok()?;
    let audience = claims.audiences().first()?.to_string();
    Some((audience, claims.additional_claims().sid.clone()))
}

async fn handle_logout(idp: &IdpState, headers: &HeaderMap, params: LogoutParams) -> Response {
    Stats::bump(&idp.stats.logouts);
    let hint = match params.id_token_hint.as_deref() {
        Some(hint) => match verify_hint(idp, hint) {
            Some(verified) => Some(verified),
            None => {
                return pages::message(
                    StatusCode::BAD_REQUEST,
                    "Logout failed",
                    "The id_token_hint is not a valid ID token from this identity provider.",
                )
            }
        },
        None => None,
    };
    let client_id = hint
        .as_ref()
        .map(|(aud, _)| aud.clone())
        .or(params.client_id.clone());
    let redirect = match params.post_logout_redirect_uri.as_deref() {
        None => None,
        Some(uri) => {
            let registered = client_id
                .as_deref()
                .and_then(|id| idp.client(id))
                .is_some_and(|client| client.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !registered {
                return pages::message(
                    StatusCode::BAD_REQUEST,
                    "Logout failed",
                    "The post_logout_redirect_uri is not registered for this application.",
                );
            }
            Url::parse(uri).ok()
        }
    };

    let sid = current_session(idp, headers)
        .map(|(sid, _)| sid)
        .or_else(|| hint.and_then(|(_, sid)| sid));
    if let Some(sid) = sid {
        end_session(idp, &sid).await;
    }

    let mut response = match redirect {
        Some(mut location) => {
            if let Some(state) = &params.state {
                location.query_pairs_mut().append_pair("state", state);
            }
            let mut response = Redirect::to(location.as_str()).into_response();
            *response.status_mut() = StatusCode::FOUND;
            response
        }
        None => pages::message(
            StatusCode::OK,
            "Signed out",
            "You have been signed out of the identity provider.",
        ),
    };
    let clear = format!("{SESSION_COOKIE}=; Path=/t/{ORG}; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Ends the user's IdP sessions (this one and any other browser's: signing out at the
/// development IdP signs the user out everywhere). They stop signing users in silently, their
/// refresh tokens stop working, and every client that signed in through them hears of it on its
/// back channel.
async fn end_session(idp: &IdpState, sid: &str) {
    let ended: Vec<(String, IdpSession)> = {
        let mut store = idp.store();
        let Some(username) = store.sessions.get(sid).map(|s| s.username.clone()) else {
            return;
        };
        let sids: Vec<String> = store
            .sessions
            .iter()
            .filter(|(_, s)| s.username == username)
            .map(|(id, _)| id.clone())
            .collect();
        store.refresh_tokens.retain(|_, r| !sids.contains(&r.sid));
        sids.into_iter()
            .filter_map(|id| store.sessions.remove(&id).map(|s| (id, s)))
            .collect()
    };
    for (sid, session) in ended {
        super::backchannel::notify(idp, &sid, &session).await;
    }
}
