//! Watching many orders: one loop that polls them all, instead of one `wait_for_code` each.
//!
//! A service that follows 2,000 open orders with 2,000 waits makes 2,000 loops compete for the
//! POLL bucket: the bucket serves them in whatever order they ask, busy orders and forgotten
//! ones alike, and every loop polls at its own pace whatever the budget. A [`Watcher`] keeps
//! one schedule instead. Each order is due at a time; the loop sends the most overdue first, a
//! few at a time, so when the budget is short every order still gets its turn (fair), and an
//! order that keeps answering "nothing yet" is polled less and less often (its interval grows
//! by half after every idle poll, up to a ceiling), which leaves the budget to the rest.
//!
//! Polls are ordinary [`Client::order`] calls: they go through the client's transport and its
//! rate-limit store, so a client-side POLL limit, a store shared with other processes, and the
//! server's 429s all shape the watcher's pace with no setting of its own.
//!
//! What counts as a new code, the deadline, the last look and `cancel_on_timeout` are those of
//! [`Client::wait_for_code`] (the same functions in `wait.rs`): an order's watch ends like a
//! wait does, with its first new code or the order's end, and a code is never handed out
//! twice. Webhook deliveries the caller verified can be fed in; an order they answer is not
//! polled again, and an order whose deliveries are seen to arrive is polled only as a fallback.
//!
//! Memory is bounded by the orders being watched, plus two small [`BoundedMap`]s (codes handed
//! out, deliveries for orders not added yet) that expire after an hour.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;
use futures_core::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::task::AtomicWaker;
use futures_util::{FutureExt, StreamExt};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::lock;
use crate::memory::BoundedMap;
use crate::models::{Order, OrderStatus, WaitOptions};
use crate::wait::{Look, Seen, Settled, deadlines};
use crate::webhook::WebhookEvent;

/// How long the codes handed out for an order, and deliveries for orders not watched yet, are
/// remembered.
const MEMORY_TTL: Duration = Duration::from_secs(3600);
/// How many orders those memories hold at most (the oldest go first).
const MEMORY_CAPACITY: usize = 100_000;
/// Each idle poll makes the next one this much later.
const BACKOFF: f64 = 1.5;

/// How a [`Watcher`] paces itself (the per-order options are [`WaitOptions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchConfig {
    /// Polls in flight at once (default 8): enough to keep a rate limit busy over a slow link;
    /// the rate itself is the rate-limit store's.
    pub max_in_flight: usize,
    /// The longest time between two polls of an idle order (default 30 s, or the order's
    /// `poll_interval` if that is longer).
    pub max_poll_interval: Duration,
    /// Time between polls of an order whose webhook deliveries are arriving (default 120 s):
    /// only a safety net for a lost delivery.
    pub webhook_poll_interval: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            max_in_flight: 8,
            max_poll_interval: Duration::from_secs(30),
            webhook_poll_interval: Duration::from_secs(120),
        }
    }
}

impl WatchConfig {
    /// At most `n` polls in flight (at least 1).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// Idle orders are polled at least every `interval`.
    pub fn max_poll_interval(mut self, interval: Duration) -> Self {
        self.max_poll_interval = interval;
        self
    }

    /// Orders whose deliveries arrive are polled every `interval`.
    pub fn webhook_poll_interval(mut self, interval: Duration) -> Self {
        self.webhook_poll_interval = interval;
        self
    }
}

/// What happened to a watched order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WatchEventKind {
    /// A code not seen before arrived (`order` has it); the order is no longer watched.
    Code,
    /// The order completed without a new code.
    Completed,
    /// The order was cancelled.
    Cancelled,
    /// The order expired.
    Expired,
    /// The order's `timeout` passed (`cancelled` says whether `cancel_on_timeout` cancelled it).
    TimedOut,
    /// Polling the order failed in a way that will not heal (`error`: not found, auth).
    Failed,
}

impl WatchEventKind {
    /// `"code"`, `"completed"`, `"cancelled"`, `"expired"`, `"timed_out"` or `"failed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            WatchEventKind::Code => "code",
            WatchEventKind::Completed => "completed",
            WatchEventKind::Cancelled => "cancelled",
            WatchEventKind::Expired => "expired",
            WatchEventKind::TimedOut => "timed_out",
            WatchEventKind::Failed => "failed",
        }
    }

    fn closed(status: &OrderStatus) -> WatchEventKind {
        match status {
            OrderStatus::Completed => WatchEventKind::Completed,
            OrderStatus::Cancelled => WatchEventKind::Cancelled,
            _ => WatchEventKind::Expired,
        }
    }
}

