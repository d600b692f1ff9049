//! Sending one API call: rate buckets, attempts, the call's deadline, size cap, logging.
//!
//! Whether to send again is not decided here: every attempt's outcome goes to
//! [`retry::classify`](crate::retry::classify), and this module carries out its decision. What
//! lives here is the mechanics that decision relies on: telling a connection that was never made
//! from one that failed after sending, keeping every wait inside the call's deadline, and
//! spreading waiters out when a paused bucket reopens, and taking a turn on the host's
//! connections (`max_connections_per_host`), which reqwest's pool does not cap.
//!
//! The rate-limit store may be another process (Redis): when it fails or is slow, the call is
//! answered from an in-memory store instead and the outage is told to the observers once, so
//! a store never fails a call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::buckets::{
    Admission, Bucket, BucketKey, BucketLimit, InMemoryStore, Pause, RateLimitStore, ServerLimits,
    StoreError,
};
use crate::config::{ClientConfig, MAX_BODY_BYTES, MAX_RETRY_AFTER};
use crate::envelope::{self, Decoded, Payload};
use crate::error::{ApiError, Error, ErrorKind, OrderOutcomeUnknown, Result, SentCall};
use crate::network;
use crate::observe::{RequestObserver, RequestRecord, StoreEvent};
use crate::retry::{self, Attempt, Body, Decision};

/// The API key header.
pub(crate) const API_KEY_HEADER: &str = "X-NexOTP-API-Key";
/// How many times a turn on the host's connections lets the runtime run its woken tasks, when
/// calls are queued, before it is handed on: time for hyper to put the connection it used back
/// in the pool (see `Transport::hand_on`).
const TURN_SETTLE_YIELDS: u32 = 8;
/// Then it waits this long, which a tokio timer rounds up to its next tick (1 ms resolution).
const TURN_SETTLE: Duration = Duration::from_micros(1);
/// Longest spread of the waiters released when a paused bucket reopens.
const MAX_RELEASE_SPREAD: Duration = Duration::from_secs(1);

/// One API call.
#[derive(Debug)]
pub(crate) struct Call {
    pub method: Method,
    /// Below the base URL, encoded, with the query.
    pub path: String,
    /// The JSON body, encoded (POST only).
    pub body: Option<bytes::Bytes>,
    pub bucket: Bucket,
    /// Sending it twice does no harm (GET, cancel, webhook delete).
    pub idempotent: bool,
    /// For a non-idempotent call: what it sends, reported if its outcome becomes unknown.
    pub sent: Option<SentCall>,
    /// The answer carries a secret (create webhook): no excerpt of it goes into any error.
    pub secret_answer: bool,
    /// Told when an attempt leaves (an abortable call's "was it sent?").
    pub on_send: Option<crate::abort::SentFlag>,
}

impl Call {
    /// A safe call: sending it twice does no harm.
    pub(crate) fn idempotent(
        method: Method,
        path: String,
        body: Option<bytes::Bytes>,
        bucket: Bucket,
    ) -> Call {
        Call {
            method,
            path,
            body,
            bucket,
            idempotent: true,
            sent: None,
            secret_answer: false,
            on_send: None,
        }
    }

    /// A call that must never be sent twice once it may have reached the server.
    pub(crate) fn once(path: String, body: bytes::Bytes, bucket: Bucket, sent: SentCall) -> Call {
        Call {
            method: Method::POST,
            path,
            body: Some(body),
            bucket,
            idempotent: false,
            sent: Some(sent),
            secret_answer: false,
            on_send: None,
        }
    }
}

/// The result of a call, and whether it was sent again after an attempt that may have taken
/// effect. A retried cancel or delete then meets the state its own earlier attempt created
/// ("already cancelled", "not found"), which the caller must not report as a failure.
pub(crate) struct Sent {
    pub result: Result<Payload>,
    pub resent_after_landing: bool,
}

/// What one attempt produced.
enum Raw {
    Answer {
        status: u16,
        headers: HeaderMap,
        body: Vec<u8>,
        version: reqwest::Version,
    },
    TooLarge {
        status: u16,
    },
    Failed {
        error: reqwest::Error,
        /// The attempt's timeout was cut short by the call's deadline.
        deadline_cut: bool,
    },
}

