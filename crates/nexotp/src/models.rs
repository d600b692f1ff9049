//! Typed models of the API's payloads.
//!
//! Decoding is tolerant by design (see `spec/contract.md`): ids may be numbers or strings and
//! become strings, money may be a JSON number or a string and is decoded exactly into
//! [`Decimal`] (from the number's own digits, never through a float), an empty object may arrive
//! as `[]`, and every model keeps its JSON text in `raw`, so fields this SDK does not know yet
//! are never lost. Models decode straight from the response's text: no intermediate
//! [`Value`] tree is built for them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
pub use crate::raw_json::RawJson;
use crate::webhook::WebhookSecret;

/// The account: wallet balance, plan and usage.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Account {
    /// The user id, when the API gives it.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub user_id: Option<String>,
    /// The account's e-mail, when the API gives it.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub email: Option<String>,
    /// Wallet balance, exact.
    #[serde(deserialize_with = "de::money")]
    pub balance: Decimal,
    /// Currency of the balance (e.g. `"USD"`).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub currency: Option<String>,
    /// The API plan.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub plan: Option<String>,
    /// Usage statistics as given (an object; `{}` when absent).
    #[serde(default = "empty_object", deserialize_with = "de::object")]
    pub usage: Value,
    /// The JSON object as received.
    #[serde(skip)]
    pub raw: RawJson,
}

/// One wallet transaction.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Transaction {
    /// Transaction id.
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    /// `deposit`, `order`, `refund`, ... (the wire field `type`).
    #[serde(rename = "type", default, deserialize_with = "de::opt_string")]
    pub kind: Option<String>,
    /// Signed amount: negative for a debit.
    #[serde(deserialize_with = "de::money")]
    pub amount: Decimal,
    /// Balance after this transaction.
    #[serde(default, deserialize_with = "de::opt_money")]
    pub balance_after: Option<Decimal>,
    /// Human description.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub description: Option<String>,
    /// The order it belongs to, if any.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub order_id: Option<String>,
    /// When it happened, as given.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub created_at: Option<String>,
    /// The JSON object as received.
    #[serde(skip)]
    pub raw: RawJson,
}

/// One page of transactions.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct TransactionPage {
    /// The transactions on this page.
    pub items: Vec<Transaction>,
    /// This page's number (from 1).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Total transactions, when known (body or `X-WP-Total`).
    pub total: Option<u64>,
    /// Total pages, when known (body or `X-WP-TotalPages`).
    pub total_pages: Option<u32>,
    /// Whether a next page exists.
    pub has_more: bool,
}

/// A country of the supply network.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "wire::Country")]
#[non_exhaustive]
pub struct Country {
    /// The code to pass to other calls (e.g. `"cty_us"`; the wire may call it `id`).
    pub code: String,
    /// Display name.
    pub name: Option<String>,
    /// ISO 3166 code, when given.
    pub iso: Option<String>,
    /// Dialling prefix, when given.
    pub dial_code: Option<String>,
    /// The JSON object as received.
    pub raw: RawJson,
}

/// A service (the site that sends the code) available in a country.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "wire::Service")]
#[non_exhaustive]
pub struct Service {
    /// The id to pass to other calls (e.g. `"svc_telegram"`; the wire may call it `code`).
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Lowest price in this country, when given.
    pub price: Option<Decimal>,
    /// Numbers in stock, when given.
    pub available: Option<u64>,
    /// The JSON object as received.
    pub raw: RawJson,
}

/// A supply pool offering numbers for a service and country. The wire may give a pool as an
/// object or as its id alone (`"pool_a"`); the other fields are then `None`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "wire::Pool")]
#[non_exhaustive]
pub struct Pool {
    /// Pool id (pass it as `pool` when ordering).
    pub id: String,
    /// Price in this pool.
    pub price: Option<Decimal>,
    /// Numbers in stock.
    pub available: Option<u64>,
    /// Share of orders that receive a code (0–1), when given.
    pub success_rate: Option<Decimal>,
    /// The JSON as received (an object, or the id as given).
    pub raw: RawJson,
}

/// The current price of a service in a country.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Price {
    /// Service id.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub service: Option<String>,
    /// Country code.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub country: Option<String>,
    /// The sell price, exact.
    #[serde(deserialize_with = "de::money")]
    pub price: Decimal,
    /// Currency (e.g. `"USD"`).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub currency: Option<String>,
    /// Numbers in stock, when given.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub available: Option<u64>,
    /// The pools offering it, when given.
    #[serde(default, deserialize_with = "de::list")]
    pub pools: Vec<Pool>,
    /// The JSON object as received.
    #[serde(skip)]
    pub raw: RawJson,
}

