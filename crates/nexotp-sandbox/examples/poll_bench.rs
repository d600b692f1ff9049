//! Rough throughput check of the hot path: `GET /order/{id}` from many keep-alive connections.
//!
//! `cargo run --release -p nexotp-sandbox --example poll_bench [seconds] [connections] [log]`
//! (`log` keeps the request log on, as by default).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let conns: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let log = args.next().is_some_and(|a| a == "log");
    let limit = if log {
        nexotp_sandbox::DEFAULT_REQUEST_LOG_LIMIT
    } else {
        0
    };
    let sandbox = nexotp_sandbox::Sandbox::builder()
        .request_log_limit(limit)
        .start()
        .await?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(conns)
        .build()?;
    let order = http
        .post(format!("{}order", sandbox.base_url()))
        .header("X-NexOTP-API-Key", sandbox.api_key())
        .header("Content-Type", "application/json")
        .body(r#"{"service":"svc_telegram","country":"cty_us"}"#)
        .send()
        .await?
        .text()
        .await?;
    assert!(order.contains("\"id\":5001"), "{order}");
    let url = format!("{}order/5001", sandbox.base_url());
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (http, url, done, key) = (
            http.clone(),
            url.clone(),
            done.clone(),
            sandbox.api_key().to_string(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let r = http.get(&url).header("X-NexOTP-API-Key", &key).send().await;
                if let Ok(r) = r
                    && r.bytes().await.is_ok()
                {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let n = done.load(Ordering::Relaxed);
    println!(
        "{n} requests in {secs} s: {:.0} req/s ({conns} connections)",
        n as f64 / secs as f64
    );
    sandbox.shutdown().await;
    Ok(())
}
