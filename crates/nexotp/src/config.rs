//! Client configuration and its builder.
//!
//! Everything a caller can get wrong is checked in [`ClientBuilder::build`], so a client that
//! exists is a client that can send: a missing key fails at construction, not on the first call,
//! and a plain-HTTP base URL is refused unless it points at this machine.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::buckets::{self, Bucket, BucketLimit, InMemoryStore, RateLimitStore};
use crate::error::{Error, Result};
use crate::network::{CertificateSource, NetworkConfig, NetworkOptions, TlsRoots};
use crate::observe::{self, RequestObserver};
use crate::validate;

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://visualtrinitystudio.xyz/wp-json/nexotp/v1/";
/// Environment variable read for the API key.
pub const ENV_API_KEY: &str = "NEXOTP_API_KEY";
/// Environment variable read for the base URL.
pub const ENV_BASE_URL: &str = "NEXOTP_BASE_URL";
/// Environment variable read for the rate-limit store: `redis://host:6379/0`, `rediss://...`
/// or `memory` (the default).
pub const ENV_RATE_LIMIT_STORE: &str = "NEXOTP_RATE_LIMIT_STORE";
/// Environment variable read for client-side limits: `POLL=20/s,burst=1; ORDER=5/s` (see
/// [`BucketLimit::parse_list`]).
pub const ENV_RATE_LIMITS: &str = "NEXOTP_RATE_LIMITS";
/// Default time allowed for one attempt (connect, send, and read the whole answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time allowed to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Default delay before the first retry (doubled for each later one, with jitter).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Default longest delay between retries.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Largest response body accepted.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Longest `Retry-After` the client waits out by itself; a longer one fails at once.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The SDK version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// An API key. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// Wraps a key after checking it can travel in a header.
    pub fn new(key: impl Into<String>) -> Result<ApiKey> {
        let key: String = key.into();
        let trimmed = key.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid(
                "api_key",
                "must not be empty (pass it or set NEXOTP_API_KEY)",
            ));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || !c.is_ascii())
        {
            return Err(Error::invalid(
                "api_key",
                "must be printable ASCII without spaces (check for a stray newline or quote)",
            ));
        }
        Ok(ApiKey(Arc::from(trimmed)))
    }

    /// The key itself, for the request header. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A rate-limit store's URL. Its `Debug` never shows a password.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreUrl(Arc<str>);

impl StoreUrl {
    /// The URL itself, password included, to build another store from. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("<redacted>"));
                write!(f, "StoreUrl({:?})", url.as_str())
            }
            Ok(url) => write!(f, "StoreUrl({:?})", url.as_str()),
            Err(_) => f.write_str("StoreUrl(<unparsed>)"),
        }
    }
}

/// The settings a [`Client`](crate::Client) runs with. Read it with
/// [`Client::config`](crate::Client::config); change it with the builder or
/// [`Client::with_options`](crate::Client::with_options).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The API key (redacted in `Debug`).
    pub api_key: ApiKey,
    /// The base URL, always ending in `/`.
    pub base_url: String,
    /// Time allowed for one attempt.
    pub timeout: Duration,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Time allowed for a whole call (every attempt, backoff and 429 wait), when set.
    pub deadline: Option<Duration>,
    /// Delay before the first retry (doubled for each later one, with jitter).
    pub initial_backoff: Duration,
    /// Longest delay between retries.
    pub max_backoff: Duration,
    /// The `User-Agent` header sent.
    pub user_agent: String,
    /// How the API is reached: HTTP version, TLS trust, proxy, connection cap, idle pool.
    pub network: NetworkConfig,
    /// Client-side limits, by bucket, passed to the store with every reservation.
    pub bucket_limits: Vec<(Bucket, BucketLimit)>,
    /// The URL the rate-limit store was made from, when it was made from one (set by
    /// [`ClientBuilder::rate_limit_store_url`] or `NEXOTP_RATE_LIMIT_STORE`; `None` for the
    /// default in-memory store or a store given as an object).
    pub rate_limit_store: Option<StoreUrl>,
}