/// The state of an order. Unknown states are kept, not rejected.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Waiting for the SMS.
    Pending,
    /// A code is there (more may come after a resend).
    Received,
    /// Finished.
    Completed,
    /// Cancelled (and refunded).
    Cancelled,
    /// No code arrived in time (and refunded).
    Expired,
    /// A status this SDK does not know.
    Other(String),
}

impl OrderStatus {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Received => "received",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
            OrderStatus::Other(s) => s,
        }
    }

    /// Whether the order has ended and will not receive another code.
    pub fn is_closed(&self) -> bool {
        matches!(
            self,
            OrderStatus::Completed | OrderStatus::Cancelled | OrderStatus::Expired
        )
    }
}

impl From<&str> for OrderStatus {
    fn from(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "pending" => OrderStatus::Pending,
            "received" => OrderStatus::Received,
            "completed" => OrderStatus::Completed,
            "cancelled" | "canceled" => OrderStatus::Cancelled,
            "expired" => OrderStatus::Expired,
            _ => OrderStatus::Other(s.to_owned()),
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for OrderStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = de::opt_string(d)?.unwrap_or_default();
        Ok(OrderStatus::from(s.as_str()))
    }
}

/// An order: a number rented for one service, and the codes it received.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "wire::Order")]
#[non_exhaustive]
pub struct Order {
    /// Order id.
    pub id: String,
    /// Current state.
    pub status: OrderStatus,
    /// Service id.
    pub service: Option<String>,
    /// Country code.
    pub country: Option<String>,
    /// Pool the number came from (the wire may give the pool as an object: its id is kept).
    pub pool: Option<String>,
    /// The phone number to give the service (the wire may call it `number`).
    pub phone: Option<String>,
    /// Price paid.
    pub price: Option<Decimal>,
    /// The latest code, once one arrived (the wire may call it `otp`).
    pub code: Option<String>,
    /// Every code received so far, oldest first.
    pub codes: Vec<String>,
    /// The SMS text, when given.
    pub sms: Option<String>,
    /// Amount refunded (after a cancel or expiry), when given.
    pub refund: Option<Decimal>,
    /// When it was created, as given.
    pub created_at: Option<String>,
    /// When it last changed, as given.
    pub updated_at: Option<String>,
    /// When it expires, as given.
    pub expires_at: Option<String>,
    /// The JSON object as received.
    pub raw: RawJson,
}

impl Order {
    /// Every code this order has received: `codes`, plus `code` if the server sent only that.
    pub fn all_codes(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.codes.iter().map(String::as_str).collect();
        if let Some(code) = &self.code
            && !all.contains(&code.as_str())
        {
            all.push(code);
        }
        all
    }
}

/// A registered webhook endpoint.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "wire::Webhook")]
#[non_exhaustive]
pub struct Webhook {
    /// Webhook id.
    pub id: String,
    /// Where deliveries go (the wire may call it `url`).
    pub endpoint_url: Option<String>,
    /// Subscribed events.
    pub events: Vec<String>,
    /// Whether deliveries are on.
    pub active: Option<bool>,
    /// When it was created, as given.
    pub created_at: Option<String>,
    /// The signing secret: only in the answer to `create_webhook`, redacted in `Debug`.
    pub secret: Option<WebhookSecret>,
    /// The JSON object as received, without the secret.
    pub raw: RawJson,
}

/// The answer to deleting a webhook.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct WebhookDeleted {
    /// The deleted webhook's id.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub id: Option<String>,
    /// Whether the server says it was deleted.
    #[serde(default = "yes", deserialize_with = "de::bool_or_true")]
    pub deleted: bool,
    /// The JSON object as received.
    #[serde(skip)]
    pub raw: RawJson,
}

fn yes() -> bool {
    true
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// How the server picks a pool when none is named.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub enum PricingOption {
    /// The cheapest pool (wire value 0).
    #[default]
    Cheapest,
    /// The pool with the best success rate (wire value 1).
    BestRate,
}

impl PricingOption {
    /// The wire value: 0 or 1.
    pub fn wire(self) -> u8 {
        match self {
            PricingOption::Cheapest => 0,
            PricingOption::BestRate => 1,
        }
    }

    /// The name: `"cheapest"` or `"best_rate"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PricingOption::Cheapest => "cheapest",
            PricingOption::BestRate => "best_rate",
        }
    }

    /// From the wire value 0 or 1.
    pub fn from_wire(value: i64) -> Result<PricingOption> {
        match value {
            0 => Ok(PricingOption::Cheapest),
            1 => Ok(PricingOption::BestRate),
            other => Err(Error::invalid(
                "pricing_option",
                format!("must be \"cheapest\", \"best_rate\", 0 or 1, got {other}"),
            )),
        }
    }
}

impl FromStr for PricingOption {
    type Err = Error;

