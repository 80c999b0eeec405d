//! Widgets shared by the pages.

mod header;
mod page_title;
mod profile;
mod sign_out;
mod status;

pub use header::Header;
pub use leptos_oidc_bff::{Protected, SessionCheck};
pub use page_title::{title_of, RouteAnnouncer};
pub use profile::{ProfileError, ProfileFields};
pub use sign_out::SignOutButton;
pub use status::{ErrorBox, Loading};
