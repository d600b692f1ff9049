//! Small helpers shared by the other modules: a seeded hash for deterministic values, time
//! formatting without a date crate, money formatting, and a lock that survives poisoning.

use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rust_decimal::Decimal;

/// SplitMix64 finaliser: a cheap, well-mixed hash so that every deterministic value (prices,
/// phone numbers, codes, secrets) is a pure function of the seed and a few small integers.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hash of the seed and a list of parts (order matters).
pub(crate) fn hash(seed: u64, parts: &[u64]) -> u64 {
    parts.iter().fold(mix(seed), |acc, p| mix(acc ^ mix(*p)))
}

/// Locks a mutex, recovering the data if a previous holder panicked: the sandbox must keep
/// answering even after a bug in one request.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Formats Unix milliseconds as ISO 8601 UTC with second precision: `2026-11-26T08:00:00Z`.
pub(crate) fn iso8601(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Like [`iso8601`] with milliseconds: `2026-11-26T08:00:00.123Z`.
pub(crate) fn iso8601_ms(unix_ms: u64) -> String {
    let mut s = iso8601(unix_ms);
    s.pop();
    format!("{s}.{:03}Z", unix_ms % 1000)
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Money as the sandbox writes it: a decimal string with exactly two decimals (`"0.50"`).
pub(crate) fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

/// `serialize_with` helper for money fields.
pub(crate) fn ser_money<S: serde::Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&money(*d))
}

/// `serialize_with` helper for timestamps stored as Unix milliseconds.
pub(crate) fn ser_time<S: serde::Serializer>(ms: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&iso8601(*ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_795_680_000_000), "2026-11-26T08:00:00Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(Decimal::new(5, 1)), "0.50");
        assert_eq!(money(Decimal::new(25, 0)), "25.00");
        assert_eq!(money(Decimal::new(-5, 1)), "-0.50");
    }
}
