//! Time: a call's total deadline covers every attempt, backoff and wait; a 429 that says "now"
//! still pauses; waiters leave a paused bucket one by one; a client-side limit waits as long as
//! the deadline allows and then fails as itself, never as a 429 that did not happen; and
//! `wait_for_code` ends within its timeout plus one attempt's, keeping what it saw.
mod common;

use std::time::{Duration, Instant};

use common::*;
use nexotp::{Bucket, BucketLimit, Error, ErrorKind, OrderRequest, RequestOptions, WaitOptions};
use nexotp_sandbox::{FaultKind, StatusFault};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[tokio::test]
async fn a_deadline_bounds_every_attempt_and_backoff() {
    let (sb, client) = setup().await;
    sb.set_faults(script("GET /account", StatusFault::new(503).into(), 100));
    let patient = client
        .with_options(RequestOptions::new().max_retries(20).deadline(ms(1200)))
        .expect("options");
    let started = Instant::now();
    let err = patient.account().await.expect_err("503 until the deadline");
    let took = started.elapsed();
    assert!(took < ms(1200) + ms(1000), "took {took:?}");
    // The last answer, or (on a slow machine) the deadline cutting the last attempt.
    assert!(
        matches!(err.kind(), ErrorKind::Server | ErrorKind::Timeout),
        "{err}"
    );
    assert!(err.is_retryable());
    let attempts = requests_to(&sb, "GET", "/account").len();
    assert!(
        (2..=4).contains(&attempts),
        "backoff 0.5 s, 1 s ...: {attempts} attempts fit in 1.2 s"
    );
}

#[tokio::test]
async fn a_deadline_cuts_a_slow_attempt_short() {
    let (sb, client) = setup().await;
    sb.set_faults(script("GET /account", FaultKind::Delay { ms: 3000 }, 1));
    let started = Instant::now();
    let err = client
        .with_options(RequestOptions::new().deadline(ms(500)))
        .expect("options")
        .account()
        .await
        .expect_err("too slow");
    assert!(started.elapsed() < ms(1500), "{:?}", started.elapsed());
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("deadline"), "{err}");
    drop(sb);
}

#[tokio::test]
async fn a_create_cut_by_its_deadline_is_an_unknown_outcome() {
    let (sb, client) = setup().await;
    sb.set_faults(script(
        "POST /order",
        FaultKind::SlowAfterApply { ms: 2000 },
        1,
    ));
    let err = client
        .with_options(RequestOptions::new().deadline(ms(400)))
        .expect("options")
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect_err("cut");
    assert_eq!(err.kind(), ErrorKind::OrderOutcomeUnknown, "{err}");
    assert_eq!(sb.orders_count(), 1);
}

#[tokio::test]
async fn a_429_saying_now_still_pauses_250_ms() {
    for retry_after in ["0", "Thu, 01 Jan 2015 00:00:00 GMT", ""] {
        let (sb, client) = setup().await;
        let mut fault = StatusFault::new(429).with_code("rate_limited");
        if !retry_after.is_empty() {
            fault = fault.with_retry_after(retry_after);
        }
        sb.set_faults(script("GET /account", fault.into(), 1));
        client
            .account()
            .await
            .expect("the second attempt goes through");
        let log = requests_to(&sb, "GET", "/account");
        assert_eq!(log.len(), 2);
        let gap = at_ms(&log[1]) - at_ms(&log[0]);
        assert!(gap >= 250, "Retry-After {retry_after:?}: {gap} ms");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_leave_a_paused_bucket_one_by_one() {
    let (sb, client) = setup().await;
    sb.set_faults(script(
        "GET /account",
        StatusFault::new(429)
            .with_code("rate_limited")
            .with_retry_after("1")
            .into(),
        1,
    ));
    client
        .with_options(RequestOptions::new().max_retries(0))
        .expect("options")
        .account()
        .await
        .expect_err("429, no retry: the bucket is now paused for 1 s");
    sb.clear_requests();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.account().await })
        })
        .collect();
    for call in calls {
        within(SOON, call).await.expect("task").expect("account");
    }
    let mut arrivals: Vec<i64> = sb.requests().iter().map(at_ms).collect();
    arrivals.sort_unstable();
    assert_eq!(arrivals.len(), 20);
    let spread = arrivals[19] - arrivals[0];
    assert!(
        spread >= 300,
        "20 waiters released within {spread} ms: a wave, not a queue"
    );
}

