//! Webhook signatures: verify a delivery, or sign one for your own tests.
//!
//! Scheme (`spec/contract.md`): header `X-NexOTP-Signature: t=<unix seconds>,v1=<hex>` where
//! `v1 = HMAC-SHA256(secret, "<t>.<raw body>")`. Several `v1` entries may appear while a secret
//! is rotated; one match is enough. Comparison is constant-time, and the timestamp must be
//! within the tolerance in both directions so a captured delivery cannot be replayed later.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::models::{self, Order, RawJson};

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-NexOTP-Signature";
/// The default tolerance between the signature's timestamp and now.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// Header values longer than this are refused before parsing.
const MAX_HEADER_LEN: usize = 8 * 1024;

type HmacSha256 = Hmac<Sha256>;

/// A webhook signing secret. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Arc<str>);

impl WebhookSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> WebhookSecret {
        WebhookSecret(Arc::from(secret.into()))
    }

    /// The secret itself. Store it safely; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A verified webhook delivery.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// Event id (`evt_...`).
    pub id: String,
    /// Event type, e.g. `order.code_received`.
    pub kind: String,
    /// When the event was created (unix seconds), when given.
    pub created_at: Option<i64>,
    /// The event's `data` as given (JSON text; [`RawJson::to_value`] parses it).
    pub data: RawJson,
    /// `data` decoded as an order, when it is one.
    pub order: Option<Order>,
    /// The whole body as received.
    pub raw: RawJson,
}

/// A parsed `X-NexOTP-Signature` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The `t=` timestamp (unix seconds).
    pub timestamp: i64,
    /// Every `v1=` signature, decoded.
    pub signatures: Vec<Vec<u8>>,
}

fn fail(message: impl Into<String>) -> Error {
    Error::WebhookVerification {
        message: message.into(),
    }
}

