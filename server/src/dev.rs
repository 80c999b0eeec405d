//! The built-in development IdP (cargo feature `dev-idp`), started in-process when no
//! `AUTH_ASGARDEO_ISSUER` is configured: a fresh clone signs in with no account anywhere.
//! See the `dev-idp` crate for what it serves.

use crate::config::{Config, DevIdpConfig};
use anyhow::Context;
use dev_idp::{DevClient, DevIdp, DevIdpSettings};
use secrecy::SecretString;
use url::Url;

/// The running development IdP, and how the app signs in with it.
pub struct DevProvider {
    pub idp: DevIdp,
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: SecretString,
}

/// Binds the development IdP and registers this app with it.
pub async fn start(config: &Config, dev: &DevIdpConfig) -> anyhow::Result<DevProvider> {
    let (users, who) = match &dev.users_file {
        Some(path) => (
            dev_idp::users::load_users(path)?,
            "a user from DEV_IDP_USERS",
        ),
        None => (dev_idp::users::default_users(), "alice / alice-pass"),
    };
    let client_id = "asgardeo-leptos-dev".to_owned();
    let client_secret = random_secret();
    // The app's URLs, from its settings (the stand-in issuer does not matter here).
    let settings = config.settings();
    let mut backchannel = settings.base_url().clone();
    backchannel.set_path(&settings.paths().backchannel_logout);
    let client = DevClient {
        client_id: client_id.clone(),
        client_secret: SecretString::from(client_secret.clone()),
        redirect_uris: vec![settings.redirect_url().to_string()],
        post_logout_redirect_uris: vec![settings.post_logout_redirect_url().to_string()],
        allowed_origins: vec![settings.origin()],
        backchannel_logout_uri: Some(backchannel.to_string()),
    };
    let idp = DevIdp::bind(DevIdpSettings {
        port: dev.port,
        users,
        clients: vec![client],
        access_token_ttl: dev.access_token_ttl,
        minimal_id_token: dev.minimal_id_token,
        test_controls: dev.test_controls,
    })
    .await
    .context("development IdP")?;
    tracing::warn!(
        issuer = %idp.issuer,
        "USING THE BUILT-IN DEVELOPMENT IDP (no AUTH_ASGARDEO_ISSUER is set). It is for local \
         development only: sign in as {who}. Set AUTH_ASGARDEO_ISSUER, AUTH_ASGARDEO_ID and \
         AUTH_ASGARDEO_SECRET to use Asgardeo."
    );
    Ok(DevProvider {
        issuer: idp.issuer.clone(),
        idp,
        client_id,
        client_secret: SecretString::from(client_secret),
    })
}

/// 32 random bytes, base64url: this run's client secret at the development IdP.
fn random_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buffer = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}