impl fmt::Display for WatchEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event of a [`Watcher`]: a new code, or the end of an order's watch. Each watched order
/// yields exactly one, after which it is no longer watched (add it again after a resend to get
/// the next code).
#[derive(Debug)]
#[non_exhaustive]
pub struct WatchEvent {
    /// What happened.
    pub kind: WatchEventKind,
    /// The order it happened to.
    pub order_id: String,
    /// The order as last seen (always there for [`WatchEventKind::Code`]).
    pub order: Option<Order>,
    /// For [`WatchEventKind::TimedOut`]: whether `cancel_on_timeout` cancelled the order.
    pub cancelled: bool,
    /// For [`WatchEventKind::Failed`]: why.
    pub error: Option<Error>,
    /// Whether a fed webhook delivery, rather than a poll, brought it.
    pub from_webhook: bool,
}

impl WatchEvent {
    fn new(kind: WatchEventKind, order_id: &str, order: Option<Order>) -> WatchEvent {
        WatchEvent {
            kind,
            order_id: order_id.to_owned(),
            order,
            cancelled: false,
            error: None,
            from_webhook: false,
        }
    }

    /// The new code, for a [`WatchEventKind::Code`] event.
    pub fn code(&self) -> Option<&str> {
        match self.kind {
            WatchEventKind::Code => self.order.as_ref().and_then(|o| o.code.as_deref()),
            _ => None,
        }
    }
}

/// One watched order.
struct Entry {
    /// Tells this watch from an earlier one of the same id (removed, then added again).
    generation: u64,
    seen: Seen,
    cancel_on_timeout: bool,
    deadline: Instant,
    hard: Instant,
    /// The time to wait after the next idle poll.
    interval: Duration,
    /// The most this order's interval grows to.
    ceiling: Duration,
    /// Its place in the schedule; `None` while a poll of it is in flight.
    slot: Option<(Instant, u64)>,
    /// Boxed: an `Order` is large and most entries have none yet (2,000 entries measured
    /// a few hundred bytes more each with it inline).
    last: Option<Box<Order>>,
    /// Webhook deliveries for it are arriving: polls are only a safety net.
    by_webhook: bool,
}

/// The schedule and everything the handles change.
#[derive(Default)]
struct Table {
    orders: HashMap<String, Entry>,
    /// Orders not in flight, by the time they are due (then a sequence number).
    due: BTreeMap<(Instant, u64), String>,
    ready: VecDeque<WatchEvent>,
    next: u64,
    closed: bool,
}

impl Table {
    fn seq(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn schedule(&mut self, id: &str, at: Instant) {
        let seq = self.seq();
        if let Some(entry) = self.orders.get_mut(id) {
            if let Some(old) = entry.slot.take() {
                self.due.remove(&old);
            }
            let at = at.min(entry.deadline);
            entry.slot = Some((at, seq));
            self.due.insert((at, seq), id.to_owned());
        }
    }

    /// Stops watching `id` (its slot leaves the schedule; a poll in flight is ignored).
    fn forget(&mut self, id: &str) -> Option<Entry> {
        let entry = self.orders.remove(id)?;
        if let Some(slot) = entry.slot {
            self.due.remove(&slot);
        }
        Some(entry)
    }
}

/// `wait` after `now`, but no later than `deadline` (a duration too long for the clock included).
fn later(now: Instant, wait: Duration, deadline: Instant) -> Instant {
    now.checked_add(wait)
        .map_or(deadline, |at| at.min(deadline))
}

/// What the watcher and its handles share.
struct Hub {
    client: Client,
    config: WatchConfig,
    table: Mutex<Table>,
    waker: AtomicWaker,
    /// Codes handed out, by order: a watch added again does not hand them out again.
    delivered: BoundedMap<String, Vec<String>>,
    /// The latest delivery for an order not watched (yet).
    fed: BoundedMap<String, Order>,
}

impl Hub {
    /// Ends the watch of `id` with `event` (the table is locked by the caller).
    fn finish(&self, table: &mut Table, mut event: WatchEvent, from_webhook: bool) {
        table.forget(&event.order_id);
        self.client
            .shared()
            .codes_before_resend
            .remove(&event.order_id);
        if let Some(order) = event
            .order
            .as_ref()
            .filter(|_| event.kind == WatchEventKind::Code)
        {
            let codes = order.all_codes().into_iter().map(str::to_owned).collect();
            self.delivered.insert(event.order_id.clone(), codes);
        }
        event.from_webhook = from_webhook;
        table.ready.push_back(event);
    }

