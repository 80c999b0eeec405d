//! The OpenID Connect relying party: discovery, the authorization-code flow with PKCE, ID-token
//! validation, userinfo, refresh, and the end-session URL.
//!
//! Discovery and the JWKS are fetched once and cached; an ID token signed with a key id the cache
//! does not know triggers one JWKS refetch (at most every [`JWKS_REFETCH_INTERVAL`]), so a key
//! rotation at the IdP needs no restart. Validation is openidconnect's, configured strictly:
//! only the configured asymmetric algorithms (RS256 by default; never `none` or HMAC), the exact
//! issuer, our client id in `aud` (and as `azp` when there are several audiences), `exp`, `iat`
//! not in the future, the nonce, and `at_hash` when present.

use super::http::{HttpError, IdpHttp};
use super::logout_token::{self, LogoutClaims};
use crate::oidc_types::{
    AppClient, AppIdToken, AppIdTokenClaims, AppProviderMetadata, AppTokenResponse,
    AppUserInfoClaims,
};
use chrono::{Duration as ChronoDuration, Utc};
use openidconnect::{
    core::{
        CoreAuthenticationFlow, CoreErrorResponseType, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
        CoreTokenType,
    },
    AccessToken, AccessTokenHash, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EndSessionUrl, IdTokenVerifier, IssuerUrl, JsonWebKeySet,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    SignatureVerificationError, StandardErrorResponse, SubjectIdentifier, TokenResponse,
};
use std::{
    str::FromStr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::RwLock;
use url::Url;

/// Shortest time between two JWKS refetches caused by unknown key ids: a flood of forged tokens
/// cannot make the server hammer the IdP.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long discovery is trusted before it is fetched again.
const DISCOVERY_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// Clock skew tolerated for `iat`.
const IAT_SKEW_SECS: i64 = 120;

/// What went wrong talking to the IdP; each says whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Discovery failed (unreachable, malformed, or its `issuer` is not the configured one).
    #[error("the identity provider's discovery document could not be used: {0}")]
    Discovery(String),
    /// The token endpoint answered with an OAuth error.
    #[error("the identity provider refused the token request: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    TokenError {
        error: String,
        description: Option<String>,
    },
    /// The token endpoint could not be reached or answered something unusable.
    #[error("the identity provider's token endpoint failed: {0}")]
    TokenEndpoint(String),
    /// The ID token (or the token response around it) failed validation.
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
    /// A back-channel logout token failed validation (the message says how).
    #[error("{0}")]
    InvalidLogoutToken(String),
    /// userinfo failed, or described another user.
    #[error("the identity provider's userinfo endpoint failed: {0}")]
    UserInfo(String),
}

impl OidcError {
    /// Whether the refresh token is dead (as opposed to the IdP being unavailable).
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, OidcError::TokenError { error, .. } if error == "invalid_grant" || error == "invalid_client" || error == "unauthorized_client")
    }
}

/// Discovery, JWKS and the client built from them.
pub struct Provider {
    pub metadata: AppProviderMetadata,
    pub client: AppClient,
    fetched_at: Instant,
}

impl Provider {
    pub fn end_session_endpoint(&self) -> Option<&str> {
        self.metadata
            .additional_metadata()
            .end_session_endpoint
            .as_deref()
    }

    /// RFC 9207: whether the authorization response must carry `iss`.
    pub fn requires_iss_parameter(&self) -> bool {
        self.metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
    }

    fn jwks(&self) -> &CoreJsonWebKeySet {
        self.metadata.jwks()
    }
}

