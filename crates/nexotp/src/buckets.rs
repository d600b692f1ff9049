//! Rate buckets, shared by every concurrent call on one client, or by a whole fleet.
//!
//! NexOTP limits GENERAL, ORDER and POLL requests separately. When one call gets a 429 the
//! whole bucket is paused, so the other calls in flight wait too instead of each collecting
//! its own 429; a client-side [`BucketLimit`] spaces calls out so that the 429 never comes.
//!
//! The state sits behind [`RateLimitStore`] so that a store shared by many processes can
//! replace the in-process [`InMemoryStore`]: ten workers behind one API key that each keep
//! their own buckets send ten times too much. That is why the trait is async and fallible (a
//! networked store answers later, or not at all: the client then falls back to its in-memory
//! store for that call) and why it *reserves* a slot rather than answering "not now, ask
//! again": the store says when the call may go (GCRA), so a waiter sleeps once and never spins
//! on the network. Every answer is a duration from now, never an instant of the store's
//! clock, so workers whose clocks disagree still agree on the schedule. Buckets are named by a
//! [`BucketKey`]: a hash of the API key and base URL (never the key) plus the bucket.
//!
//! [`conformance::run`] checks any implementation against what the client relies on;
//! `RedisStore` (cargo feature `redis`) is the shared one.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use crate::config::ApiKey;
use crate::lock;

pub mod conformance;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "redis")]
pub use self::redis_store::{DEFAULT_REDIS_TIMEOUT, RedisStore};

/// The async-trait attribute, for implementing [`RateLimitStore`] without a dependency of
/// your own: `#[nexotp::buckets::async_trait] impl RateLimitStore for MyStore { .. }`.
pub use async_trait::async_trait;

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

    pub(crate) fn index(self) -> usize {
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
    /// Go now (a slot was taken, or the bucket has no client-side limit).
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

impl Admission {
    /// How long the caller waits before going (or asking again): zero for [`Admission::Go`].
    pub fn wait(self) -> Duration {
        match self {
            Admission::Go => Duration::ZERO,
            Admission::Paused { wait, .. } | Admission::Reserved { wait } => wait,
        }
    }
}

/// A paused bucket: the time left and the pause's whole length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pause {
    /// Time left in the pause.
    pub left: Duration,
    /// The pause's whole length (waiters spread out over it when it ends).
    pub window: Duration,
}

/// Which bucket of which account: a namespace (a hash of the API key and base URL, see
/// [`BucketKey::namespace_for`]) and the [`Bucket`]. A store keeps one state per key, so one
/// store may serve clients of several accounts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BucketKey {
    namespace: Arc<str>,
    bucket: Bucket,
}

impl BucketKey {
    /// The key of `bucket` in `namespace` (any text without spaces; the client uses
    /// [`BucketKey::namespace_for`]).
    pub fn new(namespace: impl Into<Arc<str>>, bucket: Bucket) -> BucketKey {
        BucketKey {
            namespace: namespace.into(),
            bucket,
        }
    }

    /// The namespace of an account's buckets: 32 hex digits of SHA-256 over the API key and
    /// the base URL. Every worker with the same key and URL shares it; the key itself cannot
    /// be read back from it.
    pub fn namespace_for(api_key: &ApiKey, base_url: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(b"nexotp-rate-limits-v1\0");
        hash.update(api_key.expose().as_bytes());
        hash.update(b"\0");
        hash.update(base_url.as_bytes());
        hex::encode(&hash.finalize()[..16])
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The bucket.
    pub fn bucket(&self) -> Bucket {
        self.bucket
    }
}

impl fmt::Display for BucketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.bucket)
    }
}

/// What the server said about a bucket in an answer's `X-RateLimit-*` headers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ServerLimits {
    /// `X-RateLimit-Limit`: requests per window (or the bucket's size).
    pub limit: Option<f64>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<f64>,
    /// `X-RateLimit-Reset`: when the window resets (or the bucket is full again).
    pub reset: Option<SystemTime>,
}

