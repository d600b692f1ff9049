//! How an error crosses into JS.
//!
//! napi can only reject with a plain `Error` (a status and a message), so the message carries a
//! JSON document: `{"nexotp": "<class name>", "message": ..., <fields>}`. The class name is the
//! stable code per error kind ([`nexotp::ErrorKind::class_name`], plus `AbortError` and
//! `NexOTPError` for a panic); `errors.js` parses it and throws the matching `Error` subclass
//! with `status`, `code`, `requestId`, `retryAfterMs`, `order`, ... as properties. Nothing here
//! ever holds the API key or a webhook secret: the core's errors do not carry them.

use std::str::FromStr;

use nexotp::{Error, Operation, SentCall};
use serde_json::{Map, Value, json};

use crate::models;

/// An error on its way to JS.
#[derive(Debug)]
pub enum NativeError {
    /// An error from the core.
    Core(Error),
    /// A JS value that cannot be converted to the Rust type (caught here, not in the core).
    Invalid {
        /// The argument's JS name.
        argument: &'static str,
        /// What it must be.
        rule: String,
    },
    /// The wait was cancelled through its handle (an `AbortSignal` fired).
    Aborted,
    /// A failure with no core error behind it (the embedded sandbox's start and control
    /// operations): a plain `NexOTPError` with this message.
    Failed(String),
}

impl From<Error> for NativeError {
    fn from(e: Error) -> Self {
        NativeError::Core(e)
    }
}

impl NativeError {
    /// A conversion failure for `argument`.
    pub fn invalid(argument: &'static str, rule: impl Into<String>) -> NativeError {
        NativeError::Invalid {
            argument,
            rule: rule.into(),
        }
    }
}

/// The argument names of the core (Rust spelling) as a Node caller writes them.
fn js_argument(argument: &str) -> &str {
    match argument {
        "api_key" => "apiKey",
        "base_url" => "baseUrl",
        "timeout" => "timeoutMs",
        "connect_timeout" => "connectTimeoutMs",
        "poll_interval" => "pollIntervalMs",
        "max_retries" => "maxRetries",
        "per_page" => "perPage",
        "max_price" => "maxPrice",
        "pricing_option" => "pricingOption",
        "endpoint_url" => "endpointUrl",
        "bucket_limit" => "bucketLimit",
        "deadline" => "deadlineMs",
        "max_connections_per_host" => "maxConnections",
        "pool_max_idle_per_host" => "maxIdleConnections",
        "pool_idle_timeout" => "poolIdleTimeoutMs",
        "ca_certificates" => "caCertificates",
        "tls_roots" => "tlsRoots",
        other => other,
    }
}

fn invalid_payload(argument: &str, rule: &str) -> Map<String, Value> {
    let argument = js_argument(argument);
    let mut map = Map::new();
    map.insert("nexotp".into(), json!("InvalidArgumentError"));
    map.insert(
        "message".into(),
        json!(format!("invalid argument `{argument}`: {rule}")),
    );
    map.insert("argument".into(), json!(argument));
    map.insert("rule".into(), json!(rule));
    map.insert("retryable".into(), json!(false));
    map
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v);
    }
}

fn millis(d: std::time::Duration) -> Value {
    json!(d.as_secs_f64() * 1000.0)
}

