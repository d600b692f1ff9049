//! The shared server state behind every connection: configuration, the world (`State`), faults,
//! rate limiter, request log, counters, the console's feed, and the HTTP client for webhook deliveries. Each part has its own
//! `std::sync::Mutex` so that a poll does not wait on, say, the request log; flags let the hot
//! path skip the fault and rate-limit locks when nothing is configured.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::config::Config;
use crate::console::{Answered, Feed};
use crate::faults::{FaultKind, FaultState, Faults};
use crate::rate_limit::{Bucket, Decision, RateLimit, RateLimiter};
use crate::recorder::{RecordedRequest, RequestLog};
use crate::state::State;
use crate::stats::SandboxStats;
use crate::util::{hash, lock};
use crate::webhooks;

/// Everything the request handlers share.
pub(crate) struct App {
    pub config: Config,
    state: Mutex<State>,
    faults: Mutex<FaultState>,
    faults_active: AtomicBool,
    limiter: Mutex<RateLimiter>,
    limits_active: AtomicBool,
    log: Mutex<RequestLog>,
    stats: Mutex<SandboxStats>,
    request_seq: AtomicU64,
    /// Wakes the lifecycle ticker when a new deadline may be earlier than the one it sleeps to.
    pub ticker: Notify,
    /// Client for webhook deliveries, built by the first one: loading the TLS root certificates
    /// is most of a sandbox's start-up time otherwise (tens of milliseconds), and most
    /// sandboxes (a test's) never deliver a webhook.
    http: OnceLock<reqwest::Client>,
    /// What the console's event streams wait on and show.
    pub feed: Feed,
    runtime: tokio::runtime::Handle,
}

impl App {
    /// A fresh app for this configuration; must run inside a tokio runtime.
    pub fn new(config: Config) -> std::io::Result<Self> {
        let app = App {
            state: Mutex::new(State::new(config.state(), 0)),
            faults: Mutex::new(FaultState::new(Faults::default(), config.seed)),
            faults_active: AtomicBool::new(false),
            limiter: Mutex::new(RateLimiter::default()),
            limits_active: AtomicBool::new(false),
            log: Mutex::new(RequestLog::new(config.request_log_limit)),
            stats: Mutex::new(SandboxStats::default()),
            request_seq: AtomicU64::new(0),
            ticker: Notify::new(),
            http: OnceLock::new(),
            feed: Feed::new(),
            runtime: tokio::runtime::Handle::current(),
            config,
        };
        app.set_faults(app.config.faults.clone());
        for b in Bucket::ALL {
            app.set_rate_limit(b, app.config.rate_limits[b as usize].clone());
        }
        Ok(app)
    }

