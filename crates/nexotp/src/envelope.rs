//! Turns an HTTP answer into a payload or an [`Error`].
//!
//! Three shapes arrive (`spec/contract.md`): the NexOTP envelope, WordPress's own error object
//! (auth, routing, validation happen before the plugin runs), and, when something in front of
//! PHP fails, HTML. This module is the only place that knows them, so a change in the real API is
//! a change here. It never panics, whatever the bytes (a property test checks).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::buckets::Bucket;
use crate::error::{ApiError, Error, ErrorKind};

/// Longest body excerpt carried by an error.
const SNIPPET_CHARS: usize = 200;

/// A successful answer: the body, and where its `data` is in it (the whole body for a bare
/// payload). Models decode from that text directly.
#[derive(Debug)]
pub(crate) struct Payload {
    body: String,
    data: std::ops::Range<usize>,
    /// Kept for models that will carry it; errors already do.
    #[allow(dead_code)]
    pub request_id: Option<String>,
    pub wp_total: Option<u64>,
    pub wp_total_pages: Option<u32>,
}

impl Payload {
    /// The payload's JSON text (`null` when the body was empty or had no `data`).
    pub(crate) fn data(&self) -> &str {
        match self.body.get(self.data.clone()) {
            Some(text) if !text.is_empty() => text,
            _ => "null",
        }
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn from_data(
        data: &str,
        wp_total: Option<u64>,
        wp_total_pages: Option<u32>,
    ) -> Self {
        Payload {
            body: data.to_owned(),
            data: 0..data.len(),
            request_id: None,
            wp_total,
            wp_total_pages,
        }
    }
}

/// Where `inner`, a slice of `outer`, starts and ends in it.
fn range_in(outer: &str, inner: &str) -> Option<std::ops::Range<usize>> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    let end = start.checked_add(inner.len())?;
    (end <= outer.len()).then_some(start..end)
}

/// The top level of a JSON object body, as far as telling a success envelope from a bare
/// payload needs: the rest is skipped, not parsed into values.
#[derive(serde::Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    success: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    data: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    code: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    meta: Option<&'a serde_json::value::RawValue>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The longest wait read from a header, whatever its form (about 31 years).
const MAX_RETRY_AFTER_SECS: f64 = 1e9;

/// The wait a 429 or 503 asks for: `retry-after-ms`, else `Retry-After` (seconds or HTTP date).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = header(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(
            (ms / 1000.0).min(MAX_RETRY_AFTER_SECS),
        ));
    }
    let value = header(headers, "retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER_SECS)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    // Capped as the numbers are (the `envelope` fuzz target found a date in 2105 uncapped).
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs_f64(MAX_RETRY_AFTER_SECS)),
    )
}

