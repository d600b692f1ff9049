//! The sandbox's world: catalogue, wallet, ledger, orders and webhooks. Everything here is
//! synchronous and runs under one `std::sync::Mutex` (never held across an await).
//!
//! Order lifecycle transitions are computed from deadlines: a read advances the order it reads
//! (lazily), and the background ticker advances every order whose deadline passed, so events
//! (and webhook deliveries) happen even when nobody polls. Each transition happens once, at the
//! deadline's time, whichever path notices it first.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};

use crate::catalogue::{Catalogue, Country, Pool};
use crate::reply::to_json;
use crate::scenarios::{PRICE_JUMP, Scenario};
use crate::util::{hash, money, ser_money, ser_time, unix_ms_now};
use crate::webhooks::{DeliveryJob, DeliveryRecord};

/// First order id.
pub(crate) const FIRST_ORDER_ID: u64 = 5001;
/// First transaction id.
pub(crate) const FIRST_TRANSACTION_ID: u64 = 1001;

/// The part of the configuration the state needs.
#[derive(Debug, Clone)]
pub(crate) struct StateConfig {
    pub seed: u64,
    pub code_delay: Duration,
    /// Each code arrives up to this much later than `code_delay`, spread evenly by a seeded
    /// hash of the order id (and of the resend), so thousands of orders get their codes over
    /// a window instead of all at once.
    pub code_delay_spread: Duration,
    pub order_ttl: Duration,
    pub initial_balance: Decimal,
    /// Numbers in every stocked pool at the start, instead of the seeded amounts.
    pub stock: Option<u32>,
    /// Countries in the catalogue (the named ones, then made-up ones up to this number).
    pub countries: usize,
}

/// An API error raised by the business rules: status, code, message, details.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: String, details: Value) -> Self {
        ApiError {
            status,
            code,
            message,
            details,
        }
    }

    fn order_not_found(id: u64) -> Self {
        ApiError::new(
            404,
            "order_not_found",
            format!("Order {id} was not found."),
            json!({"order_id": id}),
        )
    }

    fn invalid(param: &str, message: String) -> Self {
        ApiError::new(400, "invalid_parameter", message, json!({"param": param}))
    }
}

/// Order statuses (contract.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OrderStatus {
    Pending,
    Received,
    #[allow(dead_code)] // part of the contract; the sandbox has no completion path yet
    Completed,
    Cancelled,
    Expired,
}

impl OrderStatus {
    fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Received => "received",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
        }
    }
}

/// An order, serialised exactly as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Order {
    pub id: u64,
    pub status: OrderStatus,
    pub service: Cow<'static, str>,
    pub country: Cow<'static, str>,
    pub pool: &'static str,
    pub phone: String,
    #[serde(serialize_with = "ser_money")]
    pub price: Decimal,
    pub code: Option<String>,
    pub codes: Vec<String>,
    pub sms: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub created_at: u64,
    #[serde(serialize_with = "ser_time")]
    pub updated_at: u64,
    #[serde(serialize_with = "ser_time")]
    pub expires_at: u64,
    #[serde(skip)]
    code_due: Option<Instant>,
    #[serde(skip)]
    expires: Instant,
    #[serde(skip)]
    codes_issued: u64,
    #[serde(skip)]
    slot: (usize, usize, usize),
    /// The named scenario its service or country asked for (`scenarios.rs`).
    #[serde(skip)]
    scenario: Option<Scenario>,
}

/// The cancel answer: the order plus the refunded amount.
#[derive(Serialize)]
pub(crate) struct CancelledOrder<'a> {
    #[serde(flatten)]
    pub order: &'a Order,
    #[serde(serialize_with = "ser_money")]
    pub refund: Decimal,
}

/// A ledger entry.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Transaction {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(serialize_with = "ser_money")]
    pub amount: Decimal,
    #[serde(serialize_with = "ser_money")]
    pub balance_after: Decimal,
    pub description: String,
    pub order_id: Option<u64>,
    #[serde(serialize_with = "ser_time")]
    pub created_at: u64,
}

