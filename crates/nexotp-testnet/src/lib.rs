//! Test fixtures for the SDK's network options, all on loopback:
//!
//! - [`TestCa`]: a certificate authority made on the spot, and a server certificate it signed
//!   for `localhost`, `127.0.0.1`, `api.nexotp.test` and `direct.nexotp.test`;
//! - [`TlsForwarder`]: terminates TLS with that certificate (ALPN `h2` and `http/1.1`) and pipes
//!   the plain bytes to an upstream port (the sandbox's, which serves both HTTP versions), so a
//!   client negotiates HTTP/2 or HTTP/1.1 exactly as with a real server; it records each
//!   connection's ALPN result and failed handshakes;
//! - [`TestProxy`]: an HTTP proxy (`CONNECT` tunnels and plain forwarding) that counts what it
//!   carried and requires `Proxy-Authorization: Basic ..` when given credentials (else 407).
//!
//! The `nexotp-testnet` binary runs a forwarder and a proxy in front of a sandbox for the Python
//! and Node suites. Nothing here ever connects outside loopback: a proxy target that is not a
//! loopback address is refused (403) unless a route sends it to a local address.

#![deny(missing_docs)]

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// The host names the server certificate is valid for (besides `127.0.0.1`).
pub const CERT_NAMES: [&str; 3] = ["localhost", "api.nexotp.test", "direct.nexotp.test"];

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// A CA made for one test run, and a server certificate it signed.
pub struct TestCa {
    ca_pem: String,
    server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A fresh CA (ECDSA P-256) and a server certificate for [`CERT_NAMES`] and `127.0.0.1`.
    pub fn new() -> io::Result<TestCa> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose, SanType,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "nexotp test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().map_err(other)?;
        let ca_cert = ca_params.self_signed(&ca_key).map_err(other)?;

        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "nexotp test server");
        for name in CERT_NAMES {
            params
                .subject_alt_names
                .push(SanType::DnsName(name.try_into().map_err(other)?));
        }
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().map_err(other)?;
        let cert = params.signed_by(&key, &ca_cert, &ca_key).map_err(other)?;
        Ok(TestCa {
            ca_pem: ca_cert.pem(),
            server_chain: vec![cert.der().clone()],
            server_key: key.serialize_der(),
        })
    }

    /// The CA certificate, PEM: what a client must trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A rustls server configuration with the server certificate, offering `alpn` in order.
    pub fn server_config(&self, alpn: &[&str]) -> io::Result<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.server_key.clone().into());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(other)?
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), key)
            .map_err(other)?;
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        Ok(config)
    }
}

/// What a [`TlsForwarder`] saw.
#[derive(Debug, Default)]
pub struct ForwarderStats {
    alpn: Mutex<Vec<String>>,
    handshake_failures: AtomicU64,
}

impl ForwarderStats {
    /// The protocol each handshake agreed by ALPN (`"h2"`, `"http/1.1"`, or `"none"`), in order.
    pub fn negotiated(&self) -> Vec<String> {
        lock(&self.alpn).clone()
    }

    /// Handshakes that failed (e.g. a client that does not trust the CA).
    pub fn handshake_failures(&self) -> u64 {
        self.handshake_failures.load(Ordering::Relaxed)
    }

    /// As JSON: `{"alpn": [..], "handshake_failures": n}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "alpn": self.negotiated(),
            "handshake_failures": self.handshake_failures(),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Terminates TLS on loopback and pipes each connection to `upstream`.
#[derive(Debug)]
pub struct TlsForwarder {
    addr: SocketAddr,
    stats: Arc<ForwarderStats>,
    task: JoinHandle<()>,
}

impl TlsForwarder {
    /// Listens on `127.0.0.1:0`, offering ALPN `h2` then `http/1.1`.
    pub async fn start(upstream: SocketAddr, ca: &TestCa) -> io::Result<TlsForwarder> {
        TlsForwarder::start_with_alpn(upstream, ca, &["h2", "http/1.1"]).await
    }

    /// Listens on `127.0.0.1:0`, offering these ALPN protocols.
    pub async fn start_with_alpn(
        upstream: SocketAddr,
        ca: &TestCa,
        alpn: &[&str],
    ) -> io::Result<TlsForwarder> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(ca.server_config(alpn)?));
        let stats = Arc::new(ForwarderStats::default());
        let seen = stats.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(tcp).await {
                        Ok(tls) => tls,
                        Err(_) => {
                            seen.handshake_failures.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    };
                    let alpn = tls
                        .get_ref()
                        .1
                        .alpn_protocol()
                        .map_or_else(|| "none".to_owned(), |p| String::from_utf8_lossy(p).into());
                    lock(&seen.alpn).push(alpn);
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                    }
                });
            }
        });
        Ok(TlsForwarder { addr, stats, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What it saw so far.
    pub fn stats(&self) -> &Arc<ForwarderStats> {
        &self.stats
    }
}

impl Drop for TlsForwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a [`TestProxy`] carried.
#[derive(Debug, Default)]
pub struct ProxyStats {
    connects: AtomicU64,
    forwards: AtomicU64,
    refused: AtomicU64,
    targets: Mutex<Vec<String>>,
}

impl ProxyStats {
    /// `CONNECT` tunnels opened (credentials accepted).
    pub fn connects(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }

    /// Plain HTTP requests forwarded (credentials accepted).
    pub fn forwards(&self) -> u64 {
        self.forwards.load(Ordering::Relaxed)
    }

    /// Requests answered 407 (no or wrong credentials).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The targets asked for (`host:port`), in order, refused ones included.
    pub fn targets(&self) -> Vec<String> {
        lock(&self.targets).clone()
    }

    /// As JSON: `{"connects", "forwards", "refused", "targets"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "connects": self.connects(),
            "forwards": self.forwards(),
            "refused": self.refused(),
            "targets": self.targets(),
        })
    }
}

