//! Rate buckets shared by concurrent calls: a 429 pauses the whole bucket (and only that
//! bucket); a client-side `bucket_limit` queues calls instead of failing them.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;

use common::*;
use nexotp::{Bucket, BucketKey, BucketLimit, InMemoryStore, OrderRequest, RateLimitStore};
use nexotp_sandbox::Bucket as SandboxBucket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_pauses_the_whole_bucket_but_not_the_others() {
    let sb = sandbox().start().await.expect("sandbox");
    // The client's own store, so the test can see when the pause is in place.
    let store = Arc::new(InMemoryStore::default());
    let client = client_builder(&sb)
        .rate_limit_store(store.clone())
        .build()
        .expect("client");
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    let path = format!("/order/{}", order.id);
    sb.clear_requests();
    sb.set_faults(script(
        "GET /order/*",
        status_fault(429, Some("1"), true, None),
        1,
    ));

    let started = Instant::now();
    let first = {
        let client = client.clone();
        let id = order.id.clone();
        tokio::spawn(async move {
            client.order(&id).await.expect("retried after the pause");
            Instant::now()
        })
    };
    let namespace = BucketKey::namespace_for(&client.config().api_key, &client.config().base_url);
    let key = |bucket| BucketKey::new(namespace.as_str(), bucket);
    eventually("the 429 pauses the POLL bucket", SOON, || {
        store
            .reserve(&key(Bucket::Poll), None)
            .now_or_never()
            .is_some_and(|admission| matches!(admission, Ok(nexotp::Admission::Paused { .. })))
    })
    .await;
    assert!(
        matches!(
            store.reserve(&key(Bucket::General), None).now_or_never(),
            Some(Ok(nexotp::Admission::Go))
        ),
        "only POLL is paused"
    );

    let polls: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            let id = order.id.clone();
            tokio::spawn(async move {
                client.order(&id).await.expect("waits, then succeeds");
                Instant::now()
            })
        })
        .collect();
    let general = {
        let client = client.clone();
        tokio::spawn(async move {
            client.account().await.expect("GENERAL is not paused");
            Instant::now()
        })
    };

    let mut poll_done = vec![first.await.expect("task")];
    for poll in polls {
        poll_done.push(poll.await.expect("task"));
    }
    let general_done = general.await.expect("task");
    for done in &poll_done {
        assert!(
            done.duration_since(started) >= Duration::from_millis(950),
            "a POLL call finished {:?} after the 429, inside the 1 s pause",
            done.duration_since(started)
        );
    }
    let earliest_poll = poll_done.iter().min().copied().expect("polls");
    assert!(
        general_done < earliest_poll,
        "the GENERAL call waited for POLL's pause"
    );

    let log = requests_to(&sb, "GET", &path);
    let limited: Vec<_> = log.iter().filter(|r| r.status == Some(429)).collect();
    assert_eq!(
        limited.len(),
        1,
        "the others waited instead of collecting 429s"
    );
    let paused_at = at_ms(limited[0]);
    for r in log.iter().filter(|r| r.status == Some(200)) {
        assert!(
            at_ms(r) - paused_at >= 900,
            "a poll was sent during the pause"
        );
    }
    assert_eq!(log.len(), 7);
    let account = &requests_to(&sb, "GET", "/account")[0];
    assert!(
        at_ms(account) - paused_at < 900,
        "GENERAL was sent during the pause"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_limit_queues_calls() {
    let sb = sandbox().start().await.expect("sandbox");
    let client = client_builder(&sb)
        .bucket_limit(
            Bucket::General,
            BucketLimit {
                per_second: 5.0,
                burst: 1,
            },
        )
        .build()
        .expect("client");
    let started = Instant::now();
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.countries().await.map(|c| c.len()) })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.expect("task").expect("queued, not failed"), 5);
    }
    // 6 calls, burst 1, 5/s: the last one may start only (6 - 1) / 5 = 1 s after the first.
    assert!(started.elapsed() >= Duration::from_millis(950));
    let mut at: Vec<i64> = sb.requests().iter().map(at_ms).collect();
    at.sort_unstable();
    assert_eq!(at.len(), 6);
    assert!(
        at[5] - at[0] >= 900,
        "spread over {} ms only",
        at[5] - at[0]
    );
    assert!(sb.requests().iter().all(|r| r.status == Some(200)));

    // Another bucket is not limited (were it limited alike, 8 calls would need >= 1.4 s).
    let started = Instant::now();
    for _ in 0..8 {
        let err = client.order("999999").await.expect_err("unknown order");
        assert_eq!(err.kind(), nexotp::ErrorKind::NotFound);
    }
    assert!(started.elapsed() < Duration::from_millis(1200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_limit_matching_the_server_avoids_429s() {
    let sb = sandbox()
        .rate_limit(SandboxBucket::Poll, 4.0)
        .start()
        .await
        .expect("sandbox");
    let client = client_builder(&sb)
        .bucket_limit(Bucket::Poll, BucketLimit::per_second(3.0))
        .build()
        .expect("client");
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            let id = order.id.clone();
            tokio::spawn(async move { client.order(&id).await })
        })
        .collect();
    for call in calls {
        call.await
            .expect("task")
            .expect("no 429 reached the caller");
    }
    let polls = requests_to(&sb, "GET", &format!("/order/{}", order.id));
    assert_eq!(polls.len(), 8);
    assert!(
        polls.iter().all(|r| r.status == Some(200)),
        "the server never refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_rate_limits_are_waited_out() {
    let sb = sandbox()
        .rate_limit(SandboxBucket::Poll, 3.0)
        .start()
        .await
        .expect("sandbox");
    // Default retries: 429s are waited out on their own budget, so a burst of concurrent calls
    // released together after a pause is not failed for colliding again.
    let client = client(&sb);
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    // Someone else (plain reqwest, no buckets of ours) spends the server's POLL budget first:
    // the client cannot know, so its first wave meets 429s however well it reads the
    // X-RateLimit headers afterwards.
    let raw = reqwest::Client::new();
    let url = format!("{}order/{}", sb.base_url(), order.id);
    let mut spent = false;
    for _ in 0..50 {
        let resp = raw
            .get(&url)
            .header("X-NexOTP-API-Key", KEY)
            .send()
            .await
            .expect("raw GET");
        if resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            spent = true;
            break;
        }
    }
    assert!(spent, "the sandbox never limited POLL");
    sb.clear_requests();
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let client = client.clone();
            let id = order.id.clone();
            tokio::spawn(async move { client.order(&id).await })
        })
        .collect();
    for call in within(
        Duration::from_secs(30),
        futures_util::future::join_all(calls),
    )
    .await
    {
        call.expect("task").expect("retried after the 429s");
    }
    let polls = requests_to(&sb, "GET", &format!("/order/{}", order.id));
    assert_eq!(polls.iter().filter(|r| r.status == Some(200)).count(), 12);
    assert!(
        polls.iter().any(|r| r.status == Some(429)),
        "the limit was hit"
    );
    assert!(
        polls
            .iter()
            .all(|r| r.status == Some(200) || r.status == Some(429))
    );
}

