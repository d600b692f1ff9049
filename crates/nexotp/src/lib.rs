//! # nexotp
//!
//! The client for the [NexOTP](https://visualtrinitystudio.xyz) REST API: rent a virtual phone
//! number for a service, wait for the one-time code it receives, and manage the wallet and
//! webhooks. This crate does all the work; the Python and Node packages are thin bindings over
//! it, so every language gets the same validation, retries, rate buckets and errors.
//!
//! ```no_run
//! use std::time::Duration;
//! use nexotp::{Client, OrderRequest, PricingOption, WaitOptions};
//!
//! # async fn run() -> nexotp::Result<()> {
//! let client = Client::from_env()?; // NEXOTP_API_KEY, optional NEXOTP_BASE_URL
//! let account = client.account().await?;
//! println!("balance: {}", account.balance);
//!
//! let order = client
//!     .create_order(
//!         &OrderRequest::new("svc_telegram", "cty_us").pricing_option(PricingOption::BestRate),
//!     )
//!     .await?;
//! println!("give the service this number: {:?}", order.phone);
//!
//! let done = client
//!     .wait_for_code(
//!         &order.id,
//!         WaitOptions::default()
//!             .timeout(Duration::from_secs(120))
//!             .cancel_on_timeout(true),
//!     )
//!     .await?;
//! println!("code: {:?}", done.code);
//! # Ok(()) }
//! ```
//!
//! Design notes:
//! - No runtime is created here: the caller's tokio runtime drives every future, and dropping a
//!   future cancels its request.
//! - Money is [`rust_decimal::Decimal`], never a float.
//! - Non-idempotent calls are never re-sent once they may have reached the server; see
//!   [`Error::OrderOutcomeUnknown`] and [`Client::reconcile`].
//! - The API key and webhook secrets never appear in `Debug`, `Display`, errors or logs.
//! - The wire contract this crate assumes is written down in `spec/contract.md`.

#![deny(missing_docs)]

mod abort;
pub mod args;
pub mod buckets;
mod client;
pub mod config;
mod envelope;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod memory;
pub mod models;
pub mod network;
pub mod observe;
mod pagination;
mod raw_json;
mod reconcile;
mod retry;
mod timestamp;
mod transport;
mod validate;
mod wait;
mod watch;
pub mod webhook;

pub use abort::AbortSignal;
#[cfg(feature = "redis")]
pub use buckets::RedisStore;
pub use buckets::{
    Admission, Bucket, BucketKey, BucketLimit, InMemoryStore, Pause, RateLimitStore, StoreError,
};
pub use client::Client;
pub use config::{ApiKey, ClientBuilder, ClientConfig, RequestOptions, StoreUrl};
pub use error::{ApiError, Error, ErrorKind, Operation, OrderOutcomeUnknown, Result, SentCall};
pub use models::{
    Account, Country, FromJson, Order, OrderRequest, OrderStatus, Pool, Price, PricingOption,
    RawJson, Service, Transaction, TransactionPage, WaitOptions, Webhook, WebhookDeleted,
};
pub use network::{CertificateSource, NetworkConfig, ProxyUrl, TlsRoots};
pub use observe::{RequestObserver, RequestRecord, StoreEvent};
pub use pagination::{DEFAULT_ITER_PAGE_SIZE, DEFAULT_PAGE_SIZE, TransactionPager};
pub use reconcile::{RECONCILE_CLOCK_SKEW, ReconcileOutcome, Reconciled};
pub use rust_decimal::Decimal;
pub use timestamp::parse_timestamp;
pub use watch::{WatchConfig, WatchEvent, WatchEventKind, WatchHandle, Watcher};
pub use webhook::{WebhookEvent, WebhookSecret};

/// Locks a mutex, recovering it if a panicking thread poisoned it: the guarded state (bucket
/// timers, seen codes) stays valid whatever point a panic interrupted.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Splits a comma-separated event list (`"order.created, order.expired"`) into names, the way
/// every binding accepts `events` as a string.
pub fn split_events(events: &str) -> Vec<String> {
    events.split(',').map(|e| e.trim().to_owned()).collect()
}