/// The shared, per-pool half of a client.
pub(crate) struct Transport {
    http: reqwest::Client,
    store: Arc<dyn RateLimitStore>,
    /// Answers for the store while it fails.
    fallback: InMemoryStore,
    /// Since when the store fails, while it does.
    store_down: std::sync::Mutex<Option<Instant>>,
    /// Whether the store failed at its last answer (read without the lock).
    store_failing: AtomicBool,
    /// This client's buckets in the store (a hash of the key and base URL).
    namespace: Arc<str>,
    /// Client-side limits, by bucket.
    limits: [Option<BucketLimit>; 3],
    observers: Vec<Arc<dyn RequestObserver>>,
    /// Turns on the host's connections: one per request in flight.
    turns: Arc<Semaphore>,
    /// Texts never to show in a message (the proxy's password).
    secrets: Vec<String>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("store", &self.store)
            .field("observers", &self.observers.len())
            .field("free_turns", &self.turns.available_permits())
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// The pooled HTTP client (see [`network::http_client`]) and what surrounds it.
    pub(crate) fn new(
        config: &ClientConfig,
        store: Arc<dyn RateLimitStore>,
        observers: Vec<Arc<dyn RequestObserver>>,
        reqwest_builder: Option<reqwest::ClientBuilder>,
    ) -> Result<Transport> {
        let http = network::http_client(config, reqwest_builder)?;
        let mut secrets = Vec::new();
        if let Some(password) = config.network.proxy.as_ref().and_then(|p| p.password()) {
            secrets.push(password.to_owned());
            let encoded =
                percent_encoding::utf8_percent_encode(password, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            if encoded != password {
                secrets.push(encoded);
            }
        }
        let mut limits = [None; 3];
        for (bucket, limit) in &config.bucket_limits {
            limits[bucket.index()] = Some(*limit);
        }
        Ok(Transport {
            http,
            store,
            fallback: InMemoryStore::new(),
            store_down: std::sync::Mutex::new(None),
            store_failing: AtomicBool::new(false),
            namespace: BucketKey::namespace_for(&config.api_key, &config.base_url).into(),
            limits,
            observers,
            turns: Arc::new(Semaphore::new(config.network.max_connections_per_host)),
            secrets,
        })
    }
}

/// The message of a transport error, its causes included, without the URL or any of
/// `secrets`.
fn describe(e: &reqwest::Error, secrets: &[String]) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    for secret in secrets {
        message = message.replace(secret.as_str(), "<redacted>");
    }
    message
}

/// Sets whether the caller may send the same call again.
fn with_retryable(mut error: Error, retryable: bool) -> Error {
    match &mut error {
        Error::Api(api) => api.retryable = retryable,
        Error::Connection { retryable: r, .. } | Error::Timeout { retryable: r, .. } => {
            *r = retryable;
        }
        _ => {}
    }
    error
}

