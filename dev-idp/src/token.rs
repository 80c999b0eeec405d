//! Token endpoint of the development IdP: `authorization_code` (PKCE S256) and rotating
//! `refresh_token` grants, with client_secret_basic or client_secret_post.
// The helpers return a ready error response early; its size does not matter here.
#![allow(clippy::result_large_err)]

use super::{
    now, random_token, AccessGrant, DevClient, IdpState, RefreshGrant, Stats, ID_TOKEN_TTL,
    REFRESH_TOKEN_TTL,
};
use crate::types::{
    AppIdToken, AppIdTokenClaims, AppIdTokenFields, AppTokenResponse, AsgardeoClaims,
};
use axum::{
    extract::{rejection::FormRejection, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Form, Json,
};
use base64::Engine;
use chrono::{TimeZone, Utc};
use openidconnect::{
    core::{CoreJwsSigningAlgorithm, CoreTokenType},
    AccessToken, Audience, ClientId, EmptyExtraTokenFields, EndUserEmail, EndUserFamilyName,
    EndUserGivenName, IssuerUrl, LocalizedClaim, Nonce, RefreshToken, Scope, StandardClaims,
    SubjectIdentifier,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// RFC 7009: the token to revoke, and what it is.
    token: Option<String>,
    token_type_hint: Option<String>,
}

/// An OAuth error answer (RFC 6749 §5.2).
pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": error, "error_description": description });
    let mut response = (status, no_store(), Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"dev\""),
        );
    }
    response
}

fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

pub async fn token(
    State(idp): State<Arc<IdpState>>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let response = match form {
        Ok(Form(form)) => match authenticate(&idp, &headers, &form) {
            Ok(client) => match form.grant_type.as_deref() {
                Some("authorization_code") => code_grant(&idp, client, &form),
                Some("refresh_token") => refresh_grant(&idp, client, &form),
                _ => Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    "Use authorization_code or refresh_token.",
                )),
            },
            Err(response) => Err(response),
        },
        Err(rejection) => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &rejection.body_text(),
        )),
    };
    response.unwrap_or_else(|error| {
        Stats::bump(&idp.stats.token_errors);
        error
    })
}

/// `POST /t/dev/oauth2/revoke` (RFC 7009): revokes an access or refresh token of the
/// authenticated client. Unknown tokens are answered like revoked ones (§2.2).
pub async fn revoke(
    State(idp): State<Arc<IdpState>>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "A form body is required.",
        );
    };
    let client = match authenticate(&idp, &headers, &form) {
        Ok(client) => client,
        Err(response) => return response,
    };
    let Some(token) = form.token.as_deref() else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token is missing.",
        );
    };
    let revoked = {
        let mut store = idp.store();
        // The hint says where to look first (§2.1); both tables are searched either way.
        let access_first = form.token_type_hint.as_deref() == Some("access_token");
        let access = |store: &mut super::Store| store.access_tokens.remove(token).is_some();
        let refresh = |store: &mut super::Store| {
            let family = store
                .refresh_tokens
                .get(token)
                .filter(|grant| grant.client_id == client.client_id)
                .map(|grant| grant.family.clone());
            // Revoking a refresh token ends its whole family (every rotation of it).
            family.is_some_and(|family| {
                store.refresh_tokens.retain(|_, r| r.family != family);
                true
            })
        };
        let tables: [&dyn Fn(&mut super::Store) -> bool; 2] = if access_first {
            [&access, &refresh]
        } else {
            [&refresh, &access]
        };
        tables.iter().any(|revoke| revoke(&mut store))
    };
    if revoked {
        Stats::bump(&idp.stats.revocations);
    }
    (StatusCode::OK, no_store()).into_response()
}

