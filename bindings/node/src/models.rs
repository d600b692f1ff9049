//! The JS shapes of the core's models: plain objects with camelCase keys, money as decimal
//! strings (never a float), ids as strings, and `raw` with the JSON object as received (whose
//! numbers are `JSON.parse` floats, unlike the exact typed money fields). `raw` travels to JS as
//! the text the server sent, inside the batch's JSON: it is parsed once, by `JSON.parse`.
//!
//! Each struct is both a `#[napi(object)]` (converted field by field when a promise resolves,
//! and typed in the generated `native.d.ts`) and `serde::Serialize` with the same keys (used
//! when an order travels inside an error's JSON payload), so there is one definition per shape.
//! Absent values are omitted (`undefined` in JS) in both forms.

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue};
use napi::{ValueType, sys};
use napi_derive::napi;
use serde::Serialize;
use serde_json::Value;

/// A model's JSON as received. Serialized verbatim into the JSON batches (no second walk over
/// the data); converted to a JS object by napi only where a model is returned directly
/// (`verifyWebhook`).
#[derive(Clone, Debug)]
pub struct RawObject(pub nexotp::RawJson);

impl Serialize for RawObject {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl From<nexotp::RawJson> for RawObject {
    fn from(raw: nexotp::RawJson) -> Self {
        RawObject(raw)
    }
}

impl TypeName for RawObject {
    fn type_name() -> &'static str {
        "Record<string, unknown>"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ValidateNapiValue for RawObject {}

impl ToNapiValue for RawObject {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: forwarded unchanged from napi's own call into this conversion.
        unsafe { Value::to_napi_value(env, val.0.to_value()) }
    }
}

impl FromNapiValue for RawObject {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: forwarded unchanged from napi's own call into this conversion.
        let value = unsafe { Value::from_napi_value(env, value)? };
        Ok(RawObject(nexotp::RawJson::from_value(&value)))
    }
}

fn money(d: &nexotp::Decimal) -> String {
    d.to_string()
}

fn opt_money(d: &Option<nexotp::Decimal>) -> Option<String> {
    d.as_ref().map(money)
}

fn count(n: Option<u64>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// The account: wallet balance, plan and usage.
#[napi(object)]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// The user id, when the API gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The account's e-mail, when the API gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Wallet balance as a decimal string, e.g. `"25.00"`.
    pub balance: String,
    /// Currency of the balance (e.g. `"USD"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The API plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Usage statistics as given (an object; `{}` when absent).
    #[napi(ts_type = "Record<string, unknown>")]
    pub usage: Value,
    /// The decoded JSON object.
    /// Its numbers come from `JSON.parse` (binary floats: `1.1` may not be exact); the typed
    /// money fields are exact decimal strings.
    #[napi(ts_type = "Record<string, unknown>")]
    pub raw: RawObject,
}

impl From<nexotp::Account> for Account {
    fn from(a: nexotp::Account) -> Self {
        Account {
            balance: money(&a.balance),
            user_id: a.user_id,
            email: a.email,
            currency: a.currency,
            plan: a.plan,
            usage: a.usage,
            raw: a.raw.into(),
        }
    }
}

/// One wallet transaction.
#[napi(object)]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// Transaction id.
    pub id: String,
    /// `deposit`, `order`, `refund`, ...
    #[napi(js_name = "type")]
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Signed amount as a decimal string: negative for a debit.
    pub amount: String,
    /// Balance after this transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_after: Option<String>,
    /// Human description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The order it belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// When it happened, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The decoded JSON object.
    /// Its numbers come from `JSON.parse` (binary floats: `1.1` may not be exact); the typed
    /// money fields are exact decimal strings.
    #[napi(ts_type = "Record<string, unknown>")]
    pub raw: RawObject,
}

