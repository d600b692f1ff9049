//! The running sandbox as seen from Rust: its address, and methods that do what the control
//! endpoints do, without HTTP.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rust_decimal::Decimal;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::config::{Config, SandboxBuilder};
use crate::faults::Faults;
use crate::rate_limit::{Bucket, RateLimit};
use crate::recorder::RecordedRequest;
use crate::stats::SandboxStats;
use crate::webhooks::DeliveryRecord;

/// Entry point: `Sandbox::builder()...start().await` gives a [`SandboxHandle`].
#[derive(Debug)]
pub struct Sandbox {
    _private: (),
}

impl Sandbox {
    /// A builder with the defaults (key [`crate::DEFAULT_API_KEY`], seed 42, code delay 2 s,
    /// order TTL 20 min, balance 25.00, no limits, no faults, `127.0.0.1:0`).
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Starts a sandbox with the defaults.
    pub async fn start() -> io::Result<SandboxHandle> {
        Sandbox::builder().start().await
    }
}

/// An error of a control operation on an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No order has this id.
    #[error("order {0} not found")]
    OrderNotFound(String),
    /// No webhook delivery has this id.
    #[error("delivery {0} not found")]
    DeliveryNotFound(String),
    /// The order cannot do that in its current status.
    #[error("{0}")]
    InvalidState(String),
}