impl ServerLimits {
    /// When none are left: the time at which the next call should go. That is the time to the
    /// reset shared out over the limit: for a token bucket (the reset is when it is full again)
    /// about when the next token comes, where waiting for the whole reset, rounded up to a
    /// second, would idle the bucket; for a fixed window it is one early request, which the
    /// 429's `Retry-After` then corrects.
    pub fn pause_until(&self, now: SystemTime) -> Option<SystemTime> {
        if self.remaining != Some(0.0) {
            return None;
        }
        let to_reset = self.reset?.duration_since(now).ok()?;
        let limit = self
            .limit
            .filter(|l| l.is_finite() && *l >= 1.0)
            .unwrap_or(1.0);
        Some(now + to_reset.div_f64(limit))
    }
}

/// A store that did not answer. The client then uses its in-memory store for that call: a
/// store's failure never fails an API call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No answer within the store's time limit.
    #[error("the rate-limit store did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The store cannot be reached (its message never holds a password).
    #[error("the rate-limit store is unavailable: {0}")]
    Unavailable(String),
    /// The store answered something this client does not understand.
    #[error("the rate-limit store answered something unexpected: {0}")]
    Unexpected(String),
}

/// Where bucket state lives. Implement it to share limits between processes; check an
/// implementation with [`conformance::run`].
///
/// Every method is told which bucket of which account ([`BucketKey`]); answers are durations
/// from now. A method that fails (or is too slow, by the store's own time limit) returns a
/// [`StoreError`] and the client answers that call from its in-memory store instead.
///
/// ```
/// use nexotp::buckets::{async_trait, Admission, BucketKey, BucketLimit, Pause, RateLimitStore, StoreError};
/// use std::time::SystemTime;
///
/// /// A store that never limits anything (a client then only obeys the server's 429s).
/// #[derive(Debug)]
/// struct Unlimited;
///
/// #[async_trait]
/// impl RateLimitStore for Unlimited {
///     async fn reserve(&self, _: &BucketKey, _: Option<BucketLimit>) -> Result<Admission, StoreError> {
///         Ok(Admission::Go)
///     }
///     async fn pause_left(&self, _: &BucketKey) -> Result<Option<Pause>, StoreError> {
///         Ok(None)
///     }
///     async fn pause_until(&self, _: &BucketKey, _: SystemTime) -> Result<(), StoreError> {
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait RateLimitStore: Send + Sync + fmt::Debug {
    /// Asks to send one call under `key`. A paused bucket answers [`Admission::Paused`] and
    /// takes nothing; otherwise, with a `limit`, a slot is taken by GCRA and the call goes at
    /// its time ([`Admission::Reserved`], or [`Admission::Go`] when that is now); without one
    /// the answer is [`Admission::Go`].
    async fn reserve(
        &self,
        key: &BucketKey,
        limit: Option<BucketLimit>,
    ) -> Result<Admission, StoreError>;

    /// The pause of `key`, when it is paused.
    async fn pause_left(&self, key: &BucketKey) -> Result<Option<Pause>, StoreError>;

    /// Pauses `key` until `until` (from a 429's `Retry-After`) for every caller. A pause never
    /// shortens a longer one; a time in the past changes nothing. `until` is this machine's
    /// clock: a store elsewhere takes the time left (`until - now`) onto its own clock.
    async fn pause_until(&self, key: &BucketKey, until: SystemTime) -> Result<(), StoreError>;

    /// How many workers (processes, or stores) shared `namespace`'s buckets lately, as this
    /// store last saw it (default 1). While the store fails, the client divides its limits by
    /// it, so a fleet that falls back to in-memory buckets all at once still keeps to them
    /// together.
    fn workers(&self, namespace: &str) -> u32 {
        let _ = namespace;
        1
    }

    /// Learns from an answer's `X-RateLimit-*` headers. By default, when none are left, pauses
    /// until [`ServerLimits::pause_until`], so the next call waits instead of collecting a 429.
    async fn feed(&self, key: &BucketKey, limits: ServerLimits) -> Result<(), StoreError> {
        match limits.pause_until(SystemTime::now()) {
            Some(until) => self.pause_until(key, until).await,
            None => Ok(()),
        }
    }
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

    /// The same rate with another burst.
    pub fn burst(self, burst: u32) -> BucketLimit {
        BucketLimit { burst, ..self }
    }

    /// The time between two calls at the sustained rate (at most 1000 s: an absurd rate,
    /// which the builder refuses, must still not panic here).
    pub fn interval(&self) -> Duration {
        Duration::try_from_secs_f64(1.0 / self.per_second)
            .unwrap_or(Duration::from_secs(1000))
            .min(Duration::from_secs(1000))
    }

    /// One worker's share when `workers` share this limit: the rate divided, the burst too
    /// (at least 1).
    pub fn share(self, workers: u32) -> BucketLimit {
        let workers = workers.max(1);
        BucketLimit {
            per_second: self.per_second / f64::from(workers),
            burst: (self.burst / workers).max(1),
        }
    }

    /// How far ahead of the even schedule a call may go: `burst - 1` intervals.
    pub fn tolerance(&self) -> Duration {
        self.interval().saturating_mul(self.burst.saturating_sub(1))
    }

    /// Checks the numbers: a finite rate of at least [`MIN_LIMIT_PER_SECOND`], a burst >= 1.
    pub fn check(&self, bucket: Bucket) -> crate::Result<()> {
        if self.per_second.is_finite() && self.per_second >= MIN_LIMIT_PER_SECOND && self.burst > 0
        {
            return Ok(());
        }
        Err(crate::Error::invalid(
            "bucket_limit",
            format!("{bucket}: per_second must be at least {MIN_LIMIT_PER_SECOND} and burst >= 1"),
        ))
    }

    /// Parses a list of limits: `"POLL=20/s,burst=1; ORDER=5"` (entries separated by `;` or
    /// spaces, the rate in requests per second with an optional `/s`, the burst optional and
    /// by default the rate rounded up). The form of `NEXOTP_RATE_LIMITS` and of the bindings'
    /// string option.
    pub fn parse_list(text: &str) -> crate::Result<Vec<(Bucket, BucketLimit)>> {
        let bad = |entry: &str, why: &str| {
            crate::Error::invalid(
                "rate_limits",
                format!("{why} in {entry:?} (expected e.g. \"POLL=20/s,burst=1; ORDER=5/s\")"),
            )
        };
        let mut limits: Vec<(Bucket, BucketLimit)> = Vec::new();
        for entry in text
            .split([';', ' ', '\n', '\t'])
            .filter(|e| !e.trim().is_empty())
        {
            let (name, rest) = entry.split_once('=').ok_or_else(|| bad(entry, "no '='"))?;
            let bucket: Bucket = name.parse()?;
            let mut parts = rest.split(',');
            let rate = parts.next().unwrap_or_default().trim();
            let rate = rate.strip_suffix("/s").unwrap_or(rate).trim();
            let per_second: f64 = rate.parse().map_err(|_| bad(entry, "not a rate"))?;
            let mut limit = BucketLimit::per_second(per_second);
            for option in parts {
                match option.trim().split_once('=') {
                    Some(("burst", n)) => {
                        limit.burst = n.trim().parse().map_err(|_| bad(entry, "not a burst"))?;
                    }
                    _ => return Err(bad(entry, "unknown option")),
                }
            }
            limit.check(bucket)?;
            limits.retain(|(b, _)| *b != bucket);
            limits.push((bucket, limit));
        }
        Ok(limits)
    }
}

