//! Prints `end2end/ids.json` (the paths and element ids the end-to-end tests use), from
//! `app::names`: `cargo run -p app --example ids_json > end2end/ids.json`.

fn main() {
    print!("{}", app::names::ids_json());
}