#[tokio::test]
async fn a_429_asking_for_minutes_fails_at_once_and_holds_the_bucket() {
    let (sb, client) = setup().await;
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    sb.set_faults(script(
        "GET /order/*",
        status_fault(429, Some("120"), true, Some("rate_limited")),
        1,
    ));
    let started = Instant::now();
    let err = client.order(&order.id).await.expect_err("429");
    assert_eq!(err.kind(), nexotp::ErrorKind::RateLimit);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    sb.clear_requests();
    // The bucket stays paused: the next poll is refused locally, without reaching the server.
    let err = client.order(&order.id).await.expect_err("paused");
    assert_eq!(err.kind(), nexotp::ErrorKind::RateLimit);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(sb.requests().is_empty(), "nothing reached the server");
    // Another bucket is not affected.
    client.account().await.expect("GENERAL still open");
}

#[tokio::test]
async fn an_exhausted_window_pauses_before_the_server_says_429() {
    // X-RateLimit-Remaining: 0 tells the client to wait for X-RateLimit-Reset itself.
    let sb = sandbox()
        .rate_limit(SandboxBucket::Poll, 2.0)
        .start()
        .await
        .expect("sandbox");
    let client = client(&sb);
    let order = client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order");
    for _ in 0..4 {
        client.order(&order.id).await.expect("poll");
    }
    let statuses: Vec<Option<u16>> = requests_to(&sb, "GET", &format!("/order/{}", order.id))
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![Some(200); 4], "no 429 was needed");
}
