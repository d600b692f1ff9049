//! The one tokio runtime of the process, and the one place that blocks on it.
//!
//! Why it looks like this:
//! - **One runtime per process, created on first use, never at import.** A multi-thread runtime
//!   is built by the first call that needs it and then leaked (never dropped): dropping it at
//!   interpreter exit would join worker threads while Python is being torn down.
//! - **Fork.** The runtime is stored with the PID that built it (one pointer to a leaked
//!   `(pid, runtime)` pair, so the two cannot be read mismatched). A child after `os.fork()`
//!   inherits the parent's runtime memory but none of its threads, so it sees a PID mismatch and
//!   builds its own (the parent's is left alone, leaked in the child).
//! - **[`block_on`] is the only blocking call.** It releases the GIL, runs the future as a task
//!   on the runtime and waits for it, and on the main thread re-takes the GIL every
//!   [`SIGNAL_POLL`] to run `PyErr_CheckSignals`, so Ctrl-C interrupts a long `wait_for_code`;
//!   aborting the task drops the future, which cancels its HTTP request.
//! - **Interpreter finalisation.** On CPython < 3.14 a thread that re-takes the GIL after
//!   finalisation started is killed with `pthread_exit`, whose forced unwind through Rust frames
//!   aborts the process. An `atexit` hook ([`begin_shutdown`]) closes a gate: threads that would
//!   re-attach after it park forever instead (the process is exiting anyway), and the hook lets
//!   threads already past the gate finish before finalisation goes on. Tokio threads never touch
//!   Python at all (see `bridge.rs`), so they cannot hit this.
//! - **Panics** never escape as `PanicException`: [`guard`] turns them into `NexOTPError`.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// How often a blocked main thread looks for Ctrl-C.
pub const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// The runtime and the PID that built it, behind one pointer so the two are always read
/// together (a leaked `(pid, runtime)` pair per process that ever built one).
static RUNTIME: AtomicPtr<(u32, Runtime)> = AtomicPtr::new(std::ptr::null_mut());
static CREATE_LOCK: Mutex<()> = Mutex::new(());
/// How many runtimes this process has built (1 normally; tests read it after a fork).
static RUNTIMES_BUILT: AtomicUsize = AtomicUsize::new(0);

/// The runtime built in process `pid`, if there is one.
fn current_runtime(pid: u32) -> Option<&'static Runtime> {
    let ptr = RUNTIME.load(Ordering::Acquire);
    if ptr.is_null() {
        return None;
    }
    // SAFETY: a pair stored in RUNTIME is leaked and lives for the whole process.
    let pair: &'static (u32, Runtime) = unsafe { &*ptr };
    (pair.0 == pid).then_some(&pair.1)
}

/// The process's runtime, built on first use (and again in a forked child).
pub fn runtime() -> PyResult<&'static Runtime> {
    let pid = std::process::id();
    if let Some(rt) = current_runtime(pid) {
        return Ok(rt);
    }
    let _lock = CREATE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rt) = current_runtime(pid) {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("nexotp-tokio")
        .build()
        .map_err(|e| crate::errors::nexotp_error(&format!("cannot start the I/O runtime: {e}")))?;
    let leaked: &'static mut (u32, Runtime) = Box::leak(Box::new((pid, rt)));
    RUNTIME.store(leaked as *mut (u32, Runtime), Ordering::Release);
    RUNTIMES_BUILT.fetch_add(1, Ordering::Relaxed);
    Ok(&leaked.1)
}

/// `(pid that owns the current runtime or 0, runtimes built in this process)`, for tests.
pub fn runtime_info() -> (u32, usize) {
    let built = RUNTIMES_BUILT.load(Ordering::Relaxed);
    let ptr = RUNTIME.load(Ordering::Acquire);
    if ptr.is_null() {
        (0, built)
    } else {
        // SAFETY: as in `current_runtime`.
        (unsafe { (*ptr).0 }, built)
    }
}

