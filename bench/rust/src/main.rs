//! The Rust rows of `scripts/bench`: requests per second of the SDK core (`nexotp::Client`)
//! and of a plain reqwest loop decoding the same answer with plain serde_json, sequentially,
//! on the GET order answer (~300 B) and on the `countries` list (~20 KB); and the peak memory
//! of reqwest holding many requests at once.
//!
//! ```text
//! nexotp-bench reqwest URL KEY AMOUNT          GET URL, decode into serde_json::Value
//! nexotp-bench reqwest-timeout URL KEY AMOUNT  the same with a per-request timeout, as the
//!                                               core sets (30 s): one timer per request
//! nexotp-bench sdk-order BASE KEY AMOUNT ID    nexotp::Client::order(ID)
//! nexotp-bench sdk-countries BASE KEY AMOUNT   nexotp::Client::countries()
//! nexotp-bench reqwest-hold URL KEY COUNT      COUNT GETs in flight at once
//! nexotp-bench sdk-hold BASE KEY COUNT ID      COUNT nexotp::Client::order(ID) at once
//! ```
//! AMOUNT is seconds (`1.5`), or a fixed number of calls (`calls:2000`) for load-independent
//! counts (`scripts/bench --explain` runs these under valgrind and perf). The loops make 200
//! calls of warm-up (connection, allocator), then call one after another, and print
//! `allocs/call: A bytes/call: B` (heap allocations counted by this binary's global
//! allocator, over the measured calls) and then `req/s: N`; the hold modes print
//! `peak_heap_per_call: B` (the most heap in use at once, less what was in use before the
//! calls, per call held) and then `peak_rss_kib: N` (VmHWM); `sdk-hold` first prints
//! `future_bytes: N`, the size of one `Client::order` future.

use std::alloc::{GlobalAlloc, Layout, System};
use std::error::Error;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The system allocator, counting allocations (and reallocations) and the bytes they ask for.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

fn grew(size: usize) {
    let live = LIVE.fetch_add(size as u64, Ordering::Relaxed) + size as u64;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; the counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        grew(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        grew(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        grew(new_size);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How long a loop runs.
#[derive(Clone, Copy)]
enum Amount {
    Seconds(Duration),
    Calls(u32),
}

impl Amount {
    fn parse(text: &str) -> Result<Amount> {
        Ok(match text.strip_prefix("calls:") {
            Some(calls) => Amount::Calls(calls.parse()?),
            None => Amount::Seconds(Duration::from_secs_f64(text.parse()?)),
        })
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, url, key, amount, rest @ ..] = args.as_slice() else {
        eprintln!(
            "usage: nexotp-bench reqwest|sdk-order|sdk-countries URL KEY SECONDS|calls:N [ID]\n       \
             nexotp-bench reqwest-hold URL KEY COUNT"
        );
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        if mode == "reqwest-hold" {
            let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
            return hold(amount.parse()?, || reqwest_get(&client, url, key, None)).await;
        }
        if mode == "sdk-hold" {
            let id = rest.first().ok_or("sdk-hold needs the order id")?;
            let count: u32 = amount.parse()?;
            // Every call on the wire at once, as reqwest without a cap does.
            let client = nexotp::Client::builder()
                .api_key(key)
                .base_url(url)
                .max_connections_per_host(count as usize)
                .build()?;
            println!("future_bytes: {}", std::mem::size_of_val(&client.order(id)));
            return hold(count, || async { Ok(client.order(id).await?) }).await;
        }
        let amount = Amount::parse(amount)?;
        match mode.as_str() {
            "reqwest" => {
                let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
                rate(amount, || reqwest_get(&client, url, key, None)).await
            }
            "reqwest-timeout" => {
                let client = reqwest::Client::builder().tcp_nodelay(true).build()?;
                let timeout = Some(Duration::from_secs(30));
                rate(amount, || reqwest_get(&client, url, key, timeout)).await
            }
            "sdk-order" => {
                let id = rest.first().ok_or("sdk-order needs the order id")?;
                let client = sdk(url, key)?;
                rate(amount, || async { Ok(client.order(id).await?) }).await
            }
            "sdk-countries" => {
                let client = sdk(url, key)?;
                rate(amount, || async { Ok(client.countries().await?) }).await
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
async fn reqwest_get(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    timeout: Option<Duration>,
) -> Result<serde_json::Value> {
    let mut request = client
        .get(url)
        .header("X-NexOTP-API-Key", key)
        .header("Accept", "application/json");
    if let Some(timeout) = timeout {
        request = request.timeout(timeout);
    }
    let response = request.send().await?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()).into());
    }
    Ok(serde_json::from_slice(&response.bytes().await?)?)
}

/// Runs `call` 200 times to warm up, then one call after another for `amount`, and prints
/// the allocations per call and the rate.
async fn rate<T, F, Fut>(amount: Amount, call: F) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    for _ in 0..200 {
        call().await?;
    }
    let allocs = ALLOCS.load(Ordering::Relaxed);
    let bytes = BYTES.load(Ordering::Relaxed);
    let started = Instant::now();
    let mut done = 0u32;
    loop {
        let more = match amount {
            Amount::Seconds(seconds) => started.elapsed() < seconds,
            Amount::Calls(calls) => done < calls,
        };
        if !more {
            break;
        }
        std::hint::black_box(call().await?);
        done += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let per_call = |now: u64, before: u64| (now - before) as f64 / f64::from(done.max(1));
    println!(
        "allocs/call: {:.1} bytes/call: {:.0}",
        per_call(ALLOCS.load(Ordering::Relaxed), allocs),
        per_call(BYTES.load(Ordering::Relaxed), bytes)
    );
    println!("req/s: {:.0}", f64::from(done) / elapsed);
    Ok(())
}

/// `count` calls in flight at once (the server is told to answer slowly), then the peak heap
/// per call and the peak RSS.
async fn hold<T, F, Fut>(count: u32, call: F) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    // One call first, so the pool, the runtime and lazily built state exist before counting.
    call().await?;
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let calls = (0..count).map(|_| call());
    for answer in futures_util::future::join_all(calls).await {
        answer?;
    }
    println!(
        "peak_heap_per_call: {:.0}",
        (PEAK.load(Ordering::Relaxed) - before) as f64 / f64::from(count.max(1))
    );
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
