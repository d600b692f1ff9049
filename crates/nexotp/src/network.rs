//! The network side of a client: HTTP version, TLS trust, proxy, connection cap and idle pool,
//! and the one place the pooled `reqwest::Client` is built from them.
//!
//! rustls only (never the system's OpenSSL). Every setting is checked when the client is built,
//! so a bad certificate file or proxy URL is an [`Error::InvalidArgument`] before any request.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, USER_AGENT};

use crate::config::ClientConfig;
use crate::error::{Error, Result};

/// Default cap on requests in flight to the API's host, so on its connections.
pub const DEFAULT_MAX_CONNECTIONS_PER_HOST: usize = 32;
/// Largest value accepted for [`NetworkConfig::max_connections_per_host`].
pub const MAX_CONNECTIONS_PER_HOST_LIMIT: usize = 4096;
/// Default time an idle pooled connection is kept.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Which root certificates a client trusts (besides any extra CA certificates).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsRoots {
    /// The Mozilla roots bundled in the SDK (`webpki-roots`): the same on every machine.
    #[default]
    Bundled,
    /// The operating system's trust store (e.g. `/etc/ssl/certs`), read when the client is
    /// built: where a company installs the root of its TLS-inspecting proxy.
    System,
    /// Both.
    Both,
}

impl TlsRoots {
    /// `"bundled"`, `"system"` or `"both"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsRoots::Bundled => "bundled",
            TlsRoots::System => "system",
            TlsRoots::Both => "both",
        }
    }

    fn bundled(self) -> bool {
        matches!(self, TlsRoots::Bundled | TlsRoots::Both)
    }

    fn system(self) -> bool {
        matches!(self, TlsRoots::System | TlsRoots::Both)
    }
}

impl FromStr for TlsRoots {
    type Err = Error;

    /// Parses `"bundled"`, `"system"` or `"both"` (any case); anything else is an
    /// [`Error::InvalidArgument`] for `tls_roots`.
    fn from_str(s: &str) -> Result<TlsRoots> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bundled" => Ok(TlsRoots::Bundled),
            "system" => Ok(TlsRoots::System),
            "both" => Ok(TlsRoots::Both),
            _ => Err(Error::invalid(
                "tls_roots",
                "must be \"bundled\", \"system\" or \"both\"",
            )),
        }
    }
}

impl fmt::Display for TlsRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where extra CA certificates come from: PEM text, or a file of it.
///
/// From a string, text holding `-----BEGIN` is PEM and anything else is a file path (the way
/// the Python and Node options take either); bytes are PEM; a `Path` is a file.
#[derive(Clone, PartialEq, Eq)]
pub enum CertificateSource {
    /// One or more PEM certificates.
    Pem(Vec<u8>),
    /// A file of PEM certificates, read when the client is built.
    File(PathBuf),
}

impl fmt::Debug for CertificateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertificateSource::Pem(pem) => write!(f, "Pem(<{} bytes>)", pem.len()),
            CertificateSource::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

impl From<&str> for CertificateSource {
    fn from(text: &str) -> Self {
        if text.contains("-----BEGIN") {
            CertificateSource::Pem(text.as_bytes().to_vec())
        } else {
            CertificateSource::File(PathBuf::from(text))
        }
    }
}

impl From<String> for CertificateSource {
    fn from(text: String) -> Self {
        CertificateSource::from(text.as_str())
    }
}

impl From<&Path> for CertificateSource {
    fn from(path: &Path) -> Self {
        CertificateSource::File(path.to_path_buf())
    }
}

impl From<PathBuf> for CertificateSource {
    fn from(path: PathBuf) -> Self {
        CertificateSource::File(path)
    }
}

impl From<Vec<u8>> for CertificateSource {
    fn from(pem: Vec<u8>) -> Self {
        CertificateSource::Pem(pem)
    }
}

impl From<&[u8]> for CertificateSource {
    fn from(pem: &[u8]) -> Self {
        CertificateSource::Pem(pem.to_vec())
    }
}

