//! The OpenID Connect relying party: discovery, the authorization-code flow with PKCE, ID-token
//! validation, userinfo, refresh, and the end-session URL.
//!
//! Discovery and the JWKS are fetched once and cached; an ID token signed with a key id the cache
//! does not know triggers one JWKS refetch (at most every [`JWKS_REFETCH_INTERVAL`]), so a key
//! rotation at the IdP needs no restart. Validation is openidconnect's, configured strictly:
//! only the configured asymmetric algorithms (RS256 by default; never `none` or HMAC), the exact
//! issuer, our client id in `aud` (other audiences only when configured as trusted, and then our
//! client id as `azp`), `exp`, `iat`
//! not in the future, the nonce, and `at_hash` when present. Times come from the app's
//! [`Clock`].
//!
//! Errors are typed by what went wrong ([`OidcError`], [`EndpointError`], [`IdTokenProblem`]);
//! whether to retry is decided by kind ([`OidcError::is_retryable`]). What a library or the IdP
//! said is kept as the error's source, for the log.

pub(crate) mod check;
pub(crate) mod http;
pub(crate) mod logout_token;
pub(crate) mod types;

use self::check::CheckError;
use self::http::{HttpError, IdpHttp};
use self::logout_token::LogoutClaims;
use self::types::{
    AppClient, AppIdToken, AppIdTokenClaims, AppProviderMetadata, AppTokenResponse,
    AppUserInfoClaims,
};
use crate::{clock::SharedClock, log::chain, session::PendingLogin, settings::Settings};
use chrono::{DateTime, Utc};
use openidconnect::{
    core::{
        CoreAuthErrorResponseType, CoreAuthenticationFlow, CoreErrorResponseType,
        CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreTokenType,
    },
    AccessToken, AccessTokenHash, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EndSessionUrl, IdTokenVerifier, IssuerUrl, JsonWebKeySet,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    SignatureVerificationError, StandardErrorResponse, SubjectIdentifier, TokenResponse,
};
use serde::Deserialize;
use std::{
    str::FromStr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::RwLock;
use url::Url;

/// Shortest time between two JWKS refetches caused by unknown key ids: a flood of forged tokens
/// cannot make the server hammer the IdP.
pub(crate) const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long discovery is trusted before it is fetched again.
const DISCOVERY_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// Clock skew tolerated for `iat`.
const IAT_SKEW_SECS: i64 = 120;
/// How long a call waits for one of the IdP call slots before it is refused as busy.
const IDP_SLOT_WAIT: Duration = Duration::from_secs(1);

/// What went wrong talking to the IdP.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// Discovery failed: unreachable, malformed, or for another issuer.
    #[error("the discovery document could not be used")]
    Discovery(#[source] EndpointError),
    /// The token endpoint answered with an OAuth error (`invalid_grant`, …).
    #[error("the token endpoint refused the request ({})", .code.as_ref())]
    TokenRefused {
        /// The OAuth error code.
        code: CoreErrorResponseType,
        /// Its `error_description`, for the log.
        #[source]
        said: IdpSaid,
    },
    /// The token endpoint could not be reached, failed, or answered something unusable.
    #[error("the token endpoint failed")]
    TokenEndpoint(#[source] EndpointError),
    /// The token response has no ID token (a code exchange must return one).
    #[error("the token response has no ID token")]
    NoIdToken,
    /// The token response's `token_type` is not `Bearer`.
    #[error("the token response's token_type is not Bearer")]
    TokenType,
    /// The ID token failed validation.
    #[error("the ID token is not valid ({0})")]
    IdToken(IdTokenProblem, #[source] CheckError),
    /// A back-channel logout token failed validation.
    #[error("the logout token is not valid")]
    LogoutToken(#[source] CheckError),
    /// userinfo could not be used.
    #[error("the userinfo endpoint failed")]
    UserInfo(#[source] EndpointError),
    /// userinfo describes someone other than the ID token.
    #[error("userinfo is about another subject")]
    UserInfoSubject,
    /// The revocation endpoint refused or failed.
    #[error("the revocation endpoint failed")]
    Revocation(#[source] EndpointError),
    /// As many calls to the IdP are in flight as the app allows (`AUTH_IDP_MAX_CONCURRENCY`):
    /// refused at once rather than queued, so that a flood cannot spend the app's rate limit
    /// at the IdP for everyone.
    #[error("too many calls to the identity provider are in flight")]
    Busy,
}

impl OidcError {
    /// Whether trying again may help: the IdP was unreachable or failed (5xx), not when it
    /// refused, misunderstood us, or sent something invalid.
    pub fn is_retryable(&self) -> bool {
        match self {
            OidcError::Discovery(e)
            | OidcError::TokenEndpoint(e)
            | OidcError::UserInfo(e)
            | OidcError::Revocation(e) => e.is_retryable(),
            OidcError::Busy => true,
            _ => false,
        }
    }

    /// Whether a refresh that failed this way means the sign-in is over (the refresh token is
    /// dead, the client is refused, or a refreshed ID token is not about this user).
    pub fn ends_session(&self) -> bool {
        match self {
            OidcError::TokenRefused { code, .. } => matches!(
                code,
                CoreErrorResponseType::InvalidGrant
                    | CoreErrorResponseType::InvalidClient
                    | CoreErrorResponseType::UnauthorizedClient
            ),
            OidcError::IdToken(..) => true,
            _ => false,
        }
    }

    /// A short, stable code for the kind (pages show it; tests and support read it).
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::Discovery(_) => "idp.discovery",
            OidcError::TokenRefused { .. } => "idp.token.refused",
            OidcError::TokenEndpoint(e) if e.is_retryable() => "idp.token.unavailable",
            OidcError::TokenEndpoint(_) => "idp.token.malformed",
            OidcError::NoIdToken => "idp.token.no_id_token",
            OidcError::TokenType => "idp.token.token_type",
            OidcError::IdToken(problem, _) => problem.code(),
            OidcError::LogoutToken(_) => "idp.logout_token",
            OidcError::UserInfo(_) => "idp.userinfo",
            OidcError::UserInfoSubject => "idp.userinfo.subject",
            OidcError::Revocation(_) => "idp.revocation",
            OidcError::Busy => "idp.busy",
        }
    }
}

/// Text the IdP sent (an `error_description`), kept for the log only.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.as_deref().unwrap_or("no description"))]
pub struct IdpSaid(pub Option<String>);

/// Why a call to one of the IdP's endpoints gave nothing usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// No answer.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// An error status.
    #[error("it answered HTTP {0}")]
    Status(u16),
    /// Not what the protocol says (the text names where, never quotes the body).
    #[error("its answer is malformed: {0}")]
    Malformed(String),
    /// Well-formed but not acceptable (e.g. discovery for another issuer).
    #[error("{0}")]
    Invalid(String),
}

impl EndpointError {
    /// Whether the same call may work a moment later.
    pub fn is_retryable(&self) -> bool {
        match self {
            EndpointError::Http(e) => e.is_retryable(),
            EndpointError::Status(status) => *status >= 500 || *status == 429,
            EndpointError::Malformed(_) | EndpointError::Invalid(_) => false,
        }
    }
}

/// What is wrong with an ID token, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenProblem {
    /// It names another issuer.
    #[error("issuer")]
    Issuer,
    /// It is not meant for this client.
    #[error("audience")]
    Audience,
    /// It was issued to another party (`azp`).
    #[error("authorized party")]
    AuthorizedParty,
    /// It has expired.
    #[error("expired")]
    Expired,
    /// Its `iat` is in the future.
    #[error("issued in the future")]
    IssuedInFuture,
    /// Its nonce is not this sign-in's.
    #[error("nonce")]
    Nonce,
    /// Its `sub` is missing, empty or another user's.
    #[error("subject")]
    Subject,
    /// It is not signed.
    #[error("unsigned")]
    Unsigned,
    /// It is signed with an algorithm not allowed.
    #[error("algorithm")]
    Algorithm,
    /// Its signature is not valid.
    #[error("signature")]
    Signature,
    /// It is signed with a key the IdP does not publish.
    #[error("unknown key")]
    UnknownKey,
    /// Several published keys could have signed it.
    #[error("ambiguous key")]
    AmbiguousKey,
    /// Its `at_hash` does not match the access token.
    #[error("at_hash")]
    AccessTokenHash,
    /// A refreshed ID token names another IdP session than the sign-in's.
    #[error("sid")]
    Session,
    /// A refreshed ID token's `auth_time` is not the sign-in's.
    #[error("auth_time")]
    AuthTime,
    /// Anything else (malformed).
    #[error("other")]
    Other,
}

impl IdTokenProblem {
    /// A short, stable name for the kind (`idp.id_token.expired`, …).
    pub fn code(self) -> &'static str {
        match self {
            IdTokenProblem::Issuer => "idp.id_token.issuer",
            IdTokenProblem::Audience => "idp.id_token.audience",
            IdTokenProblem::AuthorizedParty => "idp.id_token.azp",
            IdTokenProblem::Expired => "idp.id_token.expired",
            IdTokenProblem::IssuedInFuture => "idp.id_token.iat",
            IdTokenProblem::Nonce => "idp.id_token.nonce",
            IdTokenProblem::Subject => "idp.id_token.sub",
            IdTokenProblem::Unsigned => "idp.id_token.unsigned",
            IdTokenProblem::Algorithm => "idp.id_token.alg",
            IdTokenProblem::Signature => "idp.id_token.signature",
            IdTokenProblem::UnknownKey => "idp.id_token.unknown_key",
            IdTokenProblem::AmbiguousKey => "idp.id_token.ambiguous_key",
            IdTokenProblem::AccessTokenHash => "idp.id_token.at_hash",
            IdTokenProblem::Session => "idp.id_token.sid",
            IdTokenProblem::AuthTime => "idp.id_token.auth_time",
            IdTokenProblem::Other => "idp.id_token.other",
        }
    }

    fn of(err: &ClaimsVerificationError) -> IdTokenProblem {
        use ClaimsVerificationError as C;
        use SignatureVerificationError as S;
        match err {
            C::Expired(_) => IdTokenProblem::Expired,
            C::InvalidAudience(_) => IdTokenProblem::Audience,
            C::InvalidIssuer(_) => IdTokenProblem::Issuer,
            C::InvalidNonce(_) => IdTokenProblem::Nonce,
            C::InvalidSubject(_) => IdTokenProblem::Subject,
            C::SignatureVerification(S::NoSignature) => IdTokenProblem::Unsigned,
            C::SignatureVerification(S::DisallowedAlg(_) | S::UnsupportedAlg(_)) => {
                IdTokenProblem::Algorithm
            }
            C::SignatureVerification(S::NoMatchingKey) => IdTokenProblem::UnknownKey,
            C::SignatureVerification(S::AmbiguousKeyId(_)) => IdTokenProblem::AmbiguousKey,
            C::SignatureVerification(_) => IdTokenProblem::Signature,
            _ => IdTokenProblem::Other,
        }
    }
}

/// The authorization response, as the IdP sends the browser back to the callback.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuthorizationResponse {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Why a sign-in could not be finished.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// The callback's `state` matches no sign-in this browser started (forged, replayed,
    /// expired, or started elsewhere). Nothing else in the response is looked at.
    #[error("the callback matches no sign-in started in this browser")]
    StateMismatch,
    /// The IdP answered the authorization request with an error.
    #[error("the identity provider refused the sign-in ({})", .code.as_ref())]
    Refused {
        /// The OAuth error code (`access_denied`, …).
        code: CoreAuthErrorResponseType,
        /// Its `error_description`, for the log.
        #[source]
        said: IdpSaid,
    },
    /// RFC 9207: the response's `iss` is missing or not our issuer.
    #[error("the authorization response names another issuer")]
    IssuerMismatch,
    /// The response has no `code`.
    #[error("the authorization response has no code")]
    MissingCode,
    /// Finishing the sign-in at the IdP failed.
    #[error(transparent)]
    Idp(#[from] OidcError),
}

/// Discovery, JWKS and the client built from them.
pub(crate) struct Provider {
    pub metadata: AppProviderMetadata,
    pub client: AppClient,
    fetched_at: Instant,
}

impl Provider {
    pub(crate) fn end_session_endpoint(&self) -> Option<&str> {
        self.metadata
            .additional_metadata()
            .end_session_endpoint
            .as_deref()
    }

    /// RFC 9207: whether the authorization response must carry `iss`.
    pub(crate) fn requires_iss_parameter(&self) -> bool {
        self.metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
    }

    fn jwks(&self) -> &CoreJsonWebKeySet {
        self.metadata.jwks()
    }
}

/// The start of a sign-in: where to send the browser, and what to remember until it comes back.
pub(crate) struct AuthorizationStart {
    pub url: Url,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What a refreshed ID token is compared with: the sign-in the session began with.
pub(crate) struct OriginalSignIn<'a> {
    pub sub: &'a str,
    pub sid: Option<&'a str>,
    /// Unix seconds, when the first ID token said.
    pub auth_time: Option<i64>,
}

impl OriginalSignIn<'_> {
    /// Same subject; and, where both tokens carry them, the same IdP session (`sid`) and the
    /// same time of authentication (`auth_time` must still be the original sign-in's).
    fn check(&self, claims: &AppIdTokenClaims) -> Result<(), OidcError> {
        let refused =
            |problem, why: &str| Err(OidcError::IdToken(problem, CheckError::Invalid(why.into())));
        if claims.subject().as_str() != self.sub {
            return refused(
                IdTokenProblem::Subject,
                "the refreshed ID token is about another subject",
            );
        }
        let sid = claims.additional_claims().sid.as_deref();
        if let (Some(original), Some(refreshed)) = (self.sid, sid) {
            if original != refreshed {
                return refused(
                    IdTokenProblem::Session,
                    "the refreshed ID token names another IdP session (sid)",
                );
            }
        }
        let auth_time = claims.auth_time().map(|t| t.timestamp());
        if let (Some(original), Some(refreshed)) = (self.auth_time, auth_time) {
            if original != refreshed {
                return refused(
                    IdTokenProblem::AuthTime,
                    "the refreshed ID token's auth_time is not the original sign-in's",
                );
            }
        }
        Ok(())
    }
}

