//! Route paths and element ids shared by the views and the end-to-end tests.
//!
//! `end2end/ids.json` mirrors this module; the unit test at the bottom fails when the two drift
//! apart (regenerate with `UPDATE_IDS=1 cargo test -p app names`).

/// URL paths served by the app and its auth endpoints (Auth.js-compatible, so an Asgardeo
/// application registered for the Next.js guide works unchanged).
pub mod paths {
    pub const HOME: &str = "/";
    pub const CLIENT_PROFILE: &str = "/client-profile";
    pub const SERVER_PROFILE: &str = "/server-profile";
    pub const SIGN_IN: &str = "/api/auth/signin/asgardeo";
    pub const CALLBACK: &str = "/api/auth/callback/asgardeo";
    pub const SESSION: &str = "/api/auth/session";
    pub const SIGN_OUT: &str = "/api/auth/signout";
    /// The browser asks for a new access token after scim2/Me refused the one it had.
    pub const REFRESH: &str = "/api/auth/refresh";
    pub const BACKCHANNEL_LOGOUT: &str = "/api/auth/backchannel-logout";
    /// Same-origin proxy for scim2/Me, used when the access token is kept out of JavaScript.
    pub const ME_PROXY: &str = "/api/scim2/Me";
    /// Server-sent events: the end of this browser's session, pushed to an open tab.
    pub const AUTH_EVENTS: &str = "/api/auth/events";
    /// The server functions the browser calls (`POST`).
    pub const FN_AUTH_STATE: &str = "/api/auth_state";
    pub const FN_AUTH_STATE_PEEK: &str = "/api/auth_state_peek";
    pub const FN_SERVER_PROFILE: &str = "/api/server_profile";
}

/// `id` attributes the tests look for.
pub mod ids {
    pub const SIGN_IN: &str = "sign-in";
    pub const SIGN_OUT: &str = "sign-out";
    pub const WELCOME: &str = "welcome";
    pub const NAV_CLIENT_PROFILE: &str = "nav-client-profile";
    pub const NAV_SERVER_PROFILE: &str = "nav-server-profile";
    pub const LOADING: &str = "loading";
    pub const PROFILE: &str = "profile";
    pub const PROFILE_EMAIL: &str = "profile-email";
    pub const PROFILE_GIVEN_NAME: &str = "profile-given-name";
    pub const PROFILE_FAMILY_NAME: &str = "profile-family-name";
    pub const PROFILE_ERROR: &str = "profile-error";
    pub const GO_HOME: &str = "go-home";
    pub const ERROR_TITLE: &str = "error-title";
    pub const ERROR_MESSAGE: &str = "error-message";
    pub const ERROR_ACTION: &str = "error-action";
    pub const FLASH: &str = "flash";
    pub const WHO: &str = "who";
    pub const MAIN: &str = "main";
    pub const ROUTE_ANNOUNCER: &str = "route-announcer";
}

/// Builds the sign-in URL that brings the user back to `path` afterwards.
pub fn sign_in_url(callback_path: &str) -> String {
    format!(
        "{}?callbackUrl={}",
        paths::SIGN_IN,
        form_encode(callback_path)
    )
}

/// Percent-encodes a form or query-string value (RFC 3986 unreserved characters and `/` pass
/// through).
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_json() -> String {
        let paths = [
            ("HOME", paths::HOME),
            ("CLIENT_PROFILE", paths::CLIENT_PROFILE),
            ("SERVER_PROFILE", paths::SERVER_PROFILE),
            ("SIGN_IN", paths::SIGN_IN),
            ("CALLBACK", paths::CALLBACK),
            ("SESSION", paths::SESSION),
            ("SIGN_OUT", paths::SIGN_OUT),
            ("REFRESH", paths::REFRESH),
            ("BACKCHANNEL_LOGOUT", paths::BACKCHANNEL_LOGOUT),
            ("ME_PROXY", paths::ME_PROXY),
            ("AUTH_EVENTS", paths::AUTH_EVENTS),
            ("FN_AUTH_STATE", paths::FN_AUTH_STATE),
            ("FN_AUTH_STATE_PEEK", paths::FN_AUTH_STATE_PEEK),
            ("FN_SERVER_PROFILE", paths::FN_SERVER_PROFILE),
        ];
        let ids = [
            ("SIGN_IN", ids::SIGN_IN),
            ("SIGN_OUT", ids::SIGN_OUT),
            ("WELCOME", ids::WELCOME),
            ("NAV_CLIENT_PROFILE", ids::NAV_CLIENT_PROFILE),
            ("NAV_SERVER_PROFILE", ids::NAV_SERVER_PROFILE),
            ("LOADING", ids::LOADING),
            ("PROFILE", ids::PROFILE),
            ("PROFILE_EMAIL", ids::PROFILE_EMAIL),
            ("PROFILE_GIVEN_NAME", ids::PROFILE_GIVEN_NAME),
            ("PROFILE_FAMILY_NAME", ids::PROFILE_FAMILY_NAME),
            ("PROFILE_ERROR", ids::PROFILE_ERROR),
            ("GO_HOME", ids::GO_HOME),
            ("ERROR_TITLE", ids::ERROR_TITLE),
            ("ERROR_MESSAGE", ids::ERROR_MESSAGE),
            ("ERROR_ACTION", ids::ERROR_ACTION),
            ("FLASH", ids::FLASH),
            ("WHO", ids::WHO),
            ("MAIN", ids::MAIN),
            ("ROUTE_ANNOUNCER", ids::ROUTE_ANNOUNCER),
        ];
        let object = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                .collect::<serde_json::Map<_, _>>()
        };
        let mut root = serde_json::Map::new();
        root.insert("paths".into(), object(&paths).into());
        root.insert("ids".into(), object(&ids).into());
        serde_json::to_string_pretty(&root).expect("plain strings serialise") + "\n"
    }

    #[test]
    fn end2end_ids_json_matches_this_module() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/ids.json");
        let expected = as_json();
        if std::env::var_os("UPDATE_IDS").is_some() {
            std::fs::write(file, &expected).expect("write end2end/ids.json");
        }
        let actual = std::fs::read_to_string(file).unwrap_or_default();
        assert_eq!(
            actual, expected,
            "end2end/ids.json is stale: run UPDATE_IDS=1 cargo test -p app names"
        );
    }

    #[test]
    fn sign_in_url_encodes_the_callback() {
        assert_eq!(
            sign_in_url("/client-profile"),
            "/api/auth/signin/asgardeo?callbackUrl=/client-profile"
        );
        assert_eq!(
            sign_in_url("/a?b=c&d"),
            "/api/auth/signin/asgardeo?callbackUrl=/a%3Fb%3Dc%26d"
        );
    }
}