    /// Accepts `cheapest`, `best_rate` (or `best-rate`, `bestrate`), `0` and `1`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cheapest" | "0" => Ok(PricingOption::Cheapest),
            "best_rate" | "best-rate" | "bestrate" | "1" => Ok(PricingOption::BestRate),
            _ => Err(Error::invalid(
                "pricing_option",
                format!("must be \"cheapest\", \"best_rate\", 0 or 1, got {s:?}"),
            )),
        }
    }
}

/// What to order. Build with [`OrderRequest::new`] and the setters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrderRequest {
    /// Service id (from `services`).
    pub service: String,
    /// Country code (from `countries`).
    pub country: String,
    /// A specific pool, if wanted.
    pub pool: Option<String>,
    /// How to pick a pool (sent only when set).
    pub pricing_option: Option<PricingOption>,
    /// Refuse to pay more than this.
    pub max_price: Option<Decimal>,
}

impl OrderRequest {
    /// An order for `service` in `country`.
    pub fn new(service: impl Into<String>, country: impl Into<String>) -> OrderRequest {
        OrderRequest {
            service: service.into(),
            country: country.into(),
            pool: None,
            pricing_option: None,
            max_price: None,
        }
    }

    /// Order from this pool.
    pub fn pool(mut self, pool: impl Into<String>) -> Self {
        self.pool = Some(pool.into());
        self
    }

    /// Pick the pool this way.
    pub fn pricing_option(mut self, option: PricingOption) -> Self {
        self.pricing_option = Some(option);
        self
    }

    /// Refuse to pay more than `price`.
    pub fn max_price(mut self, price: Decimal) -> Self {
        self.max_price = Some(price);
        self
    }
}

/// How [`Client::wait_for_code`](crate::Client::wait_for_code) waits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up after this long (default 300 s).
    pub timeout: Duration,
    /// Time between polls (default 3 s).
    pub poll_interval: Duration,
    /// Cancel the order (recovering the money) when the time is up.
    pub cancel_on_timeout: bool,
    /// Codes that do not count (already seen before a resend). Codes seen by this client's
    /// `resend_order` are added automatically.
    pub exclude_codes: Vec<String>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(300),
            poll_interval: Duration::from_secs(3),
            cancel_on_timeout: false,
            exclude_codes: Vec::new(),
        }
    }
}

impl WaitOptions {
    /// Give up after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Poll every `interval`.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Cancel the order when the time is up.
    pub fn cancel_on_timeout(mut self, cancel: bool) -> Self {
        self.cancel_on_timeout = cancel;
        self
    }

    /// Ignore these codes.
    pub fn exclude_codes(mut self, codes: impl IntoIterator<Item = String>) -> Self {
        self.exclude_codes.extend(codes);
        self
    }
}

/// The wire forms of the models whose fields have other names or shapes on the wire. Each
/// alias is its own optional field, so a body carrying both names decodes (serde's `alias`
/// would fail with "duplicate field"), and the documented name wins.
mod wire {
    use super::*;

    fn required<T>(value: Option<T>, field: &str) -> std::result::Result<T, String> {
        value.ok_or_else(|| format!("missing field `{field}`"))
    }

    #[derive(Deserialize)]
    pub(super) struct Country {
        #[serde(default, deserialize_with = "de::opt_id")]
        code: Option<String>,
        #[serde(default, deserialize_with = "de::opt_id")]
        id: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        name: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        iso: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        dial_code: Option<String>,
    }

    impl TryFrom<Country> for super::Country {
        type Error = String;
        fn try_from(w: Country) -> std::result::Result<Self, String> {
            Ok(super::Country {
                code: required(w.code.or(w.id), "code")?,
                name: w.name,
                iso: w.iso,
                dial_code: w.dial_code,
                raw: RawJson::default(),
            })
        }
    }

    #[derive(Deserialize)]
    pub(super) struct Service {
        #[serde(default, deserialize_with = "de::opt_id")]
        id: Option<String>,
        #[serde(default, deserialize_with = "de::opt_id")]
        code: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        name: Option<String>,
        #[serde(default, deserialize_with = "de::opt_money")]
        price: Option<Decimal>,
        #[serde(default, deserialize_with = "de::opt_u64")]
        available: Option<u64>,
    }

    impl TryFrom<Service> for super::Service {
        type Error = String;
        fn try_from(w: Service) -> std::result::Result<Self, String> {
            Ok(super::Service {
                id: required(w.id.or(w.code), "id")?,
                name: w.name,
                price: w.price,
                available: w.available,
                raw: RawJson::default(),
            })
        }
    }

    /// A pool: an object, or its id alone.
    pub(super) struct Pool(super::Pool);

    #[derive(Deserialize)]
    struct PoolObject {
        #[serde(default, deserialize_with = "de::opt_id")]
        id: Option<String>,
        #[serde(default, deserialize_with = "de::opt_money")]
        price: Option<Decimal>,
        #[serde(default, deserialize_with = "de::opt_u64")]
        available: Option<u64>,
        #[serde(default, deserialize_with = "de::opt_money")]
        success_rate: Option<Decimal>,
    }