/// Extra JSON merged into the proxy's `/__testnet/stats` answer.
pub type ExtraStats = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// How a [`TestProxy`] behaves.
#[derive(Default)]
pub struct ProxyOptions {
    /// Required credentials (`Basic`), if any.
    pub credentials: Option<(String, String)>,
    /// Where every target goes instead (e.g. a name like `api.nexotp.test:443` to a local
    /// forwarder); without it only loopback targets are served.
    pub route: Option<SocketAddr>,
    /// Merged into `GET /__testnet/stats` (asked of the proxy itself).
    pub extra_stats: Option<ExtraStats>,
}

struct ProxyState {
    expected: Option<String>,
    route: Option<SocketAddr>,
    stats: Arc<ProxyStats>,
    extra: Option<ExtraStats>,
    http: reqwest::Client,
}

/// A small HTTP proxy on loopback.
#[derive(Debug)]
pub struct TestProxy {
    addr: SocketAddr,
    stats: Arc<ProxyStats>,
    task: JoinHandle<()>,
}

impl TestProxy {
    /// Listens on `127.0.0.1:0`.
    pub async fn start(options: ProxyOptions) -> io::Result<TestProxy> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        TestProxy::start_on(listener, options).await
    }

    /// Serves on a listener bound beforehand (e.g. before its address went into
    /// `HTTPS_PROXY`).
    pub async fn start_on(
        listener: std::net::TcpListener,
        options: ProxyOptions,
    ) -> io::Result<TestProxy> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(ProxyStats::default());
        let expected = options.credentials.map(|(user, password)| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        });
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(other)?;
        let state = Arc::new(ProxyState {
            expected,
            route: options.route,
            stats: stats.clone(),
            extra: options.extra_stats,
            http,
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| serve(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Ok(TestProxy { addr, stats, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (add credentials to taste).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it carried so far.
    pub fn stats(&self) -> &Arc<ProxyStats> {
        &self.stats
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type ProxyResponse = Response<Full<Bytes>>;

fn answer(status: StatusCode, body: impl Into<Bytes>) -> ProxyResponse {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp
}

/// Where a target goes: the route, else the target itself when it is loopback.
fn destination(state: &ProxyState, authority: &http::uri::Authority) -> Option<SocketAddr> {
    if let Some(route) = state.route {
        return Some(route);
    }
    let port = authority.port_u16().unwrap_or(80);
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse().ok()?
    };
    ip.is_loopback().then_some(SocketAddr::new(ip, port))
}

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "proxy-connection",
    "proxy-authorization",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

async fn serve(
    state: Arc<ProxyState>,
    req: Request<Incoming>,
) -> Result<ProxyResponse, Infallible> {
    let Some(authority) = req.uri().authority().cloned() else {
        // Addressed to the proxy itself.
        if req.uri().path() == "/__testnet/stats" {
            let mut json = state.stats.to_json();
            if let (Some(extra), Some(map)) = (&state.extra, json.as_object_mut())
                && let serde_json::Value::Object(more) = extra()
            {
                map.extend(more);
            }
            return Ok(answer(StatusCode::OK, json.to_string()));
        }
        return Ok(answer(StatusCode::NOT_FOUND, "not a proxy request"));
    };
    lock(&state.stats.targets).push(authority.to_string());
    if let Some(expected) = &state.expected {
        let given = req.headers().get(header::PROXY_AUTHORIZATION);
        if given.is_none_or(|v| v.as_bytes() != expected.as_bytes()) {
            state.stats.refused.fetch_add(1, Ordering::Relaxed);
            let mut resp = answer(
                StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                "proxy authentication required",
            );
            resp.headers_mut().insert(
                header::PROXY_AUTHENTICATE,
                http::HeaderValue::from_static("Basic realm=\"nexotp-testnet\""),
            );
            return Ok(resp);
        }
    }
    let Some(dest) = destination(&state, &authority) else {
        return Ok(answer(StatusCode::FORBIDDEN, "only loopback targets"));
    };
    if req.method() == Method::CONNECT {
        state.stats.connects.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let Ok(upgraded) = hyper::upgrade::on(req).await else {
                return;
            };
            if let Ok(mut up) = TcpStream::connect(dest).await {
                let mut client = TokioIo::new(upgraded);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
            }
        });
        return Ok(answer(StatusCode::OK, Bytes::new()));
    }
    state.stats.forwards.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = state
        .http
        .request(parts.method, format!("http://{dest}{path}"))
        .body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            request = request.header(name, value);
        }
    }
    let Ok(upstream) = request.send().await else {
        return Ok(answer(StatusCode::BAD_GATEWAY, "upstream failed"));
    };
    let status = upstream.status();
    let headers = upstream.headers().clone();
    let body = upstream.bytes().await.unwrap_or_default();
    let mut resp = answer(status, body);
    for (name, value) in &headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            resp.headers_mut().append(name, value.clone());
        }
    }
    Ok(resp)
}
