//! Per-bucket token buckets. Each bucket refills at N tokens per second and holds at most
//! `burst` (default N, at least 1), so `burst` requests may arrive at once and then N per
//! second. A refused request gets 429 with `Retry-After` (whole seconds, rounded up, at least 1)
//! and `retry-after-ms` (exact), or exactly the configured `retry_after` value and no
//! `retry-after-ms`, plus the `X-RateLimit-*` headers; an accepted one gets the
//! `X-RateLimit-*` headers too.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A rate bucket of the NexOTP API (contract.md, "Rate limiting").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    /// Account, transactions, countries, services, price, webhooks.
    General,
    /// Create, cancel and resend an order.
    Order,
    /// Get an order (polling).
    Poll,
}

impl Bucket {
    /// All buckets.
    pub const ALL: [Bucket; 3] = [Bucket::General, Bucket::Order, Bucket::Poll];

    /// The wire name: `GENERAL`, `ORDER` or `POLL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::General => "GENERAL",
            Bucket::Order => "ORDER",
            Bucket::Poll => "POLL",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a bucket name.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown rate bucket {0:?} (expected GENERAL, ORDER or POLL)")]
pub struct UnknownBucket(pub String);

impl FromStr for Bucket {
    type Err = UnknownBucket;

    /// Case-insensitive: `poll`, `POLL` and `Poll` are the same bucket.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Bucket::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownBucket(s.to_string()))
    }
}

impl Serialize for Bucket {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Bucket {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A bucket's limit: `{"per_second": 50, "burst": 10, "retry_after": "0"}` (the last two
/// optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Tokens added per second (at least 0.001).
    pub per_second: f64,
    /// How many requests may arrive at once (default: `per_second`, at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// When set, every 429 of this bucket carries exactly this `Retry-After` value and no
    /// `retry-after-ms` header (to imitate servers that say `Retry-After: 0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
}

impl RateLimit {
    /// `per_second` requests per second, burst of the same size.
    pub fn new(per_second: f64) -> Self {
        RateLimit {
            per_second,
            burst: None,
            retry_after: None,
        }
    }

    /// Lets `burst` requests arrive at once.
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Sends exactly this `Retry-After` on the bucket's 429s, without `retry-after-ms`.
    pub fn with_retry_after(mut self, value: impl Into<String>) -> Self {
        self.retry_after = Some(value.into());
        self
    }

    /// Checks the numbers: a positive finite rate and, when given, a burst of at least 1.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(format!(
                "per_second must be a positive number, got {}",
                self.per_second
            ));
        }
        if self.burst == Some(0) {
            return Err("burst must be at least 1".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct TokenBucket {
    limit: RateLimit,
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

/// The outcome of taking a token.
pub(crate) enum Decision {
    /// No limit on this bucket.
    Unlimited,
    /// Allowed; headers to add.
    Allowed(Vec<(&'static str, String)>),
    /// Refused; headers to add (`Retry-After` and the rest).
    Limited(Vec<(&'static str, String)>),
}

/// The three buckets' limits and current fill.
#[derive(Debug, Clone, Default)]
pub(crate) struct RateLimiter {
    buckets: [Option<TokenBucket>; 3],
}

impl RateLimiter {
    /// Sets (or with `None` removes) the limit of a bucket; the bucket starts full. A limit
    /// that is not positive removes it.
    pub fn set(&mut self, bucket: Bucket, limit: Option<RateLimit>) {
        self.buckets[bucket.index()] = limit
            .filter(|l| l.per_second.is_finite() && l.per_second > 0.0)
            .map(|limit| {
                // At least one request per 1000 s, so waits stay small for `Duration`.
                let rate = limit.per_second.max(0.001);
                let burst = limit.burst.map_or(rate, f64::from).max(1.0);
                TokenBucket {
                    limit,
                    rate,
                    burst,
                    tokens: burst,
                    last: Instant::now(),
                }
            });
    }

    /// The configured limits.
    pub fn limits(&self) -> [Option<RateLimit>; 3] {
        [0, 1, 2].map(|i| self.buckets[i].as_ref().map(|b| b.limit.clone()))
    }

    /// Whether any bucket has a limit.
    pub fn any(&self) -> bool {
        self.buckets.iter().any(Option::is_some)
    }

    /// Takes one token from a bucket.
    pub fn take(&mut self, bucket: Bucket, now: Instant, unix_ms: u64) -> Decision {
        let Some(b) = self.buckets[bucket.index()].as_mut() else {
            return Decision::Unlimited;
        };
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * b.rate).min(b.burst);
        b.last = now;
        let limit = b.burst.floor() as u64;
        let common = |remaining: u64, reset_in: Duration| {
            vec![
                ("x-ratelimit-limit", limit.to_string()),
                ("x-ratelimit-remaining", remaining.to_string()),
                (
                    "x-ratelimit-reset",
                    (unix_ms + reset_in.as_millis() as u64)
                        .div_ceil(1000)
                        .to_string(),
                ),
                ("x-ratelimit-bucket", bucket.as_str().to_string()),
            ]
        };
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            let full_in = Duration::from_secs_f64(((b.burst - b.tokens) / b.rate).max(0.0));
            Decision::Allowed(common(b.tokens.floor() as u64, full_in))
        } else {
            let wait = Duration::from_secs_f64(((1.0 - b.tokens) / b.rate).max(0.0));
            let wait_ms = (wait.as_micros() as u64).div_ceil(1000).max(1);
            let mut headers = common(0, wait);
            match &b.limit.retry_after {
                Some(value) => headers.push(("retry-after", value.clone())),
                None => {
                    headers.push(("retry-after", wait_ms.div_ceil(1000).max(1).to_string()));
                    headers.push(("retry-after-ms", wait_ms.to_string()));
                }
            }
            Decision::Limited(headers)
        }
    }
}