/// A store from its URL: `memory` (or `memory://`) for an [`InMemoryStore`], `redis://` or
/// `rediss://` for a `RedisStore` (cargo feature `redis`), which connects on first use.
pub fn store_from_url(url: &str) -> crate::Result<Arc<dyn RateLimitStore>> {
    let url = url.trim();
    let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
    match scheme.to_ascii_lowercase().as_str() {
        "memory" => Ok(Arc::new(InMemoryStore::new())),
        #[cfg(feature = "redis")]
        "redis" | "rediss" => Ok(Arc::new(RedisStore::new(url)?)),
        #[cfg(not(feature = "redis"))]
        "redis" | "rediss" => Err(crate::Error::invalid(
            "rate_limit_store",
            "needs Redis support, which this build of nexotp leaves out (cargo feature `redis`)",
        )),
        _ => Err(crate::Error::invalid(
            "rate_limit_store",
            "must be a redis:// or rediss:// URL, or \"memory\"",
        )),
    }
}

/// One bucket's state: its pause and its GCRA schedule (`tat`, the time at which the next call
/// would go if calls went evenly; a call may go up to the limit's tolerance before it).
#[derive(Debug, Default)]
struct BucketState {
    paused_until: Option<Instant>,
    pause_window: Duration,
    tat: Option<Instant>,
}

