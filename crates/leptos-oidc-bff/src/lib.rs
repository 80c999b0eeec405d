#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod codec;
mod components;
mod context;
pub mod json;
#[cfg(feature = "hydrate")]
mod live;
mod options;
mod protected;
mod server;
mod state;

pub use codec::{Hydrated, Json, PostJson};
pub use components::{SignInLink, SignOutButton};
pub use context::{provide_auth, use_auth, Auth, AuthResult, AuthStatus, Source};
pub use options::{AuthOptions, LoadingView, ProblemView};
pub use protected::{Protected, SessionCheck};
#[cfg(feature = "ssr")]
pub use server::ssr;
pub use server::{auth_state, peek_auth_state};
pub use state::{AuthError, AuthSnapshot, SessionEnd};
