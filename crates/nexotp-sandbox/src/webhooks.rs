//! Webhook deliveries: signing (`X-NexOTP-Signature: t=<unix>,v1=<hex hmac-sha256(secret,
//! "<t>.<body>")>`), sending with retries from a spawned task, and the delivery records shown by
//! `GET /__sandbox/deliveries` and the console. A delivery never blocks the request that caused
//! it; `POST /__sandbox/deliveries/{id}/replay` sends a recorded one again.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::app::App;
use crate::util::unix_ms_now;

/// Attempts per delivery: the first one plus 3 retries.
pub(crate) const MAX_ATTEMPTS: u32 = 4;

/// One POST to send: an event for one webhook.
#[derive(Debug, Clone)]
pub(crate) struct DeliveryJob {
    pub delivery_id: u64,
    pub generation: u64,
    pub url: String,
    pub secret: String,
    pub event_type: &'static str,
    pub body: Bytes,
}

/// What happened to one delivery (an event sent to one webhook).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DeliveryRecord {
    /// Sequence number of the delivery (from 1).
    pub id: u64,
    /// The webhook it was sent to.
    pub webhook_id: u64,
    /// The event id (`evt_...`).
    pub event_id: String,
    /// The event type, e.g. `order.code_received`.
    pub event_type: String,
    /// The order the event is about.
    pub order_id: u64,
    /// Attempts made so far.
    pub attempts: u32,
    /// HTTP status of the last attempt, if it got an answer.
    pub last_status: Option<u16>,
    /// Transport error of the last attempt, if any.
    pub last_error: Option<String>,
    /// `pending`, `delivered` (a 2xx) or `failed` (all attempts used).
    pub state: String,
    /// The JSON body sent (the event).
    #[serde(default)]
    pub payload: String,
    /// The `X-NexOTP-Signature` header of the last attempt, once one was made.
    #[serde(default)]
    pub signature: Option<String>,
    /// The delivery this one replays (`POST /__sandbox/deliveries/{id}/replay`), if any.
    #[serde(default)]
    pub replay_of: Option<u64>,
}

/// The `X-NexOTP-Signature` value for a body at time `t` (unix seconds).
pub fn signature_header(secret: &str, t: u64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends one delivery, retrying with backoff (100, 200, 400 ms) on errors and non-2xx answers,
/// and records each attempt.
pub(crate) async fn deliver(app: Arc<App>, job: DeliveryJob) {
    for attempt in 1..=MAX_ATTEMPTS {
        let t = unix_ms_now() / 1000;
        let signature = signature_header(&job.secret, t, &job.body);
        // A client that cannot be built fails the attempt like a transport error.
        let result = match app.http() {
            Ok(http) => http
                .post(&job.url)
                .header("content-type", "application/json")
                .header(
                    "user-agent",
                    concat!("nexotp-sandbox/", env!("CARGO_PKG_VERSION")),
                )
                .header("x-nexotp-event", job.event_type)
                .header("x-nexotp-delivery", job.delivery_id.to_string())
                .header("x-nexotp-signature", signature.as_str())
                .body(job.body.clone())
                .send()
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let (status, error) = match result {
            Ok(resp) => (Some(resp.status().as_u16()), None),
            Err(e) => (None, Some(e)),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let state = if ok {
            "delivered"
        } else if attempt == MAX_ATTEMPTS {
            "failed"
        } else {
            "pending"
        };
        app.with_state(|s| {
            s.record_attempt(
                job.generation,
                job.delivery_id,
                attempt,
                status,
                error,
                signature,
                state,
            )
        });
        if ok {
            return;
        }
        if attempt < MAX_ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(100 << (attempt - 1))).await;
        }
    }
}
