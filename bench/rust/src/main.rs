//! The Rust rows of `scripts/bench`: requests per second of the SDK core (`nexotp::Client`)
//! and of a plain reqwest loop decoding the same answer with plain serde_json, sequentially,
//! on the GET order answer (~300 B) and on the `countries` list (~20 KB); and the peak memory
//! of reqwest holding many requests at once.
//!
//! ```text
//! nexotp-bench reqwest URL KEY SECONDS          GET URL, decode into serde_json::Value
//! nexotp-bench sdk-order BASE KEY SECONDS ID    nexotp::Client::order(ID)
//! nexotp-bench sdk-countries BASE KEY SECONDS   nexotp::Client::countries()
//! nexotp-bench reqwest-hold URL KEY COUNT       COUNT GETs in flight at once
//! ```
//! The loops call one after another for SECONDS (after 200 calls of warm-up: connection,
//! allocator) and print `req/s: N`; `reqwest-hold` prints `peak_rss_kib: N` (VmHWM).

use std::error::Error;
use std::future::Future;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, url, key, amount, rest @ ..] = args.as_slice() else {
        eprintln!(
            "usage: nexotp-bench reqwest|sdk-order|sdk-countries URL KEY SECONDS [ID]\n       \
             nexotp-bench reqwest-hold URL KEY COUNT"
        );
        std::process::exit(2);
    };
    let seconds = Duration::from_secs_f64(amount.parse()?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match mode.as_str() {
            "reqwest" => {
                let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
                rate(seconds, || reqwest_get(&client, url, key)).await
            }
            "reqwest-hold" => hold(url, key, amount.parse()?).await,
            "sdk-order" => {
                let id = rest.first().ok_or("sdk-order needs the order id")?;
                let client = sdk(url, key)?;
                rate(seconds, || async { Ok(client.order(id).await?) }).await
            }
            "sdk-countries" => {
                let client = sdk(url, key)?;
                rate(seconds, || async { Ok(client.countries().await?) }).await
            }
            other => Err(format!("unknown mode {other:?}").into()),
        }
    })
}

fn sdk(base: &str, key: &str) -> Result<nexotp::Client> {
    Ok(nexotp::Client::builder()
        .api_key(key)
        .base_url(base)
        .build()?)
}

/// What `Client::order` does on the wire, by hand: GET with the key header, read the body,
/// decode the JSON (into a `Value`, as a user without typed models would).
async fn reqwest_get(client: &reqwest::Client, url: &str, key: &str) -> Result<serde_json::Value> {
    let response = client
        .get(url)
        .header("X-NexOTP-API-Key", key)
        .header("Accept", "application/json")
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()).into());
    }
    Ok(serde_json::from_slice(&response.bytes().await?)?)
}

/// Runs `call` 200 times to warm up, then one call after another for `seconds`, and prints
/// the rate.
async fn rate<T, F, Fut>(seconds: Duration, call: F) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    for _ in 0..200 {
        call().await?;
    }
    let started = Instant::now();
    let mut done = 0u32;
    while started.elapsed() < seconds {
        std::hint::black_box(call().await?);
        done += 1;
    }
    println!(
        "req/s: {:.0}",
        f64::from(done) / started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `count` GETs in flight at once (the server is told to answer slowly), then the peak RSS.
async fn hold(url: &str, key: &str, count: u32) -> Result<()> {
    let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let calls = (0..count).map(|_| reqwest_get(&client, url, key));
    for answer in futures_util::future::join_all(calls).await {
        answer?;
    }
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .ok_or("no VmHWM in /proc/self/status")?;
    println!(
        "peak_rss_kib: {}",
        peak.trim().trim_end_matches("kB").trim()
    );
    Ok(())
}
