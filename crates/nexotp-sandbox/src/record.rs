//! Record: a forwarding proxy in front of a real NexOTP server that writes every exchange to a
//! traffic file ([`crate::Traffic`]) with the secrets taken out, so that a user's real traffic
//! becomes a fixture their tests (in any language) can replay offline ([`crate::replay`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), nexotp_sandbox::RecordError> {
//! let proxy = nexotp_sandbox::Recorder::builder()
//!     .upstream("https://example.com/wp-json/nexotp/v1/")
//!     .out("traffic.json")
//!     .start()
//!     .await?;
//! // Point the client at proxy.base_url() (http://127.0.0.1:PORT/wp-json/nexotp/v1/) with the
//! // real API key, run the flow, then:
//! proxy.shutdown().await?; // writes the file one last time
//! # Ok(()) }
//! ```
//!
//! What never reaches the file (each secret in every form it may take in a URL or a JSON body:
//! as is, percent-encoded, JSON-escaped):
//! - the API key: the `X-NexOTP-API-Key` header's value becomes [`crate::REDACTED`], and so does
//!   any copy of it elsewhere (path, query, body, another header);
//! - `Authorization`, `Cookie`, `Set-Cookie` and signature headers: [`crate::REDACTED`];
//! - webhook secrets (any JSON `"secret"` value, and any `whsec_...` string): replaced by
//!   `whsec_redacted_N`, N counting distinct secrets;
//! - phone numbers (JSON `"phone"`, `"phone_number"` and `"number"` values that look like one):
//!   replaced **consistently** by fake numbers `+999000000NN` (+999 is no country's code): the
//!   same real number becomes the same fake number everywhere in the file, so a replayed flow
//!   that sends a number back finds its recorded request.
//!
//! Secrets are collected from every exchange, and the whole file is redacted with all of them
//! each time it is written, so a secret first seen late is also removed from earlier exchanges.
//! The file is rewritten at most every 100 ms while traffic flows, and at [`RecordHandle::shutdown`].
//!
//! Plain `http://` upstreams are accepted only on loopback hosts, as the SDK does; HTTPS goes
//! through reqwest with rustls. Compression is not negotiated with the upstream (the proxy drops
//! `Accept-Encoding`) so that every body can be redacted. Webhook deliveries go from the server
//! straight to their endpoints, not through the proxy, so they are not recorded.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::httpd::{self, Answer, Handler, Server, listen_addr};
use crate::recorder::REDACTED;
use crate::traffic::{
    Exchange, TRAFFIC_FORMAT, Traffic, TrafficRequest, TrafficResponse, headers_to_map,
    is_hop_header, is_secret_header,
};
use crate::util::lock;

