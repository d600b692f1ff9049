//! Hooks the test suite uses to reach what no API call can (a panic in a call, in a task or
//! in a conversion; a long blocking wait; the bridges' state). Compiled only with the
//! `test-hooks` feature, which `scripts/test-python` turns on: the published wheel has none.

use pyo3::prelude::*;

use crate::bridge;
use crate::errors::IntoPyResult;
use crate::runtime::{self, guard};

/// Panics on purpose (tests check it surfaces as `NexOTPError`).
#[pyfunction]
fn _debug_panic() -> PyResult<()> {
    guard(|| panic!("deliberate panic from _debug_panic"))
}

/// Panics on purpose inside a tokio task; returns `(future, handle)` like an async call.
#[pyfunction]
fn _debug_panic_async(py: Python<'_>) -> bridge::Started<'_> {
    guard(|| {
        bridge::spawn(
            py,
            async { panic!("deliberate panic in a tokio task") },
            |py, (): ()| Ok(py.None()),
            None,
            None,
        )
    })
}

/// Starts a call whose result conversion (on the loop thread) panics when `panic` is true;
/// returns `(future, handle)` like an async call. Tests use it to check that one bad conversion
/// fails only its own future, not the rest of the batch.
#[pyfunction]
fn _debug_convert(py: Python<'_>, panic: bool) -> bridge::Started<'_> {
    fn convert(py: Python<'_>, panic: bool) -> PyResult<Py<PyAny>> {
        if panic {
            panic!("deliberate panic in a conversion");
        }
        Ok(py.None())
    }
    guard(|| bridge::spawn(py, async move { panic }, convert, None, None))
}

/// Blocks for `seconds` through the blocking helper (tests use it for Ctrl-C and exit).
#[pyfunction]
fn _debug_sleep(py: Python<'_>, seconds: f64) -> PyResult<()> {
    guard(|| {
        let d = nexotp::args::duration_from_secs("seconds", seconds).py(py)?;
        runtime::block_on(py, async move { tokio::time::sleep(d).await })
    })
}

/// `(calls pending, results queued, wake-up pending)` of the running loop's bridge.
#[pyfunction]
fn _debug_bridge_state(py: Python<'_>) -> PyResult<(usize, usize, bool)> {
    bridge::state(py)
}

/// How the running loop's bridge wakes it: `"reader"` (socketpair and `add_reader`) or
/// `"thread"` (the wake-up thread).
#[pyfunction]
fn _debug_bridge_wakeup(py: Python<'_>) -> PyResult<&'static str> {
    bridge::wakeup(py)
}

/// How many asyncio bridges (one per event loop) hold their file descriptors.
#[pyfunction]
fn _debug_bridges_live(py: Python<'_>) -> usize {
    bridge::live(py)
}

/// Adds the hooks to `_native`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_debug_panic, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_panic_async, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_convert, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_sleep, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_bridge_state, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_bridges_live, m)?)?;
    m.add_function(wrap_pyfunction!(_debug_bridge_wakeup, m)?)?;
    Ok(())
}
