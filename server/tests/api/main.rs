//! The integration tests: the real server on a free port, over HTTP, against a real IdP process
//! (the development IdP, or a deliberately misbehaving one), real Redis and real SQLite. One test
//! binary with a module per area, so the helpers compile once (`logs.rs` is its own binary: it
//! captures the process's log output).

mod hardening;
mod helpers;
mod hostile_idp;
mod review;
mod sessions;
mod sign_in;
mod slow_clients;
