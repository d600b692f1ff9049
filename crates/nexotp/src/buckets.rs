//! Rate buckets, shared by every concurrent call on one client.
//!
//! NexOTP limits GENERAL, ORDER and POLL requests separately. When one call gets a 429 the
//! whole bucket is paused, so the other calls in flight wait too instead of each collecting
//! its own 429. The state sits behind [`RateLimitStore`] so that a store shared by many
//! processes (say Redis, for a fleet of workers behind one API key) can replace the in-process
//! [`InMemoryStore`] without touching the callers.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_core::future::BoxFuture;

use crate::lock;

/// One of the API's rate buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    /// Account, transactions, catalogue, price and webhooks.
    General,
    /// Create, cancel and resend an order.
    Order,
    /// Get one order.
    Poll,
}

impl Bucket {
    /// All buckets.
    pub const ALL: [Bucket; 3] = [Bucket::General, Bucket::Order, Bucket::Poll];

    /// The wire name: `"GENERAL"`, `"ORDER"` or `"POLL"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::General => "GENERAL",
            Bucket::Order => "ORDER",
            Bucket::Poll => "POLL",
        }
    }

    fn index(self) -> usize {
        match self {
            Bucket::General => 0,
            Bucket::Order => 1,
            Bucket::Poll => 2,
        }
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Bucket {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "GENERAL" => Ok(Bucket::General),
            "ORDER" => Ok(Bucket::Order),
            "POLL" => Ok(Bucket::Poll),
            _ => Err(crate::Error::invalid(
                "bucket",
                format!("must be GENERAL, ORDER or POLL, got {s:?}"),
            )),
        }
    }
}

/// Where bucket state lives. Implement it to share limits between processes.
pub trait RateLimitStore: Send + Sync + fmt::Debug {
    /// Takes a slot in `bucket` if one is free now and returns [`Duration::ZERO`]; otherwise
    /// takes nothing and returns how long to wait before asking again.
    fn acquire(&self, bucket: Bucket) -> BoxFuture<'_, Duration>;

    /// Pauses `bucket` for `duration` (the server's `Retry-After`) for every caller.
    fn pause(&self, bucket: Bucket, duration: Duration) -> BoxFuture<'_, ()>;
}

/// The slowest client-side limit accepted, in requests per second.
pub const MIN_LIMIT_PER_SECOND: f64 = 0.001;
/// Longest a client-side limit makes one call wait before asking again.
const MAX_LIMIT_WAIT: Duration = Duration::from_secs(3600);

/// A client-side limit for one bucket: at most `per_second` requests a second, with bursts of
/// up to `burst`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BucketLimit {
    /// Sustained requests per second (> 0).
    pub per_second: f64,
    /// How many may go at once after a quiet spell (>= 1).
    pub burst: u32,
}

impl BucketLimit {
    /// `per_second` requests a second with a burst of the same size (at least 1).
    pub fn per_second(per_second: f64) -> BucketLimit {
        BucketLimit {
            per_second,
            burst: (per_second.ceil() as u32).max(1),
        }
    }
}

#[derive(Debug, Default)]
struct BucketState {
    paused_until: Option<Instant>,
    limit: Option<(BucketLimit, f64, Instant)>,
}

/// The in-process store: one pause and one optional token bucket per [`Bucket`].
#[derive(Debug, Default)]
pub struct InMemoryStore {
    buckets: [Mutex<BucketState>; 3],
}

impl InMemoryStore {
    /// A store with the given client-side limits.
    pub fn new(limits: &[(Bucket, BucketLimit)]) -> InMemoryStore {
        let store = InMemoryStore::default();
        let now = Instant::now();
        for (bucket, limit) in limits {
            let mut state = lock(&store.buckets[bucket.index()]);
            state.limit = Some((*limit, f64::from(limit.burst), now));
        }
        store
    }

    fn acquire_now(&self, bucket: Bucket) -> Duration {
        let now = Instant::now();
        let mut state = lock(&self.buckets[bucket.index()]);
        if let Some(until) = state.paused_until {
            if until > now {
                return until - now;
            }
            state.paused_until = None;
        }
        let Some((limit, tokens, last)) = state.limit.as_mut() else {
            return Duration::ZERO;
        };
        let refill = now.duration_since(*last).as_secs_f64() * limit.per_second;
        *tokens = (*tokens + refill).min(f64::from(limit.burst));
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Duration::ZERO
        } else {
            // An absurd rate (validated away by the builder) must still not panic here.
            Duration::try_from_secs_f64((1.0 - *tokens) / limit.per_second)
                .unwrap_or(MAX_LIMIT_WAIT)
                .min(MAX_LIMIT_WAIT)
        }
    }
}

impl RateLimitStore for InMemoryStore {
    fn acquire(&self, bucket: Bucket) -> BoxFuture<'_, Duration> {
        let wait = self.acquire_now(bucket);
        Box::pin(std::future::ready(wait))
    }

    fn pause(&self, bucket: Bucket, duration: Duration) -> BoxFuture<'_, ()> {
        let until = Instant::now() + duration;
        let mut state = lock(&self.buckets[bucket.index()]);
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
        }
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_queues_instead_of_failing() {
        let store = InMemoryStore::new(&[(Bucket::Poll, BucketLimit::per_second(2.0))]);
        assert_eq!(store.acquire_now(Bucket::Poll), Duration::ZERO);
        assert_eq!(store.acquire_now(Bucket::Poll), Duration::ZERO);
        let wait = store.acquire_now(Bucket::Poll);
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        assert_eq!(store.acquire_now(Bucket::General), Duration::ZERO);
    }

    #[test]
    fn an_absurdly_slow_limit_waits_instead_of_panicking() {
        let store = InMemoryStore::new(&[(
            Bucket::General,
            BucketLimit {
                per_second: 1e-300,
                burst: 1,
            },
        )]);
        assert_eq!(store.acquire_now(Bucket::General), Duration::ZERO);
        assert_eq!(store.acquire_now(Bucket::General), MAX_LIMIT_WAIT);
    }

    #[test]
    fn pause_blocks_only_its_bucket() {
        let store = InMemoryStore::default();
        futures_util::FutureExt::now_or_never(store.pause(Bucket::Order, Duration::from_secs(2)));
        assert!(store.acquire_now(Bucket::Order) > Duration::from_secs(1));
        assert_eq!(store.acquire_now(Bucket::Poll), Duration::ZERO);
    }
}
