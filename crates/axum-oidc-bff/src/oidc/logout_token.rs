//! Back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4 and §2.6).
//!
//! A logout token is signed like an ID token but is not one: `sub` is optional when `sid` is
//! present, a `nonce` is forbidden, and it carries the logout event. openidconnect's ID-token
//! types require `sub`, so the claims are read here; the signature is checked by openidconnect's
//! JWK code ([`JsonWebKey::verify_signature`]), with the key chosen as its ID-token verifier
//! chooses it: by `kid`, or else the only compatible key in the set.

use super::check::CheckError;
use super::types::BACKCHANNEL_LOGOUT_EVENT;
use crate::{log::Untrusted, store::LogoutKey};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use openidconnect::{
    core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm},
    ClientId, IssuerUrl, JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyUse, JwsSigningAlgorithm,
};
use serde::Deserialize;
use serde_json::{Map, Value};

/// How old a logout token may be.
const MAX_AGE_SECS: f64 = 10.0 * 60.0;
/// Clock skew tolerated for `iat` and `exp`.
const SKEW_SECS: f64 = 120.0;

/// A validated logout token.
#[derive(Debug, PartialEq, Eq)]
pub struct LogoutClaims {
    /// Whom it logs out: the IdP session (`sid`) when named — and then also the user's
    /// sessions that have no `sid` of their own, when it names the user too — else every session
    /// of `sub`.
    pub keys: Vec<LogoutKey>,
    pub jti: String,
    /// Unix time after which the token is refused anyway (its `exp`): its `jti` need not be
    /// remembered longer than that, plus the skew.
    pub expires_at: i64,
    /// When the IdP logged the user out (`iat`): the mark's time, so that writing it again is
    /// idempotent.
    pub issued_at: i64,
}

/// What a logout token is checked against.
pub struct Expected<'a> {
    pub issuer: &'a IssuerUrl,
    pub client_id: &'a ClientId,
    /// The allowed signature algorithms (never `none` or HMAC).
    pub algs: &'a [CoreJwsSigningAlgorithm],
    pub jwks: &'a CoreJsonWebKeySet,
    /// Unix time, from the app's clock.
    pub now: crate::clock::UnixTime,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    /// Extensions that must be understood (RFC 7515 §4.1.11): none are.
    crit: Option<Value>,
    /// When present, `logout+jwt` (Back-Channel Logout 1.0 §2.4; explicit typing, RFC 8725).
    typ: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: Audience,
    iat: f64,
    exp: f64,
    #[serde(default)]
    jti: String,
    #[serde(default)]
    events: Map<String, Value>,
    sub: Option<String>,
    sid: Option<String>,
    /// Forbidden: present only to be refused.
    nonce: Option<Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

fn invalid(why: impl Into<String>) -> CheckError {
    CheckError::Invalid(why.into())
}

