//! `nexotp.testing.Sandbox`'s native half: the sandbox *library* (`nexotp-sandbox`) running
//! in this process, on the package's own runtime, behind a loopback port.
//!
//! Why in-process: a user who ran `pip install nexotp` has no `nexotp-sandbox` binary, and a
//! test kit that needs one (or Docker) is a test kit nobody uses. The server, its state, its
//! faults and its request log are the crate's; this file only converts arguments and results
//! (the pure-Python `nexotp/testing` wraps it with context managers and clients).
//!
//! `nexotp.testing.record` / `replay` are the crate's record proxy and replay server, held the
//! same way ([`Live`]).
//!
//! The runtime rules of `runtime.rs` hold: starting and stopping block through
//! [`runtime::block_on`] (GIL released), or go through the asyncio bridge (`start_async`). The
//! control methods only take the sandbox's own state lock for microseconds and never wait on
//! the runtime, so they run with the GIL held like any attribute read. After `os.fork()` the
//! child has none of the parent's runtime threads: a sandbox started in the parent refuses to
//! be used there, and is forgotten, never stopped, when the child drops it (stopping would
//! touch the parent's scheduler).

use std::sync::Mutex;

use nexotp_sandbox::embed::{self, InvalidArgument};
use nexotp_sandbox::{
    Bucket, ControlError, DeliveryRecord, RecordHandle, RecordedRequest, Recorder, Replay,
    ReplayHandle, SandboxBuilder, SandboxHandle,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::bridge::{self, Started};
use crate::convert;
use crate::errors::{invalid_argument, nexotp_error};
use crate::runtime::{self, guard};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sandbox's refusal of an argument, as `InvalidArgumentError`.
fn invalid(py: Python<'_>, e: InvalidArgument) -> PyErr {
    invalid_argument(py, e.argument, &e.rule)
}

fn control_error(e: ControlError) -> PyErr {
    nexotp_error(&e.to_string())
}

/// A running in-process sandbox (the native object behind `nexotp.testing.Sandbox`).
#[pyclass(frozen, module = "nexotp._native", name = "SandboxServer")]
pub struct SandboxServer {
    handle: Live<SandboxHandle>,
    base_url: String,
    root_url: String,
    api_key: String,
    seed: u64,
}

/// A server handle owned by a Python object: `None` once closed, and tied to the process that
/// started it (after `os.fork()` the child refuses to use it and forgets it when dropped:
/// stopping it would touch the parent's runtime).
struct Live<H> {
    what: &'static str,
    pid: u32,
    handle: Mutex<Option<H>>,
}

impl<H> Live<H> {
    fn new(what: &'static str, handle: H) -> Self {
        Live {
            what,
            pid: std::process::id(),
            handle: Mutex::new(Some(handle)),
        }
    }

    /// Runs `f` on the live handle (a panic becomes `NexOTPError`): an error once closed or
    /// in a forked child.
    fn with<T>(&self, f: impl FnOnce(&H) -> PyResult<T>) -> PyResult<T> {
        guard(|| {
            if self.pid != std::process::id() {
                return Err(nexotp_error(&format!(
                    "this {} was started in another process (before os.fork()): \
                     start one in this process",
                    self.what
                )));
            }
            let handle = lock(&self.handle);
            match handle.as_ref() {
                Some(h) => f(h),
                None => Err(nexotp_error(&format!("the {} is closed", self.what))),
            }
        })
    }

    /// The handle, for a close (none once closed, or in a forked child).
    fn take(&self) -> Option<H> {
        let taken = lock(&self.handle).take();
        if self.pid != std::process::id() {
            std::mem::forget(taken);
            return None;
        }
        taken
    }

    fn is_closed(&self) -> bool {
        lock(&self.handle).is_none()
    }
}

impl<H> Drop for Live<H> {
    fn drop(&mut self) {
        // Dropping a handle stops its tasks (no GIL, no blocking); in a forked child it is
        // forgotten instead.
        drop(self.take());
    }
}

impl SandboxServer {
    fn new(handle: SandboxHandle) -> Self {
        SandboxServer {
            base_url: handle.base_url().to_owned(),
            root_url: handle.root_url(),
            api_key: handle.api_key().to_owned(),
            seed: handle.seed(),
            handle: Live::new("sandbox", handle),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&SandboxHandle) -> PyResult<T>) -> PyResult<T> {
        self.handle.with(f)
    }
}

fn convert_started(py: Python<'_>, started: std::io::Result<SandboxHandle>) -> PyResult<Py<PyAny>> {
    match started {
        Ok(handle) => Ok(Py::new(py, SandboxServer::new(handle))?.into_any()),
        Err(e) => Err(start_error(&e)),
    }
}

fn start_error(e: &std::io::Error) -> PyErr {
    nexotp_error(&format!("cannot start the sandbox: {e}"))
}

/// The start options of a sandbox, converted and checked when made (so a bad option fails at
/// `Sandbox(...)`, not at start); an option left out keeps the sandbox's default.
#[pyclass(frozen, module = "nexotp._native", name = "SandboxOptions")]
pub struct SandboxOptions {
    builder: SandboxBuilder,
}

#[pymethods]
impl SandboxOptions {
    /// Seconds for the durations; `faults` and `rate_limits` as JSON text (the Python layer
    /// writes it from its dicts).
    #[new]
    #[pyo3(signature = (*, api_key=None, seed=None, code_delay=None, code_delay_spread=None,
        order_ttl=None, balance=None, stock=None, faults=None, rate_limits=None,
        request_log_limit=None, host=None, port=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        api_key: Option<&Bound<'_, PyAny>>,
        seed: Option<u64>,
        code_delay: Option<&Bound<'_, PyAny>>,
        code_delay_spread: Option<&Bound<'_, PyAny>>,
        order_ttl: Option<&Bound<'_, PyAny>>,
        balance: Option<&Bound<'_, PyAny>>,
        stock: Option<&Bound<'_, PyAny>>,
        faults: Option<&str>,
        rate_limits: Option<&str>,
        request_log_limit: Option<usize>,
        host: Option<&str>,
        port: u16,
    ) -> PyResult<SandboxOptions> {
        let mut b = nexotp_sandbox::Sandbox::builder()
            .host(host.unwrap_or("127.0.0.1"))
            .port(port);
        if let Some(key) = convert::opt_string("api_key", api_key)? {
            b = b.api_key(key);
        }
        if let Some(seed) = seed {
            b = b.seed(seed);
        }
        if let Some(d) = convert::opt_seconds("code_delay", code_delay)? {
            b = b.code_delay(d);
        }
        if let Some(d) = convert::opt_seconds("code_delay_spread", code_delay_spread)? {
            b = b.code_delay_spread(d);
        }
        if let Some(d) = convert::opt_seconds("order_ttl", order_ttl)? {
            b = b.order_ttl(d);
        }
        if let Some(balance) = balance.filter(|o| !o.is_none()) {
            b = b.initial_balance(convert::decimal("balance", balance)?);
        }
        if let Some(stock) = convert::opt_u32("stock", stock)? {
            b = b.stock(stock);
        }
        if let Some(text) = faults {
            b = b.faults(embed::faults_from_json(text).map_err(|e| invalid(py, e))?);
        }
        if let Some(text) = rate_limits {
            for (bucket, limit) in embed::rate_limits_from_json(text).map_err(|e| invalid(py, e))? {
                b = b.rate_limit_with(bucket, limit);
            }
        }
        if let Some(limit) = request_log_limit {
            b = b.request_log_limit(limit);
        }
        Ok(SandboxOptions { builder: b })
    }
}