impl From<nexotp::Transaction> for Transaction {
    fn from(t: nexotp::Transaction) -> Self {
        Transaction {
            amount: money(&t.amount),
            balance_after: opt_money(&t.balance_after),
            id: t.id,
            kind: t.kind,
            description: t.description,
            order_id: t.order_id,
            created_at: t.created_at,
            raw: t.raw.into(),
        }
    }
}

/// One page of transactions.
#[napi(object)]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionPage {
    /// The transactions on this page.
    pub items: Vec<Transaction>,
    /// This page's number (from 1).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Total transactions, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// Total pages, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_pages: Option<u32>,
    /// Whether a next page exists.
    pub has_more: bool,
}

impl From<nexotp::TransactionPage> for TransactionPage {
    fn from(p: nexotp::TransactionPage) -> Self {
        TransactionPage {
            items: p.items.into_iter().map(Transaction::from).collect(),
            page: p.page,
            per_page: p.per_page,
            total: count(p.total),
            total_pages: p.total_pages,
            has_more: p.has_more,
        }
    }
}

/// A country of the supply network.
#[napi(object)]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Country {
    /// The code to pass to other calls (e.g. `"cty_us"`).
    pub code: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ISO 3166 code, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iso: Option<String>,
    /// Dialling prefix, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dial_code: Option<String>,
    /// The decoded JSON object.
    /// Its numbers come from `JSON.parse` (binary floats: `1.1` may not be exact); the typed
    /// money fields are exact decimal strings.
    #[napi(ts_type = "Record<string, unknown>")]
    pub raw: RawObject,
}

impl From<nexotp::Country> for Country {
    fn from(c: nexotp::Country) -> Self {
        Country {
            code: c.code,
            name: c.name,
            iso: c.iso,
            dial_code: c.dial_code,
            raw: c.raw.into(),
        }
    }
}

/// A service (the site that sends the code) available in a country.
#[napi(object)]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// The id to pass to other calls (e.g. `"svc_telegram"`).
    pub id: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Lowest price in this country as a decimal string, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// Numbers in stock, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    /// The decoded JSON object.
    /// Its numbers come from `JSON.parse` (binary floats: `1.1` may not be exact); the typed
    /// money fields are exact decimal strings.
    #[napi(ts_type = "Record<string, unknown>")]
    pub raw: RawObject,
}

impl From<nexotp::Service> for Service {
    fn from(s: nexotp::Service) -> Self {
        Service {
            price: opt_money(&s.price),
            available: count(s.available),
            id: s.id,
            name: s.name,
            raw: s.raw.into(),
        }
    }
}

/// A supply pool offering numbers for a service and country.
#[napi(object)]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    /// Pool id (pass it as `pool` when ordering).
    pub id: String,
    /// Price in this pool, as a decimal string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// Numbers in stock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    /// Share of orders that receive a code (`"0"`–`"1"`, a decimal string), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<String>,
    /// The decoded JSON object.
    /// Its numbers come from `JSON.parse` (binary floats: `1.1` may not be exact); the typed
    /// money fields are exact decimal strings.
    #[napi(ts_type = "Record<string, unknown>")]
    pub raw: RawObject,
}

impl From<nexotp::Pool> for Pool {
    fn from(p: nexotp::Pool) -> Self {
        Pool {
            price: opt_money(&p.price),
            available: count(p.available),
            success_rate: opt_money(&p.success_rate),
            id: p.id,
            raw: p.raw.into(),
        }
    }
}

/// The current price of a service in a country.
#[napi(object)]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Price {
    /// Service id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Country code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The sell price as a decimal string.
    pub price: String,
    /// Currency (e.g. `"USD"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Numbers in stock, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    /// The pools offering it (empty when not given).
    pub pools: Vec<Pool>,
    /// The decoded JSON object.
    /// Its numbers come from `JSON.parse` (binary floats: `1.1` may not be exact); the typed
    /// money fields are exact decimal strings.
    #[napi(ts_type = "Record<string, unknown>")]
    pub raw: RawObject,
}

