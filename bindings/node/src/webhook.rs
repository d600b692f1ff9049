//! Webhook signatures: thin wrappers over `nexotp::webhook`, synchronous (pure CPU work).

use std::time::Duration;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::error::NativeError;
use crate::guard;
use crate::models::WebhookEvent;

/// Verifies a delivery: `payload` is the raw body bytes, `signature` the `X-NexOTP-Signature`
/// header value, `tolerance_sec` the allowed clock skew (default 300).
#[napi]
pub fn verify_webhook(
    payload: Buffer,
    signature: String,
    secret: String,
    tolerance_sec: Option<f64>,
) -> napi::Result<WebhookEvent> {
    guard::call(|| {
        let tolerance = match tolerance_sec {
            None => nexotp::webhook::DEFAULT_TOLERANCE,
            Some(s) if s.is_finite() && s >= 0.0 => Duration::try_from_secs_f64(s)
                .map_err(|_| NativeError::invalid("toleranceSec", format!("is too large: {s}")))?,
            Some(s) => {
                return Err(NativeError::invalid(
                    "toleranceSec",
                    format!("must be a finite number of seconds >= 0, got {s}"),
                ));
            }
        };
        let event = nexotp::webhook::verify(&payload, &signature, &secret, tolerance)?;
        Ok(WebhookEvent::from(event))
    })
}

/// Signs `payload` as NexOTP does (`t=<timestamp>,v1=<hex>`), for tests of your own handler.
#[napi]
pub fn sign_webhook(payload: Buffer, secret: String, timestamp: i64) -> napi::Result<String> {
    guard::call(|| nexotp::webhook::sign(&payload, &secret, timestamp).map_err(NativeError::from))
}
