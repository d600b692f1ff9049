//! Argument rules, checked before any I/O.
//!
//! Each function names the argument and the rule it broke, so the same message reaches Rust,
//! Python and Node users. Bindings convert types and call these through the client; they never
//! re-implement a rule.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rust_decimal::Decimal;

use crate::error::{Error, Result};

/// Longest id, code or name accepted.
const MAX_TOKEN_LEN: usize = 256;

/// Everything but RFC 3986 unreserved characters is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An id or catalogue code: non-empty, no `/`, `?`, `#`, `..`, `%`, whitespace or control chars.
pub(crate) fn token(argument: &'static str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(argument, "must not be empty"));
    }
    if value.len() > MAX_TOKEN_LEN {
        return Err(Error::invalid(
            argument,
            format!("must be at most {MAX_TOKEN_LEN} bytes"),
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '?' | '#' | '%' | '\\'))
    {
        return Err(Error::invalid(
            argument,
            format!("must not contain {c:?} (ids are single path segments without spaces)"),
        ));
    }
    if value.contains("..") || value == "." {
        return Err(Error::invalid(
            argument,
            "must not contain \"..\" or be \".\"",
        ));
    }
    Ok(())
}

/// Validates an id and returns it percent-encoded as one path segment.
pub(crate) fn path_segment(argument: &'static str, value: &str) -> Result<String> {
    token(argument, value)?;
    Ok(utf8_percent_encode(value, SEGMENT).to_string())
}

/// Percent-encodes a query value.
pub(crate) fn query_value(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

pub(crate) fn page(page: u32) -> Result<()> {
    if page == 0 {
        return Err(Error::invalid(
            "page",
            "must be >= 1 (pages are numbered from 1)",
        ));
    }
    Ok(())
}

pub(crate) fn per_page(per_page: u32) -> Result<()> {
    if !(1..=100).contains(&per_page) {
        return Err(Error::invalid(
            "per_page",
            format!("must be between 1 and 100, got {per_page}"),
        ));
    }
    Ok(())
}

pub(crate) fn max_price(price: Decimal) -> Result<()> {
    if price.is_sign_negative() && !price.is_zero() {
        return Err(Error::invalid(
            "max_price",
            format!("must be >= 0, got {price}"),
        ));
    }
    Ok(())
}

pub(crate) fn positive_duration(argument: &'static str, d: Duration) -> Result<()> {
    if d.is_zero() {
        return Err(Error::invalid(argument, "must be greater than zero"));
    }
    Ok(())
}

/// A webhook endpoint: an absolute https URL (http only for loopback hosts), no credentials.
pub(crate) fn webhook_url(raw: &str) -> Result<()> {
    const ARG: &str = "endpoint_url";
    if raw.trim().is_empty() {
        return Err(Error::invalid(ARG, "must not be empty"));
    }
    if raw.trim() != raw {
        return Err(Error::invalid(
            ARG,
            "must not have leading or trailing spaces",
        ));
    }
    // The URL parser silently drops tabs and newlines, but the raw string is what is sent.
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            ARG,
            "must not contain spaces or control characters",
        ));
    }
    if raw.contains('#') {
        return Err(Error::invalid(ARG, "must not have a #fragment"));
    }
    let url = url::Url::parse(raw)
        .map_err(|e| Error::invalid(ARG, format!("is not an absolute URL: {e}")))?;
    if url.host().is_none() {
        return Err(Error::invalid(ARG, "must have a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(ARG, "must not contain credentials"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if crate::config::is_loopback(&url) => Ok(()),
        "http" => Err(Error::invalid(
            ARG,
            "must use https (http is accepted only for localhost / loopback receivers)",
        )),
        other => Err(Error::invalid(
            ARG,
            format!("must use https, not {other:?}"),
        )),
    }
}

/// Webhook event names: at least one, each non-empty, no spaces or commas inside one entry.
pub(crate) fn events(events: &[String]) -> Result<()> {
    const ARG: &str = "events";
    if events.is_empty() {
        return Err(Error::invalid(ARG, "must name at least one event"));
    }
    for event in events {
        if event.is_empty() {
            return Err(Error::invalid(ARG, "must not contain an empty event name"));
        }
        if let Some(c) = event
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || *c == ',')
        {
            return Err(Error::invalid(
                ARG,
                format!("event {event:?} must not contain {c:?}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(token("id", "5001").is_ok());
        assert!(token("id", "ord_a-b.c~").is_ok());
        for bad in ["", "a/b", "a?b", "a#b", "..", "a b", "a\nb", "a%2F", "."] {
            assert!(token("id", bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(path_segment("id", "é").ok().as_deref(), Some("%C3%A9"));
    }

    #[test]
    fn urls() {
        assert!(webhook_url("https://example.com/hook").is_ok());
        assert!(webhook_url("http://127.0.0.1:9/hook").is_ok());
        assert!(webhook_url("http://example.com/hook").is_err());
        assert!(webhook_url("example.com/hook").is_err());
        assert!(webhook_url("https://u:p@example.com/").is_err());
    }
}