/// A running sandbox. Dropping it stops the server and its background tasks;
/// [`SandboxHandle::shutdown`] does the same and waits for them.
pub struct SandboxHandle {
    app: Arc<App>,
    addr: SocketAddr,
    base_url: String,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl SandboxHandle {
    pub(crate) async fn start(config: Config, addr: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = Arc::new(App::new(config)?);
        let (tx, rx) = watch::channel(false);
        let accept = tokio::spawn(crate::server::accept_loop(
            app.clone(),
            listener,
            rx.clone(),
        ));
        let ticker = tokio::spawn(ticker(app.clone(), rx));
        Ok(SandboxHandle {
            base_url: format!("http://{addr}{}/", crate::router::API_PREFIX),
            app,
            addr,
            shutdown: tx,
            tasks: vec![accept, ticker],
        })
    }

    /// The API base URL, with a trailing slash: `http://127.0.0.1:PORT/wp-json/nexotp/v1/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The root URL of the server (`http://127.0.0.1:PORT`), under which `/__sandbox/` lives.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The console's URL (`http://127.0.0.1:PORT/__sandbox/ui/`): a page that shows, live,
    /// what the sandbox sees (requests, orders, wallet, webhooks, faults, limits) and drives it.
    pub fn console_url(&self) -> String {
        format!("http://{}{}", self.addr, crate::ui::UI_PATH)
    }

    /// How many console event streams (`GET /__sandbox/events`) are open; each one is a task
    /// that ends when its browser goes away or the sandbox stops.
    pub fn console_streams(&self) -> usize {
        self.app.feed.streams()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key it accepts.
    pub fn api_key(&self) -> &str {
        &self.app.config.api_key
    }

    /// The seed it was started with.
    pub fn seed(&self) -> u64 {
        self.app.config.seed
    }

    /// The API requests received so far (not the `/__sandbox/` ones), oldest first, with the
    /// API key redacted.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.app.requests()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.app.clear_requests();
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        self.app.set_faults(faults);
    }

    /// The injected faults (scripted ones as consumed so far).
    pub fn faults(&self) -> Faults {
        self.app.faults()
    }

    /// Sets (`Some(n)`: n requests per second, burst n) or removes (`None`) a bucket's rate
    /// limit.
    pub fn set_rate_limit(&self, bucket: Bucket, per_second: Option<f64>) {
        self.app
            .set_rate_limit(bucket, per_second.map(RateLimit::new));
    }

    /// Sets (with burst and `Retry-After` override) or removes a bucket's rate limit; the
    /// bucket starts full.
    pub fn set_rate_limit_with(&self, bucket: Bucket, limit: Option<RateLimit>) {
        self.app.set_rate_limit(bucket, limit);
    }

    /// A bucket's rate limit, if it has one.
    pub fn rate_limit(&self, bucket: Bucket) -> Option<RateLimit> {
        self.app.rate_limits()[bucket as usize].clone()
    }

    /// What the sandbox counted since it started, was reset or [`SandboxHandle::clear_stats`].
    pub fn stats(&self) -> SandboxStats {
        self.app.stats()
    }

    /// Sets the counters back to zero (nothing else changes).
    pub fn clear_stats(&self) {
        self.app.clear_stats();
    }

    /// How many orders exist (cheaper than [`SandboxHandle::state`]).
    pub fn orders_count(&self) -> usize {
        self.app.with_state(|s| s.order_count())
    }

    /// The ids of every order, in creation order.
    pub fn order_ids(&self) -> Vec<u64> {
        self.app.with_state(|s| s.order_ids())
    }

    /// Sets the wallet balance (recorded as an `adjustment` transaction).
    pub fn set_balance(&self, balance: Decimal) {
        self.app
            .with_state(|s| s.set_balance(balance, Instant::now()));
    }

    /// The wallet balance.
    pub fn balance(&self) -> Decimal {
        self.app.with_state(|s| s.balance())
    }

    /// Back to the start: the seeded world (balance, catalogue, no orders or webhooks, ids from
    /// the start), the faults and rate limits given at start, empty request log and deliveries,
    /// counters at zero.
    pub fn reset(&self) {
        self.app.reset();
    }

    /// Delivers `code` to an order now (it becomes `received`). `order_id` may be a number or
    /// a string.
    pub fn force_code(&self, order_id: impl ToString, code: &str) -> Result<(), ControlError> {
        let code = Some(code.to_string());
        self.order_op(order_id, move |s, id, now| {
            s.force_code(id, code, now).map(|_| ())
        })
    }

    /// Expires an order now (refunded if it never received a code).
    pub fn expire_order(&self, order_id: impl ToString) -> Result<(), ControlError> {
        self.order_op(order_id, |s, id, now| s.force_expire(id, now).map(|_| ()))
    }

    /// Cancels a pending order that never received a code, and refunds it (the API's cancel
    /// rules, without a key or a rate limit).
    pub fn cancel_order(&self, order_id: impl ToString) -> Result<(), ControlError> {
        self.order_op(order_id, |s, id, now| s.cancel(id, now).map(|_| ()))
    }

    /// Sends a recorded webhook delivery again as a new delivery (same event and body, signed
    /// afresh) to the same webhook, and returns its record. The webhook must still exist.
    pub fn replay_delivery(&self, delivery_id: u64) -> Result<DeliveryRecord, ControlError> {
        let result = self
            .app
            .with_state(|s| s.replay_delivery(delivery_id).cloned());
        result.map_err(|e| match e.code {
            "delivery_not_found" => ControlError::DeliveryNotFound(delivery_id.to_string()),
            _ => ControlError::InvalidState(e.message),
        })
    }

    fn order_op(
        &self,
        order_id: impl ToString,
        op: impl FnOnce(&mut crate::state::State, u64, Instant) -> Result<(), crate::state::ApiError>,
    ) -> Result<(), ControlError> {
        let raw = order_id.to_string();
        let id: u64 = raw
            .trim()
            .parse()
            .map_err(|_| ControlError::OrderNotFound(raw.clone()))?;
        let result = self.app.with_state(|s| op(s, id, Instant::now()));
        self.app.ticker.notify_one();
        result.map_err(|e| match e.code {
            "order_not_found" => ControlError::OrderNotFound(raw),
            _ => ControlError::InvalidState(e.message),
        })
    }

    /// Everything `GET /__sandbox/state` shows: balance, orders, webhooks (with secrets),
    /// transactions.
    pub fn state(&self) -> Value {
        self.app.with_state(|s| {
            s.tick(Instant::now());
            s.snapshot()
        })
    }

    /// The webhook deliveries so far.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.app.with_state(|s| s.deliveries().to_vec())
    }

    /// Stops accepting, lets open connections finish their current request, and stops the
    /// background tasks.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Applies lifecycle deadlines as they pass, so that events fire without anybody polling.
async fn ticker(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let next = app.with_state(|s| s.tick(Instant::now()));
        // Nothing scheduled: sleep until woken (a new order, a resend, a reset).
        let until = next.map_or_else(
            || tokio::time::Instant::now() + std::time::Duration::from_secs(3600),
            tokio::time::Instant::from_std,
        );
        tokio::select! {
            _ = tokio::time::sleep_until(until) => {}
            _ = app.ticker.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}
