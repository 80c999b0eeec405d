//! Text for logs: an error and its causes as one line, and text from outside (a request, an IdP)
//! made safe to log.
//!
//! Whatever a stranger or an IdP can put into a log field — a logout token's `alg`, a callback's
//! `error`, a `sub` — could otherwise forge log lines (`\n` then `signed in sub=admin`) or drive
//! the terminal that shows them (ESC sequences). So every such value is logged through
//! [`Untrusted`] (or inside an error through [`chain`], which escapes the whole line): control
//! characters become visible escapes (`\n`, `\u{1b}`), and the text is cut at a bound.

use std::fmt;

/// Longest untrusted value logged, in characters; longer ones end in `…`.
pub const MAX_UNTRUSTED_CHARS: usize = 256;
/// Longest error chain logged, in characters.
pub const MAX_CHAIN_CHARS: usize = 2048;

/// `a: b: c` for an error and its sources; a cause already quoted by its parent is not repeated.
/// Control characters are escaped and the line is bounded: errors carry text from outside.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    escaped(&text, MAX_CHAIN_CHARS)
}

/// A value from outside, for a log field: `tracing::info!(sub = %Untrusted(&sub), …)`.
#[derive(Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, MAX_UNTRUSTED_CHARS)
    }
}

impl fmt::Debug for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `text` with control characters escaped, cut after `max_chars` characters.
pub fn escaped(text: &str, max_chars: usize) -> String {
    struct Escaped<'a>(&'a str, usize);
    impl fmt::Display for Escaped<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_escaped(f, self.0, self.1)
        }
    }
    Escaped(text, max_chars).to_string()
}

/// Writes `text` with control characters (and the other invisible ones Rust escapes: bidi
/// overrides, zero-width characters) escaped, cut after `max_chars`.
fn write_escaped(f: &mut impl fmt::Write, text: &str, max_chars: usize) -> fmt::Result {
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            return f.write_char('…');
        }
        if c.is_control() || needs_escape(c) {
            for e in c.escape_debug() {
                f.write_char(e)?;
            }
        } else {
            f.write_char(c)?;
        }
    }
    Ok(())
}

/// Characters that are not control characters but change how a line reads: bidi controls and
/// zero-width characters (what `char::escape_debug` escapes besides controls and quotes).
fn needs_escape(c: char) -> bool {
    c != '"' && c != '\'' && c != '\\' && c.escape_debug().len() > 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn every_cause_once() {
        let err = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&err), "outer: inner");
    }

    #[test]
    fn text_from_outside_cannot_start_a_line_or_drive_a_terminal() {
        let forged = "RS256\n2026-01-01T00:00:00Z  INFO signed in sub=admin\u{1b}[2J\r\u{202e}x";
        let shown = Untrusted(forged).to_string();
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert!(
            shown.contains(r"\n2026") && shown.contains(r"\u{1b}[2J"),
            "{shown}"
        );
        assert!(
            shown.contains(r"\u{202e}"),
            "bidi override escaped: {shown}"
        );
        let err = Outer(std::io::Error::other(forged));
        assert!(!chain(&err).chars().any(|c| c.is_control()));
        // Quotes and backslashes stay as they are: they cannot start a line.
        assert_eq!(Untrusted(r#"a "b" \c"#).to_string(), r#"a "b" \c"#);
    }

    #[test]
    fn untrusted_text_is_bounded() {
        let long = "x".repeat(10_000);
        let shown = Untrusted(&long).to_string();
        assert_eq!(shown.chars().count(), MAX_UNTRUSTED_CHARS + 1);
        assert!(shown.ends_with('…'));
        assert!(chain(&std::io::Error::other(long)).chars().count() <= MAX_CHAIN_CHARS + 1);
    }
}
