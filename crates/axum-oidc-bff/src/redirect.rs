//! `callbackUrl` validation: after sign-in the user returns only to a page of this app.

use url::Url;

/// Longest `callbackUrl` kept (it travels in the sign-in cookie); longer ones go home.
pub const MAX_CALLBACK_URL: usize = 512;

/// The path to return to after sign-in: `raw` if it is a same-origin relative path (or an
/// absolute URL on `AUTH_URL`'s origin, as Auth.js accepts), otherwise `/`. Anything that a
/// browser could read as another host (`//evil`, `/\evil`, `https://evil`) is refused.
pub fn safe_return_path(raw: Option<&str>, auth_url: &Url) -> String {
    raw.and_then(|raw| checked(raw, auth_url))
        .unwrap_or_else(|| "/".to_owned())
}

fn checked(raw: &str, auth_url: &Url) -> Option<String> {
    if raw.is_empty() || raw.len() > MAX_CALLBACK_URL {
        return None;
    }
    // Browsers drop tabs and newlines inside URLs and treat `\` like `/`: refuse them outright
    // rather than reason about what `/\t/evil` becomes.
    if raw.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let url = if raw.starts_with('/') {
        if raw.starts_with("//") {
            return None;
        }
        auth_url.join(raw).ok()?
    } else {
        Url::parse(raw).ok()?
    };
    if url.origin() != auth_url.origin() {
        return None;
    }
    let mut path = url.path().to_owned();
    if path.starts_with("//") {
        return None;
    }
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    if let Some(fragment) = url.fragment() {
        path.push('#');
        path.push_str(fragment);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_url_over_512_bytes_goes_home() {
        let base = Url::parse("http://localhost:3000").unwrap();
        let fits = format!("/server-profile?q={}", "a".repeat(MAX_CALLBACK_URL - 18));
        assert_eq!(fits.len(), MAX_CALLBACK_URL);
        assert_eq!(safe_return_path(Some(&fits), &base), fits);
        let long = format!("{fits}a");
        assert_eq!(safe_return_path(Some(&long), &base), "/");
    }

    fn check(raw: &str) -> String {
        safe_return_path(Some(raw), &Url::parse("http://localhost:3000").unwrap())
    }

    #[test]
    fn relative_paths_are_kept() {
        assert_eq!(check("/client-profile"), "/client-profile");
        assert_eq!(
            check("/server-profile?tab=1#top"),
            "/server-profile?tab=1#top"
        );
        assert_eq!(check("/"), "/");
    }

    #[test]
    fn same_origin_absolute_urls_become_paths() {
        assert_eq!(
            check("http://localhost:3000/client-profile"),
            "/client-profile"
        );
    }

    #[test]
    fn anything_else_goes_home() {
        for evil in [
            "https://evil.example/",
            "//evil.example/path",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "http://localhost:3001/",
            "https://localhost:3000/",
            "javascript:alert(1)",
            "data:text/html,hi",
            "evil.example",
            "",
        ] {
            assert_eq!(check(evil), "/", "{evil:?}");
        }
        assert_eq!(
            safe_return_path(None, &Url::parse("http://localhost:3000").unwrap()),
            "/"
        );
    }

    #[test]
    fn encoded_slashes_stay_a_path_on_this_origin() {
        assert_eq!(check("/%2F%2Fevil.example"), "/%2F%2Fevil.example");
    }
}