/// An error of the record proxy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// No upstream was given.
    #[error("no upstream: give the real API's base URL (https://.../wp-json/nexotp/v1/)")]
    MissingUpstream,
    /// The upstream URL is not usable.
    #[error("invalid upstream {url:?}: {reason}")]
    InvalidUpstream {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No output file was given.
    #[error("no output file: give the path of the traffic file to write")]
    MissingOut,
    /// The listen address is not usable, or binding it failed.
    #[error("cannot listen: {0}")]
    Listen(#[source] io::Error),
    /// The HTTP client for the upstream could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// Writing the traffic file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Entry point: `Recorder::builder().upstream(url).out(path).start().await` gives a
/// [`RecordHandle`].
#[derive(Debug)]
pub struct Recorder {
    _private: (),
}

impl Recorder {
    /// A builder: listen on `127.0.0.1`, any free port; upstream and output file required.
    pub fn builder() -> RecorderBuilder {
        RecorderBuilder {
            upstream: None,
            out: None,
            host: "127.0.0.1".into(),
            port: 0,
            timeout: Duration::from_secs(120),
            ca_pems: Vec::new(),
        }
    }
}

/// Configures and starts a record proxy.
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `start` is awaited"]
pub struct RecorderBuilder {
    upstream: Option<String>,
    out: Option<PathBuf>,
    host: String,
    port: u16,
    timeout: Duration,
    ca_pems: Vec<String>,
}

impl RecorderBuilder {
    /// The real API's base URL, e.g. `https://example.com/wp-json/nexotp/v1/` (`http://` only
    /// for loopback hosts; no credentials, query or fragment).
    pub fn upstream(mut self, url: impl Into<String>) -> Self {
        self.upstream = Some(url.into());
        self
    }

    /// The traffic file to write (created or replaced).
    pub fn out(mut self, path: impl Into<PathBuf>) -> Self {
        self.out = Some(path.into());
        self
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

    /// How long one upstream exchange may take (default 120 s); past it the client gets a 502.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Also trusts this CA certificate (PEM text, one or more certificates) for the upstream's
    /// TLS, besides the built-in roots: a corporate TLS-inspecting proxy's or a test CA's.
    pub fn ca_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.ca_pems.push(pem.into());
        self
    }

    /// Checks the settings, writes an empty traffic file (so an unwritable path fails here),
    /// binds the listener and starts forwarding. Must be called within a tokio runtime.
    pub async fn start(self) -> Result<RecordHandle, RecordError> {
        let raw = self.upstream.ok_or(RecordError::MissingUpstream)?;
        let upstream = parse_upstream(&raw)?;
        let out = self.out.ok_or(RecordError::MissingOut)?;
        let addr = listen_addr(&self.host, self.port).map_err(RecordError::Listen)?;
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout);
        for pem in &self.ca_pems {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| RecordError::Client(format!("invalid CA certificate: {e}")))?;
            if certs.is_empty() {
                return Err(RecordError::Client(
                    "invalid CA certificate: no PEM certificate found".into(),
                ));
            }
            for cert in certs {
                http = http.add_root_certificate(cert);
            }
        }
        if upstream.loopback {
            // A system proxy must not capture traffic meant for this machine.
            http = http.no_proxy();
        }
        let http = http
            .build()
            .map_err(|e| RecordError::Client(e.to_string()))?;
        let shared = Arc::new(Shared {
            upstream: upstream.clone(),
            out: out.clone(),
            http,
            log: Mutex::new(Log::default()),
            dirty: Notify::new(),
            writing: Mutex::new(()),
        });
        shared.write()?;
        let handler_shared = shared.clone();
        let handler: Handler = Arc::new(move |parts, body| {
            let shared = handler_shared.clone();
            Box::pin(async move { forward(&shared, parts, body).await })
        });
        let server = Server::start(addr, handler)
            .await
            .map_err(RecordError::Listen)?;
        let writer = tokio::spawn(writer(shared.clone()));
        Ok(RecordHandle {
            base_url: format!("http://{}{}", server.addr, upstream.base_path),
            server,
            shared,
            writer,
        })
    }
}

/// A running record proxy. Dropping it stops the server (without a final write);
/// [`RecordHandle::shutdown`] stops it and writes the file.
pub struct RecordHandle {
    base_url: String,
    server: Server,
    shared: Arc<Shared>,
    writer: JoinHandle<()>,
}

impl std::fmt::Debug for RecordHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordHandle")
            .field("base_url", &self.base_url)
            .field("out", &self.shared.out)
            .finish_non_exhaustive()
    }
}

impl RecordHandle {
    /// The base URL to give the client instead of the real one:
    /// `http://127.0.0.1:PORT` + the upstream's path (e.g. `/wp-json/nexotp/v1/`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the proxy listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The traffic file.
    pub fn out_path(&self) -> &Path {
        &self.shared.out
    }

    /// How many exchanges were recorded so far.
    pub fn exchanges(&self) -> usize {
        lock(&self.shared.log).done.len()
    }

    /// The recording so far, redacted exactly as the file is.
    pub fn traffic(&self) -> Traffic {
        self.shared.traffic()
    }

    /// Stops accepting, lets requests in flight finish, and writes the file a last time.
    pub async fn shutdown(mut self) -> Result<(), RecordError> {
        self.server.shutdown().await;
        self.writer.abort();
        self.shared.write()
    }
}

