//! The development IdP's users: built-in defaults, or a JSON file (`DEV_IDP_USERS`).
//!
//! ```json
//! [{ "username": "alice", "password": "alice-pass", "given_name": "Alice",
//!    "family_name": "Liddell", "email": "alice@example.com" }]
//! ```

use anyhow::{bail, Context};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::Path;

/// One account of the development IdP.
#[derive(Clone, Debug, Deserialize)]
pub struct DevUser {
    /// Stable subject identifier; derived from the username when absent.
    #[serde(default)]
    pub sub: String,
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl DevUser {
    /// Compares a submitted password without leaking, through timing, how much of it matched.
    pub fn password_matches(&self, candidate: &str) -> bool {
        Sha256::digest(candidate.as_bytes()) == Sha256::digest(self.password.as_bytes())
    }
}

/// alice / alice-pass (Alice Liddell) and bob / bob-pass (Bob Builder).
pub fn default_users() -> Vec<DevUser> {
    let user = |username: &str, given: &str, family: &str| DevUser {
        sub: String::new(),
        username: username.to_owned(),
        password: format!("{username}-pass"),
        given_name: Some(given.to_owned()),
        family_name: Some(family.to_owned()),
        email: Some(format!("{username}@example.com")),
    };
    with_subjects(vec![
        user("alice", "Alice", "Liddell"),
        user("bob", "Bob", "Builder"),
    ])
}

/// Reads and checks a users file.
pub fn load_users(path: &Path) -> anyhow::Result<Vec<DevUser>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("DEV_IDP_USERS: cannot read {}", path.display()))?;
    let users: Vec<DevUser> = serde_json::from_str(&text).with_context(|| {
        format!(
            "DEV_IDP_USERS: {} is not a JSON array of users",
            path.display()
        )
    })?;
    if users.is_empty() {
        bail!("DEV_IDP_USERS: {} has no users", path.display());
    }
    for (i, user) in users.iter().enumerate() {
        if user.username.trim().is_empty() || user.password.is_empty() {
            bail!(
                "DEV_IDP_USERS: user #{} needs a username and a password",
                i + 1
            );
        }
        if users[..i]
            .iter()
            .any(|other| other.username == user.username)
        {
            bail!("DEV_IDP_USERS: username `{}` appears twice", user.username);
        }
    }
    Ok(with_subjects(users))
}

/// Gives every user a UUID-shaped `sub` (as Asgardeo's are), stable across restarts.
fn with_subjects(mut users: Vec<DevUser>) -> Vec<DevUser> {
    for user in &mut users {
        if user.sub.is_empty() {
            let h = Sha256::digest(format!("dev-idp-sub:{}", user.username));
            let hex: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
            user.sub = format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            );
        }
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_alice_and_bob_with_stable_uuid_subjects() {
        let users = default_users();
        assert_eq!(users[0].username, "alice");
        assert!(users[0].password_matches("alice-pass"));
        assert!(!users[0].password_matches("alice-pas"));
        assert_eq!(users[0].email.as_deref(), Some("alice@example.com"));
        assert_eq!(users[0].sub.len(), 36);
        assert_eq!(users[0].sub, default_users()[0].sub);
        assert_ne!(users[0].sub, users[1].sub);
    }

    #[test]
    fn users_file_errors_name_the_problem() {
        let dir = std::env::temp_dir().join(format!("dev-idp-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("users.json");
        std::fs::write(
            &file,
            r#"[{"username":"a","password":"p"},{"username":"a","password":"q"}]"#,
        )
        .unwrap();
        let err = load_users(&file).unwrap_err().to_string();
        assert!(err.contains("appears twice"), "{err}");
        std::fs::write(&file, r#"{"username":"a"}"#).unwrap();
        assert!(load_users(&file)
            .unwrap_err()
            .to_string()
            .contains("not a JSON array"));
        std::fs::write(
            &file,
            r#"[{"username":"carol","password":"c","given_name":"Carol"}]"#,
        )
        .unwrap();
        let users = load_users(&file).unwrap();
        assert_eq!(users[0].given_name.as_deref(), Some("Carol"));
        assert_eq!(users[0].email, None);
        assert!(load_users(&dir.join("missing.json"))
            .unwrap_err()
            .to_string()
            .contains("cannot read"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