/// The in-process store: one pause and one GCRA schedule per [`BucketKey`]. The default, and
/// the fallback of every client whose shared store does not answer.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    buckets: Mutex<HashMap<BucketKey, BucketState>>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> InMemoryStore {
        InMemoryStore::default()
    }

    /// [`RateLimitStore::reserve`], at once.
    pub fn reserve_now(&self, key: &BucketKey, limit: Option<BucketLimit>) -> Admission {
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        let state = buckets.entry(key.clone()).or_default();
        if let Some(until) = state.paused_until {
            if until > now {
                return Admission::Paused {
                    wait: until - now,
                    window: state.pause_window,
                };
            }
            state.paused_until = None;
        }
        let Some(limit) = limit else {
            return Admission::Go;
        };
        let tat = state.tat.map_or(now, |tat| tat.max(now));
        let go_at = tat.checked_sub(limit.tolerance()).unwrap_or(now);
        state.tat = Some(tat + limit.interval());
        match go_at.checked_duration_since(now) {
            Some(wait) if !wait.is_zero() => Admission::Reserved { wait },
            _ => Admission::Go,
        }
    }

    /// [`RateLimitStore::pause_left`], at once.
    pub fn pause_left_now(&self, key: &BucketKey) -> Option<Pause> {
        let buckets = lock(&self.buckets);
        let state = buckets.get(key)?;
        let left = state.paused_until?.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then_some(Pause {
            left,
            window: state.pause_window,
        })
    }

    /// [`RateLimitStore::pause_until`], at once.
    pub fn pause_until_now(&self, key: &BucketKey, until: SystemTime) {
        let Ok(length) = until.duration_since(SystemTime::now()) else {
            return;
        };
        let until = Instant::now() + length;
        let mut buckets = lock(&self.buckets);
        let state = buckets.entry(key.clone()).or_default();
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
            state.pause_window = length;
        }
    }
}

#[async_trait]
impl RateLimitStore for InMemoryStore {
    async fn reserve(
        &self,
        key: &BucketKey,
        limit: Option<BucketLimit>,
    ) -> Result<Admission, StoreError> {
        Ok(self.reserve_now(key, limit))
    }

    async fn pause_left(&self, key: &BucketKey) -> Result<Option<Pause>, StoreError> {
        Ok(self.pause_left_now(key))
    }

