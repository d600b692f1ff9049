//! `nexotp::Error` → the Python exception classes of `nexotp.errors`.
//!
//! The class tree is defined in Python (`nexotp/errors.py`), so `isinstance`, pickling and
//! `ValueError` inheritance behave like any Python exception. This file only picks the class by
//! [`nexotp::ErrorKind::class_name`] and fills in the attributes; it never inspects messages.
//! The Rust `source()` chain becomes `__cause__` (one plain `Exception` per link).

use pyo3::exceptions::{PyException, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

use crate::convert::json_to_py;
use crate::models::{PyOrder, status_to_py};

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("nexotp.errors")?.unbind()))
        .map(|m| m.bind(py))
}

/// The class `name` of `nexotp.errors`.
pub fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    errors_module(py)?.getattr(name)
}

/// An exception of class `name` from `nexotp.errors` with `message` and attributes `kwargs`.
pub fn make(
    py: Python<'_>,
    name: &str,
    message: &str,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyErr {
    let built = (|| -> PyResult<Bound<'_, PyAny>> { class(py, name)?.call((message,), kwargs) })();
    match built {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// A plain `NexOTPError(message)`; usable without the GIL token at hand.
pub fn nexotp_error(message: &str) -> PyErr {
    Python::attach(|py| make(py, "NexOTPError", message, None))
}

/// An `InvalidArgumentError` for a Python value of the wrong type (raised before any request).
pub fn invalid_argument(py: Python<'_>, argument: &str, rule: &str) -> PyErr {
    let kwargs = PyDict::new(py);
    let _ = kwargs.set_item("argument", argument);
    make(
        py,
        "InvalidArgumentError",
        &format!("invalid argument `{argument}`: {rule}"),
        Some(&kwargs),
    )
}

fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

/// The core's argument names that Python spells otherwise.
fn python_argument(core: &str) -> Option<&'static str> {
    match core {
        "max_connections_per_host" => Some("max_connections"),
        "pool_max_idle_per_host" => Some("max_idle_connections"),
        _ => None,
    }
}

/// Converts a core error into its Python exception.
pub fn to_py(py: Python<'_>, error: nexotp::Error) -> PyErr {
    if let nexotp::Error::InvalidArgument { argument, rule } = &error
        && let Some(name) = python_argument(argument)
    {
        return invalid_argument(py, name, rule);
    }
    match build(py, &error) {
        Ok(err) => err,
        Err(e) => {
            // Building the exception failed (nexotp.errors not importable?): still say what
            // happened rather than hide the original error.
            let fallback = PyRuntimeError::new_err(format!("{error}"));
            fallback.set_cause(py, Some(e));
            fallback
        }
    }
}

fn build(py: Python<'_>, error: &nexotp::Error) -> PyResult<PyErr> {
    let kind = error.kind();
    let kwargs = PyDict::new(py);
    kwargs.set_item("status", error.status())?;
    kwargs.set_item("code", error.code())?;
    kwargs.set_item("request_id", error.request_id())?;
    kwargs.set_item("retry_after", error.retry_after().map(secs))?;
    kwargs.set_item("retryable", error.is_retryable())?;
    if let Some(order) = error.order() {
        kwargs.set_item("order", Py::new(py, PyOrder::from(order.clone()))?)?;
    }
    match error {
        nexotp::Error::InvalidArgument { argument, .. } => {
            kwargs.set_item("argument", *argument)?;
        }
        nexotp::Error::Api(api) => {
            kwargs.set_item("details", json_to_py(py, &api.details)?)?;
            kwargs.set_item("body", json_to_py(py, &api.body)?)?;
            let params = PyDict::new(py);
            for (k, v) in &api.params {
                params.set_item(k, v)?;
            }
            kwargs.set_item("params", params)?;
            kwargs.set_item("bucket", api.bucket.map(|b| b.as_str()))?;
        }
        nexotp::Error::OrderOutcomeUnknown(o) => sent_call_kwargs(py, &o.call, &kwargs)?,
        nexotp::Error::UnexpectedResponse { snippet, .. } => {
            kwargs.set_item("snippet", snippet.as_str())?;
        }
        nexotp::Error::WaitTimeout {
            order_id,
            waited,
            cancelled,
            ..
        } => {
            kwargs.set_item("order_id", order_id.as_str())?;
            kwargs.set_item("waited", secs(*waited))?;
            kwargs.set_item("cancelled", *cancelled)?;
        }
        _ => {}
    }
    let err = make(py, kind.class_name(), &error.to_string(), Some(&kwargs));
    // The source chain, outermost first, as nested `__cause__`s.
    let mut causes: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        causes.push(inner.to_string());
        source = inner.source();
    }
    let mut next: Option<PyErr> = None;
    for text in causes.into_iter().rev() {
        let link = PyException::new_err(text);
        link.set_cause(py, next.take());
        next = Some(link);
    }
    if next.is_some() {
        err.set_cause(py, next);
    }
    Ok(err)
}

/// The attributes of an `OrderOutcomeUnknownError`: every field of the core's `SentCall`, which
/// [`crate::convert::sent_call`] reads back for `reconcile`.
fn sent_call_kwargs(
    py: Python<'_>,
    call: &nexotp::SentCall,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<()> {
    kwargs.set_item("operation", call.operation.as_str())?;
    kwargs.set_item("service", call.service.as_deref())?;
    kwargs.set_item("country", call.country.as_deref())?;
    kwargs.set_item("pool", call.pool.as_deref())?;
    kwargs.set_item("max_price", call.max_price)?;
    kwargs.set_item("order_id", call.order_id.as_deref())?;
    kwargs.set_item("codes_before", call.codes_before.clone())?;
    let status = call
        .status_before
        .as_ref()
        .map(|s| status_to_py(py, s))
        .transpose()?;
    kwargs.set_item("status_before", status)?;
    kwargs.set_item("endpoint_url", call.endpoint_url.as_deref())?;
    kwargs.set_item("events", call.events.clone())?;
    kwargs.set_item("sent_at", nexotp::args::unix_secs(call.sent_at))?;
    kwargs.set_item("failed_at", nexotp::args::unix_secs(call.failed_at))?;
    Ok(())
}

/// `Result<T, nexotp::Error>` → `PyResult<T>`.
pub trait IntoPyResult<T> {
    /// Converts the error, if any.
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for nexotp::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
