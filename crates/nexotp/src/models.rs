//! Typed models of the API's payloads.
//!
//! Decoding is tolerant by design (see `spec/contract.md`): ids may be numbers or strings and
//! become strings, money may be a JSON number or a string and is decoded exactly into
//! [`Decimal`] (never through a float), an empty object may arrive as `[]`, and every model keeps
//! the decoded JSON object in `raw`, so fields this SDK does not know yet are never lost.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
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
    #[serde(default, deserialize_with = "de::object")]
    pub usage: Value,
    /// The decoded JSON object.
    #[serde(skip)]
    pub raw: Value,
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
    /// The decoded JSON object.
    #[serde(skip)]
    pub raw: Value,
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
#[non_exhaustive]
pub struct Country {
    /// The code to pass to other calls (e.g. `"cty_us"`).
    #[serde(alias = "id", deserialize_with = "de::id")]
    pub code: String,
    /// Display name.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub name: Option<String>,
    /// ISO 3166 code, when given.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub iso: Option<String>,
    /// Dialling prefix, when given.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub dial_code: Option<String>,
    /// The decoded JSON object.
    #[serde(skip)]
    pub raw: Value,
}

/// A service (the site that sends the code) available in a country.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Service {
    /// The id to pass to other calls (e.g. `"svc_telegram"`).
    #[serde(alias = "code", deserialize_with = "de::id")]
    pub id: String,
    /// Display name.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub name: Option<String>,
    /// Lowest price in this country, when given.
    #[serde(default, deserialize_with = "de::opt_money")]
    pub price: Option<Decimal>,
    /// Numbers in stock, when given.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub available: Option<u64>,
    /// The decoded JSON object.
    #[serde(skip)]
    pub raw: Value,
}