/// A registered webhook (the secret is never serialised with it).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Webhook {
    pub id: u64,
    pub endpoint_url: String,
    pub events: Vec<String>,
    pub active: bool,
    #[serde(serialize_with = "ser_time")]
    pub created_at: u64,
    #[serde(skip)]
    pub secret: String,
}

/// A webhook with its secret: the create answer and the control state.
#[derive(Serialize)]
pub(crate) struct WebhookWithSecret<'a> {
    #[serde(flatten)]
    pub webhook: &'a Webhook,
    pub secret: &'a str,
}

/// A validated `POST /order`.
#[derive(Debug, Clone)]
pub(crate) struct OrderRequest {
    pub service: String,
    pub country: String,
    pub pool: Option<String>,
    pub pricing_option: Option<i64>,
    pub max_price: Option<Decimal>,
    /// Ordered with [`crate::NO_BALANCE_API_KEY`]: the wallet counts as empty.
    pub broke: bool,
}

/// The whole mutable world of one sandbox.
pub(crate) struct State {
    cfg: StateConfig,
    base_instant: Instant,
    base_unix_ms: u64,
    /// Incremented by each reset, so that late delivery results of an old world are ignored.
    pub generation: u64,
    catalogue: Catalogue,
    balance: Decimal,
    transactions: Vec<Transaction>,
    orders: Vec<Order>,
    webhooks: Vec<Webhook>,
    next_webhook_id: u64,
    event_seq: u64,
    requests_total: u64,
    deadlines: BinaryHeap<Reverse<(Instant, u64)>>,
    /// Deliveries to spawn once the lock is released.
    pub outbox: Vec<DeliveryJob>,
    deliveries: Vec<DeliveryRecord>,
}

impl State {
    /// The seeded starting world.
    pub fn new(cfg: StateConfig, generation: u64) -> Self {
        let mut s = State {
            catalogue: Catalogue::new(cfg.seed, cfg.countries),
            base_instant: Instant::now(),
            base_unix_ms: unix_ms_now(),
            generation,
            balance: Decimal::ZERO,
            transactions: Vec::new(),
            orders: Vec::new(),
            webhooks: Vec::new(),
            next_webhook_id: 1,
            event_seq: 0,
            requests_total: 0,
            deadlines: BinaryHeap::new(),
            outbox: Vec::new(),
            deliveries: Vec::new(),
            cfg,
        };
        if let Some(stock) = s.cfg.stock {
            for service in 0..s.catalogue.services.len() {
                for country in 0..s.catalogue.countries.len() {
                    for pool in s.catalogue.pools_mut(service, country) {
                        // The out-of-stock pair stays out of stock.
                        if pool.available > 0 {
                            pool.available = stock;
                        }
                    }
                }
            }
        }
        let initial = s.cfg.initial_balance;
        if !initial.is_zero() {
            let at = s.base_unix_ms;
            s.post(
                "deposit",
                initial,
                "Sandbox starting balance".into(),
                None,
                at,
            );
        }
        s
    }

    /// Unix milliseconds of an instant.
    pub fn unix_ms(&self, t: Instant) -> u64 {
        match t.checked_duration_since(self.base_instant) {
            Some(d) => self.base_unix_ms + d.as_millis() as u64,
            None => self
                .base_unix_ms
                .saturating_sub(self.base_instant.duration_since(t).as_millis() as u64),
        }
    }

    /// Counts an authenticated API request (for `usage.requests_today`).
    pub fn count_request(&mut self) {
        self.requests_total += 1;
    }

    fn post(
        &mut self,
        kind: &'static str,
        amount: Decimal,
        description: String,
        order_id: Option<u64>,
        at: u64,
    ) {
        // Saturating: a control call may set an absurd balance; the sandbox must not panic.
        self.balance = self.balance.saturating_add(amount);
        let id = FIRST_TRANSACTION_ID + self.transactions.len() as u64;
        self.transactions.push(Transaction {
            id,
            kind,
            amount,
            balance_after: self.balance,
            description,
            order_id,
            created_at: at,
        });
    }

    /// The wallet balance.
    pub fn balance(&self) -> Decimal {
        self.balance
    }