#[pymethods]
impl SandboxServer {
    /// Starts a sandbox (blocking, GIL released) and returns it.
    #[staticmethod]
    fn start(py: Python<'_>, options: &SandboxOptions) -> PyResult<SandboxServer> {
        guard(|| {
            let start = options.builder.clone().start();
            let handle = runtime::block_on(py, start)?.map_err(|e| start_error(&e))?;
            Ok(SandboxServer::new(handle))
        })
    }

    /// Starts a sandbox without blocking the running event loop: `(future, cancel handle)`.
    #[staticmethod]
    fn start_async<'py>(py: Python<'py>, options: &SandboxOptions) -> Started<'py> {
        guard(|| {
            let start = options.builder.clone().start();
            bridge::spawn(py, start, convert_started, None, None)
        })
    }

    /// The API base URL (`http://127.0.0.1:PORT/wp-json/nexotp/v1/`).
    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The server's root URL (`http://127.0.0.1:PORT`), under which `/__sandbox/` lives.
    #[getter]
    fn root_url(&self) -> &str {
        &self.root_url
    }

    /// The API key the sandbox accepts.
    #[getter]
    fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The seed of its catalogue, numbers, codes and random faults.
    #[getter]
    fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Stops the server and its background tasks (blocking, GIL released). Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| match self.handle.take() {
            Some(handle) => runtime::block_on(py, handle.shutdown()),
            None => Ok(()),
        })
    }

    /// Back to the start: seeded world, start faults and limits, empty logs, zero counters.
    fn reset(&self) -> PyResult<()> {
        self.with(|h| {
            h.reset();
            Ok(())
        })
    }

    /// Sets the wallet balance (an `adjustment` transaction).
    fn set_balance(&self, balance: &Bound<'_, PyAny>) -> PyResult<()> {
        let balance = convert::decimal("balance", balance)?;
        self.with(|h| {
            h.set_balance(balance);
            Ok(())
        })
    }

    /// The wallet balance (`decimal.Decimal`).
    fn balance(&self) -> PyResult<nexotp::Decimal> {
        self.with(|h| Ok(h.balance()))
    }

    /// Replaces the faults with their JSON form (`"{}"` clears them).
    fn set_faults(&self, py: Python<'_>, faults_json: &str) -> PyResult<()> {
        let faults = embed::faults_from_json(faults_json).map_err(|e| invalid(py, e))?;
        self.with(|h| {
            h.set_faults(faults);
            Ok(())
        })
    }

    /// The faults in force, as JSON text (scripted ones as consumed so far).
    fn faults(&self) -> PyResult<String> {
        self.with(|h| to_json(&h.faults()))
    }

    /// Sets (`per_second`) or removes (`None`) a bucket's rate limit.
    #[pyo3(signature = (bucket, per_second, *, burst=None, retry_after=None))]
    fn set_rate_limit(
        &self,
        py: Python<'_>,
        bucket: &str,
        per_second: Option<f64>,
        burst: Option<u32>,
        retry_after: Option<String>,
    ) -> PyResult<()> {
        let bucket = embed::bucket(bucket).map_err(|e| invalid(py, e))?;
        let limit =
            embed::rate_limit(per_second, burst, retry_after).map_err(|e| invalid(py, e))?;
        self.with(|h| {
            h.set_rate_limit_with(bucket, limit);
            Ok(())
        })
    }

    /// A bucket's rate limit as JSON text (`null` when it has none).
    fn rate_limit(&self, py: Python<'_>, bucket: &str) -> PyResult<String> {
        let bucket = embed::bucket(bucket).map_err(|e| invalid(py, e))?;
        self.with(|h| to_json(&h.rate_limit(bucket)))
    }

    /// Delivers `code` to an order now.
    fn force_code(&self, order_id: &Bound<'_, PyAny>, code: &Bound<'_, PyAny>) -> PyResult<()> {
        let id = convert::id("order_id", order_id)?;
        let code = convert::string("code", code)?;
        self.with(|h| h.force_code(id, &code).map_err(control_error))
    }

    /// Expires an order now (refunded if it never got a code).
    fn expire(&self, order_id: &Bound<'_, PyAny>) -> PyResult<()> {
        let id = convert::id("order_id", order_id)?;
        self.with(|h| h.expire_order(id).map_err(control_error))
    }

    /// Cancels a pending order now (refunded).
    fn cancel(&self, order_id: &Bound<'_, PyAny>) -> PyResult<()> {
        let id = convert::id("order_id", order_id)?;
        self.with(|h| h.cancel_order(id).map_err(control_error))
    }

    /// The ids of every order, oldest first.
    fn order_ids(&self) -> PyResult<Vec<u64>> {
        self.with(|h| Ok(h.order_ids()))
    }

    /// The API requests received so far, oldest first (API key redacted).
    fn requests(&self) -> PyResult<Vec<PyRecordedRequest>> {
        self.with(|h| {
            Ok(h.requests()
                .into_iter()
                .map(|inner| PyRecordedRequest { inner })
                .collect())
        })
    }

    /// Forgets the request log.
    fn clear_requests(&self) -> PyResult<()> {
        self.with(|h| {
            h.clear_requests();
            Ok(())
        })
    }

    /// The webhook deliveries so far.
    fn deliveries(&self) -> PyResult<Vec<PyDelivery>> {
        self.with(|h| {
            Ok(h.deliveries()
                .into_iter()
                .map(|inner| PyDelivery { inner })
                .collect())
        })
    }

    /// Sends a delivery again (signed afresh) and returns the new one.
    fn replay_delivery(&self, delivery_id: u64) -> PyResult<PyDelivery> {
        self.with(|h| {
            h.replay_delivery(delivery_id)
                .map(|inner| PyDelivery { inner })
                .map_err(control_error)
        })
    }

    /// The counters, as JSON text.
    fn stats(&self) -> PyResult<String> {
        self.with(|h| to_json(&h.stats()))
    }

    /// Sets the counters to zero.
    fn clear_stats(&self) -> PyResult<()> {
        self.with(|h| {
            h.clear_stats();
            Ok(())
        })
    }

    /// Balance, orders, webhooks (with secrets) and transactions, as JSON text.
    fn state(&self) -> PyResult<String> {
        self.with(|h| to_json(&h.state()))
    }

    fn __repr__(&self) -> String {
        let closed = if self.closed() { ", closed" } else { "" };
        format!("SandboxServer(base_url='{}'{closed})", self.base_url)
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| nexotp_error(&format!("cannot encode: {e}")))
}

