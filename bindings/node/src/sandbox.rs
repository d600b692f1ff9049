//! `require('nexotp/testing')`'s native half: the sandbox *library* (`nexotp-sandbox`) running
//! inside the Node process, on napi's tokio runtime, behind a loopback port.
//!
//! Why in-process: `npm install nexotp` brings no `nexotp-sandbox` binary, and a test kit that
//! needs one (or Docker) goes unused. The server, its state, faults and request log are the
//! crate's; this file only converts (the JS layer, `testing.js`, checks JS types and gives the
//! Promise API).
//!
//! `record()` / `replay()` are the crate's record proxy and replay server, held the same way.
//!
//! Process hygiene: starting and closing go through the shared [`Dispatcher`] (referenced only
//! while a call is pending), and the server's tasks live on the tokio runtime, which never keeps
//! Node's event loop alive: a script that forgets `close()` still exits, and one that calls it
//! leaves nothing behind. The control methods are synchronous: each takes the sandbox's state
//! lock for microseconds and never waits on the runtime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use napi::Env;
use napi_derive::napi;
use nexotp_sandbox::embed::{self, InvalidArgument};
use nexotp_sandbox::{
    ControlError, DeliveryRecord, RecordHandle, RecordedRequest, Recorder, Replay, ReplayHandle,
    SandboxBuilder, SandboxHandle,
};
use serde::Serialize;

use crate::dispatch::Dispatcher;
use crate::error::NativeError;
use crate::guard;

/// Options of `Sandbox.start(...)`, type-checked by the JS layer (no `Debug`: it holds the API
/// key).
#[napi(object)]
#[derive(Clone, Default)]
pub struct SandboxOptions {
    /// The API key it accepts (default `sk_test_sandbox`).
    pub api_key: Option<String>,
    /// Seed of the catalogue, numbers, codes and random faults (default 42).
    pub seed: Option<i64>,
    /// Milliseconds from order (or resend) to code (default 2000).
    pub code_delay_ms: Option<f64>,
    /// Up to this many milliseconds more per order, seeded (default 0).
    pub code_delay_spread_ms: Option<f64>,
    /// Milliseconds after which a pending order expires (default 20 minutes).
    pub order_ttl_ms: Option<f64>,
    /// Starting balance, a decimal string (default `"25.00"`).
    pub balance: Option<String>,
    /// Numbers per pool.
    pub stock: Option<u32>,
    /// The faults in the sandbox's JSON form, as text (the JS layer writes it).
    pub faults: Option<String>,
    /// `{"POLL": 5, "ORDER": {"per_second": 1, "burst": 10, "retry_after": "0"}}` as text.
    pub rate_limits: Option<String>,
    /// How many requests the log keeps (default 10000).
    pub request_log_limit: Option<u32>,
    /// Host to listen on (default `127.0.0.1`).
    pub host: Option<String>,
    /// Port (default 0: any free one).
    pub port: Option<u32>,
}

/// What `start` resolves with.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Started {
    base_url: String,
    root_url: String,
    api_key: String,
    seed: u64,
}

/// One API request the sandbox received, API key redacted.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct SandboxRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path as sent (`/wp-json/nexotp/v1/order`).
    pub path: String,
    /// The query string without `?` (may be empty).
    pub query: String,
    /// Headers, names lower-case (repeated ones joined with `, `).
    pub headers: HashMap<String, String>,
    /// The body as text.
    pub body: String,
    /// The route's rate bucket (`GENERAL`, `ORDER`, `POLL`), if one matched.
    pub bucket: Option<String>,
    /// The answer's status (absent when the connection was dropped).
    pub status: Option<u32>,
    /// When it arrived (ISO 8601, UTC).
    pub at: String,
    /// The answer's `X-Request-Id`.
    pub request_id: Option<String>,
    /// Milliseconds to answer.
    pub latency_ms: f64,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub http_version: String,
}