    /// Sets the balance, recording the difference as an `adjustment` transaction.
    pub fn set_balance(&mut self, balance: Decimal, now: Instant) {
        let delta = balance.saturating_sub(self.balance);
        let at = self.unix_ms(now);
        self.post(
            "adjustment",
            delta,
            format!("Sandbox balance set to {}", money(balance)),
            None,
            at,
        );
    }

    /// `GET /account`.
    pub fn account(&self) -> Value {
        let orders = self.orders.len() as u64;
        json!({
            "user_id": 1,
            "email": "sandbox@nexotp.test",
            "balance": money(self.balance),
            "currency": "USD",
            "plan": "sandbox",
            "usage": {"orders_today": orders, "orders_total": orders, "requests_today": self.requests_total},
        })
    }

    /// `GET /account/transactions`: a page (newest first) and the total count.
    pub fn transactions(&self, page: u64, per_page: u64) -> (Vec<&Transaction>, u64) {
        let total = self.transactions.len() as u64;
        let skip = page.saturating_sub(1).saturating_mul(per_page);
        let items = self
            .transactions
            .iter()
            .rev()
            .skip(skip.min(total) as usize)
            .take(per_page as usize)
            .collect();
        (items, total)
    }

    /// `GET /countries`.
    pub fn countries(&self) -> &[Country] {
        &self.catalogue.countries
    }

    fn country_index(&self, code: &str) -> Result<usize, ApiError> {
        self.catalogue
            .country(code)
            // A scenario country is priced and stocked like the first country.
            .or_else(|| Scenario::parse(code).map(|_| 0))
            .ok_or_else(|| ApiError::invalid("country", format!("Unknown country: {code}.")))
    }

    fn service_index(&self, id: &str) -> Result<usize, ApiError> {
        self.catalogue
            .service(id)
            // A scenario service is priced and stocked like the first service.
            .or_else(|| Scenario::parse(id).map(|_| 0))
            .ok_or_else(|| ApiError::invalid("service", format!("Unknown service: {id}.")))
    }

    /// `GET /services?country=`.
    pub fn services(&self, country: &str) -> Result<Value, ApiError> {
        let c = self.country_index(country)?;
        let list = self
            .catalogue
            .services
            .iter()
            .enumerate()
            .map(|(s, svc)| {
                let pools = self.catalogue.pools(s, c);
                let price = pools.iter().map(|p| p.price).min().unwrap_or_default();
                let available: u64 = pools.iter().map(|p| u64::from(p.available)).sum();
                json!({"id": svc.id, "name": svc.name, "price": money(price), "available": available})
            })
            .collect();
        Ok(Value::Array(list))
    }

    /// `GET /price?service=&country=`.
    pub fn price(&self, service: &str, country: &str) -> Result<Value, ApiError> {
        let s = self.service_index(service)?;
        let c = self.country_index(country)?;
        let pools = self.catalogue.pools(s, c);
        let price = pools.iter().map(|p| p.price).min().unwrap_or_default();
        let available: u64 = pools.iter().map(|p| u64::from(p.available)).sum();
        Ok(json!({
            // As asked: a scenario id is echoed, not its stand-in.
            "service": service,
            "country": country,
            "price": money(price),
            "currency": "USD",
            "available": available,
            "pools": pools,
        }))
    }

    /// When order `id`'s code arrives after an event at `now` (creation is `round` 0, each
    /// resend the next round): `code_delay` plus a seeded share of `code_delay_spread`.
    fn code_due(&self, id: u64, round: u64, now: Instant) -> Instant {
        let spread = self.cfg.code_delay_spread;
        let share = if spread.is_zero() {
            Duration::ZERO
        } else {
            let permille = hash(self.cfg.seed, &[7, id, round]) % 1001;
            spread.mul_f64(permille as f64 / 1000.0)
        };
        now + self.cfg.code_delay + share
    }

    fn next_code(&mut self, idx: usize) -> String {
        let o = &mut self.orders[idx];
        loop {
            let n = o.codes_issued;
            o.codes_issued += 1;
            let code = format!("{:06}", hash(self.cfg.seed, &[5, o.id, n]) % 1_000_000);
            if !o.codes.contains(&code) {
                return code;
            }
        }
    }