/// One API request the sandbox received (`Sandbox.requests()`), API key redacted.
#[pyclass(frozen, eq, module = "nexotp.testing", name = "RecordedRequest")]
#[derive(Clone, PartialEq)]
pub struct PyRecordedRequest {
    inner: RecordedRequest,
}

#[pymethods]
impl PyRecordedRequest {
    /// `"GET"`, `"POST"`, ...
    #[getter]
    fn method(&self) -> &str {
        &self.inner.method
    }
    /// The path as sent (`/wp-json/nexotp/v1/order`).
    #[getter]
    fn path(&self) -> &str {
        &self.inner.path
    }
    /// The query string without `?` (may be empty).
    #[getter]
    fn query(&self) -> &str {
        &self.inner.query
    }
    /// The headers (names lower-case; repeated ones joined with `", "`).
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.inner.headers {
            d.set_item(k, v)?;
        }
        Ok(d)
    }
    /// The body as text.
    #[getter]
    fn body(&self) -> &str {
        &self.inner.body
    }
    /// The rate bucket of the route (`"GENERAL"`, `"ORDER"`, `"POLL"`), if one matched.
    #[getter]
    fn bucket(&self) -> Option<&'static str> {
        self.inner.bucket.map(Bucket::as_str)
    }
    /// The answer's status (`None` when the connection was dropped).
    #[getter]
    fn status(&self) -> Option<u16> {
        self.inner.status
    }
    /// When it arrived (ISO 8601, UTC).
    #[getter]
    fn at(&self) -> &str {
        &self.inner.at
    }
    /// The answer's `X-Request-Id`.
    #[getter]
    fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }
    /// Time to answer, in milliseconds.
    #[getter]
    fn latency_ms(&self) -> u64 {
        self.inner.latency_ms
    }
    /// `"HTTP/1.1"` or `"HTTP/2.0"`.
    #[getter]
    fn http_version(&self) -> &str {
        &self.inner.http_version
    }
    /// A header's value, by case-insensitive name.
    fn header(&self, name: &str) -> Option<&str> {
        self.inner.header(name)
    }
    /// The fields as a plain `dict`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("method", self.method())?;
        d.set_item("path", self.path())?;
        d.set_item("query", self.query())?;
        d.set_item("headers", self.headers(py)?)?;
        d.set_item("body", self.body())?;
        d.set_item("bucket", self.bucket())?;
        d.set_item("status", self.status())?;
        d.set_item("at", self.at())?;
        d.set_item("request_id", self.request_id())?;
        d.set_item("latency_ms", self.latency_ms())?;
        d.set_item("http_version", self.http_version())?;
        Ok(d)
    }
    fn __repr__(&self) -> String {
        let status = self
            .inner
            .status
            .map_or_else(|| "None".to_owned(), |s| s.to_string());
        format!(
            "RecordedRequest(method='{}', path='{}', status={status})",
            self.inner.method, self.inner.path
        )
    }
}

