//! The SCIM 2.0 `scim2/Me` record, as Asgardeo and WSO2 Identity Server really return it.
//!
//! Asgardeo is lenient in ways a strict RFC 7643 parser is not: `emails` comes as plain strings,
//! as `{value, type, primary}` objects, or as a mix of both; some documented samples spell
//! `username` instead of `userName`; absent attributes are simply omitted. [`ScimProfile`] is the
//! small, normalised view the pages show, shared by the browser and the server.

use crate::error::AppError;
use leptos_oidc_bff::json::{self, FromJson, JsonView};
use serde::{Deserialize, Serialize};

/// Largest scim2/Me body accepted; a real one is well under 4 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The media type SCIM uses for requests and responses (RFC 7644 §3.1).
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// What the profile pages show of a SCIM user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimProfile {
    /// The SCIM resource id.
    pub id: String,
    /// `userName`, exactly as the server sent it (it may carry a user-store prefix).
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// Distinct addresses, the primary one first.
    pub emails: Vec<String>,
}

impl ScimProfile {
    /// Parses a scim2/Me response body (with `serde_json` on the server, the browser's own
    /// `JSON.parse` in the wasm, which keeps a JSON library out of the bundle).
    pub fn from_scim(body: &str) -> Result<Self, String> {
        check_size(body)?;
        let value = json::parse(body).ok_or("not a SCIM user record: the body is not JSON")?;
        Self::from_scim_value(&value).map_err(|why| format!("not a SCIM user record: {why}"))
    }

    /// Reads and normalises a parsed scim2/Me record.
    pub fn from_scim_value<J: JsonView>(user: &J) -> Result<Self, String> {
        let id = user
            .field("id")
            .and_then(|v| v.text())
            .ok_or("it has no string `id`")?;
        let text = |value: Option<J>, what: &str| match value {
            None => Ok(None),
            Some(v) if v.is_null() => Ok(None),
            Some(v) => v
                .text()
                .map(Some)
                .ok_or_else(|| format!("`{what}` is not a string")),
        };
        let user_name = text(
            user.field("userName").or_else(|| user.field("username")),
            "userName",
        )?;
        let (given_name, family_name) = match user.field("name").filter(|n| !n.is_null()) {
            Some(name) => (
                text(name.field("givenName"), "name.givenName")?,
                text(name.field("familyName"), "name.familyName")?,
            ),
            None => (None, None),
        };
        let entries = match user.field("emails").filter(|e| !e.is_null()) {
            Some(list) => list.items().ok_or("`emails` is not an array")?,
            None => Vec::new(),
        };
        let mut emails: Vec<(bool, String)> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let (primary, value) = match entry.text() {
                Some(value) => (false, value),
                None => match entry.field("value").and_then(|v| v.text()) {
                    Some(value) => (
                        entry
                            .field("primary")
                            .and_then(|p| p.flag())
                            .unwrap_or(false),
                        value,
                    ),
                    None => {
                        return Err(format!(
                            "emails[{i}] is neither a string nor a {{\"value\": …}} object"
                        ))
                    }
                },
            };
            let value = value.trim().to_owned();
            if value.is_empty() {
                continue;
            }
            match emails
                .iter_mut()
                .find(|(_, seen)| seen.eq_ignore_ascii_case(&value))
            {
                Some(seen) => seen.0 |= primary,
                None => emails.push((primary, value)),
            }
        }
        // Stable: among equals the server's order is kept.
        emails.sort_by_key(|(primary, _)| !primary);
        Ok(ScimProfile {
            id,
            user_name: non_empty(user_name),
            given_name: non_empty(given_name),
            family_name: non_empty(family_name),
            emails: emails.into_iter().map(|(_, value)| value).collect(),
        })
    }

    /// The address to show: the primary one, else the first.
    pub fn email(&self) -> Option<&str> {
        self.emails.first().map(String::as_str)
    }
}

/// As the server function sends it to the browser (the field names of the `Serialize` derive).
impl FromJson for ScimProfile {
    fn from_json<J: JsonView>(json: &J) -> Option<Self> {
        Some(ScimProfile {
            id: json.field("id")?.text()?,
            user_name: json.optional_text("user_name"),
            given_name: json.optional_text("given_name"),
            family_name: json.optional_text("family_name"),
            emails: json
                .field("emails")?
                .items()?
                .iter()
                .map(JsonView::text)
                .collect::<Option<_>>()?,
        })
    }
}

fn check_size(body: &str) -> Result<(), String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(format!(
            "the response is {} bytes, more than the {MAX_BODY_BYTES} accepted",
            body.len()
        ));
    }
    Ok(())
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// A SCIM error body (RFC 7644 §3.12): its `detail`, if the body is one.
pub fn error_detail(body: &str) -> Option<String> {
    check_size(body).ok()?;
    json::parse(body)?.field("detail")?.text()
}

