//! openidconnect type parameters for Asgardeo-shaped providers, shared by the relying party
//! ([`crate::auth`]).
//!
//! Asgardeo adds to the core OpenID Connect types: a `username` claim in the ID token, an `sid`
//! for back-channel logout, and discovery fields for RP-initiated logout and RFC 9207.

use openidconnect::{
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreClaimName, CoreClaimType, CoreClientAuthMethod,
        CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
        CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
        CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
        CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
    },
    AdditionalClaims, AdditionalProviderMetadata, Client, EmptyExtraTokenFields, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IdToken, IdTokenClaims, IdTokenFields, ProviderMetadata,
    StandardErrorResponse, StandardTokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};

/// Claims Asgardeo adds to the ID token.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct AsgardeoClaims {
    /// The login name (`alice`, or an email address), present even when no profile attributes are
    /// configured for the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The IdP session id (OpenID Connect Front/Back-Channel Logout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}
impl AdditionalClaims for AsgardeoClaims {}

/// Discovery fields beyond OpenID Connect Discovery 1.0.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct AsgardeoMetadata {
    /// RP-Initiated Logout 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// RFC 7009 token revocation (RFC 8414 metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// RFC 9207: the authorization response carries `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// Back-Channel Logout 1.0.
    #[serde(default)]
    pub backchannel_logout_supported: bool,
    #[serde(default)]
    pub backchannel_logout_session_supported: bool,
    /// RFC 8414 / PKCE: e.g. `["S256"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}
impl AdditionalProviderMetadata for AsgardeoMetadata {}

pub type AppIdTokenClaims = IdTokenClaims<AsgardeoClaims, CoreGenderClaim>;
pub type AppUserInfoClaims = UserInfoClaims<AsgardeoClaims, CoreGenderClaim>;
pub type AppIdToken = IdToken<
    AsgardeoClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
pub type AppIdTokenFields = IdTokenFields<
    AsgardeoClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
pub type AppTokenResponse = StandardTokenResponse<AppIdTokenFields, CoreTokenType>;
pub type AppProviderMetadata = ProviderMetadata<
    AsgardeoMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;
/// The client as built from discovery: authorization endpoint set, token and userinfo endpoints
/// as discovered.
pub type AppClient = Client<
    AsgardeoClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    AppTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The event claim that makes a JWT a logout token (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Claims of a back-channel logout token beyond those it shares with an ID token (iss, aud, iat,
/// exp, sub). The development IdP mints logout tokens with openidconnect's ID-token types (and so
/// always with a `sub`); the relying party reads them with
/// [`auth::logout_token`](crate::auth::logout_token), where `sub` is optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct LogoutTokenClaims {
    #[serde(default)]
    pub events: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}
impl AdditionalClaims for LogoutTokenClaims {}

pub type LogoutTokenClaimsSet = IdTokenClaims<LogoutTokenClaims, CoreGenderClaim>;
pub type LogoutToken = IdToken<
    LogoutTokenClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