impl From<RecordedRequest> for SandboxRequest {
    fn from(r: RecordedRequest) -> Self {
        SandboxRequest {
            method: r.method,
            path: r.path,
            query: r.query,
            headers: r.headers.into_iter().collect(),
            body: r.body,
            bucket: r.bucket.map(|b| b.as_str().to_owned()),
            status: r.status.map(u32::from),
            at: r.at,
            request_id: r.request_id,
            latency_ms: r.latency_ms as f64,
            http_version: r.http_version,
        }
    }
}

/// One webhook delivery: an event sent to one webhook.
#[napi(object)]
#[derive(Clone, Debug)]
pub struct SandboxDelivery {
    /// Sequence number (from 1), as a string like every id.
    pub id: String,
    /// The webhook it was sent to.
    pub webhook_id: String,
    /// The event id (`evt_...`).
    pub event_id: String,
    /// The event type, e.g. `order.code_received`.
    pub event_type: String,
    /// The order the event is about.
    pub order_id: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// HTTP status of the last attempt, if it got an answer.
    pub last_status: Option<u32>,
    /// Transport error of the last attempt, if any.
    pub last_error: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// The JSON body sent.
    pub payload: String,
    /// The `X-NexOTP-Signature` of the last attempt.
    pub signature: Option<String>,
    /// The delivery this one replays, if any.
    pub replay_of: Option<String>,
}