    impl<'de> Deserialize<'de> for Pool {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            let raw = <&RawValue>::deserialize(d)?;
            let text = raw.get();
            let pool = if text.trim_start().starts_with('{') {
                let o: PoolObject = serde_json::from_str(text).map_err(D::Error::custom)?;
                super::Pool {
                    id: required(o.id, "id").map_err(D::Error::custom)?,
                    price: o.price,
                    available: o.available,
                    success_rate: o.success_rate,
                    raw: RawJson::default(),
                }
            } else {
                let id: Value = serde_json::from_str(text).map_err(D::Error::custom)?;
                super::Pool {
                    id: de::id(&id).map_err(D::Error::custom)?,
                    price: None,
                    available: None,
                    success_rate: None,
                    raw: RawJson::default(),
                }
            };
            Ok(Pool(pool))
        }
    }

    impl From<Pool> for super::Pool {
        fn from(w: Pool) -> Self {
            w.0
        }
    }

    #[derive(Deserialize)]
    pub(super) struct Order {
        #[serde(default, deserialize_with = "de::opt_id")]
        id: Option<String>,
        #[serde(default)]
        status: Option<OrderStatus>,
        #[serde(default, deserialize_with = "de::opt_string")]
        service: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        country: Option<String>,
        #[serde(default, deserialize_with = "de::opt_pool_id")]
        pool: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        phone: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        number: Option<String>,
        #[serde(default, deserialize_with = "de::opt_money")]
        price: Option<Decimal>,
        #[serde(default, deserialize_with = "de::opt_string")]
        code: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        otp: Option<String>,
        #[serde(default, deserialize_with = "de::string_list")]
        codes: Vec<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        sms: Option<String>,
        #[serde(default, deserialize_with = "de::opt_money")]
        refund: Option<Decimal>,
        #[serde(default, deserialize_with = "de::opt_string")]
        created_at: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        updated_at: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        expires_at: Option<String>,
    }

    impl TryFrom<Order> for super::Order {
        type Error = String;
        fn try_from(w: Order) -> std::result::Result<Self, String> {
            Ok(super::Order {
                id: required(w.id, "id")?,
                status: required(w.status, "status")?,
                service: w.service,
                country: w.country,
                pool: w.pool,
                phone: w.phone.or(w.number),
                price: w.price,
                code: w.code.or(w.otp),
                codes: w.codes,
                sms: w.sms,
                refund: w.refund,
                created_at: w.created_at,
                updated_at: w.updated_at,
                expires_at: w.expires_at,
                raw: RawJson::default(),
            })
        }
    }

    #[derive(Deserialize)]
    pub(super) struct Webhook {
        #[serde(default, deserialize_with = "de::opt_id")]
        id: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        endpoint_url: Option<String>,
        #[serde(default, deserialize_with = "de::opt_string")]
        url: Option<String>,
        #[serde(default, deserialize_with = "de::string_list")]
        events: Vec<String>,
        #[serde(default, deserialize_with = "de::opt_bool")]
        active: Option<bool>,
        #[serde(default, deserialize_with = "de::opt_string")]
        created_at: Option<String>,
        #[serde(default, deserialize_with = "de::opt_secret")]
        secret: Option<WebhookSecret>,
    }

    impl TryFrom<Webhook> for super::Webhook {
        type Error = String;
        fn try_from(w: Webhook) -> std::result::Result<Self, String> {
            Ok(super::Webhook {
                id: required(w.id, "id")?,
                endpoint_url: w.endpoint_url.or(w.url),
                events: w.events,
                active: w.active,
                created_at: w.created_at,
                secret: w.secret,
                raw: RawJson::default(),
            })
        }
    }
}

/// A model decoded from a JSON payload, keeping that payload in `raw`.
pub(crate) trait Model: DeserializeOwned {
    fn set_raw(&mut self, raw: RawJson);
}

/// A model read from its JSON text the way the client reads answers: aliases and other shapes
/// tolerated, money exact, `raw` keeping the text. For a binding that rebuilds a model (Python's
/// pickling) or a test that has a model's JSON.
pub trait FromJson: Sized {
    /// Reads one model from its JSON object.
    fn from_json(text: &str) -> Result<Self>;
}

impl<T: Model> FromJson for T {
    fn from_json(text: &str) -> Result<Self> {
        decode(text).map_err(|e| Error::invalid("json", format!("is not this model: {e}")))
    }
}

macro_rules! impl_model {
    ($($t:ty),*) => {$(
        impl Model for $t {
            fn set_raw(&mut self, raw: RawJson) {
                self.raw = raw;
            }
        }
    )*};
}
impl_model!(
    Account,
    Transaction,
    Country,
    Service,
    Pool,
    Price,
    Order,
    WebhookDeleted
);

