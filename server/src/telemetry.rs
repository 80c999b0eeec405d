//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`).
//!
//! Request spans record the method and path only, never query strings, and no code path logs a
//! token, code, secret or cookie value.

use tracing_subscriber::{fmt, EnvFilter};

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_sessions=warn,tower_sessions_core=warn"));
    let _ = fmt().with_env_filter(filter).with_target(false).try_init();
}
