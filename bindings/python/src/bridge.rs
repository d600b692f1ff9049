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
//! Cancellation: every call's handle ([`Call`]) belongs to the bridge that started it, so
//! `handle.cancel()` aborts that call and no other, from any thread, with or without a running
//! loop (a coroutine closed by the garbage collector after its loop was closed, or while
//! another loop runs, cancels its own call). Nothing looks up the running loop to cancel.
//!
//! Lifetime: nothing global keeps a bridge alive. The loop holds it (its reader callback)
//! while open; each call's coroutine holds it (the cancel handle); the bridge holds its
//! futures, visibly to Python's garbage collector (`__traverse__`), and its loop only weakly.
//! So a closed loop, its bridge and the tasks left on it are one collectable cycle: collecting
//! it closes the coroutines (each cancels its own call) and the bridge's drop closes both ends
//! of its socketpair. A bridge is also released at once, with its calls in flight aborted,
//! when its loop is collected (`weakref.finalize`) or found closed (the next bridge made in
//! this process prunes the list).
//! Completions are written with `MSG_NOSIGNAL`: a write to the pair of a loop that went away
//! fails quietly instead of raising `SIGPIPE` in a program that restored the default handler.

use std::collections::HashMap;
use std::future::Future;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use pyo3::PyTraverseError;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::sync::{MutexExt, PyOnceLock};

use crate::runtime;

/// Turns a finished Rust result into the future's Python value (GIL held, loop thread).
pub type Completion = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// Runs on the loop thread before the conversion (the client's log flush).
pub type After = Box<dyn FnOnce(Python<'_>) + Send>;

/// What an async call returns to Python: its future and its cancel handle.
pub type Started<'py> = PyResult<(Bound<'py, PyAny>, Py<Call>)>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The half of a bridge that tokio tasks see: Rust data only.
struct Shared {
    queue: Mutex<Vec<(u64, Completion)>>,
    wake_pending: AtomicBool,
    /// `None` once the bridge is released (its loop closed or collected).
    writer: Mutex<Option<UnixStream>>,
}

impl Shared {
    fn complete(&self, id: u64, completion: Completion) {
        let writer = lock(&self.writer);
        let Some(writer) = writer.as_ref() else {
            return; // released: nobody will read it (dropped here, Rust data only)
        };
        lock(&self.queue).push((id, completion));
        if !self.wake_pending.swap(true, Ordering::SeqCst) {
            // SAFETY: a valid, open socket (held locked); one byte from a valid buffer.
            // A full buffer means a wake-up is already waiting; a closed peer fails quietly.
            unsafe {
                libc::send(
                    writer.as_raw_fd(),
                    [1u8].as_ptr().cast(),
                    1,
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                );
            }
        }
    }
}

/// One event loop's end of the bridge.
#[pyclass(frozen, weakref, module = "nexotp._native")]
pub struct Bridge {
    shared: Arc<Shared>,
    /// `None` once released.
    reader: Mutex<Option<UnixStream>>,
    pending: Mutex<HashMap<u64, (Py<PyAny>, tokio::task::AbortHandle)>>,
    next_id: AtomicU64,
    /// A `weakref.ref` to the loop: the bridge must not keep a closed loop alive.
    event_loop: Py<PyAny>,
    pid: u32,
}

/// The cancel handle of one async call, tied to the bridge that started it.
#[pyclass(frozen, module = "nexotp._native")]
pub struct Call {
    bridge: Py<Bridge>,
    id: u64,
}

#[pymethods]
impl Call {
    /// Aborts the call (its awaiting coroutine was cancelled or closed): the request is
    /// dropped. A no-op once it finished. Needs no running loop.
    fn cancel(&self) {
        self.bridge.get().cancel(self.id);
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.bridge)
    }
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

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // Never block in a traversal: a map being changed right now is skipped this time.
        if let Ok(pending) = self.pending.try_lock() {
            for (future, _) in pending.values() {
                visit.call(future)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        self.abort_all();
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // Both ends close here; tasks still running write nowhere and their results are freed.
        drop(lock(&self.shared.writer).take());
        self.abort_all();
    }
}