impl From<nexotp::Price> for Price {
    fn from(p: nexotp::Price) -> Self {
        Price {
            price: money(&p.price),
            available: count(p.available),
            pools: p.pools.into_iter().map(Pool::from).collect(),
            service: p.service,
            country: p.country,
            currency: p.currency,
            raw: p.raw.into(),
        }
    }
}

/// An order: a number rented for one service, and the codes it received.
#[napi(object)]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Order id.
    pub id: String,
    /// `pending`, `received`, `completed`, `cancelled`, `expired`, or another status as given.
    pub status: String,
    /// Service id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Country code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Pool the number came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The phone number to give the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Price paid, as a decimal string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// The latest code, once one arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Every code received so far, oldest first.
    pub codes: Vec<String>,
    /// The SMS text, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<String>,
    /// Amount refunded (after a cancel or expiry) as a decimal string, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund: Option<String>,
    /// When it was created, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When it last changed, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// When it expires, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The decoded JSON object.
    /// Its numbers come from `JSON.parse` (binary floats: `1.1` may not be exact); the typed
    /// money fields are exact decimal strings.
    #[napi(ts_type = "Record<string, unknown>")]
    pub raw: RawObject,
}

impl From<&nexotp::Order> for Order {
    fn from(o: &nexotp::Order) -> Self {
        Order::from(o.clone())
    }
}

impl From<nexotp::Order> for Order {
    fn from(o: nexotp::Order) -> Self {
        Order {
            status: o.status.as_str().to_owned(),
            price: opt_money(&o.price),
            refund: opt_money(&o.refund),
            id: o.id,
            service: o.service,
            country: o.country,
            pool: o.pool,
            phone: o.phone,
            code: o.code,
            codes: o.codes,
            sms: o.sms,
            created_at: o.created_at,
            updated_at: o.updated_at,
            expires_at: o.expires_at,
            raw: o.raw.into(),
        }
    }
}

/// A registered webhook endpoint. `Debug` is written by hand so the secret never shows.
#[napi(object)]
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// Webhook id.
    pub id: String,
    /// Where deliveries go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// Subscribed events.
    pub events: Vec<String>,
    /// Whether deliveries are on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// When it was created, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The signing secret: only in the answer to `createWebhook` (shown redacted by
    /// `util.inspect`).
    #[serde(skip)]
    pub secret: Option<String>,
    /// The decoded JSON object, without the secret.
    /// Its numbers come from `JSON.parse` (binary floats: `1.1` may not be exact); the typed
    /// money fields are exact decimal strings.
    #[napi(ts_type = "Record<string, unknown>")]
    pub raw: RawObject,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("endpoint_url", &self.endpoint_url)
            .field("events", &self.events)
            .field("active", &self.active)
            .field("created_at", &self.created_at)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("raw", &self.raw)
            .finish()
    }
}

impl From<nexotp::Webhook> for Webhook {
    fn from(w: nexotp::Webhook) -> Self {
        Webhook {
            secret: w.secret.as_ref().map(|s| s.expose().to_owned()),
            id: w.id,
            endpoint_url: w.endpoint_url,
            events: w.events,
            active: w.active,
            created_at: w.created_at,
            raw: w.raw.into(),
        }
    }
}

/// The answer to deleting a webhook.
#[napi(object)]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeleted {
    /// The deleted webhook's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Whether the server says it was deleted.
    pub deleted: bool,
    /// The decoded JSON object.
    /// Its numbers come from `JSON.parse` (binary floats: `1.1` may not be exact); the typed
    /// money fields are exact decimal strings.
    #[napi(ts_type = "Record<string, unknown>")]
    pub raw: RawObject,
}

impl From<nexotp::WebhookDeleted> for WebhookDeleted {
    fn from(w: nexotp::WebhookDeleted) -> Self {
        WebhookDeleted {
            id: w.id,
            deleted: w.deleted,
            raw: w.raw.into(),
        }
    }
}