/// The start of a sign-in: where to send the browser, and what to remember until it comes back.
pub struct AuthorizationStart {
    pub url: Url,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Tokens and claims from a successful code exchange or refresh.
pub struct Grant {
    pub access_token: String,
    pub expires_in: Option<Duration>,
    pub refresh_token: Option<String>,
    /// Present after a code exchange; optional after a refresh.
    pub id_token: Option<(String, AppIdTokenClaims)>,
}

pub struct OidcClient {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect_url: RedirectUrl,
    scopes: Vec<Scope>,
    algs: Vec<CoreJwsSigningAlgorithm>,
    http: IdpHttp,
    provider: RwLock<Option<Arc<Provider>>>,
    /// One discovery (or JWKS refetch) at a time.
    fetch_gate: tokio::sync::Mutex<()>,
    last_jwks_refetch: Mutex<Option<Instant>>,
}

impl OidcClient {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        issuer: &Url,
        client_id: &str,
        client_secret: &str,
        redirect_url: &Url,
        scopes: &[String],
        algs: &[String],
        http: IdpHttp,
    ) -> anyhow::Result<Self> {
        let algs = algs
            .iter()
            .map(|a| serde_plain::from_str::<CoreJwsSigningAlgorithm>(a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OidcClient {
            issuer: IssuerUrl::from_url(issuer.clone()),
            client_id: ClientId::new(client_id.to_owned()),
            client_secret: ClientSecret::new(client_secret.to_owned()),
            redirect_url: RedirectUrl::from_url(redirect_url.clone()),
            scopes: scopes
                .iter()
                .filter(|s| *s != "openid")
                .map(|s| Scope::new(s.clone()))
                .collect(),
            algs,
            http,
            provider: RwLock::new(None),
            fetch_gate: tokio::sync::Mutex::new(()),
            last_jwks_refetch: Mutex::new(None),
        })
    }

    pub fn http(&self) -> &IdpHttp {
        &self.http
    }

    /// The cached provider, discovering it first if needed.
    #[tracing::instrument(skip(self), fields(issuer = %self.issuer.as_str()))]
    pub async fn provider(&self) -> Result<Arc<Provider>, OidcError> {
        if let Some(provider) = self.fresh_cached().await {
            return Ok(provider);
        }
        let _gate = self.fetch_gate.lock().await;
        // Someone else may have discovered while we waited.
        if let Some(provider) = self.fresh_cached().await {
            return Ok(provider);
        }
        match self.discover().await {
            Ok(provider) => {
                let provider = Arc::new(provider);
                *self.provider.write().await = Some(provider.clone());
                Ok(provider)
            }
            // A day-old document still works better than none while the IdP is flaky.
            Err(err) => match self.provider.read().await.clone() {
                Some(stale) => {
                    tracing::warn!(error = %err, "rediscovery failed; keeping the cached discovery document");
                    Ok(stale)
                }
                None => Err(err),
            },
        }
    }

    async fn fresh_cached(&self) -> Option<Arc<Provider>> {
        self.provider
            .read()
            .await
            .clone()
            .filter(|p| p.fetched_at.elapsed() < DISCOVERY_MAX_AGE)
    }

    async fn discover(&self) -> Result<Provider, OidcError> {
        // openidconnect checks that the document's `issuer` equals the configured issuer.
        let metadata = AppProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|err| OidcError::Discovery(discovery_error(&err)))?;
        if metadata.token_endpoint().is_none() {
            return Err(OidcError::Discovery("it has no token_endpoint".into()));
        }
        tracing::info!(
            keys = metadata.jwks().keys().len(),
            "discovered the identity provider"
        );
        Ok(self.provider_from(metadata))
    }

    fn provider_from(&self, metadata: AppProviderMetadata) -> Provider {
        let client = AppClient::from_provider_metadata(
            metadata.clone(),
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect_url.clone());
        Provider {
            metadata,
            client,
            fetched_at: Instant::now(),
        }
    }

