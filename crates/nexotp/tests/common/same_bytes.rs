//! The cross-language wire table (`spec/same-bytes.json`), shared by the core's test
//! (`tests/same_bytes.rs`, which also writes the expected requests) and the CLI's.
//!
//! Why a table: the Python, Node and CLI front ends each convert their arguments before the
//! core sends anything, and a conversion that differs (a default filled in, a number written
//! another way) changes the bytes on the wire. Every language runs the same calls against a
//! sandbox and compares what the sandbox received with the requests recorded here.
#![allow(dead_code)]

use std::path::PathBuf;

use nexotp_sandbox::RecordedRequest;
use serde_json::{Map, Value, json};

/// Where the table lives.
pub fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spec/same-bytes.json")
}

/// The table as JSON.
pub fn load() -> Value {
    let text = std::fs::read_to_string(path()).expect("spec/same-bytes.json is readable");
    serde_json::from_str(&text).expect("spec/same-bytes.json is JSON")
}

/// The calls, in order.
pub fn calls(table: &Value) -> Vec<Value> {
    table["calls"].as_array().cloned().unwrap_or_default()
}

/// Headers that differ by language or sandbox on purpose: the user agent names the language,
/// the host names the sandbox's port.
pub const IGNORED_HEADERS: [&str; 2] = ["user-agent", "host"];

/// A logged request in the table's form: method, path, query, body, and the headers (but
/// [`IGNORED_HEADERS`]) as an object with sorted keys.
pub fn normalise(r: &RecordedRequest) -> Value {
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| !IGNORED_HEADERS.contains(&k.as_str()))
        .cloned()
        .collect();
    headers.sort();
    let headers: Map<String, Value> = headers
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    json!({
        "method": r.method,
        "path": r.path,
        "query": r.query,
        "body": r.body,
        "headers": headers,
    })
}

/// Every difference between what each call sent (`got[i]`) and the table's `expect`, one
/// line each; empty when identical.
pub fn differences(table: &Value, got: &[Vec<Value>]) -> Vec<String> {
    let mut out = Vec::new();
    for (call, sent) in calls(table).iter().zip(got) {
        let expected = call["expect"].as_array().cloned().unwrap_or_default();
        if &expected != sent {
            out.push(format!(
                "{}: expected {}\n   sent {}",
                call["name"],
                Value::Array(expected),
                Value::Array(sent.clone())
            ));
        }
    }
    out
}

/// An argument as text (strings as they are, numbers by their JSON form).
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}
