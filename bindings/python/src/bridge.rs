//! asyncio ⇄ tokio without touching Python on a tokio thread.
//!
//! An async call creates an `asyncio.Future` on the running loop (GIL held, loop thread),
//! spawns the Rust future on the runtime, and returns. The tokio task holds only Rust data: when
//! it finishes it pushes its Rust result into the loop's [`Shared`] queue and wakes the loop
//! (only if no wake-up is pending). The wake-up runs [`Bridge::_drain`] on the loop thread
//! with the GIL held: it converts every finished result to Python and resolves its future. So
//! conversion happens on the Python side of the bridge, completions batch under load (one
//! wake-up for many results), and a tokio thread never needs the GIL, which is what keeps
//! interpreter exit safe while requests are still in flight.
//!
//! Two ways to wake the loop, chosen per loop when its bridge is made:
//! - **Reader** (Unix, the default): the task writes one byte to a socketpair whose other end
//!   the loop watches with `loop.add_reader`; the loop's own selector wakes it.
//! - **Thread** (Windows, whose `ProactorEventLoop` has no `add_reader`; on Unix a loop whose
//!   `add_reader` raises `NotImplementedError` or is missing, or when
//!   `NEXOTP_ASYNC_WAKEUP=thread`): the task rings a [`Doorbell`] (a mutex and a condition
//!   variable, Rust data only). One Python thread per bridge (`nexotp-wakeup`, a daemon) waits
//!   on it with the GIL released, and on each ring calls `loop.call_soon_threadsafe(_drain)`.
//!   The thread holds the bridge only weakly and ends when the bridge is released or dropped,
//!   so loops made and closed in turn leave no threads behind.
//!
//! Why not `pyo3_async_runtimes::future_into_py`: it converts the result and resolves the future
//! from inside the runtime (`Python::attach` on a tokio blocking thread, holding `Py` futures
//! in the task), which breaks both rules above.
//!
//! Cancellation: every call's handle ([`Call`]) belongs to the bridge that started it, so
//! `handle.cancel()` aborts that call and no other, from any thread, with or without a running
//! loop (a coroutine closed by the garbage collector after its loop was closed, or while
//! another loop runs, cancels its own call). Nothing looks up the running loop to cancel.
//! A call started with the core's [`nexotp::AbortSignal`] can also be ended the core's way,
//! [`Call::abort`]: the signal fires and the call's own end (`AbortError`, or for a create
//! order, resend or create webhook already sent, `OrderOutcomeUnknownError`) resolves a fresh
//! future, which `nexotp._async` awaits when a task is cancelled so the `CancelledError` can
//! carry an unknown outcome.
//!
//! Lifetime: nothing global keeps a bridge alive. The loop holds it (its reader callback, or in
//! the thread mode a timer a year away, which closing the loop drops) while open; each call's coroutine holds it (the cancel handle); the bridge holds its
//! futures, visibly to Python's garbage collector (`__traverse__`), and its loop only weakly.
//! So a closed loop, its bridge and the tasks left on it are one collectable cycle: collecting
//! it closes the coroutines (each cancels its own call) and the bridge's drop closes both ends
//! of its socketpair (or ends its wake-up thread). A bridge is also released at once, with its
//! calls in flight aborted, when its loop is collected (`weakref.finalize`) or found closed
//! (the next bridge made in this process prunes the list).
//! Completions are written with `MSG_NOSIGNAL`: a write to the pair of a loop that went away
//! fails quietly instead of raising `SIGPIPE` in a program that restored the default handler.

use std::collections::HashMap;
use std::future::Future;
#[cfg(unix)]
use std::io::Read;
#[cfg(unix)]
use std::os::fd::AsRawFd;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

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

/// A wake-up a thread waits for: rung by tokio tasks, closed when the bridge is released.
/// Rust data only.
#[derive(Default)]
struct Doorbell {
    state: Mutex<Bell>,
    rung: Condvar,
}

#[derive(Default)]
struct Bell {
    rung: bool,
    closed: bool,
}