/// Whether this is the process's main thread (the only one Python delivers signals to).
/// Asked on every call, never cached: after `os.fork()` from another thread, the child's only
/// thread is its main thread even if it was not in the parent.
#[cfg(target_os = "linux")]
fn is_main_thread() -> bool {
    // SAFETY: plain syscalls without arguments.
    unsafe { libc::gettid() == libc::getpid() }
}

#[cfg(target_vendor = "apple")]
fn is_main_thread() -> bool {
    // SAFETY: no arguments.
    unsafe { libc::pthread_main_np() != 0 }
}

/// Elsewhere (Windows): the main thread's ident (`PyThread_get_thread_ident`, what
/// `threading.get_ident()` gives), read at import from `threading.main_thread()`, which is the
/// interpreter's main thread whichever thread imports. There is no `fork` to change it.
#[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
static MAIN_IDENT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

#[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
fn is_main_thread() -> bool {
    // SAFETY: no arguments; callable on any thread, attached or not.
    let me = u64::from(unsafe { pyo3::ffi::PyThread_get_thread_ident() });
    MAIN_IDENT.get() == Some(&me)
}

/// Remembers which thread is the main one where the OS cannot say (called at import).
pub fn remember_main_thread(py: Python<'_>) -> PyResult<()> {
    #[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
    {
        let ident: u64 = py
            .import("threading")?
            .call_method0("main_thread")?
            .getattr("ident")?
            .extract()?;
        let _ = MAIN_IDENT.set(ident);
    }
    let _ = py;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The finalisation gate.

const SHUT: usize = 1 << (usize::BITS - 1);
/// High bit: shutting down; low bits: threads between leaving the runtime and holding the GIL.
static GATE: AtomicUsize = AtomicUsize::new(0);
/// A token of the thread running the atexit hook (it may keep calling the client).
static FINALIZER: AtomicU64 = AtomicU64::new(0);

fn thread_token() -> u64 {
    thread_local! {
        static TOKEN: u64 = {
            static NEXT: AtomicU64 = AtomicU64::new(1);
            NEXT.fetch_add(1, Ordering::Relaxed)
        };
    }
    TOKEN.with(|t| *t)
}

fn may_attach_during_shutdown() -> bool {
    FINALIZER.load(Ordering::Acquire) == thread_token()
}

/// Never returns: a thread that must not re-enter a finalising interpreter waits for the
/// process to exit.
fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// Called detached, right before re-taking the GIL.
fn gate_enter() {
    let mut state = GATE.load(Ordering::Acquire);
    loop {
        if state & SHUT != 0 && !may_attach_during_shutdown() {
            park_forever();
        }
        match GATE.compare_exchange_weak(state, state + 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(now) => state = now,
        }
    }
}

/// Called attached, once the GIL is held again.
fn gate_leave() {
    GATE.fetch_sub(1, Ordering::AcqRel);
}

/// The atexit hook: close the gate, then let threads already past it take the GIL and leave.
pub fn begin_shutdown(py: Python<'_>) {
    FINALIZER.store(thread_token(), Ordering::Release);
    GATE.fetch_or(SHUT, Ordering::AcqRel);
    py.detach(|| {
        let deadline = Instant::now() + Duration::from_secs(2);
        while GATE.load(Ordering::Acquire) & !SHUT != 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

// ---------------------------------------------------------------------------------------------

/// Runs `fut` on the runtime with the GIL released, and returns its output with the GIL held.
///
/// The only function in the binding that blocks. The call runs as a task on the runtime, beside
/// the connection tasks it talks to, and this thread only waits for its end: driving the future
/// here instead made every request cross threads several more times (the request handed to a
/// connection task on a worker, its answer handed back), which `scripts/bench` measured as the
/// gap between sync calls and a plain reqwest loop. On the main thread it wakes every
/// [`SIGNAL_POLL`] to run Python's signal handlers: if one raises (Ctrl-C gives
/// `KeyboardInterrupt`), the task is aborted, which drops the future and so cancels its
/// request, and the exception propagates. A panic in the task becomes `NexOTPError`.
pub fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    block_on_abortable(py, fut, None).map_err(|stopped| stopped.error)
}

/// How long an interrupted call that listens to an abort signal may take to end the core's
/// way before it is dropped. The core ends an aborted call at once; this only bounds a surprise.
const ABORT_GRACE: Duration = Duration::from_secs(1);

/// A blocking call that did not return: the exception, and for one interrupted by a signal
/// handler while listening to an abort signal, how the call ended once aborted.
pub struct Stopped<T> {
    /// What to raise (the signal handler's exception, or `NexOTPError` for a panic).
    pub error: PyErr,
    /// The call's own end after the abort (`None` when it had none in time, or no signal).
    pub end: Option<T>,
}

/// [`block_on`], where a call interrupted by a signal handler (Ctrl-C) is ended through
/// `signal` (the core's abort) instead of dropped, when one is given: its own end (for a
/// create order already sent, the unknown outcome) comes back with the exception.
pub fn block_on_abortable<F>(
    py: Python<'_>,
    fut: F,
    signal: Option<nexotp::AbortSignal>,
) -> Result<F::Output, Stopped<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = runtime().map_err(|error| Stopped { error, end: None })?;
    let main = is_main_thread();
    let result = detached(py, move || {
        let mut task = rt.spawn(fut);
        if !main {
            return Ok(rt.block_on(&mut task));
        }
        loop {
            match rt.block_on(async { tokio::time::timeout(SIGNAL_POLL, &mut task).await }) {
                Ok(joined) => break Ok(joined),
                Err(_) => {
                    if let Err(error) = Python::attach(|py| py.check_signals()) {
                        let end = signal.as_ref().and_then(|signal| {
                            signal.abort();
                            rt.block_on(async {
                                tokio::time::timeout(ABORT_GRACE, &mut task).await
                            })
                            .ok()
                            .and_then(Result::ok)
                        });
                        task.abort();
                        break Err(Stopped { error, end });
                    }
                }
            }
        }
    });
    match result? {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => Err(Stopped {
            error: internal_error(e.into_panic().as_ref()),
            end: None,
        }),
        Err(e) => Err(Stopped {
            error: crate::errors::nexotp_error(&format!("the call was stopped: {e}")),
            end: None,
        }),
    }
}

/// Whether calls made on this thread can be interrupted by a signal handler (Ctrl-C): only the
/// main thread runs them.
pub fn sees_signals() -> bool {
    is_main_thread()
}

/// Runs `f` with the GIL released and takes the GIL back through the finalisation gate: the
/// way every thread of the binding that waits (a blocking call, the asyncio bridge's wake-up
/// thread) leaves Python and comes back. A thread that would start waiting, or come back,
/// while the interpreter shuts down parks instead (it could not be allowed to re-take the GIL).
pub fn detached<T, F>(py: Python<'_>, f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    if GATE.load(Ordering::Acquire) & SHUT != 0 && !may_attach_during_shutdown() {
        py.detach(|| park_forever());
    }
    let out = py.detach(move || {
        let out = f();
        gate_enter();
        out
    });
    gate_leave();
    out
}

/// Runs an exported function's body, turning a Rust panic into `NexOTPError` instead of
/// pyo3's `PanicException` (a `BaseException` that `except Exception` would not catch).
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(internal_error(payload.as_ref())),
    }
}

/// The `NexOTPError` that stands for a caught panic.
pub fn internal_error(payload: &(dyn std::any::Any + Send)) -> PyErr {
    crate::errors::nexotp_error(&format!(
        "internal error: {} (this is a bug in nexotp; please report it)",
        panic_message(payload)
    ))
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
