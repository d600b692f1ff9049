//! Replay: serves the answers of a traffic file written by [`crate::record`], so tests run a
//! recorded real flow offline, in any language, without a network or an account.
//!
//! ```no_run
//! # async fn demo() -> Result<(), nexotp_sandbox::ReplayError> {
//! let replay = nexotp_sandbox::Replay::from_file("traffic.json")?.start().await?;
//! // Point the client at replay.base_url() with replay.api_key() (any key is accepted).
//! replay.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Matching: a request matches a recorded one with the same method, path, query (parameters
//! in any order) and body (compared as JSON when it parses, so key order and spacing do not
//! matter). Headers, including the API key, are not compared. Repeated identical requests (a
//! poll loop) get their recorded answers in the recorded order; once those run out, the last
//! one is served again, so a client that polls a few more times than when it was recorded
//! still sees the final state.
//!
//! A request matching nothing gets a 404 NexOTP error envelope, code `replay_no_match`, whose
//! message names the request and the closest recorded one (same method and path first) and
//! what differs; `details` has both in full. [`ReplayHandle::unmatched`] lists them for tests.
//! A recorded exchange without an answer (the upstream was unreachable) is served as the 502
//! the client got then.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use serde_json::json;

use crate::httpd::{self, Answer, Handler, Server, listen_addr};
use crate::traffic::{Exchange, MatchKey, TRAFFIC_FORMAT, Traffic, TrafficRequest};
use crate::util::lock;

/// The API key [`ReplayHandle::api_key`] suggests; a replay accepts any key.
pub const REPLAY_API_KEY: &str = "sk_test_replay";

/// The error code of the answer to a request that matches no recorded one.
pub const NO_MATCH_CODE: &str = "replay_no_match";

/// An error loading or starting a replay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The traffic file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The text is not a traffic file.
    #[error("not a nexotp traffic file: {0}")]
    Parse(String),
    /// The file is of another format version.
    #[error("unsupported traffic format {found:?} (this version reads {TRAFFIC_FORMAT:?})")]
    UnsupportedFormat {
        /// The `format` the file declares.
        found: String,
    },
    /// The listen address is not usable, or binding it failed.
    #[error("cannot listen: {0}")]
    Listen(#[source] io::Error),
}

/// A loaded recording, ready to [`Replay::start`].
#[derive(Debug, Clone)]
#[must_use = "a replay does nothing until `start` is awaited"]
pub struct Replay {
    traffic: Traffic,
    host: String,
    port: u16,
}

impl Replay {
    /// Loads a traffic file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Replay, ReplayError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ReplayError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Replay::from_json(&text)
    }

    /// Loads a traffic file's text.
    pub fn from_json(text: &str) -> Result<Replay, ReplayError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ReplayError::Parse(e.to_string()))?;
        let found = value
            .get("format")
            .and_then(|f| f.as_str())
            .ok_or_else(|| ReplayError::Parse("no \"format\" field".into()))?;
        if found != TRAFFIC_FORMAT {
            return Err(ReplayError::UnsupportedFormat {
                found: found.to_string(),
            });
        }
        let traffic: Traffic =
            serde_json::from_value(value).map_err(|e| ReplayError::Parse(e.to_string()))?;
        Ok(Replay::from_traffic(traffic))
    }

    /// A replay of a recording already in memory.
    pub fn from_traffic(traffic: Traffic) -> Replay {
        Replay {
            traffic,
            host: "127.0.0.1".into(),
            port: 0,
        }
    }

    /// The recording.
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    /// The host or IP to listen on (default `127.0.0.1`; `localhost` means `127.0.0.1`).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The port to listen on (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds the listener and starts serving. Must be called within a tokio runtime.
    pub async fn start(self) -> Result<ReplayHandle, ReplayError> {
        let addr = listen_addr(&self.host, self.port).map_err(ReplayError::Listen)?;
        let mut base_path = self.traffic.base_path.clone();
        if !base_path.starts_with('/') {
            base_path.insert(0, '/');
        }
        if !base_path.ends_with('/') {
            base_path.push('/');
        }
        let book = Arc::new(Mutex::new(Book::new(self.traffic.exchanges)));
        let handler_book = book.clone();
        let handler: Handler = Arc::new(move |parts, body| {
            let answer = answer(&handler_book, &parts, &body);
            Box::pin(async move { answer })
        });
        let server = Server::start(addr, handler)
            .await
            .map_err(ReplayError::Listen)?;
        Ok(ReplayHandle {
            base_url: format!("http://{}{}", server.addr, base_path),
            server,
            book,
        })
    }
}

/// A running replay. Dropping it stops the server; [`ReplayHandle::shutdown`] also waits for
/// requests in flight.
pub struct ReplayHandle {
    base_url: String,
    server: Server,
    book: Arc<Mutex<Book>>,
}