impl Drop for RecordHandle {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

/// The upstream, split for forwarding.
#[derive(Debug, Clone)]
struct Upstream {
    /// The URL as given, normalised (ends with `/`).
    url: String,
    /// `scheme://host[:port]`.
    origin: String,
    /// The path, ending with `/`.
    base_path: String,
    loopback: bool,
}

fn parse_upstream(raw: &str) -> Result<Upstream, RecordError> {
    let invalid = |reason: &str| RecordError::InvalidUpstream {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    let url = url::Url::parse(raw.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(invalid("has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(invalid(
                "must use https (plain http is allowed only for localhost / loopback addresses)",
            ));
        }
        _ => return Err(invalid("must use https")),
    }
    let mut base_path = url.path().to_string();
    if !base_path.ends_with('/') {
        base_path.push('/');
    }
    let origin = url.origin().ascii_serialization();
    Ok(Upstream {
        url: format!("{origin}{base_path}"),
        origin,
        base_path,
        loopback,
    })
}

/// A recorded exchange before redaction, with the order its request arrived in.
#[derive(Debug, Clone)]
struct RawExchange {
    seq: u64,
    exchange: Exchange,
}

#[derive(Debug, Default)]
struct Log {
    next_seq: u64,
    done: Vec<RawExchange>,
    secrets: Secrets,
}

struct Shared {
    upstream: Upstream,
    out: PathBuf,
    http: reqwest::Client,
    log: Mutex<Log>,
    dirty: Notify,
    /// Held while the file is written: the background writer and `shutdown` never interleave.
    writing: Mutex<()>,
}

impl Shared {
    fn traffic(&self) -> Traffic {
        let log = lock(&self.log);
        let mut done: Vec<&RawExchange> = log.done.iter().collect();
        done.sort_by_key(|r| r.seq);
        let scrub = log.secrets.scrubber();
        Traffic {
            format: TRAFFIC_FORMAT.to_string(),
            upstream: self.upstream.url.clone(),
            base_path: self.upstream.base_path.clone(),
            exchanges: done.iter().map(|r| scrub.exchange(&r.exchange)).collect(),
        }
    }

    /// Writes the file through a temporary sibling and a rename, so a reader never sees half.
    fn write(&self) -> Result<(), RecordError> {
        let _writing = lock(&self.writing);
        let traffic = self.traffic();
        let write_err = |source| RecordError::Write {
            path: self.out.clone(),
            source,
        };
        let text =
            serde_json::to_string_pretty(&traffic).map_err(|e| write_err(io::Error::other(e)))?;
        let mut tmp = self.out.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, text.as_bytes()).map_err(write_err)?;
        std::fs::rename(&tmp, &self.out).map_err(write_err)
    }
}

/// Rewrites the file after new exchanges, at most every 100 ms.
async fn writer(shared: Arc<Shared>) {
    loop {
        shared.dirty.notified().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let shared = shared.clone();
        // A failed write is retried with the next exchange and reported by `shutdown`.
        let _ = tokio::task::spawn_blocking(move || shared.write()).await;
    }
}