/// One webhook delivery (`Sandbox.deliveries()`): an event sent to one webhook.
#[pyclass(frozen, eq, module = "nexotp.testing", name = "WebhookDelivery")]
#[derive(Clone, PartialEq)]
pub struct PyDelivery {
    inner: DeliveryRecord,
}

#[pymethods]
impl PyDelivery {
    /// Sequence number (from 1).
    #[getter]
    fn id(&self) -> u64 {
        self.inner.id
    }
    /// The webhook it was sent to.
    #[getter]
    fn webhook_id(&self) -> u64 {
        self.inner.webhook_id
    }
    /// The event id (`evt_...`).
    #[getter]
    fn event_id(&self) -> &str {
        &self.inner.event_id
    }
    /// The event type, e.g. `"order.code_received"`.
    #[getter]
    fn event_type(&self) -> &str {
        &self.inner.event_type
    }
    /// The order the event is about.
    #[getter]
    fn order_id(&self) -> u64 {
        self.inner.order_id
    }
    /// Attempts made so far.
    #[getter]
    fn attempts(&self) -> u32 {
        self.inner.attempts
    }
    /// HTTP status of the last attempt, if it got an answer.
    #[getter]
    fn last_status(&self) -> Option<u16> {
        self.inner.last_status
    }
    /// Transport error of the last attempt, if any.
    #[getter]
    fn last_error(&self) -> Option<&str> {
        self.inner.last_error.as_deref()
    }
    /// `"pending"`, `"delivered"` or `"failed"`.
    #[getter]
    fn state(&self) -> &str {
        &self.inner.state
    }
    /// The JSON body sent.
    #[getter]
    fn payload(&self) -> &str {
        &self.inner.payload
    }
    /// The `X-NexOTP-Signature` of the last attempt.
    #[getter]
    fn signature(&self) -> Option<&str> {
        self.inner.signature.as_deref()
    }
    /// The delivery this one replays, if any.
    #[getter]
    fn replay_of(&self) -> Option<u64> {
        self.inner.replay_of
    }
    /// The fields as a plain `dict`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("id", self.id())?;
        d.set_item("webhook_id", self.webhook_id())?;
        d.set_item("event_id", self.event_id())?;
        d.set_item("event_type", self.event_type())?;
        d.set_item("order_id", self.order_id())?;
        d.set_item("attempts", self.attempts())?;
        d.set_item("last_status", self.last_status())?;
        d.set_item("last_error", self.last_error())?;
        d.set_item("state", self.state())?;
        d.set_item("payload", self.payload())?;
        d.set_item("signature", self.signature())?;
        d.set_item("replay_of", self.replay_of())?;
        Ok(d)
    }
    fn __repr__(&self) -> String {
        format!(
            "WebhookDelivery(id={}, event_type='{}', order_id={}, state='{}')",
            self.inner.id, self.inner.event_type, self.inner.order_id, self.inner.state
        )
    }
}