impl From<DeliveryRecord> for SandboxDelivery {
    fn from(d: DeliveryRecord) -> Self {
        SandboxDelivery {
            id: d.id.to_string(),
            webhook_id: d.webhook_id.to_string(),
            event_id: d.event_id,
            event_type: d.event_type,
            order_id: d.order_id.to_string(),
            attempts: d.attempts,
            last_status: d.last_status.map(u32::from),
            last_error: d.last_error,
            state: d.state,
            payload: d.payload,
            signature: d.signature,
            replay_of: d.replay_of.map(|id| id.to_string()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl From<InvalidArgument> for NativeError {
    fn from(e: InvalidArgument) -> Self {
        // The sandbox's argument names as a Node caller writes them.
        let argument = match e.argument {
            "rate_limits" => "rateLimits",
            "per_second" => "perSecond",
            other => other,
        };
        NativeError::invalid(argument, e.rule)
    }
}

fn ms(argument: &'static str, value: f64) -> Result<std::time::Duration, NativeError> {
    Ok(nexotp::args::duration_from_millis(argument, value)?)
}

fn control(e: ControlError) -> NativeError {
    NativeError::Failed(e.to_string())
}

impl SandboxOptions {
    fn into_builder(self) -> Result<SandboxBuilder, NativeError> {
        let port = match self.port {
            Some(p) => {
                u16::try_from(p).map_err(|_| NativeError::invalid("port", "must be 0..65535"))?
            }
            None => 0,
        };
        let mut b = nexotp_sandbox::Sandbox::builder()
            .host(self.host.as_deref().unwrap_or("127.0.0.1"))
            .port(port);
        if let Some(key) = self.api_key {
            b = b.api_key(key);
        }
        if let Some(seed) = self.seed {
            let seed = u64::try_from(seed)
                .map_err(|_| NativeError::invalid("seed", "must be a non-negative integer"))?;
            b = b.seed(seed);
        }
        if let Some(v) = self.code_delay_ms {
            b = b.code_delay(ms("codeDelayMs", v)?);
        }
        if let Some(v) = self.code_delay_spread_ms {
            b = b.code_delay_spread(ms("codeDelaySpreadMs", v)?);
        }
        if let Some(v) = self.order_ttl_ms {
            b = b.order_ttl(ms("orderTtlMs", v)?);
        }
        if let Some(text) = self.balance {
            b = b.initial_balance(nexotp::args::parse_decimal("balance", &text)?);
        }
        if let Some(stock) = self.stock {
            b = b.stock(stock);
        }
        if let Some(text) = self.faults {
            b = b.faults(embed::faults_from_json(&text)?);
        }
        if let Some(text) = self.rate_limits {
            for (bucket, limit) in embed::rate_limits_from_json(&text)? {
                b = b.rate_limit_with(bucket, limit);
            }
        }
        if let Some(limit) = self.request_log_limit {
            b = b.request_log_limit(limit as usize);
        }
        Ok(b)
    }
}

/// A sandbox running in this process (the native object behind `Sandbox` of `nexotp/testing`).
#[napi]
pub struct SandboxServer {
    /// The checked options, until `start` takes them.
    builder: Mutex<Option<SandboxBuilder>>,
    /// The running server; empty before `start` and after `close`.
    handle: Slot<SandboxHandle>,
}

#[napi]
impl SandboxServer {
    /// Checks the options (a bad one throws here); `start` runs the server.
    #[napi(constructor)]
    pub fn new(options: Option<SandboxOptions>) -> napi::Result<SandboxServer> {
        let builder = guard::call(|| options.unwrap_or_default().into_builder())?;
        Ok(SandboxServer {
            builder: Mutex::new(Some(builder)),
            handle: Slot::default(),
        })
    }

    /// Starts the server on the runtime; settles with `{baseUrl, rootUrl, apiKey, seed}`.
    #[napi]
    pub fn start(&self, env: Env, dispatcher: &Dispatcher, ticket: u32) {
        let builder = lock(&self.builder).take();
        let slot = self.handle.clone();
        dispatcher.handle().submit(&env, ticket, async move {
            let Some(builder) = builder else {
                return Err(NativeError::Failed(
                    "the sandbox was already started".into(),
                ));
            };
            let handle = builder
                .start()
                .await
                .map_err(|e| NativeError::Failed(format!("cannot start the sandbox: {e}")))?;
            let started = Started {
                base_url: handle.base_url().to_owned(),
                root_url: handle.root_url(),
                api_key: handle.api_key().to_owned(),
                seed: handle.seed(),
            };
            slot.put(handle);
            Ok::<_, NativeError>(started)
        });
    }

    /// Stops the server and its tasks (idempotent); settles when they ended.
    #[napi]
    pub fn close(&self, env: Env, dispatcher: &Dispatcher, ticket: u32) {
        self.handle.close(&env, dispatcher, ticket, |h| async move {
            h.shutdown().await;
            Ok(())
        });
    }

    /// Whether it is running.
    #[napi(getter)]
    pub fn running(&self) -> bool {
        self.handle.is_running()
    }

    /// Back to the start: seeded world, start faults and limits, empty logs, zero counters.
    #[napi]
    pub fn reset(&self) -> napi::Result<()> {
        self.with(|h| {
            h.reset();
            Ok(())
        })
    }

    /// Sets the wallet balance (a decimal string).
    #[napi]
    pub fn set_balance(&self, balance: String) -> napi::Result<()> {
        self.with(|h| {
            h.set_balance(nexotp::args::parse_decimal("balance", &balance)?);
            Ok(())
        })
    }

    /// The wallet balance, a decimal string.
    #[napi]
    pub fn balance(&self) -> napi::Result<String> {
        self.with(|h| Ok(format!("{:.2}", h.balance())))
    }

    /// Replaces the faults with their JSON form (`"{}"` clears them).
    #[napi]
    pub fn set_faults(&self, faults_json: String) -> napi::Result<()> {
        self.with(|h| {
            h.set_faults(embed::faults_from_json(&faults_json)?);
            Ok(())
        })
    }

    /// The faults in force, as JSON text (scripted ones as consumed so far).
    #[napi]
    pub fn faults(&self) -> napi::Result<String> {
        self.with(|h| to_json(&h.faults()))
    }

    /// Sets (`perSecond`) or removes (absent) a bucket's rate limit.
    #[napi]
    pub fn set_rate_limit(
        &self,
        bucket: String,
        per_second: Option<f64>,
        burst: Option<u32>,
        retry_after: Option<String>,
    ) -> napi::Result<()> {
        self.with(|h| {
            let bucket = embed::bucket(&bucket)?;
            let limit = embed::rate_limit(per_second, burst, retry_after)?;
            h.set_rate_limit_with(bucket, limit);
            Ok(())
        })
    }

    /// A bucket's rate limit as JSON text (`null` when it has none).
    #[napi]
    pub fn rate_limit(&self, bucket: String) -> napi::Result<String> {
        self.with(|h| to_json(&h.rate_limit(embed::bucket(&bucket)?)))
    }

    /// Delivers `code` to an order now.
    #[napi]
    pub fn force_code(&self, order_id: String, code: String) -> napi::Result<()> {
        self.with(|h| h.force_code(order_id, &code).map_err(control))
    }

    /// Expires an order now (refunded if it never got a code).
    #[napi]
    pub fn expire(&self, order_id: String) -> napi::Result<()> {
        self.with(|h| h.expire_order(order_id).map_err(control))
    }

    /// Cancels a pending order now (refunded).
    #[napi]
    pub fn cancel(&self, order_id: String) -> napi::Result<()> {
        self.with(|h| h.cancel_order(order_id).map_err(control))
    }

    /// Every order's id, oldest first.
    #[napi]
    pub fn order_ids(&self) -> napi::Result<Vec<String>> {
        self.with(|h| Ok(h.order_ids().iter().map(u64::to_string).collect()))
    }

    /// The API requests received so far, oldest first (API key redacted).
    #[napi]
    pub fn requests(&self) -> napi::Result<Vec<SandboxRequest>> {
        self.with(|h| Ok(h.requests().into_iter().map(SandboxRequest::from).collect()))
    }

    /// Forgets the request log.
    #[napi]
    pub fn clear_requests(&self) -> napi::Result<()> {
        self.with(|h| {
            h.clear_requests();
            Ok(())
        })
    }

    /// The webhook deliveries so far.
    #[napi]
    pub fn deliveries(&self) -> napi::Result<Vec<SandboxDelivery>> {
        self.with(|h| {
            Ok(h.deliveries()
                .into_iter()
                .map(SandboxDelivery::from)
                .collect())
        })
    }

    /// Sends a delivery again (signed afresh); returns the new one.
    #[napi]
    pub fn replay_delivery(&self, delivery_id: String) -> napi::Result<SandboxDelivery> {
        self.with(|h| {
            let id = delivery_id
                .trim()
                .parse::<u64>()
                .map_err(|_| control(ControlError::DeliveryNotFound(delivery_id.clone())))?;
            h.replay_delivery(id)
                .map(SandboxDelivery::from)
                .map_err(control)
        })
    }

    /// The counters, as JSON text (the sandbox's `GET /__sandbox/stats` form).
    #[napi]
    pub fn stats(&self) -> napi::Result<String> {
        self.with(|h| to_json(&h.stats()))
    }

    /// Sets the counters to zero.
    #[napi]
    pub fn clear_stats(&self) -> napi::Result<()> {
        self.with(|h| {
            h.clear_stats();
            Ok(())
        })
    }

    /// Balance, orders, webhooks (with secrets) and transactions, as JSON text.
    #[napi]
    pub fn state(&self) -> napi::Result<String> {
        self.with(|h| to_json(&h.state()))
    }
}

impl SandboxServer {
    fn with<T>(&self, f: impl FnOnce(&SandboxHandle) -> Result<T, NativeError>) -> napi::Result<T> {
        self.handle.with("sandbox", f)
    }
}

/// A server handle a JS object owns: empty before its (async) start and after its close.
struct Slot<H>(Arc<Mutex<Option<H>>>);

impl<H> Default for Slot<H> {
    fn default() -> Self {
        Slot(Arc::new(Mutex::new(None)))
    }
}

impl<H> Clone for Slot<H> {
    fn clone(&self) -> Self {
        Slot(Arc::clone(&self.0))
    }
}

impl<H> Slot<H> {
    fn put(&self, handle: H) {
        *lock(&self.0) = Some(handle);
    }

    fn take(&self) -> Option<H> {
        lock(&self.0).take()
    }

    fn is_running(&self) -> bool {
        lock(&self.0).is_some()
    }

    /// Takes the handle (none once closed) and settles `ticket` when `stop` has run on it.
    fn close<F>(
        &self,
        env: &Env,
        dispatcher: &Dispatcher,
        ticket: u32,
        stop: impl FnOnce(H) -> F + Send + 'static,
    ) where
        H: Send + 'static,
        F: std::future::Future<Output = Result<(), NativeError>> + Send + 'static,
    {
        let handle = self.take();
        dispatcher.handle().submit(env, ticket, async move {
            match handle {
                Some(h) => stop(h).await,
                None => Ok(()),
            }
        });
    }

    /// Runs `f` on the running server (errors and panics become JS errors).
    fn with<T>(&self, what: &str, f: impl FnOnce(&H) -> Result<T, NativeError>) -> napi::Result<T> {
        guard::call(|| {
            let handle = lock(&self.0);
            match handle.as_ref() {
                Some(h) => f(h),
                None => Err(NativeError::Failed(format!(
                    "the {what} is not running (closed, or not started)"
                ))),
            }
        })
    }
}

/// Options of `replay(...)`, type-checked by the JS layer.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    /// The traffic file to serve.
    pub path: Option<String>,
    /// Or its text.
    pub text: Option<String>,
    /// Host to listen on (default `127.0.0.1`).
    pub host: Option<String>,
    /// Port (default 0: any free one).
    pub port: Option<u32>,
}

/// What a replay's `start` resolves with.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplayStarted {
    base_url: String,
    api_key: String,
}

fn port(port: Option<u32>) -> Result<u16, NativeError> {
    u16::try_from(port.unwrap_or(0)).map_err(|_| NativeError::invalid("port", "must be 0..65535"))
}

/// A replay of a traffic file (behind `replay()` of `nexotp/testing`).
#[napi]
pub struct ReplayServer {
    handle: Slot<ReplayHandle>,
}

#[napi]
impl ReplayServer {
    /// An idle replay server; `start` loads the file and serves it.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> ReplayServer {
        ReplayServer {
            handle: Slot::default(),
        }
    }

    /// Loads the traffic and starts serving it; settles with `{baseUrl, apiKey}`.
    #[napi]
    pub fn start(&self, env: Env, dispatcher: &Dispatcher, ticket: u32, options: ReplayOptions) {
        let slot = self.handle.clone();
        dispatcher.handle().submit(&env, ticket, async move {
            let loaded = match (options.path, options.text) {
                (Some(path), None) => Replay::from_file(path),
                (None, Some(text)) => Replay::from_json(&text),
                _ => return Err(NativeError::invalid("path", "give the traffic file's path")),
            };
            let mut replay = loaded
                .map_err(|e| NativeError::Failed(e.to_string()))?
                .port(port(options.port)?);
            if let Some(host) = options.host {
                replay = replay.host(host);
            }
            let handle = replay
                .start()
                .await
                .map_err(|e| NativeError::Failed(format!("cannot start the replay: {e}")))?;
            let started = ReplayStarted {
                base_url: handle.base_url().to_owned(),
                api_key: handle.api_key().to_owned(),
            };
            slot.put(handle);
            Ok::<_, NativeError>(started)
        });
    }

    /// Stops serving (idempotent).
    #[napi]
    pub fn close(&self, env: Env, dispatcher: &Dispatcher, ticket: u32) {
        self.handle.close(&env, dispatcher, ticket, |h| async move {
            h.shutdown().await;
            Ok(())
        });
    }

    /// Whether it is serving.
    #[napi(getter)]
    pub fn running(&self) -> bool {
        self.handle.is_running()
    }

    /// How many requests were answered from the recording.
    #[napi]
    pub fn served(&self) -> napi::Result<u32> {
        self.handle.with("replay", |h| {
            Ok(u32::try_from(h.served()).unwrap_or(u32::MAX))
        })
    }

    /// How many recorded exchanges were never served.
    #[napi]
    pub fn unused(&self) -> napi::Result<u32> {
        self.handle.with("replay", |h| {
            Ok(u32::try_from(h.unused()).unwrap_or(u32::MAX))
        })
    }

    /// The requests that matched nothing, as JSON text.
    #[napi]
    pub fn unmatched(&self) -> napi::Result<String> {
        self.handle.with("replay", |h| to_json(&h.unmatched()))
    }

    /// Starts again from the first recorded answer of every request.
    #[napi]
    pub fn rewind(&self) -> napi::Result<()> {
        self.handle.with("replay", |h| {
            h.rewind();
            Ok(())
        })
    }
}

/// Options of `record(...)`, type-checked by the JS layer.
#[napi(object)]
#[derive(Clone, Debug, Default)]
pub struct RecordOptions {
    /// The real API's base URL (`https://...`; `http://` only on loopback).
    pub upstream: String,
    /// The traffic file to write.
    pub out: String,
    /// Host to listen on (default `127.0.0.1`).
    pub host: Option<String>,
    /// Port (default 0: any free one).
    pub port: Option<u32>,
    /// Time allowed for one upstream exchange, in milliseconds (default 120000).
    pub timeout_ms: Option<f64>,
    /// A CA certificate (PEM) to trust for the upstream besides the built-in roots.
    pub ca_certificate_pem: Option<String>,
}

/// What a recorder's `start` resolves with.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordStarted {
    base_url: String,
    out_path: String,
}