impl std::fmt::Debug for ReplayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayHandle")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ReplayHandle {
    /// The base URL to give the client: `http://127.0.0.1:PORT` + the recording's base path.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A key to give the client ([`REPLAY_API_KEY`]); any key is accepted.
    pub fn api_key(&self) -> &str {
        REPLAY_API_KEY
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// How many requests were answered from the recording.
    pub fn served(&self) -> usize {
        lock(&self.book).served
    }

    /// The requests that matched nothing, oldest first (as received; not redacted).
    pub fn unmatched(&self) -> Vec<TrafficRequest> {
        lock(&self.book).unmatched.clone()
    }

    /// How many recorded exchanges were never served.
    pub fn unused(&self) -> usize {
        let book = lock(&self.book);
        book.used.iter().filter(|u| !**u).count()
    }

    /// Starts again from the first recorded answer of every request.
    pub fn rewind(&self) {
        let mut book = lock(&self.book);
        let exchanges = std::mem::take(&mut book.exchanges);
        *book = Book::new(exchanges);
    }

    /// Stops accepting and lets requests in flight finish.
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}

/// The recording indexed for matching, and what was served.
struct Book {
    exchanges: Vec<Exchange>,
    keys: Vec<MatchKey>,
    /// Per request: the indices of its exchanges not served yet, and the last one served.
    queues: HashMap<MatchKey, (VecDeque<usize>, Option<usize>)>,
    used: Vec<bool>,
    served: usize,
    unmatched: Vec<TrafficRequest>,
}

impl Book {
    fn new(exchanges: Vec<Exchange>) -> Book {
        let keys: Vec<MatchKey> = exchanges.iter().map(|e| MatchKey::of(&e.request)).collect();
        let mut queues: HashMap<MatchKey, (VecDeque<usize>, Option<usize>)> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            queues.entry(key.clone()).or_default().0.push_back(i);
        }
        Book {
            used: vec![false; exchanges.len()],
            exchanges,
            keys,
            queues,
            served: 0,
            unmatched: Vec::new(),
        }
    }

    /// The exchange answering `key`: the next one in order, else the last one again.
    fn take(&mut self, key: &MatchKey) -> Option<usize> {
        let (queue, last) = self.queues.get_mut(key)?;
        let i = queue.pop_front().or(*last)?;
        *last = Some(i);
        self.used[i] = true;
        self.served += 1;
        Some(i)
    }
}

fn answer(book: &Mutex<Book>, parts: &http::request::Parts, body: &Bytes) -> Answer {
    let request = TrafficRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: Default::default(),
        body: String::from_utf8_lossy(body).into_owned(),
    };
    let key = MatchKey::of(&request);
    let mut book = lock(book);
    if let Some(i) = book.take(&key) {
        return recorded_answer(&book.exchanges[i]);
    }
    let closest = book
        .keys
        .iter()
        .enumerate()
        .min_by_key(|(_, k)| key.distance(k))
        .map(|(i, k)| (i, key.differences(k)));
    let mut message = format!(
        "nexotp-sandbox replay: no recorded exchange matches {}",
        request.line()
    );
    if !request.body.is_empty() {
        message.push_str(&format!(" with body {}", shorten(&request.body)));
    }
    let details = match closest {
        Some((i, differs)) => {
            let c = &book.exchanges[i].request;
            message.push_str(&format!(
                "; the closest recorded request (exchange {}) is {}",
                i + 1,
                c.line()
            ));
            if !c.body.is_empty() {
                message.push_str(&format!(" with body {}", shorten(&c.body)));
            }
            message.push_str(&format!(" (differs in {})", differs.join(", ")));
            json!({
                "request": request_json(&request),
                "closest": request_json(c),
                "closest_exchange": i + 1,
                "differs_in": differs,
            })
        }
        None => {
            message.push_str("; the recording is empty");
            json!({"request": request_json(&request), "closest": null})
        }
    };
    book.unmatched.push(request);
    httpd::envelope_error(404, NO_MATCH_CODE, &message, details)
}

fn request_json(r: &TrafficRequest) -> serde_json::Value {
    json!({"method": r.method, "path": r.path, "query": r.query, "body": r.body})
}

fn shorten(s: &str) -> String {
    const MAX: usize = 200;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn recorded_answer(e: &Exchange) -> Answer {
    let Some(r) = &e.response else {
        let message = e
            .error
            .clone()
            .unwrap_or_else(|| "the upstream did not answer".into());
        return httpd::envelope_error(502, "upstream_unreachable", &message, json!({}));
    };
    let mut answer = http::Response::new(Full::new(Bytes::from(r.body.clone())));
    *answer.status_mut() =
        http::StatusCode::from_u16(r.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    for (name, value) in &r.headers {
        if crate::traffic::is_hop_header(name) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            answer.headers_mut().append(name, value);
        }
    }
    answer
}