/// A replay of a traffic file (`nexotp.testing.replay`): serves the recorded answers.
#[pyclass(frozen, module = "nexotp._native", name = "ReplayServer")]
pub struct ReplayServer {
    handle: Live<ReplayHandle>,
    base_url: String,
    api_key: String,
}

#[pymethods]
impl ReplayServer {
    /// Loads the traffic file at `path` (or the traffic file's `text`) and starts serving it
    /// (blocking, GIL released).
    #[staticmethod]
    #[pyo3(signature = (*, path=None, text=None, host=None, port=0))]
    fn start(
        py: Python<'_>,
        path: Option<std::path::PathBuf>,
        text: Option<&str>,
        host: Option<String>,
        port: u16,
    ) -> PyResult<ReplayServer> {
        guard(|| {
            let loaded = match (path, text) {
                (Some(path), None) => Replay::from_file(path),
                (None, Some(text)) => Replay::from_json(text),
                _ => return Err(nexotp_error("give the traffic file's path or its text")),
            };
            let mut replay = loaded.map_err(|e| nexotp_error(&e.to_string()))?.port(port);
            if let Some(host) = host {
                replay = replay.host(host);
            }
            let handle = runtime::block_on(py, replay.start())?
                .map_err(|e| nexotp_error(&format!("cannot start the replay: {e}")))?;
            Ok(ReplayServer {
                base_url: handle.base_url().to_owned(),
                api_key: handle.api_key().to_owned(),
                handle: Live::new("replay", handle),
            })
        })
    }

