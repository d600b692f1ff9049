//! `nexotp-testnet --upstream URL [--proxy-user U --proxy-password P] [--dir DIR]`
//!
//! Starts, in front of a sandbox at `URL` (its base URL, `http://127.0.0.1:PORT/wp-json/...`),
//! a TLS forwarder (a CA made now; ALPN h2 and http/1.1) and a counting proxy, writes the CA to
//! `DIR/ca.pem` (default: a new temporary folder), prints one JSON line
//! `{"https_url", "ca_file", "ca_pem", "proxy_url", "stats_url"}` and serves until stdin closes.
//! `GET stats_url` answers the proxy's counters and the forwarder's (`alpn`,
//! `handshake_failures`). For the Python and Node suites.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use nexotp_testnet::{ProxyOptions, TestCa, TestProxy, TlsForwarder};
use tokio::io::AsyncReadExt as _;

struct Args {
    upstream: String,
    user: Option<String>,
    password: Option<String>,
    dir: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut upstream, mut user, mut password, mut dir) = (None, None, None, None);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--upstream" => upstream = Some(value()?),
            "--proxy-user" => user = Some(value()?),
            "--proxy-password" => password = Some(value()?),
            "--dir" => dir = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(Args {
        upstream: upstream.ok_or("--upstream URL is required")?,
        user,
        password,
        dir,
    })
}

async fn run(args: Args) -> Result<(), String> {
    let upstream = reqwest::Url::parse(&args.upstream).map_err(|e| format!("--upstream: {e}"))?;
    let addr: SocketAddr = upstream
        .socket_addrs(|| Some(80))
        .map_err(|e| format!("--upstream: {e}"))?
        .into_iter()
        .find(|a| a.ip().is_loopback())
        .ok_or("--upstream must be a loopback address")?;
    let ca = TestCa::new().map_err(|e| e.to_string())?;
    // Only a folder of our own making is removed at the end.
    let (dir, ours) = match args.dir {
        Some(dir) => (dir, false),
        None => (
            std::env::temp_dir().join(format!("nexotp-testnet-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.ca_pem()).map_err(|e| format!("{}: {e}", ca_file.display()))?;

    let forwarder = TlsForwarder::start(addr, &ca)
        .await
        .map_err(|e| e.to_string())?;
    let seen = forwarder.stats().clone();
    let credentials = match (args.user, args.password) {
        (Some(user), password) => Some((user, password.unwrap_or_default())),
        (None, Some(_)) => return Err("--proxy-password needs --proxy-user".into()),
        (None, None) => None,
    };
    let proxy = TestProxy::start(ProxyOptions {
        credentials,
        route: None,
        extra_stats: Some(Arc::new(move || seen.to_json())),
    })
    .await
    .map_err(|e| e.to_string())?;

    let mut https = upstream.clone();
    https
        .set_scheme("https")
        .map_err(|_| "cannot make the https URL")?;
    https
        .set_port(Some(forwarder.addr().port()))
        .map_err(|_| "cannot make the https URL")?;
    let line = serde_json::json!({
        "https_url": https.as_str(),
        "ca_file": ca_file.display().to_string(),
        "ca_pem": ca.ca_pem(),
        "proxy_url": proxy.url(),
        "stats_url": format!("{}/__testnet/stats", proxy.url()),
    });
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    // Serve until the test closes our stdin (or goes away).
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    if ours {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        let _ = std::fs::remove_file(&ca_file);
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("nexotp-testnet: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nexotp-testnet: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(args));
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nexotp-testnet: {e}");
            ExitCode::FAILURE
        }
    }
}