    /// The client for webhook deliveries (built on first use).
    pub fn http(&self) -> Result<&reqwest::Client, reqwest::Error> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()?;
        Ok(self.http.get_or_init(|| client))
    }

    /// Runs `f` on the world, then spawns the webhook deliveries it queued (after unlocking)
    /// and tells the console.
    pub fn with_state<R>(self: &Arc<Self>, f: impl FnOnce(&mut State) -> R) -> R {
        let result = self.peek_state(f);
        self.feed.touch();
        result
    }

    /// [`App::with_state`] without telling the console (the console's own reads).
    pub fn peek_state<R>(self: &Arc<Self>, f: impl FnOnce(&mut State) -> R) -> R {
        let (result, jobs) = {
            let mut state = lock(&self.state);
            let result = f(&mut state);
            let jobs = if state.outbox.is_empty() {
                Vec::new()
            } else {
                std::mem::take(&mut state.outbox)
            };
            (result, jobs)
        };
        for job in jobs {
            self.runtime.spawn(webhooks::deliver(self.clone(), job));
        }
        result
    }

    /// A new request id, `req_` + 16 hex digits (deterministic sequence per seed).
    pub fn request_id(&self) -> String {
        let n = self.request_seq.fetch_add(1, Ordering::Relaxed);
        format!("req_{:016x}", hash(self.config.seed, &[9, n]))
    }

    /// A Cloudflare-style Ray ID for an injected 52x page (16 hex digits, seeded).
    pub fn ray_id(&self) -> String {
        let n = self.request_seq.load(Ordering::Relaxed);
        format!("{:016x}", hash(self.config.seed, &[0xCF, n]))
    }

    /// Whether any fault is configured (lets the hot path skip the lock).
    pub fn faults_active(&self) -> bool {
        self.faults_active.load(Ordering::Relaxed)
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        let mut f = lock(&self.faults);
        self.faults_active
            .store(!faults.is_empty(), Ordering::Relaxed);
        f.faults = faults;
        drop(f);
        self.feed.touch();
    }

    /// The current faults (with the script as consumed so far).
    pub fn faults(&self) -> Faults {
        lock(&self.faults).faults.clone()
    }

    /// Picks the fault for one request (counting it) and returns it with the added latency.
    pub fn pick_fault(&self, method: &str, route: Option<&str>) -> (Option<FaultKind>, u64) {
        let (fault, latency) = {
            let mut f = lock(&self.faults);
            let fault = f.pick(method, route);
            self.faults_active
                .store(!f.faults.is_empty(), Ordering::Relaxed);
            (fault, f.faults.latency_ms)
        };
        if let Some(kind) = &fault {
            lock(&self.stats).count_fault(kind.name());
        }
        (fault, latency)
    }

    /// Sets or removes a bucket's limit.
    pub fn set_rate_limit(&self, bucket: Bucket, limit: Option<RateLimit>) {
        let mut l = lock(&self.limiter);
        l.set(bucket, limit);
        self.limits_active.store(l.any(), Ordering::Relaxed);
        drop(l);
        self.feed.touch();
    }

    /// The configured limits, indexed like [`Bucket::ALL`].
    pub fn rate_limits(&self) -> [Option<RateLimit>; 3] {
        lock(&self.limiter).limits()
    }

    /// Takes a token from a bucket (a refusal is counted).
    pub fn rate(&self, bucket: Bucket, now: Instant, unix_ms: u64) -> Decision {
        if !self.limits_active.load(Ordering::Relaxed) {
            return Decision::Unlimited;
        }
        let decision = lock(&self.limiter).take(bucket, now, unix_ms);
        if matches!(decision, Decision::Limited(_)) {
            lock(&self.stats).count_rate_limited(bucket);
        }
        decision
    }

    /// Updates the counters.
    pub fn count(&self, f: impl FnOnce(&mut SandboxStats)) {
        f(&mut lock(&self.stats));
    }

    /// The counters.
    pub fn stats(&self) -> SandboxStats {
        lock(&self.stats).clone()
    }

    /// Sets every counter back to zero.
    pub fn clear_stats(&self) {
        *lock(&self.stats) = SandboxStats::default();
        self.feed.touch();
    }

    /// Whether requests are recorded.
    pub fn recording(&self) -> bool {
        self.config.request_log_limit > 0
    }

    /// Records a request, and its answer for the console.
    pub fn record(&self, answered: Answered) {
        lock(&self.log).push(answered.entry.clone());
        self.feed.push(answered);
    }

    /// The request log, the API key redacted.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).all(&self.config.api_key)
    }

    /// Forgets the request log (the console's too).
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
        self.feed.clear();
    }

    /// Back to the start: seeded world, the faults and limits given at start, empty request log
    /// and delivery records, counters at zero, request ids from the start of their sequence.
    pub fn reset(&self) {
        {
            let mut state = lock(&self.state);
            let generation = state.generation + 1;
            *state = State::new(self.config.state(), generation);
        }
        *lock(&self.faults) = FaultState::new(Faults::default(), self.config.seed);
        self.set_faults(self.config.faults.clone());
        for b in Bucket::ALL {
            self.set_rate_limit(b, self.config.rate_limits[b as usize].clone());
        }
        self.clear_requests();
        self.clear_stats();
        self.request_seq.store(0, Ordering::Relaxed);
        self.ticker.notify_one();
        self.feed.touch();
    }
}
