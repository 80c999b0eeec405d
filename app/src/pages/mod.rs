//! One file per page. The routed pages are lazy routes: each is its own chunk of the split wasm,
//! downloaded when the page is first shown.

mod client_profile;
mod error_page;
mod home;
mod not_found;
mod server_profile;

pub use client_profile::ClientProfilePage;
pub use error_page::{ErrorDocument, ErrorPageInfo};
pub use home::HomePage;
pub use not_found::NotFound;
pub use server_profile::ServerProfilePage;
