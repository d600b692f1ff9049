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
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn headers_as_object<S: Serializer>(headers: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(headers.iter().map(|(k, v)| (k, v)))
}

/// A bounded log of requests.
#[derive(Debug)]
pub(crate) struct RequestLog {
    limit: usize,
    entries: VecDeque<RecordedRequest>,
}

impl RequestLog {
    /// A log keeping at most `limit` entries (0 records nothing).
    pub fn new(limit: usize) -> Self {
        RequestLog { limit, entries: VecDeque::new() }
    }

    /// Whether anything is recorded at all.
    pub fn enabled(&self) -> bool {
        self.limit > 0
    }

    /// Appends an entry, forgetting the oldest beyond the limit.
    pub fn push(&mut self, r: RecordedRequest) {
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
        self.entries.iter().cloned().collect()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
