//! The browser entry point: hydrates the server-rendered page with the whole app, whose router
//! then runs in the browser. Pages are lazy routes; `hydrate_lazy` loads the current page's code
//! before hydrating it.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Readable panic messages in development builds; release builds leave the formatting out.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
