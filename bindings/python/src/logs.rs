//! Request records → Python's `logging` (logger `"nexotp"`).
//!
//! The core tells a [`RequestObserver`] about every attempt on a tokio thread, where no Python
//! object may be touched. [`LogQueue`] only stores the records; [`flush`] hands them to the
//! `nexotp` logger later, on the Python thread with the GIL held (after each sync call, and in
//! the asyncio completion callback). When `logging` was never imported, or the logger is not
//! enabled for DEBUG, the records are dropped: that check is all a call pays for logging.
//! A record holds no headers, so the API key cannot reach a log. The rate-limit store's
//! outages and recoveries (once each) go to the same logger as warnings.

use std::sync::{Arc, Mutex};

use nexotp::{RequestObserver, RequestRecord, StoreEvent};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// Records are dropped past this many (a queue nobody flushes must not grow forever).
const MAX_QUEUED: usize = 10_000;
const DEBUG: i32 = 10;
const WARNING: i32 = 30;

/// The records of one client, waiting for the Python thread.
#[derive(Debug, Default)]
pub struct LogQueue {
    records: Mutex<Vec<RequestRecord>>,
    store_events: Mutex<Vec<StoreEvent>>,
}

impl RequestObserver for LogQueue {
    fn on_request(&self, record: &RequestRecord) {
        let mut records = nexotp_lock(&self.records);
        if records.len() < MAX_QUEUED {
            records.push(record.clone());
        }
    }

    fn on_store_event(&self, event: &StoreEvent) {
        let mut events = nexotp_lock(&self.store_events);
        if events.len() < MAX_QUEUED {
            events.push(event.clone());
        }
    }
}

fn nexotp_lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SYS_MODULES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Hands the queued records to `logging.getLogger("nexotp")` (GIL held).
pub fn flush(py: Python<'_>, queue: &Arc<LogQueue>) {
    let records = std::mem::take(&mut *nexotp_lock(&queue.records));
    let events = std::mem::take(&mut *nexotp_lock(&queue.store_events));
    if records.is_empty() && events.is_empty() {
        return;
    }
    // Never let logging break a call: errors here are reported the way logging reports them.
    if let Err(e) = emit(py, records, events) {
        e.write_unraisable(py, None);
    }
}

fn emit(py: Python<'_>, records: Vec<RequestRecord>, events: Vec<StoreEvent>) -> PyResult<()> {
    // Nobody configured logging if it was never imported: skip without importing it.
    let modules = SYS_MODULES
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("sys")?.getattr("modules")?.unbind())
        })?
        .bind(py);
    if !modules.contains(pyo3::intern!(py, "logging"))? {
        return Ok(());
    }
    let logger = LOGGER
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(
                py.import("logging")?
                    .call_method1("getLogger", ("nexotp",))?
                    .unbind(),
            )
        })?
        .bind(py);
    if !events.is_empty()
        && logger
            .call_method1(pyo3::intern!(py, "isEnabledFor"), (WARNING,))?
            .is_truthy()?
    {
        for event in events {
            logger.call_method1("warning", ("%s", event.to_line()))?;
        }
    }
    if !logger
        .call_method1(pyo3::intern!(py, "isEnabledFor"), (DEBUG,))?
        .is_truthy()?
    {
        return Ok(());
    }
    for r in records {
        let elapsed = r.elapsed.as_secs_f64();
        let extra = PyDict::new(py);
        extra.set_item("method", r.method)?;
        extra.set_item("path", format!("/{}", r.path))?;
        extra.set_item("status", r.status)?;
        extra.set_item("elapsed", elapsed)?;
        extra.set_item("attempt", r.attempt)?;
        extra.set_item("bucket", r.bucket.as_str())?;
        extra.set_item("request_id", r.request_id.as_deref())?;
        extra.set_item("error", r.error.as_deref())?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("extra", extra)?;
        // The core's one-line rendering (with the request id), the same as NEXOTP_LOG prints.
        logger.call_method("debug", ("%s", r.to_line()), Some(&kwargs))?;
    }
    Ok(())
}