/// The time left before `deadline`, or `None` without one.
fn left(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

impl Transport {
    /// Waits for a turn on the host's connections, within the call's deadline. Dropping the
    /// future (a cancelled call) leaves the queue.
    async fn take_turn(
        &self,
        deadline: Option<Instant>,
        idempotent: bool,
    ) -> Result<OwnedSemaphorePermit> {
        let acquire = Arc::clone(&self.turns).acquire_owned();
        let acquired = match left(deadline) {
            Some(left) => {
                tokio::time::timeout(left, acquire)
                    .await
                    .map_err(|_| Error::Timeout {
                        message:
                            "the call's deadline passed while it waited for a connection to the \
                              API's host (all max_connections_per_host were busy); not sent"
                                .to_owned(),
                        retryable: idempotent,
                        source: None,
                    })?
            }
            None => acquire.await,
        };
        // The semaphore is never closed.
        acquired.map_err(|_| Error::Connection {
            message: "the client's connection queue is closed".to_owned(),
            retryable: false,
            source: None,
        })
    }

    /// Gives the turn back once the attempt's answer is read whole. hyper returns an HTTP/1.1
    /// connection to the pool from a task of its own, woken as the body ended: a call handed
    /// the turn before that task ran would find no idle connection and open one more, so while
    /// calls are queued the turn is handed on a moment later (never delaying this call): by a
    /// task that first lets the tasks already woken run (hyper's, when it is on this worker),
    /// then waits for the runtime's next timer tick (when it is on another one).
    ///
    /// Not a fixed 1 ms sleep, as before: a sleep rounds up to the tick after next, so every
    /// turn sat idle 1–2 ms after each answer while calls were queued; at 64 calls in flight on
    /// the default 32 connections that held a loopback benchmark to about
    /// 32 / (round trip + 1.5 ms). The tick is 0–1 ms away (`bench/README.md`).
    fn hand_on(&self, turn: OwnedSemaphorePermit, raw: &Raw) {
        let pooled_h1 =
            matches!(raw, Raw::Answer { version, .. } if *version < reqwest::Version::HTTP_2);
        if pooled_h1 && self.turns.available_permits() == 0 {
            tokio::spawn(async move {
                // `yield_now` resumes only once the worker has run the tasks already woken; a
                // few rounds cover hyper's hops from the connection's task to the task that
                // puts the connection back in the pool.
                for _ in 0..TURN_SETTLE_YIELDS {
                    tokio::task::yield_now().await;
                }
                tokio::time::sleep(TURN_SETTLE).await;
                drop(turn);
            });
        } else {
            drop(turn);
        }
    }

    /// Waits until `bucket` lets the call go, within its deadline.
    async fn wait_for_bucket(
        &self,
        bucket: Bucket,
        deadline: Option<Instant>,
        idempotent: bool,
    ) -> Result<()> {
        loop {
            match self.reserve(bucket).await {
                Admission::Go => return Ok(()),
                Admission::Paused { wait, window } => {
                    self.sleep_in_pause(bucket, wait, window, deadline, idempotent)
                        .await?;
                }
                Admission::Reserved { wait } => {
                    if left(deadline).is_some_and(|l| wait >= l) {
                        return Err(Error::Timeout {
                            message: format!(
                                "the client-side limit of the {bucket} bucket would send this call \
                                 in {:.3} s, after its deadline; not sent",
                                wait.as_secs_f64()
                            ),
                            retryable: idempotent,
                            source: None,
                        });
                    }
                    tokio::time::sleep(wait).await;
                    // The slot is ours; but a 429 may have paused the bucket meanwhile.
                    while let Some(pause) = self.pause_left(bucket).await {
                        self.sleep_in_pause(bucket, pause.left, pause.window, deadline, idempotent)
                            .await?;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Sleeps out a bucket's pause plus a share of its length, so the waiters it held leave one
    /// by one instead of all at once into the next 429. Fails when that would pass the deadline
    /// or the pause is longer than any call waits.
    async fn sleep_in_pause(
        &self,
        bucket: Bucket,
        wait: Duration,
        window: Duration,
        deadline: Option<Instant>,
        idempotent: bool,
    ) -> Result<()> {
        if wait > MAX_RETRY_AFTER {
            return Err(Error::Api(Box::new(ApiError {
                kind: ErrorKind::RateLimit,
                status: 429,
                code: Some("rate_limited".to_owned()),
                message: format!(
                    "the {bucket} bucket is paused for {:.0} s after a 429; not sent",
                    wait.as_secs_f64()
                ),
                request_id: None,
                details: Value::Null,
                params: Default::default(),
                retry_after: Some(wait),
                retryable: idempotent,
                bucket: Some(bucket),
                body: Value::Null,
            })));
        }
        let spread = window.min(MAX_RELEASE_SPREAD).mul_f64(fastrand::f64());
        let sleep = wait + spread;
        if let Some(left) = left(deadline) {
            if wait >= left {
                return Err(Error::Timeout {
                    message: format!(
                        "the {bucket} bucket is paused for {:.3} s after a 429, past this call's \
                         deadline; not sent",
                        wait.as_secs_f64()
                    ),
                    retryable: idempotent,
                    source: None,
                });
            }
            tokio::time::sleep(sleep.min(left)).await;
        } else {
            tokio::time::sleep(sleep).await;
        }
        Ok(())
    }

    /// Tells the store what an answer's `X-RateLimit-*` headers say, so that it pauses the
    /// bucket when none are left (see [`ServerLimits::pause_until`]) and the next call waits
    /// instead of collecting a 429.
    async fn feed(&self, bucket: Bucket, headers: &HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|n| n.is_finite())
        };
        let limits = ServerLimits {
            limit: number("x-ratelimit-limit"),
            remaining: number("x-ratelimit-remaining"),
            reset: number("x-ratelimit-reset")
                .filter(|r| *r >= 0.0)
                .and_then(|r| Duration::try_from_secs_f64(r).ok())
                .and_then(|r| SystemTime::UNIX_EPOCH.checked_add(r)),
        };
        // Nothing to learn unless none are left (every answer carries the headers).
        let Some(until) = limits.pause_until(SystemTime::now()) else {
            return;
        };
        if until
            .duration_since(SystemTime::now())
            .is_ok_and(|wait| wait > MAX_RETRY_AFTER)
        {
            return;
        }
        let key = self.key(bucket);
        let outcome = self.store.feed(&key, limits).await;
        if self.answered(outcome).is_none() {
            self.fallback.pause_until_now(&key, until);
        }
    }

    /// Pauses `bucket` for every caller for `pause` (a 429's `Retry-After`).
    async fn pause(&self, bucket: Bucket, pause: Duration) {
        let key = self.key(bucket);
        let until = SystemTime::now() + pause;
        let outcome = self.store.pause_until(&key, until).await;
        if self.answered(outcome).is_none() {
            self.fallback.pause_until_now(&key, until);
        }
    }

    /// Asks the store (or, while it fails, the fallback) to send a call in `bucket`.
    async fn reserve(&self, bucket: Bucket) -> Admission {
        let key = self.key(bucket);
        let limit = self.limits[bucket.index()];
        let outcome = self.store.reserve(&key, limit).await;
        self.answered(outcome).unwrap_or_else(|| {
            // This worker's share of the limit, while the fleet cannot coordinate.
            let workers = self.store.workers(&self.namespace);
            self.fallback
                .reserve_now(&key, limit.map(|l| l.share(workers)))
        })
    }

    /// The pause of `bucket`, from the store or, while it fails, the fallback.
    async fn pause_left(&self, bucket: Bucket) -> Option<Pause> {
        let key = self.key(bucket);
        let outcome = self.store.pause_left(&key).await;
        self.answered(outcome)
            .unwrap_or_else(|| self.fallback.pause_left_now(&key))
    }

    fn key(&self, bucket: Bucket) -> BucketKey {
        BucketKey::new(Arc::clone(&self.namespace), bucket)
    }

    /// The store's answer, or `None` when it failed; tells the observers once when the store
    /// starts failing and once when it answers again.
    fn answered<T>(&self, outcome: std::result::Result<T, StoreError>) -> Option<T> {
        let failing = outcome.is_err();
        if self.store_failing.load(Ordering::Relaxed) == failing {
            return outcome.ok();
        }
        let event = {
            let mut down = crate::lock(&self.store_down);
            match (&outcome, *down) {
                (Err(error), None) => {
                    *down = Some(Instant::now());
                    Some(StoreEvent::Unavailable {
                        error: error.to_string(),
                    })
                }
                (Ok(_), Some(since)) => {
                    *down = None;
                    Some(StoreEvent::Recovered {
                        after: since.elapsed(),
                    })
                }
                _ => None,
            }
        };
        self.store_failing.store(failing, Ordering::Relaxed);
        if let Some(event) = event {
            tracing::warn!(event = %event.to_line(), "nexotp rate-limit store");
            for observer in &self.observers {
                observer.on_store_event(&event);
            }
        }
        outcome.ok()
    }

    async fn attempt(
        &self,
        config: &ClientConfig,
        call: &Call,
        body: Option<&bytes::Bytes>,
        deadline: Option<Instant>,
    ) -> Raw {
        let url = format!("{}{}", config.base_url, call.path);
        let (timeout, deadline_cut) = match left(deadline) {
            Some(left) if left < config.timeout => (left.max(Duration::from_millis(1)), true),
            _ => (config.timeout, false),
        };
        let mut request = self.http.request(call.method.clone(), url).timeout(timeout);
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        let failed = |error| Raw::Failed {
            error,
            deadline_cut,
        };
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return failed(error),
        };
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Raw::TooLarge { status };
        }
        let version = response.version();
        let headers = std::mem::take(response.headers_mut());
        let capacity = response.content_length().unwrap_or(0).min(64 * 1024) as usize;
        let mut body = Vec::with_capacity(capacity);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Raw::TooLarge { status };
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => return failed(error),
            }
        }
        Raw::Answer {
            status,
            headers,
            body,
            version,
        }
    }

    fn report(&self, call: &Call, attempt: u32, started: Instant, raw: &Raw) {
        if self.observers.is_empty() {
            return;
        }
        let (status, request_id, error, version) = match raw {
            Raw::Answer {
                status,
                headers,
                version,
                ..
            } => (
                Some(*status),
                headers
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                None,
                version_name(*version),
            ),
            Raw::TooLarge { status } => {
                (Some(*status), None, Some("body too large".to_owned()), None)
            }
            Raw::Failed { error, .. } => (None, None, Some(describe(error, &self.secrets)), None),
        };
        let record = RequestRecord {
            method: method_name(&call.method),
            path: call.path.clone(),
            bucket: call.bucket,
            attempt,
            status,
            elapsed: started.elapsed(),
            request_id,
            error,
            http_version: version,
        };
        for observer in &self.observers {
            observer.on_request(&record);
        }
    }

    /// Sends `call` within `deadline` (when given), as often as the retry table allows, and
    /// decodes the answer.
    pub(crate) async fn execute(
        &self,
        config: &ClientConfig,
        call: Call,
        deadline: Option<Instant>,
    ) -> Sent {
        let mut resent_after_landing = false;
        let result = self
            .run(config, call, deadline, &mut resent_after_landing)
            .await;
        Sent {
            result,
            resent_after_landing,
        }
    }

    async fn run(
        &self,
        config: &ClientConfig,
        mut call: Call,
        deadline: Option<Instant>,
        resent_after_landing: &mut bool,
    ) -> Result<Payload> {
        let body = call.body.clone();
        let mut context = retry::Context {
            idempotent: call.idempotent,
            retries: 0,
            max_retries: config.max_retries,
            rate_limit_waits: 0,
            rate_limited_for: Duration::ZERO,
            time_left: None,
            initial_backoff: config.initial_backoff,
            max_backoff: config.max_backoff,
            jitter: 0.0,
        };
        let mut attempt_no = 0u32;
        loop {
            attempt_no += 1;
            self.wait_for_bucket(call.bucket, deadline, call.idempotent)
                .await?;
            if left(deadline).is_some_and(|l| l.is_zero()) {
                return Err(Error::Timeout {
                    message: "the call's deadline passed before it could be sent".to_owned(),
                    retryable: call.idempotent,
                    source: None,
                });
            }
            // Queueing for a connection is not part of the attempt's time.
            let turn = self.take_turn(deadline, call.idempotent).await?;
            let started = Instant::now();
            if attempt_no == 1
                && let Some(sent) = call.sent.as_mut()
            {
                sent.sent_at = SystemTime::now();
            }
            if let Some(flag) = &call.on_send {
                flag.set();
            }
            let span = tracing::debug_span!(
                "nexotp.request",
                method = method_name(&call.method),
                path = %call.path,
                bucket = call.bucket.as_str(),
                attempt = attempt_no,
                status = tracing::field::Empty,
                elapsed_ms = tracing::field::Empty,
            );
            let raw = self
                .attempt(config, &call, body.as_ref(), deadline)
                .instrument(span.clone())
                .await;
            self.hand_on(turn, &raw);
            if let Raw::Answer { status, .. } | Raw::TooLarge { status } = &raw {
                span.record("status", *status);
            }
            span.record("elapsed_ms", started.elapsed().as_secs_f64() * 1000.0);
            self.report(&call, attempt_no, started, &raw);

            // What the attempt means, and the error it carries if it is not a success.
            let (shape, outcome, headers) = self.interpret(&call, raw);
            context.time_left = left(deadline);
            context.jitter = fastrand::f64();
            let code = outcome.as_ref().err().and_then(Error::code);
            let decision = retry::classify(&context, shape.attempt(code));
            tracing::debug!(parent: &span, ?decision, "decided");
            if !call.idempotent
                && matches!(
                    decision,
                    Decision::Retry { .. } | Decision::WaitRateLimit { .. }
                )
                && let Some(flag) = &call.on_send
            {
                // A non-idempotent call goes again only after a refusal or a failure to
                // connect: nothing is out, so an abort from here on loses nothing.
                flag.clear();
            }
            match (decision, outcome) {
                (Decision::Succeed, Ok(payload)) => {
                    if let Some(headers) = &headers {
                        self.feed(call.bucket, headers).await;
                    }
                    return Ok(payload);
                }
                (Decision::Retry { delay }, _) => {
                    *resent_after_landing |= shape.may_have_landed();
                    context.retries += 1;
                    tracing::debug!(
                        attempt = attempt_no,
                        delay_ms = delay.as_millis() as u64,
                        "retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                (Decision::WaitRateLimit { pause }, _) => {
                    // The whole bucket waits; this call waits in `wait_for_bucket` with the rest.
                    self.pause(call.bucket, pause).await;
                    context.rate_limit_waits += 1;
                    context.rate_limited_for += pause;
                }
                (Decision::FailRateLimited { pause }, outcome) => {
                    // Even a call that gives up leaves the bucket paused for the others.
                    self.pause(call.bucket, pause).await;
                    return Err(with_retryable(failure(outcome), call.idempotent));
                }
                (Decision::Fail { retryable }, outcome) => {
                    return Err(with_retryable(failure(outcome), retryable));
                }
                (Decision::OutcomeUnknown, outcome) => {
                    let error = failure(outcome);
                    return Err(match call.sent.take() {
                        Some(mut sent) => {
                            sent.failed_at = SystemTime::now();
                            Error::OrderOutcomeUnknown(Box::new(OrderOutcomeUnknown {
                                call: sent,
                                status: shape.status(),
                                message: error.to_string(),
                                source: Some(Box::new(error)),
                            }))
                        }
                        None => with_retryable(error, false),
                    });
                }
                (Decision::Succeed, Err(error)) => return Err(error),
            }
        }
    }

    /// Reads one attempt: what it means for the retry table, and its payload or error.
    fn interpret(&self, call: &Call, raw: Raw) -> (Shape, Result<Payload>, Option<HeaderMap>) {
        match raw {
            Raw::Failed {
                error,
                deadline_cut,
            } => {
                let error = error.without_url();
                if let Some(message) = network::refusal(&error) {
                    let failure = Error::Connection {
                        message,
                        retryable: false,
                        source: Some(Box::new(error)),
                    };
                    return (Shape::Refused, Err(failure), None);
                }
                let not_sent = error.is_connect();
                let timed_out = error.is_timeout();
                let mut message = describe(&error, &self.secrets);
                if timed_out && deadline_cut {
                    message = format!("the call's deadline passed during an attempt ({message})");
                }
                let source: Option<Box<dyn std::error::Error + Send + Sync>> =
                    Some(Box::new(error));
                let failure = if timed_out {
                    Error::Timeout {
                        message,
                        retryable: true,
                        source,
                    }
                } else {
                    Error::Connection {
                        message,
                        retryable: true,
                        source,
                    }
                };
                let shape = if not_sent {
                    Shape::NotSent
                } else {
                    Shape::Lost { timed_out }
                };
                (shape, Err(failure), None)
            }
            Raw::TooLarge { status } => {
                let error = Error::UnexpectedResponse {
                    status,
                    message: format!(
                        "the response body exceeds {} MiB",
                        MAX_BODY_BYTES / (1024 * 1024)
                    ),
                    snippet: String::new(),
                    request_id: None,
                };
                let shape = Shape::Answered {
                    status,
                    body: BodyShape::TooLarge,
                    retry_after: None,
                };
                (shape, Err(error), None)
            }
            Raw::Answer { status: 407, .. } => {
                // A forward proxy's answer: the request never reached the API.
                let failure = Error::Connection {
                    message: network::proxy_auth_message(),
                    retryable: false,
                    source: None,
                };
                (Shape::Refused, Err(failure), None)
            }
            Raw::Answer {
                status,
                headers,
                body,
                ..
            } => {
                let decoded = envelope::decode(status, &headers, body, call.bucket);
                let retry_after = envelope::retry_after(&headers);
                let (kind, result) = match decoded {
                    Decoded::Payload(payload) => (BodyShape::Payload, Ok(payload)),
                    Decoded::ApiError(error) => (BodyShape::ApiError, Err(error)),
                    Decoded::Unreadable(error) => (BodyShape::Unreadable, Err(error)),
                };
                let result = if call.secret_answer {
                    result.map_err(without_snippet)
                } else {
                    result
                };
                let shape = Shape::Answered {
                    status,
                    body: kind,
                    retry_after,
                };
                (shape, result, Some(headers))
            }
        }
    }
}

/// An error with no excerpt of the body (the answer carried a secret).
fn without_snippet(error: Error) -> Error {
    match error {
        Error::UnexpectedResponse {
            status,
            message,
            request_id,
            ..
        } => Error::UnexpectedResponse {
            status,
            message,
            snippet: String::new(),
            request_id,
        },
        other => other,
    }
}

/// The error an attempt ended with (a success that the table refused to take is a bug, shown
/// as an unexpected answer rather than a panic).
fn failure(outcome: Result<Payload>) -> Error {
    outcome.err().unwrap_or_else(|| Error::UnexpectedResponse {
        status: 0,
        message: "an answer decoded as a success was not accepted".to_owned(),
        snippet: String::new(),
        request_id: None,
    })
}

/// What an attempt produced, owned (the retry table's [`Attempt`] borrows the error code).
#[derive(Clone, Copy, Debug)]
enum Shape {
    NotSent,
    Refused,
    Lost {
        timed_out: bool,
    },
    Answered {
        status: u16,
        body: BodyShape,
        retry_after: Option<Duration>,
    },
}

#[derive(Clone, Copy, Debug)]
enum BodyShape {
    Payload,
    ApiError,
    Unreadable,
    TooLarge,
}

impl Shape {
    /// The retry table's view, with the error code of an API error.
    fn attempt<'a>(self, code: Option<&'a str>) -> Attempt<'a> {
        match self {
            Shape::NotSent => Attempt::NotSent,
            Shape::Refused => Attempt::Refused,
            Shape::Lost { timed_out } => Attempt::Lost { timed_out },
            Shape::Answered {
                status,
                body,
                retry_after,
            } => Attempt::Answered {
                status,
                body: match body {
                    BodyShape::Payload => Body::Payload,
                    BodyShape::ApiError => Body::ApiError { code },
                    BodyShape::Unreadable => Body::Unreadable,
                    BodyShape::TooLarge => Body::TooLarge,
                },
                retry_after,
            },
        }
    }

    /// Whether the attempt may have taken effect on the server.
    fn may_have_landed(self) -> bool {
        match self {
            Shape::NotSent | Shape::Refused => false,
            Shape::Lost { .. } => true,
            Shape::Answered { status, .. } => status == 408 || status >= 500,
        }
    }

    fn status(self) -> Option<u16> {
        match self {
            Shape::Answered { status, .. } => Some(status),
            _ => None,
        }
    }
}

/// `"HTTP/1.1"`, `"HTTP/2"`, ..
fn version_name(version: reqwest::Version) -> Option<&'static str> {
    Some(match version {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_11 => "HTTP/1.1",
        reqwest::Version::HTTP_2 => "HTTP/2",
        reqwest::Version::HTTP_3 => "HTTP/3",
        _ => return None,
    })
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}
