//! Why a signed token (ID token or logout token) failed its check: the one type both checks
//! answer with, so that an unknown key can trigger a JWKS refetch for either.

/// A signed token failed its check.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// Its key is not in the cached key set: worth one JWKS refetch.
    #[error("it is signed with a key the identity provider does not publish")]
    UnknownKey,
    /// Anything else; the text is for the log.
    #[error("{0}")]
    Invalid(String),
}
