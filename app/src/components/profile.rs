use crate::{components::ErrorBox, error::AppError, names::ids, scim::ScimProfile};
use leptos::prelude::*;

/// The fields of the guide's profile page: "Email: …", "First Name: …", "Last Name: …".
#[component]
pub fn ProfileFields(profile: ScimProfile) -> impl IntoView {
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "—".to_owned());
    let row = |label: &'static str, id: &'static str, value: String| {
        view! {
            <p class="row">
                <span class="label">{label}": "</span>
                <span id=id>{value}</span>
            </p>
        }
    };
    view! {
        <div id=ids::PROFILE class="profile">
            {row("Email", ids::PROFILE_EMAIL, or_dash(profile.email().map(str::to_owned)))}
            {row("First Name", ids::PROFILE_GIVEN_NAME, or_dash(profile.given_name))}
            {row("Last Name", ids::PROFILE_FAMILY_NAME, or_dash(profile.family_name))}
        </div>
    }
}

/// Why the profile could not be shown.
#[component]
pub fn ProfileError(error: AppError, return_to: &'static str) -> impl IntoView {
    view! {
        <div id=ids::PROFILE_ERROR>
            <ErrorBox title="Failed to fetch user details" error return_to/>
        </div>
    }
}
