//! Sign-ins in progress, kept in the browser, not on the server: an encrypted, authenticated,
//! HttpOnly cookie (`__Host-` on https) that lives ten minutes and holds at most
//! [`MAX_PENDING`] sign-ins (one per tab that started one). A visitor who never signs in costs
//! the server nothing: no session record, no store write.
//!
//! The cookie is sealed with a key derived from `AUTH_SECRET` (AES-256-GCM, the `cookie`
//! crate's private jar): it cannot be read or forged, and one made for another cookie name does
//! not open. Each state is good for one callback: the callback removes it.

use crate::{clock::UnixTime, session::PendingLogin, settings::Settings};
use axum::http::{header, HeaderMap, HeaderValue};
use tower_sessions::cookie::{time, Cookie, CookieJar, Key, SameSite};

/// Sign-ins in progress that one browser may have at once (several tabs).
pub(crate) const MAX_PENDING: usize = 3;
/// How long the IdP may take to send the user back.
pub(crate) const PENDING_TTL_SECS: i64 = 10 * 60;

pub(crate) struct PendingCookie {
    key: Key,
    name: String,
    secure: bool,
}

impl PendingCookie {
    pub(crate) fn new(settings: &Settings) -> Self {
        let key = Key::from(&settings.key("pending sign-in"));
        let secure = settings.secure_cookies();
        let name = if secure {
            format!("__Host-{}.signin", settings.name)
        } else {
            format!("{}.signin", settings.name)
        };
        PendingCookie { key, name, secure }
    }

    /// The sign-ins this browser has in progress, expired ones left out. A cookie that does not
    /// open (tampered, old key, garbage) counts as none.
    pub(crate) fn read(&self, headers: &HeaderMap, now: UnixTime) -> Vec<PendingLogin> {
        let mut jar = CookieJar::new();
        for value in headers.get_all(header::COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            for cookie in Cookie::split_parse(value.to_owned()).flatten() {
                if cookie.name() == self.name {
                    jar.add_original(cookie.into_owned());
                }
            }
        }
        let Some(cookie) = jar.private(&self.key).get(&self.name) else {
            return Vec::new();
        };
        let mut list: Vec<PendingLogin> = serde_json::from_str(cookie.value()).unwrap_or_default();
        list.retain(|p| (0..PENDING_TTL_SECS).contains(&(now - p.started_at)));
        list
    }

    /// `Set-Cookie` for `list` (the newest [`MAX_PENDING`]); an empty list removes the cookie.
    pub(crate) fn write(&self, list: &[PendingLogin]) -> Option<HeaderValue> {
        let keep = &list[list.len().saturating_sub(MAX_PENDING)..];
        let mut cookie = Cookie::build((
            self.name.clone(),
            serde_json::to_string(keep).unwrap_or_default(),
        ))
        .path("/")
        .http_only(true)
        .secure(self.secure)
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(PENDING_TTL_SECS))
        .build();
        if keep.is_empty() {
            cookie.set_value("");
            cookie.set_max_age(time::Duration::ZERO);
            return HeaderValue::from_str(&cookie.to_string()).ok();
        }
        let mut jar = CookieJar::new();
        jar.private_mut(&self.key).add(cookie);
        let sealed = jar.delta().next()?.to_string();
        HeaderValue::from_str(&sealed).ok()
    }
}

/// Removes and returns the sign-in started with `state` (compared in constant time).
pub(crate) fn take(list: &mut Vec<PendingLogin>, state: &str) -> Option<PendingLogin> {
    list.iter()
        .position(|p| constant_time_eq(p.state.as_bytes(), state.as_bytes()))
        .map(|i| list.remove(i))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(state: &str, started_at: i64) -> PendingLogin {
        PendingLogin {
            state: state.into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            return_to: "/server-profile".into(),
            started_at,
        }
    }

    fn request_with(set_cookie: &HeaderValue) -> HeaderMap {
        let pair = set_cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        headers
    }

    fn settings(secret: &str) -> Settings {
        Settings::builder()
            .base_url("http://localhost:3000")
            .secret(secrecy::SecretString::from(secret.to_owned()))
            .provider(
                "http://localhost:9443/t/dev/oauth2/token",
                "id",
                secrecy::SecretString::from("s"),
            )
            .build()
            .unwrap()
    }

    fn jar() -> PendingCookie {
        PendingCookie::new(&settings("a-secret-a-secret-a-secret-a-secret-0"))
    }

    #[test]
    fn what_is_written_is_read_back_sealed_and_bounded() {
        let cookie = jar();
        let list: Vec<_> = (0..5).map(|i| pending(&format!("s{i}"), 1000)).collect();
        let set = cookie.write(&list).unwrap();
        let text = set.to_str().unwrap();
        assert!(
            text.contains("HttpOnly")
                && text.contains("SameSite=Lax")
                && text.contains("Max-Age=600")
        );
        assert!(
            // Field names of the JSON inside: too long to turn up in random base64 by chance.
            !text.contains("server-profile") && !text.contains("pkce_verifier"),
            "sealed: {text}"
        );
        assert!(text.len() < 4096);
        let read = cookie.read(&request_with(&set), 1100);
        let states: Vec<_> = read.iter().map(|p| p.state.as_str()).collect();
        assert_eq!(states, ["s2", "s3", "s4"], "the newest three");
        assert!(
            cookie
                .read(&request_with(&set), 1000 + PENDING_TTL_SECS)
                .is_empty(),
            "expired"
        );
    }

    #[test]
    fn a_forged_or_foreign_cookie_opens_to_nothing() {
        let set = jar().write(&[pending("s", 1000)]).unwrap();
        let other = PendingCookie::new(&settings("another-secret-another-secret-00"));
        assert!(other.read(&request_with(&set), 1001).is_empty());
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("bff.signin=[{\"state\":\"s\"}]"),
        );
        assert!(jar().read(&headers, 1001).is_empty());
    }

    #[test]
    fn a_state_is_taken_once() {
        let mut list = vec![pending("a", 1), pending("b", 1)];
        assert_eq!(take(&mut list, "b").unwrap().state, "b");
        assert!(take(&mut list, "b").is_none());
        assert!(take(&mut list, "c").is_none());
        assert_eq!(list.len(), 1);
    }
}
