//! Discovery, JWKS, userinfo, scim2/Me, counters and test controls of the development IdP.

use super::{now, token::oauth_error, DevClient, DevUser, IdpState, Stats};
use crate::types::{AppProviderMetadata, AppUserInfoClaims, AsgardeoClaims, AsgardeoMetadata};
use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    Form, Json,
};
use openidconnect::{
    core::{
        CoreClaimName, CoreClientAuthMethod, CoreGrantType, CoreJwsSigningAlgorithm,
        CoreResponseType, CoreSubjectIdentifierType,
    },
    AuthUrl, EndUserEmail, EndUserFamilyName, EndUserGivenName, IssuerUrl, JsonWebKeySetUrl,
    LocalizedClaim, ResponseTypes, Scope, StandardClaims, SubjectIdentifier, TokenUrl, UserInfoUrl,
};
use serde::Deserialize;
use std::{sync::Arc, time::Duration};
use tower_http::cors::{AllowOrigin, CorsLayer};

pub async fn discovery(State(idp): State<Arc<IdpState>>) -> Response {
    Stats::bump(&idp.stats.discovery);
    match metadata(&idp) {
        Ok(metadata) => Json(metadata).into_response(),
        Err(err) => oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &err.to_string(),
        ),
    }
}

fn metadata(idp: &IdpState) -> anyhow::Result<AppProviderMetadata> {
    let url = |path: &str| idp.url(path);
    Ok(AppProviderMetadata::new(
        IssuerUrl::from_url(idp.issuer.clone()),
        AuthUrl::new(url("/oauth2/authorize"))?,
        JsonWebKeySetUrl::new(url("/oauth2/jwks"))?,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
        AsgardeoMetadata {
            end_session_endpoint: Some(url("/oidc/logout")),
            revocation_endpoint: Some(url("/oauth2/revoke")),
            authorization_response_iss_parameter_supported: true,
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
            code_challenge_methods_supported: Some(vec!["S256".to_owned()]),
        },
    )
    .set_token_endpoint(Some(TokenUrl::new(url("/oauth2/token"))?))
    .set_userinfo_endpoint(Some(UserInfoUrl::new(url("/oauth2/userinfo"))?))
    .set_scopes_supported(Some(
        ["openid", "profile", "email", "internal_login"]
            .map(|s| Scope::new(s.to_owned()))
            .to_vec(),
    ))
    .set_grant_types_supported(Some(vec![
        CoreGrantType::AuthorizationCode,
        CoreGrantType::RefreshToken,
    ]))
    .set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::ClientSecretBasic,
        CoreClientAuthMethod::ClientSecretPost,
    ]))
    .set_claims_supported(Some(
        [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "nonce",
            "username",
            "given_name",
            "family_name",
            "email",
            "sid",
        ]
        .map(|c| CoreClaimName::new(c.to_owned()))
        .to_vec(),
    )))
}

pub async fn jwks(State(idp): State<Arc<IdpState>>) -> Response {
    Stats::bump(&idp.stats.jwks);
    match idp.keys.read() {
        Ok(keys) => Json(keys.jwks()).into_response(),
        Err(_) => oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "signing keys unavailable",
        ),
    }
}

/// CORS for the browser-facing APIs: the registered origins may send `Authorization`.
pub fn cors(clients: &[DevClient]) -> CorsLayer {
    let origins: Vec<HeaderValue> = clients
        .iter()
        .flat_map(|c| c.allowed_origins.iter())
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .max_age(Duration::from_secs(600))
}

enum BearerError {
    Missing,
    Invalid,
    InsufficientScope,
}

/// The user behind a valid bearer token that carries `required_scope`.
fn authorize_bearer<'a>(
    idp: &'a IdpState,
    headers: &HeaderMap,
    required_scope: &str,
) -> Result<&'a DevUser, BearerError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(BearerError::Missing)?;
    let grant = idp
        .store()
        .access_tokens
        .get(token)
        .cloned()
        .ok_or(BearerError::Invalid)?;
    if grant.expires <= now() {
        return Err(BearerError::Invalid);
    }
    if !grant.scope.split_whitespace().any(|s| s == required_scope) {
        return Err(BearerError::InsufficientScope);
    }
    idp.user(&grant.username).ok_or(BearerError::Invalid)
}