/// What a scim2/Me answer means for the profile pages, wherever it was fetched.
pub fn interpret_me_response(status: u16, body: &str) -> Result<ScimProfile, AppError> {
    match status {
        200..=299 => ScimProfile::from_scim(body).map_err(|_| AppError::MalformedProfile),
        401 => Err(AppError::IdpSessionExpired),
        403 => Err(AppError::MissingInternalLogin),
        _ => Err(AppError::ScimStatus(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/scim-me/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
    }

    #[test]
    fn emails_as_plain_strings() {
        let p = ScimProfile::from_scim(&fixture("emails-strings.json")).unwrap();
        assert_eq!(p.given_name.as_deref(), Some("Alice"));
        assert_eq!(p.family_name.as_deref(), Some("Liddell"));
        assert_eq!(p.user_name.as_deref(), Some("alice@example.com"));
        assert_eq!(p.emails, ["alice@example.com"]);
        assert_eq!(p.id, "2f0b6d5e-6a0b-4c5e-9f1e-1b2c3d4e5f60");
    }

    #[test]
    fn emails_as_objects_keep_server_order_without_primary() {
        let p = ScimProfile::from_scim(&fixture("emails-objects.json")).unwrap();
        assert_eq!(p.emails, ["alice@example.com", "alice.home@example.org"]);
        assert_eq!(p.email(), Some("alice@example.com"));
        assert_eq!(p.user_name.as_deref(), Some("DEFAULT/alice"));
    }

    #[test]
    fn mixed_emails_are_deduplicated() {
        let p = ScimProfile::from_scim(&fixture("emails-mixed.json")).unwrap();
        assert_eq!(p.emails, ["alice@example.com"]);
    }

    #[test]
    fn documented_example_spells_username_in_lower_case() {
        let p = ScimProfile::from_scim(&fixture("documented-example.json")).unwrap();
        assert_eq!(p.user_name.as_deref(), Some("DEFAULT/kim@example.com"));
        assert_eq!(p.given_name.as_deref(), Some("Kim"));
        assert_eq!(p.family_name.as_deref(), Some("Berry"));
        assert_eq!(p.email(), Some("kim@example.com"));
    }

    #[test]
    fn absent_name_and_emails_are_none() {
        let p = ScimProfile::from_scim(&fixture("no-emails-no-name.json")).unwrap();
        assert_eq!(p.user_name.as_deref(), Some("carol"));
        assert_eq!(p.given_name, None);
        assert_eq!(p.family_name, None);
        assert!(p.emails.is_empty());
        assert_eq!(p.email(), None);
    }

    #[test]
    fn primary_email_comes_first() {
        let body = r#"{"id":"1","emails":[{"value":"a@x"},{"value":"b@x","primary":true},"c@x"]}"#;
        assert_eq!(
            ScimProfile::from_scim(body).unwrap().emails,
            ["b@x", "a@x", "c@x"]
        );
    }

    #[test]
    fn error_body_is_not_a_user() {
        let body = fixture("error-401.json");
        assert!(ScimProfile::from_scim(&body).is_err());
        assert_eq!(
            error_detail(&body).as_deref(),
            Some("Authorization failure. Authorization information was invalid or missing from your request.")
        );
    }

    #[test]
    fn statuses_map_to_what_the_user_can_do() {
        let ok = interpret_me_response(200, &fixture("emails-strings.json")).unwrap();
        assert_eq!(ok.given_name.as_deref(), Some("Alice"));
        assert_eq!(
            interpret_me_response(401, &fixture("error-401.json")),
            Err(AppError::IdpSessionExpired)
        );
        assert_eq!(
            interpret_me_response(403, "{}"),
            Err(AppError::MissingInternalLogin)
        );
        assert_eq!(
            interpret_me_response(503, r#"{"detail":"maintenance"}"#),
            Err(AppError::ScimStatus(503))
        );
        assert_eq!(
            interpret_me_response(200, "not json"),
            Err(AppError::MalformedProfile)
        );
    }

    #[test]
    fn the_profile_reads_back_as_the_server_function_sends_it() {
        let profile = ScimProfile::from_scim(&fixture("emails-mixed.json")).unwrap();
        let sent = serde_json::to_string(&profile).unwrap();
        assert_eq!(
            <ScimProfile as FromJson>::from_json_text(&sent),
            Some(profile)
        );
        let bare = ScimProfile {
            id: "1".into(),
            ..Default::default()
        };
        let sent = serde_json::to_string(&bare).unwrap();
        assert_eq!(<ScimProfile as FromJson>::from_json_text(&sent), Some(bare));
    }

    #[test]
    fn malformed_and_oversized_bodies_are_errors() {
        assert!(ScimProfile::from_scim("<html>502 Bad Gateway</html>").is_err());
        assert!(ScimProfile::from_scim(r#"{"id":"1","emails":[42]}"#).is_err());
        let huge = format!(
            r#"{{"id":"1","userName":"{}"}}"#,
            "x".repeat(MAX_BODY_BYTES)
        );
        let err = ScimProfile::from_scim(&huge).unwrap_err();
        assert!(err.contains("more than"), "{err}");
    }
}