/// Validates a logout token: JWS compact form, an allowed algorithm, the signature, `iss`,
/// `aud`, `iat` (recent, not in the future), `exp`, the logout event, no `nonce`, a `jti`, and
/// `sub` or `sid`. Replay of the `jti` is the caller's to check.
pub fn validate(raw: &str, expected: &Expected<'_>) -> Result<LogoutClaims, CheckError> {
    let mut parts = raw.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("the logout token is not a signed JWT"));
    };
    let decode = |part: &str, what: &str| {
        B64.decode(part)
            .map_err(|_| invalid(format!("the logout token's {what} is not base64url")))
    };
    let header: Header = serde_json::from_slice(&decode(header, "header")?)
        .map_err(|_| invalid("the logout token's header is malformed"))?;
    if let Some(typ) = &header.typ {
        let typ = typ.to_ascii_lowercase();
        if typ != "logout+jwt" && typ != "application/logout+jwt" {
            return Err(invalid("the logout token's typ is not logout+jwt"));
        }
    }
    if header.crit.is_some() {
        return Err(invalid(
            "the logout token requires unknown extensions (crit)",
        ));
    }
    let alg: CoreJwsSigningAlgorithm = serde_plain::from_str(&header.alg)
        .ok()
        .filter(|alg| expected.algs.contains(alg))
        .ok_or_else(|| {
            invalid(format!(
                "the logout token is signed with {}, which is not allowed",
                Untrusted(&header.alg)
            ))
        })?;
    let key = signing_key(expected.jwks, header.kid.as_deref(), &alg)?;
    let signed = raw.rsplit_once('.').map_or("", |(signed, _)| signed);
    key.verify_signature(&alg, signed.as_bytes(), &decode(signature, "signature")?)
        .map_err(|err| invalid(format!("the logout token's signature is not valid: {err}")))?;

    let claims: Claims = serde_json::from_slice(&decode(payload, "payload")?)
        .map_err(|err| invalid(format!("the logout token's claims are malformed: {err}")))?;
    if IssuerUrl::new(claims.iss.clone()).ok().as_ref() != Some(expected.issuer) {
        return Err(invalid(format!(
            "the logout token's issuer is `{}`",
            Untrusted(&claims.iss)
        )));
    }
    let for_us = match &claims.aud {
        Audience::One(aud) => aud == expected.client_id.as_str(),
        Audience::Many(auds) => auds.iter().any(|aud| aud == expected.client_id.as_str()),
    };
    if !for_us {
        return Err(invalid("the logout token is not for this client (aud)"));
    }
    if claims.iat > expected.now as f64 + SKEW_SECS {
        return Err(invalid("the logout token's iat is in the future"));
    }
    if claims.iat < expected.now as f64 - MAX_AGE_SECS {
        return Err(invalid("the logout token is too old (iat)"));
    }
    if claims.exp < expected.now as f64 - SKEW_SECS {
        return Err(invalid("the logout token has expired"));
    }
    if !claims
        .events
        .get(BACKCHANNEL_LOGOUT_EVENT)
        .is_some_and(Value::is_object)
    {
        return Err(invalid(
            "the logout token lacks the back-channel logout event",
        ));
    }
    if claims.nonce.is_some() {
        return Err(invalid("a logout token must not carry a nonce"));
    }
    if claims.jti.is_empty() {
        return Err(invalid("the logout token has no jti"));
    }
    let present = |v: Option<String>| v.filter(|v| !v.is_empty());
    let keys = match (present(claims.sid), present(claims.sub)) {
        (Some(sid), Some(sub)) => vec![LogoutKey::Sid(sid), LogoutKey::SubWithoutSid(sub)],
        (Some(sid), None) => vec![LogoutKey::Sid(sid)],
        (None, Some(sub)) => vec![LogoutKey::Sub(sub)],
        (None, None) => return Err(invalid("the logout token names neither a sub nor a sid")),
    };
    Ok(LogoutClaims {
        keys,
        jti: claims.jti,
        expires_at: claims.exp as i64,
        issued_at: claims.iat as i64,
    })
}

