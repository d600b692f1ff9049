//! Conversions from host-language values that every binding needs.
//!
//! Python passes seconds as floats and prices as `Decimal`, `str` or numbers; Node passes
//! milliseconds and decimal strings. These helpers turn them into the core's types with the
//! same rules and the same messages in every language, so no binding writes its own.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rust_decimal::Decimal;

use crate::error::{Error, Result};

/// Longest duration accepted from a host language (a year): beyond it is surely a unit mistake.
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// Seconds (Python's unit) as a [`Duration`]: finite, not negative, at most a year. Zero is
/// allowed here; arguments that must be positive are checked where they are used.
pub fn duration_from_secs(argument: &'static str, seconds: f64) -> Result<Duration> {
    if !seconds.is_finite() {
        return Err(Error::invalid(
            argument,
            format!("must be a finite number of seconds, got {seconds}"),
        ));
    }
    if seconds < 0.0 {
        return Err(Error::invalid(
            argument,
            format!("must not be negative, got {seconds} seconds"),
        ));
    }
    if seconds > MAX_SECONDS {
        return Err(Error::invalid(
            argument,
            format!("must be at most a year, got {seconds} seconds"),
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Milliseconds (Node's unit) as a [`Duration`], with the rules of [`duration_from_secs`].
pub fn duration_from_millis(argument: &'static str, millis: f64) -> Result<Duration> {
    if !millis.is_finite() || !(0.0..=MAX_SECONDS * 1000.0).contains(&millis) {
        return Err(Error::invalid(
            argument,
            format!("must be a finite number of milliseconds between 0 and a year, got {millis}"),
        ));
    }
    Ok(Duration::from_secs_f64(millis / 1000.0))
}

/// An exact decimal from its text (`"0.50"`, `"1"`, `"2.5e-1"`): how bindings read money given
/// as a string (or a host decimal's text). Rejects empty text, `NaN` and infinities.
pub fn parse_decimal(argument: &'static str, text: &str) -> Result<Decimal> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(
            argument,
            "must be a decimal amount, got an empty string",
        ));
    }
    Decimal::from_str(trimmed)
        .or_else(|_| Decimal::from_scientific(trimmed))
        .map_err(|_| {
            Error::invalid(
                argument,
                format!("must be a decimal amount like \"0.50\", got {trimmed:?}"),
            )
        })
}

/// `transactions(page, per_page)` as the bindings take it, both optional: page 1 and
/// [`DEFAULT_PAGE_SIZE`](crate::DEFAULT_PAGE_SIZE) when not given.
pub fn page_or_default(page: Option<u32>, per_page: Option<u32>) -> (u32, u32) {
    (
        page.unwrap_or(1),
        per_page.unwrap_or(crate::DEFAULT_PAGE_SIZE),
    )
}

/// The page size of an iteration over every transaction when not given:
/// [`DEFAULT_ITER_PAGE_SIZE`](crate::DEFAULT_ITER_PAGE_SIZE).
pub fn iter_page_size_or_default(per_page: Option<u32>) -> u32 {
    per_page.unwrap_or(crate::DEFAULT_ITER_PAGE_SIZE)
}

/// A time as unix seconds (Python's `time.time()` unit); before 1970 is negative.
pub fn unix_secs(at: SystemTime) -> f64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

/// A time as unix milliseconds (JS's `Date.now()` unit); before 1970 is negative.
pub fn unix_millis(at: SystemTime) -> f64 {
    unix_secs(at) * 1000.0
}

/// Unix seconds from a host language as a [`SystemTime`]: any finite number that fits.
pub fn time_from_unix_secs(argument: &'static str, seconds: f64) -> Result<SystemTime> {
    let refuse = || {
        Error::invalid(
            argument,
            format!("must be a time in unix seconds, got {seconds}"),
        )
    };
    let since = Duration::try_from_secs_f64(seconds.abs()).map_err(|_| refuse())?;
    let at = if seconds >= 0.0 {
        UNIX_EPOCH.checked_add(since)
    } else {
        UNIX_EPOCH.checked_sub(since)
    };
    at.ok_or_else(refuse)
}

/// Unix milliseconds from a host language as a [`SystemTime`], with the rules of
/// [`time_from_unix_secs`].
pub fn time_from_unix_millis(argument: &'static str, millis: f64) -> Result<SystemTime> {
    time_from_unix_secs(argument, millis / 1000.0).map_err(|_| {
        Error::invalid(
            argument,
            format!("must be a time in unix milliseconds, got {millis}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            duration_from_secs("t", 1.5).ok(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(duration_from_secs("t", 0.0).ok(), Some(Duration::ZERO));
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e12] {
            assert!(duration_from_secs("t", bad).is_err(), "{bad}");
            assert!(duration_from_millis("t", bad * 1000.0).is_err(), "{bad}");
        }
        assert_eq!(
            duration_from_millis("t", 250.0).ok(),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn decimals() {
        assert_eq!(
            parse_decimal("p", " 0.50 ").ok(),
            Decimal::from_str("0.50").ok()
        );
        assert_eq!(
            parse_decimal("p", "2.5e-1").ok(),
            Decimal::from_str("0.25").ok()
        );
        for bad in ["", "NaN", "inf", "1,5", "abc"] {
            let err = parse_decimal("max_price", bad).expect_err(bad);
            assert!(err.to_string().contains("max_price"));
        }
    }

    #[test]
    fn unix_times_round_trip_and_refuse_nonsense() {
        let at = time_from_unix_secs("t", 1_795_680_000.25).expect("a time");
        assert_eq!(unix_secs(at), 1_795_680_000.25);
        assert_eq!(unix_millis(at), 1_795_680_000_250.0);
        assert_eq!(
            time_from_unix_millis("t", 1_795_680_000_250.0).ok(),
            Some(at)
        );
        assert!(unix_secs(time_from_unix_secs("t", -1.5).expect("before 1970")) == -1.5);
        for bad in [f64::NAN, f64::INFINITY, 1e300] {
            assert!(time_from_unix_secs("t", bad).is_err(), "{bad}");
        }
    }
}
