//! The Auth.js-compatible endpoints (paths: [`Paths`](crate::Paths)), so that an application
//! registered at the IdP for an Auth.js app works unchanged:
//!
//! - `GET  /api/auth/signin/{provider}?callbackUrl=/path` starts the authorization-code flow;
//! - `GET  /api/auth/callback/{provider}` finishes it;
//! - `GET  /api/auth/session` is the session as JSON (`{}` when signed out);
//! - `POST /api/auth/refresh` gives the browser a fresh access token after an API refused its
//!   own;
//! - `POST /api/auth/signout` ends the session here and at the IdP;
//! - `POST /api/auth/backchannel-logout` and `GET /api/auth/events`: see
//!   [`backchannel`](crate::backchannel) and [`events`](crate::events).

use crate::{
    bff::{Bff, BffInner},
    error::{error_page, Action, BffError, ErrorPage},
    log::{chain, Untrusted},
    oidc::{AuthorizationResponse, SignInGrant},
    pending,
    redirect::safe_return_path,
    session::{AuthSession, PendingLogin, SessionJson, SignedIn, StoreError, Tokens},
    user::Claims,
};
use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Form, Json, Router,
};
use serde::Deserialize;

pub(crate) fn router<S: Clone + Send + Sync + 'static>(bff: &Bff) -> Router<S> {
    let paths = &bff.0.settings.paths;
    Router::new()
        .route(&paths.sign_in, get(sign_in))
        .route(&paths.callback, get(callback))
        .route(&paths.session, get(session_json))
        .route(&paths.sign_out, post(sign_out))
        .route(&paths.refresh, post(refresh_rejected_token))
        .route(
            &paths.backchannel_logout,
            post(crate::backchannel::backchannel_logout),
        )
        .route(&paths.events, get(crate::events::events))
        .with_state(bff.clone())
}

/// `303 See Other`.
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[derive(Deserialize)]
pub(crate) struct SignInQuery {
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// Starts a sign-in: fresh state, nonce and PKCE verifier, remembered in a sealed cookie (not on
/// the server: a visitor who never signs in costs nothing).
#[tracing::instrument(skip_all)]
async fn sign_in(
    State(bff): State<Bff>,
    headers: HeaderMap,
    Query(query): Query<SignInQuery>,
) -> Result<Response, BffError> {
    let bff = &bff.0;
    let settings = &bff.settings;
    let return_to = safe_return_path(query.callback_url.as_deref(), &settings.base_url);
    // The session cookie must be set on the base URL's host, where the IdP will send the
    // browser back: a user who opened http://127.0.0.1:3000 is first moved to
    // http://localhost:3000.
    if !host_matches(&headers, &settings.base_url) {
        let mut url = settings.base_url.clone();
        url.set_path(&settings.paths.sign_in);
        url.query_pairs_mut().append_pair("callbackUrl", &return_to);
        return Ok(see_other(url.as_str()));
    }
    let provider = bff.oidc.provider().await?;
    let start = bff.oidc.start(&provider);
    let now = bff.now();
    let pending = PendingLogin {
        state: start.state,
        nonce: start.nonce,
        pkce_verifier: start.pkce_verifier,
        return_to,
        started_at: now,
    };
    let mut list = bff.pending.read(&headers, now);
    list.push(pending);
    let mut response = see_other(start.url.as_str());
    if let Some(cookie) = bff.pending.write(&list) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

fn host_matches(headers: &HeaderMap, base_url: &url::Url) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return true;
    };
    let expected = match (base_url.host_str(), base_url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => return true,
    };
    host.eq_ignore_ascii_case(&expected)
}

/// Finishes a sign-in ([`OidcClient::finish_sign_in`](crate::oidc::OidcClient::finish_sign_in)),
/// renews the session id and keeps tokens and claims server-side.
#[tracing::instrument(skip_all)]
async fn callback(
    State(bff): State<Bff>,
    session: AuthSession,
    headers: HeaderMap,
    Query(response): Query<AuthorizationResponse>,
) -> Response {
    let bff = &bff.0;
    // Taken before anything else, and the cookie rewritten whatever happens next: each state is
    // good for one callback only.
    let mut list = bff.pending.read(&headers, bff.now());
    let pending = response
        .state
        .as_deref()
        .and_then(|state| pending::take(&mut list, state));
    let mut answer = finish(bff, &session, &response, pending)
        .await
        .into_response();
    if let Some(cookie) = bff.pending.write(&list) {
        answer.headers_mut().append(header::SET_COOKIE, cookie);
    }
    answer
}

async fn finish(
    bff: &BffInner,
    session: &AuthSession,
    response: &AuthorizationResponse,
    mut pending: Option<PendingLogin>,
) -> Result<Response, BffError> {
    // The cookie's removal of the state is the browser's to honour; a client that replays the
    // old cookie would bring the state back. So each state is also claimed in the store, once,
    // for the rest of its sign-in's lifetime: 1,000 replays make one call to the token endpoint.
    // Nothing is kept for sign-ins that never come back.
    if let Some(started) = &pending {
        let left = (started.started_at + pending::PENDING_TTL_SECS - bff.now()).max(1);
        let first = bff
            .backend
            .claim_state_once(&started.state, std::time::Duration::from_secs(left as u64))
            .await
            .map_err(StoreError::from)?;
        if !first {
            tracing::warn!("a sign-in state came back a second time (a replayed cookie); refused");
            pending = None;
        }
    }
    let grant = bff.oidc.finish_sign_in(response, pending.as_ref()).await?;
    let signed_in = signed_in_from(bff, grant).await?;
    bff.begin(session, &signed_in).await?;
    tracing::info!(sub = %Untrusted(&signed_in.sub), "signed in");
    let return_to = pending
        .map(|p| p.return_to)
        .unwrap_or_else(|| "/".to_owned());
    Ok(see_other(&return_to))
}