/// The JSON document describing `error` (see the module docs).
pub fn payload(error: &NativeError) -> Map<String, Value> {
    let e = match error {
        NativeError::Invalid { argument, rule } => return invalid_payload(argument, rule),
        NativeError::Aborted => {
            let mut map = Map::new();
            map.insert("nexotp".into(), json!("AbortError"));
            map.insert("message".into(), json!("the operation was aborted"));
            map.insert("retryable".into(), json!(false));
            return map;
        }
        NativeError::Failed(message) => {
            let mut map = Map::new();
            map.insert("nexotp".into(), json!("NexOTPError"));
            map.insert("message".into(), json!(message));
            map.insert("retryable".into(), json!(false));
            return map;
        }
        NativeError::Core(e) => e,
    };
    if let Error::InvalidArgument { argument, rule } = e {
        return invalid_payload(argument, rule);
    }
    let mut map = Map::new();
    map.insert("nexotp".into(), json!(e.kind().class_name()));
    map.insert("message".into(), json!(e.to_string()));
    map.insert("retryable".into(), json!(e.is_retryable()));
    put(&mut map, "status", e.status().map(|s| json!(s)));
    put(&mut map, "code", e.code().map(|c| json!(c)));
    put(&mut map, "requestId", e.request_id().map(|r| json!(r)));
    put(&mut map, "retryAfterMs", e.retry_after().map(millis));
    if let Some(api) = e.api_error() {
        put(&mut map, "bucket", api.bucket.map(|b| json!(b.to_string())));
        if !api.params.is_empty() {
            map.insert("params".into(), json!(api.params));
        }
        if !api.details.is_null() {
            map.insert("details".into(), api.details.clone());
        }
        if !api.body.is_null() {
            map.insert("body".into(), api.body.clone());
        }
    }
    match e {
        Error::UnexpectedResponse { snippet, .. } => {
            map.insert("snippet".into(), json!(snippet));
        }
        Error::OrderOutcomeUnknown(o) => sent_call_fields(&mut map, &o.call),
        Error::WaitTimeout {
            order_id,
            waited,
            cancelled,
            ..
        } => {
            map.insert("orderId".into(), json!(order_id));
            map.insert("waitedMs".into(), millis(*waited));
            map.insert("cancelled".into(), json!(cancelled));
        }
        _ => {}
    }
    if let Some(order) = e.order()
        && let Ok(value) = serde_json::to_value(models::Order::from(order))
    {
        map.insert("order".into(), value);
    }
    map
}

/// The JS name of an operation: the client method that made the call.
pub fn operation_name(operation: Operation) -> &'static str {
    match operation {
        Operation::CreateOrder => "createOrder",
        Operation::ResendOrder => "resendOrder",
        Operation::CreateWebhook => "createWebhook",
        other => other.as_str(),
    }
}

/// [`operation_name`] read back (the core's snake_case names are accepted too).
pub fn operation_from_name(name: &str) -> Result<Operation, NativeError> {
    Ok(match name {
        "createOrder" => Operation::CreateOrder,
        "resendOrder" => Operation::ResendOrder,
        "createWebhook" => Operation::CreateWebhook,
        other => Operation::from_str(other)?,
    })
}

/// The fields of an `OrderOutcomeUnknownError`: every field of the core's `SentCall`, which
/// [`crate::client::SentCallInput`] carries back for `reconcile`.
fn sent_call_fields(map: &mut Map<String, Value>, call: &SentCall) {
    map.insert("operation".into(), json!(operation_name(call.operation)));
    put(map, "service", call.service.as_ref().map(|s| json!(s)));
    put(map, "country", call.country.as_ref().map(|s| json!(s)));
    put(map, "pool", call.pool.as_ref().map(|s| json!(s)));
    put(
        map,
        "maxPrice",
        call.max_price.map(|d| json!(d.to_string())),
    );
    put(map, "orderId", call.order_id.as_ref().map(|s| json!(s)));
    map.insert("codesBefore".into(), json!(call.codes_before));
    put(
        map,
        "statusBefore",
        call.status_before.as_ref().map(|s| json!(s.as_str())),
    );
    put(
        map,
        "endpointUrl",
        call.endpoint_url.as_ref().map(|s| json!(s)),
    );
    map.insert("events".into(), json!(call.events));
    map.insert(
        "sentAtMs".into(),
        json!(nexotp::args::unix_millis(call.sent_at)),
    );
    map.insert(
        "failedAtMs".into(),
        json!(nexotp::args::unix_millis(call.failed_at)),
    );
}

/// [`payload`] as JSON text.
pub fn payload_text(error: NativeError) -> String {
    Value::Object(payload(&error)).to_string()
}

/// The napi error carrying [`payload`].
pub fn to_napi(error: NativeError) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, payload_text(error))
}

/// The JSON payload of a panic inside the addon (a `NexOTPError`).
pub fn panic_payload(message: &str) -> String {
    json!({
        "nexotp": "NexOTPError",
        "message": format!("internal error in the nexotp native addon (a Rust panic): {message}"),
        "panic": true,
        "retryable": false,
    })
    .to_string()
}

/// A panic inside the addon, as a `NexOTPError`.
pub fn panic(message: String) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, panic_payload(&message))
}