/// A record proxy (behind `record()` of `nexotp/testing`).
#[napi]
pub struct RecordServer {
    handle: Slot<RecordHandle>,
}

#[napi]
impl RecordServer {
    /// An idle recorder; `start` starts the proxy.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> RecordServer {
        RecordServer {
            handle: Slot::default(),
        }
    }

    /// Starts the proxy; settles with `{baseUrl, outPath}`.
    #[napi]
    pub fn start(&self, env: Env, dispatcher: &Dispatcher, ticket: u32, options: RecordOptions) {
        let slot = self.handle.clone();
        dispatcher.handle().submit(&env, ticket, async move {
            let mut builder = Recorder::builder()
                .upstream(options.upstream)
                .out(options.out)
                .port(port(options.port)?);
            if let Some(host) = options.host {
                builder = builder.host(host);
            }
            if let Some(timeout) = options.timeout_ms {
                builder = builder.timeout(ms("timeoutMs", timeout)?);
            }
            if let Some(pem) = options.ca_certificate_pem {
                builder = builder.ca_certificate_pem(pem);
            }
            let handle = builder
                .start()
                .await
                .map_err(|e| NativeError::Failed(format!("cannot start the recorder: {e}")))?;
            let started = RecordStarted {
                base_url: handle.base_url().to_owned(),
                out_path: handle.out_path().display().to_string(),
            };
            slot.put(handle);
            Ok::<_, NativeError>(started)
        });
    }

    /// Stops the proxy and writes the file one last time (idempotent).
    #[napi]
    pub fn close(&self, env: Env, dispatcher: &Dispatcher, ticket: u32) {
        self.handle.close(&env, dispatcher, ticket, |h| async move {
            h.shutdown()
                .await
                .map_err(|e| NativeError::Failed(e.to_string()))
        });
    }

    /// Whether it is running.
    #[napi(getter)]
    pub fn running(&self) -> bool {
        self.handle.is_running()
    }

    /// How many exchanges were recorded so far.
    #[napi]
    pub fn exchanges(&self) -> napi::Result<u32> {
        self.handle.with("recorder", |h| {
            Ok(u32::try_from(h.exchanges()).unwrap_or(u32::MAX))
        })
    }

    /// The recording so far (redacted), as the traffic file's JSON text.
    #[napi]
    pub fn traffic(&self) -> napi::Result<String> {
        self.handle.with("recorder", |h| to_json(&h.traffic()))
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, NativeError> {
    serde_json::to_string(value).map_err(|e| NativeError::Failed(format!("cannot encode: {e}")))
}
