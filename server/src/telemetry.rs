//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`).
//!
//! Request spans record the method and path only, never query strings, and no code path logs a
//! token, code, secret or cookie value. Every field is written with its control characters
//! escaped (see `axum_oidc_bff::Untrusted`): the auth code already escapes what comes from outside, and
//! this formatter makes sure that nothing else — a library's message, a dependency's error —
//! can start a line of its own or send escape sequences to a terminal.

use std::fmt::Write as _;
use tracing_subscriber::{
    field::MakeExt,
    fmt::{self, format::Writer, FormatFields},
    EnvFilter,
};

/// Longest field value written, in characters.
const MAX_FIELD_CHARS: usize = 8192;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_sessions=warn,tower_sessions_core=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .fmt_fields(escaping_fields())
        .try_init();
}

/// Fields as `name=value`, the message bare, each with control characters escaped.
pub fn escaping_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    fmt::format::debug_fn(|writer: &mut Writer<'_>, field, value| {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        let text = axum_oidc_bff::escaped(&text, MAX_FIELD_CHARS);
        match field.name() {
            "message" => writer.write_str(&text),
            name => write!(writer, "{name}={text}"),
        }
    })
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn no_field_or_message_can_write_a_control_character() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(super::escaping_fields())
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let forged = "x\nFAKE INFO signed in sub=admin\u{1b}[2J";
            tracing::warn!(error = %forged, other = ?forged, "refused {forged}");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.trim_end().chars().any(|c| c.is_control()), "{text:?}");
        assert!(text.contains(r"error=x\nFAKE"), "{text}");
    }
}