impl CertificateSource {
    /// Reads and checks the certificates: at least one, each one a certificate rustls accepts
    /// as a trust anchor.
    fn load(&self) -> Result<Vec<CaCertificate>> {
        let pem = match self {
            CertificateSource::Pem(pem) => pem.clone(),
            CertificateSource::File(path) => std::fs::read(path).map_err(|e| {
                Error::invalid(
                    "ca_certificates",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?,
        };
        use rustls_pki_types::pem::PemObject;
        let mut out = Vec::new();
        for (n, der) in rustls_pki_types::CertificateDer::pem_slice_iter(&pem).enumerate() {
            let der = der.map_err(|e| {
                Error::invalid(
                    "ca_certificates",
                    format!("certificate {} is not valid PEM: {e}", n + 1),
                )
            })?;
            // The same check rustls makes when the client is built, made now to name the culprit.
            rustls::RootCertStore::empty()
                .add(der.clone())
                .map_err(|e| {
                    Error::invalid(
                        "ca_certificates",
                        format!("certificate {} is not a usable CA certificate: {e}", n + 1),
                    )
                })?;
            out.push(CaCertificate(der.as_ref().to_vec()));
        }
        if out.is_empty() {
            return Err(Error::invalid(
                "ca_certificates",
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        }
        Ok(out)
    }
}

/// One extra CA certificate a client trusts (DER).
#[derive(Clone, PartialEq, Eq)]
pub struct CaCertificate(Vec<u8>);

impl CaCertificate {
    /// The certificate, DER-encoded.
    pub fn der(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for CaCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaCertificate(<{} bytes>)", self.0.len())
    }
}

/// A proxy's URL, `http://host:port` or `https://host:port`, with optional credentials
/// (`http://user:pass@host:port`, percent-encoded). Its `Debug` and `Display` never show the
/// password.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// Without credentials.
    url: url::Url,
    /// Decoded user name and password.
    credentials: Option<(String, String)>,
}

impl ProxyUrl {
    /// Parses and checks a proxy URL. The error never contains the password.
    pub fn parse(raw: &str) -> Result<ProxyUrl> {
        // `url` reports what is wrong, never the text it was given.
        let mut url = url::Url::parse(raw.trim())
            .map_err(|e| Error::invalid("proxy", format!("is not a valid URL: {e}")))?;
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(Error::invalid(
                    "proxy",
                    format!("must be an http:// or https:// proxy URL, not {other}://"),
                ));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid("proxy", "has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
            return Err(Error::invalid(
                "proxy",
                "must be scheme://[user:password@]host[:port] with no path or query",
            ));
        }
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map(|s| s.into_owned())
                    .map_err(|_| Error::invalid("proxy", "credentials are not valid UTF-8"))
            };
            let user = decode(url.username())?;
            let password = decode(url.password().unwrap_or(""))?;
            Some((user, password))
        };
        // Infallible for http(s) URLs with a host.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Ok(ProxyUrl { url, credentials })
    }

    /// The URL without credentials, e.g. `http://proxy.corp:3128/`.
    pub fn without_credentials(&self) -> &str {
        self.url.as_str()
    }

    /// The user name, when the URL has credentials.
    pub fn username(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(user, _)| user.as_str())
    }

    /// The password, to hide from messages (never log it).
    pub(crate) fn password(&self) -> Option<&str> {
        self.credentials
            .as_ref()
            .map(|(_, password)| password.as_str())
            .filter(|p| !p.is_empty())
    }

    fn to_reqwest(&self) -> Result<reqwest::Proxy> {
        let proxy = reqwest::Proxy::all(self.url.as_str())
            .map_err(|e| Error::invalid("proxy", format!("is not usable: {e}")))?;
        Ok(match &self.credentials {
            Some((user, password)) => proxy.basic_auth(user, password),
            None => proxy,
        })
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.credentials {
            None => f.write_str(self.url.as_str()),
            Some((user, _)) => {
                let (scheme, rest) = self
                    .url
                    .as_str()
                    .split_once("://")
                    .unwrap_or(("http", self.url.as_str()));
                let user =
                    percent_encoding::utf8_percent_encode(user, percent_encoding::NON_ALPHANUMERIC);
                write!(f, "{scheme}://{user}:<redacted>@{rest}")
            }
        }
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

/// How a client reaches the API: part of [`ClientConfig`], set with the
/// [`ClientBuilder`](crate::ClientBuilder)'s network methods.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetworkConfig {
    /// Whether HTTP/2 is offered (by ALPN, over TLS); `false` forces HTTP/1.1.
    pub http2: bool,
    /// Which built-in roots are trusted.
    pub tls_roots: TlsRoots,
    /// Extra CA certificates trusted besides the roots.
    pub ca_certificates: Vec<CaCertificate>,
    /// The proxy every request goes through, when set (the password is redacted in `Debug`).
    pub proxy: Option<ProxyUrl>,
    /// Most requests in flight to the API's host at once; more wait for a turn.
    pub max_connections_per_host: usize,
    /// How long an idle connection stays in the pool.
    pub pool_idle_timeout: Duration,
    /// Most idle connections kept per host.
    pub pool_max_idle_per_host: usize,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            http2: true,
            tls_roots: TlsRoots::Bundled,
            ca_certificates: Vec::new(),
            proxy: None,
            max_connections_per_host: DEFAULT_MAX_CONNECTIONS_PER_HOST,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            pool_max_idle_per_host: DEFAULT_MAX_CONNECTIONS_PER_HOST,
        }
    }
}