/// Tokens and claims from a successful code exchange or refresh.
pub(crate) struct Grant {
    pub access_token: String,
    pub expires_in: Option<Duration>,
    pub refresh_token: Option<String>,
    /// A refresh may come without a new ID token.
    pub id_token: Option<(String, AppIdTokenClaims)>,
}

/// Tokens and claims from a code exchange, which always carries a validated ID token.
pub(crate) struct SignInGrant {
    pub access_token: String,
    pub expires_in: Option<Duration>,
    pub refresh_token: Option<String>,
    pub id_token: String,
    pub claims: AppIdTokenClaims,
}

pub(crate) struct OidcClient {
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
    clock: SharedClock,
    /// Slots for calls that spend the app's credentials at the IdP (token, refresh, userinfo,
    /// revocation): at most this many at once, whoever asks.
    slots: Arc<tokio::sync::Semaphore>,
    /// Audiences an ID token may name besides this client (none unless configured).
    trusted_audiences: Arc<[String]>,
}

impl OidcClient {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        settings: &Settings,
        http: IdpHttp,
        clock: SharedClock,
    ) -> Result<Self, serde_plain::Error> {
        use secrecy::ExposeSecret;
        let algs = settings
            .id_token_algs
            .iter()
            .map(|a| serde_plain::from_str::<CoreJwsSigningAlgorithm>(a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OidcClient {
            issuer: IssuerUrl::from_url(settings.issuer.clone()),
            client_id: ClientId::new(settings.client_id.clone()),
            client_secret: ClientSecret::new(settings.client_secret.expose_secret().to_owned()),
            redirect_url: RedirectUrl::from_url(settings.redirect_url()),
            scopes: settings
                .scopes
                .iter()
                .filter(|s| *s != "openid")
                .map(|s| Scope::new(s.clone()))
                .collect(),
            algs,
            http,
            provider: RwLock::new(None),
            fetch_gate: tokio::sync::Mutex::new(()),
            last_jwks_refetch: Mutex::new(None),
            clock,
            slots: Arc::new(tokio::sync::Semaphore::new(settings.idp_max_concurrency)),
            trusted_audiences: settings.trusted_audiences.clone().into(),
        })
    }

    /// One of the IdP call slots, or [`OidcError::Busy`] when none frees up within
    /// [`IDP_SLOT_WAIT`].
    async fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, OidcError> {
        match tokio::time::timeout(IDP_SLOT_WAIT, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                tracing::warn!("every IdP call slot is taken; refused a call");
                Err(OidcError::Busy)
            }
        }
    }

    /// The cached provider, discovering it first if needed.
    #[tracing::instrument(skip(self), fields(issuer = %self.issuer.as_str()))]
    pub(crate) async fn provider(&self) -> Result<Arc<Provider>, OidcError> {
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
                    tracing::warn!(error = %chain(&err), "rediscovery failed; keeping the cached discovery document");
                    Ok(stale)
                }
                None => Err(err),
            },
        }
    }

    /// The provider as discovered so far, without waiting (`None` before discovery, or while
    /// it is being replaced).
    pub(crate) fn discovered(&self) -> Option<Arc<Provider>> {
        self.provider.try_read().ok().and_then(|p| p.clone())
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
            .map_err(|err| OidcError::Discovery(discovery_error(err)))?;
        if metadata.token_endpoint().is_none() {
            return Err(OidcError::Discovery(EndpointError::Invalid(
                "the document has no token_endpoint".into(),
            )));
        }
        check_endpoints(&metadata).map_err(OidcError::Discovery)?;
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
                tracing::warn!(error = %chain(&err), "JWKS refetch failed");
                None
            }
        }
    }

    /// Builds the authorization URL with fresh state, nonce and PKCE (S256).
    pub(crate) fn start(&self, provider: &Provider) -> AuthorizationStart {
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

    /// Finishes a sign-in from the IdP's answer: the state must match the sign-in this browser
    /// started (`pending`, found by that state), then the IdP's error if any, RFC 9207's `iss`,
    /// the code exchange and every ID-token check.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn finish_sign_in(
        &self,
        response: &AuthorizationResponse,
        pending: Option<&PendingLogin>,
    ) -> Result<SignInGrant, SignInError> {
        // Without a matching sign-in nothing else in the response is read: not its error text.
        let Some(pending) = pending else {
            return Err(SignInError::StateMismatch);
        };
        if let Some(error) = &response.error {
            return Err(SignInError::Refused {
                code: CoreAuthErrorResponseType::from_str_lossy(error),
                said: IdpSaid(response.error_description.clone()),
            });
        }
        let provider = self.provider().await?;
        check_iss(
            response.iss.as_deref(),
            provider.requires_iss_parameter(),
            provider.metadata.issuer().as_str(),
        )?;
        let code = response.code.as_deref().ok_or(SignInError::MissingCode)?;
        Ok(self
            .exchange_code(provider, code, &pending.pkce_verifier, &pending.nonce)
            .await?)
    }

    /// Exchanges an authorization code and validates the ID token that comes back.
    async fn exchange_code(
        &self,
        provider: Arc<Provider>,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<SignInGrant, OidcError> {
        let slot = self.slot().await?;
        let response = provider
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::TokenEndpoint(EndpointError::Invalid(e.to_string())))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        drop(slot);
        let nonce = Nonce::new(nonce.to_owned());
        let verify_nonce =
            move |claim: Option<&Nonce>| openidconnect::NonceVerifier::verify(&nonce, claim);
        let grant = self
            .grant_from(provider, response, verify_nonce, None)
            .await?;
        let Some((id_token, claims)) = grant.id_token else {
            return Err(OidcError::NoIdToken);
        };
        Ok(SignInGrant {
            access_token: grant.access_token,
            expires_in: grant.expires_in,
            refresh_token: grant.refresh_token,
            id_token,
            claims,
        })
    }

    /// Uses a refresh token; a new ID token, if any, must be valid and about the same sign-in
    /// as `original` (OpenID Connect Core §12.2).
    #[tracing::instrument(skip_all)]
    pub(crate) async fn refresh(
        &self,
        refresh_token: &str,
        original: &OriginalSignIn<'_>,
    ) -> Result<Grant, OidcError> {
        let provider = self.provider().await?;
        let slot = self.slot().await?;
        let response = provider
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
            .map_err(|e| OidcError::TokenEndpoint(EndpointError::Invalid(e.to_string())))?
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        drop(slot);
        // A refreshed ID token carries no nonce (OpenID Connect Core §12.2).
        self.grant_from(
            provider,
            response,
            |_: Option<&Nonce>| Ok(()),
            Some(original),
        )
        .await
    }

    async fn grant_from<N>(
        &self,
        provider: Arc<Provider>,
        response: AppTokenResponse,
        nonce: N,
        original: Option<&OriginalSignIn<'_>>,
    ) -> Result<Grant, OidcError>
    where
        N: Fn(Option<&Nonce>) -> Result<(), String> + Clone,
    {
        if *response.token_type() != CoreTokenType::Bearer {
            return Err(OidcError::TokenType);
        }
        let id_token = match response.id_token() {
            Some(token) => {
                let claims = self
                    .validate_id_token(provider, token, Some(response.access_token()), nonce)
                    .await?;
                if let Some(original) = original {
                    original.check(&claims)?;
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
    }

    /// Runs a token check against the cached keys; when the token's key is unknown, refetches
    /// the JWKS (rate-limited) and checks once more.
    async fn check_with_refetch<T, E: SignedBy>(
        &self,
        provider: Arc<Provider>,
        check: impl Fn(&Provider) -> Result<T, E>,
    ) -> Result<T, E> {
        match check(&provider) {
            Err(err) if err.is_unknown_key() => match self.refetch_jwks(&provider).await {
                Some(provider) => check(&provider),
                None => Err(err),
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
    ) -> Result<AppIdTokenClaims, OidcError>
    where
        N: Fn(Option<&Nonce>) -> Result<(), String>,
    {
        let invalid = |problem: IdTokenProblem, why: String| {
            OidcError::IdToken(problem, CheckError::Invalid(why))
        };
        let verifier = self.verifier(provider.jwks().clone());
        let claims = token
            .claims(&verifier, |n: Option<&Nonce>| nonce(n))
            .map_err(|err| match IdTokenProblem::of(&err) {
                IdTokenProblem::UnknownKey => {
                    OidcError::IdToken(IdTokenProblem::UnknownKey, CheckError::UnknownKey)
                }
                problem => invalid(problem, chain(&err)),
            })?;
        if claims.issue_time().timestamp() > self.clock.now() + IAT_SKEW_SECS {
            return Err(invalid(
                IdTokenProblem::IssuedInFuture,
                "iat is in the future".into(),
            ));
        }
        let audiences = claims.audiences();
        match claims.authorized_party() {
            Some(azp) if *azp != self.client_id => {
                return Err(invalid(
                    IdTokenProblem::AuthorizedParty,
                    format!("azp is `{}`, not this client", azp.as_str()),
                ))
            }
            None if audiences.len() > 1 => {
                return Err(invalid(
                    IdTokenProblem::AuthorizedParty,
                    "several audiences but no azp claim".into(),
                ))
            }
            _ => {}
        }
        if claims.subject().as_str().is_empty() {
            return Err(invalid(
                IdTokenProblem::Subject,
                "the sub claim is empty".into(),
            ));
        }
        if let (Some(expected), Some(access_token)) = (claims.access_token_hash(), access_token) {
            let hash = |why: String| invalid(IdTokenProblem::AccessTokenHash, why);
            let alg = token.signing_alg().map_err(|e| hash(e.to_string()))?;
            let key = token
                .signing_key(&verifier)
                .map_err(|e| hash(e.to_string()))?;
            let actual = AccessTokenHash::from_token(access_token, alg, key)
                .map_err(|e| hash(e.to_string()))?;
            if actual != *expected {
                return Err(hash("at_hash does not match the access token".into()));
            }
        }
        Ok(claims.clone())
    }

    fn verifier(
        &self,
        jwks: CoreJsonWebKeySet,
    ) -> IdTokenVerifier<'static, openidconnect::core::CoreJsonWebKey> {
        let clock = self.clock.clone();
        let trusted = self.trusted_audiences.clone();
        // A public-client verifier: HMAC signatures (keyed with the client secret) are refused
        // outright, whatever the allowed algorithms say.
        IdTokenVerifier::new_public_client(self.client_id.clone(), self.issuer.clone(), jwks)
            .set_allowed_algs(self.algs.clone())
            // OpenID Connect Core 3.1.3.7: an audience besides ours must be one we trust (and
            // then azp must be our client id, checked after verification).
            .set_other_audience_verifier_fn(move |aud| {
                trusted.iter().any(|t| t.as_str() == aud.as_str())
            })
            .set_time_fn(move || {
                DateTime::<Utc>::from_timestamp(clock.now(), 0).unwrap_or_default()
            })
            // `iat` is checked after verification, by kind (IssuedInFuture).
            .set_issue_time_verifier_fn(|_| Ok(()))
    }

    /// Validates a back-channel logout token (see [`logout_token`](super::logout_token)),
    /// refetching the JWKS once if its key is unknown. `jti` replay and the `sid`/`sub` match are
    /// the caller's.
    pub(crate) async fn validate_logout_token(&self, raw: &str) -> Result<LogoutClaims, OidcError> {
        let provider = self.provider().await?;
        let now = self.clock.now();
        let check = |provider: &Provider| {
            logout_token::validate(
                raw,
                &logout_token::Expected {
                    issuer: &self.issuer,
                    client_id: &self.client_id,
                    algs: &self.algs,
                    jwks: provider.jwks(),
                    now,
                },
            )
        };
        self.check_with_refetch(provider, check)
            .await
            .map_err(OidcError::LogoutToken)
    }

    /// Fetches userinfo with the new access token; its `sub` must be the ID token's.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn userinfo(
        &self,
        access_token: &str,
        subject: &str,
    ) -> Result<AppUserInfoClaims, OidcError> {
        use openidconnect::UserInfoError as E;
        let provider = self.provider().await?;
        let _slot = self.slot().await?;
        provider
            .client
            .user_info(
                AccessToken::new(access_token.to_owned()),
                Some(SubjectIdentifier::new(subject.to_owned())),
            )
            .map_err(|_| {
                OidcError::UserInfo(EndpointError::Invalid(
                    "the provider has no userinfo_endpoint".into(),
                ))
            })?
            .request_async(&self.http)
            .await
            .map_err(|err| match err {
                E::ClaimsVerification(ClaimsVerificationError::InvalidSubject(_)) => {
                    OidcError::UserInfoSubject
                }
                E::Request(err) => OidcError::UserInfo(EndpointError::Http(err)),
                E::Response(status, _, _) => {
                    OidcError::UserInfo(EndpointError::Status(status.as_u16()))
                }
                E::Parse(err) => OidcError::UserInfo(EndpointError::Malformed(format!(
                    "not JSON claims (at `{}`)",
                    err.path()
                ))),
                other => OidcError::UserInfo(EndpointError::Invalid(chain(&other))),
            })
    }

    /// Revokes `token` at the IdP's revocation endpoint (RFC 7009), when it has one; `hint` is
    /// `refresh_token` or `access_token`. `Ok(false)` when the IdP offers no revocation.
    #[tracing::instrument(skip_all, fields(hint))]
    pub(crate) async fn revoke(&self, token: &str, hint: &'static str) -> Result<bool, OidcError> {
        let provider = self.provider().await?;
        let Some(endpoint) = provider
            .metadata
            .additional_metadata()
            .revocation_endpoint
            .clone()
        else {
            return Ok(false);
        };
        let _slot = self.slot().await?;
        // client_secret_basic, both parts form-encoded first (RFC 6749 §2.3.1), as
        // openidconnect sends them to the token endpoint.
        let encode =
            |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let request = self
            .http
            .client()
            .post(endpoint)
            .basic_auth(
                encode(self.client_id.as_str()),
                Some(encode(self.client_secret.secret())),
            )
            .form(&[("token", token), ("token_type_hint", hint)]);
        let (status, _, _) = self
            .http
            .send(request)
            .await
            .map_err(|e| OidcError::Revocation(EndpointError::Http(e)))?;
        if status.is_success() {
            Ok(true)
        } else {
            Err(OidcError::Revocation(EndpointError::Status(
                status.as_u16(),
            )))
        }
    }

    /// The IdP's logout URL for RP-initiated logout, if it has one.
    pub(crate) fn end_session_url(
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
    pub(crate) async fn reachable(&self) -> bool {
        let Ok(url) = self.issuer.join(".well-known/openid-configuration") else {
            return false;
        };
        let request = self.http.client().get(url).timeout(Duration::from_secs(3));
        matches!(self.http.send(request).await, Ok((status, _, _)) if status.is_success())
    }
}

/// A check that can fail because the token's key is not in the cached key set.
trait SignedBy {
    fn is_unknown_key(&self) -> bool;
}

impl SignedBy for CheckError {
    fn is_unknown_key(&self) -> bool {
        matches!(self, CheckError::UnknownKey)
    }
}

impl SignedBy for OidcError {
    fn is_unknown_key(&self) -> bool {
        matches!(self, OidcError::IdToken(_, CheckError::UnknownKey))
    }
}

/// Every endpoint the document names must be https, as the issuer must be, except on this
/// machine: the client secret goes to the token endpoint, tokens to the others.
fn check_endpoints(metadata: &AppProviderMetadata) -> Result<(), EndpointError> {
    let extra = metadata.additional_metadata();
    let endpoints = [
        (
            "authorization_endpoint",
            Some(metadata.authorization_endpoint().url().as_str()),
        ),
        (
            "token_endpoint",
            metadata.token_endpoint().map(|u| u.url().as_str()),
        ),
        (
            "userinfo_endpoint",
            metadata.userinfo_endpoint().map(|u| u.url().as_str()),
        ),
        ("jwks_uri", Some(metadata.jwks_uri().url().as_str())),
        (
            "end_session_endpoint",
            extra.end_session_endpoint.as_deref(),
        ),
        ("revocation_endpoint", extra.revocation_endpoint.as_deref()),
    ];
    for (name, url) in endpoints {
        let Some(url) = url else { continue };
        let secure = Url::parse(url).is_ok_and(|url| {
            url.scheme() == "https"
                || (url.scheme() == "http" && crate::settings::is_loopback(&url))
        });
        if !secure {
            return Err(EndpointError::Invalid(format!(
                "its {name} is not an https URL (plain http is accepted only on this machine)"
            )));
        }
    }
    Ok(())
}

/// RFC 9207: when the IdP says it sends `iss`, it must be there and be our issuer; when it is
/// there anyway, it must still be our issuer (a mix-up attack otherwise goes unnoticed).
fn check_iss(found: Option<&str>, required: bool, issuer: &str) -> Result<(), SignInError> {
    match found {
        Some(iss) if iss == issuer => Ok(()),
        None if !required => Ok(()),
        _ => Err(SignInError::IssuerMismatch),
    }
}

fn token_error(
    err: RequestTokenError<HttpError, StandardErrorResponse<CoreErrorResponseType>>,
) -> OidcError {
    let malformed = |why: String| OidcError::TokenEndpoint(EndpointError::Malformed(why));
    match err {
        RequestTokenError::ServerResponse(response) => OidcError::TokenRefused {
            code: response.error().clone(),
            said: IdpSaid(response.error_description().cloned()),
        },
        RequestTokenError::Request(err) => OidcError::TokenEndpoint(EndpointError::Http(err)),
        // Never the body, nor serde's message: either may quote a token. The path is enough.
        RequestTokenError::Parse(err, _body) => {
            malformed(format!("not a token response (at `{}`)", err.path()))
        }
        RequestTokenError::Other(why) => malformed(why),
    }
}

fn discovery_error(err: openidconnect::DiscoveryError<HttpError>) -> EndpointError {
    use openidconnect::DiscoveryError as E;
    match err {
        E::Request(err) => EndpointError::Http(err),
        E::Response(status, _, _) => EndpointError::Status(status.as_u16()),
        E::Parse(err) => {
            EndpointError::Malformed(format!("not JSON metadata (at `{}`)", err.path()))
        }
        E::Validation(why) => EndpointError::Invalid(why),
        other => EndpointError::Invalid(chain(&other)),
    }
}

/// An OAuth error code from text; a code we do not know is kept as it is (for the log).
trait FromStrLossy {
    fn from_str_lossy(code: &str) -> Self;
}

impl FromStrLossy for CoreAuthErrorResponseType {
    fn from_str_lossy(code: &str) -> Self {
        serde_plain::from_str(code)
            .unwrap_or_else(|_| CoreAuthErrorResponseType::Extension(code.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iss_parameter_rules() {
        let issuer = "https://api.asgardeo.io/t/acme/oauth2/token";
        assert!(check_iss(Some(issuer), true, issuer).is_ok());
        assert!(check_iss(None, false, issuer).is_ok());
        assert!(check_iss(None, true, issuer).is_err());
        assert!(check_iss(Some("https://evil.example"), false, issuer).is_err());
        assert!(check_iss(Some("https://evil.example"), true, issuer).is_err());
    }

    #[test]
    fn retries_are_decided_by_kind() {
        let refused = OidcError::TokenRefused {
            code: CoreErrorResponseType::InvalidGrant,
            said: IdpSaid(None),
        };
        assert!(!refused.is_retryable() && refused.ends_session());
        let down = OidcError::TokenEndpoint(EndpointError::Http(HttpError::Unavailable(503)));
        assert!(down.is_retryable() && !down.ends_session());
        let timeout = OidcError::TokenEndpoint(EndpointError::Http(HttpError::Timeout));
        assert!(timeout.is_retryable());
        let malformed = OidcError::TokenEndpoint(EndpointError::Malformed("x".into()));
        assert!(!malformed.is_retryable());
        let client = OidcError::TokenRefused {
            code: CoreErrorResponseType::InvalidClient,
            said: IdpSaid(None),
        };
        assert!(!client.is_retryable());
    }
}
