//! Who is signed in, as this app sees it: its user type (Auth.js' shape, as the Next.js guide
//! has it), the auth context with this app's paths and views, and the server functions of the
//! profile pages. The session itself — tokens, refresh, sign-out — is `axum-oidc-bff`'s on the
//! server and `leptos-oidc-bff`'s in the browser.

use crate::{
    error::AppError,
    names::{paths, NAME, PROVIDER},
    scim::ScimProfile,
};
use leptos::prelude::*;
use leptos_oidc_bff::{
    json::{FromJson, JsonView},
    AuthOptions, PostJson,
};
use serde::{Deserialize, Serialize};

pub use leptos_oidc_bff::{use_auth, Auth, AuthStatus};

/// The signed-in user as the session describes them (Auth.js' shape: `email` carries the IdP
/// username, as the guide's profile callback makes it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

impl SessionUser {
    /// The name to greet the user with.
    pub fn display_name(&self) -> &str {
        self.given_name.as_deref().unwrap_or(&self.email)
    }

    /// The mapping from the ID token's (and userinfo's) claims: `email` is the login name
    /// (`username`, else `preferred_username`, else `email`, else the subject).
    #[cfg(feature = "ssr")]
    pub fn from_claims(claims: &axum_oidc_bff::Claims) -> Self {
        SessionUser {
            email: claims
                .username
                .clone()
                .or_else(|| claims.preferred_username.clone())
                .or_else(|| claims.email.clone())
                .unwrap_or_else(|| claims.sub.clone()),
            given_name: claims.given_name.clone(),
            family_name: claims.family_name.clone(),
        }
    }
}

impl FromJson for SessionUser {
    fn from_json<J: JsonView>(json: &J) -> Option<Self> {
        Some(SessionUser {
            email: json.field("email")?.text()?,
            given_name: json.optional_text("given_name"),
            family_name: json.optional_text("family_name"),
        })
    }
}

/// The auth context of this app: its provider's paths, and its own loading and error views.
pub fn provide_auth() -> Auth {
    use crate::components::{ErrorBox, Loading};
    let options = AuthOptions::auth_js(PROVIDER, NAME)
        .loading_view(|text| view! { <Loading text/> }.into_any())
        .problem_view(|title, error, return_to| {
            view! { <ErrorBox title error=AppError::from(error) return_to/> }.into_any()
        });
    leptos_oidc_bff::provide_auth(options)
}

/// How the browser calls scim2/Me: the IdP's endpoint with the token from the session, or,
/// when tokens stay on the server, the same-origin proxy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientApi {
    /// The scim2/Me URL the browser calls.
    pub me_endpoint: String,
    /// Whether `/api/auth/session` hands the browser the access token.
    pub token_in_browser: bool,
}

impl FromJson for ClientApi {
    fn from_json<J: JsonView>(json: &J) -> Option<Self> {
        Some(ClientApi {
            me_endpoint: json.field("me_endpoint")?.text()?,
            token_in_browser: json.field("token_in_browser")?.flag()?,
        })
    }
}

/// Where the browser fetches scim2/Me (the server's configuration; no secret in it).
#[server(endpoint = "client_api", input = PostJson, output = PostJson)]
pub async fn get_client_api() -> Result<ClientApi, AppError> {
    let settings = ssr::scim()?;
    Ok(if settings.token_in_browser {
        ClientApi {
            me_endpoint: settings.me_endpoint.to_string(),
            token_in_browser: true,
        }
    } else {
        ClientApi {
            me_endpoint: paths::ME_PROXY.to_owned(),
            token_in_browser: false,
        }
    })
}

/// The signed-in user's scim2/Me record, fetched by the server with the session's token (a
/// `401` refreshes it once and tries again). Only the profile crosses to the browser, never a
/// token.
#[server(endpoint = "server_profile", input = PostJson, output = PostJson)]
pub async fn get_server_profile() -> Result<ScimProfile, AppError> {
    let settings = ssr::scim()?;
    let api = leptos_oidc_bff::ssr::api().await?;
    let answer = api
        .get(settings.me_endpoint.as_str())
        .header("accept", crate::scim::SCIM_MEDIA_TYPE)
        .header("content-type", crate::scim::SCIM_MEDIA_TYPE)
        .max_response_bytes(crate::scim::MAX_BODY_BYTES)
        .send()
        .await?;
    crate::scim::interpret_me_response(answer.status().as_u16(), &answer.text())
}

/// The server functions above take no arguments: their (empty) argument structs read from any
/// JSON object. (In the browser, answers are read with [`FromJson`]; these impls only let the
/// generated code compile there.)
macro_rules! no_arguments {
    ($($args:ty),*) => {$(
        impl FromJson for $args {
            fn from_json<J: JsonView>(_: &J) -> Option<Self> {
                Some(Self {})
            }
        }
    )*};
}
no_arguments!(GetClientApi, GetServerProfile);

#[cfg(feature = "ssr")]
pub mod ssr {
    //! What the server binary provides to rendering and server functions (as context).

    use crate::error::AppError;

    /// Where scim2/Me is, and whether the browser may hold the token to call it.
    #[derive(Clone, Debug)]
    pub struct ScimSettings {
        /// The IdP's scim2/Me endpoint.
        pub me_endpoint: url::Url,
        /// `AUTH_EXPOSE_ACCESS_TOKEN`.
        pub token_in_browser: bool,
    }

    pub fn scim() -> Result<ScimSettings, AppError> {
        leptos::prelude::use_context::<ScimSettings>().ok_or_else(|| {
            tracing::error!("ScimSettings were not provided as context");
            AppError::Internal
        })
    }

    /// Answers the current render with `status` (an error the page shows).
    pub fn set_status(status: u16) {
        leptos_oidc_bff::ssr::set_status(status);
    }
}
