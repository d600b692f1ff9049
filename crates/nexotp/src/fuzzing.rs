//! Entry points for the `cargo-fuzz` targets in `fuzz/`, only with the `fuzzing` feature.
//!
//! The decoding the client runs on every answer (envelope, API errors, models, transaction
//! pages) is crate-private: it is reached through a `Client` and a server. Fuzzing needs to call
//! it with arbitrary bytes millions of times a minute, so this module forwards to those exact
//! functions, nothing more. It is not part of the API: no binding enables the feature, it is off
//! by default and it may change at any time. Webhook parsing and verification are public already
//! ([`crate::webhook`]) and are fuzzed through that API.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::buckets::Bucket;
use crate::envelope::{self, Decoded, Payload};
use crate::error::{Error, Result};
use crate::models::{self, TransactionPage};

/// What the client made of one HTTP answer.
#[derive(Debug)]
pub enum Answer {
    /// A success; the payload the models decode from.
    Payload(DecodedPayload),
    /// The API's own error (always [`Error::Api`]).
    ApiError(Error),
    /// An answer that is not the contract (HTML, empty, not JSON, a gateway's JSON).
    Unreadable(Error),
}

/// A success payload as the models see it.
#[derive(Debug)]
pub struct DecodedPayload {
    /// The payload's JSON text (`null` when the body had none), what the models decode.
    pub data: String,
    /// The request id, from the envelope or `X-Request-Id`.
    pub request_id: Option<String>,
    /// `X-WP-Total`, when given.
    pub wp_total: Option<u64>,
    /// `X-WP-TotalPages`, when given.
    pub wp_total_pages: Option<u32>,
}

/// The headers as the transport sees them; pairs that are not a valid header are skipped, as
/// the HTTP stack would have refused them.
pub fn header_map(headers: &[(&str, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// Decodes one answer exactly as the transport does (`envelope::decode`), for the poll bucket.
pub fn decode_answer(status: u16, headers: &HeaderMap, body: Vec<u8>) -> Answer {
    match envelope::decode(status, headers, body, Bucket::Poll) {
        Decoded::Payload(payload) => Answer::Payload(DecodedPayload {
            data: payload.data().to_owned(),
            request_id: payload.request_id,
            wp_total: payload.wp_total,
            wp_total_pages: payload.wp_total_pages,
        }),
        Decoded::ApiError(error) => Answer::ApiError(error),
        Decoded::Unreadable(error) => Answer::Unreadable(error),
    }
}

/// The wait a 429 or 503 asks for, as the transport reads it.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    envelope::retry_after(headers)
}

/// A body excerpt as errors carry it (HTML reduced to text, secrets hidden).
pub fn snippet(body: &[u8]) -> String {
    envelope::snippet(body)
}

/// A model as the client decodes it from a payload's text, one or a list: every model of
/// [`crate::models`].
pub trait Model: Sized {
    /// One model, as `client.order(..)` and the like decode it.
    fn decode_one(data: &str) -> std::result::Result<Self, String>;
    /// A list, as `client.countries()` and the like decode it.
    fn decode_list(data: &str) -> std::result::Result<Vec<Self>, String>;
}

impl<T: models::Model> Model for T {
    fn decode_one(data: &str) -> std::result::Result<Self, String> {
        models::decode(data)
    }
    fn decode_list(data: &str) -> std::result::Result<Vec<Self>, String> {
        models::decode_list(data)
    }
}

/// A transaction page, as `client.transactions(page, per_page)` builds it from a payload.
pub fn decode_page(payload: &DecodedPayload, page: u32, per_page: u32) -> Result<TransactionPage> {
    let payload = Payload::from_data(&payload.data, payload.wp_total, payload.wp_total_pages);
    crate::pagination::decode_page(payload, page, per_page)
}

/// Money as the models read it from a value's JSON text (a number's own digits, or a string).
pub fn money_from_json(text: &str) -> std::result::Result<rust_decimal::Decimal, String> {
    models::money_from_json(text)
}