impl Doorbell {
    fn ring(&self) {
        lock(&self.state).rung = true;
        self.rung.notify_one();
    }

    fn close(&self) {
        lock(&self.state).closed = true;
        self.rung.notify_all();
    }

    /// Waits for a ring (`true`) or the close (`false`); blocks, so called detached.
    fn wait(&self) -> bool {
        let mut bell = lock(&self.state);
        while !bell.rung && !bell.closed {
            bell = self.rung.wait(bell).unwrap_or_else(|p| p.into_inner());
        }
        let rung = !bell.closed;
        bell.rung = false;
        rung
    }
}

/// How tokio tasks wake the loop thread (see the module docs).
enum Waker {
    /// The write end of the socketpair the loop watches.
    #[cfg(unix)]
    Socket(UnixStream),
    /// The doorbell the bridge's wake-up thread waits on.
    Thread(Arc<Doorbell>),
}

impl Waker {
    fn wake(&self) {
        match self {
            #[cfg(unix)]
            Waker::Socket(writer) => {
                // SAFETY: a valid, open socket (held locked by the caller); one byte from a
                // valid buffer. A full buffer means a wake-up is already waiting; a closed peer
                // fails quietly.
                unsafe {
                    libc::send(
                        writer.as_raw_fd(),
                        [1u8].as_ptr().cast(),
                        1,
                        libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                    );
                }
            }
            Waker::Thread(bell) => bell.ring(),
        }
    }

    /// Lets go: the socket closes when dropped; the wake-up thread is told to end.
    fn close(self) {
        match self {
            #[cfg(unix)]
            Waker::Socket(writer) => drop(writer),
            Waker::Thread(bell) => bell.close(),
        }
    }
}

/// What the loop side of a bridge watches.
enum Watch {
    /// The read end of the socketpair, registered with `loop.add_reader`.
    #[cfg(unix)]
    Reader(UnixStream),
    /// Nothing: the wake-up thread waits on the doorbell the [`Waker`] rings.
    Thread,
}

/// The half of a bridge that tokio tasks see: Rust data only.
struct Shared {
    queue: Mutex<Vec<(u64, Completion)>>,
    wake_pending: AtomicBool,
    /// `None` once the bridge is released (its loop closed or collected).
    waker: Mutex<Option<Waker>>,
}

impl Shared {
    fn complete(&self, id: u64, completion: Completion) {
        let waker = lock(&self.waker);
        let Some(waker) = waker.as_ref() else {
            return; // released: nobody will read it (dropped here, Rust data only)
        };
        lock(&self.queue).push((id, completion));
        if !self.wake_pending.swap(true, Ordering::SeqCst) {
            waker.wake();
        }
    }

    /// Stops waking the loop (idempotent).
    fn close(&self) {
        if let Some(waker) = lock(&self.waker).take() {
            waker.close();
        }
    }
}

/// One event loop's end of the bridge.
#[pyclass(frozen, weakref, module = "nexotp._native")]
pub struct Bridge {
    shared: Arc<Shared>,
    /// `None` once released.
    watch: Mutex<Option<Watch>>,
    pending: Mutex<HashMap<u64, Pending>>,
    next_id: AtomicU64,
    /// A `weakref.ref` to the loop: the bridge must not keep a closed loop alive.
    event_loop: Py<PyAny>,
    pid: u32,
}

/// A call in flight: the future its result resolves, and how to stop its task.
struct Pending {
    future: Py<PyAny>,
    abort: tokio::task::AbortHandle,
}

/// The cancel handle of one async call, tied to the bridge that started it.
#[pyclass(frozen, module = "nexotp._native")]
pub struct Call {
    bridge: Py<Bridge>,
    id: u64,
    /// The core's abort signal of this call, when it was started with one.
    signal: Option<nexotp::AbortSignal>,
}

#[pymethods]
impl Call {
    /// Aborts the call (its awaiting coroutine was cancelled or closed): the request is
    /// dropped. A no-op once it finished. Needs no running loop.
    fn cancel(&self) {
        self.bridge.get().cancel(self.id);
    }

