//! [`RedisStore`]: bucket state in Redis, shared by every process that uses the same API key.
//!
//! Each operation is one Lua script, run atomically by Redis on Redis's own clock
//! (`redis.call('TIME')`): workers whose clocks disagree still share one schedule, because
//! they only ever send and receive durations. Keys are `nexotp:rl:{<namespace>}:<BUCKET>`, a
//! hash per bucket holding `tat` (GCRA), `pause_until` and `pause_window` in microseconds of
//! Redis time; the namespace is a hash of the API key and base URL (never the key), in braces
//! so that a cluster keeps an account's buckets on one slot. Every key expires a minute after
//! its state stops mattering. A sorted set per namespace (`...:workers`) counts the stores that
//! reserved in the last 30 s, so that in an outage each worker takes its share of the limits.
//!
//! Redis is an optimisation, never a dependency of a call: each operation has a time limit of
//! a few milliseconds, and a store that fails or is slow answers [`StoreError`] at once, which
//! the client answers from its in-memory store. After a failure the store does not ask Redis
//! again for [`RETRY_AFTER_FAILURE`], so an outage costs the calls nothing; the redis crate's
//! `ConnectionManager` reconnects meanwhile.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::{Admission, BucketKey, BucketLimit, Pause, RateLimitStore, StoreError, async_trait};
use crate::error::{Error, Result};
use crate::lock;

/// Default time limit of one operation. A Redis on the same network answers in well under a
/// millisecond; past this the call is answered from the in-memory store instead.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(50);
/// How long a store that failed answers "unavailable" without asking Redis.
const RETRY_AFTER_FAILURE: Duration = Duration::from_millis(250);
/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a key outlives the state it holds.
const KEEP_MS: &str = "60000";