impl ClientConfig {
    /// A builder holding every setting of this config (key, base URL, timeouts, retries,
    /// deadline, backoff, user agent, network), to build an equal client with a fresh
    /// connection pool, e.g. in a child process after `fork()`. Client-side bucket limits and a
    /// rate-limit store given by URL come along (the store reconnects); a store given as an
    /// object and observers are set on the builder again (or left at their defaults).
    pub fn to_builder(&self) -> ClientBuilder {
        let mut builder = ClientBuilder::new()
            .api_key(self.api_key.expose())
            .base_url(self.base_url.clone())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .max_retries(self.max_retries)
            .initial_backoff(self.initial_backoff)
            .max_backoff(self.max_backoff)
            .network(self.network.clone());
        builder.user_agent = Some(self.user_agent.clone());
        if let Some(deadline) = self.deadline {
            builder = builder.deadline(deadline);
        }
        // A store given by URL is opened afresh (a forked child must not share the parent's
        // Redis connection); a store given as an object is not carried over.
        if let Some(url) = &self.rate_limit_store {
            builder = builder.rate_limit_store_url(url.expose());
        }
        for (bucket, limit) in &self.bucket_limits {
            builder = builder.bucket_limit(*bucket, *limit);
        }
        builder
    }
}

/// Options that [`Client::with_options`](crate::Client::with_options) may change while keeping
/// the same connection pool and rate buckets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Time allowed for one attempt.
    pub timeout: Option<Duration>,
    /// Retries after the first attempt.
    pub max_retries: Option<u32>,
    /// Time allowed for a whole call: every attempt, backoff and 429 wait.
    pub deadline: Option<Duration>,
}

impl RequestOptions {
    /// No changes.
    pub fn new() -> RequestOptions {
        RequestOptions::default()
    }

    /// Time allowed for one attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries after the first attempt.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// Time allowed for a whole call: every attempt, backoff and 429 wait.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }
}

