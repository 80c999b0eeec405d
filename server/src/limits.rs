//! Caps on requests in flight, per kind of route: a flood of one kind degrades into fast
//! `503`s with `Retry-After`, instead of growing memory until the server falls over (a thousand
//! pages rendering at once took the server from 23 to 200 MiB), and one kind cannot take the
//! server away from the others.
//!
//! | class | routes | variable |
//! |---|---|---|
//! | pages | every server-rendered page (`GET` outside `/api/` and `/pkg/`) | `SERVER_MAX_CONCURRENT_PAGES` |
//! | API | server functions and the auth JSON endpoints (`/api/…`) | `SERVER_MAX_CONCURRENT_API` |
//! | sign-in | sign-in starts and callbacks | `SERVER_MAX_CONCURRENT_SIGN_INS` |
//! | proxy | the API proxy (`/api/scim2/Me`) | `SERVER_MAX_CONCURRENT_PROXY` |
//!
//! Static files are not capped (they are cheap and cached), nor are the event streams (they have
//! caps of their own, per session, per user and in all).

use crate::AppState;
use app::names::paths;
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_oidc_bff::{error_page, Action, ErrorPage};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// How many requests of each class may be in flight at once.
#[derive(Clone, Copy, Debug)]
pub struct RouteLimits {
    pub pages: usize,
    pub api: usize,
    pub sign_ins: usize,
    pub proxy: usize,
}

/// The semaphores behind [`RouteLimits`].
pub struct InFlight {
    pages: Arc<Semaphore>,
    api: Arc<Semaphore>,
    sign_ins: Arc<Semaphore>,
    proxy: Arc<Semaphore>,
}

impl InFlight {
    pub fn new(limits: RouteLimits) -> Arc<Self> {
        let semaphore = |n: usize| Arc::new(Semaphore::new(n.max(1)));
        Arc::new(InFlight {
            pages: semaphore(limits.pages),
            api: semaphore(limits.api),
            sign_ins: semaphore(limits.sign_ins),
            proxy: semaphore(limits.proxy),
        })
    }

    /// The semaphore for a request, and whether its caller reads HTML; `None` for uncapped ones.
    fn class(&self, method: &Method, path: &str) -> Option<(&Arc<Semaphore>, Answer)> {
        if path.starts_with("/pkg/") || path == "/favicon.svg" || path == paths::AUTH_EVENTS {
            return None;
        }
        if path.starts_with(paths::SIGN_IN) || path.starts_with(paths::CALLBACK) {
            return Some((&self.sign_ins, Answer::Page));
        }
        if path == paths::ME_PROXY {
            return Some((&self.proxy, Answer::Json));
        }
        if path.starts_with("/api/") {
            let answer = if *method == Method::POST && !path.starts_with("/api/auth/") {
                Answer::ServerFunction
            } else if path == paths::SIGN_OUT {
                Answer::Page
            } else {
                Answer::Json
            };
            return Some((&self.api, answer));
        }
        Some((&self.pages, Answer::Page))
    }
}

/// What a refused request is answered with, for its caller to understand.
#[derive(Clone, Copy)]
enum Answer {
    Page,
    Json,
    /// The app's own error, as its server-function client reads it.
    ServerFunction,
}

/// The middleware: a request over its class's cap gets a `503` at once.
pub async fn cap_in_flight(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let limits = state.in_flight.clone();
    let Some((semaphore, answer)) = limits.class(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let Ok(_permit) = semaphore.clone().try_acquire_owned() else {
        tracing::warn!(path = %request.uri().path(), "too many requests of this kind in flight; refused one");
        return busy(answer);
    };
    next.run(request).await
}

fn busy(answer: Answer) -> Response {
    let mut response = match answer {
        Answer::Page => error_page(ErrorPage {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "The server is busy".to_owned(),
            message: "Too many requests are being answered right now. Nothing was changed; \
                      try again in a moment."
                .to_owned(),
            detail: Some("Error code: server.busy".to_owned()),
            action: Action::Link {
                label: "Try again".to_owned(),
                href: paths::HOME.to_owned(),
            },
        }),
        Answer::Json => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({
                "error": "busy",
                "error_description": app::error::AppError::Busy.to_string(),
            })),
        )
            .into_response(),
        Answer::ServerFunction => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&app::error::AppError::Busy).unwrap_or_default(),
        )
            .into_response(),
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
