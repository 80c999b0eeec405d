#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod api;
mod backchannel;
mod bff;
mod clock;
mod csrf;
mod error;
mod events;
mod extract;
mod headers;
mod log;
mod oidc;
mod pending;
mod proxy;
mod redirect;
mod routes;
pub mod serve;
mod session;
mod settings;
mod store;
mod user;

pub use api::{Api, ApiError, ApiRequest, ApiResponse};
pub use bff::{Bff, BffBuilder};
pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use error::{error_page, Action, BffError, ErrorPage, ErrorRenderer, PlainErrorPages};
pub use events::{STREAMS_PER_SESSION, STREAMS_PER_USER};
pub use extract::{AccessToken, CurrentUser, MaybeUser, SessionState, Snapshot};
pub use headers::{CspNonce, SecurityHeaders};
pub use log::{escaped, Untrusted};
pub use oidc::{
    check::CheckError, http::HttpError, EndpointError, IdTokenProblem, IdpSaid, OidcError,
    SignInError,
};
pub use proxy::{Proxy, ProxyError};
pub use redirect::safe_return_path;
pub use serve::{serve, ServeLimits};
pub use session::{EndReason, SessionJson, StoreError};
pub use settings::{is_loopback, Paths, Settings, SettingsBuilder, SettingsError, StoreSettings};
pub use store::BackendError;
pub use user::{Claims, DefaultUser, FetchUserInfo};
