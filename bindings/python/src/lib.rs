//! `nexotp._native`: the compiled half of the `nexotp` Python package.
//!
//! A thin binding over the `nexotp` crate: every function converts its Python arguments,
//! calls the core, and converts the result or error. No HTTP, retry or validation logic lives
//! here. The pure-Python half (`bindings/python/python/nexotp`) defines the exception classes,
//! `OrderStatus`, `AsyncClient` and the typing stubs.
//!
//! Map of the crate:
//! - `runtime.rs`: the process's tokio runtime, the one blocking helper, the exit gate, panics;
//! - `bridge.rs`: asyncio futures resolved without a tokio thread touching Python;
//! - `client.rs`: `Client`, `AsyncCore` and their iterators;
//! - `models.rs`, `convert.rs`, `errors.rs`, `logs.rs`: conversions in and out;
//! - `sandbox.rs` (feature `sandbox`, on by default): the in-process sandbox of `nexotp.testing`.

mod bridge;
mod client;
mod convert;
mod errors;
mod jobs;
mod logs;
mod models;
mod runtime;
#[cfg(feature = "sandbox")]
mod sandbox;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod watch;

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::errors::IntoPyResult;
use crate::runtime::guard;

fn payload_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    Err(errors::invalid_argument(
        obj.py(),
        "payload",
        "must be the raw request body as bytes (or str)",
    ))
}

/// Verifies a webhook delivery and returns its event. `payload` is the raw request body,
/// `signature` the `X-NexOTP-Signature` header (`None`, as `request.headers.get()` gives for a
/// delivery without one, is a `WebhookVerificationError`), `tolerance` the allowed clock skew
/// in seconds (`None`: the core's default, 300).
#[pyfunction]
#[pyo3(signature = (payload, signature, secret, *, tolerance=None))]
fn verify_webhook(
    py: Python<'_>,
    payload: &Bound<'_, PyAny>,
    signature: &Bound<'_, PyAny>,
    secret: &Bound<'_, PyAny>,
    tolerance: Option<&Bound<'_, PyAny>>,
) -> PyResult<models::PyWebhookEvent> {
    guard(|| {
        let payload = payload_bytes(payload)?;
        let signature = convert::opt_string("signature", Some(signature))?;
        let secret = convert::string("secret", secret)?;
        let tolerance = convert::opt_seconds("tolerance", tolerance)?;
        let event =
            nexotp::webhook::verify_delivery(&payload, signature.as_deref(), &secret, tolerance)
                .py(py)?;
        Ok(models::PyWebhookEvent::from(event))
    })
}

/// Signs `payload` as NexOTP does and returns the `X-NexOTP-Signature` header value, for
/// testing your own webhook handler. `timestamp` defaults to now (unix seconds).
#[pyfunction]
#[pyo3(signature = (payload, secret, *, timestamp=None))]
fn sign_webhook(
    py: Python<'_>,
    payload: &Bound<'_, PyAny>,
    secret: &Bound<'_, PyAny>,
    timestamp: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    guard(|| {
        let payload = payload_bytes(payload)?;
        let secret = convert::string("secret", secret)?;
        let Some(t) = timestamp.filter(|t| !t.is_none()) else {
            return nexotp::webhook::sign_now(&payload, &secret).py(py);
        };
        if !t.is_instance_of::<pyo3::types::PyInt>() || t.is_instance_of::<pyo3::types::PyBool>() {
            return Err(errors::invalid_argument(
                py,
                "timestamp",
                "must be an int (unix seconds)",
            ));
        }
        let timestamp = t
            .extract::<i64>()
            .map_err(|_| errors::invalid_argument(py, "timestamp", "is out of range"))?;
        nexotp::webhook::sign(&payload, &secret, timestamp).py(py)
    })
}

/// Whether `level` (a `NEXOTP_LOG` value) turns on request logging: the core's rule
/// (`StderrLogger::from_level`), so every language reads the variable the same way.
#[pyfunction]
fn _log_level_enabled(level: &str) -> bool {
    nexotp::observe::StderrLogger::from_level(level).is_some()
}

/// The core's reading of an order status (for `nexotp.OrderStatus`):
/// `(normalised value, known, closed)`. The rules (case, spaces, `canceled`, which statuses
/// end an order) are the core's, so Python agrees with what `wait_for_code` decides.
#[pyfunction]
fn _order_status(value: &str) -> (String, bool, bool) {
    let status = nexotp::OrderStatus::from(value);
    let known = !matches!(status, nexotp::OrderStatus::Other(_));
    (status.as_str().to_owned(), known, status.is_closed())
}

/// `(pid owning the runtime or 0 if none yet, runtimes built in this process)`.
#[pyfunction]
fn _runtime_info() -> (u32, usize) {
    runtime::runtime_info()
}

/// The atexit hook: see `runtime::begin_shutdown`.
#[pyfunction]
fn _at_exit(py: Python<'_>) {
    runtime::begin_shutdown(py);
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<client::Client>()?;
    m.add_class::<client::AsyncCore>()?;
    m.add_class::<client::AsyncPager>()?;
    m.add_class::<client::TransactionIterator>()?;
    m.add_class::<watch::Watcher>()?;
    m.add_class::<watch::PyWatchEvent>()?;
    m.add_class::<bridge::Bridge>()?;
    m.add_class::<bridge::Call>()?;
    m.add_class::<models::PyAccount>()?;
    m.add_class::<models::PyTransaction>()?;
    m.add_class::<models::PyTransactionPage>()?;
    m.add_class::<models::PyCountry>()?;
    m.add_class::<models::PyService>()?;
    m.add_class::<models::PyPool>()?;
    m.add_class::<models::PyPrice>()?;
    m.add_class::<models::PyOrder>()?;
    m.add_class::<models::PyWebhook>()?;
    m.add_class::<models::PyWebhookDeleted>()?;
    m.add_class::<models::PyWebhookEvent>()?;
    m.add_class::<models::PyReconciliation>()?;
    m.add_function(wrap_pyfunction!(verify_webhook, m)?)?;
    m.add_function(wrap_pyfunction!(sign_webhook, m)?)?;
    m.add_function(wrap_pyfunction!(models::_rebuild, m)?)?;
    m.add_function(wrap_pyfunction!(models::_rebuild_page, m)?)?;
    m.add_function(wrap_pyfunction!(_runtime_info, m)?)?;
    #[cfg(feature = "test-hooks")]
    test_hooks::register(m)?;
    #[cfg(feature = "sandbox")]
    sandbox::register(m)?;
    m.add_function(wrap_pyfunction!(_order_status, m)?)?;
    m.add_function(wrap_pyfunction!(_at_exit, m)?)?;
    m.add_function(wrap_pyfunction!(_log_level_enabled, m)?)?;
    runtime::remember_main_thread(py)?;
    // No runtime here: it is built by the first call that needs one.
    py.import("atexit")?
        .call_method1("register", (m.getattr("_at_exit")?,))?;
    Ok(())
}