#[tokio::test]
async fn a_client_limit_past_the_deadline_fails_as_itself_not_as_a_429() {
    let sb = sandbox().start().await.expect("sandbox");
    let client = client_builder(&sb)
        .bucket_limit(
            Bucket::General,
            BucketLimit {
                per_second: 0.01,
                burst: 1,
            },
        )
        .build()
        .expect("client");
    client.account().await.expect("the first slot is free");
    // The next slot is 100 s away: far past a 1 s deadline.
    let started = Instant::now();
    let err = client
        .with_options(RequestOptions::new().deadline(Duration::from_secs(1)))
        .expect("options")
        .account()
        .await
        .expect_err("no slot before the deadline");
    assert!(
        started.elapsed() < ms(500),
        "fails at once, not after waiting"
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.status(), None, "no 429 happened");
    assert!(err.to_string().contains("client-side limit"), "{err}");
    // Without a deadline it waits for its slot (longer than the old 60 s cap), sending nothing.
    let waiting = tokio::time::timeout(Duration::from_secs(1), client.account()).await;
    assert!(waiting.is_err(), "still waiting for its slot");
    assert_eq!(sb.requests().len(), 1);
}

/// A sandbox whose orders never get a code by themselves.
async fn no_codes() -> (nexotp_sandbox::SandboxHandle, nexotp::Client) {
    setup_with(sandbox().code_delay(Duration::from_secs(600))).await
}

#[tokio::test]
async fn a_wait_ends_within_its_timeout_plus_one_attempt_whatever_fails() {
    let (sb, client) = no_codes().await;
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    // Every poll and the cancel hang far longer than the attempt timeout.
    sb.set_faults(script("* /order/**", FaultKind::Delay { ms: 20_000 }, 1000));
    let client = client
        .with_options(RequestOptions::new().timeout(ms(400)))
        .expect("options");
    let started = Instant::now();
    let err = client
        .wait_for_code(
            &order.id,
            WaitOptions::default()
                .timeout(ms(1000))
                .poll_interval(ms(100))
                .cancel_on_timeout(true),
        )
        .await
        .expect_err("nothing answers");
    let took = started.elapsed();
    assert!(took < ms(1000 + 400 + 600), "took {took:?}");
    let Error::WaitTimeout {
        order_id,
        order: last,
        cancelled,
        ..
    } = &err
    else {
        panic!("expected WaitTimeout, got {err:?}");
    };
    assert_eq!(order_id, &order.id);
    assert!(last.is_none(), "no poll succeeded");
    assert!(!cancelled);
}

#[tokio::test]
async fn a_wait_whose_polls_all_fail_is_still_a_wait_timeout() {
    let (sb, client) = no_codes().await;
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    sb.set_faults(script("GET /order/*", FaultKind::DropBeforeApply, 1000));
    let err = no_retries(&client)
        .wait_for_code(
            &order.id,
            WaitOptions::default()
                .timeout(ms(300))
                .poll_interval(ms(50)),
        )
        .await
        .expect_err("every poll fails");
    assert_eq!(err.kind(), ErrorKind::WaitTimeout, "{err}");
    assert!(err.order().is_none());
}

#[tokio::test]
async fn a_failed_cancel_keeps_the_timeout_and_the_last_state() {
    let (sb, client) = no_codes().await;
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    sb.set_faults(script(
        "POST /order/*/cancel",
        StatusFault::new(403).with_code("forbidden").into(),
        1,
    ));
    let err = client
        .wait_for_code(
            &order.id,
            WaitOptions::default()
                .timeout(ms(300))
                .poll_interval(ms(50))
                .cancel_on_timeout(true),
        )
        .await
        .expect_err("timeout");
    let Error::WaitTimeout {
        order: Some(last),
        cancelled,
        ..
    } = &err
    else {
        panic!("expected WaitTimeout with the last state, got {err:?}");
    };
    assert!(!cancelled, "the cancel was refused");
    assert_eq!(last.status, nexotp::OrderStatus::Pending);
    assert_eq!(order_state(&sb, &order.id)["status"], "pending");
}

#[tokio::test]
async fn an_invalid_deadline_is_refused_before_any_request() {
    let (sb, client) = setup().await;
    let err = client
        .with_options(RequestOptions::new().deadline(Duration::ZERO))
        .expect_err("zero");
    assert!(
        matches!(
            err,
            Error::InvalidArgument {
                argument: "deadline",
                ..
            }
        ),
        "{err}"
    );
    let err = client_builder(&sb)
        .initial_backoff(Duration::from_secs(2))
        .max_backoff(Duration::from_secs(1))
        .build()
        .expect_err("max < initial");
    assert!(
        matches!(
            err,
            Error::InvalidArgument {
                argument: "max_backoff",
                ..
            }
        ),
        "{err}"
    );
    assert!(sb.requests().is_empty());
}
