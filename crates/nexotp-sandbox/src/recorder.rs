//! The request log: every API request the sandbox received (control requests excluded), with
//! the API key redacted, kept in a bounded ring so a benchmark cannot exhaust memory.

use std::collections::VecDeque;

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
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
    pub bucket: Option<Bucket>,
    pub status: Option<u16>,
    pub at_ms: u64,
}

impl LogEntry {
    fn to_public(&self) -> RecordedRequest {
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
                    values.join(", ")
                };
                (name.as_str().to_string(), value)
            })
            .collect();
        RecordedRequest {
            method: self.method.as_str().to_string(),
            path: self.uri.path().to_string(),
            query: self.uri.query().unwrap_or("").to_string(),
            headers,
            body: String::from_utf8_lossy(&self.body).into_owned(),
            bucket: self.bucket,
            status: self.status,
            at: crate::util::iso8601_ms(self.at_ms),
        }
    }
}

/// A bounded log of requests.
#[derive(Debug)]
pub(crate) struct RequestLog {
    limit: usize,
    entries: VecDeque<LogEntry>,
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
    pub fn push(&mut self, r: LogEntry) {
        if self.limit == 0 {
            return;
        }
        if self.entries.len() >= self.limit {
            self.entries.pop_front();
        }
        self.entries.push_back(r);
    }

    /// All entries, oldest first.
    pub fn all(&self) -> Vec<RecordedRequest> {
        self.entries.iter().map(LogEntry::to_public).collect()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
