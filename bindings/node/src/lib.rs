//! The native half of the `nexotp` npm package.
//!
//! Why it is shaped this way:
//! - It only converts. JS values become Rust arguments, the core (`nexotp`) does the work, and
//!   results become plain JS objects (camelCase keys, money as decimal strings, `raw` as the
//!   decoded JSON). No HTTP, retry or validation rule lives here; the hand-written JS layer
//!   (`index.js`) checks JS *types* so a wrong type is an `InvalidArgumentError` naming the
//!   argument, and the core checks every *value*.
//! - Async methods run on napi's own tokio runtime (the `tokio_rt` feature): this crate never
//!   creates a runtime. Their results come back through one shared threadsafe function per JS
//!   environment ([`dispatch`]), unref'd whenever nothing is pending, so a script exits on its
//!   own.
//! - Every entry point goes through [`guard::settle`] (async, see [`dispatch`]) or [`guard::call`]: a Rust panic becomes a
//!   `NexOTPError` rejection instead of killing the process.
//! - `sandbox.rs` (feature `sandbox`, on by default) embeds the sandbox library for
//!   `nexotp/testing`: the same server as the `nexotp-sandbox` binary, in the Node process.
//! - Errors cross the boundary as a napi error whose message is a small JSON document
//!   (`{"nexotp": "<class name>", ...fields}`), see [`error`]; `errors.js` turns it into the
//!   matching `Error` subclass.

#![deny(missing_docs)]

mod client;
mod dispatch;
mod error;
mod guard;
mod models;
#[cfg(feature = "sandbox")]
mod sandbox;
mod watch;
mod webhook;

pub use client::{
    Client, ClientOptions, OrderInput, RequestOptions, SentCallInput, TransactionPager, WaitHandle,
    WaitInput,
};
pub use dispatch::Dispatcher;
pub use models::{
    Account, Country, Order, Pool, Price, Reconciliation, Service, Transaction, TransactionPage,
    Webhook, WebhookDeleted, WebhookEvent,
};
#[cfg(feature = "sandbox")]
pub use sandbox::{
    RecordOptions, RecordServer, ReplayOptions, ReplayServer, SandboxDelivery, SandboxOptions,
    SandboxRequest, SandboxServer,
};
pub use watch::Watcher;
pub use webhook::{sign_webhook, verify_webhook};

#[cfg(feature = "test-hooks")]
use napi::Env;
use napi_derive::napi;

#[cfg(feature = "test-hooks")]
use crate::error::NativeError;

/// The SDK version compiled into this addon (the core crate's version).
#[napi]
pub fn version() -> String {
    nexotp::config::VERSION.to_owned()
}

/// Test hook: panics inside the native code, synchronously (`async_ = false`) or inside a
/// future on the runtime, to prove a panic becomes a `NexOTPError` and never kills the process.
/// Not part of the public API: compiled only with the `test-hooks` feature (`npm run
/// build:test`, which `scripts/test-node` uses), never in a published build.
#[cfg(feature = "test-hooks")]
#[napi(js_name = "_debugPanic")]
pub fn debug_panic(env: Env, dispatcher: &Dispatcher, ticket: u32, message: String) {
    dispatcher.handle().submit(&env, ticket, async move {
        if !message.is_empty() {
            panic!("{message}");
        }
        Ok::<(), NativeError>(())
    });
}

/// Synchronous twin of [`debug_panic`] (also only with `test-hooks`).
#[cfg(feature = "test-hooks")]
#[napi(js_name = "_debugPanicSync")]
pub fn debug_panic_sync(message: String) -> napi::Result<()> {
    guard::call(|| {
        if !message.is_empty() {
            panic!("{message}");
        }
        Ok::<(), NativeError>(())
    })
}

/// mimalloc: results are allocated on a runtime thread and freed on the JS thread; glibc
/// malloc serialises those cross-thread frees on an arena lock (measured: it showed up as the
/// top futex user under 64 concurrent calls), mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