/// Parses `t=<unix>,v1=<hex>[,v1=<hex>...]`; unknown schemes (`v0=`, `v2=`) are skipped.
pub fn parse_signature_header(header: &str) -> Result<SignatureHeader> {
    let header = header.trim();
    if header.is_empty() {
        return Err(fail(format!(
            "the {SIGNATURE_HEADER} header is missing or empty (pass the header's value, not the body)"
        )));
    }
    if header.len() > MAX_HEADER_LEN {
        return Err(fail(format!("the {SIGNATURE_HEADER} header is too long")));
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key.trim() {
            "t" => {
                let t = value.trim().parse::<i64>().map_err(|_| {
                    fail(format!(
                        "the t= timestamp {value:?} is not a whole number of seconds"
                    ))
                })?;
                timestamp = Some(t);
            }
            "v1" => {
                if let Ok(sig) = hex::decode(value.trim()) {
                    signatures.push(sig);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| {
        fail(format!(
            "the {SIGNATURE_HEADER} header has no t= timestamp (expected \"t=<unix>,v1=<hex>\")"
        ))
    })?;
    if signatures.is_empty() {
        return Err(fail(format!(
            "the {SIGNATURE_HEADER} header has no valid v1= signature (expected \"t=<unix>,v1=<hex>\")"
        )));
    }
    Ok(SignatureHeader {
        timestamp,
        signatures,
    })
}

fn check_secret(secret: &str) -> Result<()> {
    if secret.is_empty() {
        return Err(fail("the webhook secret is empty"));
    }
    if secret.trim() != secret {
        return Err(fail(
            "the webhook secret has leading or trailing whitespace: copy it exactly (a newline from a file or env var?)",
        ));
    }
    Ok(())
}

fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Result<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .map_err(|_| fail("the webhook secret cannot key HMAC-SHA256"))?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    Ok(mac)
}

/// Signs `payload` as NexOTP does, giving the header value `t=<timestamp>,v1=<hex>`.
/// For tests of your own webhook handler.
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> Result<String> {
    check_secret(secret)?;
    let digest = mac(secret, timestamp, payload)?.finalize().into_bytes();
    Ok(format!("t={timestamp},v1={}", hex::encode(digest)))
}

/// [`sign`] with the current time: what the server would send now.
pub fn sign_now(payload: &[u8], secret: &str) -> Result<String> {
    sign(payload, secret, unix_now())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Verifies a delivery against the current time. `payload` must be the raw request body bytes.
pub fn verify(
    payload: &[u8],
    header: &str,
    secret: &str,
    tolerance: Duration,
) -> Result<WebhookEvent> {
    verify_at(payload, header, secret, tolerance, unix_now())
}

/// [`verify`] as every binding calls it: the header as the host's request object gives it
/// (`None` when the delivery had none, e.g. Flask's `request.headers.get()`) and the tolerance
/// when the caller gave one (default [`DEFAULT_TOLERANCE`]). A missing header is a
/// [`Error::WebhookVerification`] like an empty or wrong one, in every language: a handler that
/// answers 400 on a failed verification answers 400 to a delivery without a signature too.
pub fn verify_delivery(
    payload: &[u8],
    header: Option<&str>,
    secret: &str,
    tolerance: Option<Duration>,
) -> Result<WebhookEvent> {
    verify(
        payload,
        header.unwrap_or(""),
        secret,
        tolerance.unwrap_or(DEFAULT_TOLERANCE),
    )
}

/// [`verify`] with an explicit "now" (unix seconds).
pub fn verify_at(
    payload: &[u8],
    header: &str,
    secret: &str,
    tolerance: Duration,
    now: i64,
) -> Result<WebhookEvent> {
    check_secret(secret)?;
    let parsed = parse_signature_header(header)?;
    let tolerance_s = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    let skew = now.saturating_sub(parsed.timestamp);
    if skew > tolerance_s {
        return Err(fail(format!(
            "the signature timestamp is {skew} s old, beyond the {tolerance_s} s tolerance (a replayed delivery, or a wrong clock)"
        )));
    }
    if skew < 0 && skew.unsigned_abs() > tolerance_s.unsigned_abs() {
        return Err(fail(format!(
            "the signature timestamp is {} s in the future, beyond the {tolerance_s} s tolerance (check this machine's clock)",
            skew.unsigned_abs()
        )));
    }
    let expected = mac(secret, parsed.timestamp, payload)?
        .finalize()
        .into_bytes();
    let matched = parsed
        .signatures
        .iter()
        .fold(subtle::Choice::from(0u8), |acc, sig| {
            acc | expected.as_slice().ct_eq(sig.as_slice())
        });
    if !bool::from(matched) {
        return Err(fail(
            "no v1 signature matches: pass the raw request body bytes exactly as received (not re-serialized JSON), and this endpoint's own secret",
        ));
    }
    decode_event(payload)
}

/// Decodes a delivery body that was verified already (by [`verify`], perhaps in another
/// process or language): for a binding handing a verified event back to the core, e.g. to
/// [`crate::WatchHandle::feed`]. It checks no signature.
pub fn decode_verified(payload: &[u8]) -> Result<WebhookEvent> {
    decode_event(payload)
}

fn decode_event(payload: &[u8]) -> Result<WebhookEvent> {
    let text = std::str::from_utf8(payload).map_err(|e| {
        fail(format!(
            "the signature is valid but the body is not UTF-8 JSON: {e}"
        ))
    })?;
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| {
        fail(format!(
            "the signature is valid but the body is not JSON: {e}"
        ))
    })?;
    // Checked first: a derived struct would also take a list, its items as the fields in order
    // (found by the `webhook_event` fuzz target: `[8, ":"]` was an event of type ":").
    let not_object = || fail("the signature is valid but the body is not a JSON object");
    if !raw.get().starts_with('{') {
        return Err(not_object());
    }
    let event: EventFields<'_> = serde_json::from_str(raw.get()).map_err(|_| not_object())?;
    let id = match event.id {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let kind = match event.kind.or(event.event) {
        Some(Value::String(s)) => s,
        _ => return Err(fail("the signature is valid but the event has no `type`")),
    };
    let created_at = event.created_at.and_then(|v| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let data = event.data.map_or_else(RawJson::default, RawJson::from_raw);
    let order = if kind.starts_with("order.") {
        models::decode::<Order>(data.get()).ok()
    } else {
        None
    };
    Ok(WebhookEvent {
        id,
        kind,
        created_at,
        data,
        order,
        raw: RawJson::from_raw(raw),
    })
}

/// The fields of a delivery's body that the event needs; `data` stays text.
#[derive(Deserialize)]
struct EventFields<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(rename = "type", default)]
    kind: Option<Value>,
    #[serde(default)]
    event: Option<Value>,
    #[serde(default)]
    created_at: Option<Value>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","type":"order.code_received","created_at":1700000000,"data":{"id":5001,"status":"received","code":"123456"}}"#;

    #[test]
    fn sign_then_verify_round_trips() {
        let header = sign(BODY, "whsec_x", 1_700_000_000).expect("signs");
        let event = verify_at(BODY, &header, "whsec_x", DEFAULT_TOLERANCE, 1_700_000_100)
            .expect("verifies");
        assert_eq!(event.kind, "order.code_received");
        assert_eq!(event.order.and_then(|o| o.code).as_deref(), Some("123456"));
    }

    #[test]
    fn rotation_tolerance_and_mistakes() {
        let good = sign(BODY, "new", 100).expect("signs");
        let old = sign(BODY, "old", 100).expect("signs");
        let both = format!("{old},{}", good.split(',').nth(1).unwrap_or_default());
        assert!(verify_at(BODY, &both, "new", DEFAULT_TOLERANCE, 100).is_ok());
        let err = |r: Result<WebhookEvent>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(verify_at(BODY, &good, "new", DEFAULT_TOLERANCE, 401)).contains("old"));
        assert!(err(verify_at(BODY, &good, "new", DEFAULT_TOLERANCE, -201)).contains("future"));
        assert!(err(verify_at(b"{ }", &good, "new", DEFAULT_TOLERANCE, 100)).contains("raw"));
        assert!(
            err(verify_at(BODY, &good, "new\n", DEFAULT_TOLERANCE, 100)).contains("whitespace")
        );
        assert!(err(verify_at(BODY, "", "new", DEFAULT_TOLERANCE, 100)).contains("missing"));
        assert!(err(verify_at(BODY, "v1=00", "new", DEFAULT_TOLERANCE, 100)).contains("t="));
    }

    #[test]
    fn a_list_is_not_an_event() {
        // Found by the `webhook_event` fuzz target.
        for body in [
            &b"[8,\n\":\"]"[..],
            br#"["evt_1","order.code_received",1,{"id":1}]"#,
        ] {
            let header = sign(body, "whsec_x", 100).expect("signs");
            let err = verify_at(body, &header, "whsec_x", DEFAULT_TOLERANCE, 100)
                .expect_err("a list is refused");
            assert!(err.to_string().contains("not a JSON object"), "{err}");
        }
    }
}
