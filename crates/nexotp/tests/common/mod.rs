//! Shared setup for the integration tests: an in-process `nexotp-sandbox` on loopback, a real
//! `nexotp::Client` pointed at it, small helpers to read the sandbox's request log and state,
//! and a minimal HTTP/1.1 server for what the sandbox cannot say (a WordPress validation error)
//! or for receiving its webhook deliveries.
#![allow(dead_code)]

use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nexotp::{Client, ClientBuilder, Decimal};
use nexotp_sandbox::{API_PREFIX, RecordedRequest, Sandbox, SandboxBuilder, SandboxHandle};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A distinctive key: any output that contains it leaks the secret.
pub const KEY: &str = "sk_test_SUPERSECRET_123";
/// Code delay of the test sandboxes.
pub const CODE_DELAY: Duration = Duration::from_millis(200);
/// Generous upper bound for anything that should happen "soon" on a loaded 2-core machine.
pub const SOON: Duration = Duration::from_secs(10);

/// A sandbox builder accepting [`KEY`], with a short code delay.
pub fn sandbox() -> SandboxBuilder {
    Sandbox::builder().api_key(KEY).code_delay(CODE_DELAY)
}

/// A client builder for `sb`: the test key, a 10 s timeout, no stderr logging.
pub fn client_builder(sb: &SandboxHandle) -> ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .base_url(sb.base_url())
        .timeout(Duration::from_secs(10))
        .log_from_env(false)
}

/// A client for `sb` with the defaults of [`client_builder`].
pub fn client(sb: &SandboxHandle) -> Client {
    client_builder(sb).build().expect("client builds")
}

/// A sandbox from [`sandbox`] and a client for it.
pub async fn setup() -> (SandboxHandle, Client) {
    setup_with(sandbox()).await
}

/// A sandbox from `builder` and a client for it.
pub async fn setup_with(builder: SandboxBuilder) -> (SandboxHandle, Client) {
    let sb = builder.start().await.expect("sandbox starts");
    let client = client(&sb);
    (sb, client)
}

/// An exact decimal.
pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("bad decimal {s:?}: {e}"))
}

/// A money value from the sandbox's JSON (a decimal string).
pub fn money(v: &Value) -> Decimal {
    dec(v
        .as_str()
        .unwrap_or_else(|| panic!("not a money string: {v}")))
}

/// The sandbox's orders, oldest first.
pub fn orders(sb: &SandboxHandle) -> Vec<Value> {
    sb.state()["orders"].as_array().cloned().unwrap_or_default()
}

/// One order of the sandbox, by id.
pub fn order_state(sb: &SandboxHandle, id: &str) -> Value {
    orders(sb)
        .into_iter()
        .find(|o| o["id"].as_u64().map(|n| n.to_string()).as_deref() == Some(id))
        .unwrap_or_else(|| panic!("the sandbox has no order {id}"))
}

/// The sandbox's ledger, oldest first.
pub fn ledger(sb: &SandboxHandle) -> Vec<Value> {
    sb.state()["transactions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The path of a recorded request below the API prefix (`/order/5001`).
pub fn route(r: &RecordedRequest) -> String {
    r.path
        .strip_prefix(API_PREFIX)
        .unwrap_or(&r.path)
        .to_owned()
}

/// Recorded API requests with this method whose route matches `route` exactly.
pub fn requests_to(sb: &SandboxHandle, method: &str, path: &str) -> Vec<RecordedRequest> {
    sb.requests()
        .into_iter()
        .filter(|r| r.method == method && route(r) == path)
        .collect()
}

/// Polls `check` every 10 ms until it holds, panicking after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs `fut`, failing the test if it takes longer than `limit` (so a bug hangs nothing).
pub async fn within<T>(limit: Duration, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}"))
}

/// A port on which nothing listens (bound, then released).
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// One request received by [`TinyServer`].
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A canned answer of [`TinyServer`].
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Canned {
    pub fn json(status: u16, body: &str) -> Canned {
        Canned {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_owned(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Canned {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A minimal HTTP/1.1 server on loopback: records every request, answers each with the same
/// canned response and closes the connection. Enough for webhook deliveries and for answers
/// the sandbox never gives (a WordPress `rest_invalid_param` reaching the real client).
pub struct TinyServer {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TinyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TinyServer {
    pub async fn start(answer: Canned) -> TinyServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let store = Arc::clone(&store);
                let answer = answer.clone();
                tokio::spawn(async move {
                    if let Some(req) = read_request(&mut stream).await {
                        store.lock().expect("lock").push(req);
                        let mut out = format!(
                            "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                            answer.status,
                            answer.body.len()
                        );
                        for (k, v) in &answer.headers {
                            out.push_str(&format!("{k}: {v}\r\n"));
                        }
                        out.push_str("\r\n");
                        out.push_str(&answer.body);
                        let _ = stream.write_all(out.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    }
                });
            }
        });
        TinyServer {
            url: format!("http://{addr}/"),
            received,
            task,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        method,
        path,
        headers,
        body,
    })
}

/// When the sandbox received a request, in unix milliseconds (from its `at` field,
/// `2026-11-26T08:00:00.123Z`).
pub fn at_ms(r: &RecordedRequest) -> i64 {
    let at = nexotp::parse_timestamp(&r.at).expect("an RFC 3339 timestamp");
    let since = at
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since.as_millis()).expect("fits")
}

/// A client that does not retry.
pub fn no_retries(client: &Client) -> Client {
    client
        .with_options(nexotp::RequestOptions::new().max_retries(0))
        .expect("options")
}

/// A one-entry fault script.
pub fn script(
    pattern: &str,
    fault: nexotp_sandbox::FaultKind,
    times: u32,
) -> nexotp_sandbox::Faults {
    nexotp_sandbox::Faults::none().then(
        nexotp_sandbox::ScriptedFault::new(fault)
            .matching(pattern)
            .times(times),
    )
}

/// A scripted status answer.
pub fn status_fault(
    status: u16,
    retry_after: Option<&str>,
    envelope: bool,
    code: Option<&str>,
) -> nexotp_sandbox::FaultKind {
    nexotp_sandbox::FaultKind::Status {
        status,
        retry_after: retry_after.map(str::to_owned),
        envelope,
        code: code.map(str::to_owned),
    }
}

/// A request observer that keeps every attempt's record.
#[derive(Default)]
pub struct Attempts(pub Mutex<Vec<nexotp::RequestRecord>>);

impl nexotp::RequestObserver for Attempts {
    fn on_request(&self, record: &nexotp::RequestRecord) {
        self.0.lock().expect("lock").push(record.clone());
    }
}

impl Attempts {
    pub fn all(&self) -> Vec<nexotp::RequestRecord> {
        self.0.lock().expect("lock").clone()
    }
}

/// Every rendering of an error: Display, Debug, and the whole source chain.
pub fn renderings(err: &nexotp::Error) -> String {
    let mut out = format!("{err}\n{err:?}\n{err:#?}");
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        out.push_str(&format!("\n{inner}\n{inner:?}"));
        source = inner.source();
    }
    out
}