    /// Applies what a look at order `id` (a poll, or a delivery) showed.
    fn apply(&self, table: &mut Table, id: &str, look: Look, from_webhook: bool) {
        let Some(entry) = table.orders.get_mut(id) else {
            return;
        };
        let now = Instant::now();
        let next = match look {
            Look::Code(order) => {
                let event = WatchEvent::new(WatchEventKind::Code, id, Some(order));
                return self.finish(table, event, from_webhook);
            }
            Look::Closed(order) => {
                let kind = WatchEventKind::closed(&order.status);
                let event = WatchEvent::new(kind, id, Some(order));
                return self.finish(table, event, from_webhook);
            }
            Look::Fatal(error) => {
                let last = entry.last.take().map(|o| *o);
                let mut event = WatchEvent::new(WatchEventKind::Failed, id, last);
                event.error = Some(error);
                return self.finish(table, event, from_webhook);
            }
            Look::Open(order) if from_webhook => {
                entry.by_webhook = true;
                entry.last = Some(Box::new(order));
                if entry.slot.is_none() {
                    return; // in flight: rescheduled when its poll comes back
                }
                later(now, self.config.webhook_poll_interval, entry.deadline)
            }
            Look::Open(order) => {
                entry.last = Some(Box::new(order));
                let wait = if entry.by_webhook {
                    self.config.webhook_poll_interval
                } else {
                    entry.interval
                };
                entry.interval =
                    Duration::try_from_secs_f64(entry.interval.as_secs_f64() * BACKOFF)
                        .map_or(entry.ceiling, |grown| grown.min(entry.ceiling));
                later(now, wait, entry.deadline)
            }
            Look::Failed(at_least) => later(now, entry.interval.max(at_least), entry.deadline),
        };
        table.schedule(id, next);
    }

    fn add(&self, id: &str, options: WaitOptions) -> Result<()> {
        let (deadline, hard) = deadlines(&self.client, id, &options)?;
        let known = self.delivered.get(&id.to_owned());
        let seen = Seen::for_order(self.client.shared(), id, known, &options.exclude_codes);
        let mut table = lock(&self.table);
        if table.closed {
            return Err(Error::invalid("watcher", "is closed"));
        }
        table.forget(id);
        let generation = table.seq();
        let ceiling = self.config.max_poll_interval.max(options.poll_interval);
        table.orders.insert(
            id.to_owned(),
            Entry {
                generation,
                seen,
                cancel_on_timeout: options.cancel_on_timeout,
                deadline,
                hard,
                interval: options.poll_interval,
                ceiling,
                slot: None,
                last: None,
                by_webhook: false,
            },
        );
        // A fresh order has no code yet: the first poll waits one interval.
        table.schedule(id, later(Instant::now(), options.poll_interval, deadline));
        if let Some(order) = self.fed.get(&id.to_owned()) {
            self.fed.remove(&id.to_owned());
            let look = table
                .orders
                .get(id)
                .map(|entry| entry.seen.judge(Ok(order)));
            if let Some(look) = look {
                self.apply(&mut table, id, look, true);
            }
        }
        drop(table);
        self.waker.wake();
        Ok(())
    }

    fn feed(&self, event: &WebhookEvent) -> bool {
        let Some(order) = &event.order else {
            return false;
        };
        let mut table = lock(&self.table);
        if table.closed {
            return false;
        }
        let Some(entry) = table.orders.get(&order.id) else {
            self.fed.insert(order.id.clone(), order.clone());
            return false;
        };
        let look = entry.seen.judge(Ok(order.clone()));
        let id = order.id.clone();
        self.apply(&mut table, &id, look, true);
        drop(table);
        self.waker.wake();
        true
    }
}

/// Adds, removes and feeds orders of a running [`Watcher`] from anywhere (cheap to clone,
/// `Send + Sync`), while the watcher itself is being iterated.
#[derive(Clone)]
pub struct WatchHandle {
    hub: Arc<Hub>,
}

impl fmt::Debug for WatchHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchHandle")
            .field("watching", &self.len())
            .finish_non_exhaustive()
    }
}

impl WatchHandle {
    /// Follows order `id` until its first new code, its end, or `options.timeout` (then
    /// cancelled if `options.cancel_on_timeout`), polling first after `options.poll_interval`.
    /// Codes the order had before this client resent it, codes this watcher already handed
    /// out for it, and `options.exclude_codes` do not count. Adding an order already watched
    /// starts its watch again with the new options. Fails on a bad id or option, or once the
    /// watcher is closed.
    pub fn add(&self, id: &str, options: WaitOptions) -> Result<()> {
        self.hub.add(id, options)
    }