    async fn pause_until(&self, key: &BucketKey, until: SystemTime) -> Result<(), StoreError> {
        self.pause_until_now(key, until);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(bucket: Bucket) -> BucketKey {
        BucketKey::new("test", bucket)
    }

    #[test]
    fn limit_reserves_slots_in_turn() {
        let store = InMemoryStore::new();
        let limit = Some(BucketLimit::per_second(2.0));
        let poll = key(Bucket::Poll);
        assert_eq!(store.reserve_now(&poll, limit), Admission::Go);
        assert_eq!(store.reserve_now(&poll, limit), Admission::Go);
        // Each later caller gets its own slot, half a second apart: nobody asks twice.
        let third = store.reserve_now(&poll, limit).wait();
        let fourth = store.reserve_now(&poll, limit).wait();
        assert!(third > Duration::from_millis(400) && third <= Duration::from_millis(500));
        assert!(fourth > Duration::from_millis(900) && fourth <= Duration::from_millis(1000));
        assert_eq!(
            store.reserve_now(&key(Bucket::General), limit),
            Admission::Go
        );
        // Another account's POLL is another bucket.
        assert_eq!(
            store.reserve_now(&BucketKey::new("other", Bucket::Poll), limit),
            Admission::Go
        );
    }

    #[test]
    fn an_absurdly_slow_limit_waits_instead_of_panicking() {
        let store = InMemoryStore::new();
        let limit = Some(BucketLimit {
            per_second: 1e-300,
            burst: 1,
        });
        let general = key(Bucket::General);
        assert_eq!(store.reserve_now(&general, limit), Admission::Go);
        assert!(store.reserve_now(&general, limit).wait() <= Duration::from_secs(1000));
    }

    #[test]
    fn pause_blocks_only_its_bucket_and_takes_nothing() {
        let store = InMemoryStore::new();
        let order = key(Bucket::Order);
        let limit = Some(BucketLimit::per_second(1.0));
        store.pause_until_now(&order, SystemTime::now() + Duration::from_secs(2));
        match store.reserve_now(&order, limit) {
            Admission::Paused { wait, window } => {
                assert!(wait > Duration::from_secs(1));
                assert!(window > Duration::from_millis(1900));
            }
            other => panic!("expected a pause, got {other:?}"),
        }
        assert!(store.pause_left_now(&order).is_some());
        assert_eq!(store.reserve_now(&key(Bucket::Poll), limit), Admission::Go);
        // A shorter pause does not shorten a longer one; one in the past does nothing.
        store.pause_until_now(&order, SystemTime::now() + Duration::from_millis(1));
        store.pause_until_now(&order, SystemTime::now() - Duration::from_secs(5));
        assert!(store.reserve_now(&order, limit).wait() > Duration::from_secs(1));
    }

    #[test]
    fn limit_lists_parse() {
        let limits =
            BucketLimit::parse_list("POLL=20/s,burst=1; order=5  GENERAL=0.5/s").expect("parses");
        assert_eq!(
            limits,
            vec![
                (
                    Bucket::Poll,
                    BucketLimit {
                        per_second: 20.0,
                        burst: 1
                    }
                ),
                (
                    Bucket::Order,
                    BucketLimit {
                        per_second: 5.0,
                        burst: 5
                    }
                ),
                (
                    Bucket::General,
                    BucketLimit {
                        per_second: 0.5,
                        burst: 1
                    }
                ),
            ]
        );
        for bad in [
            "POLL",
            "POLL=x",
            "FOO=1",
            "POLL=1,burst=0",
            "POLL=1,speed=2",
            "POLL=0",
        ] {
            assert!(BucketLimit::parse_list(bad).is_err(), "{bad}");
        }
        assert_eq!(BucketLimit::parse_list(" ").expect("empty").len(), 0);
    }

    #[test]
    fn server_limits_pause_only_when_none_are_left() {
        let now = SystemTime::now();
        let limits = ServerLimits {
            limit: Some(4.0),
            remaining: Some(0.0),
            reset: Some(now + Duration::from_secs(2)),
        };
        assert_eq!(
            limits.pause_until(now),
            Some(now + Duration::from_millis(500))
        );
        let some_left = ServerLimits {
            remaining: Some(1.0),
            ..limits
        };
        assert_eq!(some_left.pause_until(now), None);
    }

    #[test]
    fn namespaces_hide_the_key() {
        let key = ApiKey::new("sk_live_SECRET").expect("key");
        let a = BucketKey::namespace_for(&key, "https://a.example/");
        assert_eq!(a.len(), 32);
        assert!(!a.contains("SECRET"));
        assert_ne!(a, BucketKey::namespace_for(&key, "https://b.example/"));
        let other = ApiKey::new("sk_live_OTHER").expect("key");
        assert_ne!(a, BucketKey::namespace_for(&other, "https://a.example/"));
    }
}
