//! Back-channel logout from the development IdP: when an IdP session ends, every client that
//! signed in through it and registered a back-channel URI receives a signed logout token.

use super::{random_token, IdpSession, IdpState, Stats};
use crate::types::{
    LogoutToken, LogoutTokenClaims, LogoutTokenClaimsSet, BACKCHANNEL_LOGOUT_EVENT,
};
use chrono::Utc;
use openidconnect::{
    core::CoreJwsSigningAlgorithm, Audience, IssuerUrl, StandardClaims, SubjectIdentifier,
};

pub(super) async fn notify(idp: &IdpState, sid: &str, session: &IdpSession) {
    let Some(user) = idp.user(&session.username) else {
        return;
    };
    for client_id in &session.clients {
        let Some(uri) = idp
            .client(client_id)
            .and_then(|c| c.backchannel_logout_uri.clone())
        else {
            continue;
        };
        let token = match logout_token(idp, client_id, &user.sub, sid) {
            Ok(token) => token,
            Err(err) => {
                tracing::error!(error = %err, "development IdP: cannot sign a logout token");
                continue;
            }
        };
        match idp
            .http
            .post(&uri)
            .form(&[("logout_token", token.to_string())])
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => {
                Stats::bump(&idp.stats.backchannel_logouts_sent);
            }
            Ok(response) => {
                tracing::warn!(status = %response.status(), %uri, "back-channel logout refused")
            }
            Err(err) => tracing::warn!(error = %err, %uri, "back-channel logout not delivered"),
        }
    }
}

fn logout_token(
    idp: &IdpState,
    client_id: &str,
    sub: &str,
    sid: &str,
) -> anyhow::Result<LogoutToken> {
    let now = Utc::now();
    let mut events = serde_json::Map::new();
    events.insert(BACKCHANNEL_LOGOUT_EVENT.to_owned(), serde_json::json!({}));
    let claims = LogoutTokenClaimsSet::new(
        IssuerUrl::from_url(idp.issuer.clone()),
        vec![Audience::new(client_id.to_owned())],
        now + chrono::Duration::minutes(2),
        now,
        StandardClaims::new(SubjectIdentifier::new(sub.to_owned())),
        LogoutTokenClaims {
            events,
            jti: Some(random_token()),
            sid: Some(sid.to_owned()),
        },
    );
    let keys = idp
        .keys
        .read()
        .map_err(|_| anyhow::anyhow!("signing keys unavailable"))?;
    Ok(LogoutToken::new(
        claims,
        &keys.current,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )?)
}
