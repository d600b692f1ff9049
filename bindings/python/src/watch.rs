//! `nexotp.Watcher` (from `Client.watch()`, and behind `AsyncClient.watch()`), and its
//! `WatchEvent`s. Conversion only: the core's `nexotp::Watcher` polls, schedules, and keeps
//! codes from coming twice.
//!
//! The sync iterator blocks in [`runtime::block_on`] (GIL released, Ctrl-C honoured), the async
//! one starts each `next` through [`bridge::spawn`] (converted on the loop thread), so no
//! thread holds the GIL while it waits. `add`, `remove`, `feed` and `close` never wait: they
//! go through the core's `WatchHandle`, so another thread or task may call them while one
//! iterates. The watcher polls only while it is iterated.

use std::sync::Arc;

use futures_util::StreamExt;
use pyo3::prelude::*;

use crate::bridge;
use crate::client::Core;
use crate::convert;
use crate::errors::{self, IntoPyResult};
use crate::jobs::wait_options;
use crate::logs;
use crate::models::{PyOrder, PyWebhookEvent};
use crate::runtime::{self, guard};

/// One event of a watcher: a new code, or the end of an order's watch.
#[pyclass(frozen, module = "nexotp", name = "WatchEvent")]
pub struct PyWatchEvent {
    kind: &'static str,
    order_id: String,
    order: Option<nexotp::Order>,
    cancelled: bool,
    error: Option<Py<PyAny>>,
    from_webhook: bool,
}

impl PyWatchEvent {
    fn convert(py: Python<'_>, event: nexotp::WatchEvent) -> PyWatchEvent {
        PyWatchEvent {
            kind: event.kind.as_str(),
            order_id: event.order_id,
            order: event.order,
            cancelled: event.cancelled,
            error: event
                .error
                .map(|e| errors::to_py(py, e).into_value(py).into_any()),
            from_webhook: event.from_webhook,
        }
    }
}

/// The next event as Python: a `WatchEvent`, or `None` once the watcher is closed.
fn event_to_py(py: Python<'_>, event: Option<nexotp::WatchEvent>) -> PyResult<Py<PyAny>> {
    match event {
        Some(event) => Ok(Py::new(py, PyWatchEvent::convert(py, event))?.into_any()),
        None => Ok(py.None()),
    }
}

#[pymethods]
impl PyWatchEvent {
    /// `"code"`, `"completed"`, `"cancelled"`, `"expired"`, `"timed_out"` or `"failed"`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// The order it is about.
    #[getter]
    fn order_id(&self) -> &str {
        &self.order_id
    }

    /// The order as last seen (always there for `"code"`).
    #[getter]
    fn order(&self) -> Option<PyOrder> {
        self.order.clone().map(PyOrder::from)
    }

    /// The new code, for `"code"`.
    #[getter]
    fn code(&self) -> Option<&str> {
        match self.kind {
            "code" => self.order.as_ref().and_then(|o| o.code.as_deref()),
            _ => None,
        }
    }

    /// For `"timed_out"`: whether `cancel_on_timeout` cancelled the order.
    #[getter]
    fn cancelled(&self) -> bool {
        self.cancelled
    }

    /// For `"failed"`: the exception (`NotFoundError`, `AuthenticationError`, ...).
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.error.as_ref().map(|e| e.clone_ref(py))
    }

    /// Whether a fed webhook delivery, rather than a poll, brought it.
    #[getter(from_webhook)]
    fn by_webhook(&self) -> bool {
        self.from_webhook
    }

    fn __repr__(&self) -> String {
        let code = self
            .code()
            .map(|c| format!(", code='{c}'"))
            .unwrap_or_default();
        format!(
            "WatchEvent(kind='{}', order_id='{}'{code}, from_webhook={})",
            self.kind,
            self.order_id,
            if self.from_webhook { "True" } else { "False" }
        )
    }
}

/// Follows many orders in one polling loop. Iterate it (`for event in watcher`) for one event
/// per new code and one per order whose watch ends; `add`, `remove` and `feed` at any time,
/// from any thread. Made by `Client.watch()`; `close()` (or leaving a `with` block) ends the
/// iteration. It keeps the connection pool of the process that created it: after `os.fork()`,
/// make a new watcher in the child.
#[pyclass(frozen, module = "nexotp", name = "Watcher")]
pub struct Watcher {
    handle: nexotp::WatchHandle,
    stream: Arc<tokio::sync::Mutex<nexotp::Watcher>>,
    core: Arc<Core>,
}

