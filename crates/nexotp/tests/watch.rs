//! One watcher for many orders (`Client::watch`) against the in-process sandbox: codes come
//! once each, orders come and go while it runs, every way an order's watch ends, resends,
//! webhook deliveries fed in, a POLL limit shared fairly, and `close`.
mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use nexotp::webhook::{DEFAULT_TOLERANCE, SIGNATURE_HEADER, verify};
use nexotp::{
    Bucket, BucketLimit, ErrorKind, OrderRequest, WaitOptions, WatchEvent, WatchEventKind, Watcher,
};

fn quick() -> WaitOptions {
    WaitOptions::default()
        .timeout(SOON)
        .poll_interval(Duration::from_millis(50))
}

async fn new_order(client: &nexotp::Client) -> String {
    client
        .create_order(&OrderRequest::new("svc_telegram", "cty_us"))
        .await
        .expect("order")
        .id
}

/// The next event, failing the test if none comes soon.
async fn next(watcher: &mut Watcher) -> WatchEvent {
    within(SOON, watcher.next())
        .await
        .expect("the watcher yields")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_code_comes_once_while_orders_come_and_go() {
    let (sb, client) = setup_with(
        sandbox()
            .code_delay(Duration::from_millis(300))
            .code_delay_spread(Duration::from_millis(600)),
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(new_order(&client).await);
    }
    let mut watcher = client.watch();
    let handle = watcher.handle();
    for id in &ids[..5] {
        watcher.add(id, quick()).expect("add");
    }
    // Removed before its code: no event comes for it.
    assert!(handle.remove(&ids[4]));
    assert!(!handle.remove(&ids[4]));
    assert_eq!(watcher.len(), 4);
    let consumer = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(event) = watcher.next().await {
            events.push(event);
        }
        events
    });
    // Added while it runs.
    tokio::time::sleep(Duration::from_millis(100)).await;
    handle.add(&ids[5], quick()).expect("add while running");
    eventually("every watch ended", SOON, || handle.is_empty()).await;
    // Later polls would find the same codes again: none may come out twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    handle.close();
    let events = within(SOON, consumer).await.expect("consumer");
    let mut codes: HashMap<String, String> = HashMap::new();
    for event in &events {
        assert_eq!(event.kind, WatchEventKind::Code, "{event:?}");
        assert!(!event.from_webhook);
        let code = event.code().expect("a code").to_owned();
        assert!(
            codes.insert(event.order_id.clone(), code).is_none(),
            "a second event for {}",
            event.order_id
        );
    }
    let mut expected: Vec<&String> = ids[..4].iter().chain([&ids[5]]).collect();
    expected.sort();
    let mut got: Vec<&String> = codes.keys().collect();
    got.sort();
    assert_eq!(got, expected);
    for (id, code) in &codes {
        assert_eq!(order_state(&sb, id)["code"].as_str(), Some(code.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_from_before_a_resend_or_already_handed_out_never_comes_again() {
    let (sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(60))).await;
    let id = new_order(&client).await;
    sb.force_code(&id, "111111").expect("code");
    let mut watcher = client.watch();
    watcher.add(&id, quick()).expect("add");
    let first = next(&mut watcher).await;
    assert_eq!(first.kind, WatchEventKind::Code);
    assert_eq!(first.code(), Some("111111"));

    // Added again without a resend: the code handed out already does not count.
    watcher
        .add(&id, quick().timeout(Duration::from_millis(400)))
        .expect("add again");
    let again = next(&mut watcher).await;
    assert_eq!(again.kind, WatchEventKind::TimedOut, "{again:?}");

    // After a resend, only the new code counts, even with the same digits.
    client.resend_order(&id).await.expect("resend");
    watcher.add(&id, quick()).expect("add after resend");
    tokio::time::sleep(Duration::from_millis(200)).await;
    sb.force_code(&id, "111111").expect("the same digits again");
    let resent = next(&mut watcher).await;
    assert_eq!(resent.kind, WatchEventKind::Code);
    let order = resent.order.expect("order");
    assert_eq!(order.codes, ["111111", "111111"]);
    assert!(watcher.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_way_a_watch_ends_is_one_event() {
    let (sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(60))).await;
    let expired = new_order(&client).await;
    let cancelled = new_order(&client).await;
    let timed_out = new_order(&client).await;
    let mut watcher = client.watch();
    for id in [&expired, &cancelled] {
        watcher.add(id, quick()).expect("add");
    }
    watcher
        .add(
            &timed_out,
            quick()
                .timeout(Duration::from_millis(300))
                .cancel_on_timeout(true),
        )
        .expect("add");
    watcher.add("999999", quick()).expect("add unknown");
    let err = watcher.add("a/b", quick()).expect_err("bad id");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = watcher
        .add(&expired, quick().poll_interval(Duration::ZERO))
        .expect_err("bad interval");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    sb.expire_order(&expired).expect("expire");
    sb.cancel_order(&cancelled).expect("cancel");

    let mut ends: HashMap<String, WatchEvent> = HashMap::new();
    while ends.len() < 4 {
        let event = next(&mut watcher).await;
        assert!(ends.insert(event.order_id.clone(), event).is_none());
    }
    assert_eq!(ends[&expired].kind, WatchEventKind::Expired);
    assert_eq!(ends[&cancelled].kind, WatchEventKind::Cancelled);
    let t = &ends[&timed_out];
    assert_eq!(t.kind, WatchEventKind::TimedOut);
    assert!(t.cancelled, "cancel_on_timeout cancelled it");
    assert_eq!(order_state(&sb, &timed_out)["status"], "cancelled");
    let failed = &ends["999999"];
    assert_eq!(failed.kind, WatchEventKind::Failed);
    assert_eq!(
        failed.error.as_ref().map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );
    assert!(watcher.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_a_webhook_answered_is_not_polled_again() {
    let receiver = TinyServer::start(Canned::json(200, "{}")).await;
    let (sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(60))).await;
    let hook = client
        .create_webhook(
            &format!("{}hook", receiver.url),
            &["order.created", "order.code_received"],
        )
        .await
        .expect("webhook");
    let secret = hook.secret.expect("secret");
    let fed_id = new_order(&client).await;
    let polled_id = new_order(&client).await;
    let mut watcher = client.watch();
    let slow = quick().poll_interval(Duration::from_millis(300));
    watcher.add(&fed_id, slow.clone()).expect("add");
    watcher.add(&polled_id, slow).expect("add");
    let feed = |watcher: &Watcher, id: &str, kind: &str| {
        let delivery = receiver
            .received()
            .into_iter()
            .find(|r| {
                r.header("x-nexotp-event") == Some(kind)
                    && String::from_utf8_lossy(&r.body).contains(&format!("\"id\":{id}"))
            })
            .expect("delivery");
        let header = delivery.header(SIGNATURE_HEADER).expect("signature");
        let event =
            verify(&delivery.body, header, secret.expose(), DEFAULT_TOLERANCE).expect("verifies");
        watcher.feed(&event)
    };
    eventually("the created deliveries", SOON, || {
        receiver.received().len() >= 2
    })
    .await;
    // `order.created` answers nothing, but tells the watcher deliveries come for this order.
    assert!(feed(&watcher, &fed_id, "order.created"));
    sb.force_code(&fed_id, "222222").expect("code");
    sb.force_code(&polled_id, "333333").expect("code");
    eventually("the code deliveries", SOON, || {
        receiver.received().len() >= 4
    })
    .await;
    assert!(feed(&watcher, &fed_id, "order.code_received"));
    // Waiting without taking (what a cancellable caller does), then taking.
    assert!(within(SOON, watcher.ready()).await);
    let event = watcher.handle().try_next().expect("the event waits");
    assert!(watcher.handle().try_next().is_none());
    assert_eq!(event.order_id, fed_id);
    assert!(event.from_webhook);
    assert_eq!(event.code(), Some("222222"));
    let event = next(&mut watcher).await;
    assert_eq!(event.order_id, polled_id);
    assert!(!event.from_webhook);
    assert_eq!(event.code(), Some("333333"));
    // A late delivery for an order no longer watched changes nothing.
    assert!(!feed(&watcher, &fed_id, "order.code_received"));
    assert_eq!(
        requests_to(&sb, "GET", &format!("/order/{fed_id}")).len(),
        0
    );
    assert!(!requests_to(&sb, "GET", &format!("/order/{polled_id}")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_limit_is_shared_fairly_and_never_answered_429() {
    let sb = sandbox()
        .code_delay(Duration::from_millis(200))
        .code_delay_spread(Duration::from_millis(800))
        .rate_limit(nexotp_sandbox::Bucket::Poll, 20.0)
        .initial_balance(dec("1000"))
        .start()
        .await
        .expect("sandbox");
    let client = client_builder(&sb)
        .bucket_limit(
            Bucket::Poll,
            BucketLimit {
                per_second: 20.0,
                burst: 1,
            },
        )
        .build()
        .expect("client");
    let mut ids = Vec::new();
    for _ in 0..30 {
        ids.push(new_order(&client).await);
    }
    sb.clear_stats();
    let mut watcher = client.watch();
    for id in &ids {
        // Far more than the budget asks to poll: the limit, not the interval, sets the pace.
        watcher
            .add(id, quick().poll_interval(Duration::from_millis(10)))
            .expect("add");
    }
    let started = std::time::Instant::now();
    let mut got: HashMap<String, usize> = HashMap::new();
    while got.len() < ids.len() {
        let event = within(Duration::from_secs(30), watcher.next())
            .await
            .expect("event");
        assert_eq!(event.kind, WatchEventKind::Code);
        *got.entry(event.order_id).or_default() += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = sb.stats();
    let polls = stats.requests_by_bucket[&nexotp_sandbox::Bucket::Poll];
    assert_eq!(stats.rate_limited, 0, "{stats:?}");
    assert!(got.values().all(|n| *n == 1));
    assert!(
        polls as f64 <= 20.0 * elapsed + 2.0,
        "{polls} polls in {elapsed:.1} s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_the_stream_and_refuses_more_orders() {
    let (_sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(60))).await;
    let id = new_order(&client).await;
    let mut watcher = client.watch();
    watcher.add(&id, quick()).expect("add");
    let handle = watcher.handle();
    let consumer = tokio::spawn(async move { watcher.next().await.is_none() });
    tokio::time::sleep(Duration::from_millis(200)).await;
    handle.close();
    assert!(within(SOON, consumer).await.expect("consumer"), "ended");
    assert!(handle.is_closed());
    let err = handle.add(&id, quick()).expect_err("closed");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_order_is_polled_less_and_less_often() {
    let (sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(60))).await;
    let id = new_order(&client).await;
    let mut watcher = client.watch();
    watcher
        .add(
            &id,
            quick()
                .timeout(Duration::from_secs(2))
                .poll_interval(Duration::from_millis(50)),
        )
        .expect("add");
    let event = within(SOON, watcher.next()).await.expect("event");
    assert_eq!(event.kind, WatchEventKind::TimedOut);
    // Every 50 ms would be 40 polls in 2 s; growing by half each time it is about 10 (and the
    // last look).
    let polls = requests_to(&sb, "GET", &format!("/order/{id}")).len();
    assert!((6..=13).contains(&polls), "{polls} polls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durations_too_long_for_the_clock_are_cut_to_the_deadline() {
    let (_sb, client) = setup_with(sandbox().code_delay(Duration::from_secs(60))).await;
    let id = new_order(&client).await;
    let mut watcher = client.watch_with(
        nexotp::WatchConfig::default()
            .max_poll_interval(Duration::MAX)
            .webhook_poll_interval(Duration::MAX),
    );
    watcher
        .add(
            &id,
            quick()
                .timeout(Duration::from_millis(300))
                .poll_interval(Duration::MAX),
        )
        .expect("add");
    let event = next(&mut watcher).await;
    assert_eq!(event.kind, WatchEventKind::TimedOut);
}