/// Forwards one request and records the exchange.
async fn forward(shared: &Shared, parts: http::request::Parts, body: Bytes) -> Answer {
    let seq = {
        let mut log = lock(&shared.log);
        log.next_seq += 1;
        log.next_seq
    };
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let mut url = format!("{}{}", shared.upstream.origin, path);
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query);
    }
    let mut request_headers = headers_to_map(&parts.headers);
    request_headers.remove("accept-encoding");
    let request = TrafficRequest {
        method: parts.method.as_str().to_string(),
        path,
        query,
        headers: request_headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let mut outgoing = shared.http.request(parts.method.clone(), &url);
    for (name, value) in &parts.headers {
        let n = name.as_str();
        if !is_hop_header(n) && n != "accept-encoding" {
            outgoing = outgoing.header(name, value);
        }
    }
    let result = async {
        let resp = outgoing.body(body).send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?;
        Ok::<_, reqwest::Error>((status, headers, body))
    }
    .await;
    let (answer, exchange) = match result {
        Ok((status, headers, body)) => {
            let mut answer = http::Response::new(Full::new(body.clone()));
            *answer.status_mut() = status;
            for (name, value) in &headers {
                if !is_hop_header(name.as_str()) {
                    answer.headers_mut().append(name, value.clone());
                }
            }
            let mut recorded_headers = headers_to_map(&headers);
            recorded_headers.remove("date");
            let response = TrafficResponse {
                status: status.as_u16(),
                headers: recorded_headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            let exchange = Exchange {
                request,
                response: Some(response),
                error: None,
            };
            (answer, exchange)
        }
        Err(e) => {
            // reqwest's message names the URL, which carries no secret (no credentials, and
            // the key travels in a header); it is redacted with the rest anyway.
            let message = format!("nexotp-sandbox record: the upstream did not answer: {e}");
            let answer = httpd::envelope_error(
                502,
                "upstream_unreachable",
                &message,
                serde_json::json!({"upstream": shared.upstream.url}),
            );
            let exchange = Exchange {
                request,
                response: None,
                error: Some(message),
            };
            (answer, exchange)
        }
    };
    {
        let mut log = lock(&shared.log);
        log.secrets.learn(&exchange);
        log.done.push(RawExchange { seq, exchange });
    }
    shared.dirty.notify_one();
    answer
}

/// The secrets seen so far and their replacements, in the order first seen.
#[derive(Debug, Default)]
struct Secrets {
    /// (real, replacement), every kind.
    pairs: Vec<(String, String)>,
    webhook_secrets: usize,
    phones: usize,
}

/// Keys a request presented are treated as secrets only from this length on (as in the
/// sandbox's request log): a one-letter wrong key would garble the whole file.
const MIN_KEY_LEN: usize = 8;

impl Secrets {
    fn known(&self, real: &str) -> bool {
        self.pairs.iter().any(|(r, _)| r == real)
    }

    /// Collects the secrets of one exchange.
    fn learn(&mut self, exchange: &Exchange) {
        for (name, value) in &exchange.request.headers {
            if is_secret_header(name) {
                for part in value.split(", ") {
                    let part = part.trim();
                    if part.len() >= MIN_KEY_LEN && !self.known(part) {
                        self.pairs.push((part.to_string(), REDACTED.to_string()));
                    }
                }
            }
        }
        let mut bodies = vec![exchange.request.body.as_str()];
        if let Some(r) = &exchange.response {
            bodies.push(r.body.as_str());
        }
        for body in bodies {
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
                self.walk(&json, None);
            }
        }
    }

    fn walk(&mut self, v: &serde_json::Value, key: Option<&str>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    self.walk(v, Some(k));
                }
            }
            serde_json::Value::Array(a) => {
                for v in a {
                    self.walk(v, key);
                }
            }
            serde_json::Value::String(s) => {
                if s.is_empty() || self.known(s) {
                    return;
                }
                let key = key.unwrap_or("");
                if key == "secret" || s.starts_with("whsec_") {
                    self.webhook_secrets += 1;
                    let fake = format!("whsec_redacted_{}", self.webhook_secrets);
                    self.pairs.push((s.clone(), fake));
                } else if matches!(key, "phone" | "phone_number" | "number") && looks_like_phone(s)
                {
                    self.phones += 1;
                    let fake = format!("+999{:08}", self.phones);
                    self.pairs.push((s.clone(), fake));
                }
            }
            _ => {}
        }
    }

    fn scrubber(&self) -> Scrubber {
        let mut needles: Vec<(String, String)> = Vec::new();
        for (real, fake) in &self.pairs {
            for (form_real, form_fake) in forms(real).into_iter().zip(forms(fake)) {
                if !form_real.is_empty() && !needles.iter().any(|(r, _)| *r == form_real) {
                    needles.push((form_real, form_fake));
                }
            }
        }
        // A longer form may contain a shorter one: replace the longer first.
        needles.sort_by_key(|(r, _)| std::cmp::Reverse(r.len()));
        Scrubber { needles }
    }
}

/// `+`, digits, spaces, dashes, dots and parentheses, with 6 to 15 digits.
fn looks_like_phone(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    (6..=15).contains(&digits)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b" +-().".contains(&b))
}