    /// `POST /order`.
    pub fn create_order(&mut self, req: &OrderRequest, now: Instant) -> Result<&Order, ApiError> {
        let s = self.service_index(&req.service)?;
        let c = self.country_index(&req.country)?;
        let pools = self.catalogue.pools(s, c);
        let p = match &req.pool {
            Some(pool) => pools.iter().position(|p| p.id == pool).ok_or_else(|| {
                ApiError::invalid(
                    "pool",
                    format!(
                        "Unknown pool {pool} for {} in {}.",
                        req.service, req.country
                    ),
                )
            })?,
            None => {
                let stocked = pools.iter().enumerate().filter(|(_, p)| p.available > 0);
                let best = if req.pricing_option == Some(1) {
                    stocked.max_by(|a, b| {
                        a.1.success_rate
                            .cmp(&b.1.success_rate)
                            .then(b.1.price.cmp(&a.1.price))
                    })
                } else {
                    stocked.min_by(|a, b| {
                        a.1.price
                            .cmp(&b.1.price)
                            .then(b.1.success_rate.cmp(&a.1.success_rate))
                    })
                };
                match best {
                    Some((i, _)) => i,
                    None => usize::MAX,
                }
            }
        };
        let chosen: Option<&Pool> = pools.get(p).filter(|pool| pool.available > 0);
        let Some(pool) = chosen else {
            return Err(ApiError::new(
                409,
                "no_numbers_available",
                format!(
                    "No numbers available for {} in {}.",
                    req.service, req.country
                ),
                json!({"service": req.service, "country": req.country}),
            ));
        };
        let scenario = Scenario::of_order(&req.service, &req.country);
        let price = if scenario == Some(Scenario::PriceJump) {
            pool.price + PRICE_JUMP
        } else {
            pool.price
        };
        let pool_id = pool.id;
        if let Some(max) = req.max_price
            && price > max
        {
            return Err(ApiError::new(
                409,
                "max_price_exceeded",
                format!(
                    "The price {} is above max_price {}.",
                    money(price),
                    max.normalize()
                ),
                json!({"price": money(price), "max_price": max.normalize().to_string()}),
            ));
        }
        let balance = if req.broke {
            Decimal::ZERO
        } else {
            self.balance
        };
        if balance < price {
            return Err(ApiError::new(
                402,
                "insufficient_balance",
                format!(
                    "Insufficient balance: {} available, {} needed.",
                    money(balance),
                    money(price)
                ),
                json!({"balance": money(balance), "price": money(price)}),
            ));
        }
        self.catalogue.pools_mut(s, c)[p].available -= 1;
        let id = FIRST_ORDER_ID + self.orders.len() as u64;
        let at = self.unix_ms(now);
        let svc = &self.catalogue.services[s];
        let cty = &self.catalogue.countries[c];
        let description = format!("Order {id}: {} number ({})", svc.name, cty.name);
        let phone = format!(
            "{}555{:07}",
            cty.dial_code,
            hash(self.cfg.seed, &[4, id]) % 10_000_000
        );
        let (due, expires) = match scenario {
            Some(Scenario::NoCode) => (None, now + self.cfg.order_ttl),
            Some(Scenario::CodeAfter(after)) => (Some(now + after), now + self.cfg.order_ttl),
            // Expires when the code would have come.
            Some(Scenario::Expires) => (None, self.code_due(id, 0, now)),
            _ => (Some(self.code_due(id, 0, now)), now + self.cfg.order_ttl),
        };
        let (service, country) = match scenario {
            Some(_) => (
                Cow::Owned(req.service.clone()),
                Cow::Owned(req.country.clone()),
            ),
            None => (Cow::Borrowed(svc.id), cty.code.clone()),
        };
        let order = Order {
            id,
            status: OrderStatus::Pending,
            service,
            country,
            pool: pool_id,
            phone,
            price,
            code: None,
            codes: Vec::new(),
            sms: None,
            created_at: at,
            updated_at: at,
            expires_at: self.unix_ms(expires),
            code_due: due,
            expires,
            codes_issued: 0,
            slot: (s, c, p),
            scenario,
        };
        if let Some(due) = due {
            self.deadlines.push(Reverse((due, id)));
        }
        self.deadlines.push(Reverse((expires, id)));
        self.orders.push(order);
        self.post("order", -price, description, Some(id), at);
        let idx = self.orders.len() - 1;
        self.emit("order.created", idx, at);
        Ok(&self.orders[idx])
    }