/// Reads Redis's clock in microseconds; keeps a key until its state is stale plus a minute.
const PRELUDE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function keep(key, last)
  local ms = math.floor(math.max(last - now, 0) / 1000) + tonumber(ARGV[#ARGV])
  redis.call('PEXPIRE', key, string.format('%d', ms))
end
";

/// KEYS: the bucket, the namespace's workers (a sorted set of store ids by last reservation).
/// ARGV: interval µs (0: no limit), tolerance µs, this store's id, keep ms. Returns {kind,
/// wait µs, window µs, workers}: kind 0 go, 1 paused, 2 reserved; workers seen in the last
/// 30 s.
const RESERVE: &str = r"
redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 30000000)
redis.call('PEXPIRE', KEYS[2], ARGV[#ARGV])
local workers = redis.call('ZCARD', KEYS[2])
local s = redis.call('HMGET', KEYS[1], 'pause_until', 'pause_window', 'tat')
local paused = tonumber(s[1]) or 0
if paused > now then
  return {1, paused - now, tonumber(s[2]) or 0, workers}
end
local interval = tonumber(ARGV[1])
if interval <= 0 then
  return {0, 0, 0, workers}
end
local tat = math.max(tonumber(s[3]) or 0, now)
local go_at = tat - tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat + interval))
keep(KEYS[1], tat + interval)
if go_at > now then
  return {2, go_at - now, 0, workers}
end
return {0, 0, 0, workers}
";

/// ARGV: pause length µs, keep ms. Never shortens a longer pause.
const PAUSE: &str = r"
local length = tonumber(ARGV[1])
local untl = now + length
local current = tonumber(redis.call('HGET', KEYS[1], 'pause_until')) or 0
if untl > current then
  redis.call('HSET', KEYS[1], 'pause_until', string.format('%.0f', untl),
    'pause_window', string.format('%.0f', length))
  local tat = tonumber(redis.call('HGET', KEYS[1], 'tat')) or 0
  keep(KEYS[1], math.max(untl, tat))
end
return {1}
";

/// ARGV: keep ms. Returns {left µs, window µs}, left 0 when not paused.
const PAUSE_LEFT: &str = r"
local s = redis.call('HMGET', KEYS[1], 'pause_until', 'pause_window')
local paused = tonumber(s[1]) or 0
if paused > now then
  return {paused - now, tonumber(s[2]) or 0}
end
return {0, 0}
";

/// A [`RateLimitStore`] in Redis (or Valkey, or anything that speaks its protocol and runs
/// Lua), so that every worker of a fleet sharing one API key shares its rate buckets.
///
/// ```no_run
/// # async fn run() -> nexotp::Result<()> {
/// use std::sync::Arc;
/// use nexotp::buckets::RedisStore;
///
/// let store = RedisStore::connect("redis://:password@redis.internal:6379/0").await?;
/// let client = nexotp::Client::builder()
///     .rate_limit_store(Arc::new(store))
///     .build()?;
/// # Ok(()) }
/// ```
///
/// `rediss://` uses TLS (rustls, the system's and the bundled roots). The password in the URL
/// never appears in `Debug`, logs or errors.
pub struct RedisStore {
    client: redis::Client,
    manager: OnceCell<ConnectionManager>,
    timeout: Duration,
    /// The URL without its password, for `Debug` and messages.
    shown: String,
    /// Texts never to show (the password, raw and percent-encoded).
    secrets: Vec<String>,
    retry_at: Mutex<Option<Instant>>,
    scripts: Scripts,
    /// This store's name among the workers of a namespace.
    id: String,
    /// Workers last seen per namespace.
    workers: Mutex<HashMap<String, u32>>,
}

struct Scripts {
    reserve: redis::Script,
    pause: redis::Script,
    pause_left: redis::Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shown)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store for `url` (`redis://[:password@]host[:port][/db]` or `rediss://...`) that
    /// connects on first use, from the runtime that first uses it. Fails only on a URL that
    /// is not a Redis URL; an unreachable server is an outage like any other (calls are answered
    /// from the in-memory store until it answers).
    pub fn new(url: &str) -> Result<RedisStore> {
        let bad = |why: &str| Error::invalid("rate_limit_store", why.to_owned());
        let parsed = url::Url::parse(url.trim())
            .map_err(|_| bad("is not a URL (expected redis://host:6379/0 or rediss://...)"))?;
        if !matches!(parsed.scheme(), "redis" | "rediss") {
            return Err(bad("must be a redis:// or rediss:// URL (or \"memory\")"));
        }
        let mut secrets = Vec::new();
        let mut shown = parsed.clone();
        if let Some(password) = parsed.password() {
            secrets.push(password.to_owned());
            if let Ok(decoded) = percent_encoding::percent_decode_str(password).decode_utf8() {
                secrets.push(decoded.into_owned());
            }
            // Cannot fail: the URL has a host, since it has a password.
            let _ = shown.set_password(Some("<redacted>"));
        }
        let client = redis::Client::open(parsed.as_str()).map_err(|e| {
            let mut message = e.to_string();
            for secret in &secrets {
                message = message.replace(secret.as_str(), "<redacted>");
            }
            bad(&format!("is not a usable Redis URL: {message}"))
        })?;
        Ok(RedisStore {
            client,
            manager: OnceCell::new(),
            timeout: DEFAULT_REDIS_TIMEOUT,
            shown: shown.to_string(),
            secrets,
            retry_at: Mutex::new(None),
            id: format!("{}-{:016x}", std::process::id(), fastrand::u64(..)),
            workers: Mutex::new(HashMap::new()),
            scripts: Scripts {
                reserve: redis::Script::new(&format!("{PRELUDE}{RESERVE}")),
                pause: redis::Script::new(&format!("{PRELUDE}{PAUSE}")),
                pause_left: redis::Script::new(&format!("{PRELUDE}{PAUSE_LEFT}")),
            },
        })
    }

    /// [`RedisStore::new`], then a first round trip (within a second): fails when the server
    /// cannot be reached now or refuses the password.
    pub async fn connect(url: &str) -> Result<RedisStore> {
        let store = RedisStore::new(url)?;
        let ping = async {
            let mut connection = store.manager().await?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        };
        let outcome = tokio::time::timeout(CONNECT_TIMEOUT, ping).await;
        let message = match outcome {
            Ok(Ok(_)) => return Ok(store),
            Ok(Err(e)) => store.describe(&e),
            Err(_) => format!("no answer within {} ms", CONNECT_TIMEOUT.as_millis()),
        };
        Err(Error::Connection {
            message: format!(
                "cannot reach the rate-limit store {}: {message}",
                store.shown
            ),
            retryable: true,
            source: None,
        })
    }

    /// The time limit of each operation (default [`DEFAULT_REDIS_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> RedisStore {
        self.timeout = timeout;
        self
    }

    /// The URL, without its password.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// The connection manager, made on first use (it needs the runtime).
    async fn manager(&self) -> redis::RedisResult<ConnectionManager> {
        self.manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(500));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
    }

    /// A redis error's message, without the password.
    fn describe(&self, e: &redis::RedisError) -> String {
        let mut message = e.to_string();
        for secret in &self.secrets {
            message = message.replace(secret.as_str(), "<redacted>");
        }
        message
    }

    /// Runs `script` on `key` within the time limit; after a failure, fails at once for a
    /// while.
    async fn run(
        &self,
        script: &redis::Script,
        key: &BucketKey,
        args: &[String],
    ) -> std::result::Result<Vec<i64>, StoreError> {
        if let Some(at) = *lock(&self.retry_at)
            && Instant::now() < at
        {
            return Err(StoreError::Unavailable(format!(
                "{} failed a moment ago; retrying shortly",
                self.shown
            )));
        }
        let redis_key = format!("nexotp:rl:{{{}}}:{}", key.namespace(), key.bucket());
        let workers_key = format!("nexotp:rl:{{{}}}:workers", key.namespace());
        let call = async {
            let mut connection = self.manager().await?;
            let mut invocation = script.key(redis_key);
            invocation.key(workers_key);
            for arg in args {
                invocation.arg(arg);
            }
            invocation.arg(KEEP_MS);
            invocation.invoke_async::<Vec<i64>>(&mut connection).await
        };
        let outcome = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(values)) => Ok(values),
            Ok(Err(e)) => Err(StoreError::Unavailable(format!(
                "{}: {}",
                self.shown,
                self.describe(&e)
            ))),
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        };
        *lock(&self.retry_at) = outcome
            .is_err()
            .then(|| Instant::now() + RETRY_AFTER_FAILURE);
        outcome
    }
}

