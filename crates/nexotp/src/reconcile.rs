//! Resolving an unknown outcome: did the call that failed after sending take effect?
//!
//! The API has no idempotency keys and no endpoint that lists orders, but every order debits
//! the wallet, and the ledger names the order. So a lost `create_order` is looked for among the
//! debits made between its sending (minus a margin for the server's clock) and its failure (plus
//! the margin), each debit's order is read, and those for the same service and country (and
//! pool and price limit, when the call gave them) are the candidates. Orders this client has
//! already handed to its caller are not candidates: they belong to other calls, and neither is
//! any ledger entry up to the caller's `ledger_mark` (a tool that runs once per order, like the
//! CLI, notes the newest entry before ordering, since it has no memory of earlier runs). A lost
//! `create_webhook` is looked for among the webhooks with the same URL and events; a lost
//! resend is judged from the order itself, against its codes and status from before the resend.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::client::{Client, claim_key};
use crate::error::{Operation, Result, SentCall};
use crate::models::{Order, OrderStatus, Webhook};
use crate::timestamp::parse_timestamp;

/// The margin allowed between this machine's clock and the server's.
pub const RECONCILE_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// Most ledger pages read (100 transactions each) before giving up on older ones.
const MAX_LEDGER_PAGES: u32 = 20;

/// What [`Client::reconcile`] found.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Reconciled {
    /// The call took effect: the order it created, or the order after the resend took effect.
    Order(Box<Order>),
    /// The call took effect: the webhook it registered. Its signing secret was in the lost
    /// answer and cannot be read again: delete the webhook and create it anew to get one.
    Webhook(Box<Webhook>),
    /// The call did not take effect; sending it again is safe.
    NotApplied,
    /// Several orders or webhooks fit (another process made the same call at the same time),
    /// or the order changed in a way that does not tell (a resent order that has since ended).
    Ambiguous {
        /// The orders that fit.
        orders: Vec<Order>,
        /// The webhooks that fit.
        webhooks: Vec<Webhook>,
    },
}

/// The three answers of [`Client::reconcile`], by name (the bindings' `outcome`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconcileOutcome {
    /// The call took effect.
    Applied,
    /// It did not; sending it again is safe.
    NotApplied,
    /// It cannot be told: decide by hand.
    Ambiguous,
}

impl ReconcileOutcome {
    /// `"applied"`, `"not_applied"` or `"ambiguous"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReconcileOutcome::Applied => "applied",
            ReconcileOutcome::NotApplied => "not_applied",
            ReconcileOutcome::Ambiguous => "ambiguous",
        }
    }
}

impl Reconciled {
    /// The answer by name, with every order and webhook found that fits: the one the call
    /// made, or the ambiguous candidates. What a binding hands its host language.
    pub fn into_parts(self) -> (ReconcileOutcome, Vec<Order>, Vec<Webhook>) {
        match self {
            Reconciled::Order(order) => (ReconcileOutcome::Applied, vec![*order], Vec::new()),
            Reconciled::Webhook(hook) => (ReconcileOutcome::Applied, Vec::new(), vec![*hook]),
            Reconciled::NotApplied => (ReconcileOutcome::NotApplied, Vec::new(), Vec::new()),
            Reconciled::Ambiguous { orders, webhooks } => {
                (ReconcileOutcome::Ambiguous, orders, webhooks)
            }
        }
    }
}

impl Client {
    /// Finds out whether a call that ended in [`Error::OrderOutcomeUnknown`](crate::Error)
    /// took effect, from the ledger (create order), the webhooks (create webhook) or the order
    /// (resend). An order or webhook it finds is remembered as handed out, so a later reconcile
    /// never names it again.
    ///
    /// ```no_run
    /// # async fn run(client: nexotp::Client, request: nexotp::OrderRequest) -> nexotp::Result<()> {
    /// use nexotp::{Error, Reconciled};
    /// let order = match client.create_order(&request).await {
    ///     Ok(order) => order,
    ///     Err(Error::OrderOutcomeUnknown(unknown)) => match client.reconcile(&unknown.call).await? {
    ///         Reconciled::Order(order) => *order,
    ///         Reconciled::NotApplied => client.create_order(&request).await?, // safe to send again
    ///         other => panic!("decide by hand: {other:?}"),
    ///     },
    ///     Err(e) => return Err(e),
    /// };
    /// # let _ = order; Ok(()) }
    /// ```
    pub async fn reconcile(&self, call: &SentCall) -> Result<Reconciled> {
        let found = match call.operation {
            Operation::CreateOrder => self.reconcile_create_order(call).await?,
            Operation::ResendOrder => self.reconcile_resend(call).await?,
            Operation::CreateWebhook => self.reconcile_create_webhook(call).await?,
        };
        match &found {
            Reconciled::Order(order) if call.operation == Operation::CreateOrder => {
                self.shared()
                    .claimed
                    .insert(claim_key(Operation::CreateOrder, &order.id), ());
            }
            Reconciled::Webhook(webhook) => {
                self.shared()
                    .claimed
                    .insert(claim_key(Operation::CreateWebhook, &webhook.id), ());
            }
            _ => {}
        }
        Ok(found)
    }