    fn index(&self, id: u64) -> Result<usize, ApiError> {
        id.checked_sub(FIRST_ORDER_ID)
            .map(|i| i as usize)
            .filter(|i| *i < self.orders.len())
            .ok_or_else(|| ApiError::order_not_found(id))
    }

    /// Applies any transition whose deadline passed.
    fn advance(&mut self, idx: usize, now: Instant) {
        let o = &self.orders[idx];
        if o.status == OrderStatus::Received
            && let Some(due) = o.code_due
            && due <= now
        {
            // `two_codes`: the second code of a received order.
            self.receive_code(idx, None, due);
            return;
        }
        if o.status != OrderStatus::Pending {
            return;
        }
        if let Some(due) = o.code_due
            && due <= now
            && due <= o.expires
        {
            self.receive_code(idx, None, due);
        } else if o.expires <= now {
            let at = o.expires;
            self.expire(idx, at);
        }
    }

    fn receive_code(&mut self, idx: usize, code: Option<String>, at: Instant) {
        let code = code.unwrap_or_else(|| self.next_code(idx));
        let at_ms = self.unix_ms(at);
        let o = &mut self.orders[idx];
        o.sms = Some(format!("Your code is {code}"));
        o.codes.push(code.clone());
        o.code = Some(code);
        o.status = OrderStatus::Received;
        o.code_due = None;
        o.updated_at = at_ms;
        if o.scenario == Some(Scenario::TwoCodes) && o.codes.len() == 1 {
            let (id, second) = (o.id, at + self.cfg.code_delay);
            o.code_due = Some(second);
            self.deadlines.push(Reverse((second, id)));
        }
        self.emit("order.code_received", idx, at_ms);
    }

    fn refund(&mut self, idx: usize, why: &str, at_ms: u64) -> Decimal {
        let (id, price, (s, c, p)) = {
            let o = &self.orders[idx];
            (o.id, o.price, o.slot)
        };
        self.catalogue.pools_mut(s, c)[p].available += 1;
        self.post(
            "refund",
            price,
            format!("Refund: order {id} {why}"),
            Some(id),
            at_ms,
        );
        price
    }

    fn expire(&mut self, idx: usize, at: Instant) {
        let at_ms = self.unix_ms(at);
        let o = &mut self.orders[idx];
        o.status = OrderStatus::Expired;
        o.code_due = None;
        o.updated_at = at_ms;
        // An order that got a code was used: only an order that never got one is refunded.
        if o.codes.is_empty() {
            self.refund(idx, "expired", at_ms);
        }
        self.emit("order.expired", idx, at_ms);
    }

    /// The ids of every order, in creation order.
    pub fn order_ids(&self) -> Vec<u64> {
        self.orders.iter().map(|o| o.id).collect()
    }

    /// How many orders were created.
    pub fn order_count(&self) -> usize {
        self.orders.len()
    }

    /// `GET /order/{id}`.
    pub fn order(&mut self, id: u64, now: Instant) -> Result<&Order, ApiError> {
        let idx = self.index(id)?;
        self.advance(idx, now);
        Ok(&self.orders[idx])
    }

