//! Refuses cross-site requests to every state-changing endpoint (sign-out and the server
//! functions included), so that another site cannot act with the user's session cookie.
//!
//! Browsers say where a request comes from: `Sec-Fetch-Site` (all current browsers) or, failing
//! that, `Origin`. A `POST` is accepted only when it is `same-origin` (or `none`: typed by the
//! user) or its `Origin` is exactly the app's. `same-site` is refused too: the development IdP
//! on another port of localhost is same-site but not same-origin. Requests with neither header
//! do not come from a browser, so they carry no victim's cookie. The back-channel logout
//! endpoint is called by the IdP server-to-server and authenticates itself with a signed token.

use crate::{
    bff::Bff,
    error::{error_page, Action, ErrorPage},
    log::Untrusted,
};
use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::Response,
};

/// The stage of [`Bff::layer`](crate::Bff::layer) that refuses cross-site requests.
pub(crate) async fn refuse_cross_site(
    State(bff): State<Bff>,
    request: Request,
    next: Next,
) -> Response {
    let settings = &bff.0.settings;
    if is_safe_method(request.method()) || request.uri().path() == settings.paths.backchannel_logout
    {
        return next.run(request).await;
    }
    let headers = request.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let request_origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = match (fetch_site, request_origin) {
        (Some(site), _) => site == "same-origin" || site == "none",
        (None, Some(o)) => o == settings.origin(),
        (None, None) => true,
    };
    if allowed {
        return next.run(request).await;
    }
    tracing::warn!(
        path = %request.uri().path(),
        sec_fetch_site = %Untrusted(fetch_site.unwrap_or("-")),
        origin = %Untrusted(request_origin.unwrap_or("-")),
        "refused a cross-site request"
    );
    error_page(ErrorPage {
        status: StatusCode::FORBIDDEN,
        title: "Request refused".to_owned(),
        message: "This request came from another site, so it was refused. Nothing was changed."
            .to_owned(),
        detail: None,
        action: Action::Link {
            label: "Go home".to_owned(),
            href: "/".to_owned(),
        },
    })
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}
