//! The fault matrix: the retry table's promises measured over thousands of calls against the
//! sandbox with seeded random faults. Each test prints its figures (`--nocapture` shows them).
//! They send tens of thousands of requests, so `scripts/test-rust` runs them in the optimised
//! `figures` profile; a debug build skips them.
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use nexotp::{Bucket, BucketLimit, Client, Error, ErrorKind, OrderRequest, Reconciled};
use nexotp_sandbox::{
    Bucket as SandboxBucket, FaultKind, Faults, RandomFault, RateLimit, StatusFault,
};

/// A client for the matrix: the test key, short backoffs (the faults are many), no logging.
fn matrix_client(sb: &nexotp_sandbox::SandboxHandle) -> nexotp::ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .base_url(sb.base_url())
        .log_from_env(false)
        .initial_backoff(Duration::from_millis(2))
        .max_backoff(Duration::from_millis(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    debug_assertions,
    ignore = "thousands of requests: scripts/test-rust runs it with --profile figures"
)]
async fn ten_thousand_gets_through_27_percent_faults_surface_no_error() {
    const GETS: usize = 10_000;
    let sb = sandbox()
        .seed(11)
        .request_log_limit(1)
        .start()
        .await
        .expect("sandbox");
    let client = matrix_client(&sb).max_retries(8).build().expect("client");
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    sb.set_faults(
        Faults::none()
            .with_random(RandomFault::new(0.20, StatusFault::new(503)).matching("GET /**"))
            .with_random(RandomFault::new(0.05, FaultKind::Drop).matching("GET /**"))
            .with_random(
                RandomFault::new(0.02, StatusFault::new(500).with_envelope(false))
                    .matching("GET /**"),
            ),
    );
    sb.clear_stats();
    let errors: Vec<Error> = futures_util::stream::iter(0..GETS)
        .map(|i| {
            let client = client.clone();
            let id = order.id.clone();
            async move {
                if i % 2 == 0 {
                    client.order(&id).await.map(|_| ())
                } else {
                    client.account().await.map(|_| ())
                }
            }
        })
        .buffer_unordered(64)
        .filter_map(|result| async move { result.err() })
        .collect()
        .await;
    let stats = sb.stats();
    eprintln!(
        "matrix 1: {GETS} GETs, 64 in flight, max_retries 8: {} attempts, faults injected {:?}, \
         {} errors surfaced",
        stats.requests,
        stats.faults,
        errors.len()
    );
    // A call fails only if all 9 of its attempts draw a fault: 0.27^9 × 10,000 = 0.076 such
    // calls expected. The draws are seeded, but 64 calls in flight take them in a different
    // order each run, so about one run in 14 sees one; two would be a 1-in-370 run. Without the
    // retries, thousands would fail.
    assert!(
        errors.len() <= 1,
        "{} errors surfaced: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    let injected: u64 = stats.faults.values().sum();
    assert!(injected > 2_000, "the faults were injected: {injected}");
    assert_eq!(
        stats.requests,
        GETS as u64 + injected - errors.len() as u64,
        "one retry per fault (a call that gave up did not retry its last)"
    );
}

/// What one create produced.
#[derive(Debug)]
enum Outcome {
    Created,
    Refused(ErrorKind),
    Unknown { found: Option<String> },
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    debug_assertions,
    ignore = "thousands of requests: scripts/test-rust runs it with --profile figures"
)]
async fn a_thousand_creates_through_commit_faults_never_pay_twice() {
    const CREATES: usize = 1_000;
    let sb = sandbox()
        .seed(12)
        .stock(100_000)
        .code_delay(Duration::from_secs(3600))
        .request_log_limit(1)
        .start()
        .await
        .expect("sandbox");
    sb.set_balance(dec("100000"));
    let client = matrix_client(&sb)
        .timeout(Duration::from_millis(400))
        .build()
        .expect("client");
    let after = |status: u16| {
        StatusFault::new(status)
            .with_envelope(false)
            .with_after_apply(true)
    };
    sb.set_faults(
        Faults::none()
            .with_random(RandomFault::new(0.10, FaultKind::Drop).matching("POST /order"))
            .with_random(RandomFault::new(0.05, FaultKind::WpInternalError).matching("POST /order"))
            .with_random(RandomFault::new(0.05, after(500)).matching("POST /order"))
            .with_random(
                RandomFault::new(0.05, StatusFault::new(502).with_envelope(false))
                    .matching("POST /order"),
            )
            .with_random(
                RandomFault::new(0.05, FaultKind::SlowAfterApply { ms: 800 })
                    .matching("POST /order"),
            )
            .with_random(
                RandomFault::new(
                    0.05,
                    StatusFault::new(200).with_code("insufficient_balance"),
                )
                .matching("POST /order"),
            ),
    );
    let mut outcomes = Vec::with_capacity(CREATES);
    // One call at a time, so each call's effect on the sandbox is its own.
    for _ in 0..CREATES {
        let before = sb.orders_count();
        let result = client
            .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
            .await;
        let made: Vec<String> = sb.order_ids()[before..]
            .iter()
            .map(u64::to_string)
            .collect();
        assert!(made.len() <= 1, "one call made {} orders", made.len());
        let outcome = match result {
            Ok(order) => {
                assert_eq!(made, [order.id], "the order returned is the one made");
                Outcome::Created
            }
            Err(Error::OrderOutcomeUnknown(unknown)) => {
                let found = match client.reconcile(&unknown.call).await.expect("reconcile") {
                    Reconciled::Order(order) => Some(order.id),
                    Reconciled::NotApplied => None,
                    other => panic!("ambiguous: {other:?}"),
                };
                assert_eq!(
                    found.as_slice(),
                    made.as_slice(),
                    "reconcile names the right order"
                );
                Outcome::Unknown { found }
            }
            Err(refused) => {
                assert!(made.is_empty(), "a refusal made an order: {refused}");
                assert!(!refused.is_retryable());
                Outcome::Refused(refused.kind())
            }
        };
        outcomes.push(outcome);
    }
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Created))
        .count();
    let found = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Unknown { found: Some(_) }))
        .count();
    let not_applied = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Unknown { found: None }))
        .count();
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    for o in &outcomes {
        if let Outcome::Refused(kind) = o {
            *refused.entry(kind.to_string()).or_default() += 1;
        }
    }
    let stats = sb.stats();
    eprintln!(
        "matrix 2: {CREATES} creates: {created} orders, {} unknown ({found} found by reconcile, \
         {not_applied} none), refused {refused:?}; sandbox orders {}, POST /order requests {}, \
         faults {:?}",
        found + not_applied,
        sb.orders_count(),
        stats.requests_by_bucket[&SandboxBucket::Order],
        stats.faults
    );
    assert_eq!(
        sb.orders_count(),
        created + found,
        "every order is accounted for"
    );
    assert_eq!(
        stats.requests_by_bucket[&SandboxBucket::Order],
        CREATES as u64,
        "no create was sent twice"
    );
    let mut ids: Vec<u64> = sb.order_ids();
    ids.dedup();
    assert_eq!(ids.len(), sb.orders_count(), "no duplicate order");
    assert!(
        found >= 200 && not_applied >= 20,
        "each kind of unknown was seen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    debug_assertions,
    ignore = "thousands of requests: scripts/test-rust runs it with --profile figures"
)]
async fn five_hundred_polls_released_together_stay_within_the_limit() {
    const POLLS: usize = 500;
    const LIMIT: u32 = 50;
    let sb = sandbox()
        .seed(13)
        .request_log_limit(10_000)
        .start()
        .await
        .expect("sandbox");
    let client = matrix_client(&sb)
        .bucket_limit(Bucket::Poll, BucketLimit::per_second(f64::from(LIMIT)))
        .build()
        .expect("client");
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    // The server allows the same rate in smaller bursts, and its 429s say "now".
    sb.set_rate_limit_with(
        SandboxBucket::Poll,
        Some(
            RateLimit::new(f64::from(LIMIT))
                .with_burst(10)
                .with_retry_after("0"),
        ),
    );
    sb.clear_requests();
    sb.clear_stats();
    let polls: Vec<_> = (0..POLLS)
        .map(|_| {
            let client = client.clone();
            let id = order.id.clone();
            tokio::spawn(async move { client.order(&id).await })
        })
        .collect();
    let mut errors = 0;
    for poll in polls {
        if within(Duration::from_secs(120), poll)
            .await
            .expect("task")
            .is_err()
        {
            errors += 1;
        }
    }
    let mut arrivals: Vec<i64> = sb.requests().iter().map(at_ms).collect();
    arrivals.sort_unstable();
    // The most requests the sandbox saw in any one-second window.
    let busiest = (0..arrivals.len())
        .map(|i| {
            arrivals[i..]
                .iter()
                .take_while(|t| **t < arrivals[i] + 1000)
                .count()
        })
        .max()
        .unwrap_or(0);
    let stats = sb.stats();
    let first = arrivals.first().copied().unwrap_or(0);
    let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
    for t in &arrivals {
        *per_second.entry((t - first) / 1000).or_default() += 1;
    }
    eprintln!(
        "matrix 3, requests per second: {:?}",
        per_second.values().collect::<Vec<_>>()
    );
    eprintln!(
        "matrix 3: {POLLS} polls released together, POLL limited to {LIMIT}/s: {} requests, \
         {} 429s (Retry-After: 0), busiest second {busiest}, {errors} errors surfaced, {:.1} s",
        arrivals.len(),
        stats.rate_limited,
        (arrivals.last().copied().unwrap_or(0) - arrivals.first().copied().unwrap_or(0)) as f64
            / 1000.0
    );
    assert_eq!(errors, 0);
    assert!(
        busiest <= (2 * LIMIT) as usize,
        "{busiest} requests in one second: more than the limit plus one burst"
    );
}
