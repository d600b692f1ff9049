//! asyncio ⇄ tokio without touching Python on a tokio thread.
//!
//! An async call creates an `asyncio.Future` on the running loop (GIL held, loop thread),
//! spawns the Rust future on the runtime, and returns. The tokio task holds only Rust data: when
//! it finishes it pushes its Rust result into the loop's [`Shared`] queue and writes one byte
//! to a socketpair (only if no wake-up is pending). The loop watches the other end with
//! `loop.add_reader`; the callback, [`Bridge::_drain`], runs on the loop thread with the GIL
//! held, converts every finished result to Python and resolves its future. So conversion
//! happens on the Python side of the bridge, completions batch under load (one wake-up for
//! many results), and a tokio thread never needs the GIL, which is what keeps interpreter
//! exit safe while requests are still in flight.
//!
//! Why not `pyo3_async_runtimes::future_into_py`: it converts the result and resolves the future
//! from inside the runtime (`Python::attach` on a tokio blocking thread, holding `Py` futures
//! in the task), which breaks both rules above.
//!
//! Cancellation: the Python wrapper calls [`Bridge::cancel`] when its `await` is interrupted;
//! that aborts the tokio task, which drops the HTTP request.

use std::collections::HashMap;
use std::future::Future;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use pyo3::prelude::*;
use pyo3::sync::{MutexExt, PyOnceLock};

use crate::runtime;

