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

/// What a store answers when a call asks to go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Go now (a slot was taken).
    Go,
    /// The bucket is paused after a 429: nothing was taken; ask again after `wait`. `window` is
    /// the pause's whole length, over which the waiters spread out when it ends.
    Paused {
        /// Time left in the pause.
        wait: Duration,
        /// The pause's whole length.
        window: Duration,
    },
    /// A client-side limit: a slot `wait` from now is reserved for this call, which goes then
    /// without asking again (unless the bucket was paused meanwhile: see
    /// [`RateLimitStore::pause_left`]).
    Reserved {
        /// Time until the reserved slot.
        wait: Duration,
    },
}

/// Where bucket state lives. Implement it to share limits between processes.
pub trait RateLimitStore: Send + Sync + fmt::Debug {
    /// Asks to send one call in `bucket`.
    fn acquire(&self, bucket: Bucket) -> BoxFuture<'_, Admission>;

    /// Time left in `bucket`'s pause and the pause's whole length, when it is paused.
    fn pause_left(&self, bucket: Bucket) -> BoxFuture<'_, Option<(Duration, Duration)>>;

    /// Pauses `bucket` for `duration` (the server's `Retry-After`) for every caller.
    fn pause(&self, bucket: Bucket, duration: Duration) -> BoxFuture<'_, ()>;
}

/// The slowest client-side limit accepted, in requests per second.
pub const MIN_LIMIT_PER_SECOND: f64 = 0.001;

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

/// A generic cell rate algorithm (GCRA) schedule: `tat` is when the next call would go if
/// calls went evenly; a call may go up to `burst - 1` intervals before it.
#[derive(Debug)]
struct Schedule {
    interval: Duration,
    tolerance: Duration,
    tat: Instant,
}

#[derive(Debug, Default)]
struct BucketState {
    paused_until: Option<Instant>,
    pause_window: Duration,
    schedule: Option<Schedule>,
}

/// The in-process store: one pause and one optional GCRA schedule per [`Bucket`].
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
            // An absurd rate (validated away by the builder) must still not panic here.
            let interval = Duration::try_from_secs_f64(1.0 / limit.per_second)
                .unwrap_or(Duration::from_secs(1000))
                .min(Duration::from_secs(1000));
            let mut state = lock(&store.buckets[bucket.index()]);
            state.schedule = Some(Schedule {
                interval,
                tolerance: interval.saturating_mul(limit.burst.saturating_sub(1)),
                tat: now,
            });
        }
        store
    }

    fn acquire_now(&self, bucket: Bucket) -> Admission {
        let now = Instant::now();
        let mut state = lock(&self.buckets[bucket.index()]);
        if let Some(until) = state.paused_until {
            if until > now {
                return Admission::Paused {
                    wait: until - now,
                    window: state.pause_window,
                };
            }
            state.paused_until = None;
        }
        let Some(schedule) = state.schedule.as_mut() else {
            return Admission::Go;
        };
        let tat = schedule.tat.max(now);
        let go_at = tat.checked_sub(schedule.tolerance).unwrap_or(now);
        schedule.tat = tat + schedule.interval;
        match go_at.checked_duration_since(now) {
            Some(wait) if !wait.is_zero() => Admission::Reserved { wait },
            _ => Admission::Go,
        }
    }

    fn pause_left_now(&self, bucket: Bucket) -> Option<(Duration, Duration)> {
        let state = lock(&self.buckets[bucket.index()]);
        let left = state.paused_until?.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then_some((left, state.pause_window))
    }
}

impl RateLimitStore for InMemoryStore {
    fn acquire(&self, bucket: Bucket) -> BoxFuture<'_, Admission> {
        let admission = self.acquire_now(bucket);
        Box::pin(std::future::ready(admission))
    }

    fn pause_left(&self, bucket: Bucket) -> BoxFuture<'_, Option<(Duration, Duration)>> {
        let left = self.pause_left_now(bucket);
        Box::pin(std::future::ready(left))
    }

    fn pause(&self, bucket: Bucket, duration: Duration) -> BoxFuture<'_, ()> {
        let until = Instant::now() + duration;
        let mut state = lock(&self.buckets[bucket.index()]);
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
            state.pause_window = duration;
        }
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_of(admission: Admission) -> Duration {
        match admission {
            Admission::Go => Duration::ZERO,
            Admission::Paused { wait, .. } | Admission::Reserved { wait } => wait,
        }
    }

    #[test]
    fn limit_reserves_slots_in_turn() {
        let store = InMemoryStore::new(&[(Bucket::Poll, BucketLimit::per_second(2.0))]);
        assert_eq!(store.acquire_now(Bucket::Poll), Admission::Go);
        assert_eq!(store.acquire_now(Bucket::Poll), Admission::Go);
        // Each later caller gets its own slot, half a second apart: nobody asks twice.
        let third = wait_of(store.acquire_now(Bucket::Poll));
        let fourth = wait_of(store.acquire_now(Bucket::Poll));
        assert!(third > Duration::from_millis(400) && third <= Duration::from_millis(500));
        assert!(fourth > Duration::from_millis(900) && fourth <= Duration::from_millis(1000));
        assert_eq!(store.acquire_now(Bucket::General), Admission::Go);
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
        assert_eq!(store.acquire_now(Bucket::General), Admission::Go);
        assert!(wait_of(store.acquire_now(Bucket::General)) <= Duration::from_secs(1000));
    }

    #[test]
    fn pause_blocks_only_its_bucket_and_takes_nothing() {
        let store = InMemoryStore::new(&[(Bucket::Order, BucketLimit::per_second(1.0))]);
        futures_util::FutureExt::now_or_never(store.pause(Bucket::Order, Duration::from_secs(2)));
        match store.acquire_now(Bucket::Order) {
            Admission::Paused { wait, window } => {
                assert!(wait > Duration::from_secs(1));
                assert_eq!(window, Duration::from_secs(2));
            }
            other => panic!("expected a pause, got {other:?}"),
        }
        assert!(store.pause_left_now(Bucket::Order).is_some());
        assert_eq!(store.acquire_now(Bucket::Poll), Admission::Go);
        // A shorter pause does not shorten a longer one.
        futures_util::FutureExt::now_or_never(store.pause(Bucket::Order, Duration::from_millis(1)));
        assert!(wait_of(store.acquire_now(Bucket::Order)) > Duration::from_secs(1));
    }
}
