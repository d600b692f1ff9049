//! What the client tells the outside world about each attempt.
//!
//! Every attempt emits a `tracing` span (for Rust users) and a [`RequestRecord`] to each
//! [`RequestObserver`]. Observers exist so bindings can log without a tracing subscriber: the
//! Python binding queues records and hands them to `logging` on the Python thread (no Python
//! object is touched inside a tokio task), and `NEXOTP_LOG=debug` prints them to stderr in every
//! language. A record never contains the API key: it holds no headers at all.

use std::io::Write;
use std::time::Duration;

use crate::buckets::Bucket;

/// One attempt of one request.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RequestRecord {
    /// HTTP method.
    pub method: &'static str,
    /// Path below the base URL, with the query (never the key).
    pub path: String,
    /// Rate bucket.
    pub bucket: Bucket,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Time from sending to the whole answer (or the failure).
    pub elapsed: Duration,
    /// The response's request id, when it had one.
    pub request_id: Option<String>,
    /// The transport error, when no response arrived.
    pub error: Option<String>,
    /// The HTTP version the answer came in (`"HTTP/1.1"`, `"HTTP/2"`), when one arrived.
    pub http_version: Option<&'static str>,
}

impl RequestRecord {
    /// A one-line rendering: `GET /order/5001 200 1.2ms attempt=1 bucket=POLL`.
    pub fn to_line(&self) -> String {
        let outcome = match (self.status, &self.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(err)) => format!("error ({err})"),
            (None, None) => "no response".to_owned(),
        };
        let mut line = format!(
            "{} /{} {} {:.1}ms attempt={} bucket={}",
            self.method,
            self.path,
            outcome,
            self.elapsed.as_secs_f64() * 1000.0,
            self.attempt,
            self.bucket
        );
        if let Some(id) = &self.request_id {
            line.push_str(" request_id=");
            line.push_str(id);
        }
        line
    }
}

/// A change in the health of the client's rate-limit store (say Redis), told once per outage.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StoreEvent {
    /// The store failed or was too slow: calls are answered from the in-memory store.
    Unavailable {
        /// What failed (never a password).
        error: String,
    },
    /// The store answers again, after being unavailable for `after`.
    Recovered {
        /// How long it was unavailable.
        after: Duration,
    },
}

impl StoreEvent {
    /// A one-line rendering.
    pub fn to_line(&self) -> String {
        match self {
            StoreEvent::Unavailable { error } => format!(
                "rate-limit store unavailable, using in-memory buckets until it answers ({error})"
            ),
            StoreEvent::Recovered { after } => format!(
                "rate-limit store answers again after {:.1} s; buckets are shared again",
                after.as_secs_f64()
            ),
        }
    }
}

/// Receives a [`RequestRecord`] after every attempt. Called on the runtime's thread: keep it
/// short and never block.
pub trait RequestObserver: Send + Sync {
    /// Called once per attempt.
    fn on_request(&self, record: &RequestRecord);

    /// Called when the rate-limit store starts failing and when it answers again (once per
    /// outage). Does nothing by default.
    fn on_store_event(&self, event: &StoreEvent) {
        let _ = event;
    }
}

/// Prints one line per attempt to stderr; turned on by `NEXOTP_LOG=debug` (or `info`, `trace`).
#[derive(Debug, Default, Clone, Copy)]
pub struct StderrLogger;

impl StderrLogger {
    /// `Some` when `NEXOTP_LOG` asks for request logging.
    pub fn from_env() -> Option<StderrLogger> {
        StderrLogger::from_level(&std::env::var("NEXOTP_LOG").ok()?)
    }

    /// `Some` when `level` (a `NEXOTP_LOG` value) asks for request logging. For bindings whose
    /// host keeps its own copy of the environment (Node's `process.env` in a worker thread).
    pub fn from_level(level: &str) -> Option<StderrLogger> {
        matches!(
            level.trim().to_ascii_lowercase().as_str(),
            "debug" | "info" | "trace" | "1" | "true"
        )
        .then_some(StderrLogger)
    }
}

impl RequestObserver for StderrLogger {
    fn on_request(&self, record: &RequestRecord) {
        let line = format!("nexotp: {}\n", record.to_line());
        // A closed stderr must not fail the request.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn on_store_event(&self, event: &StoreEvent) {
        let line = format!("nexotp: {}\n", event.to_line());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}