    /// Stops following order `id` (no event comes for it); whether it was followed.
    pub fn remove(&self, id: &str) -> bool {
        lock(&self.hub.table).forget(id).is_some()
    }

    /// Feeds a delivery the caller verified (`nexotp::webhook::verify`): a new code or the end
    /// of a watched order becomes its event at once, and the order is not polled again; any
    /// other delivery about it makes polls a fallback (see
    /// [`WatchConfig::webhook_poll_interval`]). A delivery for an order not watched yet is kept
    /// for when it is added. Returns whether the event was about a watched order.
    pub fn feed(&self, event: &WebhookEvent) -> bool {
        self.hub.feed(event)
    }

    /// Stops the watcher: nothing more is polled, the polls in flight are dropped, events
    /// already found are still yielded, then the stream ends. Idempotent.
    pub fn close(&self) {
        let mut table = lock(&self.hub.table);
        table.closed = true;
        table.orders.clear();
        table.due.clear();
        drop(table);
        self.hub.waker.wake();
    }

    /// Whether [`WatchHandle::close`] was called.
    pub fn is_closed(&self) -> bool {
        lock(&self.hub.table).closed
    }

    /// How many orders are being followed.
    pub fn len(&self) -> usize {
        lock(&self.hub.table).orders.len()
    }

    /// Whether no order is being followed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a finished task reports: the order, its watch's generation, and the outcome.
enum Done {
    Polled(String, u64, Result<Order>),
    Settled(String, u64, Settled),
}

/// A stream of [`WatchEvent`]s for any number of orders (from [`Client::watch`]).
///
/// It does its work while it is polled: iterate it (`while let Some(e) = watcher.next().await`)
/// in one task, and add, remove or feed orders through [`Watcher::handle`] from others. With
/// no order to follow it waits for one; it ends after [`WatchHandle::close`]. Dropping it drops
/// the polls in flight.
pub struct Watcher {
    hub: Arc<Hub>,
    in_flight: FuturesUnordered<BoxFuture<'static, Done>>,
    timer: Option<(Instant, Pin<Box<tokio::time::Sleep>>)>,
}

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watcher")
            .field("watching", &self.handle().len())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl Watcher {
    pub(crate) fn new(client: Client, config: WatchConfig) -> Watcher {
        Watcher {
            hub: Arc::new(Hub {
                client,
                config,
                table: Mutex::new(Table::default()),
                waker: AtomicWaker::new(),
                delivered: BoundedMap::new(MEMORY_TTL, MEMORY_CAPACITY),
                fed: BoundedMap::new(MEMORY_TTL, MEMORY_CAPACITY),
            }),
            in_flight: FuturesUnordered::new(),
            timer: None,
        }
    }

    /// A handle to add, remove and feed orders while this watcher is iterated elsewhere.
    pub fn handle(&self) -> WatchHandle {
        WatchHandle {
            hub: Arc::clone(&self.hub),
        }
    }

    /// [`WatchHandle::add`].
    pub fn add(&self, id: &str, options: WaitOptions) -> Result<()> {
        self.hub.add(id, options)
    }

    /// [`WatchHandle::remove`].
    pub fn remove(&self, id: &str) -> bool {
        self.handle().remove(id)
    }

    /// [`WatchHandle::feed`].
    pub fn feed(&self, event: &WebhookEvent) -> bool {
        self.hub.feed(event)
    }

    /// [`WatchHandle::close`].
    pub fn close(&self) {
        self.handle().close()
    }

    /// How many orders are being followed.
    pub fn len(&self) -> usize {
        self.handle().len()
    }

    /// Whether no order is being followed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts the polls that are due, most overdue first, while there is room in flight.
    /// Returns the time the next one is due when nothing more can start now.
    fn launch(&mut self, table: &mut Table) -> Option<Instant> {
        let now = Instant::now();
        while self.in_flight.len() < self.hub.config.max_in_flight {
            let (&(at, seq), _) = table.due.first_key_value()?;
            if at > now {
                return Some(at);
            }
            let Some(id) = table.due.remove(&(at, seq)) else {
                continue;
            };
            let Some(entry) = table.orders.get_mut(&id) else {
                continue;
            };
            entry.slot = None;
            let client = self.hub.client.clone();
            let generation = entry.generation;
            let hard = entry.hard;
            if now >= entry.deadline {
                let seen = entry.seen.clone();
                let last = entry.last.take().map(|o| *o);
                let cancel = entry.cancel_on_timeout;
                self.in_flight.push(
                    async move {
                        let settled = client
                            .settle_timeout(&id, cancel, last, hard, &seen, true)
                            .await;
                        Done::Settled(id, generation, settled)
                    }
                    .boxed(),
                );
            } else {
                self.in_flight.push(
                    async move {
                        let polled = client.order_within(&id, hard).await;
                        Done::Polled(id, generation, polled)
                    }
                    .boxed(),
                );
            }
        }
        None
    }

    fn finished(&self, done: Done) {
        let mut table = lock(&self.hub.table);
        let current = |table: &Table, id: &str, generation: u64| {
            table
                .orders
                .get(id)
                .is_some_and(|e| e.generation == generation && e.slot.is_none())
        };
        match done {
            Done::Polled(id, generation, polled) => {
                if let Some(entry) = table
                    .orders
                    .get(&id)
                    .filter(|_| current(&table, &id, generation))
                {
                    let look = entry.seen.judge(polled);
                    self.hub.apply(&mut table, &id, look, false);
                }
            }
            Done::Settled(id, generation, settled) => {
                if !current(&table, &id, generation) {
                    return;
                }
                let event = match settled {
                    Settled::Code(order) => WatchEvent::new(WatchEventKind::Code, &id, Some(order)),
                    Settled::TimedOut { order, cancelled } => {
                        let mut event = WatchEvent::new(WatchEventKind::TimedOut, &id, order);
                        event.cancelled = cancelled;
                        event
                    }
                };
                self.hub.finish(&mut table, event, false);
            }
        }
    }
}

impl Watcher {
    /// Runs the loop until an event is waiting (`true`: [`WatchHandle::try_next`] takes it) or
    /// the watcher is closed with none left (`false`), without taking the event. For a caller
    /// whose wait may be cancelled after it ended (an asyncio task): the event stays queued.
    pub async fn ready(&mut self) -> bool {
        std::future::poll_fn(|cx| self.poll_ready(cx)).await
    }

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        self.hub.waker.register(cx.waker());
        loop {
            let next_due = {
                let hub = Arc::clone(&self.hub);
                let mut table = lock(&hub.table);
                if !table.ready.is_empty() {
                    return Poll::Ready(true);
                }
                if table.closed {
                    self.in_flight = FuturesUnordered::new();
                    self.timer = None;
                    return Poll::Ready(false);
                }
                self.launch(&mut table)
            };
            if let Poll::Ready(Some(done)) = self.in_flight.poll_next_unpin(cx) {
                self.finished(done);
                continue;
            }
            let Some(due) = next_due else {
                self.timer = None;
                return Poll::Pending;
            };
            let timer = match &mut self.timer {
                Some((at, timer)) if *at == due => timer,
                slot => {
                    let sleep = Box::pin(tokio::time::sleep_until(due.into()));
                    &mut slot.insert((due, sleep)).1
                }
            };
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.timer = None;
        }
    }
}