/// Builds a [`Client`](crate::Client).
///
/// ```no_run
/// # fn main() -> nexotp::Result<()> {
/// let client = nexotp::Client::builder()
///     .api_key("sk_live_...")
///     .timeout(std::time::Duration::from_secs(10))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    max_retries: Option<u32>,
    deadline: Option<Duration>,
    initial_backoff: Option<Duration>,
    max_backoff: Option<Duration>,
    language: Option<(String, String)>,
    /// The exact user agent of the config a builder came from ([`ClientConfig::to_builder`]).
    user_agent: Option<String>,
    /// `NEXOTP_API_KEY` and `NEXOTP_BASE_URL` as the host language read them, in place of the
    /// process environment ([`ClientBuilder::environment`]).
    environment: Option<(Option<String>, Option<String>)>,
    limits: Vec<(Bucket, BucketLimit)>,
    store: Option<Arc<dyn RateLimitStore>>,
    store_url: Option<String>,
    observers: Vec<Arc<dyn RequestObserver>>,
    log_from_env: bool,
    network: NetworkOptions,
    reqwest_builder: Option<reqwest::ClientBuilder>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_retries", &self.max_retries)
            .field("deadline", &self.deadline)
            .field("limits", &self.limits)
            .field("store", &self.store)
            .field(
                "store_url",
                &self.store_url.as_ref().map(|u| StoreUrl(u.as_str().into())),
            )
            .field("http2", &self.network.http2)
            .field("tls_roots", &self.network.tls_roots)
            .field("ca_certificates", &self.network.ca_certificates)
            .field("proxy", &self.network.proxy.as_ref().map(|_| "<set>"))
            .field(
                "max_connections_per_host",
                &self.network.max_connections_per_host,
            )
            .field("reqwest_builder", &self.reqwest_builder.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(crate) fn new() -> ClientBuilder {
        ClientBuilder {
            log_from_env: true,
            ..ClientBuilder::default()
        }
    }

    /// The API key. Without it, `NEXOTP_API_KEY` is read.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The base URL. Without it, `NEXOTP_BASE_URL` is read, else production is used.
    /// HTTPS is required unless the host is loopback (`localhost`, `127.0.0.0/8`, `::1`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Time allowed for one attempt (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Time allowed to open a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Retries after the first attempt (default 2).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// Time allowed for each whole call: every attempt, backoff and 429 wait (default: none,
    /// each attempt has `timeout` and retries are bounded by `max_retries`).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Delay before the first retry, doubled for each later one up to
    /// [`Self::max_backoff`], with jitter (default 0.5 s).
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = Some(delay);
        self
    }

    /// Longest delay between retries (default 8 s).
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = Some(delay);
        self
    }

    /// Names the SDK language and runtime in the user agent, e.g. `("python", "CPython 3.11.7")`
    /// gives `nexotp-python/0.1.0 (CPython 3.11.7; linux)`. Bindings call this.
    pub fn sdk_language(mut self, language: impl Into<String>, runtime: impl Into<String>) -> Self {
        self.language = Some((language.into(), runtime.into()));
        self
    }

    /// The values of `NEXOTP_API_KEY` and `NEXOTP_BASE_URL` as the host language sees them
    /// (Node's `process.env`, which a worker thread may have changed), read instead of the
    /// process environment. The fallback rules stay the core's: a key or URL given to the
    /// builder wins; an unset or blank `NEXOTP_BASE_URL` means production.
    pub fn environment(mut self, api_key: Option<String>, base_url: Option<String>) -> Self {
        self.environment = Some((api_key, base_url));
        self
    }

    /// A client-side limit for one bucket: calls over it queue rather than fail. With a shared
    /// store ([`Self::rate_limit_store`]) the limit is the whole fleet's: give every worker the
    /// same limits. Without any, `NEXOTP_RATE_LIMITS` is read (e.g. `POLL=20/s; ORDER=5/s`).
    pub fn bucket_limit(mut self, bucket: Bucket, limit: BucketLimit) -> Self {
        self.limits.retain(|(b, _)| *b != bucket);
        self.limits.push((bucket, limit));
        self
    }

    /// Where the rate buckets live (default: in this process). A store shared by several
    /// processes, such as [`RedisStore`](crate::buckets), makes a fleet of workers behind one
    /// API key share its limits: the 429s and pauses one worker meets, and the client-side
    /// limits ([`Self::bucket_limit`], passed with every reservation). Wins over
    /// [`Self::rate_limit_store_url`] and `NEXOTP_RATE_LIMIT_STORE`.
    pub fn rate_limit_store(mut self, store: Arc<dyn RateLimitStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The rate-limit store by URL: `redis://[:password@]host:6379/0`, `rediss://...` (TLS), or
    /// `memory`. A Redis store connects on first use; while it cannot be reached, calls use
    /// this process's buckets (see [`crate::buckets`]). Without it (and without
    /// [`Self::rate_limit_store`]), `NEXOTP_RATE_LIMIT_STORE` is read.
    pub fn rate_limit_store_url(mut self, url: impl Into<String>) -> Self {
        self.store_url = Some(url.into());
        self
    }

    /// Adds an observer told about every attempt (method, path, status, elapsed).
    pub fn observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Whether `NEXOTP_LOG=debug` turns on a one-line-per-request log on stderr (default on).
    pub fn log_from_env(mut self, enabled: bool) -> Self {
        self.log_from_env = enabled;
        self
    }

    /// Whether HTTP/2 is offered to the server (default `true`). Over TLS the server picks by
    /// ALPN: HTTP/2 when it offers it, HTTP/1.1 otherwise. `false` forces HTTP/1.1, e.g. for a
    /// proxy or load balancer that mishandles HTTP/2. A plain-HTTP (loopback) base URL always
    /// speaks HTTP/1.1.
    pub fn http2(mut self, enabled: bool) -> Self {
        self.network.http2 = Some(enabled);
        self
    }

    /// Which built-in root certificates are trusted (default [`TlsRoots::Bundled`], the same
    /// on every machine); [`TlsRoots::System`] reads the operating system's store instead.
    pub fn tls_roots(mut self, roots: TlsRoots) -> Self {
        self.network.tls_roots = Some(roots);
        self
    }

    /// Also trusts these CA certificates (e.g. a company proxy's root): PEM text, or a PEM file
    /// read by [`Self::build`]; see [`CertificateSource`] for what a string means. May be called
    /// several times; every certificate is checked by `build`.
    pub fn ca_certificates(mut self, source: impl Into<CertificateSource>) -> Self {
        self.network.ca_certificates.push(source.into());
        self
    }

    /// Sends every request through this proxy: `http://host:port`, `https://host:port`, with
    /// optional credentials `http://user:pass@host:port` (percent-encoded). HTTPS requests go
    /// through it with `CONNECT`. The password never appears in `Debug`, logs or errors.
    ///
    /// Without it, `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and `NO_PROXY` (or their lowercase
    /// forms) are honoured, except for a loopback base URL, which is always reached directly.
    /// Given here, the proxy carries every request, a loopback base URL's included.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.network.proxy = Some(url.into());
        self
    }

    /// Most requests in flight to the API's host at once (default 32): more calls wait for a
    /// turn (within their deadline) instead of opening more connections, so 500 concurrent
    /// calls use about this many HTTP/1.1 connections (over HTTP/2 they share one). Between
    /// 1 and 4096. A turn is held from sending until the whole answer is read; hyper returns
    /// the connection to its pool from its own task a moment later, so on a CPU-starved
    /// machine a turn handed on before that can open a few more connections than the cap.
    pub fn max_connections_per_host(mut self, n: usize) -> Self {
        self.network.max_connections_per_host = Some(n);
        self
    }

    /// How long an idle connection stays in the pool (default 60 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.network.pool_idle_timeout = Some(timeout);
        self
    }

    /// Most idle connections kept per host (default: `max_connections_per_host`); 0 keeps
    /// none, opening a connection per request.
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.network.pool_max_idle_per_host = Some(n);
        self
    }

    /// Every network setting at once, e.g. another client's
    /// ([`ClientConfig::network`]); settings given with the other methods win over it.
    pub fn network(mut self, network: NetworkConfig) -> Self {
        self.network.base = Some(network);
        self
    }

    /// The escape hatch: builds the HTTP client from your `reqwest::ClientBuilder` (a DNS
    /// override, a local address, a client certificate, TCP keep-alive, HTTP/2 tuning, ...).
    ///
    /// The SDK's own settings are applied on top and win where both set the same thing: its
    /// headers (`Accept`, the API key, `User-Agent`; other default headers you set are kept),
    /// no redirects, the connect timeout and each attempt's timeout, the TLS roots
    /// ([`Self::tls_roots`]; extra certificates of yours are kept, the SDK's added), HTTP/1.1
    /// only when [`Self::http2`] is off, the idle-pool settings, and proxies: for a loopback
    /// base URL yours are cleared (the key would travel in clear text) and [`Self::proxy`], when
    /// set, is added. The connection cap ([`Self::max_connections_per_host`]) is the SDK's.
    pub fn reqwest_builder(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.reqwest_builder = Some(builder);
        self
    }

    /// Checks everything and builds the client. Creates no runtime and opens no connection.
    pub fn build(self) -> Result<crate::Client> {
        let (env_key, env_url) = match self.environment {
            Some(values) => values,
            None => (
                std::env::var(ENV_API_KEY).ok(),
                std::env::var(ENV_BASE_URL).ok(),
            ),
        };
        let key = self.api_key.or(env_key).ok_or_else(|| {
            Error::invalid(
                "api_key",
                "is required: pass it or set the NEXOTP_API_KEY environment variable",
            )
        })?;
        let api_key = ApiKey::new(key)?;
        let base_url = match self.base_url {
            Some(url) => url,
            None => env_url
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
        };
        let base_url = normalize_base_url(&base_url)?;
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        validate::positive_duration("timeout", timeout)?;
        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        validate::positive_duration("connect_timeout", connect_timeout)?;
        if let Some(deadline) = self.deadline {
            validate::positive_duration("deadline", deadline)?;
        }
        let initial_backoff = self.initial_backoff.unwrap_or(DEFAULT_INITIAL_BACKOFF);
        let max_backoff = self.max_backoff.unwrap_or(DEFAULT_MAX_BACKOFF);
        if max_backoff < initial_backoff {
            return Err(Error::invalid(
                "max_backoff",
                "must not be shorter than initial_backoff",
            ));
        }
        let bucket_limits = if self.limits.is_empty() {
            match env_value(ENV_RATE_LIMITS) {
                Some(text) => BucketLimit::parse_list(&text)?,
                None => Vec::new(),
            }
        } else {
            self.limits
        };
        for (bucket, limit) in &bucket_limits {
            limit.check(*bucket)?;
        }
        let (store, rate_limit_store) = match self.store {
            Some(store) => (store, None),
            None => match self.store_url.or_else(|| env_value(ENV_RATE_LIMIT_STORE)) {
                Some(url) => (
                    buckets::store_from_url(&url)?,
                    Some(StoreUrl(url.trim().into())),
                ),
                None => (
                    Arc::new(InMemoryStore::new()) as Arc<dyn RateLimitStore>,
                    None,
                ),
            },
        };
        let user_agent = match self.user_agent {
            Some(agent) => agent,
            None => user_agent(self.language.as_ref()),
        };
        let network = self.network.resolve()?;
        let config = ClientConfig {
            api_key,
            base_url,
            timeout,
            connect_timeout,
            max_retries: self.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
            deadline: self.deadline,
            initial_backoff,
            max_backoff,
            user_agent,
            network,
            bucket_limits,
            rate_limit_store,
        };
        let mut observers = self.observers;
        if self.log_from_env
            && let Some(logger) = observe::StderrLogger::from_env()
        {
            observers.push(Arc::new(logger));
        }
        crate::Client::from_parts(config, store, observers, self.reqwest_builder)
    }
}