    /// The base URL to give the client.
    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A key for the client (any key is accepted).
    #[getter]
    fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// How many requests were answered from the recording.
    fn served(&self) -> PyResult<usize> {
        self.handle.with(|h| Ok(h.served()))
    }

    /// How many recorded exchanges were never served.
    fn unused(&self) -> PyResult<usize> {
        self.handle.with(|h| Ok(h.unused()))
    }

    /// The requests that matched nothing, as JSON text (a list of request objects).
    fn unmatched(&self) -> PyResult<String> {
        self.handle.with(|h| to_json(&h.unmatched()))
    }

    /// Starts again from the first recorded answer of every request.
    fn rewind(&self) -> PyResult<()> {
        self.handle.with(|h| {
            h.rewind();
            Ok(())
        })
    }

    /// Stops serving (blocking, GIL released). Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| match self.handle.take() {
            Some(handle) => runtime::block_on(py, handle.shutdown()),
            None => Ok(()),
        })
    }
}

/// A record proxy (`nexotp.testing.record`): forwards to a real server and writes every
/// exchange, secrets redacted, to a traffic file.
#[pyclass(frozen, module = "nexotp._native", name = "RecordServer")]
pub struct RecordServer {
    handle: Live<RecordHandle>,
    base_url: String,
    out: String,
}

#[pymethods]
impl RecordServer {
    /// Starts the proxy in front of `upstream`, writing `out` (blocking, GIL released).
    #[staticmethod]
    #[pyo3(signature = (upstream, out, *, host=None, port=0, timeout=None, ca_certificate_pem=None))]
    fn start(
        py: Python<'_>,
        upstream: String,
        out: std::path::PathBuf,
        host: Option<String>,
        port: u16,
        timeout: Option<&Bound<'_, PyAny>>,
        ca_certificate_pem: Option<String>,
    ) -> PyResult<RecordServer> {
        guard(|| {
            let mut builder = Recorder::builder().upstream(upstream).out(out).port(port);
            if let Some(host) = host {
                builder = builder.host(host);
            }
            if let Some(timeout) = convert::opt_seconds("timeout", timeout)? {
                builder = builder.timeout(timeout);
            }
            if let Some(pem) = ca_certificate_pem {
                builder = builder.ca_certificate_pem(pem);
            }
            let handle = runtime::block_on(py, builder.start())?
                .map_err(|e| nexotp_error(&format!("cannot start the recorder: {e}")))?;
            Ok(RecordServer {
                base_url: handle.base_url().to_owned(),
                out: handle.out_path().display().to_string(),
                handle: Live::new("recorder", handle),
            })
        })
    }

    /// The base URL to give the client (with the real API key).
    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The traffic file it writes.
    #[getter]
    fn out_path(&self) -> &str {
        &self.out
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// How many exchanges were recorded so far.
    fn exchanges(&self) -> PyResult<usize> {
        self.handle.with(|h| Ok(h.exchanges()))
    }

    /// The recording so far (redacted), as the traffic file's JSON text.
    fn traffic(&self) -> PyResult<String> {
        self.handle.with(|h| to_json(&h.traffic()))
    }

    /// Stops the proxy and writes the file one last time (blocking, GIL released).
    /// Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| match self.handle.take() {
            Some(handle) => {
                runtime::block_on(py, handle.shutdown())?.map_err(|e| nexotp_error(&e.to_string()))
            }
            None => Ok(()),
        })
    }
}

/// Registers the classes on `_native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SandboxOptions>()?;
    m.add_class::<SandboxServer>()?;
    m.add_class::<PyRecordedRequest>()?;
    m.add_class::<PyDelivery>()?;
    m.add_class::<ReplayServer>()?;
    m.add_class::<RecordServer>()?;
    Ok(())
}