    /// `POST /order/{id}/cancel`.
    pub fn cancel(&mut self, id: u64, now: Instant) -> Result<CancelledOrder<'_>, ApiError> {
        let idx = self.index(id)?;
        self.advance(idx, now);
        let status = self.orders[idx].status;
        if self.orders[idx].scenario == Some(Scenario::CancelFails) {
            return Err(ApiError::new(
                409,
                "order_not_cancellable",
                format!("Order {id} cannot be cancelled (sandbox scenario cancel_fails)."),
                json!({"order_id": id, "status": status.as_str()}),
            ));
        }
        // A resent order is pending again, but its first code was delivered: not refundable.
        if status != OrderStatus::Pending || !self.orders[idx].codes.is_empty() {
            return Err(ApiError::new(
                409,
                "order_not_cancellable",
                format!(
                    "Only a pending order that has not received a code can be cancelled; order {id} is {}.",
                    status.as_str()
                ),
                json!({"order_id": id, "status": status.as_str()}),
            ));
        }
        let at = self.unix_ms(now);
        let o = &mut self.orders[idx];
        o.status = OrderStatus::Cancelled;
        o.code_due = None;
        o.updated_at = at;
        let refund = self.refund(idx, "cancelled", at);
        self.emit("order.cancelled", idx, at);
        Ok(CancelledOrder {
            order: &self.orders[idx],
            refund,
        })
    }

    /// `POST /order/{id}/resend`.
    pub fn resend(&mut self, id: u64, now: Instant) -> Result<&Order, ApiError> {
        let idx = self.index(id)?;
        self.advance(idx, now);
        let status = self.orders[idx].status;
        if status != OrderStatus::Received {
            return Err(ApiError::new(
                409,
                "resend_not_supported",
                format!(
                    "Only an order that has received a code can be resent; order {id} is {}.",
                    status.as_str()
                ),
                json!({"order_id": id, "status": status.as_str()}),
            ));
        }
        let due = match self.orders[idx].scenario {
            Some(Scenario::CodeAfter(after)) => now + after,
            _ => self.code_due(id, self.orders[idx].codes.len() as u64, now),
        };
        let expires = now + self.cfg.order_ttl;
        let (at, expires_at) = (self.unix_ms(now), self.unix_ms(expires));
        let o = &mut self.orders[idx];
        o.status = OrderStatus::Pending;
        o.code = None;
        o.sms = None;
        o.code_due = Some(due);
        o.expires = expires;
        o.expires_at = expires_at;
        o.updated_at = at;
        self.deadlines.push(Reverse((due, id)));
        self.deadlines.push(Reverse((expires, id)));
        Ok(&self.orders[idx])
    }

    /// Control: deliver a code now (a given one, or the next seeded one).
    pub fn force_code(
        &mut self,
        id: u64,
        code: Option<String>,
        now: Instant,
    ) -> Result<&Order, ApiError> {
        let idx = self.index(id)?;
        self.advance(idx, now);
        match self.orders[idx].status {
            OrderStatus::Pending | OrderStatus::Received => {
                self.receive_code(idx, code, now);
                Ok(&self.orders[idx])
            }
            other => Err(ApiError::new(
                409,
                "order_closed",
                format!(
                    "Order {id} is {}; it cannot receive a code.",
                    other.as_str()
                ),
                json!({"status": other.as_str()}),
            )),
        }
    }

    /// Control: expire an order now (refunded if it never got a code).
    pub fn force_expire(&mut self, id: u64, now: Instant) -> Result<&Order, ApiError> {
        let idx = self.index(id)?;
        self.advance(idx, now);
        match self.orders[idx].status {
            OrderStatus::Pending | OrderStatus::Received => {
                self.expire(idx, now);
                Ok(&self.orders[idx])
            }
            other => Err(ApiError::new(
                409,
                "order_closed",
                format!("Order {id} is already {}.", other.as_str()),
                json!({"status": other.as_str()}),
            )),
        }
    }

    /// Advances every order whose deadline passed; returns the next deadline.
    pub fn tick(&mut self, now: Instant) -> Option<Instant> {
        while let Some(Reverse((due, id))) = self.deadlines.peek().copied() {
            if due > now {
                return Some(due);
            }
            self.deadlines.pop();
            if let Ok(idx) = self.index(id) {
                self.advance(idx, now);
            }
        }
        None
    }

    /// `GET /webhooks`.
    pub fn webhooks(&self) -> &[Webhook] {
        &self.webhooks
    }

    /// `POST /webhooks`.
    pub fn create_webhook(
        &mut self,
        endpoint_url: String,
        events: Vec<String>,
        now: Instant,
    ) -> WebhookWithSecret<'_> {
        let id = self.next_webhook_id;
        self.next_webhook_id += 1;
        let secret = format!(
            "whsec_{:016x}{:016x}",
            hash(self.cfg.seed, &[3, id, 0]),
            hash(self.cfg.seed, &[3, id, 1])
        );
        let created_at = self.unix_ms(now);
        self.webhooks.push(Webhook {
            id,
            endpoint_url,
            events,
            active: true,
            created_at,
            secret,
        });
        let webhook = &self.webhooks[self.webhooks.len() - 1];
        WebhookWithSecret {
            webhook,
            secret: &webhook.secret,
        }
    }

    /// `DELETE /webhooks/{id}`.
    pub fn delete_webhook(&mut self, id: u64) -> Result<Value, ApiError> {
        let pos = self
            .webhooks
            .iter()
            .position(|w| w.id == id)
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "webhook_not_found",
                    format!("Webhook {id} was not found."),
                    json!({"webhook_id": id}),
                )
            })?;
        self.webhooks.remove(pos);
        Ok(json!({"id": id, "deleted": true}))
    }

    /// Queues deliveries of an order event to every active webhook subscribed to it.
    fn emit(&mut self, event_type: &'static str, idx: usize, at_ms: u64) {
        if !self
            .webhooks
            .iter()
            .any(|w| w.active && w.events.iter().any(|e| e == event_type))
        {
            return;
        }
        self.event_seq += 1;
        let event_id = format!("evt_{:016x}", hash(self.cfg.seed, &[7, self.event_seq]));
        #[derive(Serialize)]
        struct Event<'a> {
            id: &'a str,
            #[serde(rename = "type")]
            kind: &'a str,
            created_at: u64,
            data: &'a Order,
        }
        let order = &self.orders[idx];
        let body = Bytes::from(to_json(&Event {
            id: &event_id,
            kind: event_type,
            created_at: at_ms / 1000,
            data: order,
        }));
        for w in self
            .webhooks
            .iter()
            .filter(|w| w.active && w.events.iter().any(|e| e == event_type))
        {
            let delivery_id = self.deliveries.len() as u64 + 1;
            self.deliveries.push(DeliveryRecord {
                id: delivery_id,
                webhook_id: w.id,
                event_id: event_id.clone(),
                event_type: event_type.to_string(),
                order_id: order.id,
                attempts: 0,
                last_status: None,
                last_error: None,
                state: "pending".into(),
                payload: String::from_utf8_lossy(&body).into_owned(),
                signature: None,
                replay_of: None,
            });
            self.outbox.push(DeliveryJob {
                delivery_id,
                generation: self.generation,
                url: w.endpoint_url.clone(),
                secret: w.secret.clone(),
                event_type,
                body: body.clone(),
            });
        }
    }

    /// Records one delivery attempt (ignored if the world was reset since).
    #[allow(clippy::too_many_arguments)] // one attempt's facts, passed as they come
    pub fn record_attempt(
        &mut self,
        generation: u64,
        delivery_id: u64,
        attempts: u32,
        status: Option<u16>,
        error: Option<String>,
        signature: String,
        state: &str,
    ) {
        if generation != self.generation {
            return;
        }
        if let Some(r) = delivery_id
            .checked_sub(1)
            .and_then(|i| self.deliveries.get_mut(i as usize))
        {
            r.attempts = attempts;
            r.last_status = status;
            r.last_error = error;
            r.signature = Some(signature);
            r.state = state.to_string();
        }
    }

    /// Control: sends a recorded delivery again, as a new delivery (same event, same body,
    /// signed afresh) to the same webhook, which must still exist.
    pub fn replay_delivery(&mut self, delivery_id: u64) -> Result<&DeliveryRecord, ApiError> {
        let original = delivery_id
            .checked_sub(1)
            .and_then(|i| self.deliveries.get(i as usize))
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    404,
                    "delivery_not_found",
                    format!("Delivery {delivery_id} was not found."),
                    json!({"delivery_id": delivery_id}),
                )
            })?;
        let webhook = self
            .webhooks
            .iter()
            .find(|w| w.id == original.webhook_id)
            .ok_or_else(|| {
                ApiError::new(
                    409,
                    "webhook_not_found",
                    format!(
                        "Webhook {} of delivery {delivery_id} was deleted.",
                        original.webhook_id
                    ),
                    json!({"webhook_id": original.webhook_id}),
                )
            })?;
        // The job's event type is one of the names `emit` sends, all static.
        let event_type = crate::endpoints::EVENTS
            .into_iter()
            .find(|e| *e == original.event_type)
            .unwrap_or("order.created");
        let id = self.deliveries.len() as u64 + 1;
        self.outbox.push(DeliveryJob {
            delivery_id: id,
            generation: self.generation,
            url: webhook.endpoint_url.clone(),
            secret: webhook.secret.clone(),
            event_type,
            body: Bytes::from(original.payload.clone().into_bytes()),
        });
        self.deliveries.push(DeliveryRecord {
            id,
            attempts: 0,
            last_status: None,
            last_error: None,
            state: "pending".into(),
            signature: None,
            replay_of: Some(delivery_id),
            ..original
        });
        Ok(&self.deliveries[self.deliveries.len() - 1])
    }

    /// The delivery records.
    pub fn deliveries(&self) -> &[DeliveryRecord] {
        &self.deliveries
    }

    /// The console's view (call [`State::tick`] first): the newest `limit` orders (each with
    /// `code_due_ms` and `expires_ms`, Unix milliseconds of its next code and its expiry, for
    /// the timers), transactions and deliveries, newest first, and the webhooks without their
    /// secrets.
    pub fn console_view(&self, limit: usize) -> Value {
        let orders: Vec<Value> = self
            .orders
            .iter()
            .rev()
            .take(limit)
            .map(|o| {
                let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
                if let Value::Object(m) = &mut v {
                    let due = o.code_due.map(|t| self.unix_ms(t));
                    m.insert("code_due_ms".into(), due.into());
                    m.insert("expires_ms".into(), self.unix_ms(o.expires).into());
                }
                v
            })
            .collect();
        let newest = |n: usize| n.saturating_sub(limit);
        json!({
            "generation": self.generation,
            "balance": money(self.balance),
            "orders": orders,
            "orders_total": self.orders.len(),
            "transactions": self.transactions[newest(self.transactions.len())..].iter().rev().collect::<Vec<_>>(),
            "transactions_total": self.transactions.len(),
            "webhooks": self.webhooks,
            "deliveries": self.deliveries[newest(self.deliveries.len())..].iter().rev().collect::<Vec<_>>(),
            "deliveries_total": self.deliveries.len(),
            "requests_total": self.requests_total,
        })
    }

    /// Everything, for `GET /__sandbox/state` (call [`State::tick`] first).
    pub fn snapshot(&self) -> Value {
        let webhooks: Vec<_> = self
            .webhooks
            .iter()
            .map(|w| WebhookWithSecret {
                webhook: w,
                secret: &w.secret,
            })
            .collect();
        json!({
            "balance": money(self.balance),
            "orders": self.orders,
            "webhooks": webhooks,
            "transactions": self.transactions,
            "requests_total": self.requests_total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(spread: Duration) -> State {
        State::new(
            StateConfig {
                seed: 42,
                code_delay: Duration::from_secs(1),
                code_delay_spread: spread,
                order_ttl: Duration::from_secs(600),
                initial_balance: Decimal::from(1000),
                stock: None,
                countries: 0,
            },
            0,
        )
    }

    #[test]
    fn a_spread_scatters_code_arrivals_evenly_over_its_window() {
        let now = Instant::now();
        let flat = state(Duration::ZERO);
        assert!((0..100).all(|id| flat.code_due(id, 0, now) == now + Duration::from_secs(1)));

        let spread = state(Duration::from_secs(30));
        let offsets: Vec<f64> = (0..2_000)
            .map(|id| (spread.code_due(id, 0, now) - now).as_secs_f64())
            .collect();
        assert!(offsets.iter().all(|s| (1.0..=31.0).contains(s)));
        // Evenly: each 10 s third of the window gets about a third of the codes.
        for third in 0..3 {
            let from = 1.0 + 10.0 * third as f64;
            let n = offsets
                .iter()
                .filter(|s| (from..from + 10.0).contains(*s))
                .count();
            assert!((550..=780).contains(&n), "{n} codes in third {third}");
        }
        // Seeded: the same order gets the same time; a resend draws again.
        assert_eq!(spread.code_due(7, 0, now), spread.code_due(7, 0, now));
        assert_ne!(spread.code_due(7, 0, now), spread.code_due(7, 1, now));
    }
}