/// An environment variable's value, when set and not blank.
fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn user_agent(language: Option<&(String, String)>) -> String {
    let os = std::env::consts::OS;
    let agent = match language {
        Some((lang, runtime)) => format!("nexotp-{lang}/{VERSION} ({runtime}; {os})"),
        None => format!("nexotp-rust/{VERSION} (rust; {os})"),
    };
    // A header value must be visible ASCII: a runtime name with other characters must not
    // make the client impossible to build.
    agent
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Checks a base URL by the client's rules (HTTPS unless loopback, no credentials, query or
/// fragment) and returns it as the client would use it, ending in one `/`. For tools that store
/// a URL before any client is built (the CLI's `config set base-url`).
pub fn check_base_url(raw: &str) -> Result<String> {
    normalize_base_url(raw)
}

/// Parses the base URL, requires HTTPS unless the host is loopback, and ends it with `/`.
pub(crate) fn normalize_base_url(raw: &str) -> Result<String> {
    let url = url::Url::parse(raw.trim())
        .map_err(|e| Error::invalid("base_url", format!("is not a valid URL: {e}")))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(
            "base_url",
            "must not have a query or fragment",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            "base_url",
            "must not carry credentials; pass the API key separately",
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::invalid(
                "base_url",
                "must use https (plain http is allowed only for localhost / loopback addresses)",
            ));
        }
        other => {
            return Err(Error::invalid(
                "base_url",
                format!("must use https, not {other:?}"),
            ));
        }
    }
    // WordPress answers 404 to `//`: end with exactly one slash.
    let mut s = url.to_string().trim_end_matches('/').to_owned();
    s.push('/');
    Ok(s)
}

