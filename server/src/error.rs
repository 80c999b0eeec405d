//! This app's error pages, and the statuses of its server functions' errors.
//!
//! The backend-for-frontend decides what an error page says (by kind, in the app's words, with
//! a short error code) and logs the cause once; [`AppErrorPages`] draws it in the app's layout
//! and stylesheet. What the IdP or a library said goes to the log only.

use app::{
    error::AppError,
    pages::{ErrorDocument, ErrorPageInfo},
};
use axum::{
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_oidc_bff::{ErrorPage, ErrorRenderer};
use leptos::prelude::*;

/// Draws error pages with the app's [`ErrorDocument`].
pub struct AppErrorPages {
    pub options: LeptosOptions,
}

impl ErrorRenderer for AppErrorPages {
    fn render(&self, page: &ErrorPage, action_href: &str) -> String {
        let info = ErrorPageInfo {
            title: page.title.clone(),
            message: page.message.clone(),
            detail: page.detail.clone(),
            action_label: page.action.label().to_owned(),
            action_href: action_href.to_owned(),
        };
        let owner = Owner::new();
        owner.with(|| view! { <ErrorDocument options=self.options.clone() info/> }.to_html())
    }
}

/// Gives a server function's error response the status of its error: 401 without a session,
/// 400 for a request the app's client does not send, 502/503 when the IdP or the store fails.
/// (Leptos answers every server-function error with 500.)
pub async fn server_fn_status(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if !response
        .headers()
        .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Error bodies are a few hundred bytes of JSON.
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, parts.headers).into_response(),
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(error.status()) {
            parts.status = status;
        }
        if error.status() >= 500 {
            tracing::warn!(%parts.status, error = %error, "server function failed");
        }
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