/// The forms a value takes on the wire, always in the same order so real and fake forms pair up.
fn forms(s: &str) -> Vec<String> {
    crate::recorder::wire_forms(s).to_vec()
}

/// Replaces every known secret in text.
struct Scrubber {
    needles: Vec<(String, String)>,
}

impl Scrubber {
    fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (real, fake) in &self.needles {
            if out.contains(real.as_str()) {
                out = out.replace(real.as_str(), fake);
            }
        }
        out
    }

    fn headers(
        &self,
        headers: &std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        headers
            .iter()
            .map(|(k, v)| {
                let v = if is_secret_header(k) {
                    REDACTED.to_string()
                } else {
                    self.text(v)
                };
                (k.clone(), v)
            })
            .collect()
    }

    fn exchange(&self, e: &Exchange) -> Exchange {
        Exchange {
            request: TrafficRequest {
                method: e.request.method.clone(),
                path: self.text(&e.request.path),
                query: self.text(&e.request.query),
                headers: self.headers(&e.request.headers),
                body: self.text(&e.request.body),
            },
            response: e.response.as_ref().map(|r| TrafficResponse {
                status: r.status,
                headers: self.headers(&r.headers),
                body: self.text(&r.body),
            }),
            error: e.error.as_deref().map(|m| self.text(m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(req_body: &str, resp_body: &str) -> Exchange {
        let mut headers = std::collections::BTreeMap::new();
        headers.insert("x-nexotp-api-key".into(), "sk_live_abcdefgh".into());
        Exchange {
            request: TrafficRequest {
                method: "POST".into(),
                path: "/x".into(),
                query: "key=sk_live_abcdefgh&phone=%2B15550001111".into(),
                headers,
                body: req_body.into(),
            },
            response: Some(TrafficResponse {
                status: 200,
                headers: Default::default(),
                body: resp_body.into(),
            }),
            error: None,
        }
    }

    #[test]
    fn secrets_and_phones_are_replaced_consistently() {
        let mut s = Secrets::default();
        let a = exchange(
            "",
            r#"{"data":{"phone":"+15550001111","secret":"whsec_abc\/def","x":"+15550001111"}}"#,
        );
        let b = exchange(
            r#"{"note":"sk_live_abcdefgh"}"#,
            r#"{"data":{"phone":"+15550002222"}}"#,
        );
        s.learn(&a);
        s.learn(&b);
        let scrub = s.scrubber();
        let a = scrub.exchange(&a);
        let b = scrub.exchange(&b);
        let all = format!("{a:?}{b:?}");
        for secret in [
            "sk_live_abcdefgh",
            "whsec_abc",
            "15550001111",
            "15550002222",
        ] {
            assert!(!all.contains(secret), "{secret} leaked: {all}");
        }
        assert_eq!(a.request.query, "key=[REDACTED]&phone=%2B99900000001");
        let body = &a
            .response
            .as_ref()
            .map(|r| r.body.clone())
            .unwrap_or_default();
        assert!(body.contains(r#""phone":"+99900000001""#), "{body}");
        assert!(body.contains(r#""x":"+99900000001""#), "{body}");
        assert!(body.contains("whsec_redacted_1"), "{body}");
        assert_eq!(b.request.body, r#"{"note":"[REDACTED]"}"#);
    }

    #[test]
    fn upstreams_follow_the_sdk_rules() {
        assert!(parse_upstream("https://example.com/wp-json/nexotp/v1").is_ok());
        assert!(parse_upstream("http://127.0.0.1:9/wp-json/nexotp/v1/").is_ok());
        assert!(parse_upstream("http://example.com/").is_err());
        assert!(parse_upstream("https://u:p@example.com/").is_err());
        assert!(parse_upstream("https://example.com/?x=1").is_err());
        let u = parse_upstream("https://example.com:8443/wp-json/nexotp/v1").ok();
        assert_eq!(
            u.map(|u| (u.origin, u.base_path)),
            Some((
                "https://example.com:8443".to_string(),
                "/wp-json/nexotp/v1/".to_string()
            ))
        );
    }
}