/// A supply pool offering numbers for a service and country.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Pool {
    /// Pool id (pass it as `pool` when ordering).
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    /// Price in this pool.
    #[serde(default, deserialize_with = "de::opt_money")]
    pub price: Option<Decimal>,
    /// Numbers in stock.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub available: Option<u64>,
    /// Share of orders that receive a code (0–1), when given.
    #[serde(default, deserialize_with = "de::opt_money")]
    pub success_rate: Option<Decimal>,
    /// The decoded JSON object.
    #[serde(skip)]
    pub raw: Value,
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
    /// The decoded JSON object.
    #[serde(skip)]
    pub raw: Value,
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
#[non_exhaustive]
pub struct Order {
    /// Order id.
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    /// Current state.
    pub status: OrderStatus,
    /// Service id.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub service: Option<String>,
    /// Country code.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub country: Option<String>,
    /// Pool the number came from.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub pool: Option<String>,
    /// The phone number to give the service.
    #[serde(default, alias = "number", deserialize_with = "de::opt_string")]
    pub phone: Option<String>,
    /// Price paid.
    #[serde(default, deserialize_with = "de::opt_money")]
    pub price: Option<Decimal>,
    /// The latest code, once one arrived.
    #[serde(default, alias = "otp", deserialize_with = "de::opt_string")]
    pub code: Option<String>,
    /// Every code received so far, oldest first.
    #[serde(default, deserialize_with = "de::string_list")]
    pub codes: Vec<String>,
    /// The SMS text, when given.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub sms: Option<String>,
    /// Amount refunded (after a cancel or expiry), when given.
    #[serde(default, deserialize_with = "de::opt_money")]
    pub refund: Option<Decimal>,
    /// When it was created, as given.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub created_at: Option<String>,
    /// When it last changed, as given.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub updated_at: Option<String>,
    /// When it expires, as given.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub expires_at: Option<String>,
    /// The decoded JSON object.
    #[serde(skip)]
    pub raw: Value,
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
#[non_exhaustive]
pub struct Webhook {
    /// Webhook id.
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    /// Where deliveries go.
    #[serde(default, alias = "url", deserialize_with = "de::opt_string")]
    pub endpoint_url: Option<String>,
    /// Subscribed events.
    #[serde(default, deserialize_with = "de::string_list")]
    pub events: Vec<String>,
    /// Whether deliveries are on.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub active: Option<bool>,
    /// When it was created, as given.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub created_at: Option<String>,
    /// The signing secret: only in the answer to `create_webhook`, redacted in `Debug`.
    #[serde(default, deserialize_with = "de::opt_secret")]
    pub secret: Option<WebhookSecret>,
    /// The decoded JSON object, without the secret.
    #[serde(skip)]
    pub raw: Value,
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
    /// The decoded JSON object.
    #[serde(skip)]
    pub raw: Value,
}

fn yes() -> bool {
    true
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

/// A model decoded from a JSON payload, keeping that payload in `raw`.
pub(crate) trait Model: DeserializeOwned {
    fn set_raw(&mut self, raw: Value);
}

macro_rules! impl_model {
    ($($t:ty),*) => {$(
        impl Model for $t {
            fn set_raw(&mut self, raw: Value) {
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
    fn set_raw(&mut self, mut raw: Value) {
        if let Value::Object(map) = &mut raw {
            map.remove("secret");
        }
        self.raw = raw;
    }
}

/// Decodes one model; `[]` counts as `{}` (PHP's empty array).
pub(crate) fn decode<T: Model>(value: Value) -> std::result::Result<T, String> {
    let value = match value {
        Value::Array(a) if a.is_empty() => Value::Object(Default::default()),
        other => other,
    };
    let mut model = T::deserialize(&value).map_err(|e| e.to_string())?;
    model.set_raw(value);
    Ok(model)
}

/// Decodes a list of models; `{}` counts as `[]`, and an object of objects is taken by value.
pub(crate) fn decode_list<T: Model>(value: Value) -> std::result::Result<Vec<T>, String> {
    let items = match value {
        Value::Array(items) => items,
        Value::Object(map) if map.is_empty() => Vec::new(),
        Value::Object(map) if map.values().all(Value::is_object) => {
            map.into_iter().map(|(_, v)| v).collect()
        }
        Value::Null => Vec::new(),
        other => return Err(format!("expected a list, got {}", type_name(&other))),
    };
    items.into_iter().map(decode).collect()
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

/// Parses an exact decimal from a JSON number or string (`"0.50"`, `24.5`, `1e-2`).
pub fn parse_money(value: &Value) -> std::result::Result<Decimal, String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("expected money, got {}", type_name(other))),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| format!("{text:?} is not a decimal amount"))
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

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        // Objects and lists where a string belongs are left in `raw` rather than failing.
        Ok(scalar_string(Value::deserialize(d)?).flatten())
    }

    pub fn opt_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WebhookSecret>, D::Error> {
        Ok(opt_string(d)?
            .filter(|s| !s.is_empty())
            .map(WebhookSecret::new))
    }

    pub fn money<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        parse_money(&Value::deserialize(d)?).map_err(D::Error::custom)
    }

    pub fn opt_money<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            v => parse_money(&v).map(Some).map_err(D::Error::custom),
        }
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
        decode_list(Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn order_decoding_is_tolerant() {
        let raw: Value = serde_json::from_str(
            r#"{"id": 5001, "status": "on_hold", "price": 0.5, "code": 123456, "extra": [1]}"#,
        )
        .expect("json");
        let order: Order = decode(raw.clone()).expect("decodes");
        assert_eq!(order.id, "5001");
        assert_eq!(order.status, OrderStatus::Other("on_hold".into()));
        assert_eq!(order.price, Decimal::from_str("0.5").ok());
        assert_eq!(order.code.as_deref(), Some("123456"));
        assert_eq!(order.raw, raw);
    }

    #[test]
    fn php_false_is_no_value() {
        let order: Order =
            decode(json!({"id": 1, "status": "pending", "code": false, "phone": false}))
                .expect("decodes");
        assert_eq!((order.code, order.phone), (None, None));
    }

    #[test]
    fn webhook_secret_stays_out_of_raw_and_debug() {
        let hook: Webhook =
            decode(json!({"id": 1, "secret": "whsec_abc", "events": "a,b"})).expect("decodes");
        assert_eq!(hook.events, vec!["a", "b"]);
        assert!(hook.raw.get("secret").is_none());
        assert!(!format!("{hook:?}").contains("whsec_abc"));
        assert_eq!(hook.secret.as_ref().map(|s| s.expose()), Some("whsec_abc"));
    }

    #[test]
    fn empty_list_is_empty_object() {
        let account: Result<Account, _> = decode(json!({"balance": "1.00", "usage": []}));
        assert_eq!(account.map(|a| a.usage), Ok(json!({})));
    }
}