/// client_secret_basic or client_secret_post; exactly one of them.
fn authenticate<'a>(
    idp: &'a IdpState,
    headers: &HeaderMap,
    form: &TokenForm,
) -> Result<&'a DevClient, Response> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .map(|encoded| {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok());
            // RFC 6749 §2.3.1: both parts are form-urlencoded before joining with ':'.
            decoded.and_then(|pair| {
                let (id, secret) = pair.split_once(':')?;
                Some((form_decode(id), form_decode(secret)))
            })
        });
    let (client_id, secret) = match (basic, &form.client_secret) {
        (Some(_), Some(_)) => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Use one client authentication method, not two.",
            ))
        }
        (Some(None), None) => {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Malformed Basic credentials.",
            ))
        }
        (Some(Some(pair)), None) => pair,
        (None, Some(secret)) => (form.client_id.clone().unwrap_or_default(), secret.clone()),
        (None, None) => {
            return Err(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication is required.",
            ))
        }
    };
    idp.client(&client_id)
        .filter(|client| {
            Sha256::digest(secrecy::ExposeSecret::expose_secret(&client.client_secret).as_bytes())
                == Sha256::digest(secret.as_bytes())
        })
        .ok_or_else(|| {
            oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Unknown client or wrong secret.",
            )
        })
}

fn form_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("v={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn code_grant(idp: &IdpState, client: &DevClient, form: &TokenForm) -> Result<Response, Response> {
    let invalid = |why: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why);
    let code = form
        .code
        .as_deref()
        .ok_or_else(|| invalid("The code is missing."))?;
    let grant = {
        let mut store = idp.store();
        let Some(grant) = store.codes.get_mut(code) else {
            return Err(invalid("The authorization code is invalid or expired."));
        };
        if let Some(issued) = grant.redeemed.take() {
            // A replayed code: revoke everything the first redemption issued (RFC 6749 §4.1.2).
            grant.redeemed = Some(Vec::new());
            for token in issued {
                store.access_tokens.remove(&token);
                store.refresh_tokens.retain(|_, r| r.family != token);
            }
            return Err(invalid("The authorization code was already used."));
        }
        if grant.expires <= now() {
            return Err(invalid("The authorization code is invalid or expired."));
        }
        if grant.request.client_id != client.client_id {
            return Err(invalid(
                "The authorization code was issued to another client.",
            ));
        }
        if form.redirect_uri.as_deref() != Some(grant.request.redirect_uri.as_str()) {
            return Err(invalid(
                "The redirect_uri does not match the authorization request.",
            ));
        }
        let verifier = form.code_verifier.as_deref().unwrap_or_default();
        if !(43..=128).contains(&verifier.len())
            || pkce_s256(verifier) != grant.request.code_challenge
        {
            return Err(invalid(
                "PKCE verification failed: the code_verifier does not match the code_challenge.",
            ));
        }
        grant.redeemed = Some(Vec::new());
        grant.clone()
    };
    Stats::bump(&idp.stats.authorization_code_grants);
    let issued = issue_tokens(
        idp,
        &client.client_id,
        &grant.username,
        &grant.request.scope,
        &grant.sid,
        grant.auth_time,
        grant.request.nonce.clone(),
        None,
    )?;
    if let Some(g) = idp.store().codes.get_mut(code) {
        g.redeemed = Some(vec![issued.access_token.clone(), issued.family.clone()]);
    }
    Ok(issued.response)
}

fn refresh_grant(
    idp: &IdpState,
    client: &DevClient,
    form: &TokenForm,
) -> Result<Response, Response> {
    let invalid = |why: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why);
    let presented = form
        .refresh_token
        .as_deref()
        .ok_or_else(|| invalid("The refresh_token is missing."))?;
    let grant = {
        let mut store = idp.store();
        let Some(grant) = store.refresh_tokens.get_mut(presented) else {
            return Err(invalid("The refresh token is invalid, expired or revoked."));
        };
        if grant.client_id != client.client_id {
            return Err(invalid("The refresh token was issued to another client."));
        }
        if grant.expires <= now() {
            return Err(invalid("The refresh token is invalid, expired or revoked."));
        }
        if grant.rotated {
            // Reuse of a rotated token means it leaked: end the whole family.
            let family = grant.family.clone();
            store.refresh_tokens.retain(|_, r| r.family != family);
            return Err(invalid(
                "The refresh token was already used; all tokens of this sign-in are revoked.",
            ));
        }
        grant.rotated = true;
        grant.clone()
    };
    Stats::bump(&idp.stats.refresh_token_grants);
    let issued = issue_tokens(
        idp,
        &client.client_id,
        &grant.username,
        &grant.scope,
        &grant.sid,
        grant.auth_time,
        None,
        Some(grant.family),
    )?;
    Ok(issued.response)
}