/// The network options as the builder collected them, checked by [`NetworkOptions::resolve`].
#[derive(Debug, Default)]
pub(crate) struct NetworkOptions {
    /// Settings to start from (a rebuilt client's).
    pub base: Option<NetworkConfig>,
    pub http2: Option<bool>,
    pub tls_roots: Option<TlsRoots>,
    pub ca_certificates: Vec<CertificateSource>,
    /// As given: parsed (and refused) in `resolve`, never echoed.
    pub proxy: Option<String>,
    pub max_connections_per_host: Option<usize>,
    pub pool_idle_timeout: Option<Duration>,
    pub pool_max_idle_per_host: Option<usize>,
}

impl NetworkOptions {
    /// Reads the certificate files and checks every value.
    pub(crate) fn resolve(self) -> Result<NetworkConfig> {
        let mut config = self.base.unwrap_or_default();
        if let Some(http2) = self.http2 {
            config.http2 = http2;
        }
        if let Some(roots) = self.tls_roots {
            config.tls_roots = roots;
        }
        for source in &self.ca_certificates {
            config.ca_certificates.extend(source.load()?);
        }
        if let Some(proxy) = &self.proxy {
            config.proxy = Some(ProxyUrl::parse(proxy)?);
        }
        if let Some(n) = self.max_connections_per_host {
            if !(1..=MAX_CONNECTIONS_PER_HOST_LIMIT).contains(&n) {
                return Err(Error::invalid(
                    "max_connections_per_host",
                    format!("must be between 1 and {MAX_CONNECTIONS_PER_HOST_LIMIT}"),
                ));
            }
            config.max_connections_per_host = n;
            // Keeping more idle connections than may ever be busy is pointless.
            if self.pool_max_idle_per_host.is_none() {
                config.pool_max_idle_per_host = n;
            }
        }
        if let Some(timeout) = self.pool_idle_timeout {
            crate::validate::positive_duration("pool_idle_timeout", timeout)?;
            config.pool_idle_timeout = timeout;
        }
        if let Some(n) = self.pool_max_idle_per_host {
            if n > MAX_CONNECTIONS_PER_HOST_LIMIT {
                return Err(Error::invalid(
                    "pool_max_idle_per_host",
                    format!("must be at most {MAX_CONNECTIONS_PER_HOST_LIMIT}"),
                ));
            }
            config.pool_max_idle_per_host = n;
        }
        Ok(config)
    }
}

/// Builds the pooled HTTP client, from the caller's `reqwest::ClientBuilder` when given.
///
/// What the SDK sets wins over the same setting on a caller's builder: the default headers
/// (JSON `Accept`, the key, the user agent; others the caller set stay), no redirects (they
/// would carry the key elsewhere), the connect timeout, the TLS roots and extra CA certificates
/// (added to any the caller added), HTTP/1.1 only when `http2` is off, the idle pool, and the
/// proxy rules: no proxy at all for a loopback base URL (an `HTTP_PROXY` must not receive a
/// local sandbox's traffic, key included, in clear text) unless [`NetworkConfig::proxy`] is
/// set, which then carries every request.
pub(crate) fn http_client(
    config: &ClientConfig,
    custom: Option<reqwest::ClientBuilder>,
) -> Result<reqwest::Client> {
    let net = &config.network;
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let mut key = HeaderValue::from_str(config.api_key.expose())
        .map_err(|_| Error::invalid("api_key", "is not a valid header value"))?;
    key.set_sensitive(true);
    headers.insert(crate::transport::API_KEY_HEADER, key);
    let agent = HeaderValue::from_str(&config.user_agent)
        .map_err(|_| Error::invalid("user_agent", "is not a valid header value"))?;
    headers.insert(USER_AGENT, agent);

    let mut builder = custom.unwrap_or_default();
    if url::Url::parse(&config.base_url).is_ok_and(|u| crate::config::is_loopback(&u)) {
        builder = builder.no_proxy();
    }
    if let Some(proxy) = &net.proxy {
        builder = builder.proxy(proxy.to_reqwest()?);
    }
    builder = builder
        .tls_built_in_webpki_certs(net.tls_roots.bundled())
        .tls_built_in_native_certs(net.tls_roots.system());
    for cert in &net.ca_certificates {
        let cert = reqwest::Certificate::from_der(cert.der())
            .map_err(|e| Error::invalid("ca_certificates", format!("is not usable: {e}")))?;
        builder = builder.add_root_certificate(cert);
    }
    if !net.http2 {
        builder = builder.http1_only();
    }
    builder
        .default_headers(headers)
        .connect_timeout(config.connect_timeout)
        .pool_idle_timeout(net.pool_idle_timeout)
        .pool_max_idle_per_host(net.pool_max_idle_per_host)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Connection {
            message: format!("cannot build the HTTP client: {e}"),
            retryable: false,
            source: Some(Box::new(e)),
        })
}