    /// Ends the call the core's way (its awaiting task was cancelled): fires its abort signal
    /// and returns a new future on the call's loop that the call's own end resolves (the
    /// core's `AbortError`, or `OrderOutcomeUnknownError` for a create order, resend or create
    /// webhook already sent; or its result, had it just finished). `None` when the call
    /// already finished, or has no signal (then it is cancelled as by `cancel()`).
    fn abort(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let bridge = self.bridge.get();
        let Some(signal) = &self.signal else {
            bridge.cancel(self.id);
            return Ok(None);
        };
        let Some(event_loop) = bridge.event_loop(py) else {
            bridge.cancel(self.id);
            return Ok(None);
        };
        let mut pending = lock(&bridge.pending);
        let Some(entry) = pending.get_mut(&self.id) else {
            return Ok(None);
        };
        let Ok(future) = event_loop.call_method0(pyo3::intern!(py, "create_future")) else {
            drop(pending);
            bridge.cancel(self.id); // a loop that cannot make one: just stop the call
            return Ok(None);
        };
        entry.future = future.clone().unbind();
        drop(pending);
        signal.abort();
        Ok(Some(future.unbind()))
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
            for call in pending.values() {
                visit.call(&call.future)?;
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
        // Both ends close here (or the wake-up thread ends); tasks still running write nowhere
        // and their results are freed.
        self.shared.close();
        *lock(&self.watch) = None;
        self.abort_all();
    }
}

impl Bridge {
    fn drain(&self, py: Python<'_>) {
        // Order matters: empty the socket, *then* clear the flag, then take the queue. A
        // producer that sets the flag after this point writes a byte that stays in the socket
        // (or rings the doorbell again): another wake-up; one that found the flag set pushed
        // before the queue is taken.
        match lock(&self.watch).as_ref() {
            None => return,
            #[cfg(unix)]
            Some(Watch::Reader(reader)) => {
                let mut buf = [0u8; 256];
                while let Ok(n) = (&*reader).read(&mut buf) {
                    if n < buf.len() {
                        break;
                    }
                }
            }
            // The thread already took the ring before it scheduled this drain.
            Some(Watch::Thread) => {}
        }
        self.shared.wake_pending.store(false, Ordering::SeqCst);
        let done = std::mem::take(&mut *lock(&self.shared.queue));
        for (id, completion) in done {
            let Some(Pending { future, .. }) = lock(&self.pending).remove(&id) else {
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
        if let Some(call) = lock(&self.pending).remove(&id) {
            call.abort.abort();
        }
    }

    /// The loop, if it is still alive.
    fn event_loop<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        let obj = self.event_loop.bind(py).call0().ok()?;
        (!obj.is_none()).then_some(obj)
    }

    fn is_released(&self) -> bool {
        lock(&self.watch).is_none()
    }

    /// Lets go of the loop: stops watching the socket (if the loop can still be told) and
    /// closes both ends, or ends the wake-up thread; aborts the calls still in flight (their
    /// futures can never be resolved) and forgets their results. Idempotent.
    fn release(&self, py: Python<'_>) {
        // The read end (if any) closes at the end of this function.
        let Some(watch) = lock(&self.watch).take() else {
            return;
        };
        #[cfg(unix)]
        if let Watch::Reader(reader) = &watch
            && let Some(event_loop) = self.event_loop(py)
            && !is_closed(&event_loop)
        {
            let _ = event_loop.call_method1("remove_reader", (reader.as_raw_fd(),));
        }
        #[cfg(not(unix))]
        let _ = (py, watch);
        self.shared.close();
        self.abort_all();
    }

    /// How this bridge wakes its loop: `"reader"` or `"thread"` (tests).
    #[cfg(feature = "test-hooks")]
    fn wakeup(&self) -> &'static str {
        match lock(&self.watch).as_ref() {
            #[cfg(unix)]
            Some(Watch::Reader(_)) => "reader",
            Some(Watch::Thread) => "thread",
            None => "released",
        }
    }

