//! Who signed in: the claims of the ID token (completed from userinfo when it lacks them), and
//! the user the application makes of them.
//!
//! The application chooses its user type and the function that maps [`Claims`] to it
//! ([`BffBuilder::user`](crate::BffBuilder::user)); the user is stored in the session as JSON and
//! read back by [`CurrentUser<U>`](crate::CurrentUser) and [`MaybeUser<U>`](crate::MaybeUser).

use crate::oidc::types::{AppIdTokenClaims, AppUserInfoClaims};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Maps claims to the stored user (as JSON).
pub(crate) type MapUser =
    Arc<dyn Fn(&Claims) -> Result<serde_json::Value, serde_json::Error> + Send + Sync>;

/// The signed-in user's claims: the ID token's, with what it lacks taken from userinfo (when
/// [`FetchUserInfo`] says to ask).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claims {
    /// The subject: who the user is at the IdP.
    pub sub: String,
    /// The IdP session (`sid`), when the IdP names one.
    pub sid: Option<String>,
    /// A `username` claim (Asgardeo, WSO2 Identity Server and others send the login name so).
    pub username: Option<String>,
    /// `preferred_username`.
    pub preferred_username: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `given_name`.
    pub given_name: Option<String>,
    /// `family_name`.
    pub family_name: Option<String>,
}

impl Claims {
    pub(crate) fn from_id_token(claims: &AppIdTokenClaims) -> Self {
        fn text<T: std::ops::Deref<Target = String>>(
            claim: Option<&openidconnect::LocalizedClaim<T>>,
        ) -> Option<String> {
            claim.and_then(|c| c.get(None)).map(|n| n.to_string())
        }
        Claims {
            sub: claims.subject().to_string(),
            sid: claims.additional_claims().sid.clone(),
            username: claims.additional_claims().username.clone(),
            preferred_username: claims.preferred_username().map(|u| u.to_string()),
            email: claims.email().map(|e| e.to_string()),
            name: text(claims.name()),
            given_name: text(claims.given_name()),
            family_name: text(claims.family_name()),
        }
    }

    /// Fills in what the ID token lacked from userinfo; the ID token wins where both have a
    /// value.
    pub(crate) fn complete_from(&mut self, info: &AppUserInfoClaims) {
        fn text<T: std::ops::Deref<Target = String>>(
            claim: Option<&openidconnect::LocalizedClaim<T>>,
        ) -> Option<String> {
            claim.and_then(|c| c.get(None)).map(|n| n.to_string())
        }
        let fill = |mine: &mut Option<String>, theirs: Option<String>| {
            if mine.is_none() {
                *mine = theirs;
            }
        };
        fill(
            &mut self.username,
            info.additional_claims().username.clone(),
        );
        fill(
            &mut self.preferred_username,
            info.preferred_username().map(|u| u.to_string()),
        );
        fill(&mut self.email, info.email().map(|e| e.to_string()));
        fill(&mut self.name, text(info.name()));
        fill(&mut self.given_name, text(info.given_name()));
        fill(&mut self.family_name, text(info.family_name()));
    }

    /// Whether the profile claims are all there: a name to show (`username` or
    /// `preferred_username`), `email`, `given_name` and `family_name`.
    pub(crate) fn has_profile(&self) -> bool {
        (self.username.is_some() || self.preferred_username.is_some())
            && self.email.is_some()
            && self.given_name.is_some()
            && self.family_name.is_some()
    }
}

/// When to ask the userinfo endpoint at sign-in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchUserInfo {
    /// Never: the ID token says all there is.
    Never,
    /// When the ID token lacks one of the profile claims (a login name, `email`, `given_name`,
    /// `family_name`), as IdPs do that send only the subject unless attributes are configured.
    #[default]
    WhenProfileMissing,
    /// At every sign-in.
    Always,
}

impl FetchUserInfo {
    pub(crate) fn wanted(self, claims: &Claims) -> bool {
        match self {
            FetchUserInfo::Never => false,
            FetchUserInfo::WhenProfileMissing => !claims.has_profile(),
            FetchUserInfo::Always => true,
        }
    }
}

/// The user, unless the application chooses a type of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultUser {
    /// The subject at the IdP.
    pub sub: String,
    /// A name to show: the login name, else `preferred_username`, else `email`, else `sub`.
    pub name: String,
    /// `email`, when the IdP gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `given_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `family_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

impl DefaultUser {
    /// The default mapping.
    pub fn from_claims(claims: &Claims) -> Self {
        DefaultUser {
            sub: claims.sub.clone(),
            name: claims
                .username
                .clone()
                .or_else(|| claims.preferred_username.clone())
                .or_else(|| claims.email.clone())
                .unwrap_or_else(|| claims.sub.clone()),
            email: claims.email.clone(),
            given_name: claims.given_name.clone(),
            family_name: claims.family_name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_token(json: serde_json::Value) -> AppIdTokenClaims {
        serde_json::from_value(json).unwrap()
    }

    fn base() -> serde_json::Value {
        serde_json::json!({"iss": "https://idp", "aud": "c", "exp": 2000000000, "iat": 1, "sub": "u-1"})
    }

    #[test]
    fn the_id_token_wins_and_userinfo_fills_in_what_it_lacks() {
        let mut json = base();
        json["given_name"] = "Alice".into();
        json["sid"] = "s-1".into();
        let mut claims = Claims::from_id_token(&id_token(json));
        assert!(!claims.has_profile());
        assert!(FetchUserInfo::WhenProfileMissing.wanted(&claims));
        let info = AppUserInfoClaims::from_json::<std::io::Error>(
            br#"{"sub": "u-1", "given_name": "Other", "family_name": "Liddell", "username": "alice", "email": "a@x"}"#,
            None,
        )
        .unwrap();
        claims.complete_from(&info);
        assert_eq!(claims.given_name.as_deref(), Some("Alice"));
        assert_eq!(claims.family_name.as_deref(), Some("Liddell"));
        assert_eq!(claims.username.as_deref(), Some("alice"));
        assert_eq!(claims.sid.as_deref(), Some("s-1"));
        assert!(claims.has_profile());
        assert!(!FetchUserInfo::WhenProfileMissing.wanted(&claims));
    }

    #[test]
    fn the_default_user_is_named_by_login_name_then_email_then_subject() {
        let mut claims = Claims {
            sub: "u-1".into(),
            ..Default::default()
        };
        assert_eq!(DefaultUser::from_claims(&claims).name, "u-1");
        claims.email = Some("kim@example.com".into());
        assert_eq!(DefaultUser::from_claims(&claims).name, "kim@example.com");
        claims.username = Some("kim".into());
        assert_eq!(DefaultUser::from_claims(&claims).name, "kim");
    }
}
