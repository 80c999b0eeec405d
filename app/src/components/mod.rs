//! Widgets shared by the pages.

mod header;
mod page_title;
mod profile;
mod protected;
mod sign_out;
mod status;

pub use header::Header;
pub use page_title::{title_of, RouteAnnouncer};
pub use profile::{ProfileError, ProfileFields};
pub use protected::{Protected, SessionCheck};
pub use sign_out::SignOutButton;
pub use status::{ErrorBox, Loading};
