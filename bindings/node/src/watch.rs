//! The native `Watcher` behind `client.watch()`: converts only. The core's
//! [`nexotp::Watcher`] does the polling, scheduling and webhook bookkeeping; this class hands
//! its events to JS one `next()` at a time through the dispatcher (a pending `next()` keeps
//! the event loop alive like any pending call; `close()` ends it, so nothing is left behind).

use std::sync::Arc;

use futures_util::StreamExt;
use napi::Env;
use napi_derive::napi;
use serde::Serialize;

use crate::client::{WaitInput, wait_options};
use crate::dispatch::Dispatch;
use crate::error::{self, NativeError};
use crate::guard;
use crate::models::Order;

/// One event of a watcher, as JS receives it (JSON through the dispatcher).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WatchEvent {
    kind: &'static str,
    order_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<Order>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    cancelled: bool,
    /// The error payload (`errors.js` turns it into its class).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<serde_json::Value>,
    from_webhook: bool,
}

impl From<nexotp::WatchEvent> for WatchEvent {
    fn from(e: nexotp::WatchEvent) -> Self {
        WatchEvent {
            // camelCase, as every string this package hands out.
            kind: match e.kind {
                nexotp::WatchEventKind::TimedOut => "timedOut",
                kind => kind.as_str(),
            },
            code: e.code().map(str::to_owned),
            order_id: e.order_id,
            order: e.order.map(Order::from),
            cancelled: e.cancelled,
            error: e
                .error
                .map(|e| serde_json::Value::Object(error::payload(&NativeError::Core(e)))),
            from_webhook: e.from_webhook,
        }
    }
}

/// A watcher over many orders (native half; `index.js` makes it an async iterator).
#[napi]
pub struct Watcher {
    handle: nexotp::WatchHandle,
    stream: Arc<tokio::sync::Mutex<nexotp::Watcher>>,
    dispatch: Dispatch,
}

impl Watcher {
    pub(crate) fn new(watcher: nexotp::Watcher, dispatch: Dispatch) -> Watcher {
        Watcher {
            handle: watcher.handle(),
            stream: Arc::new(tokio::sync::Mutex::new(watcher)),
            dispatch,
        }
    }
}

#[napi]
impl Watcher {
    /// Follows order `id` (the core's `WatchHandle::add`).
    #[napi]
    pub fn add(&self, id: String, options: WaitInput) -> napi::Result<()> {
        guard::call(|| {
            let options = wait_options(options)?;
            Ok::<_, NativeError>(self.handle.add(&id, options)?)
        })
    }

    /// Stops following order `id`; whether it was followed.
    #[napi]
    pub fn remove(&self, id: String) -> bool {
        self.handle.remove(&id)
    }

    /// Feeds a verified delivery, given as its body's JSON text; whether it was about a
    /// watched order.
    #[napi]
    pub fn feed(&self, body: String) -> napi::Result<bool> {
        guard::call(|| {
            let event = nexotp::webhook::decode_verified(body.as_bytes())?;
            Ok::<_, NativeError>(self.handle.feed(&event))
        })
    }

    /// Stops the watcher (idempotent): a pending `next` then gives `null`.
    #[napi]
    pub fn close(&self) {
        self.handle.close();
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// How many orders are followed.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.handle.len()).unwrap_or(u32::MAX)
    }

    /// The next event, or `null` once closed.
    #[napi]
    pub fn next(&self, env: Env, ticket: u32) {
        let stream = Arc::clone(&self.stream);
        self.dispatch.submit(&env, ticket, async move {
            let event = stream.lock().await.next().await;
            Ok::<_, NativeError>(event.map(WatchEvent::from))
        });
    }
}