impl Model for Webhook {
    fn set_raw(&mut self, raw: RawJson) {
        // The secret is returned once and kept only in `secret` (redacted in `Debug`). A key
        // spelled with escapes (`"secre\u0074"`) is the same key, so it is looked for too.
        self.raw = if raw.get().contains("secret") || raw.get().contains("\\u") {
            raw.without_key("secret")
        } else {
            raw
        };
    }
}

/// PHP's empty array stands for an empty object.
fn php_empty(text: &str) -> &str {
    let trimmed = text.trim();
    if trimmed.starts_with('[') && trimmed[1..].trim() == "]" {
        "{}"
    } else {
        text
    }
}

/// Decodes one model from its JSON text; `[]` counts as `{}` (PHP's empty array).
pub(crate) fn decode<T: Model>(text: &str) -> std::result::Result<T, String> {
    let raw: &RawValue = serde_json::from_str(php_empty(text)).map_err(|e| e.to_string())?;
    decode_raw(raw)
}

fn decode_raw<T: Model>(raw: &RawValue) -> std::result::Result<T, String> {
    // A derived struct also takes a JSON list, its items as the fields in order: never what a
    // server meant (the `webhook_event` fuzz target found it in the event decoder). `[]` was
    // read as `{}` before this, where it stands for one.
    if raw.get().trim_start().starts_with('[') {
        return Err("expected an object, got a list".to_owned());
    }
    let mut model: T = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    model.set_raw(RawJson::from_raw(raw));
    Ok(model)
}

/// The items of a list as the API may give it: a list, `{}` or `null` for none, or an object
/// whose values are the items (PHP's associative arrays).
struct Items<'a>(Vec<&'a RawValue>);

impl<'de> Deserialize<'de> for Items<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Items<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element::<&'de RawValue>()? {
                    items.push(item);
                }
                Ok(Items(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some((_, item)) =
                    map.next_entry::<serde::de::IgnoredAny, &'de RawValue>()?
                {
                    if !item.get().trim_start().starts_with('{') {
                        return Err(A::Error::custom("expected a list, got an object"));
                    }
                    items.push(item);
                }
                Ok(Items(items))
            }
            fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(Items(Vec::new()))
            }
            fn visit_none<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(Items(Vec::new()))
            }
            fn visit_some<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Decodes a list of models from its JSON text; `{}` and `null` count as `[]`, and an object
/// of objects is taken by value.
pub(crate) fn decode_list<T: Model>(text: &str) -> std::result::Result<Vec<T>, String> {
    let items: Items<'_> = serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            format!("expected a list ({e})")
        } else {
            e.to_string()
        }
    })?;
    items.0.into_iter().map(decode_raw).collect()
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// An exact decimal from a JSON value's text: a number's own digits or a string's content
/// (`0.50`, `"24.50"`, `1e-2`).
pub(crate) fn money_from_json(text: &str) -> std::result::Result<Decimal, String> {
    let text = text.trim();
    let digits = if text.starts_with('"') {
        let s: String = serde_json::from_str(text).map_err(|e| e.to_string())?;
        s.trim().to_owned()
    } else if text.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
        text.to_owned()
    } else {
        let shape = serde_json::from_str::<Value>(text)
            .map(|v| type_name(&v))
            .unwrap_or("not JSON");
        return Err(format!("expected money, got {shape}"));
    };
    Decimal::from_str(&digits)
        .or_else(|_| Decimal::from_scientific(&digits))
        .map_err(|_| format!("{digits:?} is not a decimal amount"))
}

/// Parses an exact decimal from a JSON number or string (`"0.50"`, `24.5`, `1e-2`). A number
/// in a [`Value`] is exact only with serde_json's `arbitrary_precision`; the SDK itself reads
/// money from the response text.
pub fn parse_money(value: &Value) -> std::result::Result<Decimal, String> {
    match value {
        Value::String(_) | Value::Number(_) => money_from_json(&value.to_string()),
        other => Err(format!("expected money, got {}", type_name(other))),
    }
}

/// Field decoders shared by the models.
mod de {
    use super::*;

