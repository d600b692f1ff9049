//! The watcher figure: one watcher follows 2,000 orders whose codes arrive over 30 s, with POLL
//! limited to 50/s by the sandbox and known to the client. Every code must come out exactly
//! once, the sandbox must send no 429, and the polls must stay within the limit. A second run
//! feeds the webhook deliveries of half the orders into the watcher and must poll less. Both
//! poll counts and the watcher's memory for 2,000 orders are printed (`--nocapture`).
//!
//! It runs for about two minutes of wall time (the codes take 30 s to arrive, and 50 polls a
//! second is the point), so like the fault matrix it runs in the `figures` profile only.
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use nexotp::webhook::{DEFAULT_TOLERANCE, SIGNATURE_HEADER, verify};
use nexotp::{Bucket, BucketLimit, OrderRequest, WaitOptions, WatchEventKind};

/// Counts the bytes allocated and not yet freed, process-wide.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ORDERS: usize = 2_000;
const POLL_PER_SECOND: f64 = 50.0;

/// What one run measured.
#[derive(Debug)]
struct Figure {
    codes: usize,
    duplicates: usize,
    from_webhook: usize,
    polls: u64,
    rate_limited: u64,
    seconds: f64,
    /// Bytes the watcher allocated to take on the 2,000 orders.
    watcher_bytes: isize,
}

async fn run(webhooks_for_half: bool) -> Figure {
    let receiver = TinyServer::start(Canned::json(200, "{}")).await;
    let sb = sandbox()
        .code_delay(Duration::from_secs(1))
        .code_delay_spread(Duration::from_secs(30))
        .rate_limit(nexotp_sandbox::Bucket::Poll, POLL_PER_SECOND)
        .initial_balance(dec("1000000"))
        .stock(1_000_000)
        .request_log_limit(1)
        .start()
        .await
        .expect("sandbox");
    let client = client_builder(&sb)
        .bucket_limit(
            Bucket::Poll,
            BucketLimit {
                per_second: POLL_PER_SECOND,
                burst: 1,
            },
        )
        .build()
        .expect("client");
    let secret = if webhooks_for_half {
        let hook = client
            .create_webhook(
                &format!("{}hook", receiver.url),
                &["order.created", "order.code_received"],
            )
            .await
            .expect("webhook");
        Some(hook.secret.expect("secret"))
    } else {
        None
    };
    let ids: Vec<String> = futures_util::stream::iter(0..ORDERS)
        .map(|_| {
            let client = client.clone();
            async move {
                client
                    .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
                    .await
                    .expect("order")
                    .id
            }
        })
        .buffered(16)
        .collect()
        .await;
    let fed_half: HashSet<&str> = ids.iter().step_by(2).map(String::as_str).collect();
    sb.clear_stats();

    let started = Instant::now();
    let mut watcher = client.watch();
    // Nothing else runs on this single-threaded runtime during the loop: the difference is the
    // watcher's alone.
    let before = LIVE.load(Ordering::Relaxed);
    for id in &ids {
        watcher
            .add(
                id,
                WaitOptions::default()
                    .timeout(Duration::from_secs(180))
                    .poll_interval(Duration::from_secs(10)),
            )
            .expect("add");
    }
    let watcher_bytes = LIVE.load(Ordering::Relaxed) - before;

    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut codes: HashMap<String, String> = HashMap::new();
    let mut from_webhook = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    // On a loaded machine, late ticks must not pile up and starve the sandbox on this thread.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while codes.len() < ORDERS {
        tokio::select! {
            event = watcher.next() => {
                let event = event.expect("the watcher runs");
                if event.kind != WatchEventKind::Code {
                    let order = &sb.state()["orders"][event.order_id.parse::<usize>().unwrap_or(0) - 5001];
                    panic!("{event:?} after {:?}: the sandbox has {order}", started.elapsed());
                }
                from_webhook += usize::from(event.from_webhook);
                *seen.entry(event.order_id.clone()).or_default() += 1;
                let code = event.code().expect("code").to_owned();
                codes.insert(event.order_id, code);
            }
            _ = tick.tick() => {
                let Some(secret) = &secret else { continue };
                // Taken, not copied: thousands of deliveries arrive.
                let received = std::mem::take(&mut *receiver.received.lock().expect("lock"));
                for delivery in &received {
                    let header = delivery.header(SIGNATURE_HEADER).expect("signature");
                    let event = verify(&delivery.body, header, secret.expose(), DEFAULT_TOLERANCE)
                        .expect("a genuine delivery");
                    let about = event.order.as_ref().map(|o| o.id.as_str()).unwrap_or_default();
                    if fed_half.contains(about) {
                        watcher.feed(&event);
                    }
                }
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = sb.stats();
    let state = sb.state();
    let truth: HashMap<String, String> = state["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| {
            (
                o["id"].as_u64().expect("id").to_string(),
                o["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for (id, code) in &codes {
        assert_eq!(truth.get(id), Some(code), "order {id}");
    }
    watcher.close();
    Figure {
        codes: codes.len(),
        duplicates: seen.values().map(|n| n - 1).sum(),
        from_webhook,
        polls: stats.requests_by_bucket[&nexotp_sandbox::Bucket::Poll],
        rate_limited: stats.rate_limited,
        seconds,
        watcher_bytes,
    }
}

#[tokio::test(flavor = "current_thread")]
#[cfg_attr(
    debug_assertions,
    ignore = "two minutes of 50 polls a second: scripts/test-rust runs it with --profile figures"
)]
async fn two_thousand_orders_within_fifty_polls_a_second() {
    let plain = within(Duration::from_secs(240), run(false)).await;
    println!("watcher, polls only: {plain:?}");
    let fed = within(Duration::from_secs(240), run(true)).await;
    println!("watcher, webhooks fed for half the orders: {fed:?}");
    println!(
        "watcher figure: {} codes, {} duplicates, 429s {} / {}; polls {} ({:.1}/s) without webhooks, \
         {} ({:.1}/s) with webhooks for half ({} codes by webhook), ratio {:.2}; \
         watcher memory for {ORDERS} orders: {} bytes ({} per order)",
        plain.codes + fed.codes,
        plain.duplicates + fed.duplicates,
        plain.rate_limited,
        fed.rate_limited,
        plain.polls,
        plain.polls as f64 / plain.seconds,
        fed.polls,
        fed.polls as f64 / fed.seconds,
        fed.from_webhook,
        fed.polls as f64 / plain.polls as f64,
        plain.watcher_bytes,
        plain.watcher_bytes / ORDERS as isize,
    );
    for figure in [&plain, &fed] {
        assert_eq!(figure.codes, ORDERS);
        assert_eq!(figure.duplicates, 0);
        assert_eq!(figure.rate_limited, 0, "the sandbox answered 429");
        // GCRA with a burst of 1: at most one poll per interval, plus the first.
        assert!(
            figure.polls as f64 <= POLL_PER_SECOND * figure.seconds + 1.0,
            "{figure:?}"
        );
    }
    assert_eq!(plain.from_webhook, 0);
    assert!(fed.from_webhook >= ORDERS / 2 * 9 / 10, "{fed:?}");
    assert!(
        (fed.polls as f64) < 0.75 * plain.polls as f64,
        "webhooks for half the orders should save polls: {fed:?} vs {plain:?}"
    );
    // Well under a kilobyte per order.
    assert!(plain.watcher_bytes < (ORDERS * 1024) as isize, "{plain:?}");
}
