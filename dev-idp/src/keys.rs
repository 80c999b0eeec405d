//! The development IdP's signing keys: RS256, generated at start-up, rotatable in tests.

use anyhow::Context;
use openidconnect::{
    core::{CoreJsonWebKey, CoreJsonWebKeySet, CoreRsaPrivateSigningKey},
    JsonWebKeyId, PrivateSigningKey,
};
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};

/// The key that signs now, and the one before it (still published, so tokens it signed verify).
pub struct SigningKeys {
    pub current: CoreRsaPrivateSigningKey,
    previous: Option<CoreJsonWebKey>,
    generation: u32,
}

impl SigningKeys {
    /// Generates a fresh 2048-bit RSA key. CPU-heavy: call from `spawn_blocking`.
    pub fn generate() -> anyhow::Result<Self> {
        Ok(SigningKeys {
            current: new_key(1)?,
            previous: None,
            generation: 1,
        })
    }

    /// Replaces the signing key; the old one stays in the JWKS until the next rotation.
    pub fn rotate(&mut self) -> anyhow::Result<()> {
        self.generation += 1;
        let next = new_key(self.generation)?;
        self.previous = Some(self.current.as_verification_key());
        self.current = next;
        Ok(())
    }

    /// The published key set.
    pub fn jwks(&self) -> CoreJsonWebKeySet {
        let mut keys = vec![self.current.as_verification_key()];
        keys.extend(self.previous.clone());
        CoreJsonWebKeySet::new(keys)
    }
}

fn new_key(generation: u32) -> anyhow::Result<CoreRsaPrivateSigningKey> {
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).context("generate RSA key")?;
    let pem = key.to_pkcs1_pem(LineEnding::LF).context("encode RSA key")?;
    let kid = format!("dev-{generation}-{}", &crate::random_token()[..8]);
    CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid)))
        .map_err(|e| anyhow::anyhow!("load RSA key: {e}"))
}