/// Whether the URL's host is this machine.
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        assert_eq!(
            normalize_base_url("http://127.0.0.1:8080/wp-json/nexotp/v1").ok(),
            Some("http://127.0.0.1:8080/wp-json/nexotp/v1/".to_owned())
        );
        assert!(normalize_base_url("http://[::1]:1/x/").is_ok());
        assert!(normalize_base_url("http://localhost/").is_ok());
        assert!(normalize_base_url("http://example.com/").is_err());
        assert!(normalize_base_url("ftp://example.com/").is_err());
        assert!(normalize_base_url("https://u:p@example.com/").is_err());
        assert!(normalize_base_url("https://example.com/?a=1").is_err());
    }

    #[test]
    fn to_builder_rebuilds_the_same_config() {
        let client = ClientBuilder::new()
            .api_key("sk_test_fork")
            .base_url("http://127.0.0.1:9/x")
            .timeout(Duration::from_secs(7))
            .connect_timeout(Duration::from_secs(3))
            .max_retries(5)
            .deadline(Duration::from_secs(40))
            .initial_backoff(Duration::from_millis(10))
            .max_backoff(Duration::from_millis(20))
            .sdk_language("python", "CPython 3.12.0")
            .http2(false)
            .log_from_env(false)
            .build()
            .expect("builds");
        let a = client.config();
        let rebuilt = a.to_builder().build().expect("rebuilds");
        let b = rebuilt.config();
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert!(b.user_agent.starts_with("nexotp-python/"));
    }

    #[test]
    fn environment_values_follow_the_core_rules() {
        let built = |key: Option<&str>, url: Option<&str>| {
            ClientBuilder::new()
                .environment(key.map(str::to_owned), url.map(str::to_owned))
                .log_from_env(false)
                .build()
        };
        let blank = built(Some("sk_env"), Some("   ")).expect("a blank URL is ignored");
        assert_eq!(blank.config().base_url, DEFAULT_BASE_URL);
        let local = built(Some("sk_env"), Some("http://localhost:1/v1")).expect("builds");
        assert_eq!(local.config().base_url, "http://localhost:1/v1/");
        assert!(built(None, None).is_err());
        let given = ClientBuilder::new()
            .api_key("sk_given")
            .base_url("http://localhost:2/")
            .environment(None, Some("http://localhost:3/".into()))
            .build()
            .expect("builds");
        assert_eq!(given.config().base_url, "http://localhost:2/");
    }

    #[test]
    fn key_is_redacted_and_checked() {
        let key = ApiKey::new("sk_live_secret").expect("valid key");
        assert!(!format!("{key:?} {key}").contains("secret"));
        assert!(ApiKey::new("  ").is_err());
        assert!(ApiKey::new("a b").is_err());
        assert_eq!(
            ApiKey::new("abc\n").map(|k| k.expose().to_owned()).ok(),
            Some("abc".into())
        );
    }
}
