//! The development IdP's HTML: its login form and its messages.

use axum::{
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1c2024;margin:0}\
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0002}\
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.9rem 0 .3rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #bbb;border-radius:6px;font-size:1rem}\
button:focus-visible,input:focus-visible{outline:3px solid #1a4a8a;outline-offset:2px}button{margin-top:1.2rem;width:100%;padding:.7rem;border:0;border-radius:6px;background:#b34700;color:#fff;font-size:1rem;cursor:pointer}\
.error{background:#fde8e8;color:#9b1c1c;padding:.6rem;border-radius:6px}.muted{color:#666;font-size:.9rem}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>{title} · development IdP</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>",
        title = escape(title),
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// The sign-in form. Field names match Asgardeo's: `username`, `password`, `sessionDataKey`.
pub fn login_form(
    action: &str,
    session_data_key: &str,
    error: Option<&str>,
    username: &str,
) -> Response {
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let error = error
        .map(|e| {
            format!(
                "<p class=\"error\" role=\"alert\" id=\"login-error\">{}</p>",
                escape(e)
            )
        })
        .unwrap_or_default();
    page(
        status,
        "Sign In",
        &format!(
            "<h1>Sign In</h1><p class=\"muted\">Development identity provider (organisation <b>dev</b>). \
             Try alice / alice-pass.</p>{error}\
             <form method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"sessionDataKey\" value=\"{key}\">\
             <label for=\"username\">Username</label>\
             <input id=\"username\" name=\"username\" autocomplete=\"username\" required value=\"{username}\">\
             <label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\">Sign In</button></form>",
            action = escape(action),
            key = escape(session_data_key),
            username = escape(username),
        ),
    )
}

/// A message page (errors the IdP cannot send back to the application, logout confirmation).
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(
        status,
        title,
        &format!(
            "<h1>{}</h1><p id=\"message\">{}</p>",
            escape(title),
            escape(text)
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            super::escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