fn micros(d: Duration) -> String {
    d.as_micros().to_string()
}

fn from_micros(n: i64) -> Duration {
    Duration::from_micros(u64::try_from(n).unwrap_or(0))
}

fn unexpected(values: &[i64]) -> StoreError {
    StoreError::Unexpected(format!("script answered {values:?}"))
}

#[async_trait]
impl RateLimitStore for RedisStore {
    async fn reserve(
        &self,
        key: &BucketKey,
        limit: Option<BucketLimit>,
    ) -> std::result::Result<Admission, StoreError> {
        let (interval, tolerance) = limit.map_or((Duration::ZERO, Duration::ZERO), |l| {
            (l.interval(), l.tolerance())
        });
        let values = self
            .run(
                &self.scripts.reserve,
                key,
                &[micros(interval), micros(tolerance), self.id.clone()],
            )
            .await?;
        if let Some(&workers) = values.get(3) {
            lock(&self.workers).insert(
                key.namespace().to_owned(),
                u32::try_from(workers).unwrap_or(1).max(1),
            );
        }
        match values[..] {
            [0, ..] => Ok(Admission::Go),
            [1, wait, window, _] => Ok(Admission::Paused {
                wait: from_micros(wait),
                window: from_micros(window),
            }),
            [2, wait, _, _] => Ok(Admission::Reserved {
                wait: from_micros(wait),
            }),
            _ => Err(unexpected(&values)),
        }
    }

    fn workers(&self, namespace: &str) -> u32 {
        lock(&self.workers).get(namespace).copied().unwrap_or(1)
    }

    async fn pause_left(&self, key: &BucketKey) -> std::result::Result<Option<Pause>, StoreError> {
        let values = self.run(&self.scripts.pause_left, key, &[]).await?;
        match values[..] {
            [left, window] => Ok((left > 0).then(|| Pause {
                left: from_micros(left),
                window: from_micros(window),
            })),
            _ => Err(unexpected(&values)),
        }
    }

    async fn pause_until(
        &self,
        key: &BucketKey,
        until: SystemTime,
    ) -> std::result::Result<(), StoreError> {
        // Only the time left travels: Redis puts it on its own clock.
        let Ok(length) = until.duration_since(SystemTime::now()) else {
            return Ok(());
        };
        self.run(&self.scripts.pause, key, &[micros(length)])
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let store = RedisStore::new("redis://:s3cr%40t@127.0.0.1:1/0").expect("url");
        let shown = format!("{store:?} {}", store.url());
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(shown.contains("127.0.0.1:1"));
        for bad in ["http://x/", "nonsense", "memory://"] {
            let err = RedisStore::new(bad).expect_err(bad);
            assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        }
    }
}