pub async fn userinfo(State(idp): State<Arc<IdpState>>, headers: HeaderMap) -> Response {
    Stats::bump(&idp.stats.userinfo);
    let user = match authorize_bearer(&idp, &headers, "openid") {
        Ok(user) => user,
        Err(BearerError::InsufficientScope) => {
            return bearer_error(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                Json(serde_json::json!({"error": "insufficient_scope"})),
            )
        }
        Err(_) => {
            return bearer_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                Json(serde_json::json!({"error": "invalid_token"})),
            )
        }
    };
    let claims = AppUserInfoClaims::new(
        StandardClaims::new(SubjectIdentifier::new(user.sub.clone()))
            .set_given_name(
                user.given_name
                    .clone()
                    .map(|n| LocalizedClaim::from(EndUserGivenName::new(n))),
            )
            .set_family_name(
                user.family_name
                    .clone()
                    .map(|n| LocalizedClaim::from(EndUserFamilyName::new(n))),
            )
            .set_email(user.email.clone().map(EndUserEmail::new)),
        AsgardeoClaims {
            username: Some(user.username.clone()),
            sid: None,
        },
    );
    Json(claims).into_response()
}

const SCIM_JSON: &str = "application/scim+json";

pub async fn scim_me(State(idp): State<Arc<IdpState>>, headers: HeaderMap) -> Response {
    Stats::bump(&idp.stats.scim_me);
    let delay = *idp.scim_delay.lock().unwrap_or_else(|p| p.into_inner());
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let user = match authorize_bearer(&idp, &headers, "internal_login") {
        Ok(user) => user,
        Err(BearerError::InsufficientScope) => {
            return bearer_error(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                scim_error(403, "Operation is not permitted. You do not have permissions to make this request."),
            )
        }
        Err(BearerError::Missing | BearerError::Invalid) => {
            return bearer_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                scim_error(401, "Authorization failure. Authorization information was invalid or missing from your request."),
            )
        }
    };
    let mut body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": user.sub,
        "userName": user.username,
        "meta": {
            "created": "2025-01-01T00:00:00.000Z",
            "lastModified": "2025-01-01T00:00:00.000Z",
            "resourceType": "User",
            "location": idp.url(&format!("/scim2/Users/{}", user.sub)),
        },
    });
    if user.given_name.is_some() || user.family_name.is_some() {
        body["name"] =
            serde_json::json!({ "givenName": user.given_name, "familyName": user.family_name });
    }
    if let Some(email) = &user.email {
        body["emails"] = serde_json::json!([email]);
    }
    ([(header::CONTENT_TYPE, SCIM_JSON)], body.to_string()).into_response()
}

fn scim_error(status: u16, detail: &str) -> Response {
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": detail,
        "status": status.to_string(),
    });
    ([(header::CONTENT_TYPE, SCIM_JSON)], body.to_string()).into_response()
}

fn bearer_error(status: StatusCode, error: &str, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(&format!("Bearer error=\"{error}\"")) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

pub async fn stats(State(idp): State<Arc<IdpState>>) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(idp.snapshot())).into_response()
}

/// Test control: sign with a new key from now on (the JWKS keeps the previous one).
pub async fn rotate_keys(State(idp): State<Arc<IdpState>>) -> Response {
    let rotated = tokio::task::spawn_blocking(move || {
        let mut keys = idp
            .keys
            .write()
            .map_err(|_| anyhow::anyhow!("signing keys unavailable"))?;
        keys.rotate()
    })
    .await;
    match rotated {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(err)) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    username: String,
}

/// Test control: revoke every token of a user, as an administrator would.
pub async fn revoke(State(idp): State<Arc<IdpState>>, Form(form): Form<RevokeForm>) -> Response {
    let mut store = idp.store();
    store
        .refresh_tokens
        .retain(|_, r| r.username != form.username);
    store
        .access_tokens
        .retain(|_, a| a.username != form.username);
    StatusCode::NO_CONTENT.into_response()
}

/// Test control: the user's access tokens stop working (as if expired or revoked); refresh
/// tokens keep working.
pub async fn expire_access_tokens(
    State(idp): State<Arc<IdpState>>,
    Form(form): Form<RevokeForm>,
) -> Response {
    idp.store()
        .access_tokens
        .retain(|_, a| a.username != form.username);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
pub struct DelayForm {
    millis: u64,
}

/// Test control: scim2/Me answers this much later from now on (a slow IdP).
pub async fn set_scim_delay(
    State(idp): State<Arc<IdpState>>,
    Form(form): Form<DelayForm>,
) -> Response {
    *idp.scim_delay.lock().unwrap_or_else(|p| p.into_inner()) = Duration::from_millis(form.millis);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
pub struct TtlForm {
    seconds: u64,
}

/// Test control: the lifetime of access tokens issued from now on.
pub async fn set_access_token_ttl(
    State(idp): State<Arc<IdpState>>,
    Form(form): Form<TtlForm>,
) -> Response {
    *idp.access_token_ttl
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Duration::from_secs(form.seconds);
    StatusCode::NO_CONTENT.into_response()
}
