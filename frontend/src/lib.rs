//! The browser entry point: hydrates the islands of the server-rendered page (the only one is
//! the client-side profile, see `app::pages::client_profile`).

// Links the app crate, whose `#[island]` components export the functions that hydrate them.
pub use app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Readable panic messages in development builds; release builds leave the formatting out.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