    fn scalar_string(v: Value) -> Option<Option<String>> {
        match v {
            Value::Null => Some(None),
            Value::String(s) => Some(Some(s)),
            Value::Number(n) => Some(Some(n.to_string())),
            // PHP's `false` stands for "none" (`"code": false`), never for the text "false".
            Value::Bool(_) => Some(None),
            _ => None,
        }
    }

    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match scalar_string(Value::deserialize(d)?) {
            Some(Some(s)) if !s.is_empty() => Ok(s),
            _ => Err(D::Error::custom("expected an id (a string or a number)")),
        }
    }

    /// An id that may be absent (`null`, `false`, `""` count as absent; other shapes fail).
    pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match scalar_string(Value::deserialize(d)?) {
            Some(id) => Ok(id.filter(|s| !s.is_empty())),
            None => Err(D::Error::custom("expected an id (a string or a number)")),
        }
    }

    /// A pool named by its id, or given as an object whose `id` names it.
    pub fn opt_pool_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Object(map) => map
                .get("id")
                .cloned()
                .and_then(|v| scalar_string(v).flatten()),
            other => scalar_string(other).flatten(),
        }
        .filter(|s| !s.is_empty()))
    }

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        // Objects and lists where a string belongs are left in `raw` rather than failing.
        Ok(scalar_string(Value::deserialize(d)?).flatten())
    }

    pub fn opt_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WebhookSecret>, D::Error> {
        Ok(opt_string(d)?
            .filter(|s| !s.is_empty())
            .map(WebhookSecret::new))
    }

    /// Money from the value's own text: a float would lose digits.
    pub fn money<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let raw = <&RawValue>::deserialize(d)?;
        money_from_json(raw.get()).map_err(D::Error::custom)
    }

    pub fn opt_money<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        let raw = <&RawValue>::deserialize(d)?;
        let text = raw.get().trim();
        if text == "null" || text == "false" || text.trim_matches(['"', ' ']).is_empty() {
            return Ok(None);
        }
        money_from_json(text).map(Some).map_err(D::Error::custom)
    }

    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    }

    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => Some(b),
            Value::Number(n) => n.as_i64().map(|i| i != 0),
            Value::String(s) => match s.as_str() {
                "1" | "true" => Some(true),
                "0" | "false" | "" => Some(false),
                _ => None,
            },
            _ => None,
        })
    }

    pub fn bool_or_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(opt_bool(d)?.unwrap_or(true))
    }

    pub fn object<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Object(map) => Value::Object(map),
            _ => Value::Object(Default::default()),
        })
    }

    pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|v| scalar_string(v).flatten())
                .collect(),
            Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        })
    }

    pub fn list<'de, D: Deserializer<'de>, T: Model>(d: D) -> Result<Vec<T>, D::Error> {
        let raw = <&RawValue>::deserialize(d)?;
        decode_list(raw.get()).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Decodes from a value's JSON text, as the client does from a body.
    fn dec<T: Model>(value: Value) -> std::result::Result<T, String> {
        decode(&value.to_string())
    }

    #[test]
    fn money_is_exact_from_numbers_and_strings() {
        let v: Value = serde_json::from_str("0.1").expect("json");
        assert_eq!(parse_money(&v).ok(), Decimal::from_str("0.1").ok());
        assert_eq!(
            parse_money(&json!("24.50")).ok(),
            Decimal::from_str("24.50").ok()
        );
        let v: Value = serde_json::from_str("1e-2").expect("json");
        assert_eq!(parse_money(&v).ok(), Decimal::from_str("0.01").ok());
        assert!(parse_money(&json!(true)).is_err());
    }

    #[test]
    fn money_is_read_from_the_numbers_own_digits() {
        let amount = |json: &str| -> Decimal {
            decode::<Transaction>(&format!(r#"{{"id": 1, "amount": {json}}}"#))
                .expect("decodes")
                .amount
        };
        // As floats, 0.1 + 0.2 is 0.30000000000000004.
        assert_eq!(
            amount("0.1") + amount("0.2"),
            Decimal::from_str("0.3").expect("decimal")
        );
        assert_eq!(amount("0.50").to_string(), "0.50", "the scale is kept");
        assert_eq!(amount(r#""-24.50""#).to_string(), "-24.50");
        assert_eq!(amount("1e-2").to_string(), "0.01");
        // 30 digits: as many as a Decimal holds (28 after the point), where a float keeps 17;
        // `raw` keeps all 30.
        let long = "0.123456789012345678901234567890";
        let t: Transaction = decode(&format!(r#"{{"id": 1, "amount": {long}}}"#)).expect("decodes");
        assert_eq!(t.amount.to_string(), "0.1234567890123456789012345679");
        assert!(t.raw.get().contains(long));
        let big = "12345678901234567890123456.78";
        assert_eq!(amount(big).to_string(), big);
    }

    #[test]
    fn order_decoding_is_tolerant() {
        let raw: Value = serde_json::from_str(
            r#"{"id": 5001, "status": "on_hold", "price": 0.5, "code": 123456, "extra": [1]}"#,
        )
        .expect("json");
        let order: Order = dec(raw.clone()).expect("decodes");
        assert_eq!(order.id, "5001");
        assert_eq!(order.status, OrderStatus::Other("on_hold".into()));
        assert_eq!(order.price, Decimal::from_str("0.5").ok());
        assert_eq!(order.code.as_deref(), Some("123456"));
        assert_eq!(order.raw.to_value(), raw);
    }

    #[test]
    fn php_false_is_no_value() {
        let order: Order =
            dec(json!({"id": 1, "status": "pending", "code": false, "phone": false}))
                .expect("decodes");
        assert_eq!((order.code, order.phone), (None, None));
    }

    #[test]
    fn webhook_secret_stays_out_of_raw_and_debug() {
        let hook: Webhook =
            dec(json!({"id": 1, "secret": "whsec_abc", "events": "a,b"})).expect("decodes");
        assert_eq!(hook.events, vec!["a", "b"]);
        assert!(hook.raw.to_value().get("secret").is_none());
        // The rest stays as it came, in its order.
        let hook: Webhook =
            decode(r#"{"id":1,"secret":"whsec_abc","url":"u","active":true}"#).expect("decodes");
        assert_eq!(hook.raw.get(), r#"{"id":1,"url":"u","active":true}"#);
        assert!(!format!("{hook:?}").contains("whsec_abc"));
        assert_eq!(hook.secret.as_ref().map(|s| s.expose()), Some("whsec_abc"));
        // The key spelled with an escape is the same key: it leaves `raw` too.
        let hook: Webhook =
            decode(r#"{"id":1,"secre\u0074":"whsec_abcdef","url":"u"}"#).expect("decodes");
        assert_eq!(hook.raw.get(), r#"{"id":1,"url":"u"}"#);
        assert!(!format!("{hook:?}").contains("whsec_abcdef"));
        assert_eq!(
            hook.secret.as_ref().map(|s| s.expose()),
            Some("whsec_abcdef")
        );
    }

    #[test]
    fn documented_name_wins_over_its_alias() {
        let country: Country =
            dec(json!({"id": 187, "code": "cty_us", "name": "US"})).expect("decodes");
        assert_eq!(country.code, "cty_us");
        let only_alias: Country = dec(json!({"id": 187})).expect("decodes");
        assert_eq!(only_alias.code, "187");
        let order: Order = dec(json!({"id": 1, "status": "received", "phone": "+1555",
            "number": "+9999", "code": "123456", "otp": "000000"}))
        .expect("decodes");
        assert_eq!(order.phone.as_deref(), Some("+1555"));
        assert_eq!(order.code.as_deref(), Some("123456"));
        let order: Order = dec(json!({"id": 1, "status": "received", "otp": 42, "number": 5550}))
            .expect("decodes");
        assert_eq!(
            (order.code.as_deref(), order.phone.as_deref()),
            (Some("42"), Some("5550"))
        );
        let hook: Webhook = dec(json!({"id": 1, "url": "https://b", "endpoint_url": "https://a"}))
            .expect("decodes");
        assert_eq!(hook.endpoint_url.as_deref(), Some("https://a"));
        let service: Service = dec(json!({"code": "svc_x", "id": "svc_y"})).expect("decodes");
        assert_eq!(service.id, "svc_y");
        assert!(dec::<Country>(json!({"name": "nowhere"})).is_err());
    }

    #[test]
    fn pools_as_ids_or_objects() {
        let price: Price = dec(json!({"price": "0.50", "pools": ["pool_a", 7]})).expect("decodes");
        let ids: Vec<&str> = price.pools.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["pool_a", "7"]);
        assert_eq!(price.pools[0].price, None);
        assert_eq!(price.pools[0].raw.get(), r#""pool_a""#);
        let price: Price = dec(json!({"price": 1, "pools": [{"id": "pool_b", "price": "0.70"}]}))
            .expect("decodes");
        assert_eq!(price.pools[0].price, Decimal::from_str("0.70").ok());
        let order: Order =
            dec(json!({"id": 1, "status": "pending", "pool": {"id": "pool_c", "price": 1}}))
                .expect("decodes");
        assert_eq!(order.pool.as_deref(), Some("pool_c"));
    }

    /// (documented name, alias) pairs of one model.
    type Aliases = &'static [(&'static str, &'static str)];

    /// Each model's documented sample, and its aliases.
    fn samples() -> Vec<(&'static str, Value, Aliases)> {
        vec![
            (
                "account",
                json!({"user_id": 1, "email": "a@example.com", "balance": "25.00",
                "currency": "USD", "plan": "starter", "usage": {"orders_today": 0}}),
                &[],
            ),
            (
                "transaction",
                json!({"id": 1001, "type": "order", "amount": "-0.50",
                "balance_after": "24.50", "description": "Order 5001", "order_id": 5001,
                "created_at": "2026-11-26T08:00:00Z"}),
                &[],
            ),
            (
                "country",
                json!({"code": "cty_us", "name": "United States", "iso": "US",
                "dial_code": "+1"}),
                &[("code", "id")],
            ),
            (
                "service",
                json!({"id": "svc_telegram", "name": "Telegram", "price": "0.50",
                "available": 120}),
                &[("id", "code")],
            ),
            (
                "pool",
                json!({"id": "pool_a", "price": "0.50", "available": 80,
                "success_rate": "0.91"}),
                &[],
            ),
            (
                "price",
                json!({"service": "svc_telegram", "country": "cty_us", "price": "0.50",
                "currency": "USD", "available": 120, "pools": [{"id": "pool_a", "price": "0.50"}]}),
                &[],
            ),
            (
                "order",
                json!({"id": 5001, "status": "received", "service": "svc_telegram",
                "country": "cty_us", "pool": "pool_a", "phone": "+15550100001", "price": "0.50",
                "code": "123456", "codes": ["123456"], "sms": "Your code is 123456",
                "created_at": "2026-11-26T08:00:00Z", "updated_at": "2026-11-26T08:00:02Z",
                "expires_at": "2026-11-26T08:20:00Z"}),
                &[("phone", "number"), ("code", "otp")],
            ),
            (
                "webhook",
                json!({"id": 7, "endpoint_url": "https://example.com/hook",
                "events": ["order.code_received"], "active": true,
                "created_at": "2026-11-26T08:00:00Z"}),
                &[("endpoint_url", "url")],
            ),
            ("webhook_deleted", json!({"id": 7, "deleted": true}), &[]),
        ]
    }

    /// Decodes `value` as the model `name`, with `raw` cleared, as comparable debug text.
    fn decoded(name: &str, value: Value) -> std::result::Result<String, String> {
        fn norm<T: Model + fmt::Debug>(
            value: Value,
            clear: fn(&mut T),
        ) -> std::result::Result<String, String> {
            let mut model: T = dec(value)?;
            clear(&mut model);
            Ok(format!("{model:?}"))
        }
        match name {
            "account" => norm::<Account>(value, |m| m.raw = RawJson::default()),
            "transaction" => norm::<Transaction>(value, |m| m.raw = RawJson::default()),
            "country" => norm::<Country>(value, |m| m.raw = RawJson::default()),
            "service" => norm::<Service>(value, |m| m.raw = RawJson::default()),
            "pool" => norm::<Pool>(value, |m| m.raw = RawJson::default()),
            "price" => norm::<Price>(value, |m| {
                m.raw = RawJson::default();
                m.pools.iter_mut().for_each(|p| p.raw = RawJson::default());
            }),
            "order" => norm::<Order>(value, |m| m.raw = RawJson::default()),
            "webhook" => norm::<Webhook>(value, |m| m.raw = RawJson::default()),
            "webhook_deleted" => norm::<WebhookDeleted>(value, |m| m.raw = RawJson::default()),
            other => Err(format!("no model {other}")),
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            "[a-z0-9 _.]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{1,6}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any superset of a model's documented fields decodes to the same values: extra fields
        /// of any shape are ignored, and an alias next to its documented name loses.
        #[test]
        fn supersets_decode_the_same(
            extras in proptest::collection::btree_map("x_[a-z0-9_]{1,8}", any_json(), 0..6),
            alias_values in proptest::collection::vec(
                prop_oneof![
                    "[a-z0-9_+]{1,10}".prop_map(Value::String),
                    any::<u32>().prop_map(Value::from),
                ],
                2,
            ),
            with_alias in proptest::collection::vec(any::<bool>(), 2),
        ) {
            for (name, sample, aliases) in samples() {
                let want = decoded(name, sample.clone()).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
                let mut bigger = sample.as_object().cloned().unwrap_or_default();
                for (key, value) in &extras {
                    bigger.insert(key.clone(), value.clone());
                }
                for (i, (_, alias)) in aliases.iter().enumerate() {
                    if with_alias[i] {
                        bigger.insert((*alias).to_owned(), alias_values[i].clone());
                    }
                }
                let got = decoded(name, Value::Object(bigger)).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
                prop_assert_eq!(got, want, "{}", name);
            }
        }
    }

    #[test]
    fn empty_list_is_empty_object() {
        let account: Result<Account, _> = dec(json!({"balance": "1.00", "usage": []}));
        assert_eq!(account.map(|a| a.usage), Ok(json!({})));
        // Found by the `models` fuzz target: absent, `usage` was `null`, not the `{}` documented.
        let account: Result<Account, _> = dec(json!({"balance": "1.00"}));
        assert_eq!(account.map(|a| a.usage), Ok(json!({})));
    }

    #[test]
    fn a_list_is_not_a_model() {
        assert!(decode::<Account>(r#"[1, "a@example.com", "25.00"]"#).is_err());
        assert!(decode::<Order>(r#"[5001, "pending"]"#).is_err());
        assert!(decode_list::<Order>(r#"[[5001, "pending"]]"#).is_err());
        assert!(decode::<WebhookDeleted>("[]").is_ok());
        let price: Price = decode(r#"{"price": "0.50", "pools": ["pool_a"]}"#).expect("decodes");
        assert_eq!(price.pools[0].id, "pool_a");
    }
}
