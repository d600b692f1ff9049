//! One wrapper for every entry point: core errors become the JSON-coded napi error of
//! [`crate::error`], and a panic becomes a `NexOTPError` rather than an abort of the Node
//! process (a panic unwinding into the napi C frames would be undefined behaviour).

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use serde::Serialize;

use crate::error::{self, NativeError};

/// Runs a synchronous closure, mapping its error and catching a panic.
pub fn call<T, E, F>(f: F) -> napi::Result<T>
where
    F: FnOnce() -> Result<T, E>,
    E: Into<NativeError>,
{
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(error::to_napi(e.into())),
        Err(payload) => Err(error::panic(panic_message(&*payload))),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// Runs a future to its JSON outcome for [`crate::dispatch`]: `(true, value)` on success,
/// `(false, error payload)` on an error or a panic while it is polled.
pub async fn settle<T, E, F>(future: F) -> (bool, String)
where
    T: Serialize,
    F: Future<Output = Result<T, E>>,
    E: Into<NativeError>,
{
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(Ok(value)) => match serde_json::to_string(&value) {
            Ok(json) => (true, json),
            Err(e) => (
                false,
                error::panic_payload(&format!("result not serializable: {e}")),
            ),
        },
        Ok(Err(e)) => (false, error::payload_text(e.into())),
        Err(payload) => (false, error::panic_payload(&panic_message(&*payload))),
    }
}