/// A short, printable excerpt of a body for error messages. An HTML page (a PHP fatal error,
/// a proxy's error page) is reduced to its text first, so the excerpt shows the message
/// ("There has been a critical error on this website.") rather than the `<head>` markup.
/// Webhook secrets are hidden first, even in a body cut off inside one.
pub(crate) fn snippet(body: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(body);
    let text = if lossy.trim_start().starts_with('<') {
        html_text(&lossy)
    } else {
        lossy.into_owned()
    };
    let text = redact_secrets(&text);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(SNIPPET_CHARS)
        .collect();
    if text.chars().count() > SNIPPET_CHARS {
        out.push('…');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What stands in for a hidden secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// Hides webhook secrets in text bound for an error: the string value of any key ending in
/// `secret` (up to its closing quote, or to the end when the body was cut off inside it) and
/// any `whsec_` token.
pub(crate) fn redact_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("secret\"") {
        let (head, tail) = rest.split_at(at + "secret\"".len());
        out.push_str(head);
        let after_colon = tail.trim_start().strip_prefix(':').map(str::trim_start);
        match after_colon.and_then(|v| v.strip_prefix('"')) {
            Some(value) => {
                out.push_str(&tail[..tail.len() - value.len()]);
                out.push_str(REDACTED);
                rest = match closing_quote(value) {
                    Some(end) => &value[end..],
                    None => "",
                };
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    if !out.contains("whsec_") {
        return out;
    }
    let mut hidden = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(at) = rest.find("whsec_") {
        hidden.push_str(&rest[..at]);
        hidden.push_str(REDACTED);
        let token = &rest[at..];
        let end = token
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(token.len());
        rest = &token[end..];
    }
    hidden.push_str(rest);
    hidden
}

/// The index of the first unescaped `"` in a JSON string's content.
fn closing_quote(value: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// Replaces every string under a key ending in `secret` with [`REDACTED`], at any depth.
pub(crate) fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if key.to_ascii_lowercase().ends_with("secret") && item.is_string() {
                    *item = Value::String(REDACTED.to_owned());
                } else {
                    redact_value(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::String(s) if s.contains("whsec_") => *s = redact_secrets(s),
        _ => {}
    }
}

/// The visible text of an HTML page: tags, comments, `<script>` and `<style>` contents
/// removed, the common entities decoded. Not a parser; good enough for an error excerpt.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len().min(4096));
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        let tag = &rest[open..];
        let lower: String = tag.chars().take(8).collect::<String>().to_ascii_lowercase();
        let end = if tag.starts_with("<!--") {
            tag.find("-->").map(|i| i + 3)
        } else if lower.starts_with("<script") || lower.starts_with("<style") {
            let close = if lower.starts_with("<script") {
                "</script"
            } else {
                "</style"
            };
            tag.to_ascii_lowercase()
                .find(close)
                .and_then(|i| tag[i..].find('>').map(|j| i + j + 1))
        } else {
            tag.find('>').map(|i| i + 1)
        };
        match end {
            Some(end) => rest = &tag[end..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    for (entity, text) in [
        ("&nbsp;", " "),
        ("&rsaquo;", "›"),
        ("&lsaquo;", "‹"),
        ("&quot;", "\""),
        ("&#039;", "'"),
        ("&#39;", "'"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&amp;", "&"),
    ] {
        if out.contains(entity) {
            out = out.replace(entity, text);
        }
    }
    out
}

/// The error class of an error code when the status does not tell (a 200 with
/// `success: false`).
pub(crate) fn kind_from_code(code: Option<&str>) -> ErrorKind {
    match code.unwrap_or_default() {
        "rest_forbidden" | "invalid_api_key" | "missing_api_key" | "rest_not_logged_in" => {
            ErrorKind::Authentication
        }
        "forbidden" => ErrorKind::PermissionDenied,
        "not_found" | "rest_no_route" | "order_not_found" | "webhook_not_found" => {
            ErrorKind::NotFound
        }
        "invalid_parameter"
        | "rest_invalid_param"
        | "rest_missing_callback_param"
        | "rest_invalid_json" => ErrorKind::InvalidRequest,
        "insufficient_balance" => ErrorKind::InsufficientBalance,
        "no_numbers_available"
        | "max_price_exceeded"
        | "order_not_cancellable"
        | "resend_not_supported" => ErrorKind::Conflict,
        "rate_limited" => ErrorKind::RateLimit,
        _ => ErrorKind::Api,
    }
}

fn string_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn request_id_of(map: &Map<String, Value>, headers: &HeaderMap) -> Option<String> {
    map.get("meta")
        .and_then(Value::as_object)
        .and_then(|meta| string_field(meta, "request_id"))
        .filter(|s| !s.is_empty())
        .or_else(|| header(headers, "x-request-id").map(str::to_owned))
}

/// WordPress validation errors: `params` is an object (param → message) or a list of names.
fn params_of(data: &Value) -> BTreeMap<String, String> {
    match data.get("params") {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                let msg = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), msg)
            })
            .collect(),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(|n| (n.to_owned(), "missing".to_owned()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

struct ErrorParts {
    status: u16,
    code: Option<String>,
    message: String,
    details: Value,
    params: BTreeMap<String, String>,
    request_id: Option<String>,
    body: Value,
}

fn api_error(parts: ErrorParts, headers: &HeaderMap, bucket: Bucket) -> Error {
    let code = parts.code.as_deref();
    let kind = if (200..300).contains(&parts.status) {
        kind_from_code(code)
    } else {
        ErrorKind::from_status(parts.status, code)
    };
    let retry_after = if matches!(parts.status, 429 | 503) || kind == ErrorKind::RateLimit {
        retry_after(headers)
    } else {
        None
    };
    // Whatever the server put in them, no secret leaves in an error: a secret under
    // `error.details` or `data.params` used to show in `Debug` (the `envelope` fuzz target
    // checks every error for the secrets of its body).
    let mut details = parts.details;
    redact_value(&mut details);
    let params = parts
        .params
        .into_iter()
        .map(|(name, message)| {
            let message = if name.to_ascii_lowercase().ends_with("secret") {
                REDACTED.to_owned()
            } else {
                redact_secrets(&message)
            };
            (name, message)
        })
        .collect();
    Error::Api(Box::new(ApiError {
        kind,
        status: parts.status,
        code: parts.code.map(|code| redact_secrets(&code)),
        message: redact_secrets(&parts.message),
        request_id: parts.request_id.map(|id| redact_secrets(&id)),
        details,
        params,
        retry_after,
        // The transport decides (the retry table knows the call); until then, not retryable.
        retryable: false,
        bucket: (kind == ErrorKind::RateLimit).then(|| {
            header(headers, "x-ratelimit-bucket")
                .and_then(|b| b.parse().ok())
                .unwrap_or(bucket)
        }),
        body: {
            let mut body = parts.body;
            redact_value(&mut body);
            body
        },
    }))
}

fn empty_list_as_object(v: Value) -> Value {
    match v {
        Value::Array(a) if a.is_empty() => Value::Object(Map::new()),
        other => other,
    }
}

/// What an answer is, for the retry decision and the caller.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// A success payload.
    Payload(Payload),
    /// The API's own error: a NexOTP error envelope (`success: false`, whatever the status) or
    /// a WordPress error object (`code` and `data.status`). Always an [`Error::Api`].
    ApiError(Error),
    /// Not the contract: empty, HTML, not JSON, a gateway's JSON. An [`Error::Api`] carrying the
    /// status and a snippet, or for a 2xx an [`Error::UnexpectedResponse`].
    Unreadable(Error),
}

#[cfg(test)]
impl Decoded {
    /// The payload, or the error the answer carries.
    pub(crate) fn into_result(self) -> Result<Payload, Error> {
        match self {
            Decoded::Payload(payload) => Ok(payload),
            Decoded::ApiError(error) | Decoded::Unreadable(error) => Err(error),
        }
    }
}

/// Where a 2xx body's payload is (`data` of a success envelope, or the whole body when it is
/// not an envelope), with the envelope's request id. `None` when the body needs the full
/// decoding: an error envelope, a WordPress error object, empty, or not JSON.
fn success_data(text: &str) -> Option<(std::ops::Range<usize>, Option<String>)> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    if !trimmed.starts_with('{') {
        // A bare list or scalar; a cut-off or HTML body goes to the full decoding.
        serde_json::from_str::<&serde_json::value::RawValue>(trimmed).ok()?;
        return range_in(text, trimmed).map(|r| (r, None));
    }
    let top: Top<'_> = serde_json::from_str(trimmed).ok()?;
    let request_id = top
        .meta
        .and_then(|m| serde_json::from_str::<Value>(m.get()).ok())
        .and_then(|m| m.get("request_id").cloned())
        .and_then(|id| match id {
            Value::String(s) if !s.is_empty() => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    match top.success.map(|s| s.get().trim()) {
        Some("true") => {
            let data = top.data.map_or("null", |d| d.get());
            if data == "null" {
                // `success: true` without `data`: an empty payload.
                return Some((0..0, request_id));
            }
            range_in(text, data).map(|r| (r, request_id))
        }
        Some(_) => None,
        // A WordPress error object in a 2xx is an error; anything else is the payload itself.
        None if top.code.is_some() && top.data.is_some() => None,
        None => range_in(text, trimmed).map(|r| (r, request_id)),
    }
}

/// Decodes one answer. `bucket` is the endpoint's, for a 429 without `X-RateLimit-Bucket`.
pub(crate) fn decode(status: u16, headers: &HeaderMap, body: Vec<u8>, bucket: Bucket) -> Decoded {
    let ok = (200..300).contains(&status);
    let wp_total = header(headers, "x-wp-total").and_then(|v| v.parse().ok());
    let wp_total_pages = header(headers, "x-wp-totalpages").and_then(|v| v.parse().ok());
    let header_id = || header(headers, "x-request-id").map(str::to_owned);
    // The fast path, for what nearly every answer is: a success envelope or a bare 2xx payload,
    // read without building any value (the models decode `data` from the text).
    let body = match String::from_utf8(body) {
        Ok(text) if ok => match success_data(&text) {
            Some((data, request_id)) => {
                let request_id = request_id.or_else(header_id);
                return Decoded::Payload(Payload {
                    data,
                    body: text,
                    request_id,
                    wp_total,
                    wp_total_pages,
                });
            }
            None => text.into_bytes(),
        },
        Ok(text) => text.into_bytes(),
        Err(e) => e.into_bytes(),
    };
    let body = body.as_slice();
    // A payload keeps the answer's own text, never a re-serialized `Value`: a number read into
    // an f64 and written again may lose digits (the `envelope` fuzz target found one: money would
    // have lost its scale, `0.50` becoming `0.5`). `data` is a part of `body`'s text, or `None`.
    let payload = |data: Option<&str>, request_id: Option<String>| {
        // Valid UTF-8: it parsed as JSON.
        let text = std::str::from_utf8(body).unwrap_or_default();
        Decoded::Payload(Payload {
            data: data.and_then(|d| range_in(text, d)).unwrap_or(0..0),
            body: text.to_owned(),
            request_id,
            wp_total,
            wp_total_pages,
        })
    };
    // An answer that is not the API's: its status and what it says.
    let unreadable = |message: String, body: Value| {
        let parts = ErrorParts {
            status,
            code: None,
            message,
            details: Value::Null,
            params: BTreeMap::new(),
            request_id: header_id(),
            body,
        };
        Decoded::Unreadable(api_error(parts, headers, bucket))
    };

    if body.iter().all(u8::is_ascii_whitespace) {
        if ok {
            return payload(None, header_id());
        }
        return unreadable(format!("HTTP {status} with an empty body"), Value::Null);
    }

    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            let excerpt = snippet(body);
            if ok {
                return Decoded::Unreadable(Error::UnexpectedResponse {
                    status,
                    message: format!("the body is not JSON ({e})"),
                    snippet: excerpt,
                    request_id: header_id(),
                });
            }
            return unreadable(
                format!("HTTP {status} with a non-JSON body: {excerpt}"),
                Value::Null,
            );
        }
    };

    let Value::Object(map) = &value else {
        if ok {
            return payload(std::str::from_utf8(body).ok().map(str::trim), header_id());
        }
        return unreadable(format!("HTTP {status}: {}", snippet(body)), value);
    };
    let request_id = request_id_of(map, headers);

    // The NexOTP envelope.
    if let Some(success) = map.get("success").and_then(Value::as_bool) {
        if success && ok {
            // The last `data` member, as `Value` keeps it when the key repeats.
            let members = std::str::from_utf8(body).ok().and_then(|text| {
                serde_json::from_str::<std::collections::HashMap<String, &RawValue>>(text).ok()
            });
            let data = members
                .as_ref()
                .and_then(|m| m.get("data"))
                .map(|d| d.get());
            return payload(data, request_id);
        }
        let error = map.get("error");
        let (code, message, details) = match error {
            Some(Value::Object(e)) => (
                string_field(e, "code"),
                string_field(e, "message"),
                e.get("details").cloned().map(empty_list_as_object),
            ),
            Some(Value::String(s)) => (None, Some(s.clone()), None),
            _ => (None, string_field(map, "message"), None),
        };
        let details = details.unwrap_or(Value::Null);
        let params = params_of(&details);
        // With a 2xx, `success: false` takes its class from the code (see `api_error`).
        let parts = ErrorParts {
            status,
            message: message.unwrap_or_else(|| format!("HTTP {status} without a message")),
            code,
            params,
            details,
            request_id,
            body: value.clone(),
        };
        return Decoded::ApiError(api_error(parts, headers, bucket));
    }

    // WordPress's own error object: a string `code` and a numeric `data.status`.
    let wp_code = map.get("code").and_then(Value::as_str).map(str::to_owned);
    let wp_status = map
        .get("data")
        .and_then(|d| d.get("status"))
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok());
    if let (Some(code), Some(data_status)) = (&wp_code, wp_status)
        && (!ok || data_status >= 400)
    {
        let data = map
            .get("data")
            .cloned()
            .map(empty_list_as_object)
            .unwrap_or(Value::Null);
        let status = if ok { data_status } else { status };
        let parts = ErrorParts {
            status,
            code: Some(code.clone()),
            message: string_field(map, "message").unwrap_or_else(|| code.clone()),
            params: params_of(&data),
            details: data.get("details").cloned().unwrap_or(data.clone()),
            request_id,
            body: value.clone(),
        };
        return Decoded::ApiError(api_error(parts, headers, bucket));
    }

    if ok {
        // A 2xx without an envelope is the payload itself.
        return payload(std::str::from_utf8(body).ok().map(str::trim), request_id);
    }
    // A gateway's or proxy's JSON (`{"message":"Bad Gateway"}`): not the API speaking.
    let message = string_field(map, "message").unwrap_or_else(|| format!("HTTP {status}"));
    let parts = ErrorParts {
        status,
        code: wp_code,
        message,
        details: Value::Null,
        params: BTreeMap::new(),
        request_id,
        body: value.clone(),
    };
    Decoded::Unreadable(api_error(parts, headers, bucket))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use reqwest::header::HeaderValue;

    fn dec(status: u16, body: &str) -> Result<Payload, Error> {
        decode(
            status,
            &HeaderMap::new(),
            body.as_bytes().to_vec(),
            Bucket::General,
        )
        .into_result()
    }

    fn kind(r: Result<Payload, Error>) -> Option<ErrorKind> {
        r.err().map(|e| e.kind())
    }

    #[test]
    fn envelopes() {
        let ok = dec(
            200,
            r#"{"success":true,"data":{"a":1},"meta":{"request_id":"req_1"}}"#,
        )
        .expect("ok");
        assert_eq!(ok.request_id.as_deref(), Some("req_1"));
        assert_eq!(ok.data(), r#"{"a":1}"#);
        let bare = dec(200, r#"[{"code":"cty_us"}]"#).expect("bare");
        assert_eq!(bare.data(), r#"[{"code":"cty_us"}]"#);
        assert_eq!(
            dec(200, r#"{"success":true}"#).expect("no data").data(),
            "null"
        );
        assert_eq!(dec(204, "").expect("empty").data(), "null");
        assert_eq!(
            kind(dec(
                200,
                r#"{"success":false,"error":{"code":"order_not_cancellable","message":"no"}}"#
            )),
            Some(ErrorKind::Conflict)
        );
        assert_eq!(
            kind(dec(
                402,
                r#"{"success":false,"error":{"code":"insufficient_balance","message":"no"}}"#
            )),
            Some(ErrorKind::InsufficientBalance)
        );
    }

    #[test]
    fn payloads_keep_their_digits_on_every_path() {
        // Found by the `envelope` fuzz target: off the fast path (a repeated key, a payload with
        // `code` and `data` members), the payload was a `Value` written again, numbers via f64.
        let digits = "25.000000000000000001";
        for body in [
            format!(r#"{{"success":true,"success":true,"data":{{"balance":{digits}}}}}"#),
            format!(r#"{{"success":true,"data":1,"data":{{"balance":{digits}}}}}"#),
            format!(r#" {{"code":"123456","data":{{}},"balance":{digits}}} "#),
        ] {
            let payload = dec(200, &body).expect("a payload");
            assert!(
                payload.data().contains(digits),
                "{body} gave {}",
                payload.data()
            );
        }
        let price: crate::models::Order = crate::models::decode(
            dec(
                200,
                r#"{"id":1,"status":"received","code":"1","data":{},"price":0.50}"#,
            )
            .expect("a payload")
            .data(),
        )
        .expect("an order");
        assert_eq!(price.price.map(|p| p.to_string()).as_deref(), Some("0.50"));
    }

    #[test]
    fn wordpress_errors_keep_params() {
        let err = dec(
            400,
            r#"{"code":"rest_invalid_param","message":"Invalid parameter(s): per_page","data":{"status":400,"params":{"per_page":"per_page must be between 1 (inclusive) and 100 (inclusive)"},"details":{}}}"#,
        )
        .expect_err("error");
        let api = err.api_error().expect("api error");
        assert_eq!(api.kind, ErrorKind::InvalidRequest);
        assert!(api.params["per_page"].contains("100"));
        let err = dec(
            400,
            r#"{"code":"rest_missing_callback_param","message":"Missing parameter(s): country","data":{"status":400,"params":["country"]}}"#,
        )
        .expect_err("error");
        assert_eq!(
            err.api_error().map(|a| a.params.contains_key("country")),
            Some(true)
        );
        assert_eq!(
            kind(dec(
                404,
                r#"{"code":"rest_no_route","message":"No route","data":{"status":404}}"#
            )),
            Some(ErrorKind::NotFound)
        );
    }

    #[test]
    fn no_secret_in_error_details_params_or_message() {
        for body in [
            r#"{"success":false,"error":{"code":"x","message":"m","details":{"secret":"whsec_abcdefgh"}}}"#,
            r#"{"success":false,"error":{"code":"x","message":"m","details":{"params":{"secret":"whsec_abcdefgh"}}}}"#,
            r#"{"code":"rest_invalid_param","message":"m","data":{"status":400,"params":{"webhook_secret":"abcdefgh"}}}"#,
            r#"{"success":false,"error":{"code":"x","message":"bad {\"secret\":\"abcdefgh\"} whsec_abcdefgh"}}"#,
            r#"{"success":false,"error":{"code":"whsec_abcdefgh"},"meta":{"request_id":"whsec_abcdefgh"}}"#,
        ] {
            let err = dec(400, body).expect_err("error");
            let shown = format!("{err:?} {err}");
            assert!(!shown.contains("abcdefgh"), "{shown}");
        }
    }

    #[test]
    fn html_500_is_a_server_error_with_a_snippet() {
        let err = dec(
            500,
            "<html><body>There has been a critical error on this website.</body></html>",
        )
        .expect_err("error");
        assert_eq!(err.kind(), ErrorKind::Server);
        assert!(err.to_string().contains("critical error"));
        assert_eq!(
            kind(dec(200, "<html>")),
            Some(ErrorKind::UnexpectedResponse)
        );
    }

    #[test]
    fn html_snippet_is_the_page_text() {
        let page = "<!DOCTYPE html>\n<html><head><title>WordPress &rsaquo; Error</title>\
            <style>body{color:red}</style><script>var a = '<b>';</script></head>\
            <body><!-- x --><p>There has been a critical error on this website.</p></body></html>";
        assert_eq!(
            snippet(page.as_bytes()),
            "WordPress › Error There has been a critical error on this website."
        );
        assert_eq!(snippet(b"{\"a\": 1}"), "{\"a\": 1}");
        assert_eq!(snippet(b"<unclosed"), "");
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        h.insert(
            "retry-after",
            HeaderValue::from_str(&later).expect("header"),
        );
        let wait = retry_after(&h).expect("date parsed");
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
        // Every form is capped alike (found by the `envelope` fuzz target).
        for (name, value) in [
            ("retry-after", "Wed, 21 Oct 2105 07:28:00 GMT"),
            ("retry-after", "1e300"),
        ] {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            assert_eq!(retry_after(&h), Some(Duration::from_secs(1_000_000_000)));
        }
    }

    proptest! {
        #[test]
        fn decoder_never_panics(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(status, &HeaderMap::new(), body, Bucket::Poll);
        }

        #[test]
        fn decoder_never_panics_on_json_like(status in 100u16..600, body in r#"\{("(success|data|error|code|message|meta|params|status)":(true|false|null|\[\]|\{\}|"x"|1|-1\.5|\{"status":[0-9]{1,6}\}),?){0,6}\}"#) {
            let _ = decode(status, &HeaderMap::new(), body.into_bytes(), Bucket::Order);
        }

        #[test]
        fn signature_parser_never_panics(header in ".{0,300}", body in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = crate::webhook::parse_signature_header(&header);
            let _ = crate::webhook::verify_at(&body, &header, "whsec_test", Duration::from_secs(300), 0);
        }
    }
}