impl Bridge {
    fn drain(&self, py: Python<'_>) {
        // Order matters: empty the socket, *then* clear the flag, then take the queue. A
        // producer that sets the flag after this point writes a byte that stays in the socket
        // (another wake-up); one that found the flag set pushed before the queue is taken.
        {
            let reader = lock(&self.reader);
            let Some(reader) = reader.as_ref() else {
                return;
            };
            let mut buf = [0u8; 256];
            while let Ok(n) = (&*reader).read(&mut buf) {
                if n < buf.len() {
                    break;
                }
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

    /// Aborts call `id` of this bridge: the request is dropped.
    fn cancel(&self, id: u64) {
        if let Some((_, abort)) = lock(&self.pending).remove(&id) {
            abort.abort();
        }
    }

    /// The loop, if it is still alive.
    fn event_loop<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        let obj = self.event_loop.bind(py).call0().ok()?;
        (!obj.is_none()).then_some(obj)
    }

    fn is_released(&self) -> bool {
        lock(&self.reader).is_none()
    }

    /// Lets go of the loop: stops watching the socket (if the loop can still be told), closes
    /// both ends, aborts the calls still in flight (their futures can never be resolved) and
    /// forgets their results. Idempotent.
    fn release(&self, py: Python<'_>) {
        let reader = lock(&self.reader).take();
        let Some(reader) = reader else {
            return;
        };
        if let Some(event_loop) = self.event_loop(py) {
            let closed = event_loop
                .call_method0("is_closed")
                .and_then(|c| c.is_truthy())
                .unwrap_or(true);
            if !closed {
                let _ = event_loop.call_method1("remove_reader", (reader.as_raw_fd(),));
            }
        }
        drop(reader);
        drop(lock(&self.shared.writer).take());
        self.abort_all();
    }

    /// Aborts every call in flight and forgets their futures and results (not after a fork:
    /// the tasks belong to the parent's runtime).
    fn abort_all(&self) {
        lock(&self.shared.queue).clear();
        let pending = std::mem::take(&mut *lock(&self.pending));
        if self.pid == std::process::id() {
            for (_, abort) in pending.values() {
                abort.abort();
            }
        }
        drop(pending);
    }
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static WEAKREF: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// Weak references to the bridges made in this process, touched only with the GIL held.
static BRIDGES: Mutex<Vec<Py<PyAny>>> = Mutex::new(Vec::new());

/// The bridge behind a weak reference, if it is still alive.
fn upgrade<'py>(py: Python<'py>, weak: &Py<PyAny>) -> Option<Bound<'py, Bridge>> {
    weak.bind(py).call0().ok()?.cast_into::<Bridge>().ok()
}

/// `weakref.finalize`'s callback when a loop is collected: releases its bridge, if alive.
#[pyfunction]
pub fn _release_bridge(py: Python<'_>, weak: Py<PyAny>) {
    if let Some(bridge) = upgrade(py, &weak) {
        bridge.get().release(py);
    }
}

fn weakref(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    Ok(WEAKREF
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("weakref")?.unbind().into_any())
        })?
        .bind(py))
}

fn setup_error(e: std::io::Error) -> PyErr {
    crate::errors::nexotp_error(&format!("cannot set up the asyncio bridge: {e}"))
}

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
    for weak in bridges.iter() {
        if let Some(b) = upgrade(py, weak) {
            let inner = b.get();
            if inner.pid == pid
                && !inner.is_released()
                && inner.event_loop(py).is_some_and(|l| l.is(&event_loop))
            {
                return Ok(b);
            }
        }
    }
    // Release the bridges of closed or collected loops, and forget those of the parent
    // process (after a fork: their tasks lived on the parent's runtime).
    let mut stale = Vec::new();
    bridges.retain(|weak| {
        let Some(b) = upgrade(py, weak) else {
            return false;
        };
        let bridge = b.get();
        let alive = bridge.pid == pid
            && !bridge.is_released()
            && bridge.event_loop(py).is_some_and(|l| {
                !l.call_method0("is_closed")
                    .and_then(|c| c.is_truthy())
                    .unwrap_or(true)
            });
        if !alive {
            stale.push(b);
        }
        alive
    });
    for b in stale {
        b.get().release(py);
    }
    let (reader, writer) = UnixStream::pair().map_err(setup_error)?;
    reader
        .set_nonblocking(true)
        .and_then(|_| writer.set_nonblocking(true))
        .map_err(setup_error)?;
    let fd = reader.as_raw_fd();
    let weakref = weakref(py)?;
    let bridge = Bound::new(
        py,
        Bridge {
            shared: Arc::new(Shared {
                queue: Mutex::new(Vec::new()),
                wake_pending: AtomicBool::new(false),
                writer: Mutex::new(Some(writer)),
            }),
            reader: Mutex::new(Some(reader)),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            event_loop: weakref.call_method1("ref", (&event_loop,))?.unbind(),
            pid,
        },
    )?;
    event_loop.call_method1("add_reader", (fd, bridge.getattr("_drain")?))?;
    let weak = weakref.call_method1("ref", (&bridge,))?;
    let release = wrap_pyfunction!(_release_bridge, py)?;
    weakref.call_method1("finalize", (&event_loop, release, &weak))?;
    bridges.push(weak.unbind());
    Ok(bridge)
}

/// Starts `fut` on the runtime for the running loop; returns `(asyncio future, cancel handle)`.
/// `convert` runs later on the loop thread with the GIL held.
pub fn spawn<'py, F, T>(
    py: Python<'py>,
    fut: F,
    convert: fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
    after: Option<After>,
) -> Started<'py>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime::runtime()?;
    let bridge = current(py)?;
    let b = bridge.get();
    let future = bridge
        .get()
        .event_loop(py)
        .ok_or_else(|| crate::errors::nexotp_error("the event loop went away"))?
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
    let call = Py::new(
        py,
        Call {
            bridge: bridge.clone().unbind(),
            id,
        },
    )?;
    Ok((future, call))
}

/// `(calls pending, results queued, wake-up pending)` of the running loop's bridge (tests).
#[cfg(feature = "test-hooks")]
pub fn state(py: Python<'_>) -> PyResult<(usize, usize, bool)> {
    let bridge = current(py)?;
    let b = bridge.get();
    Ok((
        lock(&b.pending).len(),
        lock(&b.shared.queue).len(),
        b.shared.wake_pending.load(Ordering::SeqCst),
    ))
}

/// How many bridges are live in this process (tests: closed loops' bridges are released).
#[cfg(feature = "test-hooks")]
pub fn live(py: Python<'_>) -> usize {
    BRIDGES
        .lock_py_attached(py)
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter_map(|weak| upgrade(py, weak))
        .filter(|b| !b.get().is_released())
        .count()
}