/// Why a connection could not be made that trying again will not fix, if it is one: the
/// server's certificate is not trusted (or not valid), or the proxy refused its credentials.
pub(crate) fn refusal(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(rustls::Error::InvalidCertificate(why)) = rustls_error(e) {
            let hint = match why {
                rustls::CertificateError::UnknownIssuer => {
                    "; it is signed by an authority this client does not trust: if a private CA \
                     or a company proxy signs it, trust that CA with ca_certificates (or the \
                     system's roots with tls_roots=\"system\")"
                }
                _ => "",
            };
            return Some(format!(
                "TLS certificate problem: the server's certificate was refused ({why:?}){hint}"
            ));
        }
        // hyper-util's tunnel error type is private; its text is stable.
        if e.to_string().contains("proxy authorization required") {
            return Some(proxy_auth_message());
        }
        source = e.source();
    }
    None
}

/// rustls's error, which sits inside `io::Error`s (one per layer that wrapped it), whose
/// `source()` skips it.
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    rustls_error(inner)
}

/// The message of a proxy's 407.
pub(crate) fn proxy_auth_message() -> String {
    "the proxy refused the request: 407 Proxy Authentication Required (check the proxy's user \
     name and password)"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_password_never_shown() {
        let proxy = ProxyUrl::parse("http://alice:s3cr%40t@proxy.corp:3128").expect("valid");
        assert_eq!(proxy.username(), Some("alice"));
        assert_eq!(proxy.password(), Some("s3cr@t"));
        assert_eq!(proxy.without_credentials(), "http://proxy.corp:3128/");
        let shown = format!("{proxy} {proxy:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(
            shown.contains("alice:<redacted>@proxy.corp:3128"),
            "{shown}"
        );
        for bad in [
            "socks5://u:hunter2@h:1",
            "http://u:hunter2@",
            "http://u:hunter2@h:1/path",
            "not a url hunter2",
            "http://u:hunter2@h:99999",
        ] {
            let e = ProxyUrl::parse(bad).expect_err(bad);
            assert!(!e.to_string().contains("hunter2"), "{e}");
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn certificate_sources() {
        assert!(matches!(
            CertificateSource::from("-----BEGIN CERTIFICATE-----\n"),
            CertificateSource::Pem(_)
        ));
        assert!(matches!(
            CertificateSource::from("/etc/corp-ca.pem"),
            CertificateSource::File(_)
        ));
        let e = CertificateSource::from("/nonexistent/ca.pem")
            .load()
            .expect_err("missing file");
        assert!(e.to_string().contains("cannot read"), "{e}");
        let e = CertificateSource::from(b"no pem here".as_slice())
            .load()
            .expect_err("no cert");
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
        let bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(CertificateSource::from(bad).load().is_err());
    }

    #[test]
    fn tls_roots_parse() {
        assert_eq!("System".parse::<TlsRoots>().ok(), Some(TlsRoots::System));
        assert_eq!(" both ".parse::<TlsRoots>().ok(), Some(TlsRoots::Both));
        assert!("os".parse::<TlsRoots>().is_err());
    }

    #[test]
    fn connection_cap_is_checked() {
        for n in [0, MAX_CONNECTIONS_PER_HOST_LIMIT + 1] {
            let options = NetworkOptions {
                max_connections_per_host: Some(n),
                ..NetworkOptions::default()
            };
            assert!(options.resolve().is_err(), "{n}");
        }
        let options = NetworkOptions {
            max_connections_per_host: Some(4),
            ..NetworkOptions::default()
        };
        let config = options.resolve().expect("valid");
        assert_eq!(config.max_connections_per_host, 4);
        assert_eq!(config.pool_max_idle_per_host, 4);
    }
}