/// The session record for a successful code exchange; asks userinfo when
/// [`FetchUserInfo`](crate::FetchUserInfo) says so, and maps the claims to the app's user.
async fn signed_in_from(bff: &BffInner, grant: SignInGrant) -> Result<SignedIn, BffError> {
    let mut claims = Claims::from_id_token(&grant.claims);
    if bff.fetch_userinfo.wanted(&claims) {
        let info = bff.oidc.userinfo(&grant.access_token, &claims.sub).await?;
        claims.complete_from(&info);
    }
    let user = (bff.map_user)(&claims)
        .map_err(|err| BffError::Internal(format!("the app's user cannot be stored: {err}")))?;
    let now = bff.now();
    let auth_time = grant.claims.auth_time().map(|t| t.timestamp());
    let tokens = Tokens::signed_in(grant, bff.settings.refresh_skew.as_secs() as i64, now);
    Ok(SignedIn {
        user,
        sub: claims.sub,
        sid: claims.sid,
        auth_time,
        tokens,
        signed_in_at: now,
        touched_at: now,
        refreshed_at: None,
    })
}

/// The session as JSON, in Auth.js' shape.
#[tracing::instrument(skip_all)]
async fn session_json(State(bff): State<Bff>, session: AuthSession) -> Response {
    session_body(&bff.0, bff.0.current(&session).await)
}

#[derive(Deserialize)]
pub(crate) struct RefreshForm {
    access_token: String,
}

/// The browser's API call was refused with `access_token`: refresh it (once, however many tabs
/// ask) and answer like the session endpoint. A token that is no longer the session's current
/// one is not refreshed again: the current one is returned.
#[tracing::instrument(skip_all)]
async fn refresh_rejected_token(
    State(bff): State<Bff>,
    session: AuthSession,
    Form(form): Form<RefreshForm>,
) -> Response {
    let bff = &bff.0;
    let refreshed = match bff.current(&session).await {
        Ok(Some(signed_in)) if signed_in.tokens.access_token == form.access_token => {
            bff.refresh(&session, &form.access_token).await
        }
        other => other,
    };
    session_body(bff, refreshed)
}

fn session_body(bff: &BffInner, signed_in: Result<Option<SignedIn>, StoreError>) -> Response {
    let signed_in = match signed_in {
        Ok(signed_in) => signed_in,
        Err(err) => {
            let error = BffError::from_store(err);
            let body = serde_json::json!({
                "error": match error {
                    BffError::Busy => "busy",
                    _ => "session_store_unavailable",
                },
                "error_description": error.words().1,
            });
            tracing::error!(error = %chain(&error), "the session could not be read");
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
            access_token: bff
                .settings
                .expose_access_token
                .then(|| signed_in.tokens.access_token.clone()),
            expires: chrono::DateTime::from_timestamp(bff.session_ends_at(&signed_in), 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            user: Some(signed_in.user),
        },
        None => SessionJson::default(),
    };
    Json(body).into_response()
}

/// Ends the session here, then at the IdP (RP-initiated logout with `id_token_hint`); its
/// tokens are revoked at the IdP meanwhile, without holding up the answer.
#[tracing::instrument(skip_all)]
async fn sign_out(State(bff): State<Bff>, session: AuthSession) -> Result<Response, BffError> {
    let bff = &bff.0;
    let Some(signed_in) = bff.sign_out(&session).await? else {
        return Ok(see_other("/"));
    };
    tracing::info!(sub = %Untrusted(&signed_in.sub), "signed out locally");
    bff.revoke_in_background(&signed_in);
    let provider = match bff.oidc.provider().await {
        Ok(provider) if bff.oidc.reachable().await => provider,
        Ok(_) | Err(_) => return Ok(idp_unreachable_on_sign_out()),
    };
    let logout = bff.oidc.end_session_url(
        &provider,
        &signed_in.tokens.id_token,
        &bff.settings.post_logout_redirect_url(),
    );
    Ok(see_other(logout.as_ref().map_or("/", |url| url.as_str())))
}

fn idp_unreachable_on_sign_out() -> Response {
    tracing::warn!("signed out locally, but the identity provider is unreachable");
    error_page(ErrorPage {
        status: StatusCode::BAD_GATEWAY,
        title: "Signed out of this app".to_owned(),
        message: "You are signed out of this app, but the identity provider could not be \
                  reached, so your session there may remain. Sign out there too, or close the \
                  browser."
            .to_owned(),
        detail: None,
        action: Action::Link {
            label: "Go home".to_owned(),
            href: "/".to_owned(),
        },
    })
}