/// A verified webhook delivery.
#[napi(object)]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// Event id (`evt_...`).
    pub id: String,
    /// Event type, e.g. `order.code_received`.
    #[napi(js_name = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event was created (unix seconds), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// The event's `data` as given.
    #[napi(ts_type = "unknown")]
    pub data: RawObject,
    /// `data` as an order, when the event is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    /// The whole decoded body.
    /// Its numbers come from `JSON.parse` (binary floats: `1.1` may not be exact); the typed
    /// money fields are exact decimal strings.
    #[napi(ts_type = "Record<string, unknown>")]
    pub raw: RawObject,
}

impl From<nexotp::WebhookEvent> for WebhookEvent {
    fn from(e: nexotp::WebhookEvent) -> Self {
        WebhookEvent {
            id: e.id,
            kind: e.kind,
            created_at: e.created_at,
            data: e.data.into(),
            order: e.order.map(Order::from),
            raw: e.raw.into(),
        }
    }
}

/// What `client.reconcile(err)` found.
#[napi(object)]
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reconciliation {
    /// `applied` (with the `order` or `webhook` the call made), `notApplied` (sending it again
    /// is safe) or `ambiguous` (several candidates, or a resent order that changed in a way
    /// that does not tell: decide by hand).
    #[napi(ts_type = "'applied' | 'notApplied' | 'ambiguous'")]
    pub outcome: String,
    /// The order the call created (or the resent order), when it was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    /// The webhook the call registered, when it was applied (without its secret: that was in
    /// the lost answer; delete the webhook and create it anew to get one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
    /// Every order found that fits: the applied one, or the ambiguous candidates.
    pub orders: Vec<Order>,
    /// Every webhook found that fits: the applied one, or the ambiguous candidates.
    pub webhooks: Vec<Webhook>,
}

impl From<nexotp::Reconciled> for Reconciliation {
    fn from(found: nexotp::Reconciled) -> Self {
        let (outcome, orders, webhooks) = found.into_parts();
        let orders: Vec<Order> = orders.into_iter().map(Order::from).collect();
        let webhooks: Vec<Webhook> = webhooks.into_iter().map(Webhook::from).collect();
        let applied = outcome == nexotp::ReconcileOutcome::Applied;
        Reconciliation {
            outcome: match outcome {
                nexotp::ReconcileOutcome::NotApplied => "notApplied",
                other => other.as_str(),
            }
            .to_owned(),
            order: orders.first().filter(|_| applied).cloned(),
            webhook: webhooks.first().filter(|_| applied).cloned(),
            orders,
            webhooks,
        }
    }
}

/// A [`Webhook`] as a call hands it to JS (through [`crate::dispatch`], as JSON): with its
/// `secret`, which the `Serialize` form of [`Webhook`] leaves out so that it can never land in
/// an error payload. Deliberately not `Debug`.
#[derive(Serialize)]
pub struct WebhookResult {
    #[serde(flatten)]
    hook: Webhook,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl From<nexotp::Webhook> for WebhookResult {
    fn from(w: nexotp::Webhook) -> Self {
        let mut hook = Webhook::from(w);
        let secret = hook.secret.take();
        WebhookResult { hook, secret }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_debug_redacts_the_secret() {
        let hook = Webhook {
            id: "wh_1".into(),
            endpoint_url: Some("https://example.com/h".into()),
            events: vec!["order.created".into()],
            active: Some(true),
            created_at: None,
            secret: Some("whsec_do_not_print".into()),
            raw: RawObject(nexotp::RawJson::default()),
        };
        let shown = format!("{hook:?}");
        assert!(!shown.contains("whsec_do_not_print"), "{shown}");
        assert!(
            shown.contains("[redacted]") && shown.contains("wh_1"),
            "{shown}"
        );
    }
}
