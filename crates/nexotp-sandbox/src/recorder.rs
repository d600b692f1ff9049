//! The request log: every API request the sandbox received (control requests excluded), with
//! the API key redacted, kept in a bounded ring so a benchmark cannot exhaust memory.
//! The same entries feed the console (`console.rs`), through the same redaction.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::rate_limit::Bucket;

/// What replaces the API key's value in recorded headers.
pub const REDACTED: &str = "[REDACTED]";

/// One API request as the sandbox received it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// The HTTP method as sent (before any method override).
    pub method: String,
    /// The path as sent (not decoded).
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// Headers in arrival order, names lowercase, repeated headers joined with `, `; the
    /// `X-NexOTP-API-Key` value is [`REDACTED`]. Serialised as a JSON object.
    #[serde(serialize_with = "headers_as_object")]
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8).
    pub body: String,
    /// The rate bucket of the matched endpoint, if a route matched.
    pub bucket: Option<Bucket>,
    /// The status answered, or `None` when the connection was dropped without an answer.
    pub status: Option<u16>,
    /// When it arrived, ISO 8601 UTC with milliseconds.
    pub at: String,
    /// The request id of the answer (`X-Request-Id`), when it has one.
    pub request_id: Option<String>,
    /// Milliseconds from the request's arrival to its answer (or to the dropped connection).
    pub latency_ms: u64,
    /// The HTTP version it came in: `"HTTP/1.1"` or `"HTTP/2.0"`.
    pub http_version: String,
}

impl RecordedRequest {
    /// The value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn headers_as_object<S: Serializer>(headers: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(headers.iter().map(|(k, v)| (k, v)))
}

/// A request as stored: cheap reference-counted parts, turned into a [`RecordedRequest`] only
/// when someone reads the log (so recording costs little on the hot path).
#[derive(Debug)]
pub(crate) struct LogEntry {
    pub version: http::Version,
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
    pub bucket: Option<Bucket>,
    pub status: Option<u16>,
    pub at_ms: u64,
    pub request_id: Option<String>,
    pub latency_ms: u64,
}

impl LogEntry {
    /// A redactor for this entry: the sandbox's key and the key this request presented.
    pub(crate) fn redactor(&self, api_key: &str) -> Redactor {
        let presented = self
            .headers
            .get_all(crate::endpoints::API_KEY_HEADER)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>();
        Redactor::new(api_key, &presented)
    }

    /// The public form, with the API key redacted everywhere: the key header's value, and any
    /// copy of the sandbox's key (or of the key this request presented) in another header, the
    /// path, the query or the body.
    pub(crate) fn to_public(&self, redactor: &Redactor) -> RecordedRequest {
        let headers = self
            .headers
            .keys()
            .map(|name| {
                let value = if name.as_str() == crate::endpoints::API_KEY_HEADER {
                    REDACTED.to_string()
                } else {
                    let values: Vec<String> = self
                        .headers
                        .get_all(name)
                        .iter()
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                        .collect();
                    redactor.text(&values.join(", ")).into_owned()
                };
                (name.as_str().to_string(), value)
            })
            .collect();
        RecordedRequest {
            method: self.method.as_str().to_string(),
            path: redactor.text(self.uri.path()).into_owned(),
            query: redactor.text(self.uri.query().unwrap_or("")).into_owned(),
            headers,
            body: redactor.bytes(&self.body),
            bucket: self.bucket,
            status: self.status,
            at: crate::util::iso8601_ms(self.at_ms),
            request_id: self.request_id.clone(),
            latency_ms: self.latency_ms,
            http_version: format!("{:?}", self.version),
        }
    }
}

/// Replaces secrets in text with [`REDACTED`]: each one as sent, percent-encoded (as in a query
/// string or a form) and JSON-escaped (as in a body, `/` escaped or not).
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    /// Every form of every secret, longest first (a longer form may contain a shorter one).
    needles: Vec<String>,
}

/// What `encodeURIComponent` and most clients' query encoders escape: all but the unreserved
/// characters (RFC 3986).
const URI_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The forms a secret takes on the wire: as is, form-encoded, percent-encoded (all
/// non-alphanumerics, and `encodeURIComponent`'s set), JSON-escaped with `\/` and without.
/// Always six, in this order (the record proxy pairs a secret's forms with its fake's).
pub(crate) fn wire_forms(secret: &str) -> [String; 6] {
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"');
    [
        secret.to_string(),
        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
        percent_encoding::utf8_percent_encode(secret, URI_COMPONENT).to_string(),
        json.replace('/', "\\/"),
        json.to_string(),
    ]
}

/// Keys a request presented are redacted elsewhere in it only from this length on: a short
/// wrong key ("x") is no secret, and replacing it would garble the whole entry.
const MIN_PRESENTED_LEN: usize = 8;

impl Redactor {
    /// A redactor of the sandbox's key (whatever its length) and of keys a request presented.
    pub fn new(api_key: &str, presented: &[String]) -> Self {
        let mut r = Redactor::default();
        r.add(api_key);
        for key in presented {
            if key.trim().len() >= MIN_PRESENTED_LEN {
                r.add(key.trim());
            }
        }
        r
    }

    fn add(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let forms = wire_forms(secret);
        for form in forms {
            if !form.is_empty() && !self.needles.contains(&form) {
                self.needles.push(form);
            }
        }
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// The text with every secret replaced.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = Cow::Owned(out.replace(needle.as_str(), REDACTED));
            }
        }
        out
    }

    /// Bytes as text (lossy UTF-8) with every secret replaced.
    pub fn bytes(&self, bytes: &[u8]) -> String {
        self.text(&String::from_utf8_lossy(bytes)).into_owned()
    }
}

/// A bounded log of requests.
#[derive(Debug)]
pub(crate) struct RequestLog {
    limit: usize,
    entries: VecDeque<Arc<LogEntry>>,
}

impl RequestLog {
    /// A log keeping at most `limit` entries (0 records nothing).
    pub fn new(limit: usize) -> Self {
        RequestLog {
            limit,
            entries: VecDeque::new(),
        }
    }

    /// Appends an entry, forgetting the oldest beyond the limit.
    pub fn push(&mut self, r: Arc<LogEntry>) {
        if self.limit == 0 {
            return;
        }
        if self.entries.len() >= self.limit {
            self.entries.pop_front();
        }
        self.entries.push_back(r);
    }

    /// All entries, oldest first, the key redacted.
    pub fn all(&self, api_key: &str) -> Vec<RecordedRequest> {
        self.entries
            .iter()
            .map(|e| e.to_public(&e.redactor(api_key)))
            .collect()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_key_is_redacted() {
        let r = Redactor::new("sk a/b+c", &["sk_live_presented".into(), "short".into()]);
        for (text, want) in [
            ("x sk a/b+c y", "x [REDACTED] y"),
            ("q=sk+a%2Fb%2Bc", "q=[REDACTED]"),
            ("q=sk%20a%2Fb%2Bc", "q=[REDACTED]"),
            (r#"{"k":"sk a\/b+c"}"#, r#"{"k":"[REDACTED]"}"#),
            ("Bearer sk_live_presented", "Bearer [REDACTED]"),
            // A short wrong key is no secret, and would garble everything.
            ("short and sweet", "short and sweet"),
        ] {
            assert_eq!(r.text(text), want, "{text}");
        }
        // An empty key redacts nothing (rather than everything).
        assert_eq!(Redactor::new("", &[]).text("abc"), "abc");
    }
}