/// The key openidconnect's ID-token verifier would pick: the one with this `kid`, or without a
/// `kid` the only key compatible with the algorithm.
fn signing_key<'a, K>(
    jwks: &'a openidconnect::JsonWebKeySet<K>,
    kid: Option<&str>,
    alg: &K::SigningAlgorithm,
) -> Result<&'a K, CheckError>
where
    K: JsonWebKey,
{
    let compatible = |key: &&K| {
        key.key_use()
            .is_none_or(|key_use| key_use.allows_signature())
            && alg.key_type().as_ref() == Some(key.key_type())
            && match key.signing_alg() {
                JsonWebKeyAlgorithm::Unspecified => true,
                JsonWebKeyAlgorithm::Algorithm(key_alg) => key_alg == alg,
                JsonWebKeyAlgorithm::Unsupported => false,
            }
    };
    let mut keys = jwks
        .keys()
        .iter()
        .filter(|key| kid.is_none_or(|kid| key.key_id().is_some_and(|id| id.as_str() == kid)))
        .filter(compatible);
    match (keys.next(), keys.next()) {
        (Some(key), None) => Ok(key),
        (None, _) => Err(CheckError::UnknownKey),
        (Some(_), Some(_)) => Err(invalid(
            "the logout token has no kid and the identity provider publishes several keys",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openidconnect::core::CoreJsonWebKey;
    use rsa::{
        pkcs1v15::SigningKey,
        signature::{SignatureEncoding, Signer},
        traits::PublicKeyParts,
        RsaPrivateKey,
    };
    use serde_json::json;
    use std::sync::LazyLock;

    const ISSUER: &str = "http://localhost:9443/t/dev/oauth2/token";
    const CLIENT: &str = "the-client";
    const NOW: f64 = 1_800_000_000.0;

    static KEY: LazyLock<RsaPrivateKey> =
        LazyLock::new(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key"));

    fn jwks(kids: &[Option<&str>]) -> CoreJsonWebKeySet {
        let public = KEY.to_public_key();
        let keys = kids
            .iter()
            .map(|kid| {
                let mut jwk = json!({"kty": "RSA", "use": "sig", "alg": "RS256",
                    "n": B64.encode(public.n().to_bytes_be()), "e": B64.encode(public.e().to_bytes_be())});
                if let Some(kid) = kid {
                    jwk["kid"] = json!(kid);
                }
                serde_json::from_value::<CoreJsonWebKey>(jwk).unwrap()
            })
            .collect();
        CoreJsonWebKeySet::new(keys)
    }

    fn good_claims() -> Value {
        json!({"iss": ISSUER, "aud": CLIENT, "iat": NOW, "exp": NOW + 120.0, "jti": "j-1",
            "sub": "user-1", "sid": "session-1", "events": {BACKCHANNEL_LOGOUT_EVENT: {}}})
    }

    fn sign(header: Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = SigningKey::<sha2::Sha256>::new(KEY.clone()).sign(input.as_bytes());
        format!("{input}.{}", B64.encode(signature.to_bytes()))
    }

    fn check(token: &str, keys: &CoreJsonWebKeySet) -> Result<LogoutClaims, CheckError> {
        let issuer = IssuerUrl::new(ISSUER.into()).unwrap();
        let client_id = ClientId::new(CLIENT.into());
        validate(
            token,
            &Expected {
                issuer: &issuer,
                client_id: &client_id,
                algs: &[CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
                jwks: keys,
                now: NOW as i64,
            },
        )
    }

    fn refused_because(claims: Value) -> String {
        match check(
            &sign(json!({"alg": "RS256", "kid": "k1"}), &claims),
            &jwks(&[Some("k1")]),
        ) {
            Err(CheckError::Invalid(why)) => why,
            other => panic!("{claims} was not refused: {other:?}"),
        }
    }

    fn without(name: &str) -> Value {
        let mut claims = good_claims();
        claims.as_object_mut().unwrap().remove(name);
        claims
    }

    fn with(name: &str, value: Value) -> Value {
        let mut claims = good_claims();
        claims[name] = value;
        claims
    }

    #[test]
    fn a_good_token_logs_out_its_idp_session() {
        let token = sign(
            json!({"alg": "RS256", "kid": "k1", "typ": "logout+jwt"}),
            &good_claims(),
        );
        assert_eq!(
            check(&token, &jwks(&[Some("k1")])),
            Ok(LogoutClaims {
                keys: vec![
                    LogoutKey::Sid("session-1".into()),
                    LogoutKey::SubWithoutSid("user-1".into())
                ],
                jti: "j-1".into(),
                expires_at: NOW as i64 + 120,
                issued_at: NOW as i64,
            })
        );
    }

    #[test]
    fn a_token_typed_as_something_else_is_refused() {
        for typ in ["JWT", "at+jwt", "secevent+jwt"] {
            let token = sign(
                json!({"alg": "RS256", "kid": "k1", "typ": typ}),
                &good_claims(),
            );
            assert!(
                matches!(check(&token, &jwks(&[Some("k1")])), Err(CheckError::Invalid(why)) if why.contains("typ")),
                "{typ}"
            );
        }
        let untyped = sign(json!({"alg": "RS256", "kid": "k1"}), &good_claims());
        assert!(
            check(&untyped, &jwks(&[Some("k1")])).is_ok(),
            "typ is optional"
        );
    }

    #[test]
    fn sid_or_sub_alone_is_enough_but_one_is_needed() {
        let keys = jwks(&[Some("k1")]);
        let header = json!({"alg": "RS256", "kid": "k1"});
        let sid_only = check(&sign(header.clone(), &without("sub")), &keys).unwrap();
        assert_eq!(sid_only.keys, [LogoutKey::Sid("session-1".into())]);
        let sub_only = check(&sign(header, &without("sid")), &keys).unwrap();
        assert_eq!(sub_only.keys, [LogoutKey::Sub("user-1".into())]);

        let mut neither = without("sub");
        neither.as_object_mut().unwrap().remove("sid");
        assert!(refused_because(neither).contains("neither a sub nor a sid"));
    }

    #[test]
    fn every_bad_claim_is_refused_with_its_reason() {
        for (claims, reason) in [
            (
                with("iss", json!("https://attacker.example/t/evil/oauth2/token")),
                "issuer",
            ),
            (with("aud", json!("another-client")), "aud"),
            (with("aud", json!(["another-client", "a-third"])), "aud"),
            (with("iat", json!(NOW + 3600.0)), "in the future"),
            (with("iat", json!(NOW - 3600.0)), "too old"),
            (with("exp", json!(NOW - 600.0)), "expired"),
            (without("exp"), "malformed"),
            (without("iat"), "malformed"),
            (without("iss"), "malformed"),
            (with("events", json!({})), "logout event"),
            (
                with("events", json!({BACKCHANNEL_LOGOUT_EVENT: "yes"})),
                "logout event",
            ),
            (with("nonce", json!("n-1")), "nonce"),
            (without("jti"), "jti"),
        ] {
            let why = refused_because(claims.clone());
            assert!(why.contains(reason), "{claims}: {why}");
        }
        let several = with("aud", json!(["another-client", CLIENT]));
        let token = sign(json!({"alg": "RS256", "kid": "k1"}), &several);
        assert!(
            check(&token, &jwks(&[Some("k1")])).is_ok(),
            "aud may list others too"
        );
    }

    #[test]
    fn only_an_allowed_algorithm_and_a_valid_signature_from_a_known_key_pass() {
        let keys = jwks(&[Some("k1")]);
        let claims = good_claims();
        let payload = B64.encode(claims.to_string());

        let none = format!("{}.{payload}.", B64.encode(r#"{"alg":"none"}"#));
        assert!(
            matches!(check(&none, &keys), Err(CheckError::Invalid(why)) if why.contains("none"))
        );
        let hs256 = sign(json!({"alg": "HS256", "kid": "k1"}), &claims);
        assert!(
            matches!(check(&hs256, &keys), Err(CheckError::Invalid(why)) if why.contains("HS256"))
        );

        let good = sign(json!({"alg": "RS256", "kid": "k1"}), &claims);
        let (input, _) = good.rsplit_once('.').unwrap();
        let other_claims = with("sub", json!("someone-else"));
        let forged = format!(
            "{}.{}.{}",
            input.split('.').next().unwrap(),
            B64.encode(other_claims.to_string()),
            good.rsplit('.').next().unwrap()
        );
        assert!(
            matches!(check(&forged, &keys), Err(CheckError::Invalid(why)) if why.contains("signature"))
        );

        let crit = sign(
            json!({"alg": "RS256", "kid": "k1", "crit": ["exp"]}),
            &claims,
        );
        assert!(
            matches!(check(&crit, &keys), Err(CheckError::Invalid(why)) if why.contains("crit"))
        );

        assert_eq!(
            check(&sign(json!({"alg": "RS256", "kid": "k2"}), &claims), &keys),
            Err(CheckError::UnknownKey)
        );
        for garbage in ["", "a.b", "a.b.c.d.e", "!!.??.**"] {
            assert!(
                matches!(check(garbage, &keys), Err(CheckError::Invalid(_))),
                "{garbage}"
            );
        }
    }

    #[test]
    fn without_kid_the_only_key_is_used_and_several_are_ambiguous() {
        let claims = good_claims();
        let no_kid = sign(json!({"alg": "RS256"}), &claims);
        assert!(check(&no_kid, &jwks(&[Some("k1")])).is_ok());
        assert!(check(&no_kid, &jwks(&[None])).is_ok());
        assert!(matches!(
            check(&no_kid, &jwks(&[Some("k1"), Some("k2")])),
            Err(CheckError::Invalid(why)) if why.contains("several keys")
        ));
    }
}
