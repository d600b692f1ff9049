//! The traffic file that `record` writes and `replay` reads: plain JSON, one object per
//! exchange, readable and diffable, so a user can inspect (and edit) what was captured before
//! sharing it or committing it as a test fixture.
//!
//! ```json
//! {"format": "nexotp-traffic/1",
//!  "upstream": "https://example.com/wp-json/nexotp/v1/",
//!  "base_path": "/wp-json/nexotp/v1/",
//!  "exchanges": [
//!    {"request": {"method": "GET", "path": "/wp-json/nexotp/v1/order/5001", "query": "",
//!                 "headers": {"x-nexotp-api-key": "[REDACTED]"}, "body": ""},
//!     "response": {"status": 200, "headers": {"content-type": "application/json"},
//!                  "body": "{\"success\":true,...}"}}]}
//! ```
//!
//! Secrets never reach the file: see [`crate::record`] for what is redacted and how.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `format` value of the files this version writes and reads.
pub const TRAFFIC_FORMAT: &str = "nexotp-traffic/1";

/// A recording: where it came from and every exchange, in the order the requests arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Traffic {
    /// Always [`TRAFFIC_FORMAT`].
    pub format: String,
    /// The upstream base URL the proxy forwarded to.
    pub upstream: String,
    /// The path of that base URL (ends with `/`); a replay serves its base URL under it.
    pub base_path: String,
    /// The exchanges, oldest request first.
    pub exchanges: Vec<Exchange>,
}

/// One request and what the upstream answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request as the client sent it (secrets redacted).
    pub request: TrafficRequest,
    /// The upstream's answer; `None` when it could not be reached (see `error`).
    #[serde(default)]
    pub response: Option<TrafficResponse>,
    /// Why the upstream gave no answer (the client got a 502).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A recorded request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficRequest {
    /// HTTP method, uppercase.
    pub method: String,
    /// The path as sent (not decoded).
    pub path: String,
    /// The raw query string, empty when none.
    #[serde(default)]
    pub query: String,
    /// Headers (names lowercase, repeated ones joined with `, `), hop-by-hop ones left out.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body as text (lossy UTF-8).
    #[serde(default)]
    pub body: String,
}

/// A recorded answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers (names lowercase), hop-by-hop ones and `content-length` left out.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body as text (lossy UTF-8).
    #[serde(default)]
    pub body: String,
}

impl TrafficRequest {
    /// `METHOD path[?query]`, for messages.
    pub fn line(&self) -> String {
        if self.query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.query)
        }
    }
}

/// Headers a proxy must not pass on or record (RFC 9110 §7.6.1), plus those recomputed per
/// answer.
pub(crate) fn is_hop_header(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

/// Headers whose whole value is a credential: recorded as [`crate::REDACTED`].
pub(crate) fn is_secret_header(name: &str) -> bool {
    matches!(
        name,
        "x-nexotp-api-key" | "authorization" | "cookie" | "set-cookie" | "x-nexotp-signature"
    )
}

/// A header map as recorded: lowercase names, repeated values joined.
pub(crate) fn headers_to_map(headers: &http::HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_str();
        if is_hop_header(name) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        out.entry(name.to_string())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

/// What a replay compares: method, path, query (as sorted pairs, so parameter order does not
/// matter) and body (as JSON when it parses, so key order and spacing do not matter).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct MatchKey {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: String,
}

impl MatchKey {
    pub fn new(method: &str, path: &str, query: &str, body: &str) -> Self {
        let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.sort();
        let body = match serde_json::from_str::<serde_json::Value>(body) {
            Ok(json) => canonical_json(&json),
            Err(_) => body.to_string(),
        };
        MatchKey {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            query: pairs,
            body,
        }
    }

    pub fn of(request: &TrafficRequest) -> Self {
        MatchKey::new(
            &request.method,
            &request.path,
            &request.query,
            &request.body,
        )
    }

    /// How far apart two requests are: a method or path difference outweighs any query or
    /// body difference, so the closest request is the same endpoint whenever one exists.
    pub fn distance(&self, other: &MatchKey) -> usize {
        let query = |k: &MatchKey| {
            k.query
                .iter()
                .map(|(a, b)| format!("{a}={b}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        let method = usize::from(self.method != other.method) * 10_000;
        method
            + levenshtein(&self.path, &other.path) * 100
            + levenshtein(&query(self), &query(other)) * 10
            + levenshtein(&self.body, &other.body)
    }

    /// Which parts differ, for messages: `["path", "body"]`.
    pub fn differences(&self, other: &MatchKey) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.method != other.method {
            out.push("method");
        }
        if self.path != other.path {
            out.push("path");
        }
        if self.query != other.query {
            out.push("query");
        }
        if self.body != other.body {
            out.push("body");
        }
        out
    }
}

/// JSON with object keys sorted, for comparison.
fn canonical_json(v: &serde_json::Value) -> String {
    fn sort(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sort(&m[k]));
                }
                serde_json::Value::Object(out)
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

/// Edit distance of the first 256 characters of each (enough to rank candidates, and bounded
/// so a large body cannot make an unmatched request slow).
fn levenshtein(a: &str, b: &str) -> usize {
    const CAP: usize = 256;
    let a: Vec<char> = a.chars().take(CAP).collect();
    let b: Vec<char> = b.chars().take(CAP).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_query_order_and_json_layout() {
        let a = MatchKey::new("get", "/p", "b=2&a=1", r#"{"x":1,"y":[1,2]}"#);
        let b = MatchKey::new("GET", "/p", "a=1&b=2", r#"{ "y": [1, 2], "x": 1 }"#);
        assert_eq!(a, b);
        assert_ne!(a, MatchKey::new("GET", "/p", "a=1&b=3", ""));
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        let near = MatchKey::new("GET", "/order/5001", "", "");
        let far = MatchKey::new("POST", "/order/5001", "", "");
        let probe = MatchKey::new("GET", "/order/5002", "", "");
        assert!(probe.distance(&near) < probe.distance(&far));
        assert_eq!(probe.differences(&near), vec!["path"]);
    }
}
