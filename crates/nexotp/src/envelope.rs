//! Turns an HTTP answer into a payload or an [`Error`].
//!
//! Three shapes arrive (`spec/contract.md`): the NexOTP envelope, WordPress's own error object
//! (auth, routing, validation happen before the plugin runs), and, when something in front of
//! PHP fails, HTML. This module is the only place that knows them, so a change in the real API is
//! a change here. It never panics, whatever the bytes (a property test checks).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use crate::buckets::Bucket;
use crate::error::{ApiError, Error, ErrorKind};

/// Longest body excerpt carried by an error.
const SNIPPET_CHARS: usize = 200;

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Payload {
    pub data: Value,
    /// Kept for models that will carry it; errors already do.
    #[allow(dead_code)]
    pub request_id: Option<String>,
    pub wp_total: Option<u64>,
    pub wp_total_pages: Option<u32>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The wait a 429 or 503 asks for: `retry-after-ms`, else `Retry-After` (seconds or HTTP date).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = header(headers, "retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64((ms / 1000.0).min(1e9)));
    }
    let value = header(headers, "retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A short, printable excerpt of a body for error messages. An HTML page (a PHP fatal error,
/// a proxy's error page) is reduced to its text first, so the excerpt shows the message
/// ("There has been a critical error on this website.") rather than the `<head>` markup.
pub(crate) fn snippet(body: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(body);
    let text = if lossy.trim_start().starts_with('<') {
        std::borrow::Cow::Owned(html_text(&lossy))
    } else {
        lossy
    };
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

/// Whether a decoded body is an error from the API itself (a NexOTP error envelope or a
/// WordPress error object), as opposed to a gateway's JSON such as `{"message":"Bad Gateway"}`.
pub(crate) fn is_api_error_body(body: &Value) -> bool {
    let Value::Object(map) = body else {
        return false;
    };
    let envelope = map.get("success").and_then(Value::as_bool) == Some(false)
        && map
            .get("error")
            .and_then(|e| e.get("code"))
            .is_some_and(Value::is_string);
    let wordpress = map.get("code").is_some_and(Value::is_string)
        && map
            .get("data")
            .and_then(|d| d.get("status"))
            .is_some_and(Value::is_number);
    envelope || wordpress
}

/// The error class of an error code when the status does not tell (a 200 with
/// `success: false`).
fn kind_from_code(code: Option<&str>) -> ErrorKind {
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
    Error::Api(Box::new(ApiError {
        kind,
        status: parts.status,
        code: parts.code,
        message: parts.message,
        request_id: parts.request_id,
        details: parts.details,
        params: parts.params,
        retry_after,
        bucket: (kind == ErrorKind::RateLimit).then(|| {
            header(headers, "x-ratelimit-bucket")
                .and_then(|b| b.parse().ok())
                .unwrap_or(bucket)
        }),
        body: parts.body,
    }))
}

fn empty_list_as_object(v: Value) -> Value {
    match v {
        Value::Array(a) if a.is_empty() => Value::Object(Map::new()),
        other => other,
    }
}

/// Decodes one answer. `bucket` is the endpoint's, for a 429 without `X-RateLimit-Bucket`.
pub(crate) fn decode(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    bucket: Bucket,
) -> Result<Payload, Error> {
    let ok = (200..300).contains(&status);
    let wp_total = header(headers, "x-wp-total").and_then(|v| v.parse().ok());
    let wp_total_pages = header(headers, "x-wp-totalpages").and_then(|v| v.parse().ok());
    let header_id = || header(headers, "x-request-id").map(str::to_owned);

    if body.iter().all(u8::is_ascii_whitespace) {
        if ok {
            return Ok(Payload {
                data: Value::Null,
                request_id: header_id(),
                wp_total,
                wp_total_pages,
            });
        }
        let parts = ErrorParts {
            status,
            code: None,
            message: format!("HTTP {status} with an empty body"),
            details: Value::Null,
            params: BTreeMap::new(),
            request_id: header_id(),
            body: Value::Null,
        };
        return Err(api_error(parts, headers, bucket));
    }

    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            let excerpt = snippet(body);
            if ok {
                return Err(Error::UnexpectedResponse {
                    status,
                    message: format!("the body is not JSON ({e})"),
                    snippet: excerpt,
                    request_id: header_id(),
                });
            }
            let parts = ErrorParts {
                status,
                code: None,
                message: format!("HTTP {status} with a non-JSON body: {excerpt}"),
                details: Value::Null,
                params: BTreeMap::new(),
                request_id: header_id(),
                body: Value::Null,
            };
            return Err(api_error(parts, headers, bucket));
        }
    };

    let Value::Object(map) = &value else {
        if ok {
            return Ok(Payload {
                data: value,
                request_id: header_id(),
                wp_total,
                wp_total_pages,
            });
        }
        let parts = ErrorParts {
            status,
            code: None,
            message: format!("HTTP {status}: {}", snippet(body)),
            details: Value::Null,
            params: BTreeMap::new(),
            request_id: header_id(),
            body: value,
        };
        return Err(api_error(parts, headers, bucket));
    };
    let request_id = request_id_of(map, headers);

    // The NexOTP envelope.
    if let Some(success) = map.get("success").and_then(Value::as_bool) {
        if success && ok {
            let data = map.get("data").cloned().unwrap_or(Value::Null);
            return Ok(Payload {
                data,
                request_id,
                wp_total,
                wp_total_pages,
            });
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
        return Err(api_error(parts, headers, bucket));
    }

    // WordPress's own error object.
    let wp_code = string_field(map, "code");
    let wp_status = map
        .get("data")
        .and_then(|d| d.get("status"))
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok());
    if let (Some(code), true) = (&wp_code, !ok || wp_status.is_some_and(|s| s >= 400)) {
        let data = map
            .get("data")
            .cloned()
            .map(empty_list_as_object)
            .unwrap_or(Value::Null);
        let status = if ok {
            wp_status.unwrap_or(status)
        } else {
            status
        };
        let parts = ErrorParts {
            status,
            code: Some(code.clone()),
            message: string_field(map, "message").unwrap_or_else(|| code.clone()),
            params: params_of(&data),
            details: data.get("details").cloned().unwrap_or(data.clone()),
            request_id,
            body: value.clone(),
        };
        return Err(api_error(parts, headers, bucket));
    }

    if ok {
        // A 2xx without an envelope is the payload itself.
        return Ok(Payload {
            data: value,
            request_id,
            wp_total,
            wp_total_pages,
        });
    }
    let parts = ErrorParts {
        status,
        code: wp_code,
        message: string_field(map, "message").unwrap_or_else(|| format!("HTTP {status}")),
        details: Value::Null,
        params: BTreeMap::new(),
        request_id,
        body: value.clone(),
    };
    Err(api_error(parts, headers, bucket))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use reqwest::header::HeaderValue;

    fn dec(status: u16, body: &str) -> Result<Payload, Error> {
        decode(status, &HeaderMap::new(), body.as_bytes(), Bucket::General)
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
        assert_eq!(ok.data["a"], 1);
        let bare = dec(200, r#"[{"code":"cty_us"}]"#).expect("bare");
        assert!(bare.data.is_array());
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
    }

    proptest! {
        #[test]
        fn decoder_never_panics(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(status, &HeaderMap::new(), &body, Bucket::Poll);
        }

        #[test]
        fn decoder_never_panics_on_json_like(status in 100u16..600, body in r#"\{("(success|data|error|code|message|meta|params|status)":(true|false|null|\[\]|\{\}|"x"|1|-1\.5|\{"status":[0-9]{1,6}\}),?){0,6}\}"#) {
            let _ = decode(status, &HeaderMap::new(), body.as_bytes(), Bucket::Order);
        }

        #[test]
        fn signature_parser_never_panics(header in ".{0,300}", body in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = crate::webhook::parse_signature_header(&header);
            let _ = crate::webhook::verify_at(&body, &header, "whsec_test", Duration::from_secs(300), 0);
        }
    }
}
