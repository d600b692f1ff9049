//! Webhook signatures: thin wrappers over `nexotp::webhook`, synchronous (pure CPU work).

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::error::NativeError;
use crate::guard;
use crate::models::WebhookEvent;

/// Verifies a delivery: `payload` is the raw body bytes, `signature` the `X-NexOTP-Signature`
/// header value (absent: a `WebhookVerificationError`, the core's rule), `tolerance_sec` the allowed clock skew in seconds (default 300; the core's
/// rules: finite, not negative, at most a year).
#[napi]
pub fn verify_webhook(
    payload: Buffer,
    signature: Option<String>,
    secret: String,
    tolerance_sec: Option<f64>,
) -> napi::Result<WebhookEvent> {
    guard::call(|| {
        let tolerance = tolerance_sec
            .map(|s| nexotp::args::duration_from_secs("toleranceSec", s))
            .transpose()?;
        let event =
            nexotp::webhook::verify_delivery(&payload, signature.as_deref(), &secret, tolerance)?;
        Ok::<_, NativeError>(WebhookEvent::from(event))
    })
}

/// Signs `payload` as NexOTP does (`t=<timestamp>,v1=<hex>`), for tests of your own handler.
/// Without a `timestamp` (unix seconds) the core signs with the current time.
#[napi]
pub fn sign_webhook(
    payload: Buffer,
    secret: String,
    timestamp: Option<i64>,
) -> napi::Result<String> {
    guard::call(|| {
        match timestamp {
            Some(t) => nexotp::webhook::sign(&payload, &secret, t),
            None => nexotp::webhook::sign_now(&payload, &secret),
        }
        .map_err(NativeError::from)
    })
}