    async fn reconcile_create_order(&self, call: &SentCall) -> Result<Reconciled> {
        let (from, to) = window(call);
        let mut order_ids: Vec<String> = Vec::new();
        let mut page = 1;
        'pages: loop {
            let transactions = self.transactions(page, 100).await?;
            let mut all_older = !transactions.items.is_empty();
            for tx in &transactions.items {
                if call.ledger_mark.as_deref() == Some(tx.id.as_str()) {
                    // Newest first: this entry and all below it came before the call.
                    break 'pages;
                }
                let at = tx.created_at.as_deref().and_then(parse_timestamp);
                all_older &= at.is_some_and(|at| at < from);
                if at.is_some_and(|at| at < from || at > to) || !tx.amount.is_sign_negative() {
                    continue;
                }
                if let Some(id) = &tx.order_id
                    && !order_ids.contains(id)
                    && !self
                        .shared()
                        .claimed
                        .contains(&claim_key(Operation::CreateOrder, id))
                {
                    order_ids.push(id.clone());
                }
            }
            // Newest first: a page wholly before the window ends the search.
            if all_older || !transactions.has_more || page >= MAX_LEDGER_PAGES {
                break 'pages;
            }
            page += 1;
        }
        let mut orders = Vec::new();
        for id in order_ids {
            let order = self.order(&id).await?;
            if order_fits(&order, call, from, to) {
                orders.push(order);
            }
        }
        Ok(match orders.len() {
            0 => Reconciled::NotApplied,
            1 => Reconciled::Order(Box::new(orders.remove(0))),
            _ => Reconciled::Ambiguous {
                orders,
                webhooks: Vec::new(),
            },
        })
    }

    async fn reconcile_resend(&self, call: &SentCall) -> Result<Reconciled> {
        let id = call.order_id.as_deref().unwrap_or_default();
        let order = self.order(id).await?;
        let before = &call.codes_before;
        let more_codes =
            order.codes.len() > before.len() && order.codes.starts_with(before.as_slice());
        let reset = call.status_before.as_ref() != Some(&order.status)
            && order.status == OrderStatus::Pending
            && !before.is_empty();
        let unchanged = call.status_before.as_ref() == Some(&order.status)
            && order.all_codes().len() == before.len();
        Ok(if more_codes || reset {
            Reconciled::Order(Box::new(order))
        } else if unchanged && !order.status.is_closed() {
            Reconciled::NotApplied
        } else {
            Reconciled::Ambiguous {
                orders: vec![order],
                webhooks: Vec::new(),
            }
        })
    }

    async fn reconcile_create_webhook(&self, call: &SentCall) -> Result<Reconciled> {
        let (from, to) = window(call);
        let wanted: HashSet<&str> = call.events.iter().map(String::as_str).collect();
        let mut webhooks: Vec<Webhook> = self
            .webhooks()
            .await?
            .into_iter()
            .filter(|hook| {
                hook.endpoint_url.as_deref() == call.endpoint_url.as_deref()
                    && hook
                        .events
                        .iter()
                        .map(String::as_str)
                        .collect::<HashSet<_>>()
                        == wanted
                    && !hook
                        .created_at
                        .as_deref()
                        .and_then(parse_timestamp)
                        .is_some_and(|at| at < from || at > to)
                    && !self
                        .shared()
                        .claimed
                        .contains(&claim_key(Operation::CreateWebhook, &hook.id))
            })
            .collect();
        Ok(match webhooks.len() {
            0 => Reconciled::NotApplied,
            1 => Reconciled::Webhook(Box::new(webhooks.remove(0))),
            _ => Reconciled::Ambiguous {
                orders: Vec::new(),
                webhooks,
            },
        })
    }
}

/// When the call's effect can have been recorded, by the server's clock give or take the skew.
fn window(call: &SentCall) -> (SystemTime, SystemTime) {
    let from = call
        .sent_at
        .checked_sub(RECONCILE_CLOCK_SKEW)
        .unwrap_or(UNIX_EPOCH);
    let to = call.failed_at.max(call.sent_at) + RECONCILE_CLOCK_SKEW;
    (from, to)
}

/// Whether `order` is what the lost create could have made.
fn order_fits(order: &Order, call: &SentCall, from: SystemTime, to: SystemTime) -> bool {
    let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (_, None) => true,
        (None, Some(_)) => false,
    };
    let in_window = !order
        .created_at
        .as_deref()
        .and_then(parse_timestamp)
        .is_some_and(|at| at < from || at > to);
    let within_price = match (call.max_price, order.price) {
        (Some(max), Some(price)) => price <= max,
        _ => true,
    };
    same(&order.service, &call.service)
        && same(&order.country, &call.country)
        && same(&order.pool, &call.pool)
        && within_price
        && in_window
}