struct Issued {
    response: Response,
    access_token: String,
    family: String,
}

#[allow(clippy::too_many_arguments)]
fn issue_tokens(
    idp: &IdpState,
    client_id: &str,
    username: &str,
    scope: &str,
    sid: &str,
    auth_time: u64,
    nonce: Option<String>,
    family: Option<String>,
) -> Result<Issued, Response> {
    let server_error =
        |why: &str| oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", why);
    let user = idp
        .user(username)
        .ok_or_else(|| server_error("The user no longer exists."))?;
    let ttl = idp.access_token_ttl();
    let access_token = random_token();
    let refresh_token = random_token();
    let family = family.unwrap_or_else(|| refresh_token.clone());
    let issued_at = now();

    let id_token = id_token(
        idp,
        client_id,
        user,
        sid,
        auth_time,
        nonce,
        &AccessToken::new(access_token.clone()),
    )
    .map_err(|e| server_error(&format!("Could not sign the ID token: {e}")))?;
    {
        let mut store = idp.store();
        store.access_tokens.insert(
            access_token.clone(),
            AccessGrant {
                username: username.to_owned(),
                scope: scope.to_owned(),
                expires: issued_at + ttl.as_secs(),
            },
        );
        store.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshGrant {
                username: username.to_owned(),
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                sid: sid.to_owned(),
                auth_time,
                rotated: false,
                family: family.clone(),
                expires: issued_at + REFRESH_TOKEN_TTL,
            },
        );
    }
    let mut body = AppTokenResponse::new(
        AccessToken::new(access_token.clone()),
        CoreTokenType::Bearer,
        AppIdTokenFields::new(Some(id_token), EmptyExtraTokenFields {}),
    );
    body.set_expires_in(Some(&ttl));
    body.set_refresh_token(Some(RefreshToken::new(refresh_token)));
    body.set_scopes(Some(
        scope
            .split_whitespace()
            .map(|s| Scope::new(s.to_owned()))
            .collect(),
    ));
    Ok(Issued {
        response: (StatusCode::OK, no_store(), Json(body)).into_response(),
        access_token,
        family,
    })
}

fn id_token(
    idp: &IdpState,
    client_id: &str,
    user: &super::DevUser,
    sid: &str,
    auth_time: u64,
    nonce: Option<String>,
    access_token: &AccessToken,
) -> anyhow::Result<AppIdToken> {
    let now = Utc::now();
    let mut standard = StandardClaims::new(SubjectIdentifier::new(user.sub.clone()));
    if !idp.minimal_id_token {
        standard = standard
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
            .set_email(user.email.clone().map(EndUserEmail::new));
    }
    let claims = AppIdTokenClaims::new(
        IssuerUrl::from_url(idp.issuer.clone()),
        vec![Audience::new(client_id.to_owned())],
        now + chrono::Duration::seconds(ID_TOKEN_TTL as i64),
        now,
        standard,
        AsgardeoClaims {
            username: Some(user.username.clone()),
            sid: Some(sid.to_owned()),
        },
    )
    .set_nonce(nonce.map(Nonce::new))
    .set_auth_time(Utc.timestamp_opt(auth_time as i64, 0).single())
    .set_authorized_party(Some(ClientId::new(client_id.to_owned())));
    let keys = idp
        .keys
        .read()
        .map_err(|_| anyhow::anyhow!("signing keys unavailable"))?;
    Ok(AppIdToken::new(
        claims,
        &keys.current,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some(access_token),
        None,
    )?)
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2).
fn pkce_s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(
            super::pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(super::form_decode("a%3Ab+c"), "a:b c");
    }
}