    /// Aborts every call in flight and forgets their futures and results (not after a fork:
    /// the tasks belong to the parent's runtime).
    fn abort_all(&self) {
        lock(&self.shared.queue).clear();
        let pending = std::mem::take(&mut *lock(&self.pending));
        if self.pid == std::process::id() {
            for call in pending.values() {
                call.abort.abort();
            }
        }
        drop(pending);
    }
}

/// Whether `event_loop` is closed (or cannot say).
fn is_closed(event_loop: &Bound<'_, PyAny>) -> bool {
    event_loop
        .call_method0(pyo3::intern!(event_loop.py(), "is_closed"))
        .and_then(|c| c.is_truthy())
        .unwrap_or(true)
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

#[cfg(unix)]
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
            && bridge.event_loop(py).is_some_and(|l| !is_closed(&l));
        if !alive {
            stale.push(b);
        }
        alive
    });
    for b in stale {
        b.get().release(py);
    }
    let weakref = weakref(py)?;
    let bridge = Bound::new(
        py,
        Bridge {
            shared: Arc::new(Shared {
                queue: Mutex::new(Vec::new()),
                wake_pending: AtomicBool::new(false),
                waker: Mutex::new(None),
            }),
            watch: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            event_loop: weakref.call_method1("ref", (&event_loop,))?.unbind(),
            pid,
        },
    )?;
    let weak = weakref.call_method1("ref", (&bridge,))?;
    if thread_forced()? || !watch_with_reader(&bridge, &event_loop)? {
        watch_with_thread(py, &bridge, &weak, &event_loop)?;
    }
    let release = wrap_pyfunction!(_release_bridge, py)?;
    weakref.call_method1("finalize", (&event_loop, release, &weak))?;
    bridges.push(weak.unbind());
    Ok(bridge)
}

/// Whether `NEXOTP_ASYNC_WAKEUP=thread` asks for the wake-up thread on every loop (always the
/// case on Windows, where there is no other way).
fn thread_forced() -> PyResult<bool> {
    let value = std::env::var("NEXOTP_ASYNC_WAKEUP").unwrap_or_default();
    match value.trim() {
        "" | "auto" => Ok(cfg!(not(unix))),
        "thread" => Ok(true),
        other => Err(crate::errors::nexotp_error(&format!(
            "NEXOTP_ASYNC_WAKEUP must be \"auto\" or \"thread\", got {other:?}"
        ))),
    }
}

/// Sets `bridge` up to wake its loop through a socketpair and `loop.add_reader`; `false` (and
/// nothing set up) when the loop has no working `add_reader` (`NotImplementedError`, as
/// Windows' `ProactorEventLoop` raises, or no such method).
#[cfg(unix)]
fn watch_with_reader(bridge: &Bound<'_, Bridge>, event_loop: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = bridge.py();
    let (reader, writer) = UnixStream::pair().map_err(setup_error)?;
    reader
        .set_nonblocking(true)
        .and_then(|_| writer.set_nonblocking(true))
        .map_err(setup_error)?;
    let fd = reader.as_raw_fd();
    let b = bridge.get();
    *lock(&b.shared.waker) = Some(Waker::Socket(writer));
    *lock(&b.watch) = Some(Watch::Reader(reader));
    let added = bridge
        .getattr("_drain")
        .and_then(|drain| event_loop.call_method1("add_reader", (fd, drain)));
    match added {
        Ok(_) => Ok(true),
        Err(e) => {
            // Both ends close here; nothing was registered.
            *lock(&b.watch) = None;
            drop(lock(&b.shared.waker).take());
            if e.is_instance_of::<pyo3::exceptions::PyNotImplementedError>(py)
                || e.is_instance_of::<pyo3::exceptions::PyAttributeError>(py)
            {
                Ok(false)
            } else {
                Err(e)
            }
        }
    }
}

#[cfg(not(unix))]
fn watch_with_reader(_: &Bound<'_, Bridge>, _: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(false)
}

static THREAD: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// How far away the timer that keeps a thread-woken bridge owned by its loop is (a year: it
/// only has to outlive the loop; were it ever to fire, a drain is harmless).
const KEEPALIVE_SECS: f64 = 365.0 * 24.0 * 3600.0;