    /// Fetches the JWKS again after an unknown key id, unless that happened very recently.
    /// Returns the provider with the new keys, or `None` when rate-limited or failed.
    async fn refetch_jwks(&self, seen: &Arc<Provider>) -> Option<Arc<Provider>> {
        let _gate = self.fetch_gate.lock().await;
        let current = self.provider.read().await.clone()?;
        if !Arc::ptr_eq(&current, seen) {
            // Another request already refreshed the keys.
            return Some(current);
        }
        {
            let mut last = self
                .last_jwks_refetch
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
                tracing::warn!(
                    "unknown signing key id, but the JWKS was refetched moments ago; not again"
                );
                return None;
            }
            *last = Some(Instant::now());
        }
        match JsonWebKeySet::fetch_async(current.metadata.jwks_uri(), &self.http).await {
            Ok(jwks) => {
                tracing::info!(
                    keys = jwks.keys().len(),
                    "refetched the JWKS after an unknown key id"
                );
                let metadata = current.metadata.clone().set_jwks(jwks);
                let provider = Arc::new(Provider {
                    fetched_at: current.fetched_at,
                    ..self.provider_from(metadata)
                });
                *self.provider.write().await = Some(provider.clone());
                Some(provider)
            }
            Err(err) => {
                tracing::warn!(error = %crate::error::cause_chain(&err), "JWKS refetch failed");
                None
            }
        }
    }

    /// Builds the authorization URL with fresh state, nonce and PKCE (S256).
    pub fn start(&self, provider: &Provider) -> AuthorizationStart {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = provider
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scopes(self.scopes.iter().cloned())
            .set_pkce_challenge(challenge)
            .url();
        AuthorizationStart {
            url,
            state: state.into_secret(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.into_secret(),
        }
    }

    /// Exchanges an authorization code and validates the ID token that comes back.
    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(
        &self,
        provider: Arc<Provider>,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Grant, OidcError> {
        let request = provider
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::TokenEndpoint(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        let response = request
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let nonce = Nonce::new(nonce.to_owned());
        let verify_nonce =
            move |claim: Option<&Nonce>| openidconnect::NonceVerifier::verify(&nonce, claim);
        let grant = self
            .grant_from(provider, response, verify_nonce, None)
            .await?;
        if grant.id_token.is_none() {
            return Err(OidcError::TokenEndpoint(
                "the token response has no id_token".into(),
            ));
        }
        Ok(grant)
    }

    /// Uses a refresh token; a new ID token, if any, must be valid and about the same subject.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str, subject: &str) -> Result<Grant, OidcError> {
        let provider = self.provider().await?;
        let response = provider
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
            .map_err(|e| OidcError::TokenEndpoint(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        // A refreshed ID token carries no nonce (OpenID Connect Core §12.2).
        self.grant_from(
            provider,
            response,
            |_: Option<&Nonce>| Ok(()),
            Some(subject),
        )
        .await
    }

    async fn grant_from<N>(
        &self,
        provider: Arc<Provider>,
        response: AppTokenResponse,
        nonce: N,
        subject: Option<&str>,
    ) -> Result<Grant, OidcError>
    where
        N: Fn(Option<&Nonce>) -> Result<(), String> + Clone,
    {
        if *response.token_type() != CoreTokenType::Bearer {
            return Err(OidcError::TokenEndpoint(format!(
                "unsupported token_type `{}` (only Bearer is supported)",
                serde_plain::to_string(response.token_type()).unwrap_or_default()
            )));
        }
        let id_token = match response.id_token() {
            Some(token) => {
                let claims = self
                    .validate_id_token(provider, token, Some(response.access_token()), nonce)
                    .await?;
                if let Some(expected) = subject {
                    if claims.subject().as_str() != expected {
                        return Err(OidcError::InvalidIdToken(
                            "the refreshed ID token is about another subject".into(),
                        ));
                    }
                }
                Some((token.to_string(), claims))
            }
            None => None,
        };
        Ok(Grant {
            access_token: response.access_token().secret().clone(),
            expires_in: response.expires_in(),
            refresh_token: response.refresh_token().map(|t| t.secret().clone()),
            id_token,
        })
    }

    /// Validates an ID token, refetching the JWKS once if its key id is unknown.
    async fn validate_id_token<N>(
        &self,
        provider: Arc<Provider>,
        token: &AppIdToken,
        access_token: Option<&AccessToken>,
        nonce: N,
    ) -> Result<AppIdTokenClaims, OidcError>
    where
        N: Fn(Option<&Nonce>) -> Result<(), String> + Clone,
    {
        self.check_with_refetch(provider, |provider| {
            self.check_id_token(provider, token, access_token, nonce.clone())
        })
        .await
        .map_err(CheckError::into_oidc)
    }

    /// Runs a token check against the cached keys; when the token's key is unknown, refetches
    /// the JWKS (rate-limited) and checks once more.
    async fn check_with_refetch<T>(
        &self,
        provider: Arc<Provider>,
        check: impl Fn(&Provider) -> Result<T, CheckError>,
    ) -> Result<T, CheckError> {
        match check(&provider) {
            Err(CheckError::UnknownKey) => match self.refetch_jwks(&provider).await {
                Some(provider) => check(&provider),
                None => Err(CheckError::UnknownKey),
            },
            result => result,
        }
    }

    fn check_id_token<N>(
        &self,
        provider: &Provider,
        token: &AppIdToken,
        access_token: Option<&AccessToken>,
        nonce: N,
    ) -> Result<AppIdTokenClaims, CheckError>
    where
        N: Fn(Option<&Nonce>) -> Result<(), String>,
    {
        let verifier = self.verifier(provider.jwks().clone());
        let claims = token
            .claims(&verifier, |n: Option<&Nonce>| nonce(n))
            .map_err(|err| match err {
                ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                ) => CheckError::UnknownKey,
                other => CheckError::Invalid(crate::error::cause_chain(&other)),
            })?;
        let audiences = claims.audiences();
        match claims.authorized_party() {
            Some(azp) if *azp != self.client_id => {
                return Err(CheckError::Invalid(format!(
                    "azp is `{}`, not this client",
                    azp.as_str()
                )))
            }
            None if audiences.len() > 1 => {
                return Err(CheckError::Invalid(
                    "several audiences but no azp claim".into(),
                ))
            }
            _ => {}
        }
        if claims.subject().as_str().is_empty() {
            return Err(CheckError::Invalid("the sub claim is empty".into()));
        }
        if let (Some(expected), Some(access_token)) = (claims.access_token_hash(), access_token) {
            let alg = token
                .signing_alg()
                .map_err(|e| CheckError::Invalid(e.to_string()))?;
            let key = token
                .signing_key(&verifier)
                .map_err(|e| CheckError::Invalid(e.to_string()))?;
            let actual = AccessTokenHash::from_token(access_token, alg, key)
                .map_err(|e| CheckError::Invalid(e.to_string()))?;
            if actual != *expected {
                return Err(CheckError::Invalid(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        Ok(claims.clone())
    }

    fn verifier(
        &self,
        jwks: CoreJsonWebKeySet,
    ) -> IdTokenVerifier<'static, openidconnect::core::CoreJsonWebKey> {
        // A public-client verifier: HMAC signatures (keyed with the client secret) are refused
        // outright, whatever the allowed algorithms say.
        IdTokenVerifier::new_public_client(self.client_id.clone(), self.issuer.clone(), jwks)
            .set_allowed_algs(self.algs.clone())
            // Extra audiences are allowed only with azp = our client id (checked above).
            .set_other_audience_verifier_fn(|_| true)
            .set_issue_time_verifier_fn(move |iat| {
                let now = Utc::now();
                if iat > now + ChronoDuration::seconds(IAT_SKEW_SECS) {
                    Err(format!("iat {iat} is in the future"))
                } else {
                    Ok(())
                }
            })
    }

    /// Validates a back-channel logout token (see [`logout_token`](super::logout_token)),
    /// refetching the JWKS once if its key is unknown. `jti` replay and the `sid`/`sub` match are
    /// the caller's.
    pub async fn validate_logout_token(&self, raw: &str) -> Result<LogoutClaims, OidcError> {
        let provider = self.provider().await?;
        let check = |provider: &Provider| {
            logout_token::validate(
                raw,
                &logout_token::Expected {
                    issuer: &self.issuer,
                    client_id: &self.client_id,
                    algs: &self.algs,
                    jwks: provider.jwks(),
                    now: super::now() as f64,
                },
            )
        };
        self.check_with_refetch(provider, check)
            .await
            .map_err(|err| {
                OidcError::InvalidLogoutToken(match err {
                    CheckError::UnknownKey => "the logout token is signed with a key the identity provider does not publish".into(),
                    CheckError::Invalid(why) => why,
                })
            })
    }

    /// Fetches userinfo with the new access token; its `sub` must be the ID token's.
    #[tracing::instrument(skip_all)]
    pub async fn userinfo(
        &self,
        access_token: &str,
        subject: &str,
    ) -> Result<AppUserInfoClaims, OidcError> {
        let provider = self.provider().await?;
        provider
            .client
            .user_info(
                AccessToken::new(access_token.to_owned()),
                Some(SubjectIdentifier::new(subject.to_owned())),
            )
            .map_err(|_| OidcError::UserInfo("the provider has no userinfo_endpoint".into()))?
            .request_async(&self.http)
            .await
            .map_err(|err| OidcError::UserInfo(userinfo_error(&err)))
    }

    /// The IdP's logout URL for RP-initiated logout, if it has one.
    pub fn end_session_url(
        &self,
        provider: &Provider,
        id_token: &str,
        post_logout_redirect: &Url,
    ) -> Option<Url> {
        let endpoint = EndSessionUrl::new(provider.end_session_endpoint()?.to_owned()).ok()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(self.client_id.clone())
            .set_post_logout_redirect_uri(PostLogoutRedirectUrl::from_url(
                post_logout_redirect.clone(),
            ));
        if let Ok(token) = AppIdToken::from_str(id_token) {
            request = request.set_id_token_hint(&token);
        }
        Some(request.http_get_url())
    }

    /// Whether the IdP answers at all right now (for sign-out, which otherwise cannot tell).
    pub async fn reachable(&self) -> bool {
        let Ok(url) = self.issuer.join(".well-known/openid-configuration") else {
            return false;
        };
        let request = self.http.client().get(url).timeout(Duration::from_secs(3));
        matches!(self.http.send(request).await, Ok((status, _, _)) if status.is_success())
    }
}

/// Why a signed token (ID or logout token) failed its check.
#[derive(Debug, PartialEq, Eq)]
pub enum CheckError {
    /// Its key is not in the cached key set: worth one JWKS refetch.
    UnknownKey,
    Invalid(String),
}

impl CheckError {
    fn into_oidc(self) -> OidcError {
        match self {
            CheckError::UnknownKey => OidcError::InvalidIdToken(
                "it is signed with a key the identity provider does not publish".into(),
            ),
            CheckError::Invalid(why) => OidcError::InvalidIdToken(why),
        }
    }
}

fn token_error(
    err: RequestTokenError<HttpError, StandardErrorResponse<CoreErrorResponseType>>,
) -> OidcError {
    match err {
        RequestTokenError::ServerResponse(response) => OidcError::TokenError {
            error: response.error().as_ref().to_owned(),
            description: response.error_description().cloned(),
        },
        RequestTokenError::Request(err) => OidcError::TokenEndpoint(err.to_string()),
        // Never the body, nor serde's message unless it only names a missing field: either may
        // quote a token.
        RequestTokenError::Parse(err, _body) => {
            let message = err.inner().to_string();
            let missing = message
                .split_once("missing field `")
                .and_then(|(_, rest)| rest.split_once('`'))
                .map(|(field, _)| field.to_owned());
            OidcError::TokenEndpoint(match missing {
                Some(field) => {
                    format!("the response is not a valid token response (missing field `{field}`)")
                }
                None => format!(
                    "the response is not a valid token response (at `{}`)",
                    err.path()
                ),
            })
        }
        RequestTokenError::Other(why) => OidcError::TokenEndpoint(why),
    }
}

fn discovery_error(err: &openidconnect::DiscoveryError<HttpError>) -> String {
    use openidconnect::DiscoveryError as E;
    match err {
        E::Request(err) => err.to_string(),
        E::Response(status, _, why) => format!("HTTP {status}: {why}"),
        E::Parse(err) => format!(
            "the document is not valid JSON metadata (at `{}`)",
            err.path()
        ),
        E::Validation(why) => why.clone(),
        E::UrlParse(err) => err.to_string(),
        other => other.to_string(),
    }
}

fn userinfo_error(err: &openidconnect::UserInfoError<HttpError>) -> String {
    use openidconnect::UserInfoError as E;
    match err {
        E::ClaimsVerification(err) => err.to_string(),
        E::Parse(err) => format!(
            "the response is not valid JSON claims (at `{}`)",
            err.path()
        ),
        E::Request(err) => err.to_string(),
        E::Response(status, _, why) => format!("HTTP {status}: {why}"),
        other => other.to_string(),
    }
}
