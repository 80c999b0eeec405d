//! Route paths and element ids shared by the views and the end-to-end tests.
//!
//! One source for both: the [`names!`] macro makes each module's constants and its `ALL` list,
//! and `end2end/ids.json` is written from that list by `cargo run -p app --example ids_json`
//! (`make test` does it before Playwright), so a name cannot be added here and missed there.

/// What cookies, keys and the browser's channels are named after (`asgardeo-leptos.sid`, …).
pub const NAME: &str = "asgardeo-leptos";
/// The provider id in the Auth.js paths and variables (`AUTH_ASGARDEO_ISSUER`).
pub const PROVIDER: &str = "asgardeo";

/// Constants, and `ALL`: every (name, value) pair, in order.
macro_rules! names {
    ($(#[$meta:meta])* mod $module:ident { $($(#[$doc:meta])* $name:ident = $value:literal;)* }) => {
        $(#[$meta])*
        pub mod $module {
            $($(#[$doc])* pub const $name: &str = $value;)*
            /// Every name in this module, for `end2end/ids.json`.
            pub const ALL: &[(&str, &str)] = &[$((stringify!($name), $name)),*];
        }
    };
}

names! {
    /// URL paths served by the app and its auth endpoints (Auth.js-compatible, so an Asgardeo
    /// application registered for the Next.js guide works unchanged).
    mod paths {
        HOME = "/";
        CLIENT_PROFILE = "/client-profile";
        SERVER_PROFILE = "/server-profile";
        SIGN_IN = "/api/auth/signin/asgardeo";
        CALLBACK = "/api/auth/callback/asgardeo";
        SESSION = "/api/auth/session";
        SIGN_OUT = "/api/auth/signout";
        /// The browser asks for a new access token after scim2/Me refused the one it had.
        REFRESH = "/api/auth/refresh";
        BACKCHANNEL_LOGOUT = "/api/auth/backchannel-logout";
        /// Same-origin proxy for scim2/Me, used when the access token is kept out of JavaScript.
        ME_PROXY = "/api/scim2/Me";
        /// Server-sent events: the end of this browser's session, pushed to an open tab.
        AUTH_EVENTS = "/api/auth/events";
        /// The server functions the browser calls (`POST`).
        FN_AUTH_STATE = "/api/auth_state";
        FN_AUTH_STATE_PEEK = "/api/auth_state_peek";
        FN_SERVER_PROFILE = "/api/server_profile";
    }
}

names! {
    /// `id` attributes the tests look for.
    mod ids {
        SIGN_IN = "sign-in";
        SIGN_OUT = "sign-out";
        WELCOME = "welcome";
        NAV_CLIENT_PROFILE = "nav-client-profile";
        NAV_SERVER_PROFILE = "nav-server-profile";
        LOADING = "loading";
        PROFILE = "profile";
        PROFILE_EMAIL = "profile-email";
        PROFILE_GIVEN_NAME = "profile-given-name";
        PROFILE_FAMILY_NAME = "profile-family-name";
        PROFILE_ERROR = "profile-error";
        GO_HOME = "go-home";
        ERROR_TITLE = "error-title";
        ERROR_MESSAGE = "error-message";
        ERROR_ACTION = "error-action";
        FLASH = "flash";
        WHO = "who";
        MAIN = "main";
        ROUTE_ANNOUNCER = "route-announcer";
    }
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

/// `{"paths": {…}, "ids": {…}}`: what the end-to-end tests read (`end2end/ids.json`).
pub fn ids_json() -> String {
    let object = |pairs: &[(&str, &str)]| {
        let entries: Vec<String> = pairs
            .iter()
            .map(|(name, value)| format!("    \"{name}\": \"{value}\""))
            .collect();
        format!("{{\n{}\n  }}", entries.join(",\n  "))
    };
    format!(
        "{{\n  \"paths\": {},\n  \"ids\": {}\n}}\n",
        object(paths::ALL),
        object(ids::ALL)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_for_the_end_to_end_tests_has_every_name() {
        let json = ids_json();
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(parsed["paths"]["SERVER_PROFILE"], paths::SERVER_PROFILE);
        assert_eq!(parsed["ids"]["ROUTE_ANNOUNCER"], ids::ROUTE_ANNOUNCER);
        assert_eq!(
            parsed["ids"].as_object().unwrap().len(),
            ids::ALL.len(),
            "one entry per constant"
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