/// Sets `bridge` up to wake its loop from a thread of its own (`weak`: a weak reference to
/// `bridge`, all the thread keeps of it), and starts the thread.
fn watch_with_thread(
    py: Python<'_>,
    bridge: &Bound<'_, Bridge>,
    weak: &Bound<'_, PyAny>,
    event_loop: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let bell = Arc::new(Doorbell::default());
    let b = bridge.get();
    *lock(&b.shared.waker) = Some(Waker::Thread(Arc::clone(&bell)));
    *lock(&b.watch) = Some(Watch::Thread);
    let thread = THREAD.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("threading")?.getattr("Thread")?.unbind())
    })?;
    let wakeup = Bound::new(
        py,
        Wakeup {
            bell,
            bridge: weak.clone().unbind(),
        },
    )?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("target", wakeup.getattr("run")?)?;
    kwargs.set_item("name", "nexotp-wakeup")?;
    kwargs.set_item("daemon", true)?;
    let started = thread
        .bind(py)
        .call((), Some(&kwargs))
        .and_then(|t| t.call_method0("start"))
        .and_then(|_| {
            // The loop must own its bridge, as it owns the reader callback in the other mode
            // (nothing else holds it between calls; the thread holds it only weakly): a timer
            // far away is what every loop (asyncio's, the proactor, uvloop) can hold. Closing
            // the loop drops it; collecting the loop collects it with the bridge.
            event_loop.call_method1("call_later", (KEEPALIVE_SECS, bridge.getattr("_drain")?))
        });
    if let Err(e) = started {
        *lock(&b.watch) = None;
        b.shared.close();
        return Err(e);
    }
    Ok(())
}

/// The body of a bridge's wake-up thread: waits for its doorbell with the GIL released and
/// schedules the bridge's drain on its loop, until the bridge is released or dropped or its
/// loop is gone or closed. It holds the bridge only weakly (and never the loop between rings).
#[pyclass(frozen, module = "nexotp._native")]
struct Wakeup {
    bell: Arc<Doorbell>,
    /// `weakref.ref` to the [`Bridge`].
    bridge: Py<PyAny>,
}

#[pymethods]
impl Wakeup {
    fn run(&self, py: Python<'_>) {
        let bell = Arc::clone(&self.bell);
        while runtime::detached(py, || bell.wait()) {
            let Some(bridge) = upgrade(py, &self.bridge) else {
                return;
            };
            let Some(event_loop) = bridge.get().event_loop(py) else {
                return;
            };
            let scheduled = bridge
                .getattr(pyo3::intern!(py, "_drain"))
                .and_then(|drain| {
                    event_loop.call_method1(pyo3::intern!(py, "call_soon_threadsafe"), (drain,))
                });
            if let Err(e) = scheduled {
                if is_closed(&event_loop) {
                    // Its bridge is released by the next one made, or when the loop is
                    // collected; nothing here can be resolved any more.
                    return;
                }
                e.write_unraisable(py, Some(&event_loop));
            }
        }
    }
}

/// Starts `fut` on the runtime for the running loop; returns `(asyncio future, cancel handle)`.
/// `convert` runs later on the loop thread with the GIL held.
///
/// `signal`, when given, is the core's abort signal the call's client listens to (see
/// [`Call::abort`]).
pub fn spawn<'py, F, T>(
    py: Python<'py>,
    fut: F,
    convert: fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
    after: Option<After>,
    signal: Option<nexotp::AbortSignal>,
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
    lock(&b.pending).insert(
        id,
        Pending {
            future: future.clone().unbind(),
            abort: handle.abort_handle(),
        },
    );
    let call = Py::new(
        py,
        Call {
            bridge: bridge.clone().unbind(),
            id,
            signal,
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

/// How the running loop's bridge wakes it: `"reader"` or `"thread"` (tests).
#[cfg(feature = "test-hooks")]
pub fn wakeup(py: Python<'_>) -> PyResult<&'static str> {
    Ok(current(py)?.get().wakeup())
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