impl Watcher {
    pub fn new(py: Python<'_>, core: Arc<Core>) -> PyResult<Watcher> {
        let watcher = core.client(py)?.watch();
        Ok(Watcher {
            handle: watcher.handle(),
            stream: Arc::new(tokio::sync::Mutex::new(watcher)),
            core,
        })
    }
}

#[pymethods]
impl Watcher {
    /// Follows order `id` until its first new code, its end, or `timeout` seconds (default
    /// 300; then cancelled if `cancel_on_timeout`). The first poll comes after
    /// `poll_interval` (default 3), and the interval grows by half after every poll that
    /// finds nothing new (up to 30 s). Codes it had before this client resent it, codes this
    /// watcher already gave for it, and `exclude_codes` do not count. Adding an order already
    /// followed restarts its watch.
    #[pyo3(signature = (id, *, timeout=None, poll_interval=None, cancel_on_timeout=None, exclude_codes=None))]
    fn add(
        &self,
        py: Python<'_>,
        id: &Bound<'_, PyAny>,
        timeout: Option<&Bound<'_, PyAny>>,
        poll_interval: Option<&Bound<'_, PyAny>>,
        cancel_on_timeout: Option<&Bound<'_, PyAny>>,
        exclude_codes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        guard(|| {
            let id = convert::id("id", id)?;
            let options = wait_options(timeout, poll_interval, cancel_on_timeout, exclude_codes)?;
            self.handle.add(&id, options).py(py)
        })
    }

    /// Stops following order `id` (no event comes for it); whether it was followed.
    fn remove(&self, id: &Bound<'_, PyAny>) -> PyResult<bool> {
        guard(|| Ok(self.handle.remove(&convert::id("id", id)?)))
    }

    /// Feeds a delivery verified with `verify_webhook`: a new code or the order's end becomes
    /// its event at once and the order is not polled again. Whether it was about an order
    /// being followed.
    fn feed(&self, event: &Bound<'_, PyAny>) -> PyResult<bool> {
        guard(|| {
            let event = event.cast::<PyWebhookEvent>().map_err(|_| {
                errors::invalid_argument(
                    event.py(),
                    "event",
                    "must be a WebhookEvent returned by verify_webhook",
                )
            })?;
            Ok(self.handle.feed(&event.get().inner))
        })
    }

    /// Stops the watcher: nothing more is polled, and iteration ends. Idempotent.
    fn close(&self) -> PyResult<()> {
        guard(|| {
            self.handle.close();
            Ok(())
        })
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// How many orders are followed.
    fn __len__(&self) -> usize {
        self.handle.len()
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Blocks (without the GIL) until the next event; `StopIteration` once closed.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        guard(|| {
            let stream = Arc::clone(&self.stream);
            let out = runtime::block_on(py, async move { stream.lock().await.next().await });
            logs::flush(py, self.core.logs());
            match out? {
                Some(event) => Ok(Some(event_to_py(py, Some(event))?)),
                None => Ok(None),
            }
        })
    }

    /// Starts waiting for the next event on the running loop: `(future, cancel handle)`; the
    /// future gives `True` once an event waits (`_take()` takes it) or `False` once closed.
    /// The event is taken on the loop thread, not in the task, so cancelling the await never
    /// loses one (`AsyncWatcher` does both).
    fn _ready_async<'py>(&self, py: Python<'py>) -> bridge::Started<'py> {
        guard(|| {
            let stream = Arc::clone(&self.stream);
            let logs = self.core.logs().clone();
            bridge::spawn(
                py,
                async move { stream.lock().await.ready().await },
                |py, ready: bool| {
                    Ok(pyo3::types::PyBool::new(py, ready)
                        .to_owned()
                        .into_any()
                        .unbind())
                },
                Some(Box::new(move |py| logs::flush(py, &logs))),
                None,
            )
        })
    }

    /// The event waiting, if any (after `_ready_async` gave `True`), else `None`.
    fn _take(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| event_to_py(py, self.handle.try_next()))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        guard(|| {
            self.handle.close();
            Ok(false)
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Watcher(orders={}, closed={})",
            self.handle.len(),
            if self.handle.is_closed() {
                "True"
            } else {
                "False"
            }
        )
    }
}