/// Turns a finished Rust result into the future's Python value (GIL held, loop thread).
pub type Completion = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// Runs on the loop thread before the conversion (the client's log flush).
pub type After = Box<dyn FnOnce(Python<'_>) + Send>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The half of a bridge that tokio tasks see: Rust data only.
struct Shared {
    queue: Mutex<Vec<(u64, Completion)>>,
    wake_pending: AtomicBool,
    writer: UnixStream,
}

impl Shared {
    fn complete(&self, id: u64, completion: Completion) {
        lock(&self.queue).push((id, completion));
        if !self.wake_pending.swap(true, Ordering::SeqCst) {
            // A full socket buffer means a wake-up is already waiting: nothing is lost.
            let _ = (&self.writer).write(&[1]);
        }
    }
}

/// One event loop's end of the bridge.
#[pyclass(frozen, module = "nexotp._native")]
pub struct Bridge {
    shared: Arc<Shared>,
    reader: UnixStream,
    pending: Mutex<HashMap<u64, (Py<PyAny>, tokio::task::AbortHandle)>>,
    next_id: AtomicU64,
    event_loop: Py<PyAny>,
    pid: u32,
}

#[pymethods]
impl Bridge {
    /// The loop's reader callback: resolves every finished call.
    fn _drain(&self, py: Python<'_>) {
        // Nothing may unwind into the event loop's callback machinery.
        if let Err(e) = runtime::guard(|| {
            self.drain(py);
            Ok(())
        }) {
            e.write_unraisable(py, None);
        }
    }
}

impl Bridge {
    fn drain(&self, py: Python<'_>) {
        // Order matters: empty the socket, *then* clear the flag, then take the queue. A
        // producer that sets the flag after this point writes a byte that stays in the socket
        // (another wake-up); one that found the flag set pushed before the queue is taken.
        let mut buf = [0u8; 256];
        while let Ok(n) = (&self.reader).read(&mut buf) {
            if n < buf.len() {
                break;
            }
        }
        self.shared.wake_pending.store(false, Ordering::SeqCst);
        let done = std::mem::take(&mut *lock(&self.shared.queue));
        for (id, completion) in done {
            let Some((future, _)) = lock(&self.pending).remove(&id) else {
                continue; // cancelled meanwhile
            };
            let future = future.bind(py);
            if future
                .call_method0(pyo3::intern!(py, "done"))
                .and_then(|d| d.is_truthy())
                .unwrap_or(true)
            {
                continue;
            }
            // One bad conversion must not lose the rest of the batch: a panic in it fails only
            // its own future.
            let converted = catch_unwind(AssertUnwindSafe(|| completion(py)))
                .unwrap_or_else(|payload| Err(runtime::internal_error(payload.as_ref())));
            let outcome = match converted {
                Ok(value) => future.call_method1(pyo3::intern!(py, "set_result"), (value,)),
                Err(err) => {
                    future.call_method1(pyo3::intern!(py, "set_exception"), (err.into_value(py),))
                }
            };
            if let Err(e) = outcome {
                e.write_unraisable(py, Some(future));
            }
        }
    }

    /// Aborts call `token` (its future was cancelled): the request is dropped.
    pub fn cancel(&self, token: u64) {
        if let Some((_, abort)) = lock(&self.pending).remove(&token) {
            abort.abort();
        }
    }
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// Bridges by loop, touched only with the GIL held.
static BRIDGES: Mutex<Vec<Py<Bridge>>> = Mutex::new(Vec::new());

/// The bridge of the running event loop, set up on its first use.
pub fn current(py: Python<'_>) -> PyResult<Bound<'_, Bridge>> {
    let get = GET_RUNNING_LOOP.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
    })?;
    let event_loop = get.bind(py).call0()?;
    let pid = std::process::id();
    // Waits for the lock detached from Python: another thread may hold it while it runs
    // Python code (add_reader) and needs the GIL back.
    let mut bridges = BRIDGES
        .lock_py_attached(py)
        .unwrap_or_else(|p| p.into_inner());
    if let Some(b) = bridges
        .iter()
        .find(|b| b.get().event_loop.bind(py).is(&event_loop) && b.get().pid == pid)
    {
        return Ok(b.bind(py).clone());
    }
    // Forget bridges of closed loops and of the parent process (after a fork).
    bridges.retain(|b| {
        let b = b.get();
        b.pid == pid
            && !b
                .event_loop
                .bind(py)
                .call_method0("is_closed")
                .and_then(|c| c.is_truthy())
                .unwrap_or(true)
    });
    let (reader, writer) = UnixStream::pair().map_err(|e| {
        crate::errors::nexotp_error(&format!("cannot set up the asyncio bridge: {e}"))
    })?;
    reader
        .set_nonblocking(true)
        .and_then(|_| writer.set_nonblocking(true))
        .map_err(|e| {
            crate::errors::nexotp_error(&format!("cannot set up the asyncio bridge: {e}"))
        })?;
    let fd = reader.as_raw_fd();
    let bridge = Bound::new(
        py,
        Bridge {
            shared: Arc::new(Shared {
                queue: Mutex::new(Vec::new()),
                wake_pending: AtomicBool::new(false),
                writer,
            }),
            reader,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            event_loop: event_loop.clone().unbind(),
            pid,
        },
    )?;
    event_loop.call_method1("add_reader", (fd, bridge.getattr("_drain")?))?;
    bridges.push(bridge.clone().unbind());
    Ok(bridge)
}

/// Starts `fut` on the runtime for the running loop; returns `(asyncio future, cancel token)`.
/// `convert` runs later on the loop thread with the GIL held.
pub fn spawn<'py, F, T>(
    py: Python<'py>,
    fut: F,
    convert: fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
    after: Option<After>,
) -> PyResult<(Bound<'py, PyAny>, u64)>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime::runtime()?;
    let bridge = current(py)?;
    let b = bridge.get();
    let future = b
        .event_loop
        .bind(py)
        .call_method0(pyo3::intern!(py, "create_future"))?;
    let id = b.next_id.fetch_add(1, Ordering::Relaxed);
    let shared = Arc::clone(&b.shared);
    let handle = rt.spawn(async move {
        let out = AssertUnwindSafe(fut).catch_unwind().await;
        let completion: Completion = Box::new(move |py| {
            if let Some(after) = after {
                after(py);
            }
            match out {
                Ok(value) => convert(py, value),
                Err(payload) => Err(runtime::internal_error(payload.as_ref())),
            }
        });
        shared.complete(id, completion);
    });
    lock(&b.pending).insert(id, (future.clone().unbind(), handle.abort_handle()));
    Ok((future, id))
}

/// `(calls pending, results queued, wake-up pending)` of the running loop's bridge (tests).
pub fn state(py: Python<'_>) -> PyResult<(usize, usize, bool)> {
    let bridge = current(py)?;
    let b = bridge.get();
    Ok((
        lock(&b.pending).len(),
        lock(&b.shared.queue).len(),
        b.shared.wake_pending.load(Ordering::SeqCst),
    ))
}

/// Cancels call `token` on the running loop's bridge (a no-op when it already finished).
pub fn cancel(py: Python<'_>, token: u64) -> PyResult<()> {
    current(py)?.get().cancel(token);
    Ok(())
}
