//! Configuration and the builder that starts a sandbox.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::faults::Faults;
use crate::handle::SandboxHandle;
use crate::rate_limit::{Bucket, RateLimit};
use crate::state::StateConfig;

/// The API key a sandbox accepts unless told otherwise.
pub const DEFAULT_API_KEY: &str = "sk_test_sandbox";

/// The default seed.
pub const DEFAULT_SEED: u64 = 42;

/// How many requests the request log keeps by default (the oldest are forgotten first).
pub const DEFAULT_REQUEST_LOG_LIMIT: usize = 10_000;

/// Longer delays are cut to this (about 10 years), so that deadline arithmetic cannot overflow.
const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Everything a running sandbox was started with; `reset` returns to it.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub api_key: String,
    pub seed: u64,
    pub code_delay: Duration,
    pub code_delay_spread: Duration,
    pub order_ttl: Duration,
    pub initial_balance: Decimal,
    pub stock: Option<u32>,
    pub countries: usize,
    pub rate_limits: [Option<RateLimit>; 3],
    pub faults: Faults,
    pub request_log_limit: usize,
    pub log_requests: bool,
}

impl Config {
    /// The part the state needs.
    pub fn state(&self) -> StateConfig {
        StateConfig {
            seed: self.seed,
            code_delay: self.code_delay,
            code_delay_spread: self.code_delay_spread,
            order_ttl: self.order_ttl,
            initial_balance: self.initial_balance,
            stock: self.stock,
            countries: self.countries,
        }
    }
}

/// Builds and starts a sandbox: `Sandbox::builder().seed(7).start().await?`.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `start` is awaited"]
pub struct SandboxBuilder {
    config: Config,
    host: String,
    port: u16,
    bind: Option<SocketAddr>,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        SandboxBuilder {
            config: Config {
                api_key: DEFAULT_API_KEY.to_string(),
                seed: DEFAULT_SEED,
                code_delay: Duration::from_secs(2),
                code_delay_spread: Duration::ZERO,
                order_ttl: Duration::from_secs(20 * 60),
                initial_balance: Decimal::new(2500, 2),
                stock: None,
                countries: 0,
                rate_limits: [None, None, None],
                faults: Faults::default(),
                request_log_limit: DEFAULT_REQUEST_LOG_LIMIT,
                log_requests: false,
            },
            host: "127.0.0.1".to_string(),
            port: 0,
            bind: None,
        }
    }
}

impl SandboxBuilder {
    /// The API key requests must carry in `X-NexOTP-API-Key` (default [`DEFAULT_API_KEY`]).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.config.api_key = key.into();
        self
    }

    /// The seed of the catalogue, phone numbers, codes, secrets and random faults (default 42).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Time from order creation (or resend) to the code's arrival (default 2 s).
    pub fn code_delay(mut self, delay: Duration) -> Self {
        self.config.code_delay = delay.min(MAX_DURATION);
        self
    }

    /// Spreads code arrivals: each order's code comes `code_delay` plus a seeded share (0 to
    /// 100 %) of `spread` after creation or resend (default 0: all after exactly
    /// `code_delay`). `code_delay(1 s)` with `code_delay_spread(30 s)` makes the codes of
    /// thousands of orders arrive evenly over 30 seconds.
    pub fn code_delay_spread(mut self, spread: Duration) -> Self {
        self.config.code_delay_spread = spread.min(MAX_DURATION);
        self
    }

    /// Time after which a pending order expires and is refunded (default 20 min).
    pub fn order_ttl(mut self, ttl: Duration) -> Self {
        self.config.order_ttl = ttl.min(MAX_DURATION);
        self
    }

    /// The starting wallet balance (default 25.00), recorded as a `deposit` transaction.
    pub fn initial_balance(mut self, balance: Decimal) -> Self {
        self.config.initial_balance = balance;
        self
    }

    /// Numbers in stock in every pool at the start (default: seeded, 100 to 500 per pool), for
    /// tests that place thousands of orders. The out-of-stock pair ([`crate::NO_STOCK`]) keeps
    /// none.
    pub fn stock(mut self, numbers: u32) -> Self {
        self.config.stock = Some(numbers);
        self
    }

    /// Countries in the catalogue (default: the five named ones). A larger number appends
    /// made-up countries (`cty_x0005`, "Sample Country 5", ...) after the named ones, so that
    /// `GET /countries` answers with a long list: 250 countries make a ~20 KB answer, which
    /// `scripts/bench` uses. Smaller numbers keep the five named countries.
    pub fn countries(mut self, countries: usize) -> Self {
        self.config.countries = countries;
        self
    }

    /// Limits a bucket to `per_second` requests per second (burst of the same size, at least 1).
    pub fn rate_limit(mut self, bucket: Bucket, per_second: f64) -> Self {
        self.config.rate_limits[bucket as usize] = Some(RateLimit::new(per_second));
        self
    }

    /// Limits a bucket with a full [`RateLimit`] (burst, `Retry-After` override).
    pub fn rate_limit_with(mut self, bucket: Bucket, limit: RateLimit) -> Self {
        self.config.rate_limits[bucket as usize] = Some(limit);
        self
    }

    /// Faults to inject from the start.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.config.faults = faults;
        self
    }

    /// How many requests [`SandboxHandle::requests`] keeps (default 10 000; 0 records none).
    /// Raise it for tests that send more (a kept request costs well under a kilobyte).
    pub fn request_log_limit(mut self, limit: usize) -> Self {
        self.config.request_log_limit = limit;
        self
    }

    /// Prints one line per API request to stdout (the binary's `--verbose`).
    pub fn log_requests(mut self, on: bool) -> Self {
        self.config.log_requests = on;
        self
    }

    /// The host or IP to listen on (default `127.0.0.1`; `localhost` means `127.0.0.1`).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self.bind = None;
        self
    }

    /// The port to listen on (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self.bind = None;
        self
    }

    /// The exact address to listen on (overrides `host` and `port`).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = Some(addr);
        self
    }

    fn address(&self) -> io::Result<SocketAddr> {
        if let Some(addr) = self.bind {
            return Ok(addr);
        }
        crate::httpd::listen_addr(&self.host, self.port)
    }

    /// Binds the listener and starts serving. Must be called within a tokio runtime; the server
    /// runs on that runtime until [`SandboxHandle::shutdown`] or until the handle is dropped.
    pub async fn start(self) -> io::Result<SandboxHandle> {
        let addr = self.address()?;
        SandboxHandle::start(self.config, addr).await
    }
}
