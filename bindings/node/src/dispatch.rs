//! How async results get back to JS: one shared threadsafe function per JS environment instead
//! of napi's per-call `async fn` machinery.
//!
//! Why: a napi `async fn` creates a promise *and a threadsafe function* (a libuv async handle
//! plus an env cleanup hook) for every call, and settles each call with its own cross-thread
//! wake-up and its own field-by-field object conversion. Measured against `undici` that
//! overhead on the JS thread was the difference between the goals and the actual numbers.
//!
//! Here a [`Dispatcher`] (one per JS environment: the JS layer creates it when the module loads,
//! so every `worker_threads` worker has its own) owns one threadsafe function. A call takes a
//! *ticket* (a number the JS layer allocated and keyed its pending promise by), runs its future
//! on napi's tokio runtime, and appends `ticket,ok,json` to a shared buffer. Only the completion
//! that finds the buffer empty wakes the JS thread; the callback takes everything queued by then
//! and hands it to JS as one JSON array text, which `JSON.parse` turns into plain objects far
//! faster than per-property napi calls. The JSON is the models' `Serialize` form, which has the
//! same keys as their `#[napi(object)]` form.
//!
//! Process hygiene: the threadsafe function is unref'd while no call is pending, so it never
//! keeps the event loop alive on its own; the first pending call refs it and the batch that
//! settles the last one unrefs it again (both on the JS thread, which is the only thread
//! allowed to do so).

use std::ffi::c_void;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, sys};
use napi_derive::napi;
use serde::Serialize;

use crate::error::NativeError;
use crate::guard;

/// The threadsafe function: no value per call, JS receives one string (the batch).
type Notify = ThreadsafeFunction<(), (), String, Status, false, true>;

/// Completions waiting for the JS thread, as the inside of a JSON array:
/// `ticket,ok,json,ticket,ok,json,...` (`ok` is 1 or 0; `json` the value or the error payload).
#[derive(Default)]
struct Batch {
    text: String,
    count: u32,
}

/// State shared by the JS thread and the runtime's threads.
struct Shared {
    batch: Mutex<Batch>,
    /// Calls submitted and not yet handed to JS; read and written on the JS thread only.
    pending: AtomicU32,
    /// The raw threadsafe function, for `napi_ref/unref_threadsafe_function` (JS thread only).
    raw: AtomicPtr<c_void>,
}

impl Shared {
    /// Refs (`true`) or unrefs the threadsafe function. JS thread only.
    fn set_ref(&self, env: sys::napi_env, on: bool) {
        let raw = self.raw.load(Ordering::Relaxed) as sys::napi_threadsafe_function;
        if raw.is_null() {
            return;
        }
        // SAFETY: called on the JS thread of the environment that created the threadsafe
        // function, while that environment is alive (JS is running), so the function has not
        // been finalized yet: Node finalizes it only at environment teardown, and the owning
        // `Notify` handles are never all dropped while the `Dispatcher` (kept by the JS module)
        // exists.
        unsafe {
            if on {
                sys::napi_ref_threadsafe_function(env, raw);
            } else {
                sys::napi_unref_threadsafe_function(env, raw);
            }
        }
    }
}

/// The per-environment result channel (created once by the JS layer; not part of the API).
#[napi]
pub struct Dispatcher {
    handle: Dispatch,
}

#[napi]
impl Dispatcher {
    /// `callback(batchJson)` receives `[ticket, ok, value, ...]` as JSON text.
    #[napi(constructor)]
    pub fn new(callback: Function<String, ()>) -> napi::Result<Dispatcher> {
        let shared = Arc::new(Shared {
            batch: Mutex::new(Batch::default()),
            pending: AtomicU32::new(0),
            raw: AtomicPtr::new(std::ptr::null_mut()),
        });
        let drain = Arc::clone(&shared);
        let notify: Notify = callback
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(move |ctx| {
                let taken = {
                    let mut batch = drain.batch.lock().unwrap_or_else(PoisonError::into_inner);
                    std::mem::take(&mut *batch)
                };
                let left = drain
                    .pending
                    .load(Ordering::Relaxed)
                    .saturating_sub(taken.count);
                drain.pending.store(left, Ordering::Relaxed);
                if left == 0 {
                    drain.set_ref(ctx.env.raw(), false);
                }
                let mut text = taken.text;
                if text.is_empty() {
                    text.push('[');
                } else {
                    text.replace_range(0..1, "[");
                }
                text.push(']');
                Ok(text)
            })?;
        shared.raw.store(notify.raw().cast(), Ordering::Relaxed);
        Ok(Dispatcher {
            handle: Dispatch {
                shared,
                notify: Arc::new(notify),
            },
        })
    }
}

impl Dispatcher {
    /// A handle for a native object that submits calls.
    pub fn handle(&self) -> Dispatch {
        self.handle.clone()
    }
}

/// What a native object keeps to submit calls (cheap to clone).
#[derive(Clone)]
pub struct Dispatch {
    shared: Arc<Shared>,
    notify: Arc<Notify>,
}

impl Dispatch {
    /// Runs `future` on the runtime; its outcome settles the JS promise behind `ticket`.
    /// Must be called on the JS thread (it refs the threadsafe function).
    pub fn submit<T, E, F>(&self, env: &Env, ticket: u32, future: F)
    where
        T: Serialize,
        E: Into<NativeError>,
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let shared = &self.shared;
        let before = shared.pending.load(Ordering::Relaxed);
        shared.pending.store(before + 1, Ordering::Relaxed);
        if before == 0 {
            shared.set_ref(env.raw(), true);
        }
        let this = self.clone();
        // Boxed once here: the core's futures are large, and moving them by value through each
        // wrapper layer and into the task showed up as memmove in profiles.
        let future = Box::pin(future);
        napi::bindgen_prelude::spawn(async move {
            let (ok, json) = guard::settle(future).await;
            this.complete(ticket, ok, &json);
        });
    }

    fn complete(&self, ticket: u32, ok: bool, json: &str) {
        let first = {
            let mut batch = self
                .shared
                .batch
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let first = batch.count == 0;
            let text = &mut batch.text;
            let _ = write!(text, ",{ticket},{},", u8::from(ok));
            text.push_str(json);
            batch.count += 1;
            first
        };
        if first {
            // Non-blocking: the queue is unbounded. A failure means the environment is going
            // away (its promises can no longer be settled), so there is nothing left to do.
            let _ = self
                .notify
                .call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}
