//! Widgets shared by the pages.

mod header;
mod profile;
mod protected;
mod sign_out;
mod status;

pub use header::Header;
pub use profile::{ProfileError, ProfileFields};
pub use protected::Protected;
pub use sign_out::SignOutButton;
pub use status::{ErrorBox, Loading};
