//! An error and its causes as one line, for logs (never for pages).

/// `a: b: c` for an error and its sources; a cause already quoted by its parent is not repeated.
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
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn every_cause_once() {
        let err = Outer(std::io::Error::other("inner"));
        assert_eq!(super::chain(&err), "outer: inner");
    }
}