impl WatchHandle {
    /// The oldest event waiting, if any, without waiting (see [`Watcher::ready`]).
    pub fn try_next(&self) -> Option<WatchEvent> {
        lock(&self.hub.table).ready.pop_front()
    }
}

impl Stream for Watcher {
    type Item = WatchEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WatchEvent>> {
        loop {
            match self.poll_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(false) => return Poll::Ready(None),
                // Another caller may take it first (`try_next`): then look again.
                Poll::Ready(true) => {
                    if let Some(event) = lock(&self.hub.table).ready.pop_front() {
                        return Poll::Ready(Some(event));
                    }
                }
            }
        }
    }
}

impl Client {
    /// A [`Watcher`] for any number of orders, with the default [`WatchConfig`]: add orders
    /// with [`Watcher::add`] (or a [`WatchHandle`]) and read its events as a `Stream`.
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    /// # async fn run(client: nexotp::Client, ids: Vec<String>) -> nexotp::Result<()> {
    /// let mut watcher = client.watch();
    /// for id in &ids {
    ///     watcher.add(id, nexotp::WaitOptions::default())?;
    /// }
    /// while let Some(event) = watcher.next().await {
    ///     println!("{} {}: {:?}", event.order_id, event.kind, event.code());
    ///     if watcher.is_empty() {
    ///         break;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch(&self) -> Watcher {
        self.watch_with(WatchConfig::default())
    }

    /// [`Client::watch`] with another pace.
    pub fn watch_with(&self, config: WatchConfig) -> Watcher {
        Watcher::new(self.clone(), config)
    }
}
